"""Circle learning (DLN slides, "Constraint of the circle learning"; the form is our choice).

Two networks of the same architecture are trained jointly with one optimizer: a lightening model
``L`` (the enhancer being trained) and a darkening model ``D``. The slides' loss is

    ``Loss = Loss_dif(Ŷ, Y) + Loss_dif(X̂, X)``,  ``Ŷ = L(X)``,

with two readings of ``X̂`` (the code is not public):

* ``cycle`` (default): ``X̂ = D(Ŷ) = D(L(X))`` without detaching, so the darkening loss also
  trains ``L`` ("the estimated NL image should contain enough information to darken back");
* ``decoupled``: ``X̂ = D(Y)``: two independent mappings sharing only the optimizer.

``D`` is built from the same spec as ``L`` (fresh weights) unless ``darken_model`` names
another one. Checkpoints hold both (:meth:`CircleLearningTrainer.modules`); only ``L`` is exported
and used for inference.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field
from torch import Tensor, nn

from lle_core.errors import ConfigError
from lle_core.interfaces import Enhancer, LossTerm, StepResult, Trainer
from lle_core.registry import Params
from lle_core.spec import ComponentSpec, SpecOf, build_component
from lle_dln import PAPER
from lle_dln.finetune import load_init_weights

Reading = Literal["cycle", "decoupled"]


class CircleParams(Params):
    """Parameters of ``dln.circle``.

    Attributes:
        reading: ``cycle`` (``X̂ = D(L(X))``, default) or ``decoupled`` (``X̂ = D(Y)``).
        darken_model: Spec of the darkening model; ``None`` = the lightening model's spec.
        darken_weight: Weight of ``Loss_dif(X̂, X)`` (1 in the slides).
        init: Optional checkpoint whose weights initialise the lightening model (e.g. the
            synthetic pretraining run); the darkening model always starts fresh.
    """

    reading: Reading = "cycle"
    darken_model: SpecOf("model") | None = None  # type: ignore[valid-type]
    darken_weight: float = Field(1.0, ge=0.0)
    init: str | None = None


def _forward_train(model: nn.Module, x: Tensor) -> dict[str, Tensor]:
    return model.forward_train(x) if isinstance(model, Enhancer) else {"pred": model(x)}


def _fresh_copy(model: nn.Module) -> nn.Module:
    """A model of the same architecture with fresh weights."""
    spec = getattr(model, "lle_spec", None)
    if isinstance(spec, ComponentSpec):
        return spec.build()
    clone = copy.deepcopy(model)
    reset = getattr(clone, "reset_parameters", None)
    if not callable(reset):
        raise ConfigError([("trainer.darken_model",
                            f"cannot build a fresh copy of {type(model).__name__} (no spec, no "
                            "reset_parameters()); give darken_model explicitly")])
    reset()
    return clone


class CircleLearningTrainer(Trainer):
    """Joint training of a lightening and a darkening model (slides' circle learning).

    Per step: ``Ŷ = L(X)``; ``X̂ = D(Ŷ)`` (cycle) or ``D(Y)`` (decoupled);
    ``loss = loss({pred: Ŷ, high: Y, low: X}) + w·loss({pred: X̂, high: X, low: D's input})``,
    so any composite loss (e.g. ``1 − SSIM + 0.001·TV``) is applied in both directions.
    Logs carry the lightening terms under their names and the darkening ones as
    ``l_dark_<name>``.
    """

    Params = CircleParams
    summary = "Circle learning: lightening + darkening DLN trained jointly"
    paper = f"{PAPER}, circle learning slide"

    needs_ground_truth: ClassVar[bool] = True

    def __init__(self, *, model: nn.Module, loss: nn.Module | None = None,
                 reading: Reading = "cycle",
                 darken_model: ComponentSpec | Mapping[str, Any] | str | nn.Module | None = None,
                 darken_weight: float = 1.0, init: str | None = None) -> None:
        """Build the trainer and the darkening model.

        Args:
            model: The lightening model ``L``.
            loss: ``Loss_dif`` (any loss reading ``pred``/``high``).
            reading: See :class:`CircleParams`.
            darken_model: See :class:`CircleParams`.
            darken_weight: See :class:`CircleParams`.
            init: See :class:`CircleParams`.
        """
        super().__init__(model=model, loss=loss)
        if init:
            load_init_weights(model, init)
        if reading not in ("cycle", "decoupled"):
            raise ConfigError([("trainer.reading", f"must be 'cycle' or 'decoupled', got "
                                                   f"{reading!r}")])
        self.reading = reading
        self.darken_weight = float(darken_weight)
        darken = (_fresh_copy(model) if darken_model is None
                  else build_component("model", darken_model))
        first = next(model.parameters(), None)
        if first is not None:
            darken = darken.to(device=first.device, dtype=first.dtype)
        self.darken: nn.Module = darken

    def modules(self) -> dict[str, nn.Module]:
        """``{"model": L, "darken": D}``: both are checkpointed."""
        return {"model": self.model, "darken": self.darken}

    def inference_model(self) -> nn.Module:
        """The lightening model only (``D`` is training-only)."""
        return self.model

    def _apply_loss(self, context: Mapping[str, Any]) -> tuple[Tensor, dict[str, float]]:
        if self.loss is None:
            raise ValueError("dln.circle needs a loss; set `loss:` in the config")
        if isinstance(self.loss, LossTerm) and not hasattr(self.loss, "terms"):
            term = self.loss.from_context(context)  # a bare term (not wrapped by the engine)
            return term, {f"l_{self.loss.term_name}": float(term.detach())}
        value = self.loss(context)
        total, logs = value if isinstance(value, tuple) else (value, {})
        return total, {k: float(v) for k, v in logs.items()}

    def training_step(self, batch: dict[str, Any]) -> StepResult:
        """One joint step (see the class docstring)."""
        low, high = batch["low"], batch["high"]
        light = _forward_train(self.model, low)
        light_total, light_logs = self._apply_loss({**batch, **light})
        dark_input = light["pred"] if self.reading == "cycle" else high
        dark = _forward_train(self.darken, dark_input)
        dark_context = {**dark, "low": dark_input, "high": low}
        dark_total, dark_logs = self._apply_loss(dark_context)
        logs = dict(light_logs)
        logs.update({f"l_dark_{k.removeprefix('l_')}": v for k, v in dark_logs.items()})
        logs["loss_light"] = float(light_total.detach())
        logs["loss_dark"] = float(dark_total.detach())
        total = light_total + self.darken_weight * dark_total
        return StepResult(total, logs, {"pred": light["pred"], "dark_pred": dark["pred"]})
