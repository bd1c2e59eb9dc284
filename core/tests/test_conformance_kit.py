"""The conformance kit itself: one deliberately broken component per rule must fail it.

Every rule of :data:`lle_core.testing.checks.RULES` has an entry in ``BROKEN`` (checked by
``test_every_rule_has_a_broken_example``); each broken component violates that one rule and
the test asserts the failure names it (``[rule]``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import torch
from torch import Tensor, nn

from lle_core.hookspecs import hookimpl
from lle_core.interfaces import Backbone, Enhancer, FusionOp, LLEDataset, LossTerm, Trainer
from lle_core.losses.composite import CompositeLoss, CompositeParams
from lle_core.plugins import temporary_plugin
from lle_core.registry import Capabilities, Params
from lle_core.testing import (
    RULES,
    check_component,
    check_params,
    check_trainable,
    conformance_cases,
)


# ------------------------------------------------------------------------------- fusions
class GoodFusion(FusionOp):
    def __init__(self, channels: int) -> None:
        super().__init__(channels)
        self.scale = nn.Parameter(torch.ones(1))

    def fuse(self, a: Tensor, b: Tensor) -> Tensor:
        return self.scale * a * torch.sigmoid(b) + b


class ShapeBreakingFusion(GoodFusion):
    def fuse(self, a: Tensor, b: Tensor) -> Tensor:
        return torch.cat([a, b], dim=1) * self.scale


class NaNFusion(GoodFusion):
    def fuse(self, a: Tensor, b: Tensor) -> Tensor:
        return self.scale * a + b * float("nan")


class DetachingFusion(GoodFusion):
    def fuse(self, a: Tensor, b: Tensor) -> Tensor:
        return self.scale * a + b.detach()


class UnusedParameterFusion(GoodFusion):
    def fuse(self, a: Tensor, b: Tensor) -> Tensor:
        return a + b  # self.scale never used


class InfGradientFusion(GoodFusion):
    def __init__(self, channels: int) -> None:
        super().__init__(channels)
        self.zero = nn.Parameter(torch.zeros(1))

    def fuse(self, a: Tensor, b: Tensor) -> Tensor:
        return self.scale * a + b + 0 * self.zero.sqrt()  # d/dz sqrt(z) at 0 is inf: NaN grad


class WidthOnlyCheckFusion(nn.Module):
    """Checks only the width: inputs of other heights or channel counts slip through."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        from lle_core.errors import ShapeError

        if a.shape[-1] != b.shape[-1]:
            raise ShapeError("widths differ")
        return self.scale * a + b.mean()


# -------------------------------------------------------------------------------- losses
class GoodLoss(LossTerm):
    def compute(self, pred: Tensor, target: Tensor) -> Tensor:
        return (pred - target).abs().mean()


class PerImageLoss(LossTerm):
    def compute(self, pred: Tensor, target: Tensor) -> Tensor:
        return (pred - target).abs().mean(dim=(1, 2, 3))


class InfiniteLoss(LossTerm):
    def compute(self, pred: Tensor, target: Tensor) -> Tensor:
        return (pred - target).abs().mean() * float("inf")


class NegativeLoss(LossTerm):
    def compute(self, pred: Tensor, target: Tensor) -> Tensor:
        return (pred - target).mean() - 1.0


class DetachedTargetLoss(LossTerm):
    def compute(self, pred: Tensor, target: Tensor) -> Tensor:
        return (pred - target.detach()).abs().mean()


class NonZeroLoss(LossTerm):
    def compute(self, pred: Tensor, target: Tensor) -> Tensor:
        return (pred - target).abs().mean() + 0.1


class LargestWhenIdenticalLoss(LossTerm):
    zero_for_identical = False

    def compute(self, pred: Tensor, target: Tensor) -> Tensor:
        return 1.0 - (pred - target).abs().mean()


class UndeclaredRegulariser(LossTerm):
    inputs: ClassVar[tuple[str, ...]] = ("pred",)

    def compute(self, pred: Tensor) -> Tensor:
        return pred.diff(dim=-1).abs().mean()


class NotZeroOnConstant(LossTerm):
    inputs: ClassVar[tuple[str, ...]] = ("pred",)
    invariants = ("zero_on_constant",)

    def compute(self, pred: Tensor) -> Tensor:
        return pred.diff(dim=-1).abs().mean() + 0.1 * pred.mean()


class OffsetDependent(LossTerm):
    inputs: ClassVar[tuple[str, ...]] = ("pred",)
    invariants = ("offset",)

    def compute(self, pred: Tensor) -> Tensor:
        return pred.diff(dim=-1).abs().mean() + 0.1 * pred.mean()


class GoodRegulariser(LossTerm):
    inputs: ClassVar[tuple[str, ...]] = ("pred",)
    invariants = ("zero_on_constant", "offset")
    min_input_size: ClassVar[int] = 2  # a horizontal difference needs two columns

    def compute(self, pred: Tensor) -> Tensor:
        return pred.diff(dim=-1).abs().mean()


class NaNOnBlackLoss(LossTerm):
    def compute(self, pred: Tensor, target: Tensor) -> Tensor:
        return ((pred - target) ** 2).mean() + (pred.sum() / pred.sum() - 1).abs()


class CrashesBelow16Loss(LossTerm):
    """Declares min_input_size = 1 (the default) but needs 16 px."""

    def compute(self, pred: Tensor, target: Tensor) -> Tensor:
        if min(pred.shape[-2:]) < 16:
            raise RuntimeError("input smaller than the 16 px window")
        return (pred - target).abs().mean()


class BatchOrderLoss(LossTerm):
    def compute(self, pred: Tensor, target: Tensor) -> Tensor:
        weights = torch.arange(1, pred.shape[0] + 1, dtype=pred.dtype).view(-1, 1, 1, 1)
        return ((pred - target).abs() * weights).mean()


class DoublingComposite(CompositeLoss):
    def evaluate(self, context: Any) -> tuple[Tensor, dict[str, Tensor]]:
        total, logs = super().evaluate(context)
        return 2 * total, logs


# -------------------------------------------------------------------------------- models
class GoodModel(Enhancer):
    default_capabilities: ClassVar[Capabilities] = Capabilities(
        multiple_of=4, receptive_field=1, dtypes=("float32", "bfloat16")
    )

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, low: Tensor) -> Tensor:
        assert low.shape[-1] % 4 == 0 and low.shape[-2] % 4 == 0
        return torch.sigmoid(self.conv(low) + 2 * low)


class WrongScaleModel(GoodModel):
    def forward(self, low: Tensor) -> Tensor:
        return torch.sigmoid(self.conv(low))[..., ::2, :]


class NaNOnLargeModel(GoodModel):
    def forward(self, low: Tensor) -> Tensor:
        out = torch.sigmoid(self.conv(low))
        return out * float("nan") if low.shape[-1] * low.shape[-2] > 64 else out


class OutOfRangeModel(GoodModel):
    def forward(self, low: Tensor) -> Tensor:
        return self.conv(low) * 10


class NaNOnBlackModel(GoodModel):
    def forward(self, low: Tensor) -> Tensor:
        return torch.sigmoid(self.conv(low) + low / low.amax(dim=(1, 2, 3), keepdim=True))


class NondeterministicModel(GoodModel):
    def forward(self, low: Tensor) -> Tensor:
        return torch.rand_like(low)


class BatchDependentModel(GoodModel):
    def forward(self, low: Tensor) -> Tensor:
        return torch.sigmoid(self.conv(low) - low.mean(dim=0, keepdim=True) * 5)


class WideFieldModel(GoodModel):
    """Declares a 1 px field (one 3x3 conv) but adds a dilated 3x3 conv: its field is 2 px."""

    def __init__(self) -> None:
        super().__init__()
        self.far = nn.Conv2d(3, 3, 3, padding=2, dilation=2)

    def forward(self, low: Tensor) -> Tensor:
        return torch.sigmoid(self.conv(low) + 2 * low + self.far(low))


class SizeDependentModel(GoodModel):
    """Adds a ramp across the image's width: a tile sees another ramp than the whole image."""

    def forward(self, low: Tensor) -> Tensor:
        ramp = torch.linspace(-1.0, 1.0, low.shape[-1], dtype=low.dtype, device=low.device)
        return torch.sigmoid(self.conv(low) + 2 * low + 2 * ramp)


class Bfloat16CancellationModel(GoodModel):
    """Adds and removes a large offset: exact in float32, loses the conv's low bits in bfloat16
    (the spacing of bfloat16 numbers near 64 is 0.5)."""

    def forward(self, low: Tensor) -> Tensor:
        y = self.conv(low)
        return torch.sigmoid(4 * ((y + 64) - 64) + 2 * low)


class NoPredModel(GoodModel):
    def forward_train(self, low: Tensor) -> dict[str, Tensor]:
        return {"enhanced": self(low)}


class FlatOutputModel(GoodModel):
    """Output ~0.5 everywhere at init: the signal dies before the output."""

    def forward(self, low: Tensor) -> Tensor:
        return torch.sigmoid(1e-6 * self.conv(low))


class NaNTrainModel(GoodModel):
    def forward_train(self, low: Tensor) -> dict[str, Tensor]:
        return {"pred": self(low) * float("nan")}


class UnusedParameterModel(GoodModel):
    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Conv2d(3, 3, 1)


class ExemptUnusedParameterModel(UnusedParameterModel):
    gradient_exempt = ("unused.",)


class InfGradientModel(GoodModel):
    def __init__(self) -> None:
        super().__init__()
        self.zero = nn.Parameter(torch.zeros(1))

    def forward(self, low: Tensor) -> Tensor:
        return torch.sigmoid(self.conv(low) + 2 * low + 0 * self.zero.sqrt())


class DeadProductModel(GoodModel):
    """Identity plus a product path whose gradients vanish (the shape of HF2's dead fusion)."""

    def __init__(self) -> None:
        super().__init__()
        self.other = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, low: Tensor) -> Tensor:
        return (low + 1e-20 * self.conv(low) * self.other(low)).clamp(0, 1)


def not_a_module() -> Any:
    return lambda x: x


# ------------------------------------------------------------------------------ datasets
class ToyDataset(LLEDataset):
    def __init__(self, defect: str | None = None) -> None:
        self.defect = defect
        if defect == "required_keys":
            self.keys = ("high", "name")  # leaves out "low"

    def __len__(self) -> int:
        return 0 if self.defect == "empty" else 2

    def __getitem__(self, index: int) -> dict[str, Any]:
        low = torch.rand(3, 8, 10) * 0.2
        item: dict[str, Any] = {"low": low, "high": low * 4, "name": f"x{index}"}
        d = self.defect
        if d == "required_keys":
            del item["low"]
        elif d == "declared_keys":
            del item["high"]
        elif d == "name":
            item["name"] = index
        elif d == "image_shape":
            item["low"] = low[:1]
        elif d == "dtype":
            item["low"] = low.double()
        elif d == "range":
            item["high"] = low * 10
        elif d == "pair_shape":
            item["high"] = torch.rand(3, 8, 12)
        return item


# ------------------------------------------------------------------------------ trainers
class ToyTrainer(Trainer):
    def __init__(self, *, model: nn.Module, loss: nn.Module | None = None,
                 defect: str | None = None) -> None:
        super().__init__(model=model, loss=loss)
        self.defect = defect
        self.extra = nn.Module()
        self.extra.zero = nn.Parameter(torch.zeros(1))

    def modules(self) -> dict[str, nn.Module]:
        return {"model": self.model, "extra": self.extra}

    def parameters(self) -> Iterator[nn.Parameter]:
        if self.defect == "no_parameters":
            return iter(())
        if self.defect in ("gradient_missing", "gradient_not_finite"):
            return iter([*self.model.parameters(), self.extra.zero])
        return iter(self.model.parameters())

    def training_step(self, batch: dict[str, Any]) -> Any:
        result = super().training_step(batch)
        if self.defect == "loss_scalar":
            result.loss = result.loss * float("nan")
        if self.defect == "gradient_not_finite":
            result.loss = result.loss + 0 * self.extra.zero.sqrt().sum()
        return result

    def inference_model(self) -> Any:
        return None if self.defect == "inference_model" else self.model


# ----------------------------------------------------------------------------- backbones
class ToyBackbone(Backbone):
    def __init__(self, defect: str | None = None) -> None:
        super().__init__()
        self.defect = defect
        self.channels = () if defect == "declaration" else (4, 8)
        self.reductions = () if defect == "declaration" else (1, 2)
        self.a = nn.Conv2d(3, 4, 3, padding=1)
        self.b = nn.Conv2d(4, 8, 3, stride=2, padding=1)

    def forward(self, x: Tensor) -> list[Tensor]:
        f1 = self.a(x)
        if self.defect == "levels":
            return [f1]
        f2 = self.b(f1)
        return [f1, f2[..., ::2, :] if self.defect == "level_shape" else f2]


# ------------------------------------------------------------------------------- metrics
class ToyMetric:
    def __init__(self, defect: str | None = None) -> None:
        self.defect = defect

    def __call__(self, pred: Tensor, target: Tensor) -> Tensor:
        values = (pred - target).abs().mean(dim=(1, 2, 3))
        if self.defect == "shape":
            return values.mean()
        if self.defect == "finite":
            return values * float("nan")
        return values


# -------------------------------------------------------------------------------- blocks
class ChannelParams(Params):
    channels: int = 8


class GoodBlock(nn.Module):
    def __init__(self, channels: int = 8) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.zero = nn.Parameter(torch.zeros(1))

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x) + x + self.zero


class ShapeBlock(GoodBlock):
    def forward(self, x: Tensor) -> Tensor:
        return nn.functional.max_pool2d(super().forward(x), 2)


class NaNBlock(GoodBlock):
    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x) * float("nan")


class DetachingBlock(GoodBlock):
    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.detach())


class UnusedParameterBlock(GoodBlock):
    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x) + x


class InfGradientBlock(GoodBlock):
    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x) + 0 * self.zero.sqrt()


# ------------------------------------------------------------------------ the registration
#: (kind, rule) -> (factory, params, example); registered as ``kit.<kind>_<rule>``.
BROKEN: dict[tuple[str, str], tuple[Any, Any, Any]] = {
    ("fusion", "shape"): (ShapeBreakingFusion, None, None),
    ("fusion", "finite"): (NaNFusion, None, None),
    ("fusion", "input_gradient"): (DetachingFusion, None, None),
    ("fusion", "gradient_missing"): (UnusedParameterFusion, None, None),
    ("fusion", "gradient_not_finite"): (InfGradientFusion, None, None),
    ("fusion", "mismatch"): (WidthOnlyCheckFusion, None, None),
    ("loss", "loss_term"): (nn.L1Loss, None, None),
    ("loss", "scalar"): (PerImageLoss, None, None),
    ("loss", "finite"): (InfiniteLoss, None, None),
    ("loss", "non_negative"): (NegativeLoss, None, None),
    ("loss", "input_gradient"): (DetachedTargetLoss, None, None),
    ("loss", "zero_for_identical"): (NonZeroLoss, None, None),
    ("loss", "minimal_for_identical"): (LargestWhenIdenticalLoss, None, None),
    ("loss", "invariants_declared"): (UndeclaredRegulariser, None, None),
    ("loss", "zero_on_constant"): (NotZeroOnConstant, None, None),
    ("loss", "offset"): (OffsetDependent, None, None),
    ("loss", "flat_inputs"): (NaNOnBlackLoss, None, None),
    ("loss", "batch_order"): (BatchOrderLoss, None, None),
    ("loss", "min_size"): (CrashesBelow16Loss, None, None),
    ("loss", "composite_sum"): (
        DoublingComposite, CompositeParams, {"terms": [{"type": "core.l1"}]}
    ),
    ("model", "module"): (not_a_module, None, None),
    ("model", "shape"): (WrongScaleModel, None, None),
    ("model", "finite"): (NaNOnLargeModel, None, None),
    ("model", "range"): (OutOfRangeModel, None, None),
    ("model", "black_input"): (NaNOnBlackModel, None, None),
    ("model", "deterministic"): (NondeterministicModel, None, None),
    ("model", "batch_independent"): (BatchDependentModel, None, None),
    ("model", "receptive_field"): (WideFieldModel, None, None),
    ("model", "tiled_untiled"): (SizeDependentModel, None, None),
    ("model", "bfloat16"): (Bfloat16CancellationModel, None, None),
    ("model", "train_outputs"): (NoPredModel, None, None),
    ("model", "output_degenerate"): (FlatOutputModel, None, None),
    ("model", "loss_not_finite"): (NaNTrainModel, None, None),
    ("model", "gradient_missing"): (UnusedParameterModel, None, None),
    ("model", "gradient_not_finite"): (InfGradientModel, None, None),
    ("model", "gradient_floor"): (DeadProductModel, None, None),
    **{
        ("dataset", rule): (functools.partial(ToyDataset, rule), None, {})
        for rule in RULES["dataset"]
    },
    ("trainer", "example_model"): (ToyTrainer, None, {"loss": {"type": "kit.good_loss"}}),
    ("trainer", "trainer"): (lambda **_: object(), None, None),
    **{
        ("trainer", rule): (functools.partial(ToyTrainer, defect=rule), None, None)
        for rule in ("loss_scalar", "no_parameters", "gradient_missing",
                     "gradient_not_finite", "inference_model")
    },
    **{
        ("backbone", rule): (functools.partial(ToyBackbone, rule), None, {})
        for rule in RULES["backbone"]
    },
    **{
        ("metric", rule): (functools.partial(ToyMetric, rule), None, {})
        for rule in RULES["metric"]
    },
    ("block", "module"): (not_a_module, None, None),
    ("block", "shape"): (ShapeBlock, ChannelParams, {"channels": 8}),
    ("block", "finite"): (NaNBlock, ChannelParams, {"channels": 8}),
    ("block", "input_gradient"): (DetachingBlock, ChannelParams, {"channels": 8}),
    ("block", "gradient_missing"): (UnusedParameterBlock, ChannelParams, {"channels": 8}),
    ("block", "gradient_not_finite"): (InfGradientBlock, ChannelParams, {"channels": 8}),
}

TRAINER_EXAMPLE = {"model": {"type": "kit.model_good"}, "loss": {"type": "kit.good_loss"}}

GOOD: dict[str, tuple[Any, Any, Any]] = {
    "fusion": (GoodFusion, None, None),
    "loss": (GoodLoss, None, None),
    "model": (GoodModel, None, None),
    "dataset": (ToyDataset, None, {}),
    "trainer": (ToyTrainer, None, TRAINER_EXAMPLE),
    "backbone": (ToyBackbone, None, {}),
    "metric": (ToyMetric, None, {}),
    "block": (GoodBlock, ChannelParams, {"channels": 8}),
}


class KitPlugin:
    LLE_PLUGIN_API = 1

    @hookimpl
    def lle_register(self, register: Any) -> None:
        def add(kind: str, name: str, spec: tuple[Any, Any, Any]) -> None:
            factory, params, example = spec
            kwargs: dict[str, Any] = {"example": example}
            if params is not None:
                kwargs["params"] = params
            if kind == "model":
                kwargs["capabilities"] = Capabilities(multiple_of=4)
            register(kind, name, factory, **kwargs)

        for (kind, rule), spec in BROKEN.items():
            if kind == "trainer" and rule != "example_model" and spec[2] is None:
                spec = (spec[0], spec[1], TRAINER_EXAMPLE)
            add(kind, f"{kind}_{rule}", spec)
        for kind, spec in GOOD.items():
            add(kind, f"{kind}_good", spec)
        add("loss", "good_loss", (GoodLoss, None, None))
        add("loss", "good_regulariser", (GoodRegulariser, None, None))
        add("model", "exempt", (ExemptUnusedParameterModel, None, None))


@pytest.fixture(scope="module")
def kit_plugin() -> Iterator[None]:
    with temporary_plugin(KitPlugin(), plugin_id="kit") as record:
        assert record.status == "loaded", record.error
        yield


def test_every_rule_has_a_broken_example() -> None:
    covered: dict[str, set[str]] = {}
    for kind, rule in BROKEN:
        covered.setdefault(kind, set()).add(rule)
    assert covered == {kind: set(rules) for kind, rules in RULES.items()}


@pytest.mark.parametrize("kind", list(GOOD))
def test_good_components_pass(kit_plugin: None, kind: str) -> None:
    check_component(kind, f"kit.{kind}_good")


def test_good_regulariser_and_declared_exemption_pass(kit_plugin: None) -> None:
    check_component("loss", "kit.good_regulariser")
    check_component("model", "kit.exempt")  # its unused conv is listed in gradient_exempt


@pytest.mark.parametrize(("kind", "rule"), list(BROKEN), ids=[f"{k}-{r}" for k, r in BROKEN])
def test_broken_component_is_caught_by_its_rule(kit_plugin: None, kind: str, rule: str) -> None:
    with pytest.raises(AssertionError, match=rf"\[{rule}\]"):
        check_component(kind, f"kit.{kind}_{rule}")


def test_cases_are_listed_per_plugin(kit_plugin: None) -> None:
    cases = conformance_cases(plugin="kit")
    assert ("fusion", "kit.fusion_good") in cases and ("model", "kit.model_shape") in cases
    assert all(name.startswith("kit.") for _, name in cases)


# --------------------------------------------------------------------------- trainability
def test_trainability_reports_healthy_gradients(kit_plugin: None) -> None:
    report = check_trainable("kit.model_good")  # the loss of the trainer declared for it
    assert report.loss == "trainer:kit.trainer_good" and report.output_std_ratio > 0.1
    assert check_trainable(GoodModel()).loss == "default"  # L1 to clamp(3 * input)
    assert {n for n, _ in report.gradients} == {"model.conv.weight", "model.conv.bias"}
    assert all(g > 1e-6 for _, g in report.gradients)


def test_trainability_catches_a_dead_product_path() -> None:
    with pytest.raises(AssertionError, match=r"\[gradient_floor\].*conv\.weight"):
        check_trainable(DeadProductModel())


def test_trainability_catches_neid_with_the_paper_init() -> None:
    """NEID with N(0, 0.02) on every conv: the output at init is ~1e-6 of the input's std."""
    with pytest.raises(AssertionError, match=r"\[output_degenerate\]") as err:
        check_trainable("neid.model", params={"init_std": 0.02})
    assert "trainer:neid.two_stream" in str(err.value) or "[gradient_floor]" not in str(err.value)


def test_trainability_catches_hf2_without_an_additive_fusion_path() -> None:
    """HF2's Eq. 1 alone (gated product, no residual) with a random VGG16."""
    with pytest.raises(AssertionError, match=r"\[(output_degenerate|gradient_floor)\]"):
        check_trainable("hf2.model", params={"fusion": {"type": "hf2.hf2", "residual": False}})


# ------------------------------------------------------------- Params is the one source
class GateParams(Params):
    gate: str = "sigmoid"
    reduction: int = 16


class DefaultDriftFusion(GoodFusion):
    """``reduction`` defaults to 8 in __init__ but 16 in Params: a config and a Python call
    would build different components."""

    def __init__(self, channels: int, *, gate: str = "sigmoid", reduction: int = 8) -> None:
        super().__init__(channels)


class ExtraKeywordFusion(GoodFusion):
    """``scale`` is a keyword of __init__ that Params does not declare (no spec can set it)."""

    def __init__(self, channels: int, *, gate: str = "sigmoid", reduction: int = 16,
                 scale: float = 1.0) -> None:
        super().__init__(channels)


class MissingKeywordFusion(GoodFusion):
    """``reduction`` is declared in Params but __init__ does not take it (build would fail)."""

    def __init__(self, channels: int, *, gate: str = "sigmoid") -> None:
        super().__init__(channels)


class AgreeingFusion(GoodFusion):
    def __init__(self, channels: int, *, gate: str = "sigmoid", reduction: int = 16) -> None:
        super().__init__(channels)


class ParamsPlugin:
    LLE_PLUGIN_API = 1

    @hookimpl
    def lle_register(self, register: Any) -> None:
        for name, cls in (("drift", DefaultDriftFusion), ("extra", ExtraKeywordFusion),
                          ("missing", MissingKeywordFusion), ("agree", AgreeingFusion)):
            register("fusion", name, cls, params=GateParams)


@pytest.mark.parametrize(("name", "named"), [
    ("drift", r"'reduction' defaults to 16 in Params but to 8 in __init__"),
    ("extra", r"__init__ takes 'scale', which Params does not declare"),
    ("missing", r"Params field 'reduction' is not a keyword of __init__"),
])
def test_params_rule_fails_when_init_and_params_disagree(name: str, named: str) -> None:
    with temporary_plugin(ParamsPlugin(), plugin_id="prm") as record:
        assert record.status == "loaded", record.error
        with pytest.raises(AssertionError, match=rf"\[params_match_init\].*{named}"):
            check_params("fusion", f"prm.{name}")
        check_params("fusion", "prm.agree")  # same keywords and defaults; channels is runtime
