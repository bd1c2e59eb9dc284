"""kornia replaced hand-written pieces (issue 22): SSIM's window and filtering, RGB→HSV, grey.

Each test keeps the former implementation as its oracle and checks the kornia-based one
against it within 1e-6.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from lle_core.baselines import _luminance
from lle_core.losses import gaussian_window, ms_ssim, rgb_to_hsv, ssim, ssim_maps
from lle_core.metrics import gt_mean_align, psnr, ssim_index

TOL = 1e-6


def _images(dtype: torch.dtype, seed: int = 0) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(2, 3, 40, 52, generator=g)
    ramp = torch.linspace(0, 1, 52).expand(2, 3, 40, 52)
    x[1] = 0.3 * ramp[1] + 0.05 * x[1]  # a dark, smooth image as well as noise
    y = (0.7 * x + 0.3 * torch.rand(2, 3, 40, 52, generator=g)).clamp(0, 1)
    return x.to(dtype), y.to(dtype)


# the former implementations ---------------------------------------------------------------


def old_window(size: int, sigma: float, dtype: torch.dtype) -> Tensor:
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return (g / g.sum()).to(dtype)


def old_blur(x: Tensor, window: Tensor, padding: str) -> Tensor:
    c, k = x.shape[1], window.numel()
    pad = k // 2 if padding == "same" else 0
    x = F.conv2d(x, window.view(1, 1, 1, k).expand(c, 1, 1, k), padding=(0, pad), groups=c)
    return F.conv2d(x, window.view(1, 1, k, 1).expand(c, 1, k, 1), padding=(pad, 0), groups=c)


def old_ssim_maps(x: Tensor, y: Tensor, padding: str) -> tuple[Tensor, Tensor]:
    c = x.shape[1]
    stats = old_blur(torch.cat([x, y, x * x, y * y, x * y], 1), old_window(11, 1.5, x.dtype),
                     padding)
    mx, my, exx, eyy, exy = stats.split(c, 1)
    cs = (2 * (exy - mx * my) + 0.03**2) / ((exx - mx * mx) + (eyy - my * my) + 0.03**2)
    return (2 * mx * my + 0.01**2) / (mx * mx + my * my + 0.01**2) * cs, cs


def q(t: Tensor) -> Tensor:
    """The protocol's 8-bit quantisation, in float64."""
    return torch.round(t.double() * 255) / 255


def old_grey(x: Tensor) -> Tensor:
    w = torch.tensor((0.299, 0.587, 0.114), dtype=x.dtype).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


def old_hsv(x: Tensor, eps: float) -> Tensor:
    x = x.clamp(0.0, 1.0)
    r, g, b = x.unbind(dim=-3)
    v, argmax = x.max(dim=-3)
    delta = v - x.min(dim=-3).values
    denom = delta + eps
    h_r = torch.remainder((g - b) / denom, 6.0)
    h_g = (b - r) / denom + 2.0
    h_b = (r - g) / denom + 4.0
    h = torch.remainder(torch.where(argmax == 0, h_r, torch.where(argmax == 1, h_g, h_b)) / 6, 1)
    h = torch.where(h >= 1.0, h - 1.0, h)
    return torch.stack([h, delta / (v + eps), v], dim=-3)


# the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gaussian_window_matches(dtype: torch.dtype) -> None:
    for size, sigma in ((11, 1.5), (7, 1.0), (51, 8.0)):
        new = gaussian_window(size, sigma, dtype=dtype)
        assert new.shape == (size,) and new.dtype == dtype
        assert (new - old_window(size, sigma, dtype)).abs().max() <= TOL


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_ssim_maps_and_values_match(dtype: torch.dtype, padding: str) -> None:
    x, y = _images(dtype)
    new_s, new_cs = ssim_maps(x, y, padding=padding)  # type: ignore[arg-type]
    old_s, old_cs = old_ssim_maps(x, y, padding)
    assert new_s.shape == old_s.shape
    assert (new_s - old_s).abs().max() <= TOL and (new_cs - old_cs).abs().max() <= TOL
    per_image = ssim(x, y, padding=padding)  # type: ignore[arg-type]
    assert (per_image - old_s.flatten(1).mean(1)).abs().max() <= TOL
    assert (ssim(x, x) - 1).abs().max() <= TOL


def test_ms_ssim_matches_the_former_filtering() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(1, 3, 64, 64, generator=g, dtype=torch.float64)
    y = (x + 0.1 * torch.rand(1, 3, 64, 64, generator=g, dtype=torch.float64)).clamp(0, 1)
    weights = (0.0448, 0.2856, 0.3001)
    new = ms_ssim(x, y, padding="same", weights=weights)
    # the oracle: same scales, product over scales of per-channel powers, then channel mean
    xs, ys, prod = x, y, torch.ones(1, 3, dtype=torch.float64)
    for i, wgt in enumerate(weights):
        s_map, cs_map = old_ssim_maps(xs, ys, "same")
        term = (s_map if i == len(weights) - 1 else cs_map).flatten(2).mean(-1).clamp_min(1e-8)
        prod = prod * term.pow(wgt / sum(weights))  # exponents renormalised to sum to 1
        xs, ys = F.avg_pool2d(xs, 2), F.avg_pool2d(ys, 2)
    assert (new - prod.mean(1)).abs().max() <= TOL


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_grey_and_the_metrics_that_use_it_match(dtype: torch.dtype) -> None:
    x, y = _images(dtype)
    assert (_luminance(x, "y") - old_grey(x)).abs().max() <= TOL
    scale = old_grey(y).flatten(1).mean(1) / old_grey(x).flatten(1).mean(1).clamp_min(1e-8)
    old_aligned = (x * scale.view(-1, 1, 1, 1)).clamp(0, 1)
    assert (gt_mean_align(x, y) - old_aligned).abs().max() <= TOL
    for gt_mean in (False, True):  # the protocol's numbers: per-image PSNR and SSIM
        old_x = old_aligned if gt_mean else x
        mse = (q(old_x) - q(y)).square().flatten(1).mean(1)
        assert (psnr(x, y, gt_mean=gt_mean) - (-10 * torch.log10(mse))).abs().max() <= 1e-5
        old_s, _ = old_ssim_maps(q(old_x), q(y), "valid")
        assert (ssim_index(x, y, gt_mean=gt_mean) - old_s.flatten(1).mean(1)).abs().max() <= TOL


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rgb_to_hsv_matches(dtype: torch.dtype) -> None:
    x, _ = _images(dtype)
    x = torch.cat([x, torch.tensor([[[[0.5]], [[0.5]], [[0.5]]]], dtype=dtype)
                   .expand(1, 3, 40, 52)])  # grey pixels: hue 0
    new = rgb_to_hsv(x)
    exact = old_hsv(x, eps=1e-12)  # the former formula without its eps in the hue
    former = old_hsv(x, eps=1e-6)
    assert ((new[..., 1:, :, :] - former[..., 1:, :, :]).abs().max()) <= TOL  # S and V
    hue = torch.remainder(new[:, 0] - exact[:, 0], 1.0)
    assert torch.minimum(hue, 1 - hue).max() <= TOL
    assert (new[:, 0] >= 0).all() and (new[:, 0] < 1).all() and (new[2, 0] == 0).all()
    # the former default added eps to max - min in the hue: a bias of at most h·eps/(max - min)
    delta = x.amax(1) - x.amin(1)
    bias = torch.remainder(new[:, 0] - former[:, 0], 1.0)
    bias = torch.minimum(bias, 1 - bias)
    assert (bias <= 1e-6 / delta.clamp_min(1e-12) + TOL).all()
