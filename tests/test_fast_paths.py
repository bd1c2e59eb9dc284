"""Every shipped set's default (fast) path stays within 45 dB of its plain float32 output.

The fast paths (``capabilities.fast_path``, docs/benchmarks.md "Fast default paths") run the
heavy models in channels-last layout and, on CPUs with native bfloat16, under bfloat16
autocast. This checks, per shipped weight set, on a dark textured image with the shipped
weights, that the fast output agrees with the plain one to at least 45 dB PSNR, that the switch
really selects a different module, and that a CPU with bfloat16 runs bfloat16.
"""

from __future__ import annotations

import math

import pytest
import torch

from lle_core.inference import enhance
from lle_core.inference.fast import FastWrapper, fast_model, native_bfloat16
from lle_core.inference.padding import model_capabilities
from lle_core.weight_sets import weight_sets

SETS = sorted(weight_sets().items())
IDS = [name for name, _ in SETS]


def _dark_photo(h: int = 96, w: int = 128) -> torch.Tensor:
    """Smooth shading, hard edges and fine noise, at low-light levels (0.02-0.3)."""
    g = torch.Generator().manual_seed(3)
    smooth = torch.nn.functional.interpolate(torch.rand(1, 3, h // 8, w // 8, generator=g),
                                             size=(h, w), mode="bicubic", align_corners=False)
    edges = ((torch.arange(w) // 12 + torch.arange(h)[:, None] // 12) % 2).float()
    noise = torch.rand(1, 3, h, w, generator=g)
    return (0.02 + 0.15 * smooth + 0.08 * edges + 0.05 * noise).clamp(0, 1)


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return 10 * math.log10(1.0 / max(float(((a - b) ** 2).mean()), 1e-20))


@pytest.mark.parametrize(("name", "ws"), SETS, ids=IDS)
def test_the_default_path_stays_within_45_db_of_plain(name: str, ws, monkeypatch) -> None:
    monkeypatch.delenv("LLE_PLAIN", raising=False)
    model = ws.load().eval()
    caps = model_capabilities(model)
    x = _dark_photo()
    plain = enhance(model, x, tile="off", plain=True)
    fast = enhance(model, x, tile="off")
    assert _psnr(fast, plain) >= 45.0, f"{name}: fast path {caps.fast_path}"
    run = fast_model(model, caps, torch.device("cpu"))
    if caps.fast_path:
        assert run is not model
    if isinstance(run, FastWrapper):
        assert run.channels_last == ("channels_last" in caps.fast_path)
        assert run.use_bfloat16 == (
            "bfloat16" in caps.fast_path and native_bfloat16(torch.device("cpu")))
