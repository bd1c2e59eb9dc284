"""The conformance kit itself: deliberately broken components must fail it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import torch
from torch import Tensor, nn

from lle_core.hookspecs import hookimpl
from lle_core.interfaces import Enhancer, FusionOp, LossTerm
from lle_core.plugins import temporary_plugin
from lle_core.registry import Capabilities
from lle_core.testing import check_fusion, check_loss, check_model, conformance_cases


# ------------------------------------------------------------------ deliberately broken parts
class GoodFusion(FusionOp):
    def fuse(self, a: Tensor, b: Tensor) -> Tensor:
        return a * torch.sigmoid(b) + b


class ShapeBreakingFusion(FusionOp):
    def fuse(self, a: Tensor, b: Tensor) -> Tensor:
        return torch.cat([a, b], dim=1)


class DetachingFusion(FusionOp):
    def fuse(self, a: Tensor, b: Tensor) -> Tensor:
        return a + b.detach()


class NoShapeCheckFusion(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        return a + b.mean()


class GoodLoss(LossTerm):
    def compute(self, pred: Tensor, target: Tensor) -> Tensor:
        return (pred - target).abs().mean()


class NegativeLoss(LossTerm):
    def compute(self, pred: Tensor, target: Tensor) -> Tensor:
        return (pred - target).mean() - 1.0


class NaNOnBlackLoss(LossTerm):
    def compute(self, pred: Tensor, target: Tensor) -> Tensor:
        return ((pred - target) ** 2).mean() + (pred.sum() / pred.sum() - 1).abs()


class BatchOrderLoss(LossTerm):
    def compute(self, pred: Tensor, target: Tensor) -> Tensor:
        weights = torch.arange(1, pred.shape[0] + 1, dtype=pred.dtype).view(-1, 1, 1, 1)
        return ((pred - target).abs() * weights).mean()


class NonZeroLoss(LossTerm):
    def compute(self, pred: Tensor, target: Tensor) -> Tensor:
        return (pred - target).abs().mean() + 0.1


class GoodModel(Enhancer):
    default_capabilities: ClassVar[Capabilities] = Capabilities(multiple_of=4)

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, low: Tensor) -> Tensor:
        assert low.shape[-1] % 4 == 0 and low.shape[-2] % 4 == 0
        return torch.sigmoid(self.conv(low) + 2 * low)


class OutOfRangeModel(GoodModel):
    def forward(self, low: Tensor) -> Tensor:
        return self.conv(low) * 10


class BatchDependentModel(GoodModel):
    def forward(self, low: Tensor) -> Tensor:
        return torch.sigmoid(self.conv(low) - low.mean(dim=0, keepdim=True) * 5)


class NondeterministicModel(GoodModel):
    def forward(self, low: Tensor) -> Tensor:
        return torch.rand_like(low)


class WrongScaleModel(GoodModel):
    def forward(self, low: Tensor) -> Tensor:
        return torch.sigmoid(self.conv(low))[..., ::2, :]


class KitPlugin:
    LLE_PLUGIN_API = 1

    @hookimpl
    def lle_register(self, register: Any) -> None:
        for name, cls in (
            ("good", GoodFusion),
            ("shape", ShapeBreakingFusion),
            ("detach", DetachingFusion),
            ("nocheck", NoShapeCheckFusion),
        ):
            register("fusion", name, cls)
        for name, cls in (
            ("good", GoodLoss),
            ("negative", NegativeLoss),
            ("nan", NaNOnBlackLoss),
            ("order", BatchOrderLoss),
            ("nonzero", NonZeroLoss),
        ):
            register("loss", name, cls)
        for name, cls in (
            ("good", GoodModel),
            ("range", OutOfRangeModel),
            ("batch", BatchDependentModel),
            ("random", NondeterministicModel),
            ("scale", WrongScaleModel),
        ):
            register("model", name, cls)


@pytest.fixture(scope="module")
def kit_plugin() -> Iterator[None]:
    with temporary_plugin(KitPlugin(), plugin_id="kit") as record:
        assert record.status == "loaded", record.error
        yield


def test_good_components_pass(kit_plugin: None) -> None:
    check_fusion("kit.good")
    check_loss("kit.good")
    check_model("kit.good")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("kit.shape", "returned"),
        ("kit.detach", "gradient reaches input b"),
        ("kit.nocheck", "ShapeError"),
    ],
)
def test_broken_fusions_fail(kit_plugin: None, name: str, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_fusion(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("kit.negative", "negative"),
        ("kit.nan", "not finite"),
        ("kit.order", "order of the batch"),
        ("kit.nonzero", "expected 0"),
    ],
)
def test_broken_losses_fail(kit_plugin: None, name: str, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_loss(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("kit.range", "outside"),
        ("kit.batch", "depends on the rest of the batch"),
        ("kit.random", "not deterministic"),
        ("kit.scale", "expected"),
    ],
)
def test_broken_models_fail(kit_plugin: None, name: str, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_model(name)


def test_cases_are_listed_per_plugin(kit_plugin: None) -> None:
    cases = conformance_cases(plugin="kit")
    assert ("fusion", "kit.good") in cases and ("model", "kit.scale") in cases
    assert all(name.startswith("kit.") for _, name in cases)
