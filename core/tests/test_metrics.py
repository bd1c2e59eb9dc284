from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from lle_core import create
from lle_core.errors import ShapeError
from lle_core.losses import ssim
from lle_core.metrics import PSNRMetric, SSIMMetric, gt_mean_align, psnr, ssim_index


def _rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def test_psnr_known_mse_float():
    pred = torch.full((1, 3, 8, 8), 0.5)
    target = torch.full((1, 3, 8, 8), 0.6)
    got = psnr(pred, target, quantize=False)
    assert got.shape == (1,)
    assert got.item() == pytest.approx(-10 * math.log10(0.01), abs=1e-4)


def test_psnr_known_mse_on_8bit_levels():
    pred = torch.full((2, 3, 4, 4), 100 / 255)
    target = torch.full((2, 3, 4, 4), 110 / 255)
    expected = 20 * math.log10(255 / 10)
    assert torch.allclose(psnr(pred, target), torch.full((2,), expected, dtype=torch.float64))


def test_psnr_quantisation_option_changes_result():
    pred = torch.full((1, 3, 4, 4), 0.5004)  # rounds to level 128 (0.50196)
    target = torch.full((1, 3, 4, 4), 0.5)  # rounds to level 128 as well
    assert psnr(pred, target).item() == pytest.approx(100.0)
    assert psnr(pred, target, quantize=False).item() == pytest.approx(
        -10 * math.log10(0.0004**2), rel=1e-3)


def test_psnr_per_image_not_batch_mse():
    target = torch.zeros(2, 3, 8, 8)
    pred = torch.stack([torch.full((3, 8, 8), 0.01), torch.full((3, 8, 8), 0.3)])
    per_image = psnr(pred, target, quantize=False)
    assert per_image[0].item() == pytest.approx(40.0, abs=1e-3)
    assert per_image[1].item() == pytest.approx(-20 * math.log10(0.3), abs=1e-3)
    batch_mse = (pred - target).square().mean()
    batch_psnr = -10 * math.log10(batch_mse.item())
    assert per_image.mean().item() > batch_psnr + 5  # the two protocols differ a lot here
    kornia_metrics = pytest.importorskip("kornia.metrics")
    assert kornia_metrics.psnr(pred, target, 1.0).item() == pytest.approx(batch_psnr, abs=1e-3)


def test_psnr_identical_capped_and_clamped():
    x = _rand(2, 3, 8, 8)
    assert torch.allclose(psnr(x, x), torch.full((2,), 100.0, dtype=torch.float64))
    over = x.clone()
    over[:, :, 0, 0] = 5.0
    clamped = x.clone()
    clamped[:, :, 0, 0] = 1.0
    assert torch.allclose(psnr(over, x), psnr(clamped, x))


@given(seed=st.integers(0, 10_000), scale=st.floats(0.01, 0.5), h=st.integers(1, 19),
       w=st.integers(1, 19))
def test_psnr_symmetric_and_bounded(seed, scale, h, w):
    a = _rand(2, 3, h, w, seed=seed)
    b = (a + scale * (_rand(2, 3, h, w, seed=seed + 1) - 0.5)).clamp(0, 1)
    p = psnr(a, b)
    assert torch.allclose(p, psnr(b, a))
    assert (p <= 100.0).all() and (p > 0).all()


def test_gt_mean_alignment():
    target = _rand(2, 3, 16, 16, seed=3) * 0.8
    pred = target * torch.tensor([0.5, 0.25]).view(2, 1, 1, 1)
    aligned = gt_mean_align(pred, target)
    assert torch.allclose(aligned, target, atol=1e-6)
    assert (psnr(pred, target) < 30).all()
    assert torch.allclose(psnr(pred, target, gt_mean=True), torch.full((2,), 100.0,
                                                                       dtype=torch.float64))
    assert torch.allclose(ssim_index(pred, target, gt_mean=True),
                          torch.ones(2, dtype=torch.float64), atol=1e-9)
    black = gt_mean_align(torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4))
    assert torch.isfinite(black).all() and black.max() == 0


def test_ssim_index_values():
    x = _rand(2, 3, 16, 16, seed=1)
    assert torch.allclose(ssim_index(x, x), torch.ones(2, dtype=torch.float64))
    y = _rand(2, 3, 16, 16, seed=2)
    q = lambda t: torch.round(t.double() * 255) / 255  # noqa: E731
    assert torch.allclose(ssim_index(x, y), ssim(q(x), q(y)))
    assert torch.allclose(ssim_index(x, y, quantize=False), ssim(x.double(), y.double()))
    with pytest.raises(ShapeError, match="11×11"):
        ssim_index(x[..., :8, :8], y[..., :8, :8])
    assert ssim_index(x[..., :8, :8], y[..., :8, :8], padding="same").shape == (2,)


def test_shape_errors():
    with pytest.raises(ShapeError, match="RGB"):
        psnr(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4))
    with pytest.raises(ShapeError):
        psnr(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 5))


def test_registered_metrics():
    m = create("metric", "core.psnr")
    assert isinstance(m, PSNRMetric) and m.name == "psnr" and m.higher_is_better
    assert "per image" in m.protocol and "8-bit" in m.protocol
    assert PSNRMetric.protocol == m.protocol and "valid" in SSIMMetric.protocol
    g = create("metric", {"type": "core.ssim", "gt_mean": True})
    assert isinstance(g, SSIMMetric) and g.name == "ssim_gtmean" and "GT-mean" in g.protocol
    x, y = _rand(3, 3, 12, 12, seed=4), _rand(3, 3, 12, 12, seed=5)
    assert m(x, y).shape == (3,) and g(x, y).shape == (3,)
    assert torch.allclose(create("metric", {"type": "core.psnr", "quantize": False})(x, y),
                          psnr(x, y, quantize=False))
