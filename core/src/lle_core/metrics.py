"""Image-quality metrics with an explicit protocol: PSNR and SSIM (``core.psnr``, ``core.ssim``).

The protocol ("ours"; numbers are not directly comparable with every paper's table: their SSIM
implementations differ, e.g. FRLIE's official code uses grayscale with a 51-pixel window, DLN's
uses skimage's default 7×7 window, and HF2, NEID and AuxNet do not say):

* Inputs: RGB ``(B, 3, H, W)``, both images clamped to ``[0, 1]`` (data range 1).
* Quantisation (default on): both images are rounded to 8-bit levels (``round(255·x)/255``)
  before the metric, as the papers' evaluation code does by reading/writing 8-bit PNGs.
  ``quantize=False`` evaluates the float images.
* GT-mean (default off): the usual LLIE "GT-mean" protocol: before anything else the
  prediction is multiplied, per image, by ``mean(gray(target)) / mean(gray(pred))``
  (``gray = 0.299 R + 0.587 G + 0.114 B``) and clamped to ``[0, 1]``, which removes the
  global-brightness ambiguity of low-light enhancement.
* PSNR: ``10·log10(1 / MSE)`` with the MSE over all pixels and channels *of each image*,
  capped at 100 dB for identical images (MSE floor 1e-10). Never a batch-averaged MSE
  (``kornia.metrics.psnr`` averages the MSE over the batch first).
* SSIM: Gaussian window 11×11, σ = 1.5, K1 = 0.01, K2 = 0.03, data range 1, per channel on
  RGB, ``valid`` positions only (no padding; images need ≥ 11 px per side), the map averaged
  over positions and channels per image.
* Aggregation: metrics return per-image values ``(B,)``; a dataset score is their mean over
  images.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from lle_core.errors import ShapeError
from lle_core.interfaces import Metric
from lle_core.losses.ssim import ssim
from lle_core.registry import Params

_MSE_FLOOR = 1e-10


def _check(pred: Tensor, target: Tensor, what: str) -> None:
    if pred.dim() != 4 or pred.shape != target.shape or pred.shape[1] != 3:
        raise ShapeError(
            f"{what} expects two (B, 3, H, W) RGB tensors of equal shape, got "
            f"{tuple(pred.shape)} and {tuple(target.shape)}"
        )


def gt_mean_align(pred: Tensor, target: Tensor, eps: float = 1e-8) -> Tensor:
    """Scale each predicted image so its gray-level mean equals the target's (GT-mean).

    Args:
        pred: ``(B, 3, H, W)`` in ``[0, 1]``.
        target: ``(B, 3, H, W)`` in ``[0, 1]``.
        eps: Guards an all-black prediction.

    Returns:
        ``clamp(pred · mean(gray(target)) / mean(gray(pred)), 0, 1)``, per image.
    """
    from kornia.color import rgb_to_grayscale  # BT.601 weights by default; lazy import

    mean_pred = rgb_to_grayscale(pred).flatten(1).mean(dim=1)
    mean_target = rgb_to_grayscale(target).flatten(1).mean(dim=1)
    scale = mean_target / mean_pred.clamp_min(eps)
    return (pred * scale.view(-1, 1, 1, 1)).clamp(0.0, 1.0)


def _prepare(
    pred: Tensor, target: Tensor, *, data_range: float, gt_mean: bool, quantize: bool
) -> tuple[Tensor, Tensor]:
    pred = pred.detach().to(torch.float64) / data_range
    target = target.detach().to(torch.float64) / data_range
    pred, target = pred.clamp(0.0, 1.0), target.clamp(0.0, 1.0)
    if gt_mean:
        pred = gt_mean_align(pred, target)
    if quantize:
        pred = torch.round(pred * 255.0) / 255.0
        target = torch.round(target * 255.0) / 255.0
    return pred, target


def psnr(
    pred: Tensor,
    target: Tensor,
    *,
    data_range: float = 1.0,
    gt_mean: bool = False,
    quantize: bool = True,
) -> Tensor:
    """Per-image PSNR in dB (see the module docstring for the protocol).

    Args:
        pred: ``(B, 3, H, W)`` with values in ``[0, data_range]``.
        target: ``(B, 3, H, W)``.
        data_range: Maximum value (1 for ``[0, 1]`` images).
        gt_mean: Apply the GT-mean brightness alignment to ``pred`` first.
        quantize: Round both images to 8-bit levels first.

    Returns:
        ``(B,)`` float64, at most 100 dB.
    """
    _check(pred, target, "psnr")
    p, t = _prepare(pred, target, data_range=data_range, gt_mean=gt_mean, quantize=quantize)
    mse = (p - t).square().flatten(1).mean(dim=1).clamp_min(_MSE_FLOOR)
    return -10.0 * torch.log10(mse)


def ssim_index(
    pred: Tensor,
    target: Tensor,
    *,
    gt_mean: bool = False,
    quantize: bool = True,
    padding: Literal["valid", "same"] = "valid",
) -> Tensor:
    """Per-image SSIM on RGB (11×11 Gaussian σ 1.5, data range 1, valid windows).

    Args:
        pred: ``(B, 3, H, W)`` in ``[0, 1]``.
        target: ``(B, 3, H, W)`` in ``[0, 1]`` (H, W ≥ 11 with valid padding).
        gt_mean: Apply the GT-mean brightness alignment to ``pred`` first.
        quantize: Round both images to 8-bit levels first.
        padding: ``"valid"`` (protocol default) or ``"same"`` (zero padding).

    Returns:
        ``(B,)`` float64.
    """
    _check(pred, target, "ssim_index")
    p, t = _prepare(pred, target, data_range=1.0, gt_mean=gt_mean, quantize=quantize)
    return ssim(p, t, data_range=1.0, padding=padding)


class PSNRParams(Params):
    """Parameters of the ``core.psnr`` metric."""

    gt_mean: bool = False
    quantize: bool = True


class SSIMMetricParams(PSNRParams):
    """Parameters of the ``core.ssim`` metric."""

    padding: Literal["valid", "same"] = "valid"


def _suffix(gt_mean: bool, quantize: bool) -> str:
    parts = ["8-bit quantised" if quantize else "float (not quantised)"]
    if gt_mean:
        parts.append("GT-mean aligned prediction")
    return "; ".join(parts)


def _psnr_protocol(gt_mean: bool, quantize: bool) -> str:
    return (
        "PSNR on RGB, data range 1, images clamped to [0,1], "
        f"{_suffix(gt_mean, quantize)}; MSE per image (capped at 100 dB); mean over images"
    )


def _ssim_protocol(gt_mean: bool, quantize: bool, padding: str) -> str:
    return (
        "SSIM on RGB per channel, Gaussian 11x11 sigma 1.5, K1 0.01 K2 0.03, data range 1, "
        f"{padding} windows, images clamped to [0,1], {_suffix(gt_mean, quantize)}; "
        "map mean per image; mean over images"
    )


class PSNRMetric(Metric):
    """PSNR (``core.psnr``): per-image dB, higher is better; see :func:`psnr`."""

    Params = PSNRParams
    summary = "PSNR (dB), RGB, data range 1, per image; 8-bit quantised; GT-mean option"

    name = "psnr"
    higher_is_better = True
    protocol = _psnr_protocol(False, True)

    def __init__(self, *, gt_mean: bool = False, quantize: bool = True) -> None:
        """Args: gt_mean, quantize: see :func:`psnr`."""
        self.gt_mean = gt_mean
        self.quantize = quantize
        self.name = "psnr_gtmean" if gt_mean else "psnr"  # type: ignore[misc]
        self.protocol = _psnr_protocol(gt_mean, quantize)  # type: ignore[misc]

    def __call__(self, pred: Tensor, target: Tensor) -> Tensor:
        """``(B, 3, H, W)`` pair -> ``(B,)`` dB."""
        return psnr(pred, target, gt_mean=self.gt_mean, quantize=self.quantize)


class SSIMMetric(Metric):
    """SSIM (``core.ssim``): per-image index, higher is better; see :func:`ssim_index`."""

    Params = SSIMMetricParams
    summary = "SSIM, RGB, Gaussian 11x11 σ 1.5, valid windows, per image; GT-mean option"
    paper = "Wang, Bovik, Sheikh & Simoncelli 2004, Image quality assessment, Eq. 13"

    name = "ssim"
    higher_is_better = True
    protocol = _ssim_protocol(False, True, "valid")

    def __init__(
        self,
        *,
        gt_mean: bool = False,
        quantize: bool = True,
        padding: Literal["valid", "same"] = "valid",
    ) -> None:
        """Args: gt_mean, quantize, padding: see :func:`ssim_index`."""
        self.gt_mean = gt_mean
        self.quantize = quantize
        self.padding: Literal["valid", "same"] = padding
        self.name = "ssim_gtmean" if gt_mean else "ssim"  # type: ignore[misc]
        self.protocol = _ssim_protocol(gt_mean, quantize, padding)  # type: ignore[misc]

    def __call__(self, pred: Tensor, target: Tensor) -> Tensor:
        """``(B, 3, H, W)`` pair -> ``(B,)``."""
        return ssim_index(pred, target, gt_mean=self.gt_mean, quantize=self.quantize,
                          padding=self.padding)
