"""Hypothesis strategies and deterministic generators for test images.

Everything here makes its own small images: tests never need a dataset on disk.

Example:
    >>> from hypothesis import given
    >>> from lle_core.testing.strategies import image_batches
    >>> @given(image_batches(max_side=24))
    ... def test_range(x):
    ...     assert 0 <= x.min() and x.max() <= 1
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import torch
from hypothesis import strategies as st
from torch import Tensor

ImageKind = Literal["noise", "black", "white", "grey", "smooth", "dark", "textured"]
IMAGE_KINDS: tuple[ImageKind, ...] = (
    "noise", "black", "white", "grey", "smooth", "dark", "textured"
)

#: Sizes every contract check visits: tiny, odd, prime and non-multiples of 16.
AWKWARD_SIZES: tuple[tuple[int, int], ...] = ((1, 1), (7, 5), (17, 31), (33, 20))


def make_image(
    kind: ImageKind, height: int, width: int, *, batch: int = 1, seed: int = 0
) -> Tensor:
    """A ``(batch, 3, height, width)`` float32 image in ``[0, 1]``.

    Args:
        kind: ``noise`` (uniform), ``black``, ``white``, ``grey`` (0.5 everywhere, i.e. zero
            saturation), ``smooth`` (colour gradients), ``dark`` (noise scaled to [0, 0.15],
            like a low-light photo), ``textured`` (a smooth random field plus step edges and
            stripes in [0, 0.3]: low-light content with structure at every scale).
        height: H.
        width: W.
        batch: B.
        seed: Seed of the generator (the result depends only on the arguments).
    """
    g = torch.Generator().manual_seed(seed)
    shape = (batch, 3, height, width)
    if kind == "noise":
        return torch.rand(shape, generator=g)
    if kind == "black":
        return torch.zeros(shape)
    if kind == "white":
        return torch.ones(shape)
    if kind == "grey":
        return torch.full(shape, 0.5)
    if kind == "dark":
        return 0.15 * torch.rand(shape, generator=g)
    if kind == "smooth":
        ys = torch.linspace(0, 1, height).view(1, 1, height, 1)
        xs = torch.linspace(0, 1, width).view(1, 1, 1, width)
        phase = torch.rand((batch, 3, 1, 1), generator=g) * 6.28
        return (0.5 + 0.5 * torch.sin(3 * ys + 2 * xs + phase)).clamp(0, 1)
    if kind == "textured":
        coarse = torch.rand((batch, 3, 6, 6), generator=g)
        field = torch.nn.functional.interpolate(
            coarse, size=(height, width), mode="bicubic", align_corners=False
        ).clamp(0, 1)
        ys = torch.arange(height).view(1, 1, height, 1)
        xs = torch.arange(width).view(1, 1, 1, width)
        edges = (
            0.5 * (xs > width // 3).float()
            + 0.3 * (ys > height // 2).float()
            + 0.2 * ((xs + ys) % 8 < 4).float()
        )
        return (0.3 * (0.6 * field + 0.4 * edges)).clamp(0, 0.3)
    raise ValueError(f"unknown image kind {kind!r}; choose from {IMAGE_KINDS}")


def write_png(path: Path, image: Tensor) -> Path:
    """Write a ``(3, H, W)`` or ``(1, 3, H, W)`` tensor in ``[0, 1]`` as an 8-bit PNG."""
    from PIL import Image

    if image.dim() == 4:
        image = image[0]
    arr = (image.clamp(0, 1).permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


def make_image_folders(
    root: Path, *, count: int = 3, height: int = 40, width: int = 48
) -> dict[str, Path]:
    """Create the folders the conformance kit substitutes into dataset examples.

    Returns:
        ``{"paired_dir": root/paired (low/ and high/ with matching names), "low_dir": a flat
        folder of dark PNGs, "clean_dir": a flat folder of normal-light PNGs}``.
    """
    paired = root / "paired"
    low_dir = root / "low_only"
    clean = root / "clean"
    for i in range(count):
        high = make_image("smooth", height, width, seed=100 + i)
        low = (high * 0.2 + 0.02 * make_image("noise", height, width, seed=200 + i)).clamp(0, 1)
        write_png(paired / "high" / f"img{i}.png", high)
        write_png(paired / "low" / f"img{i}.png", low)
        write_png(low_dir / f"dark{i}.png", low)
        write_png(clean / f"clean{i}.png", high)
    return {"paired_dir": paired, "low_dir": low_dir, "clean_dir": clean}


@st.composite
def image_sizes(draw: st.DrawFn, min_side: int = 1, max_side: int = 48) -> tuple[int, int]:
    """``(H, W)`` pairs biased towards awkward sizes (odd, prime, not multiples of 16)."""
    awkward = [s for s in AWKWARD_SIZES if min(s) >= min_side and max(s) <= max_side]
    side = st.integers(min_value=min_side, max_value=max_side)
    if awkward:
        return draw(st.one_of(st.sampled_from(awkward), st.tuples(side, side)))
    return draw(st.tuples(side, side))


@st.composite
def image_batches(
    draw: st.DrawFn,
    min_side: int = 1,
    max_side: int = 48,
    max_batch: int = 2,
    kinds: tuple[ImageKind, ...] = IMAGE_KINDS,
) -> Tensor:
    """``(B, 3, H, W)`` float32 batches in ``[0, 1]`` of every :data:`IMAGE_KINDS` kind."""
    h, w = draw(image_sizes(min_side, max_side))
    b = draw(st.integers(min_value=1, max_value=max_batch))
    kind = draw(st.sampled_from(kinds))
    seed = draw(st.integers(min_value=0, max_value=2**16))
    return make_image(kind, h, w, batch=b, seed=seed)
