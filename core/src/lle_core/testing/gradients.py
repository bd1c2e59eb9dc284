"""Gradient rules shared by the kit's checks, and the trainability check of a model at init.

Two rules on parameters, used by the fusion, block, model and trainer checks:

* ``gradient_missing``: every trainable parameter tensor gets a non-zero gradient;
* ``gradient_not_finite``: every gradient is finite.

Parameters a component deliberately leaves out of the checked pass (e.g. a head used by
another training stage) are declared, not silently skipped: set ``gradient_exempt`` on the
module (a tuple of parameter-name prefixes, class or instance attribute).

:func:`check_trainable` adds what a healthy initialisation must give (see its docstring):
a non-degenerate output and every gradient above a scale-aware floor.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lle_core.interfaces import Enhancer, Trainer
from lle_core.registry import Entry, registries
from lle_core.spec import parse_spec
from lle_core.testing.examples import build_example, trainer_loss
from lle_core.testing.strategies import make_image

#: Smallest per-channel output std at init, relative to the input's (a dead network's output
#: is ~1e-4 of it or less; healthy ones are ~0.1 to 10).
OUTPUT_STD_FLOOR = 1e-2
#: Smallest gradient RMS of a parameter tensor relative to ``max(param RMS, PARAM_RMS_MIN)``
#: after one backward pass. Healthy registered models stay above ~1e-11 (a 1e-3 output head
#: scales every upstream gradient down); NEID with N(0, 0.02) convs is ~1e-19, HF2 without an
#: additive fusion path 0 to 1e-37.
GRADIENT_FLOOR = 1e-14
#: Denominator floor of the relative gradient (zero-initialised biases have RMS 0).
PARAM_RMS_MIN = 1e-2
#: Side (before rounding up to the model's ``multiple_of`` / ``min_size``) of the probe input.
PROBE_SIDE = 48

LossFn = Callable[[Mapping[str, Tensor]], Tensor]


def exempt_prefixes(module: nn.Module) -> tuple[str, ...]:
    """The ``gradient_exempt`` parameter-name prefixes a module declares (empty if none)."""
    return tuple(getattr(module, "gradient_exempt", ()) or ())


def named_trainable(
    modules: Mapping[str, nn.Module], only: Iterable[nn.Parameter] | None = None
) -> list[tuple[str, nn.Parameter]]:
    """``(name, parameter)`` of every trainable, non-exempt parameter of ``modules``.

    Names are ``<module>.<parameter>`` except for a module keyed ``""``. ``only`` restricts the
    list to the given parameters (e.g. what a trainer optimises).
    """
    allowed = None if only is None else {id(p) for p in only}
    seen: set[int] = set()
    out = []
    for label, module in modules.items():
        exempt = exempt_prefixes(module)
        for name, p in module.named_parameters():
            if not p.requires_grad or id(p) in seen:
                continue
            if allowed is not None and id(p) not in allowed:
                continue
            seen.add(id(p))
            if exempt and name.startswith(exempt):
                continue
            out.append((f"{label}.{name}" if label else name, p))
    return out


def _worst(names: list[str], limit: int = 5) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def gradient_problems(params: list[tuple[str, nn.Parameter]]) -> dict[str, str]:
    """Rule -> message for missing (``None`` or all-zero) or non-finite parameter gradients."""
    broken = [n for n, p in params if p.grad is not None and not torch.isfinite(p.grad).all()]
    missing = [
        n for n, p in params if n not in broken and (p.grad is None or not p.grad.any())
    ]
    problems = {}
    if missing:
        problems["gradient_missing"] = (
            f"{len(missing)} of {len(params)} trainable parameter tensors get no gradient: "
            f"{_worst(missing)} (declare deliberate ones in `gradient_exempt`)"
        )
    if broken:
        problems["gradient_not_finite"] = f"non-finite gradients in {_worst(broken)}"
    return problems


def relative_gradient(p: nn.Parameter) -> float:
    """Gradient RMS over ``max(parameter RMS, PARAM_RMS_MIN)`` (0 without a gradient)."""
    if p.grad is None:
        return 0.0
    grad = p.grad.detach().double().pow(2).mean().sqrt().item()
    scale = p.detach().double().pow(2).mean().sqrt().item()
    return grad / max(scale, PARAM_RMS_MIN)


# ------------------------------------------------------------------------- trainability


def textured_input(height: int, width: int, *, batch: int = 2, seed: int = 0) -> Tensor:
    """A low-light probe image in ``[0, 0.3]``: smooth random field plus edges."""
    return make_image("textured", height, width, batch=batch, seed=seed)


@dataclass
class Trainability:
    """What :func:`check_trainable` measured.

    Attributes:
        output_std_ratio: Smallest per-channel ``std(output) / std(input)``.
        gradients: Relative gradient (see :func:`relative_gradient`) per checked parameter,
            smallest first.
        loss: ``"default"`` (L1 to ``clamp(3·input)``), ``"given"`` or ``"trainer:<name>"``.
    """

    output_std_ratio: float
    gradients: list[tuple[str, float]]
    loss: str


def _build(model: str | Entry | nn.Module, params: Mapping[str, Any] | None) -> tuple[str, Any]:
    if isinstance(model, nn.Module):
        if params:
            raise ValueError("params only apply to a registered model name")
        return type(model).__name__, model
    entry = model if isinstance(model, Entry) else registries()["model"].get(model)
    spec = {"type": entry.name, **(entry.example or {}), **dict(params or {})}
    torch.manual_seed(0)  # the same initialisation on every run
    return entry.name, parse_spec("model", spec).build()


def declared_trainer(model_name: str) -> Entry | None:
    """The registered trainer whose example trains ``model_name`` (first by name), if any."""
    for entry in registries()["trainer"].entries():
        example = dict(entry.example or {})
        spec = example.get("model")
        typ = spec.get("type") if isinstance(spec, Mapping) else spec
        if typ == model_name and example.get("loss") is not None:
            return entry
    return None


def _build_trainer(entry: Entry, model: nn.Module) -> Trainer:
    built = build_example(entry, model=model, loss=trainer_loss(entry))
    if not isinstance(built, Trainer):
        raise AssertionError(f"trainer {entry.name!r} built a {type(built).__name__}")
    return built


def check_trainable(
    model: str | Entry | nn.Module,
    *,
    params: Mapping[str, Any] | None = None,
    loss: LossFn | None = None,
    trainer: str | None = None,
    side: int = PROBE_SIDE,
    output_floor: float = OUTPUT_STD_FLOOR,
    gradient_floor: float = GRADIENT_FLOOR,
) -> Trainability:
    """Check that a model can learn from its initialisation.

    At init, in train mode, on :func:`textured_input` (``side`` rounded up to the declared
    ``multiple_of`` / ``min_size``):

    * ``output_degenerate``: each output channel's std is at least ``output_floor`` times the
      input's (and the output is finite);
    * after one backward pass of the declared loss, every trainable parameter tensor (minus
      ``gradient_exempt``) has a finite, non-zero gradient (``gradient_missing``,
      ``gradient_not_finite``) whose RMS is at least ``gradient_floor × max(param RMS,
      PARAM_RMS_MIN)`` (``gradient_floor``).

    The declared loss is, in order: ``loss`` (``context -> scalar``, where the context is the
    batch merged with ``forward_train``'s outputs); the ``training_step`` of ``trainer`` or of
    the registered trainer whose example trains this model (with that example's loss; only
    the parameters it optimises are checked); else L1 between ``pred`` and ``clamp(3·low)``.

    Args:
        model: Registered name/entry (built with its example parameters updated by
            ``params``) or a built module.
        params: Parameter overrides, e.g. ``{"init_std": 0.02}``.
        loss: Loss on the training context.
        trainer: Registered trainer to take the loss from.
        side: Probe side before rounding.
        output_floor: See ``output_degenerate``.
        gradient_floor: See ``gradient_floor``.

    Returns:
        The measurements (:class:`Trainability`).

    Raises:
        AssertionError: One line per violated rule, naming the worst parameters.
    """
    label, net = _build(model, params)
    batch = _probe_batch(net, side)
    torch.manual_seed(0)
    step = _declared_step(label, net, batch, loss, trainer)
    problems: dict[str, str] = {}
    ratio = _output_ratio(step.outputs, net, batch["low"], output_floor, problems)
    grads: list[tuple[str, float]] = []
    if step.checked:
        grads = _gradient_ratios(step, gradient_floor, problems)
    for module in step.modules.values():
        module.zero_grad(set_to_none=True)
    if problems:
        lines = "; ".join(f"[{rule}] {msg}" for rule, msg in problems.items())
        raise AssertionError(f"model {label!r} is not trainable at init: {lines}")
    return Trainability(ratio, grads, step.used)


def _probe_batch(net: Any, side: int) -> dict[str, Any]:
    """Two textured ``low`` images near ``side`` (rounded to the model's sizes) and ``3·low``."""
    caps = net.capabilities if isinstance(net, Enhancer) else None
    multiple = caps.multiple_of if caps else 1
    min_size = caps.min_size if caps else 1
    h = max(multiple * math.ceil(side / multiple), min_size)
    w = max(multiple * math.ceil((side + multiple) / multiple), min_size)
    low = textured_input(h, w)
    return {"low": low, "high": (3 * low).clamp(0, 1), "name": ["a", "b"]}


@dataclass
class _Step:
    """One forward pass and the declared loss of :func:`check_trainable`."""

    outputs: dict[str, Tensor]
    total: Tensor
    checked: list[tuple[str, nn.Parameter]]
    used: str
    modules: Mapping[str, nn.Module]


def _declared_step(
    label: str, net: Any, batch: dict[str, Any], loss: LossFn | None, trainer: str | None
) -> _Step:
    """Run the declared loss (see :func:`check_trainable`) on ``batch``, not backward yet."""
    trainer_entry = None
    if loss is None:
        trainer_entry = (
            registries()["trainer"].get(trainer) if trainer else declared_trainer(label)
        )
    if trainer_entry is not None:
        built = _build_trainer(trainer_entry, net)
        built.train(True)
        if not built.needs_ground_truth:
            batch = {k: v for k, v in batch.items() if k != "high"}
        result = built.training_step(batch)
        checked = named_trainable(built.modules(), only=built.parameters())
        return _Step(result.outputs, result.loss, checked, f"trainer:{trainer_entry.name}",
                     built.modules())
    low = batch["low"]
    net.train()
    outputs = net.forward_train(low) if isinstance(net, Enhancer) else {"pred": net(low)}
    if "pred" not in outputs:
        raise AssertionError(
            f"model {label!r} is not trainable at init: [train_outputs] forward_train "
            f"returned {sorted(outputs)} without 'pred'"
        )
    if loss is not None:
        total, used = loss({**batch, **outputs}), "given"
    else:
        pred, target = outputs["pred"], batch["high"]
        if pred.shape[-2:] != target.shape[-2:]:
            target = F.interpolate(target, size=pred.shape[-2:], mode="bilinear")
        total, used = F.l1_loss(pred.float(), target), "default"
    return _Step(outputs, total, named_trainable({"": net}), used, {"": net})


def _output_ratio(
    outputs: dict[str, Tensor] | None, net: Any, low: Tensor, floor: float,
    problems: dict[str, str],
) -> float:
    """Smallest per-channel output std / input std at init (``output_degenerate`` if low)."""
    found = outputs.get("pred") if outputs else None
    if found is None:
        with torch.no_grad():
            found = net(low)
    pred = found.detach().float()
    if not torch.isfinite(pred).all():
        problems["output_degenerate"] = "output at init is not finite"
        return 0.0
    ratio = float((pred.std(dim=(0, 2, 3)) / low.std(dim=(0, 2, 3))).min())
    if ratio < floor:
        problems["output_degenerate"] = (
            f"output std at init is {ratio:.3g} × the input's (floor {floor:g}): "
            "activations vanish before the output"
        )
    return ratio


def _gradient_ratios(
    step: _Step, floor: float, problems: dict[str, str]
) -> list[tuple[str, float]]:
    """Backward of the step's loss; relative gradient RMS per checked tensor, weakest first."""
    if step.total.dim() != 0 or not torch.isfinite(step.total):
        problems["loss_not_finite"] = f"declared loss ({step.used}) gave {step.total}"
        return []
    step.total.backward()
    problems.update(gradient_problems(step.checked))
    grads = sorted(((n, relative_gradient(p)) for n, p in step.checked), key=lambda t: t[1])
    weak = [(n, g) for n, g in grads if g < floor]
    if weak:
        shown = ", ".join(f"{n} {g:.2g}" for n, g in weak[:5])
        problems["gradient_floor"] = (
            f"{len(weak)} of {len(grads)} parameter tensors have a gradient RMS below "
            f"{floor:g} × their RMS after one backward pass of the {step.used} loss: {shown}"
        )
    return grads
