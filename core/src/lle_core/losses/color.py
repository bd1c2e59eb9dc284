"""Colour-direction loss: keeps the hue and saturation of the target, whatever the brightness.

``1 − cos∠(pred_p, target_p)`` between the RGB vectors of each pixel ``p``: it is 0 when the
output's colour is the target's colour times any positive factor, so it penalises colour
shifts and washed-out colour (vectors pulled towards grey) but not exposure. The shipped
recipes add it where a model's own paper has no colour term (a declared deviation in each
model card); NEID (HSV colour loss, Sec. 2.3) and FRLIE (hue loss) keep their papers' terms.
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from pydantic import Field
from torch import Tensor

from lle_core.losses._common import (
    ReducedLossParams,
    ReducedLossTerm,
    Reduction,
    check_image_batch,
    check_pair,
    reduce,
)


def color_cosine_loss(
    pred: Tensor, target: Tensor, *, eps: float = 1e-6, reduction: Reduction = "mean"
) -> Tensor:
    """``1 − cos∠(pred, target)`` per pixel over the colour channel.

    Args:
        pred: ``(B, 3, H, W)`` RGB in ``[0, 1]``.
        target: Same shape.
        eps: Added to the vector norms (black pixels count as grey, with finite gradients).
        reduction: ``"mean"``/``"sum"`` over pixels, ``"none"`` for the ``(B, 1, H, W)`` map.

    Returns:
        Loss in ``[0, 1]`` for non-negative inputs (0 for identical colour directions).
    """
    check_pair(pred, target, "color_cosine_loss")
    check_image_batch(pred, "color_cosine_loss")
    cos = F.cosine_similarity(pred.float(), target.float(), dim=1, eps=eps)
    return reduce((1.0 - cos).unsqueeze(1), reduction)


class ColorCosineParams(ReducedLossParams):
    """Parameters of ``core.color_cosine``."""

    eps: float = Field(1e-6, gt=0.0)


class ColorCosineLoss(ReducedLossTerm):
    """Colour-direction loss term (``core.color_cosine``); see :func:`color_cosine_loss`."""

    Params = ColorCosineParams
    summary = "1 − cosine between output and target RGB vectors per pixel (colour, not exposure)"

    default_name = "color"

    def __init__(self, *, eps: float = 1e-6, **kwargs: Any) -> None:
        """Args: eps: norm offset; others: see ``ReducedLossTerm``."""
        super().__init__(**kwargs)
        self.eps = eps

    def compute(self, pred: Tensor, target: Tensor) -> Tensor:  # type: ignore[override]
        """``(B, 3, H, W)`` pair in ``[0, 1]`` -> loss in ``[0, 1]``."""
        return color_cosine_loss(pred, target, eps=self.eps, reduction=self.reduction)
