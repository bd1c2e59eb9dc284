"""FRLIE loss terms: circular hue loss (Eq. 6) and feature matching (Eq. 3).

The stage losses themselves are composites declared in the recipes (FRLIE Sec. 2.1–2.2):

* stage 1: ``100·MSE(D(E(I_h)), I_h)`` (Eq. 1, ``core.mse`` with weight 100);
* stage 2: ``100·MSE(D(F_r), I_h) + 0.2·L_FM + 0.5·(1 − SSIM) + 0.05·L_hue`` (Eq. 7).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import torch.nn.functional as F
from torch import Tensor

from lle_core.errors import ShapeError
from lle_core.interfaces import LossTerm
from lle_frlie import PAPER
from lle_frlie.params import FeatureMatchingParams, HueLossParams

#: Context keys the feature-matching term reads by default (set by ``frlie.two_stage``).
FM_DEFAULT_KEYS: dict[str, str] = {"pred": "feat_restored", "target": "feat_target"}


def circular_hue_distance_degrees(pred: Tensor, target: Tensor) -> Tensor:
    """Per-pixel circular hue distance ``min(Δ, 360 − Δ)`` in degrees.

    Args:
        pred: ``(B, 3, H, W)`` RGB; clamped to [0, 1] before the HSV conversion.
        target: ``(B, 3, H, W)`` RGB in [0, 1].

    Returns:
        ``(B, H, W)`` distances in [0, 180]. Grey pixels get hue 0 (core's ``rgb_to_hsv``,
        kornia's convention), so the distance and its gradient stay finite.
    """
    from lle_core.losses import hue_circular_distance, rgb_to_hsv

    if pred.dim() != 4 or pred.shape[1] != 3 or pred.shape != target.shape:
        raise ShapeError(
            "hue loss expects two (B, 3, H, W) RGB tensors of equal shape, got "
            f"pred={tuple(pred.shape)} and target={tuple(target.shape)}"
        )
    h_pred = rgb_to_hsv(pred.clamp(0.0, 1.0))[:, 0]
    h_target = rgb_to_hsv(target.clamp(0.0, 1.0))[:, 0]
    return 360.0 * hue_circular_distance(h_pred, h_target)


class HueLoss(LossTerm):
    """``mean(min(Δh, 360 − Δh)) / normalizer`` with hue in degrees (paper Eq. 6, code form).

    The paper prints ``(1/180)·||180 − |H(x) − H(y)|||_1``, which is largest for equal hues;
    the released code computes the circular distance and divides by 360 (range [0, 0.5]). The
    default reproduces the code; ``normalizer=180`` gives the paper's scale (range [0, 1]).
    Inputs: ``pred`` and ``target`` ``(B, 3, H, W)`` in [0, 1].
    """

    Params = HueLossParams
    summary = "Circular hue distance min(Δ, 360−Δ) in degrees, mean / 360 (code) or 180"
    paper = f"{PAPER}, Eq. 6 (as implemented by the official code)"

    def __init__(
        self,
        normalizer: Literal[180, 360] = 360,
        *,
        weight: float = 1.0,
        name: str | None = None,
        keys: Mapping[str, str] | None = None,
    ) -> None:
        """Args: normalizer: 360 (code) or 180 (paper); the rest see ``LossParams``."""
        super().__init__(weight=weight, name=name or "hue", keys=keys)
        self.normalizer = float(normalizer)

    def compute(self, pred: Tensor, target: Tensor) -> Tensor:  # type: ignore[override]
        """Mean circular hue distance over pixels and batch, divided by the normaliser."""
        return circular_hue_distance_degrees(pred, target).mean() / self.normalizer


class FeatureMatchingLoss(LossTerm):
    """``mean |F_r − F_target|`` (paper Eq. 3, mean-reduced as in the code).

    ``pred`` is read from context key ``feat_restored`` and ``target`` from ``feat_target``
    by default (``keys`` overrides either). Both are tensors of equal shape, typically
    ``(B, 4c, H/4, W/4)`` features; the target is not differentiated through when the trainer
    detaches it.
    """

    Params = FeatureMatchingParams
    summary = "L1 between restored and target features (feat_restored vs feat_target)"
    paper = f"{PAPER}, Eq. 3"

    def __init__(
        self,
        *,
        weight: float = 1.0,
        name: str | None = None,
        keys: Mapping[str, str] | None = None,
    ) -> None:
        """Args: see ``LossParams``; ``keys`` default to :data:`FM_DEFAULT_KEYS`."""
        super().__init__(
            weight=weight, name=name or "fm", keys={**FM_DEFAULT_KEYS, **dict(keys or {})}
        )

    def compute(self, pred: Tensor, target: Tensor) -> Tensor:  # type: ignore[override]
        """Mean absolute difference of two equally shaped feature tensors."""
        if pred.shape != target.shape:
            raise ShapeError(
                f"feature matching compares tensors of equal shape, got restored "
                f"{tuple(pred.shape)} (key {self.keys['pred']!r}) and target "
                f"{tuple(target.shape)} (key {self.keys['target']!r})"
            )
        return F.l1_loss(pred, target)
