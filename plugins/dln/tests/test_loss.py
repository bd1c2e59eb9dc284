"""DLN Loss_dif = 1 − SSIM + 0.001·TV (DLN slides): recipe composite equivalence, no NaN."""

import pytest
import torch

from lle_core import create
from lle_core.losses import ssim, total_variation
from lle_dln.losses import DifferenceLoss

MODES = ["l2_dln", "l1", "isotropic", "abs_product", "relu_product"]


def test_matches_formula_and_recipe_composite():
    g = torch.Generator().manual_seed(0)
    pred, target = torch.rand(2, 3, 20, 20, generator=g), torch.rand(2, 3, 20, 20, generator=g)
    term = create("loss", "dln.loss_dif")
    value = term(pred, target)
    expected = 1 - ssim(pred, target, padding="valid").mean() + 0.001 * total_variation(
        pred, mode="l2_dln")
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)
    composite = create("loss", {"type": "core.composite", "terms": [
        {"type": "core.ssim", "padding": "valid"},
        {"type": "core.tv", "weight": 0.001, "mode": "l2_dln"}]})
    total, logs = composite({"pred": pred, "high": target, "low": target * 0.1})
    assert total.item() == pytest.approx(value.item(), rel=1e-5)
    assert set(logs) >= {"l_ssim", "l_tv"}


@pytest.mark.parametrize("mode", MODES)
def test_no_nan_on_noise(mode):
    g = torch.Generator().manual_seed(1)
    pred = torch.rand(2, 3, 32, 32, generator=g).requires_grad_(True)
    target = torch.rand(2, 3, 32, 32, generator=g)
    value = DifferenceLoss(tv_mode=mode)(pred, target)
    value.backward()
    assert torch.isfinite(value)
    assert torch.isfinite(pred.grad).all()


def test_tv_weight_zero_is_plain_ssim_loss():
    x, y = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    assert DifferenceLoss(tv_weight=0)(x, y).item() == pytest.approx(
        1 - ssim(x, y).item(), rel=1e-6)
