"""Pixel-wise losses: L1, MSE, Charbonnier and Huber.

Each is a function ``f(pred, target, ..., reduction="mean")`` and a :class:`LossTerm`
(kornia style: the class wraps the function). ``reduction="none"`` returns the element-wise
map, shaped like the inputs.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor

from lle_core.losses._common import (
    ReducedLossParams,
    ReducedLossTerm,
    Reduction,
    check_pair,
    reduce,
)


def l1_loss(pred: Tensor, target: Tensor, *, reduction: Reduction = "mean") -> Tensor:
    """Mean absolute error ``|pred − target|`` (any equal shapes, e.g. ``(B, 3, H, W)``)."""
    check_pair(pred, target, "l1_loss")
    return reduce((pred - target).abs(), reduction)


def mse_loss(pred: Tensor, target: Tensor, *, reduction: Reduction = "mean") -> Tensor:
    """Mean squared error ``(pred − target)²``."""
    check_pair(pred, target, "mse_loss")
    return reduce((pred - target).square(), reduction)


def charbonnier_loss(
    pred: Tensor, target: Tensor, *, eps: float = 1e-3, reduction: Reduction = "mean"
) -> Tensor:
    """Charbonnier (smooth L1) loss ``sqrt((pred − target)² + eps²)``.

    Its minimum, reached for identical inputs, is ``eps`` (not 0).
    """
    check_pair(pred, target, "charbonnier_loss")
    return reduce(torch.sqrt((pred - target).square() + eps * eps), reduction)


def huber_loss(
    pred: Tensor, target: Tensor, *, delta: float = 1.0, reduction: Reduction = "mean"
) -> Tensor:
    """Huber loss, as printed in the papers and as ``torch.nn.HuberLoss(delta=δ)``.

    ``0.5·a²`` for ``|a| ≤ δ`` and ``δ·(|a| − 0.5·δ)`` otherwise, with ``a = pred − target``.
    This is *not* ``SmoothL1Loss(beta)`` (which divides by beta). For images in ``[0, 1]`` and
    ``δ ≥ 1`` it equals ``0.5·MSE``.
    """
    check_pair(pred, target, "huber_loss")
    return reduce(F.huber_loss(pred, target, reduction="none", delta=delta), reduction)


class L1Loss(ReducedLossTerm):
    """:func:`l1_loss` as a loss term (``core.l1``)."""

    Params = ReducedLossParams
    summary = "Mean absolute error"

    default_name = "l1"

    def compute(self, pred: Tensor, target: Tensor) -> Tensor:  # type: ignore[override]
        """``(B, C, H, W)`` pair -> loss."""
        return l1_loss(pred, target, reduction=self.reduction)


class MSELoss(ReducedLossTerm):
    """:func:`mse_loss` as a loss term (``core.mse``)."""

    Params = ReducedLossParams
    summary = "Mean squared error"

    default_name = "mse"

    def compute(self, pred: Tensor, target: Tensor) -> Tensor:  # type: ignore[override]
        """``(B, C, H, W)`` pair -> loss."""
        return mse_loss(pred, target, reduction=self.reduction)


class CharbonnierParams(ReducedLossParams):
    """Parameters of ``core.charbonnier``."""

    eps: float = Field(1e-3, gt=0.0)


class CharbonnierLoss(ReducedLossTerm):
    """:func:`charbonnier_loss` as a loss term (``core.charbonnier``); minimum ``eps``."""

    Params = CharbonnierParams
    summary = "Charbonnier loss sqrt(d² + eps²) (minimum eps)"

    default_name = "charbonnier"
    zero_for_identical = False

    def __init__(self, *, eps: float = 1e-3, **kwargs: Any) -> None:
        """Args: eps: smoothing constant; others: see ``ReducedLossTerm``."""
        super().__init__(**kwargs)
        self.eps = float(eps)

    def compute(self, pred: Tensor, target: Tensor) -> Tensor:  # type: ignore[override]
        """``(B, C, H, W)`` pair -> loss."""
        return charbonnier_loss(pred, target, eps=self.eps, reduction=self.reduction)


class HuberParams(ReducedLossParams):
    """Parameters of ``core.huber``."""

    delta: float = Field(1.0, gt=0.0)


class HuberLoss(ReducedLossTerm):
    """:func:`huber_loss` as a loss term (``core.huber``)."""

    Params = HuberParams
    summary = "Huber loss with threshold delta (= torch.nn.HuberLoss, not SmoothL1)"

    default_name = "huber"

    def __init__(self, *, delta: float = 1.0, **kwargs: Any) -> None:
        """Args: delta: the Huber threshold δ; others: see ``ReducedLossTerm``."""
        super().__init__(**kwargs)
        self.delta = float(delta)

    def compute(self, pred: Tensor, target: Tensor) -> Tensor:  # type: ignore[override]
        """``(B, C, H, W)`` pair -> loss."""
        return huber_loss(pred, target, delta=self.delta, reduction=self.reduction)
