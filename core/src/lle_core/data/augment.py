"""Paired augmentations: the same random crop, flips and 90° rotation for every image of a pair.

Implementation choice: plain torch indexing/``flip``/``rot90`` rather than kornia's
``AugmentationSequential(..., data_keys=["input", "input"])``. Datasets augment one
``(3, H, W)`` item at a time inside DataLoader workers; for such integer-pixel operations
slicing is exact (no interpolation), allocation-free for the crop, an order of magnitude
cheaper than kornia's batched parameter machinery per item, and draws its randomness from a
``torch.Generator`` (or torch's global RNG, which DataLoader seeds per worker). Use kornia for
photometric or interpolating augmentations on batches.

Every function takes a sequence of tensors shaped ``(..., H, W)`` with equal ``H, W`` and
returns them transformed identically.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from lle_core.errors import DatasetError, ShapeError


def _size(images: Sequence[Tensor]) -> tuple[int, int]:
    if not images:
        raise ValueError("expected at least one image")
    h, w = images[0].shape[-2:]
    for img in images[1:]:
        if img.shape[-2:] != (h, w):
            raise ShapeError(
                "paired augmentation needs images of equal size, got "
                + ", ".join(f"{tuple(i.shape[-2:])}" for i in images)
            )
    return int(h), int(w)


def _randint(high: int, generator: torch.Generator | None) -> int:
    return int(torch.randint(high, (1,), generator=generator).item())


def crop_size(size: int | tuple[int, int]) -> tuple[int, int]:
    """``int`` -> square ``(size, size)``; a pair is returned as ``(h, w)``."""
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def paired_random_crop(
    images: Sequence[Tensor],
    size: int | tuple[int, int],
    *,
    generator: torch.Generator | None = None,
    name: str = "",
) -> list[Tensor]:
    """Crop the same random ``size`` window (aligned, integer offsets) out of every image.

    Args:
        images: Tensors ``(..., H, W)`` of equal ``H, W``.
        size: Crop side, or ``(h, w)``.
        generator: Random source; ``None`` uses torch's global RNG.
        name: File name(s) for the error message.

    Raises:
        DatasetError: The crop is larger than the images (names the file and both sizes).
    """
    h, w = _size(images)
    ch, cw = crop_size(size)
    if ch > h or cw > w:
        raise DatasetError(
            f"crop {ch}×{cw} is larger than the image {h}×{w}"
            + (f" ({name})" if name else "")
            + "; use a smaller crop or crop: null"
        )
    top = _randint(h - ch + 1, generator)
    left = _randint(w - cw + 1, generator)
    return [img[..., top : top + ch, left : left + cw] for img in images]


def paired_flip(
    images: Sequence[Tensor],
    *,
    horizontal: bool = True,
    vertical: bool = True,
    generator: torch.Generator | None = None,
) -> list[Tensor]:
    """Flip every image left-right and/or up-down, each with probability 1/2 (same draw)."""
    out = list(images)
    if horizontal and _randint(2, generator):
        out = [img.flip(-1) for img in out]
    if vertical and _randint(2, generator):
        out = [img.flip(-2) for img in out]
    return out


def paired_rot90(
    images: Sequence[Tensor], *, generator: torch.Generator | None = None
) -> list[Tensor]:
    """Rotate every image by the same random multiple of 90°.

    Square images draw ``k`` from ``{0, 1, 2, 3}``; non-square ones from ``{0, 2}`` so that
    the shape (and therefore batching) is preserved.
    """
    h, w = _size(images)
    k = _randint(4, generator) if h == w else 2 * _randint(2, generator)
    if k == 0:
        return list(images)
    return [torch.rot90(img, k, dims=(-2, -1)) for img in images]


def paired_random_scale(
    images: Sequence[Tensor],
    scale: tuple[float, float],
    *,
    min_side: int = 1,
    generator: torch.Generator | None = None,
) -> list[Tensor]:
    """Resize every image by the same random factor ``s ~ U(scale)`` (antialiased bilinear).

    Downscaling before a crop lets a fixed-size crop see more of the scene, which gives models
    with global pooling (and the exposure estimate of any model) more context per step.

    Args:
        images: Float tensors ``(C, H, W)`` of equal ``H, W``, values in ``[0, 1]``.
        scale: ``(low, high)`` factor range, ``0 < low <= high``.
        min_side: The factor is raised so that the shorter side stays at least this long
            (a later crop of that side must still fit).
        generator: Random source; ``None`` uses torch's global RNG.

    Returns:
        The resized tensors, values clamped to ``[0, 1]``; unchanged when ``s == 1``.
    """
    h, w = _size(images)
    low, high = scale
    u = float(torch.rand((), generator=generator).item())
    s = max(low + (high - low) * u, min_side / min(h, w))
    size = (max(1, round(h * s)), max(1, round(w * s)))
    if size == (h, w):
        return list(images)
    return [
        F.interpolate(img[None], size=size, mode="bilinear", align_corners=False,
                      antialias=True)[0].clamp_(0.0, 1.0)
        for img in images
    ]


class PairedAugment:
    """Random rescale, then aligned crop, flips and a 90° rotation, identical for all images.

    Args:
        crop: Crop side (or ``(h, w)``); ``None`` keeps the full image.
        flip: Random horizontal and vertical flips.
        rot90: Random multiple-of-90° rotation (see :func:`paired_rot90`).
        scale: Random resize factor range applied before the crop (see
            :func:`paired_random_scale`); ``None`` keeps the native resolution.
    """

    def __init__(
        self,
        crop: int | tuple[int, int] | None = None,
        flip: bool = False,
        rot90: bool = False,
        scale: tuple[float, float] | None = None,
    ) -> None:
        """See the class docstring."""
        if crop is not None and min(crop_size(crop)) < 1:
            raise ValueError(f"crop must be >= 1, got {crop}")
        if scale is not None and not 0 < scale[0] <= scale[1]:
            raise ValueError(f"scale must be (low, high) with 0 < low <= high, got {scale}")
        self.crop = crop
        self.flip = flip
        self.rot90 = rot90
        self.scale = scale

    def __call__(
        self,
        images: Sequence[Tensor],
        *,
        generator: torch.Generator | None = None,
        name: str = "",
    ) -> list[Tensor]:
        """Augment ``images`` (``(..., H, W)`` each) identically; ``name`` is for errors."""
        out = list(images)
        if self.scale is not None:
            min_side = max(crop_size(self.crop)) if self.crop is not None else 1
            out = paired_random_scale(out, self.scale, min_side=min_side, generator=generator)
        if self.crop is not None:
            out = paired_random_crop(out, self.crop, generator=generator, name=name)
        if self.flip:
            out = paired_flip(out, generator=generator)
        if self.rot90:
            out = paired_rot90(out, generator=generator)
        return [img.contiguous() for img in out]

    def __repr__(self) -> str:
        return (f"PairedAugment(crop={self.crop}, flip={self.flip}, rot90={self.rot90}, "
                f"scale={self.scale})")
