"""VGG16 perceptual loss: distance between frozen VGG16 features of prediction and target.

Both images (RGB in ``[0, 1]``) are ImageNet-normalised and passed through timm's VGG16
``features`` up to ``layer`` (default ``relu3_3``); the loss is the mean absolute (``l1``) or
squared (``l2``) difference of the feature maps. The network is frozen (``requires_grad``
off, kept in eval mode) but gradients flow to ``pred`` (and to ``target`` if it requires
them). Weights: see :func:`lle_core.pretrained.vgg16_features`.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor, nn

from lle_core.losses._common import (
    ReducedLossParams,
    ReducedLossTerm,
    Reduction,
    check_choice,
    check_image_batch,
    check_pair,
    reduce,
)
from lle_core.pretrained import imagenet_normalize, vgg16_features, vgg16_layer_index

Norm = Literal["l1", "l2"]


def perceptual_loss(
    pred: Tensor,
    target: Tensor,
    features: nn.Module,
    *,
    norm: Norm = "l1",
    reduction: Reduction = "mean",
) -> Tensor:
    """Feature distance between two RGB batches.

    Args:
        pred: ``(B, 3, H, W)`` in ``[0, 1]``.
        target: ``(B, 3, H, W)`` in ``[0, 1]``.
        features: Feature extractor taking ImageNet-normalised input, e.g. a truncated
            :func:`~lle_core.pretrained.vgg16_features`.
        norm: ``"l1"`` (mean absolute) or ``"l2"`` (mean squared) feature difference.
        reduction: Over images; ``"none"`` gives ``(B,)``.
    """
    check_pair(pred, target, "perceptual_loss")
    check_image_batch(pred, "perceptual_loss")
    check_choice("norm", norm, Norm)
    both = features(imagenet_normalize(torch.cat([pred, target], dim=0)))
    fp, ft = both.chunk(2, dim=0)
    diff = fp - ft
    per_elem = diff.abs() if norm == "l1" else diff.square()
    return reduce(per_elem.flatten(1).mean(dim=1), reduction)


class PerceptualParams(ReducedLossParams):
    """Parameters of ``core.perceptual``.

    Attributes:
        layer: Last VGG16 layer used (``relu1_2``, ``relu2_2``, ``relu3_3``, ``relu4_3``,
            ``relu5_3``, any ``conv<b>_<i>``/``relu<b>_<i>``/``pool<b>`` name).
        norm: ``l1`` or ``l2`` feature distance.
        weights: ``imagenet`` (hub or ``$LLE_VGG16_WEIGHTS``), a local file path, or
            ``random`` (tests only).
        allow_random_fallback: Use random weights (with a warning) when ImageNet weights are
            unavailable offline, instead of failing.
    """

    layer: str = "relu3_3"
    norm: Norm = "l1"
    weights: str = "imagenet"
    allow_random_fallback: bool = False


class PerceptualLoss(ReducedLossTerm):
    """VGG16 perceptual loss term (``core.perceptual``); see :func:`perceptual_loss`."""

    Params = PerceptualParams
    summary = "VGG16 feature distance (timm weights: hub, local file or random)"
    paper = "Johnson, Alahi & Fei-Fei 2016, Perceptual losses, Sec. 3.3"

    default_name = "perceptual"

    def __init__(
        self,
        *,
        layer: str = "relu3_3",
        norm: Norm = "l1",
        weights: str = "imagenet",
        allow_random_fallback: bool = False,
        **kwargs: Any,
    ) -> None:
        """Args: see :class:`PerceptualParams`; others: see ``ReducedLossTerm``."""
        super().__init__(**kwargs)
        check_choice("norm", norm, Norm)
        index = vgg16_layer_index(layer)
        full = vgg16_features(weights, allow_random_fallback=allow_random_fallback)
        self.features = nn.Sequential(*list(full.children())[: index + 1])
        self.layer = layer
        self.norm: Norm = norm

    def train(self, mode: bool = True) -> PerceptualLoss:
        """Keep the frozen VGG in eval mode whatever ``mode`` is."""
        super().train(mode)
        self.features.eval()
        return self

    def compute(self, pred: Tensor, target: Tensor) -> Tensor:  # type: ignore[override]
        """``(B, 3, H, W)`` pair in ``[0, 1]`` -> loss."""
        return perceptual_loss(pred, target, self.features, norm=self.norm,
                               reduction=self.reduction)
