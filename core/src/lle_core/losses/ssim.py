"""SSIM and MS-SSIM (functions and loss terms ``1 − SSIM`` / ``1 − MS-SSIM``).

Reference form (Wang et al., IEEE TIP 2004): per channel, Gaussian window 11×11 with
σ = 1.5, K1 = 0.01, K2 = 0.03, data range L (1 for images in ``[0, 1]``), ``C1 = (K1·L)²``,
``C2 = (K2·L)²``::

    SSIM = (2·μx·μy + C1)(2·σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2))

The SSIM map is averaged over pixels and channels, per image.

Padding:
    ``"valid"`` (default) filters without padding, so the map is ``(H − 10) × (W − 10)``
    and images need at least 11 px per side; this is what the DLN and FRLIE code use.
    ``"same"`` zero-pads by 5 px (as the popular ``pytorch_ssim`` code), keeping the size and
    accepting any image size; borders are biased towards lower values.

MS-SSIM (Wang, Simoncelli & Bovik 2003): 5 scales with exponents
``(0.0448, 0.2856, 0.3001, 0.2363, 0.1333)``, 2× average pooling between scales, the
contrast-structure term ``cs`` at scales 1–4 and the full SSIM at scale 5; each per-channel term
is clamped to ``[1e-8, ∞)`` before its fractional power (the "ReLU clamp" that keeps negative
``cs`` from producing NaN, with finite gradients), the product is averaged over channels.
With valid windows the coarsest scale is ``⌊H / 16⌋`` and must hold a window: 176 px per side
for 5 scales. Smaller images raise :class:`ShapeError` unless ``on_small="fewer_scales"``,
which drops the coarsest scales and renormalises the remaining exponents to sum to 1.

The window and the filtering are kornia's (``kornia.filters.get_gaussian_kernel1d``,
``kornia.filters.filter2d_separable``); the SSIM formula, the contrast-structure map and the
per-image reduction are ours (docs/components.md says why ``kornia.metrics.ssim`` is not used).

Note: ``kornia.losses.MS_SSIMLoss`` is a different quantity (MS-SSIM mixed with a Gaussian L1
term and a compensation factor), so it is not used here.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor

from lle_core.errors import ShapeError
from lle_core.losses._common import (
    ReducedLossParams,
    ReducedLossTerm,
    Reduction,
    check_choice,
    check_image_batch,
    check_pair,
    reduce,
)

Padding = Literal["valid", "same"]
OnSmall = Literal["error", "fewer_scales"]

#: Exponents of the five MS-SSIM scales, finest first (Wang et al. 2003).
MS_SSIM_WEIGHTS: tuple[float, ...] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)

_POWER_FLOOR = 1e-8


def gaussian_window(size: int = 11, sigma: float = 1.5, *, dtype: torch.dtype = torch.float32,
                    device: torch.device | str | None = None) -> Tensor:
    """Normalised 1-D Gaussian of ``size`` taps (the 2-D window is its outer product).

    ``kornia.filters.get_gaussian_kernel1d``; shape ``(size,)``, sums to 1.
    """
    if size < 1 or size % 2 == 0:
        raise ValueError(f"the SSIM window size must be odd and positive, got {size}")
    from kornia.filters import get_gaussian_kernel1d  # lazy: kornia imports slowly

    # computed in float64 and then cast, so that float32 windows sum to 1 as exactly as possible
    g = get_gaussian_kernel1d(size, sigma, dtype=torch.float64)[0]
    return g.to(dtype=dtype, device=device)


def _blur(x: Tensor, window: Tensor, padding: Padding) -> Tensor:
    """Separable depth-wise Gaussian filtering of ``(B, C, H, W)`` (``kornia.filters``).

    ``"same"`` pads with zeros (kornia's ``constant`` border), ``"valid"`` does not pad.
    """
    from kornia.filters import filter2d_separable

    k = window.view(1, -1)
    return filter2d_separable(x, k, k, border_type="constant", padding=padding)


def ssim_maps(
    x: Tensor,
    y: Tensor,
    *,
    window: int = 11,
    sigma: float = 1.5,
    data_range: float = 1.0,
    padding: Padding = "valid",
    k1: float = 0.01,
    k2: float = 0.03,
) -> tuple[Tensor, Tensor]:
    """SSIM map and contrast-structure map.

    Args:
        x: ``(B, C, H, W)``.
        y: ``(B, C, H, W)``.
        window: Gaussian window size (odd).
        sigma: Gaussian standard deviation.
        data_range: Dynamic range L of the values.
        padding: ``"valid"`` or ``"same"`` (see the module docstring).
        k1: Luminance constant K1.
        k2: Contrast constant K2.

    Returns:
        ``(ssim_map, cs_map)``, each ``(B, C, H', W')`` (``H' = H − window + 1`` for valid).

    Raises:
        ShapeError: Different shapes, or an image smaller than the window with ``"valid"``.
    """
    check_pair(x, y, "ssim")
    check_image_batch(x, "ssim")
    check_choice("padding", padding, Padding)
    h, w = x.shape[-2:]
    if padding == "valid" and min(h, w) < window:
        raise ShapeError(
            f"SSIM with padding='valid' needs images of at least {window}×{window} px, got "
            f"{h}×{w}; use larger images or padding='same'"
        )
    win = gaussian_window(window, sigma, dtype=x.dtype, device=x.device)
    c = x.shape[1]
    stats = _blur(torch.cat([x, y, x * x, y * y, x * y], dim=1), win, padding)
    mu_x, mu_y, e_xx, e_yy, e_xy = stats.split(c, dim=1)
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    var_x, var_y, cov = e_xx - mu_xx, e_yy - mu_yy, e_xy - mu_xy
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    cs_map = (2 * cov + c2) / (var_x + var_y + c2)
    ssim_map = (2 * mu_xy + c1) / (mu_xx + mu_yy + c1) * cs_map
    return ssim_map, cs_map


def ssim(
    x: Tensor,
    y: Tensor,
    *,
    window: int = 11,
    sigma: float = 1.5,
    data_range: float = 1.0,
    padding: Padding = "valid",
) -> Tensor:
    """Per-image SSIM of two ``(B, C, H, W)`` batches -> ``(B,)`` (1 for identical images).

    The SSIM map is averaged over pixels and channels of each image (our choice, as for the loss).
    """
    ssim_map, _ = ssim_maps(x, y, window=window, sigma=sigma, data_range=data_range,
                            padding=padding)
    return ssim_map.flatten(1).mean(dim=1)


def ms_ssim_min_size(scales: int = 5, *, window: int = 11, padding: Padding = "valid") -> int:
    """Smallest image side accepted by :func:`ms_ssim` with ``scales`` scales.

    176 for 5 scales and an 11-px window with valid padding (the coarsest scale, ``H / 16``,
    must hold a window); ``2**(scales − 1)`` with same padding.
    """
    return (window if padding == "valid" else 1) * 2 ** (scales - 1)


def ms_ssim(
    x: Tensor,
    y: Tensor,
    *,
    window: int = 11,
    sigma: float = 1.5,
    data_range: float = 1.0,
    padding: Padding = "valid",
    weights: tuple[float, ...] = MS_SSIM_WEIGHTS,
    on_small: OnSmall = "error",
) -> Tensor:
    """Per-image multi-scale SSIM of two ``(B, C, H, W)`` batches -> ``(B,)`` in ``[0, 1]``.

    Args:
        x: ``(B, C, H, W)``.
        y: ``(B, C, H, W)``.
        window: Gaussian window size at every scale.
        sigma: Gaussian standard deviation.
        data_range: Dynamic range of the values.
        padding: ``"valid"`` or ``"same"``.
        weights: Exponent per scale, finest first.
        on_small: ``"error"`` raises for images below :func:`ms_ssim_min_size`;
            ``"fewer_scales"`` drops coarse scales and renormalises the exponents.

    Raises:
        ShapeError: Image too small (the message gives the size and the minimum).
    """
    check_pair(x, y, "ms_ssim")
    check_image_batch(x, "ms_ssim")
    check_choice("on_small", on_small, OnSmall)
    h, w = x.shape[-2:]
    side = min(h, w)
    n = len(weights)
    needed = ms_ssim_min_size(n, window=window, padding=padding)
    if side < needed:
        if on_small == "error":
            raise ShapeError(
                f"MS-SSIM with {n} scales, a {window}-px window and padding={padding!r} needs "
                f"images of at least {needed}×{needed} px, got {h}×{w}; use larger crops or "
                "on_small='fewer_scales'"
            )
        while n > 0 and side < ms_ssim_min_size(n, window=window, padding=padding):
            n -= 1
        if n == 0:
            raise ShapeError(
                f"MS-SSIM: a {h}×{w} image is smaller than one {window}-px window "
                f"(padding={padding!r}); even one scale does not fit"
            )
    total = sum(weights[:n])
    exps = [wt / total for wt in weights[:n]]
    value: Tensor | None = None
    for i, exponent in enumerate(exps):
        ssim_map, cs_map = ssim_maps(x, y, window=window, sigma=sigma, data_range=data_range,
                                     padding=padding)
        last = i == n - 1
        term = (ssim_map if last else cs_map).mean(dim=(2, 3))  # (B, C)
        term = term.clamp(min=_POWER_FLOOR) ** exponent
        value = term if value is None else value * term
        if not last:
            x = F.avg_pool2d(x, kernel_size=2)
            y = F.avg_pool2d(y, kernel_size=2)
    assert value is not None
    return value.mean(dim=1)


def ssim_loss(
    pred: Tensor, target: Tensor, *, padding: Padding = "valid", reduction: Reduction = "mean"
) -> Tensor:
    """``1 − SSIM`` per image (data range 1, 11×11 Gaussian σ 1.5), then reduced."""
    return reduce(1.0 - ssim(pred, target, padding=padding), reduction)


def ms_ssim_loss(
    pred: Tensor,
    target: Tensor,
    *,
    padding: Padding = "valid",
    on_small: OnSmall = "error",
    reduction: Reduction = "mean",
) -> Tensor:
    """``1 − MS-SSIM`` per image (5 scales, data range 1), then reduced."""
    return reduce(1.0 - ms_ssim(pred, target, padding=padding, on_small=on_small), reduction)


class SSIMParams(ReducedLossParams):
    """Parameters of ``core.ssim`` (the loss)."""

    padding: Padding = "valid"


class SSIMLoss(ReducedLossTerm):
    """``1 − SSIM`` loss term (``core.ssim``); see :func:`ssim`."""

    Params = SSIMParams
    summary = "1 − SSIM (11×11 Gaussian σ 1.5, data range 1, valid|same padding)"

    default_name = "ssim"
    min_input_size = 11  # one window with the default valid padding

    def __init__(self, *, padding: Padding = "valid", **kwargs: Any) -> None:
        """Args: padding: ``"valid"`` or ``"same"``; others: see ``ReducedLossTerm``."""
        super().__init__(**kwargs)
        check_choice("padding", padding, Padding)
        self.padding: Padding = padding

    def compute(self, pred: Tensor, target: Tensor) -> Tensor:  # type: ignore[override]
        """``(B, 3, H, W)`` pair in ``[0, 1]`` -> loss in ``[0, 2]``."""
        return ssim_loss(pred, target, padding=self.padding, reduction=self.reduction)


class MSSSIMParams(ReducedLossParams):
    """Parameters of ``core.ms_ssim``."""

    padding: Padding = "valid"
    on_small: OnSmall = "error"
    scales: int = Field(5, ge=1, le=5)


class MSSSIMLoss(ReducedLossTerm):
    """``1 − MS-SSIM`` loss term (``core.ms_ssim``); see :func:`ms_ssim`."""

    Params = MSSSIMParams
    summary = "1 − MS-SSIM (Wang 2003, 5 scales; error or fewer scales when small)"
    paper = "Wang, Simoncelli & Bovik 2003, Multi-scale structural similarity, Eq. 7"

    default_name = "ms_ssim"
    # min_input_size stays 1: the default needs 176 px (see ms_ssim_min_size) but the
    # registered example (same padding, fewer scales) accepts any size, which keeps the
    # conformance kit fast.

    def __init__(
        self,
        *,
        padding: Padding = "valid",
        on_small: OnSmall = "error",
        scales: int = 5,
        **kwargs: Any,
    ) -> None:
        """Configure the term.

        Args:
            padding: See :func:`ms_ssim`.
            on_small: See :func:`ms_ssim`.
            scales: Number of scales (the first ``scales`` standard exponents, renormalised).
            **kwargs: ``reduction``, ``weight``, ``name``, ``keys`` (see ``ReducedLossTerm``).
        """
        super().__init__(**kwargs)
        if not 1 <= scales <= len(MS_SSIM_WEIGHTS):
            raise ValueError(f"scales must be in 1..{len(MS_SSIM_WEIGHTS)}, got {scales}")
        self.padding: Padding = padding
        self.on_small: OnSmall = on_small
        self.scales = scales

    def compute(self, pred: Tensor, target: Tensor) -> Tensor:  # type: ignore[override]
        """``(B, 3, H, W)`` pair in ``[0, 1]`` -> loss in ``[0, 1]``."""
        value = ms_ssim(pred, target, padding=self.padding, on_small=self.on_small,
                        weights=MS_SSIM_WEIGHTS[: self.scales])
        return reduce(1.0 - value, self.reduction)
