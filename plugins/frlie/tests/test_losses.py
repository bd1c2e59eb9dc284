from __future__ import annotations

import colorsys

import pytest
import torch

from lle_core import create
from lle_frlie.losses import FeatureMatchingLoss, HueLoss


def solid(hue_degrees: float, s: float = 0.8, v: float = 0.7, size: int = 4) -> torch.Tensor:
    r, g, b = colorsys.hsv_to_rgb(hue_degrees / 360.0, s, v)
    return torch.tensor([r, g, b]).view(1, 3, 1, 1).expand(2, 3, size, size).clone()


def test_hue_is_circular() -> None:
    loss = HueLoss()  # normaliser 360 (code)
    near = loss(solid(359.0), solid(1.0)).item()
    assert near == pytest.approx(2.0 / 360.0, abs=2e-3)
    opposite = loss(solid(0.0), solid(180.0)).item()
    assert opposite == pytest.approx(180.0 / 360.0, abs=2e-3)
    assert near < loss(solid(10.0), solid(20.0)).item() < opposite


def test_hue_normaliser_180_doubles_the_value() -> None:
    a, b = solid(30.0), solid(100.0)
    v360 = HueLoss(normalizer=360)(a, b).item()
    v180 = HueLoss(normalizer=180)(a, b).item()
    assert v360 == pytest.approx(70.0 / 360.0, abs=2e-3)
    assert v180 == pytest.approx(2 * v360, rel=1e-5)
    import lle_core

    with pytest.raises(lle_core.ConfigError, match="normalizer"):  # Params validates (one source)
        lle_core.create("loss", {"type": "frlie.hue", "normalizer": 90})


@pytest.mark.parametrize("level", [0.0, 0.5, 1.0])
def test_hue_finite_on_grey_pixels(level: float) -> None:
    grey = torch.full((2, 3, 8, 8), level, requires_grad=True)
    target = torch.full((2, 3, 8, 8), 0.3)
    value = HueLoss()(grey, target)
    value.backward()
    assert torch.isfinite(value)
    assert grey.grad is not None and torch.isfinite(grey.grad).all()
    # a coloured prediction against a grey target is finite too
    coloured = solid(200.0, size=8).requires_grad_(True)
    v2 = HueLoss()(coloured, target)
    v2.backward()
    assert torch.isfinite(v2) and torch.isfinite(coloured.grad).all()


def test_hue_registered_with_params() -> None:
    loss = create("loss", {"type": "frlie.hue", "normalizer": 180, "weight": 0.05})
    assert isinstance(loss, HueLoss)
    assert loss.normalizer == 180 and loss.weight == 0.05


def test_feature_matching_reads_feature_keys() -> None:
    fm = FeatureMatchingLoss()
    a, b = torch.zeros(1, 8, 4, 4), torch.full((1, 8, 4, 4), 0.5)
    assert fm.from_context({"feat_restored": a, "feat_target": b}).item() == pytest.approx(0.5)
    custom = FeatureMatchingLoss(keys={"target": "feat_low"})
    assert custom.from_context({"feat_restored": a, "feat_low": a}).item() == 0.0
    with pytest.raises(KeyError, match="feat_target"):
        fm.from_context({"feat_restored": a})


def test_feature_matching_shape_mismatch_is_clear() -> None:
    from lle_core.errors import ShapeError

    with pytest.raises(ShapeError, match="feat_restored"):
        FeatureMatchingLoss()(torch.zeros(1, 8, 4, 4), torch.zeros(1, 8, 2, 2))
