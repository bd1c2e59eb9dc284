"""HSV conversion and circular hue distance that are safe to differentiate.

Hue convention: ``[0, 1)`` (as TensorFlow and scikit-image; multiply by 360 for degrees,
by 2π for kornia's radians). Hue is undefined for grey pixels (``max = min``); there the
formula's numerator is 0 and ``eps`` in the denominator makes hue 0 with finite gradients.
Saturation uses ``eps`` too, so all-black pixels give ``S = 0`` with finite gradients.
Gradients on grey/black pixels are bounded by about ``1/eps`` (1e6 for the default).
"""

from __future__ import annotations

import torch
from torch import Tensor

from lle_core.errors import ShapeError


def rgb_to_hsv(x: Tensor, eps: float = 1e-6) -> Tensor:
    """Convert RGB in ``[0, 1]`` to HSV with every channel in ``[0, 1]`` (hue in ``[0, 1)``).

    Inputs are clamped to ``[0, 1]`` first (values outside get zero gradient; our choice:
    hue is undefined outside the RGB cube).

    Args:
        x: ``(..., 3, H, W)`` RGB, e.g. ``(B, 3, H, W)``.
        eps: Added to ``max − min`` (hue) and ``max`` (saturation); must be > 0.

    Returns:
        ``(..., 3, H, W)``: hue in ``[0, 1)``, saturation and value in ``[0, 1]``; finite, with
        finite gradients everywhere, including black and grey pixels.
    """
    if x.dim() < 3 or x.shape[-3] != 3:
        raise ShapeError(f"rgb_to_hsv expects (..., 3, H, W), got {tuple(x.shape)}")
    if eps <= 0:
        raise ValueError(f"eps must be > 0, got {eps}")
    x = x.clamp(0.0, 1.0)
    r, g, b = x.unbind(dim=-3)
    v, argmax = x.max(dim=-3)
    delta = v - x.min(dim=-3).values
    denom = delta + eps
    h_r = torch.remainder((g - b) / denom, 6.0)
    h_g = (b - r) / denom + 2.0
    h_b = (r - g) / denom + 4.0
    h = torch.where(argmax == 0, h_r, torch.where(argmax == 1, h_g, h_b)) / 6.0
    h = torch.remainder(h, 1.0)
    h = torch.where(h >= 1.0, h - 1.0, h)  # float rounding of remainder can give exactly 1
    s = delta / (v + eps)
    return torch.stack([h, s, v], dim=-3)


def hue_circular_distance(h1: Tensor, h2: Tensor) -> Tensor:
    """Circular distance between hues in ``[0, 1)``: ``min(|h1 − h2|, 1 − |h1 − h2|)``.

    Returns values in ``[0, 0.5]`` (0.5 = opposite hues), element-wise, broadcasting as torch.
    Multiply by 360 for degrees.
    """
    d = torch.remainder(h1 - h2, 1.0)
    return torch.minimum(d, 1.0 - d)
