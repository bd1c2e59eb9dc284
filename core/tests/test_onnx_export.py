"""ONNX export: every exportable model matches PyTorch under ONNX Runtime on small odd sizes."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch

import lle_core
from lle_core.cli.main import main
from lle_core.errors import ConfigError
from lle_core.export import OnnxEnhancer, export_onnx
from lle_core.inference.padding import forward_padded
from lle_core.registry import registries

pytestmark = pytest.mark.filterwarnings("ignore")

EXPORTABLE = [
    ("core.unet_small", {}),
    ("auxnet.model", {}),
    ("frlie.model", {}),
    ("dln.model", {}),
    ("hf2.model", {}),
]


def _build(name: str, extra: dict) -> torch.nn.Module:
    params = {**(registries()["model"].get(name).example or {}), **extra}
    torch.manual_seed(0)
    return lle_core.create("model", name, **params).eval()


@pytest.mark.parametrize("name,extra", EXPORTABLE)
def test_onnx_matches_pytorch(name: str, extra: dict, tmp_path: Path) -> None:
    model = _build(name, extra)
    path = export_onnx(model, tmp_path / "m.onnx")
    ort_model = OnnxEnhancer(path)
    assert ort_model.capabilities.multiple_of == model.capabilities.multiple_of
    for h, w in [(37, 53), (50, 35)]:
        x = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(h))
        with torch.no_grad():
            ref = forward_padded(model, x, model.capabilities)
            got = forward_padded(ort_model, x, ort_model.capabilities)
        assert got.shape == ref.shape
        assert (got - ref).abs().max() < 1e-3


def test_neid_protocol_mode_is_refused_with_the_operator(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="bicubic"):
        export_onnx(_build("neid.model", {}), tmp_path / "neid.onnx")
    assert not (tmp_path / "neid.onnx").exists()


def test_cli_export_then_enhance_with_onnxruntime(tmp_path: Path) -> None:
    from PIL import Image

    img = (torch.rand(3, 41, 57) * 255).to(torch.uint8).permute(1, 2, 0).numpy()
    Image.fromarray(img).save(tmp_path / "in.png")
    assert main(["export", "--model", "core.gamma", "-o", str(tmp_path / "g.onnx")]) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["enhance", str(tmp_path / "in.png"), "-o", str(tmp_path / "o.png"),
                     "--backend", "onnxruntime", "--onnx", str(tmp_path / "g.onnx")]) == 0
        assert main(["enhance", str(tmp_path / "in.png"), "-o", str(tmp_path / "t.png"),
                     "--model", "core.gamma"]) == 0
    a = torch.tensor(list(Image.open(tmp_path / "o.png").getdata()), dtype=torch.int32)
    b = torch.tensor(list(Image.open(tmp_path / "t.png").getdata()), dtype=torch.int32)
    assert a.shape == b.shape and (a - b).abs().max() <= 1
    assert main(["enhance", str(tmp_path / "in.png"), "-o", str(tmp_path / "x.png"),
                 "--backend", "onnxruntime"]) != 0
