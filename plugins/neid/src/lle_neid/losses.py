"""NEID's colour loss: 1 − cosine similarity of the hue and saturation maps (paper Eq. 4–6).

``L_color = L_H + L_S`` with ``L_H = 1 − cos(H_p, H_gt)`` and ``L_S = 1 − cos(S_p, S_gt)``,
where ``cos`` is the cosine similarity of the flattened ``(H·W)`` map of each image, averaged
over the batch (NEID Sec. 2.3). HSV follows TF/skimage: hue in ``[0, 1)`` (our choice), via
:func:`lle_core.losses.rgb_to_hsv`. The prediction (and the target) are clamped to ``[0, 1]``
first, as the network output is linear.

Stability: each map is augmented with one constant entry ``√eps`` before the cosine, i.e.
``cos = (⟨p, t⟩ + eps) / sqrt((‖p‖² + eps)(‖t‖² + eps))``. This is still a true cosine (so it
stays in ``[-1, 1]``), equals 1 for identical maps, is 1 for two all-zero maps (black or grey
images, whose hue and saturation are 0), and its gradient is finite everywhere. For natural
images (``‖p‖² ≫ eps``) it equals the plain cosine.

``hue_mode="circular"`` (option, our addition): hue is encoded as ``(cos 2πh, sin 2πh)``
so that the cosine respects the circularity of hue (``h = 0.99`` and ``h = 0.01`` are close).

Example:
    >>> x = torch.rand(2, 3, 16, 16)
    >>> hsv_color_loss(x, x).item()
    0.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import ClassVar, Literal

import torch
from torch import Tensor

from lle_core.interfaces import LossTerm
from lle_neid import PAPER
from lle_neid.params import HSVColorParams

HueMode = Literal["linear", "circular"]
Channel = Literal["hue", "saturation"]


def augmented_cosine(p: Tensor, t: Tensor, eps: float = 1e-6) -> Tensor:
    """Per-sample cosine of ``[p, √eps]`` and ``[t, √eps]`` (see the module docstring).

    Args:
        p: ``(B, N)``.
        t: ``(B, N)``.
        eps: The augmentation constant (``> 0``).

    Returns:
        ``(B,)`` values in ``[-1, 1]``.
    """
    dot = (p * t).sum(dim=1) + eps
    norms = ((p * p).sum(dim=1) + eps) * ((t * t).sum(dim=1) + eps)
    return dot / norms.sqrt()


def _hue_vectors(hue: Tensor, mode: HueMode) -> Tensor:
    flat = hue.flatten(1)
    if mode == "circular":
        angle = 2.0 * math.pi * flat
        return torch.cat([torch.cos(angle), torch.sin(angle)], dim=1)
    return flat


def hsv_color_loss(
    pred: Tensor,
    target: Tensor,
    *,
    hue_mode: HueMode = "linear",
    channels: Sequence[Channel] = ("hue", "saturation"),
    eps: float = 1e-6,
) -> Tensor:
    """NEID colour loss ``mean_b[Σ_c (1 − cos(c_pred, c_target))]`` over ``c`` in ``channels``.

    Args:
        pred: ``(B, 3, H, W)`` RGB prediction, any range (clamped to ``[0, 1]``).
        target: ``(B, 3, H, W)`` RGB ground truth in ``[0, 1]``.
        hue_mode: ``"linear"`` (paper) or ``"circular"``.
        channels: Terms to include (paper: hue and saturation).
        eps: HSV conversion and cosine stabiliser.

    Returns:
        Scalar in ``[0, 2·len(channels)]`` (0 for identical images).
    """
    from lle_core.losses import rgb_to_hsv  # lazy: keeps plugin loading light

    hsv_p = rgb_to_hsv(pred.clamp(0.0, 1.0), eps=eps)
    hsv_t = rgb_to_hsv(target.clamp(0.0, 1.0), eps=eps)
    total = pred.new_zeros(pred.shape[0])
    if "hue" in channels:
        hp, ht = _hue_vectors(hsv_p[:, 0], hue_mode), _hue_vectors(hsv_t[:, 0], hue_mode)
        total = total + (1.0 - augmented_cosine(hp, ht, eps))
    if "saturation" in channels:
        sp, st = hsv_p[:, 1].flatten(1), hsv_t[:, 1].flatten(1)
        total = total + (1.0 - augmented_cosine(sp, st, eps))
    return total.mean()


class HSVColorLoss(LossTerm):
    """``neid.hsv_color``: :func:`hsv_color_loss` as a weighted, named loss term.

    Reads ``pred`` and ``target`` (context keys ``pred`` and ``high`` by default).
    """

    Params = HSVColorParams
    summary = "1 - cosine of hue and saturation maps (NEID colour loss)"
    paper = f"{PAPER}, Eq. 4-6"

    inputs: ClassVar[tuple[str, ...]] = ("pred", "target")

    def __init__(
        self,
        *,
        hue_mode: HueMode = "linear",
        channels: Sequence[Channel] = ("hue", "saturation"),
        eps: float = 1e-6,
        weight: float = 1.0,
        name: str | None = None,
        keys: Mapping[str, str] | None = None,
    ) -> None:
        """Args: see :class:`lle_neid.params.HSVColorParams`."""
        super().__init__(weight=weight, name=name or "hsv_color", keys=keys)
        self.hue_mode: HueMode = hue_mode
        self.channels = tuple(channels)
        self.eps = eps

    def compute(self, pred: Tensor, target: Tensor) -> Tensor:  # type: ignore[override]
        """Unweighted colour loss of ``pred`` vs ``target`` (both ``(B, 3, H, W)``)."""
        return hsv_color_loss(
            pred, target, hue_mode=self.hue_mode, channels=self.channels, eps=self.eps
        )
