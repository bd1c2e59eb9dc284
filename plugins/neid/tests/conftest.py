"""Shared helpers of the lle-neid tests (tiny widths, generated images only)."""

from __future__ import annotations

import pytest
import torch

#: Narrow five-level widths: cheap, and the internal pad-to-16 is exercised.
TINY = [4, 8, 8, 8, 8]


@pytest.fixture(autouse=True)
def single_thread():
    """One intra-op thread: tiny convs on a shared 2-core machine are far faster (no
    oversubscription); restored afterwards for the other plugins' tests."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny_widths() -> list[int]:
    return list(TINY)


def smooth_images(batch: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    """Smooth random colour images in [0, 1] (low-frequency noise, upsampled)."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand((batch, 3, max(h // 8, 2), max(w // 8, 2)), generator=g)
    return torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear",
                                           align_corners=False).clamp(0, 1)


@pytest.fixture
def images():
    """Factory of smooth random colour images: ``images(batch, h, w, seed=0)``."""
    return smooth_images
