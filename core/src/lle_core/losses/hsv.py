"""HSV conversion and circular hue distance that are safe to differentiate.

The conversion is ``kornia.color.rgb_to_hsv`` with its hue rescaled from radians
``[0, 2π)`` to ``[0, 1)`` (as TensorFlow and scikit-image; multiply by 360 for degrees).
Hue is undefined for grey pixels (``max = min``): kornia gives them hue 0 with finite
gradients. Saturation is ``(max − min) / (max + eps)`` (``S = 0`` for black pixels, finite
gradients).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lle_core.errors import ShapeError


def rgb_to_hsv(x: Tensor, eps: float = 1e-6) -> Tensor:
    """Convert RGB in ``[0, 1]`` to HSV with every channel in ``[0, 1]`` (hue in ``[0, 1)``).

    Inputs are clamped to ``[0, 1]`` first (values outside get zero gradient; our choice:
    hue is undefined outside the RGB cube).

    Args:
        x: ``(..., 3, H, W)`` RGB, e.g. ``(B, 3, H, W)``.
        eps: Added to ``max`` in the saturation's denominator; must be > 0.

    Returns:
        ``(..., 3, H, W)``: hue in ``[0, 1)``, saturation and value in ``[0, 1]``; finite, with
        finite gradients everywhere, including black and grey pixels.
    """
    if x.dim() < 3 or x.shape[-3] != 3:
        raise ShapeError(f"rgb_to_hsv expects (..., 3, H, W), got {tuple(x.shape)}")
    if eps <= 0:
        raise ValueError(f"eps must be > 0, got {eps}")
    from kornia.color import rgb_to_hsv as kornia_rgb_to_hsv  # lazy: kornia imports slowly

    h, s, v = kornia_rgb_to_hsv(x.clamp(0.0, 1.0), eps=eps).unbind(dim=-3)
    h = h / (2 * math.pi)
    h = torch.where(h >= 1.0, h - 1.0, h)  # float rounding can give exactly 2π
    return torch.stack([h, s, v], dim=-3)


def hue_circular_distance(h1: Tensor, h2: Tensor) -> Tensor:
    """Circular distance between hues in ``[0, 1)``: ``min(|h1 − h2|, 1 − |h1 − h2|)``.

    Returns values in ``[0, 0.5]`` (0.5 = opposite hues), element-wise, broadcasting as torch.
    Multiply by 360 for degrees.
    """
    d = torch.remainder(h1 - h2, 1.0)
    return torch.minimum(d, 1.0 - d)
