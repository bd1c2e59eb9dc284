"""DLN, HF2 and NEID tile with whole-image statistics and agree with their untiled output."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn.functional as F

import lle_core
from lle_core.global_ops import has_global_ops
from lle_core.inference.context import context_graph
from lle_core.inference.tiling import tile_multiple
from lle_core.registry import registries

pytestmark = pytest.mark.filterwarnings("ignore::lle_core.pretrained.RandomWeightsWarning")

# name, extra params, expected streamed waves (None: downscaled), tile, overlap
CASES = [
    ("dln.model", {"n_lbp": 2, "dim": 8}, 2, 100, None),
    ("neid.model", {}, 1, 128, 64),
    ("hf2.model", {"use_prior": True}, None, 64, 16),
]


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return 10 * math.log10(1.0 / max(float(((a - b) ** 2).mean()), 1e-20))


@pytest.mark.parametrize("name,extra,waves,tile,overlap", CASES)
def test_tiled_matches_untiled(
    name: str, extra: dict, waves: int | None, tile: int, overlap: int | None
) -> None:
    params = {**(registries()["model"].get(name).example or {}), **extra}
    torch.manual_seed(0)
    model = lle_core.create("model", name, **params).eval()
    caps = model.capabilities
    assert caps.tiling == "tile" and has_global_ops(model)
    graph = context_graph(model, caps, device=torch.device("cpu"), align=tile_multiple(caps))
    if waves is None:
        assert caps.global_stats == "downscale"
    else:
        assert caps.global_stats == "stream" and graph.waves == waves
    x = torch.rand(1, 3, 110, 149, generator=torch.Generator().manual_seed(2))
    x = F.avg_pool2d(x, 5, 1, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        whole = lle_core.enhance(model, x, tile="off")
        tiled = lle_core.enhance(model, x, tile=tile, overlap=overlap)
    assert _psnr(whole, tiled) >= 45.0
    if waves is not None:  # streamed statistics are exact up to float rounding
        assert (whole - tiled).abs().max() < 1e-3
