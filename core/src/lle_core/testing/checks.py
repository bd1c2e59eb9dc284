"""Contract checks per component kind.

Each ``check_<kind>(name)`` builds the registered component (with its registered
``example`` parameters) and raises ``AssertionError`` whose message names the component and
the violated rule as ``[rule]``. :func:`check_component` dispatches on the kind. :data:`RULES`
lists every rule of every kind; the kit's own tests hold one deliberately broken component
per rule.

The rules (the gradient rules are those of :mod:`lle_core.testing.gradients`):

* fusion: output shape equals ``(B, C, H, W)`` for arbitrary ``H, W``; finite; gradients
  reach both inputs and every trainable parameter; inputs differing in height, width or
  channels raise :class:`~lle_core.errors.ShapeError`.
* loss: a ``LossTerm``; finite non-negative scalar; finite non-zero gradients w.r.t. every
  declared input it uses; ``0`` for identical inputs (``zero_for_identical``) or no larger
  than for different ones, where two inputs are used; a term reading one input declares
  ``invariants`` that are checked; finite on flat images; invariant to batch order;
  a composite's total is the weighted sum of its logged terms; finite with finite gradients
  at its declared ``min_input_size`` and the next two sizes (``min_size``).
* model: output ``(B, 3, sH, sW)`` in ``[0, 1]`` and finite for awkward sizes, all-black
  input, determinism and batch independence in eval mode; for ``tiling: tile`` models, no
  output pixel changes when input pixels farther than the declared ``receptive_field`` change
  (global statistics held at the unchanged image's values, as tiled inference holds them)
  and tiled inference with a small forced tile agrees with the untiled output
  (``tiled_untiled``); a declared ``bfloat16`` stays close to the float32 output; then
  :func:`~lle_core.testing.gradients.check_trainable` (``forward_train`` gives ``pred``,
  a non-degenerate output at init and a finite gradient above a floor for every trainable
  parameter under the declared loss).
* dataset: the declared keys contain what the kind needs (``low``, ``name``, and ``high``
  when paired); items carry them; ``name`` is a ``str``; images are ``(3, H, W)`` float32
  in ``[0, 1]``; ``low`` and ``high`` match in shape.
* trainer: one training step gives a finite scalar; every parameter of ``parameters()``
  gets a finite non-zero gradient; ``inference_model()`` is a module.
* backbone: one feature map per declared level with the declared channels and reductions.
* metric: ``(B,)`` finite values.
* block: a module; run on its declared inputs (``conformance_io``; the backbone contract for
  backbones; else one size-preserving ``(B, C, H, W)`` feature map) it gives the declared
  shapes, finite values, and gradients to every input and trainable parameter.
"""

from __future__ import annotations

import functools
import math
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from hypothesis import given, settings
from torch import Tensor, nn

from lle_core.errors import ShapeError
from lle_core.global_ops import GlobalPool, global_stats_hook
from lle_core.inference.api import enhance
from lle_core.inference.padding import forward_padded, model_capabilities
from lle_core.inference.tiling import default_overlap, tile_multiple
from lle_core.interfaces import Backbone, Enhancer, LossTerm, Trainer
from lle_core.registry import Capabilities, Entry, registries
from lle_core.spec import parse_spec
from lle_core.testing.examples import build_example, trainer_loss
from lle_core.testing.gradients import check_trainable, gradient_problems, named_trainable
from lle_core.testing.strategies import (
    AWKWARD_SIZES,
    image_sizes,
    make_image,
    make_image_folders,
)

#: Upper bound on hypothesis examples per check (each example runs a network); the active
#: profile may ask for fewer.
MAX_EXAMPLES = 10
#: Largest difference allowed between an image enhanced alone and within a batch (outputs are
#: in [0, 1]; batched convolutions may pick other kernels, a real batch dependence is larger).
BATCH_TOLERANCE = 5e-3
#: Largest output change allowed outside the declared receptive field of a changed input
#: pixel: none. On the CPU every output pixel is computed from its own window by the same
#: kernel in both passes, so it is bit-identical when that window is (measured for every
#: registered model). A random network's dependence near the edge of its field can be as small
#: as 1e-30, so any positive tolerance would let an under-declared field through.
FIELD_TOLERANCE = 0.0
#: Smallest PSNR (dB) of tiled against untiled inference. With the default overlap and
#: whole-image statistics exact models agree up to float rounding (> 100 dB); 45 dB is the
#: project's figure for a seamless result (RMS difference 0.0056, under 1.5 levels of an 8-bit
#: image) and admits models whose layers depend slightly on the image size (FRLIE's
#: ``align_corners=True`` upsampling: ~60 dB at init, ~50 dB with its LOL weights).
TILE_MIN_PSNR = 45.0
#: Largest mean absolute difference allowed between bfloat16 (autocast) and float32 outputs
#: of a model declaring ``bfloat16`` in ``capabilities.dtypes``: 1 % of the range, ~2.5 levels
#: of an 8-bit image (bfloat16 keeps 8 significant bits, ~0.4 % per rounding).
BF16_MEAN_TOLERANCE = 1e-2

#: Every rule of every check, by kind (the ``[rule]`` of a failure message).
RULES: dict[str, tuple[str, ...]] = {
    "fusion": (
        "shape", "finite", "input_gradient", "gradient_missing", "gradient_not_finite",
        "mismatch",
    ),
    "loss": (
        "loss_term", "scalar", "finite", "non_negative", "input_gradient", "zero_for_identical",
        "minimal_for_identical", "invariants_declared", "zero_on_constant", "offset",
        "flat_inputs", "batch_order", "composite_sum", "min_size",
    ),
    "model": (
        "module", "shape", "finite", "range", "black_input", "deterministic",
        "batch_independent", "receptive_field", "tiled_untiled", "bfloat16", "train_outputs",
        "output_degenerate", "loss_not_finite",
        "gradient_missing", "gradient_not_finite", "gradient_floor",
    ),
    "dataset": (
        "empty", "required_keys", "declared_keys", "name", "image_shape", "dtype", "range",
        "pair_shape",
    ),
    "trainer": (
        "example_model", "trainer", "loss_scalar", "no_parameters", "gradient_missing",
        "gradient_not_finite", "inference_model",
    ),
    "backbone": ("declaration", "levels", "level_shape"),
    "metric": ("shape", "finite"),
    "block": (
        "module", "shape", "finite", "input_gradient", "gradient_missing", "gradient_not_finite",
    ),
}

#: Invariants a loss term reading a single input may declare in ``invariants``.
LOSS_INVARIANTS = ("zero_on_constant", "offset")


def _settings() -> settings:
    current = settings()
    return settings(current, max_examples=min(current.max_examples, MAX_EXAMPLES), deadline=None)


def seeded(check: Callable[..., None]) -> Callable[..., None]:
    """Run ``check`` with torch's generator seeded to 0, restored afterwards.

    Components are built and fed from that state, so a check's outcome does not depend on what
    ran before it (a freshly initialised ReLU unit can start dead for some seeds).
    """

    @functools.wraps(check)
    def run(*args: Any, **kwargs: Any) -> None:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            check(*args, **kwargs)

    return run


def _entry(kind: str, name: str | Entry) -> Entry:
    return name if isinstance(name, Entry) else registries()[kind].get(name)


def _fail(entry: Entry, rule: str, message: str) -> AssertionError:
    return AssertionError(f"{entry.kind} {entry.name!r} breaks the contract [{rule}]: {message}")


def varied(shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
    """Gaussian features whose per-sample mean runs from -1 to 1 (``requires_grad``).

    The parameter-gradient rules run on them: over such a batch a ReLU or gate in a freshly
    initialised layer is active for some sample unless the layer is really cut off.
    """
    offsets = torch.linspace(-1.0, 1.0, shape[0]).view(-1, *([1] * (len(shape) - 1)))
    return (torch.randn(shape, generator=generator) + offsets).requires_grad_(True)


def _raise_gradients(entry: Entry, params: list[tuple[str, nn.Parameter]]) -> None:
    for rule, message in gradient_problems(params).items():
        raise _fail(entry, rule, message)


# ---------------------------------------------------------------------------------- fusion


@seeded
def check_fusion(name: str | Entry) -> None:
    """Shape contract, finite output, gradients to both inputs and parameters, ShapeError."""
    entry = _entry("fusion", name)
    channels = max(entry.capabilities.min_channels, 8)
    op = build_example(entry, channels=channels)
    op.train()

    @_settings()
    @given(size=image_sizes(min_side=1, max_side=24))
    def run(size: tuple[int, int]) -> None:
        h, w = size
        g = torch.Generator().manual_seed(h * 100 + w)
        a = torch.rand((2, channels, h, w), generator=g).requires_grad_(True)
        b = torch.rand((2, channels, h, w), generator=g).requires_grad_(True)
        out = op(a, b)
        if tuple(out.shape) != (2, channels, h, w):
            raise _fail(
                entry,
                "shape",
                f"fuse(a, b) of shape {(2, channels, h, w)} returned {tuple(out.shape)}",
            )
        if not torch.isfinite(out).all():
            raise _fail(entry, "finite", f"output is not finite for {h}x{w} inputs")
        (out * torch.randn_like(out)).sum().backward()
        for label, t in (("a", a), ("b", b)):
            if t.grad is None or not torch.isfinite(t.grad).all() or t.grad.abs().sum() == 0:
                raise _fail(
                    entry, "input_gradient", f"no finite, non-zero gradient reaches input {label}"
                )

    run()
    op.zero_grad(set_to_none=True)
    g = torch.Generator().manual_seed(0)
    a, b = (varied((4, channels, 9, 11), g) for _ in range(2))
    out = op(a, b)
    (out * torch.randn(out.shape, generator=g)).sum().backward()
    _raise_gradients(entry, named_trainable({"": op}))
    op.zero_grad(set_to_none=True)

    a = torch.rand(2, channels, 8, 8)
    for label, b in (
        ("height", torch.rand(2, channels, 9, 8)),
        ("width", torch.rand(2, channels, 8, 9)),
        ("channels", torch.rand(2, channels + 1, 8, 8)),
    ):
        try:
            op(a, b)
        except ShapeError:
            continue
        raise _fail(
            entry,
            "mismatch",
            f"inputs differing in {label} ({tuple(a.shape)} and {tuple(b.shape)}) were "
            "accepted (expected ShapeError)",
        )


# ------------------------------------------------------------------------------------ loss


def _loss_inputs(term: LossTerm, batch: int, size: int, seed: int) -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(seed)
    return type(term).conformance_inputs(batch, size, size, g)


def _with_grad(inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    return {
        k: (v.clone().requires_grad_(True) if v.is_floating_point() else v)
        for k, v in inputs.items()
    }


def _used_inputs(term: LossTerm) -> list[str]:
    unused = set(getattr(term, "unused_inputs", ()) or ())
    return [k for k in type(term).inputs if k not in unused]


def _value(term: LossTerm, inputs: Mapping[str, Tensor]) -> float:
    with torch.no_grad():
        return float(term.compute(**inputs))


def _check_min_size(entry: Entry, term: LossTerm) -> None:
    """Rule ``min_size``: a finite scalar with finite input gradients at small sizes.

    Checked at the declared ``min_input_size`` and the next two sizes (one of them odd).
    """
    smallest = type(term).min_input_size
    for side in (smallest, smallest + 1, smallest + 2):
        inputs = _with_grad(_loss_inputs(term, 2, side, seed=5))
        try:
            value = term.compute(**inputs)
            ok = value.dim() == 0 and bool(torch.isfinite(value))
            if ok:
                value.backward()
                grads = [t.grad for t in inputs.values() if t.grad is not None]
                ok = all(bool(torch.isfinite(g).all()) for g in grads)
        except Exception as err:  # the rule is about failing small inputs
            raise _fail(
                entry, "min_size", f"a {side}x{side} input raises {type(err).__name__}: {err} "
                f"(declared min_input_size={smallest}; raise it if the term needs more)"
            ) from None
        if not ok:
            raise _fail(
                entry, "min_size", f"a {side}x{side} input gives a non-finite value or gradient "
                f"(declared min_input_size={smallest})"
            )


@seeded
def check_loss(name: str | Entry) -> None:
    """See the module docstring for the rules of ``loss``."""
    entry = _entry("loss", name)
    term = build_example(entry)
    if not isinstance(term, LossTerm):
        raise _fail(
            entry, "loss_term", f"built a {type(term).__name__}, not a lle_core.interfaces.LossTerm"
        )
    size = max(type(term).min_input_size, 24)
    used = _used_inputs(term)
    inputs = _with_grad(_loss_inputs(term, 3, size, seed=1))
    value = term.compute(**inputs)
    if value.dim() != 0:
        raise _fail(entry, "scalar", f"compute() must return a scalar, got {tuple(value.shape)}")
    if not torch.isfinite(value):
        raise _fail(entry, "finite", f"value {value.item()} is not finite on random inputs")
    if value.item() < -1e-6:
        raise _fail(entry, "non_negative", f"value {value.item()} is negative")
    value.backward()
    for key in used:
        grad = inputs[key].grad
        if grad is None or not torch.isfinite(grad).all() or grad.abs().sum() == 0:
            raise _fail(
                entry,
                "input_gradient",
                f"no finite, non-zero gradient w.r.t. input {key!r} (list inputs the value "
                "does not depend on in `unused_inputs`)",
            )

    base = _loss_inputs(term, 3, size, seed=1)
    if len(used) >= 2:
        first = base[used[0]]
        same = {k: (first if k in used and v.shape == first.shape else v) for k, v in base.items()}
        v_same, v_diff = _value(term, same), _value(term, base)
        if getattr(term, "zero_for_identical", True):  # instance value: composites combine
            if abs(v_same) > 1e-4:
                raise _fail(entry, "zero_for_identical", f"identical inputs give {v_same}")
        elif v_same > v_diff + 1e-6:
            raise _fail(
                entry,
                "minimal_for_identical",
                f"identical inputs give {v_same} > different inputs {v_diff}",
            )
    else:
        _check_invariants(entry, term, base, used[0] if used else next(iter(base)))

    for kind in ("black", "white", "grey"):
        raw = _loss_inputs(term, 2, size, seed=3)
        flat = _with_grad(
            {
                k: (
                    make_image(kind, size, size, batch=2)
                    if v.dim() == 4 and v.shape[-3:] == (3, size, size)
                    else v
                )
                for k, v in raw.items()
            }
        )
        val = term.compute(**flat)
        val.backward()
        grads = [flat[k].grad for k in used if flat[k].requires_grad]
        if not torch.isfinite(val) or any(
            g_ is None or not torch.isfinite(g_).all() for g_ in grads
        ):
            raise _fail(
                entry, "flat_inputs", f"not finite (value or gradient) on all-{kind} inputs"
            )

    perm = torch.tensor([2, 0, 1])
    base = _loss_inputs(term, 3, size, seed=5)
    permuted = {k: (v[perm] if v.dim() >= 1 and v.shape[0] == 3 else v) for k, v in base.items()}
    a, b = _value(term, base), _value(term, permuted)
    if abs(a - b) > 1e-5 * max(1.0, abs(a)):
        raise _fail(entry, "batch_order", f"value depends on the order of the batch ({a} vs {b})")

    if hasattr(term, "evaluate"):
        _check_composite(entry, term, _loss_inputs(term, 2, size, seed=7))
    _check_min_size(entry, term)


def _check_invariants(
    entry: Entry, term: LossTerm, base: dict[str, Tensor], key: str
) -> None:
    invariants = tuple(getattr(term, "invariants", ()) or ())
    if not invariants:
        raise _fail(
            entry,
            "invariants_declared",
            f"the value depends on one input ({key!r}) only: identical inputs mean nothing, so "
            f"declare `invariants` from {LOSS_INVARIANTS} for the kit to check",
        )
    x = base[key]
    random_value = _value(term, base)
    if "zero_on_constant" in invariants:
        for level in (0.0, 0.3, 1.0):
            v = _value(term, {**base, key: torch.full_like(x, level)})
            if abs(v) > max(1e-6, 1e-2 * abs(random_value)):
                raise _fail(
                    entry,
                    "zero_on_constant",
                    f"a constant {level} input gives {v:.4g} (random input: {random_value:.4g})",
                )
    if "offset" in invariants:
        a = _value(term, {**base, key: 0.5 * x})
        b = _value(term, {**base, key: 0.5 * x + 0.25})
        if abs(a - b) > 1e-4 * max(1.0, abs(a)):
            raise _fail(entry, "offset", f"adding 0.25 to the input changes {a:.6g} to {b:.6g}")


def _check_composite(entry: Entry, loss: LossTerm, inputs: dict[str, Tensor]) -> None:
    context = {loss.keys.get(k, k): v for k, v in inputs.items()}
    context.setdefault("low", inputs.get("pred", next(iter(inputs.values()))))
    out = loss(context)
    terms = list(getattr(loss, "terms", ()))
    if not isinstance(out, tuple) or len(out) != 2 or not isinstance(out[1], Mapping):
        raise _fail(entry, "composite_sum", "forward(context) must return (total, logs)")
    total, logs = out
    if len(logs) != len(terms):
        raise _fail(
            entry, "composite_sum", f"{len(logs)} logged values for {len(terms)} terms: {logs}"
        )
    expected = sum(
        float(t.weight) * float(v) for t, v in zip(terms, logs.values(), strict=True)
    )
    if abs(float(total) - expected) > 1e-4 * max(1.0, abs(expected)):
        raise _fail(
            entry,
            "composite_sum",
            f"total {float(total):.6g} is not the weighted sum of the logged terms "
            f"({expected:.6g})",
        )


# ----------------------------------------------------------------------------------- model


def _run_model(entry: Entry, model: nn.Module, x: Tensor) -> Tensor:
    """Run ``model`` on the inference path (:func:`forward_padded`) without gradients.

    A size error of the output is the ``shape`` rule's failure.
    """
    try:
        with torch.no_grad():
            return forward_padded(model, x, model_capabilities(model))
    except ShapeError as err:
        raise _fail(entry, "shape", str(err)) from None


@seeded
def check_model(name: str | Entry) -> None:
    """See the module docstring for the rules of ``model``."""
    entry = _entry("model", name)
    model = build_example(entry)
    if not isinstance(model, nn.Module):
        raise _fail(entry, "module", f"built a {type(model).__name__}, not an nn.Module")
    model.eval()
    caps = model.capabilities if isinstance(model, Enhancer) else entry.capabilities
    scale = caps.scale

    @_settings()
    @given(size=image_sizes(min_side=1, max_side=40))
    def run(size: tuple[int, int]) -> None:
        h, w = size
        x = make_image("dark", h, w, batch=2, seed=h * 31 + w)
        out = _run_model(entry, model, x)
        if tuple(out.shape) != (2, 3, h * scale, w * scale):
            raise _fail(
                entry,
                "shape",
                f"input (2, 3, {h}, {w}) gave {tuple(out.shape)}, expected "
                f"{(2, 3, h * scale, w * scale)} (capabilities.scale={scale})",
            )
        if not torch.isfinite(out).all():
            raise _fail(entry, "finite", f"non-finite output for a {h}x{w} input")
        if out.min() < 0 or out.max() > 1:
            raise _fail(
                entry,
                "range",
                f"output range [{out.min().item():.4g}, {out.max().item():.4g}] is outside [0, 1]",
            )

    run()
    for h, w in AWKWARD_SIZES[1:]:
        black = _run_model(entry, model, make_image("black", h, w))
        if not torch.isfinite(black).all() or black.min() < 0 or black.max() > 1:
            raise _fail(
                entry,
                "black_input",
                f"all-black {h}x{w} input gives non-finite or out-of-range output",
            )

    x = make_image("smooth", 20, 24, batch=3, seed=7)
    together = _run_model(entry, model, x)
    again = _run_model(entry, model, x)
    if not torch.equal(together, again):
        raise _fail(entry, "deterministic", "two eval forwards of the same input differ")
    alone = torch.cat([_run_model(entry, model, x[i : i + 1]) for i in range(3)])
    # Batched and single-image convolutions may take different kernels: allow float noise.
    if not torch.allclose(together, alone, atol=BATCH_TOLERANCE, rtol=0):
        diff = (together - alone).abs().max().item()
        raise _fail(
            entry,
            "batch_independent",
            f"eval output of an image depends on the rest of the batch (max difference {diff:.3g})",
        )
    if caps.tiling == "tile":
        for axis in (-1, -2):
            _check_receptive_field(entry, model, caps, axis)
        _check_tiled(entry, model, caps)
    if "bfloat16" in caps.dtypes:
        _check_bfloat16(entry, model, caps)

    if isinstance(model, Enhancer):
        model.train()
        side = max(caps.multiple_of * -(-16 // caps.multiple_of), caps.min_size)
        outputs = model.forward_train(make_image("dark", side, side, batch=2, seed=11))
        if "pred" not in outputs:
            raise _fail(
                entry, "train_outputs", f"forward_train returned {sorted(outputs)} without 'pred'"
            )
    try:
        check_trainable(entry)
    except AssertionError as err:
        raise _fail(entry, _first_rule(str(err)), str(err)) from None
    model.eval()


class _HeldStatistics:
    """Global-statistics hook holding the statistics of one image for another.

    Records every :class:`GlobalPool` output of one forward pass, then (``hold = True``)
    returns the recorded values, in call order, in the next pass.
    """

    def __init__(self) -> None:
        self.values: list[Tensor] = []
        self.hold = False
        self.index = 0

    def __call__(self, pool: GlobalPool, x: Tensor) -> Tensor:
        if not self.hold:
            self.values.append(pool.statistic(x))
            return self.values[-1]
        self.index += 1
        return self.values[self.index - 1]


def _aligned(n: int, k: int) -> int:
    return -(-n // k) * k


def _check_receptive_field(entry: Entry, model: nn.Module, caps: Capabilities, axis: int) -> None:
    """Rule ``receptive_field`` along ``axis`` (-1: width, -2: height).

    A strip ``2R + 2 + k`` pixels long (``R`` the declared field, ``k`` the tile alignment, so
    no padding happens) has its first and last line across ``axis`` changed; every output
    line farther than ``R`` input pixels from both must stay as it was. The first line starts
    and the last one ends a cell of every pooling grid, the worst phases for a field reaching
    right and left. Global statistics are held at the unchanged strip's values, as tiled
    inference holds them at the whole image's.
    """
    k, radius, s = tile_multiple(caps), caps.receptive_field, caps.scale
    long = _aligned(2 * radius + 2 + max(k, 8), k)
    short = _aligned(max(caps.min_size, k, 8), k)
    size = (short, long) if axis == -1 else (long, short)
    x = make_image("textured", *size, seed=17)
    changed = x.clone()
    for line in (0, long - 1):
        changed.select(axis, line).copy_(1.0 - x.select(axis, line))
    held = _HeldStatistics()
    with global_stats_hook(held):
        before = _run_model(entry, model, x)
        held.hold = True
        after = _run_model(entry, model, changed)
    reduce = (-2 if axis == -1 else -1, 1, 0)
    diff = (after - before).abs().amax(dim=reduce)  # per output line along axis
    lines = torch.arange(diff.numel()) // s  # input line of each output line
    distance = torch.minimum(lines, long - 1 - lines)
    moved = distance[(diff > FIELD_TOLERANCE) & (distance > radius)]
    if moved.numel():
        name = "columns" if axis == -1 else "rows"
        raise _fail(
            entry,
            "receptive_field",
            f"changing the first and last input {name} of a {size[0]}x{size[1]} image changed "
            f"output {name} {int(moved.max())} px away (by up to "
            f"{float(diff[distance > radius].max()):.3g}), beyond the declared "
            f"receptive_field={radius}: tiles would get too little context; declare at least "
            f"{int(moved.max())} (or use GlobalPool for whole-image statistics)",
        )


def _check_tiled(entry: Entry, model: nn.Module, caps: Capabilities) -> None:
    """Rule ``tiled_untiled``: two tiles (default overlap) agree with one untiled pass.

    A strip one tile and a step wide is enhanced with a forced tile and untiled by
    :func:`lle_core.enhance` (plain path, so models with :class:`GlobalPool` layers get the
    whole strip's statistics first, :mod:`lle_core.inference.context`). Its height fits one
    tile: the seam and the statistics are what is compared, at a fraction of a square's cost
    (the tiling code treats both axes alike; the receptive-field rule checks both).
    """
    k = tile_multiple(caps)
    step = _aligned(16, k)
    tile = default_overlap(caps) + step
    h, w = _aligned(max(caps.min_size, caps.min_input, k, 8), k), tile + step
    x = make_image("textured", h, w, seed=19)
    whole = enhance(model, x, tile="off", plain=True)
    tiled = enhance(model, x, tile=tile, plain=True)
    mse = float(((whole - tiled) ** 2).mean())
    psnr = 10 * math.log10(1 / mse) if mse > 0 else math.inf
    if psnr < TILE_MIN_PSNR:
        raise _fail(
            entry,
            "tiled_untiled",
            f"tiled inference of a {h}x{w} image (tile {tile}, default overlap "
            f"{default_overlap(caps)}) differs from the untiled output: {psnr:.1f} dB "
            f"(at least {TILE_MIN_PSNR:.0f} dB wanted; max difference "
            f"{float((whole - tiled).abs().max()):.3g}); is receptive_field="
            f"{caps.receptive_field} honest, are global statistics GlobalPool layers, and "
            "does the model depend on the image size?",
        )


def _check_bfloat16(entry: Entry, model: nn.Module, caps: Capabilities) -> None:
    """Rule ``bfloat16``: a declared ``bfloat16`` runs (autocast) close to float32."""
    side = _aligned(max(48, caps.min_size), tile_multiple(caps))
    x = make_image("textured", side, side, seed=23)
    ref = enhance(model, x, tile="off", plain=True)
    try:
        low = enhance(model, x, tile="off", plain=True, dtype="bfloat16")
    except Exception as err:  # the rule is about the declared dtype not working
        raise _fail(
            entry, "bfloat16", f"declares bfloat16 but running in it raises "
            f"{type(err).__name__}: {err}"
        ) from None
    diff = float((low.float() - ref).abs().mean())
    if diff > BF16_MEAN_TOLERANCE:
        raise _fail(
            entry,
            "bfloat16",
            f"declares bfloat16, whose output differs from float32 by {diff:.3g} on average "
            f"(allowed {BF16_MEAN_TOLERANCE:.3g}) on a textured {side}x{side} image",
        )


def _first_rule(message: str) -> str:
    start = message.find("[")
    return message[start + 1 : message.find("]", start)] if start >= 0 else "trainable"


# --------------------------------------------------------------------------------- dataset


def required_dataset_keys(paired: bool) -> tuple[str, ...]:
    """Keys every item of a dataset must carry: ``low``, ``name`` and ``high`` when paired."""
    return ("low", "high", "name") if paired else ("low", "name")


@seeded
def check_dataset(name: str | Entry, folders: Mapping[str, Path] | None = None) -> None:
    """See the module docstring for the rules of ``dataset``."""
    entry = _entry("dataset", name)
    with tempfile.TemporaryDirectory() as tmp:
        dirs = folders or make_image_folders(Path(tmp))
        ds = build_example(entry, dirs)
        if len(ds) < 1:
            raise _fail(entry, "empty", "the example dataset is empty")
        paired = bool(getattr(ds, "paired", True))
        declared = tuple(getattr(ds, "keys", required_dataset_keys(paired)))
        lacking = [k for k in required_dataset_keys(paired) if k not in declared]
        if lacking:
            raise _fail(
                entry,
                "required_keys",
                f"declared keys {declared} lack {lacking}, which a "
                f"{'paired' if paired else 'unpaired'} dataset must provide",
            )
        for index in range(min(len(ds), 2)):
            _check_item(entry, index, ds[index], declared)


def _check_item(entry: Entry, index: int, item: Mapping[str, Any], declared: Sequence[str]) -> None:
    missing = [k for k in declared if k not in item]
    if missing:
        raise _fail(entry, "declared_keys", f"item {index} lacks declared keys {missing}")
    if not isinstance(item.get("name"), str):
        raise _fail(entry, "name", f"item {index} 'name' must be a str")
    for key in ("low", "high"):
        if key not in item:
            continue
        t = item[key]
        if not isinstance(t, Tensor) or t.dim() != 3 or t.shape[0] != 3:
            raise _fail(
                entry,
                "image_shape",
                f"item {index} {key!r} must be a (3, H, W) tensor, got "
                f"{getattr(t, 'shape', type(t))}",
            )
        if t.dtype != torch.float32:
            raise _fail(entry, "dtype", f"item {index} {key!r} has dtype {t.dtype}, not float32")
        if not torch.isfinite(t).all() or t.min() < 0 or t.max() > 1:
            raise _fail(entry, "range", f"item {index} {key!r} has values outside [0, 1]")
    if "high" in item and item["high"].shape != item["low"].shape:
        raise _fail(
            entry,
            "pair_shape",
            f"item {index}: low {tuple(item['low'].shape)} and high "
            f"{tuple(item['high'].shape)} differ in shape",
        )


# --------------------------------------------------------------------------------- trainer


@seeded
def check_trainer(name: str | Entry) -> None:
    """See the module docstring for the rules of ``trainer``."""
    entry = _entry("trainer", name)
    example = dict(entry.example or {})
    if "model" not in example:
        raise _fail(
            entry,
            "example_model",
            "register an example with a 'model' spec so the kit can run a step",
        )
    model = parse_spec("model", example["model"]).build()
    trainer = build_example(entry, model=model, loss=trainer_loss(entry))
    if not isinstance(trainer, Trainer):
        raise _fail(entry, "trainer", f"built a {type(trainer).__name__}, not a Trainer")
    trainer.train(True)
    caps = model.capabilities if isinstance(model, Enhancer) else None
    multiple = caps.multiple_of if caps else 1
    side = max(32, multiple * -(-32 // max(multiple, 1)), caps.min_size if caps else 1)
    high = make_image("smooth", side, side, batch=2, seed=3)
    batch: dict[str, Any] = {"low": (high * 0.2).clamp(0, 1), "name": ["a", "b"]}
    if trainer.needs_ground_truth:
        batch["high"] = high
    result = trainer.training_step(batch)
    if result.loss.dim() != 0 or not torch.isfinite(result.loss):
        raise _fail(
            entry, "loss_scalar", f"training_step loss must be a finite scalar, got {result.loss}"
        )
    result.loss.backward()
    params = named_trainable(trainer.modules(), only=trainer.parameters())
    if not list(trainer.parameters()):
        raise _fail(entry, "no_parameters", "parameters() yields nothing to optimise")
    _raise_gradients(entry, params)
    if not isinstance(trainer.inference_model(), nn.Module):
        raise _fail(entry, "inference_model", "inference_model() must return an nn.Module")


# ------------------------------------------------------------------------ backbone, metric


def _backbone_io(net: Any, batch: int) -> tuple[tuple[Tensor, ...], list[tuple[int | None, ...]]]:
    """The backbone contract as inputs and expected output shapes."""
    channels, reductions = tuple(net.channels), tuple(net.reductions)
    side = 2 * max(reductions)
    x = make_image("noise", side, side + max(reductions), batch=batch)
    expected: list[tuple[int | None, ...]] = [
        (batch, int(c), side // r, (side + max(reductions)) // r)
        for c, r in zip(channels, reductions, strict=True)
    ]
    return (x,), expected


@seeded
def check_backbone(name: str | Entry) -> None:
    """One map per declared level with the declared channels and reductions."""
    entry = _entry("backbone", name)
    net = build_example(entry)
    channels, reductions = tuple(net.channels), tuple(net.reductions)
    if not channels or len(channels) != len(reductions):
        raise _fail(
            entry,
            "declaration",
            f"channels {channels} and reductions {reductions} must be non-empty "
            "and of equal length",
        )
    (x,), expected = _backbone_io(net, 1)
    with torch.no_grad():
        feats = net(x)
    if len(feats) != len(channels):
        raise _fail(entry, "levels", f"returned {len(feats)} maps for {len(channels)} levels")
    for i, (f, shape) in enumerate(zip(feats, expected, strict=True)):
        if tuple(f.shape) != shape:
            raise _fail(
                entry, "level_shape", f"level {i} has shape {tuple(f.shape)}, declared {shape}"
            )


@seeded
def check_metric(name: str | Entry) -> None:
    """Per-image ``(B,)`` finite values."""
    entry = _entry("metric", name)
    metric = build_example(entry)
    x, y = make_image("noise", 24, 24, batch=2, seed=1), make_image("smooth", 24, 24, batch=2)
    values = metric(x, y)
    if not isinstance(values, Tensor) or tuple(values.shape) != (2,):
        raise _fail(entry, "shape", f"expected one value per image, shape (2,), got {values}")
    if not torch.isfinite(values).all():
        raise _fail(entry, "finite", f"non-finite values {values}")


# ----------------------------------------------------------------------------------- block


def _block_io(
    entry: Entry, block: nn.Module, batch: int, height: int, width: int
) -> tuple[tuple[Tensor, ...], list[tuple[int | None, ...]]]:
    """Inputs and expected output shapes (``None``: any size) of a block's contract.

    A block declares it with ``conformance_io(batch, height, width, generator) ->
    (inputs, expected_shapes)``; a :class:`~lle_core.interfaces.Backbone` follows the backbone
    contract; any other block maps one ``(B, C, H, W)`` feature map (``C`` from the example's
    ``in_channels``/``channels``, else the first convolution) to one ``(B, C', H, W)`` map
    (``C' = out_channels`` when the example has it).
    """
    g = torch.Generator().manual_seed(0)
    declared = getattr(block, "conformance_io", None)
    if callable(declared):
        inputs, shapes = declared(batch, height, width, g)
        return tuple(inputs), [tuple(s) for s in shapes]
    if isinstance(block, Backbone):
        return _backbone_io(block, batch)
    example = dict(entry.example or {})
    channels = example.get("in_channels", example.get("channels"))
    if channels is None:
        conv = next((m for m in block.modules() if isinstance(m, nn.Conv2d)), None)
        if conv is None:
            raise _fail(
                entry,
                "shape",
                "no input channels to infer: declare `conformance_io` or an `in_channels` example",
            )
        channels = conv.in_channels
    x = varied((batch, int(channels), height, width), g).detach()
    return (x,), [(batch, example.get("out_channels"), height, width)]


def _track(value: Any) -> Any:
    """A copy of a tensor (or nested list of tensors) that records gradients."""
    if isinstance(value, Tensor):
        return value.detach().clone().requires_grad_(True)
    return [_track(v) for v in value]


def _leaves(value: Any) -> list[Tensor]:
    if isinstance(value, Tensor):
        return [value]
    return [t for v in value for t in _leaves(v)]


@seeded
def check_block(name: str | Entry) -> None:
    """See the module docstring for the rules of ``block``."""
    entry = _entry("block", name)
    block = build_example(entry)
    if not isinstance(block, nn.Module):
        raise _fail(entry, "module", f"built a {type(block).__name__}, not an nn.Module")
    block.train()
    inputs, expected = _block_io(entry, block, 4, 12, 20)
    inputs = tuple(_track(t) for t in inputs)
    out = block(*inputs)
    outs = list(out) if isinstance(out, list | tuple) else [out]
    shapes = [tuple(o.shape) for o in outs]
    if len(shapes) != len(expected) or any(
        len(s) != len(e) or any(d is not None and d != v for d, v in zip(e, s, strict=True))
        for s, e in zip(shapes, expected, strict=False)
    ):
        raise _fail(entry, "shape", f"outputs {shapes}, declared {expected} (None: any)")
    if not all(torch.isfinite(o).all() for o in outs):
        raise _fail(entry, "finite", "non-finite output")
    g = torch.Generator().manual_seed(1)
    total = torch.stack([(o * torch.randn(o.shape, generator=g)).sum() for o in outs]).sum()
    total.backward()
    for i, t in enumerate(_leaves(inputs)):
        if t.grad is None or not torch.isfinite(t.grad).all() or t.grad.abs().sum() == 0:
            raise _fail(entry, "input_gradient", f"no finite, non-zero gradient reaches input {i}")
    _raise_gradients(entry, named_trainable({"": block}))


CHECKS: dict[str, Callable[..., None]] = {
    "fusion": check_fusion,
    "loss": check_loss,
    "model": check_model,
    "dataset": check_dataset,
    "trainer": check_trainer,
    "backbone": check_backbone,
    "metric": check_metric,
    "block": check_block,
}


def check_component(kind: str, name: str | Entry) -> None:
    """Run the contract checks of ``kind`` on one registered component."""
    CHECKS[kind](name)
