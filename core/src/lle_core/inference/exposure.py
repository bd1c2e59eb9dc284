"""Exposure the user chooses: how bright an enhanced image is, in photographic stops (EV).

``exposure=0`` (or ``None``) keeps what the model learned. Otherwise the result is made
``2^EV`` times brighter in linear light, in one of two ways declared by the model's
``capabilities.exposure``:

* ``"tone"`` (every model): a tone step after the model. The output is linearised (sRGB),
  multiplied by ``2^EV``, and each pixel whose largest channel then exceeds the knee ``0.8``
  is rolled off smoothly towards 1 by scaling all three channels by the same factor (so hue
  and saturation stay; highlights are compressed, not clipped); then it is re-encoded.
* ``"residual"`` (models whose output is ``y = x + γ·r``: DLN, whose journal architecture
  figure puts an interactive brightness factor γ on the residual): the model's own
  brightness factor ``γ`` is chosen per image so that the mean luma of ``x + γ·r`` equals
  that of the tone step's result. The residual is the
  model's: details and noise handling scale with it instead of being tone-mapped. (DLN
  clamps its output to ``[0, 1]``, so ``r`` is taken from the clamped output: pixels the
  model pushed beyond white stay a little darker at ``γ < 1`` than ``x + γ·r`` would be.)

Measurements and a grid: ``docs/inference.md``.
"""

from __future__ import annotations

import torch
from kornia.color import rgb_to_grayscale
from torch import Tensor

from lle_core.data.synthesis import linear_to_srgb, srgb_to_linear
from lle_core.registry import Capabilities

#: Linear-light level above which highlights are rolled off by the tone step.
KNEE = 0.8


def tone_exposure(y: Tensor, ev: float) -> Tensor:
    """The tone step: ``(B, 3, H, W)`` sRGB in ``[0, 1]`` made ``2^ev`` brighter (module doc).

    Returns:
        Same shape, in ``[0, 1]``; ``y`` itself for ``ev == 0``.
    """
    if ev == 0:
        return y
    lin = srgb_to_linear(y.clamp(0.0, 1.0)) * (2.0**ev)
    peak = lin.amax(dim=1, keepdim=True)
    span = 1.0 - KNEE
    rolled = KNEE + span * (1.0 - torch.exp(-(peak - KNEE) / span))
    scale = torch.where(peak > KNEE, rolled / peak.clamp_min(1e-12), torch.ones_like(peak))
    return linear_to_srgb(lin * scale)


def residual_exposure(low: Tensor, y: Tensor, ev: float) -> Tensor:
    """``low + γ·(y − low)``, ``γ ≥ 0`` per image, at the tone step's mean luma.

    For models whose output at ``γ = 1`` is ``y = low + r`` (see the module docstring).

    Args:
        low: ``(B, 3, H, W)`` model input.
        y: The model's unclamped output for it, same shape.
        ev: Stops (``0``: ``y`` unchanged).
    """
    if ev == 0:
        return y
    def mean_luma(t: Tensor) -> Tensor:
        return rgb_to_grayscale(t.clamp(0.0, 1.0)).mean(dim=(1, 2, 3), keepdim=True)

    target = mean_luma(tone_exposure(y, ev))
    base, learned = mean_luma(low), mean_luma(y)
    gamma = ((target - base) / (learned - base).clamp_min(1e-6)).clamp_min(0.0)
    return low + gamma * (y - low)


def apply_exposure(low: Tensor, y: Tensor, ev: float | None, caps: Capabilities) -> Tensor:
    """Exposure of ``enhance``: ``y`` unchanged for ``None``/``0``, else the model's way.

    ``ev`` is checked by :func:`lle_core.options.exposure_option` before any work.
    """
    if ev is None or ev == 0:
        return y
    if caps.exposure == "residual" and low.shape == y.shape:
        return residual_exposure(low, y, ev)
    return tone_exposure(y, ev)
