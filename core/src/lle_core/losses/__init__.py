"""Loss functions and loss terms shipped by core (kind ``"loss"``, names ``core.*``).

Every loss exists as a function and as a :class:`~lle_core.interfaces.LossTerm` module with
the same ``reduction="mean"`` default:

==================  =========================  ======================  =====================
registry name       function                   class                   reads
==================  =========================  ======================  =====================
``core.l1``         :func:`l1_loss`            :class:`L1Loss`         pred, target
``core.mse``        :func:`mse_loss`           :class:`MSELoss`        pred, target
``core.charbonnier`` :func:`charbonnier_loss`  :class:`CharbonnierLoss` pred, target
``core.huber``      :func:`huber_loss`         :class:`HuberLoss`      pred, target
``core.ssim``       :func:`ssim_loss`          :class:`SSIMLoss`       pred, target
``core.ms_ssim``    :func:`ms_ssim_loss`       :class:`MSSSIMLoss`     pred, target
``core.tv``         :func:`total_variation`    :class:`TVLoss`         pred
``core.perceptual`` :func:`perceptual_loss`    :class:`PerceptualLoss` pred, target
``core.composite``  —                          :class:`CompositeLoss`  its terms' inputs
==================  =========================  ======================  =====================

Metric-style helpers: :func:`ssim`, :func:`ms_ssim` (per image ``(B,)``), :func:`rgb_to_hsv`,
:func:`hue_circular_distance`.
"""

from __future__ import annotations

from lle_core.losses._common import ReducedLossParams, ReducedLossTerm, Reduction, reduce
from lle_core.losses.composite import CompositeLoss, CompositeParams
from lle_core.losses.hsv import hue_circular_distance, rgb_to_hsv
from lle_core.losses.perceptual import PerceptualLoss, PerceptualParams, perceptual_loss
from lle_core.losses.pixel import (
    CharbonnierLoss,
    CharbonnierParams,
    HuberLoss,
    HuberParams,
    L1Loss,
    MSELoss,
    charbonnier_loss,
    huber_loss,
    l1_loss,
    mse_loss,
)
from lle_core.losses.ssim import (
    MS_SSIM_WEIGHTS,
    MSSSIMLoss,
    MSSSIMParams,
    SSIMLoss,
    SSIMParams,
    gaussian_window,
    ms_ssim,
    ms_ssim_loss,
    ms_ssim_min_size,
    ssim,
    ssim_loss,
    ssim_maps,
)
from lle_core.losses.tv import TV_MODES, TVLoss, TVParams, total_variation

__all__ = [
    "MS_SSIM_WEIGHTS",
    "TV_MODES",
    "CharbonnierLoss",
    "CharbonnierParams",
    "CompositeLoss",
    "CompositeParams",
    "HuberLoss",
    "HuberParams",
    "L1Loss",
    "MSELoss",
    "MSSSIMLoss",
    "MSSSIMParams",
    "PerceptualLoss",
    "PerceptualParams",
    "ReducedLossParams",
    "ReducedLossTerm",
    "Reduction",
    "SSIMLoss",
    "SSIMParams",
    "TVLoss",
    "TVParams",
    "charbonnier_loss",
    "gaussian_window",
    "huber_loss",
    "hue_circular_distance",
    "l1_loss",
    "ms_ssim",
    "ms_ssim_loss",
    "ms_ssim_min_size",
    "mse_loss",
    "perceptual_loss",
    "reduce",
    "rgb_to_hsv",
    "ssim",
    "ssim_loss",
    "ssim_maps",
    "total_variation",
]
