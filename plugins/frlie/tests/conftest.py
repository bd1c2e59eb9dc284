from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from lle_core import create

TINY = {"type": "frlie.model", "base_channels": 4, "num_blocks": 1, "context_channels": 4}


def _paired_batch(seed: int = 0, size: int = 32, batch: int = 2) -> dict[str, torch.Tensor]:
    """Smooth random 'normal-light' images and darkened, noisy low-light versions."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(batch, 3, size // 8, size // 8, generator=g)
    high = torch.nn.functional.interpolate(
        coarse, size=(size, size), mode="bilinear", align_corners=False
    ).clamp(0, 1)
    low = (0.15 * high + 0.02 * torch.randn(high.shape, generator=g)).clamp(0, 1)
    return {"low": low, "high": high}


@pytest.fixture()
def tiny_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return create("model", dict(TINY))


@pytest.fixture()
def make_tiny_model() -> Callable[..., torch.nn.Module]:
    def make(seed: int = 0, **params: object) -> torch.nn.Module:
        torch.manual_seed(seed)
        return create("model", {**TINY, **params})

    return make


@pytest.fixture()
def paired_batch() -> Callable[..., dict[str, torch.Tensor]]:
    return _paired_batch
