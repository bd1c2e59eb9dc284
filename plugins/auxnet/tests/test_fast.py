"""AuxNet's fast inference copy: same result as the plain path, bf16 loss < 0.1 dB, off-switch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import lle_core
from lle_auxnet.cpu_kernel import CpuKernelAuxNet
from lle_auxnet.fast import FastAuxNet
from lle_auxnet.model import AuxNet
from lle_core.checkpoint import save_weights
from lle_core.cli.main import main
from lle_core.inference import enhance
from lle_core.inference.padding import edge_margin
from lle_core.metrics import psnr


def _trained_like() -> AuxNet:
    """Shipped weights when installed, else random weights large enough to shape the output."""
    try:
        model = lle_core.create("model", "auxnet.model", pretrained=True)
    except Exception:
        torch.manual_seed(0)
        model = lle_core.create("model", "auxnet.model")
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0.0, 0.3)
    return model.eval()


def _textured_pair() -> tuple[torch.Tensor, torch.Tensor]:
    """A textured ground truth (stripes, checks, noise) and its dark version (1, 3, 96, 128)."""
    g = torch.Generator().manual_seed(3)
    yy, xx = torch.meshgrid(torch.arange(96.0), torch.arange(128.0), indexing="ij")
    base = 0.5 + 0.25 * torch.sin(xx / 3.0) * torch.cos(yy / 5.0)
    checks = ((xx // 8 + yy // 8) % 2) * 0.2
    high = (base + checks + 0.1 * torch.rand(3, 96, 128, generator=g)).clamp(0, 1)[None]
    return (0.2 * high**1.5).clamp(0, 1), high


def _count_fast_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts calls of either fast module (compiled kernel, or the PyTorch fast copy)."""
    calls: list[int] = []
    for cls in (FastAuxNet, CpuKernelAuxNet):
        original = cls.forward
        monkeypatch.setattr(
            cls, "forward", lambda self, x, _f=original: calls.append(1) or _f(self, x)
        )
    return calls


def test_fast_copy_in_float32_matches_the_plain_forward():
    model = _trained_like()
    low, _ = _textured_pair()
    fast = model.fast_inference(("fold", "channels_last"))
    with torch.no_grad():
        assert (fast(low) - model(low)).abs().max() < 1e-5


def test_bfloat16_loses_less_than_a_tenth_of_a_db():
    model = _trained_like()
    low, high = _textured_pair()
    fast = model.fast_inference(("fold", "channels_last", "bfloat16"))
    with torch.no_grad():
        plain, quick = model(low), fast(low).clamp(0, 1)
    assert quick.dtype == torch.float32
    loss = float(psnr(plain, high)) - float(psnr(quick, high))
    assert abs(loss) < 0.1, loss
    assert float(psnr(quick, plain)) > 40.0


def test_bfloat16_kernel_loses_less_than_a_tenth_of_a_db():
    model = _trained_like()
    low, high = _textured_pair()
    fast = model.fast_inference(("fold", "native", "bfloat16"))
    if not (isinstance(fast, CpuKernelAuxNet) and fast.use_bfloat16):
        pytest.skip("no C compiler or no AVX512-BF16 here (test_cpu_kernel checks the fallback)")
    with torch.no_grad():
        plain, quick = model(low), fast(low)
    loss = float(psnr(plain, high)) - float(psnr(quick, high))
    assert abs(loss) < 0.1, loss
    assert float(psnr(quick, plain)) > 50.0


def test_enhance_default_is_the_fast_copy_within_tolerance(monkeypatch):
    model = _trained_like()
    low, _ = _textured_pair()
    calls = _count_fast_calls(monkeypatch)
    fast = enhance(model, low, tile="off")
    assert calls == [1]
    plain = enhance(model, low, tile="off", plain=True)
    assert calls == [1]
    m = edge_margin(model.capabilities)  # enhance reflect-pads the edges, then crops
    with torch.no_grad():
        padded = torch.nn.functional.pad(low, (m, m, m, m), mode="reflect")
        assert torch.equal(plain, model(padded)[..., m:-m, m:-m].clamp(0, 1))
    assert float(psnr(fast, plain)) > 40.0


@pytest.mark.parametrize("switch", ["flag", "env", None])
def test_cli_plain_switch(tmp_path, monkeypatch, capsys, switch):
    weights = save_weights(tmp_path / "aux.safetensors", _trained_like())
    arr = (np.random.default_rng(0).random((20, 24, 3)) * 80).astype(np.uint8)
    Image.fromarray(arr).save(tmp_path / "a.png")
    calls = _count_fast_calls(monkeypatch)
    argv = ["enhance", str(tmp_path / "a.png"), "-o", str(tmp_path / "o.png"), "--weights",
            str(weights), "--tile", "off"]
    if switch == "flag":
        argv.append("--plain")
    if switch == "env":
        monkeypatch.setenv("LLE_PLAIN", "1")
    assert main(argv) == 0, capsys.readouterr().err
    assert (tmp_path / "o.png").is_file()
    assert calls == ([] if switch else [1])
