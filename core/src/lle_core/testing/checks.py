"""Contract checks per component kind.

Each ``check_<kind>(name)`` builds the registered component (with its registered
``example`` parameters) and raises ``AssertionError`` with a message naming the component and
the violated rule. :func:`check_component` dispatches on the kind.

The rules:

* fusion: output shape equals the contract ``(B, C, H, W)`` for arbitrary ``H, W``;
  gradients reach both inputs; mismatched inputs raise :class:`~lle_core.errors.ShapeError`.
* loss: finite, non-negative, zero (or minimal) for identical inputs, finite gradients,
  finite on all-black and all-white inputs, invariant to the order of the batch.
* model: output ``(B, 3, sH, sW)`` in ``[0, 1]`` for awkward sizes (padding per the declared
  capabilities), finite on black input, batch independence and determinism in eval mode,
  gradients reach the parameters in train mode.
* dataset: items carry the declared keys, ``(3, H, W)`` float32 tensors in ``[0, 1]``.
* trainer: one training step gives a finite scalar whose gradients reach the parameters.
* backbone: one feature map per declared level, with the declared channels and reductions.
* metric: ``(B,)`` finite values.
* block: builds with its example parameters.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from hypothesis import given, settings
from torch import Tensor, nn

from lle_core.errors import ShapeError
from lle_core.interfaces import Enhancer, LossTerm, TrainingScheme
from lle_core.ops import crop_to, pad_to_multiple
from lle_core.registry import Entry, registries
from lle_core.spec import parse_spec
from lle_core.testing.strategies import (
    AWKWARD_SIZES,
    image_sizes,
    make_image,
    make_image_folders,
)

#: Upper bound on hypothesis examples per check (each example runs a network).
MAX_EXAMPLES = 6
#: Largest difference allowed between an image enhanced alone and within a batch (outputs are
#: in [0, 1]; batched convolutions may pick other kernels, a real batch dependence is larger).
BATCH_TOLERANCE = 5e-3


def _settings() -> settings:
    current = settings()
    return settings(current, max_examples=min(current.max_examples, MAX_EXAMPLES), deadline=None)


def _entry(kind: str, name: str | Entry) -> Entry:
    return name if isinstance(name, Entry) else registries()[kind].get(name)


def _substitute(value: Any, folders: Mapping[str, Path]) -> Any:
    if isinstance(value, str):
        for key, path in folders.items():
            value = value.replace("{" + key + "}", str(path))
        return value
    if isinstance(value, Mapping):
        return {k: _substitute(v, folders) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_substitute(v, folders) for v in value)
    return value


def build_example(entry: Entry, folders: Mapping[str, Path] | None = None, **runtime: Any) -> Any:
    """Build ``entry`` with its registered example parameters (placeholders substituted)."""
    params = dict(entry.example or {})
    if entry.kind == "trainer":
        params.pop("model", None)
        params.pop("loss", None)
    params = _substitute(params, folders or {})
    spec = parse_spec(entry.kind, {"type": entry.name, **params})
    return spec.build(**runtime)


def _fail(entry: Entry, rule: str) -> AssertionError:
    return AssertionError(f"{entry.kind} {entry.name!r} breaks the contract: {rule}")


# ---------------------------------------------------------------------------------- fusion


def check_fusion(name: str | Entry) -> None:
    """Shape contract, gradient flow to both inputs, ShapeError on mismatched inputs."""
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
                entry, f"fuse(a, b) of shape {(2, channels, h, w)} returned {tuple(out.shape)}"
            )
        if not torch.isfinite(out).all():
            raise _fail(entry, "output is not finite")
        (out * torch.randn_like(out)).sum().backward()
        for label, t in (("a", a), ("b", b)):
            if t.grad is None or not torch.isfinite(t.grad).all() or t.grad.abs().sum() == 0:
                raise _fail(entry, f"no finite, non-zero gradient reaches input {label}")

    run()
    a = torch.rand(1, channels, 8, 8)
    try:
        op(a, torch.rand(1, channels, 8, 9))
    except ShapeError:
        pass
    else:
        raise _fail(entry, "inputs of different shapes were accepted (expected ShapeError)")


# ------------------------------------------------------------------------------------ loss


def _loss_inputs(
    term: LossTerm, batch: int, size: int, seed: int, *, grad: bool = True
) -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(seed)
    inputs = type(term).conformance_inputs(batch, size, size, g)
    if grad:
        first = next(iter(inputs))
        inputs[first] = inputs[first].clone().requires_grad_(True)
    return inputs


def _identical(inputs: dict[str, Tensor]) -> dict[str, Tensor]:
    first = next(iter(inputs.values()))
    return {k: (first if v.shape == first.shape else v) for k, v in inputs.items()}


def check_loss(name: str | Entry) -> None:
    """Finite, non-negative, zero/minimal for identical inputs, gradients, batch order."""
    entry = _entry("loss", name)
    term = build_example(entry)
    if not isinstance(term, LossTerm):
        if isinstance(term, nn.Module) and hasattr(term, "terms"):
            return _check_composite(entry, term)
        raise _fail(entry, f"built a {type(term).__name__}, not a lle_core.interfaces.LossTerm")
    size = max(type(term).min_input_size, 24)
    inputs = _loss_inputs(term, 3, size, seed=1)
    value = term.compute(**inputs)
    if value.dim() != 0:
        raise _fail(entry, f"compute() must return a scalar, got shape {tuple(value.shape)}")
    if not torch.isfinite(value):
        raise _fail(entry, f"value {value.item()} is not finite on random inputs")
    if value.item() < -1e-6:
        raise _fail(entry, f"value {value.item()} is negative")
    value.backward()
    first = next(iter(inputs))
    grad = inputs[first].grad
    if grad is None or not torch.isfinite(grad).all():
        raise _fail(entry, f"gradient w.r.t. {first!r} is missing or not finite")

    same = _identical(_loss_inputs(term, 3, size, seed=1, grad=False))
    v_same = term.compute(**same).item()
    v_diff = term.compute(**_loss_inputs(term, 3, size, seed=1, grad=False)).item()
    if getattr(term, "zero_for_identical", True):  # instance value: composites combine terms
        if abs(v_same) > 1e-4:
            raise _fail(entry, f"identical inputs give {v_same}, expected 0")
    elif v_same > v_diff + 1e-6:
        raise _fail(entry, f"identical inputs give {v_same} > different inputs {v_diff}")

    for kind in ("black", "white", "grey"):
        g = torch.Generator().manual_seed(3)
        raw = type(term).conformance_inputs(2, size, size, g)
        flat = {
            k: (
                make_image(kind, size, size, batch=2)
                if v.shape[-3:] == (3, size, size) and v.dim() == 4
                else v
            )
            for k, v in raw.items()
        }
        first_key = next(iter(flat))
        flat[first_key] = flat[first_key].clone().requires_grad_(True)
        val = term.compute(**flat)
        val.backward()
        g_ = flat[first_key].grad
        if not torch.isfinite(val) or g_ is None or not torch.isfinite(g_).all():
            raise _fail(entry, f"not finite (value or gradient) on all-{kind} inputs")

    perm = torch.tensor([2, 0, 1])
    base = _loss_inputs(term, 3, size, seed=5, grad=False)
    permuted = {k: (v[perm] if v.dim() >= 1 and v.shape[0] == 3 else v) for k, v in base.items()}
    a, b = term.compute(**base).item(), term.compute(**permuted).item()
    if abs(a - b) > 1e-5 * max(1.0, abs(a)):
        raise _fail(entry, f"value depends on the order of the batch ({a} vs {b})")
    return None


def _check_composite(entry: Entry, loss: nn.Module) -> None:
    total, logs = loss(
        {
            "pred": torch.rand(2, 3, 16, 16),
            "high": torch.rand(2, 3, 16, 16),
            "low": torch.rand(2, 3, 16, 16),
        }
    )
    if not torch.isfinite(total) or not isinstance(logs, dict):
        raise _fail(entry, "a composite loss must return (finite total, dict of terms)")


# ----------------------------------------------------------------------------------- model


def _run_model(model: nn.Module, x: Tensor) -> Tensor:
    caps = model.capabilities if isinstance(model, Enhancer) else None
    multiple = caps.multiple_of if caps else 1
    min_size = caps.min_size if caps else 1
    scale = caps.scale if caps else 1
    padded, size = pad_to_multiple(x, multiple, min_size)
    with torch.no_grad():
        out = model(padded)
    return crop_to(out, size, scale)


def check_model(name: str | Entry) -> None:
    """Shapes and range on awkward sizes, black input, batch independence, determinism, grads."""
    entry = _entry("model", name)
    model = build_example(entry)
    if not isinstance(model, nn.Module):
        raise _fail(entry, f"built a {type(model).__name__}, not an nn.Module")
    model.eval()
    caps = model.capabilities if isinstance(model, Enhancer) else entry.capabilities
    scale = caps.scale

    @_settings()
    @given(size=image_sizes(min_side=1, max_side=40))
    def run(size: tuple[int, int]) -> None:
        h, w = size
        x = make_image("dark", h, w, batch=2, seed=h * 31 + w)
        out = _run_model(model, x)
        if tuple(out.shape) != (2, 3, h * scale, w * scale):
            raise _fail(
                entry,
                f"input (2, 3, {h}, {w}) gave {tuple(out.shape)}, expected "
                f"{(2, 3, h * scale, w * scale)} (capabilities.scale={scale})",
            )
        if not torch.isfinite(out).all():
            raise _fail(entry, f"non-finite output for a {h}x{w} input")
        if out.min() < 0 or out.max() > 1:
            raise _fail(
                entry,
                f"output range [{out.min().item():.4g}, {out.max().item():.4g}] is outside [0, 1]",
            )

    run()
    for h, w in AWKWARD_SIZES[1:]:
        black = _run_model(model, make_image("black", h, w))
        if not torch.isfinite(black).all() or black.min() < 0 or black.max() > 1:
            raise _fail(entry, f"all-black {h}x{w} input gives non-finite or out-of-range output")

    x = make_image("smooth", 20, 24, batch=3, seed=7)
    together = _run_model(model, x)
    again = _run_model(model, x)
    if not torch.equal(together, again):
        raise _fail(entry, "two eval forwards of the same input differ (not deterministic)")
    alone = torch.cat([_run_model(model, x[i : i + 1]) for i in range(3)])
    # Batched and single-image convolutions may take different kernels: allow float noise.
    if not torch.allclose(together, alone, atol=BATCH_TOLERANCE, rtol=0):
        diff = (together - alone).abs().max().item()
        raise _fail(
            entry,
            f"eval output of an image depends on the rest of the batch (max difference {diff:.3g})",
        )

    params = [p for p in model.parameters() if p.requires_grad]
    if params:
        model.train()
        multiple = max(caps.multiple_of, 1)
        side = max(multiple * -(-16 // multiple), caps.min_size)
        low = make_image("dark", side, side, batch=2, seed=11)
        outputs = model.forward_train(low) if isinstance(model, Enhancer) else {"pred": model(low)}
        if "pred" not in outputs:
            raise _fail(entry, f"forward_train returned keys {sorted(outputs)} without 'pred'")
        outputs["pred"].float().square().mean().backward()
        reached = [p for p in params if p.grad is not None and p.grad.abs().sum() > 0]
        if not reached:
            raise _fail(entry, "no gradient reaches any parameter in train mode")
        if any(p.grad is not None and not torch.isfinite(p.grad).all() for p in reached):
            raise _fail(entry, "non-finite gradients in train mode")
        model.zero_grad(set_to_none=True)
    model.eval()


# --------------------------------------------------------------------------------- dataset


def check_dataset(name: str | Entry, folders: Mapping[str, Path] | None = None) -> None:
    """Items carry the declared keys with ``(3, H, W)`` float32 tensors in ``[0, 1]``."""
    entry = _entry("dataset", name)
    with tempfile.TemporaryDirectory() as tmp:
        dirs = folders or make_image_folders(Path(tmp))
        ds = build_example(entry, dirs)
        if len(ds) < 1:
            raise _fail(entry, "the example dataset is empty")
        declared = tuple(getattr(ds, "keys", ("low", "name")))
        paired = bool(getattr(ds, "paired", "high" in declared))
        for index in range(min(len(ds), 2)):
            item = ds[index]
            missing = [k for k in declared if k not in item]
            if missing:
                raise _fail(entry, f"item {index} lacks declared keys {missing}")
            if paired and "high" not in item:
                raise _fail(entry, f"paired dataset item {index} has no 'high'")
            if not isinstance(item.get("name"), str):
                raise _fail(entry, f"item {index} 'name' must be a str")
            for key in ("low", "high"):
                if key not in item:
                    continue
                t = item[key]
                if not isinstance(t, Tensor) or t.dim() != 3 or t.shape[0] != 3:
                    raise _fail(
                        entry,
                        f"item {index} {key!r} must be a (3, H, W) tensor, got "
                        f"{getattr(t, 'shape', type(t))}",
                    )
                if t.dtype != torch.float32:
                    raise _fail(entry, f"item {index} {key!r} has dtype {t.dtype}, not float32")
                if t.min() < 0 or t.max() > 1 or not torch.isfinite(t).all():
                    raise _fail(entry, f"item {index} {key!r} has values outside [0, 1]")
            if "high" in item and item["high"].shape != item["low"].shape:
                raise _fail(
                    entry,
                    f"item {index}: low {tuple(item['low'].shape)} and high "
                    f"{tuple(item['high'].shape)} differ in shape",
                )


# --------------------------------------------------------------------------------- trainer


def check_trainer(name: str | Entry) -> None:
    """One training step on a tiny batch gives a finite scalar with gradients."""
    entry = _entry("trainer", name)
    example = dict(entry.example or {})
    if "model" not in example:
        raise _fail(entry, "register an example with a 'model' spec so the kit can run a step")
    model = parse_spec("model", example["model"]).build()
    loss = None
    if example.get("loss") is not None:
        loss = parse_spec("loss", example["loss"]).build()
        if isinstance(loss, LossTerm):
            from lle_core.spec import create

            loss = create("loss", {"type": "core.composite", "terms": [example["loss"]]})
    scheme = build_example(entry, model=model, loss=loss)
    if not isinstance(scheme, TrainingScheme):
        raise _fail(entry, f"built a {type(scheme).__name__}, not a TrainingScheme")
    scheme.train(True)
    caps = model.capabilities if isinstance(model, Enhancer) else None
    multiple = caps.multiple_of if caps else 1
    side = max(32, multiple * -(-32 // max(multiple, 1)), caps.min_size if caps else 1)
    high = make_image("smooth", side, side, batch=2, seed=3)
    batch: dict[str, Any] = {"low": (high * 0.2).clamp(0, 1), "name": ["a", "b"]}
    if scheme.needs_ground_truth:
        batch["high"] = high
    result = scheme.training_step(batch)
    if result.loss.dim() != 0 or not torch.isfinite(result.loss):
        raise _fail(entry, f"training_step loss must be a finite scalar, got {result.loss}")
    result.loss.backward()
    params = list(scheme.parameters())
    if not params:
        raise _fail(entry, "parameters() yields nothing to optimise")
    if not any(p.grad is not None and p.grad.abs().sum() > 0 for p in params):
        raise _fail(entry, "no gradient reaches the parameters returned by parameters()")
    if not isinstance(scheme.inference_model(), nn.Module):
        raise _fail(entry, "inference_model() must return an nn.Module")


# ------------------------------------------------------------------------ backbone, metric


def check_backbone(name: str | Entry) -> None:
    """One map per declared level with the declared channels and reductions."""
    entry = _entry("backbone", name)
    net = build_example(entry)
    channels, reductions = tuple(net.channels), tuple(net.reductions)
    if not channels or len(channels) != len(reductions):
        raise _fail(
            entry,
            f"channels {channels} and reductions {reductions} must be non-empty "
            "and of equal length",
        )
    side = 2 * max(reductions)
    with torch.no_grad():
        feats = net(make_image("noise", side, side + max(reductions)))
    if len(feats) != len(channels):
        raise _fail(entry, f"returned {len(feats)} maps for {len(channels)} declared levels")
    for i, (f, c, r) in enumerate(zip(feats, channels, reductions, strict=True)):
        expected = (1, c, side // r, (side + max(reductions)) // r)
        if tuple(f.shape) != expected:
            raise _fail(entry, f"level {i} has shape {tuple(f.shape)}, declared {expected}")


def check_metric(name: str | Entry) -> None:
    """Per-image ``(B,)`` finite values."""
    entry = _entry("metric", name)
    metric = build_example(entry)
    x, y = make_image("noise", 24, 24, batch=2, seed=1), make_image("smooth", 24, 24, batch=2)
    values = metric(x, y)
    if tuple(values.shape) != (2,) or not torch.isfinite(values).all():
        raise _fail(entry, f"expected 2 finite per-image values, got {values}")


def check_block(name: str | Entry) -> None:
    """Builds with its example parameters into an ``nn.Module``."""
    entry = _entry("block", name)
    block = build_example(entry)
    if not isinstance(block, nn.Module):
        raise _fail(entry, f"built a {type(block).__name__}, not an nn.Module")


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
