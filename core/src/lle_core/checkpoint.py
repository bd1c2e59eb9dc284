"""Checkpoints: inference weights in safetensors, training state in a weights-only companion.

This module is the model-state layer below both :mod:`lle_core.inference` and
:mod:`lle_core.engine` (docs/architecture.md): it reads and writes checkpoints and holds the
one rule for which file a run folder means (:func:`resolve_weights_path`).

A checkpoint ``<name>`` in a run directory is a pair of files:

* ``<name>.safetensors``: the weights of the *inference* model (``export_state_dict()`` of an
  :class:`~lle_core.interfaces.Enhancer`: training-only parts left out), with the metadata
  ``{"lle_format": "1", "model_spec": <JSON of the model spec>, "step": "<n>", "lle_digest":
  "sha256:..."}``. This file alone is enough to run the model: :func:`load_model` rebuilds the
  architecture from the recorded spec.
* ``<name>.state.pt``: everything needed to resume exactly (every trainer module, optimizer,
  scheduler, EMA, RNG states, step, epoch, config, trainer extra state, and a ``digest``). It
  holds only tensors and plain Python data and is read with ``torch.load(weights_only=True)``:
  loading a checkpoint never runs code from it.

Checkpoints prove themselves (docs/reliability.md): both files record a digest of their contents
(:mod:`lle_core.digest`) that loading recomputes, so a damaged file is a
:class:`~lle_core.errors.CheckpointError` naming it (files written before digests existed load
unchecked). :func:`load_model` builds the recorded architecture on the ``meta`` device first
(no memory), refuses it above :data:`MAX_PARAMETERS` or when its tensor names, shapes or dtypes
differ from the file's, and only then builds it for real; a float parameter is never filled
from an integer tensor (:func:`load_weights`).

Both files are written atomically with :func:`lle_core.files.atomic_write` (temporary file in
the same directory, flush, fsync, ``os.replace``, fsync of the directory), so a crash at any
moment leaves either the previous or the new file under the final name, never a partial one.
The state file is written first and is self-contained (it also holds the model weights); a
crash between the two writes leaves a newer state next to older weights, which the resume
rewrites.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from lle_core.digest import state_digest, tensor_digest
from lle_core.errors import CheckpointError, WeightsError
from lle_core.files import atomic_write, remove_stale_temporaries  # noqa: F401 - re-exported

#: Version of the checkpoint layout (``lle_format`` in the safetensors metadata).
LLE_FORMAT = "1"
WEIGHTS_SUFFIX = ".safetensors"
STATE_SUFFIX = ".state.pt"
#: Checkpoint names in a run folder, in the order :func:`resolve_weights_path` prefers them.
RUN_CHECKPOINTS = ("best", "latest")
#: Attribute set on a model whose weights were loaded (a checkpoint, a weight set, training).
WEIGHTS_ATTR = "_lle_weights_source"
#: Metadata key of a weights file's digest (:func:`lle_core.digest.tensor_digest`).
DIGEST_KEY = "lle_digest"
#: Key of a training-state file's digest (:func:`lle_core.digest.state_digest`).
STATE_DIGEST_KEY = "digest"
#: Parameter budget of :func:`load_model`: parameters and buffers (elements, 400 MB in float32)
#: a checkpoint's spec may build; the largest shipped model (HF2 with its VGG16 prior) has 32 M.
MAX_PARAMETERS = 100_000_000


def mark_weights(model: nn.Module, source: str) -> None:
    """Record that ``model`` holds loaded or trained weights (silences the random warning)."""
    object.__setattr__(model, WEIGHTS_ATTR, source)


def weights_source(model: nn.Module) -> str | None:
    """Where the model's weights came from, or ``None`` for a fresh initialisation."""
    return getattr(model, WEIGHTS_ATTR, None)


# ------------------------------------------------------------------------------------------
# Saving
# ------------------------------------------------------------------------------------------


def inference_state_dict(model: nn.Module) -> dict[str, Tensor]:
    """Weights to export: ``export_state_dict()`` of an Enhancer, else ``state_dict()``."""
    from lle_core.interfaces import Enhancer

    state = model.export_state_dict() if isinstance(model, Enhancer) else model.state_dict()
    # safetensors refuses shared or non-contiguous storage: give every tensor its own copy.
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}


def _spec_json(model: nn.Module, model_spec: Any | None) -> str:
    spec = model_spec if model_spec is not None else getattr(model, "lle_spec", None)
    if spec is None:
        raise CheckpointError(
            f"cannot record the architecture of {type(model).__name__}: it was not built from a "
            "spec; pass model_spec= (a ComponentSpec or a mapping with 'type')"
        )
    data = spec.to_dict() if hasattr(spec, "to_dict") else dict(spec)
    return json.dumps(data, sort_keys=True)


def save_weights(
    path: str | Path,
    model: nn.Module,
    *,
    model_spec: Any | None = None,
    step: int = 0,
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Write ``model``'s inference weights as an lle safetensors checkpoint (atomically).

    Args:
        path: Target file (``.safetensors``).
        model: The inference model (an Enhancer exports without its training-only parts).
        model_spec: The spec it was built from (default: its ``lle_spec`` attribute).
        step: Training step recorded in the metadata.
        metadata: Extra string metadata.

    Returns:
        The written path.
    """
    from safetensors.torch import save

    tensors = inference_state_dict(model)
    meta = {
        **{str(k): str(v) for k, v in (metadata or {}).items()},
        "lle_format": LLE_FORMAT,
        "model_spec": _spec_json(model, model_spec),
        "step": str(int(step)),
        DIGEST_KEY: tensor_digest(tensors),
    }
    return atomic_write(path, save(tensors, metadata=meta))


def save_state(path: str | Path, state: Mapping[str, Any]) -> Path:
    """Write a training-state file (tensors and plain data only, and its digest) atomically."""
    import io

    content = {k: v for k, v in state.items() if k != STATE_DIGEST_KEY}
    buffer = io.BytesIO()
    torch.save({**content, STATE_DIGEST_KEY: state_digest(content)}, buffer)
    return atomic_write(path, buffer.getvalue())


def save_checkpoint(
    directory: str | Path,
    name: str,
    *,
    model: nn.Module,
    model_spec: Any | None = None,
    step: int = 0,
    state: Mapping[str, Any] | None = None,
) -> Path:
    """Save checkpoint ``<directory>/<name>``: the state file first (if any), then the weights.

    Args:
        directory: Run directory.
        name: Checkpoint name (``latest``, ``best``, ...).
        model: Inference model whose weights go into ``<name>.safetensors``.
        model_spec: Spec recorded for :func:`load_model` (default: ``model.lle_spec``).
        step: Training step (recorded in both files).
        state: Training state for ``<name>.state.pt`` (``None``: weights only).

    Returns:
        Path of the ``.safetensors`` file.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    if state is not None:
        save_state(folder / f"{name}{STATE_SUFFIX}", {**state, "step": int(step)})
    return save_weights(
        folder / f"{name}{WEIGHTS_SUFFIX}", model, model_spec=model_spec, step=step
    )


# ------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------


def resolve_weights_path(path: str | Path) -> Path:
    """Find the ``.safetensors`` file meant by a file, a checkpoint name or a run directory.

    The one rule of lle (``lle enhance --weights``, ``load_model``, FRLIE's
    ``stage1_checkpoint``, a plan's ``{previous}``): a run directory means its ``best``
    checkpoint, else its ``latest``; ``x.state.pt`` and ``x`` mean ``x.safetensors``.

    Raises:
        CheckpointError: Nothing to load there.
    """
    p = Path(path)
    if p.is_dir():
        for name in RUN_CHECKPOINTS:
            candidate = p / f"{name}{WEIGHTS_SUFFIX}"
            if candidate.is_file():
                return candidate
        raise CheckpointError(f"no best{WEIGHTS_SUFFIX} or latest{WEIGHTS_SUFFIX} in {p}")
    if p.name.endswith(STATE_SUFFIX):
        p = p.with_name(p.name[: -len(STATE_SUFFIX)] + WEIGHTS_SUFFIX)
    elif p.suffix != WEIGHTS_SUFFIX and not p.exists():
        p = p.with_name(p.name + WEIGHTS_SUFFIX)
    if not p.is_file():
        raise CheckpointError(f"checkpoint not found: {p}")
    return p


def _read(p: Path, *, tensors: bool) -> tuple[dict[str, Tensor], dict[str, str]]:
    """Tensors (if asked) and metadata of a safetensors file; its digest checked if it has one."""
    from safetensors import SafetensorError
    from safetensors.torch import safe_open

    try:
        with safe_open(str(p), framework="pt", device="cpu") as f:
            metadata = dict(f.metadata() or {})
            names = list(f.keys()) if tensors else []
            loaded = {k: f.get_tensor(k) for k in names}
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{p} is not a readable safetensors file: {err}") from None
    if tensors and DIGEST_KEY in metadata and tensor_digest(loaded) != metadata[DIGEST_KEY]:
        raise CheckpointError(
            f"{p} is damaged: its tensors do not match the digest recorded when it was written "
            "(a changed bit, a bad disk or an edit); use another checkpoint or retrain"
        )
    return loaded, metadata


def read_tensors(path: str | Path) -> dict[str, Tensor]:
    """The tensors of any safetensors file (a checkpoint, a run folder's, a bare state dict).

    An lle checkpoint's digest is verified.

    Raises:
        CheckpointError: Missing, unreadable or damaged file.
    """
    return _read(resolve_weights_path(path), tensors=True)[0]


def _open(path: str | Path, *, tensors: bool) -> tuple[dict[str, Tensor], dict[str, str], Path]:
    p = resolve_weights_path(path)
    loaded, metadata = _read(p, tensors=tensors)
    if "lle_format" not in metadata or "model_spec" not in metadata:
        raise CheckpointError(
            f"{p} is not an lle checkpoint (its metadata has no 'lle_format'/'model_spec'); "
            "to load plain weights build the model and call lle_core.checkpoint.load_weights"
        )
    if metadata["lle_format"] != LLE_FORMAT:
        raise CheckpointError(
            f"{p} has lle_format {metadata['lle_format']!r}; this lle-core reads {LLE_FORMAT!r}"
        )
    return loaded, metadata, p


def read_checkpoint(path: str | Path) -> tuple[dict[str, Tensor], dict[str, str]]:
    """Read the weights and metadata of an lle safetensors checkpoint.

    Raises:
        CheckpointError: Missing file, not a safetensors file, or not written by lle.
    """
    tensors, metadata, _ = _open(path, tensors=True)
    return tensors, metadata


def read_metadata(path: str | Path) -> dict[str, str]:
    """The metadata of an lle checkpoint (no tensor is read)."""
    return _open(path, tensors=False)[1]


def checkpoint_spec(path: str | Path) -> dict[str, Any]:
    """The model spec (plain data) recorded in a checkpoint."""
    metadata = read_metadata(path)
    try:
        spec = json.loads(metadata["model_spec"])
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path}: unreadable model_spec metadata: {err}") from None
    if not isinstance(spec, dict) or "type" not in spec:
        raise CheckpointError(f"{path}: model_spec metadata is not a spec with 'type'")
    return spec


def load_model(
    path: str | Path,
    *,
    map_location: str | torch.device = "cpu",
    overrides: Mapping[str, Any] | None = None,
    max_parameters: int = MAX_PARAMETERS,
) -> nn.Module:
    """Rebuild the model recorded in a checkpoint and load its weights.

    The file's digest is verified, then the architecture is built on the ``meta`` device
    (no memory) and checked against the budget and the file's tensors; only then is it
    built for real (see the module docstring).

    Args:
        path: ``.safetensors`` file, checkpoint name, or run directory (its ``best``).
        map_location: Device of the returned model.
        overrides: Parameters replacing those of the recorded spec before it is rebuilt —
            inference options such as NEID's ``mode`` or FRLIE's ``post_blend``. An override
            that changes the architecture makes the strict weight load fail with the list
            of keys that no longer fit.
        max_parameters: Largest number of parameter and buffer elements the spec may build.

    Returns:
        The model in eval mode.

    Raises:
        CheckpointError: Missing file, not an lle checkpoint, damaged (digest mismatch), or a
            spec above ``max_parameters``.
        ComponentNotFoundError: The recorded model belongs to a plugin that is not installed.
        WeightsError: The weights do not fit the rebuilt architecture (names, shapes, or an
            integer tensor for a float parameter).
    """
    from lle_core.pretrained import restoring_from_checkpoint
    from lle_core.spec import parse_spec

    tensors, _, p = _open(path, tensors=True)
    recorded = checkpoint_spec(p)
    if overrides:
        recorded = {**recorded, **{k: v for k, v in overrides.items() if k != "type"}}
    spec = parse_spec("model", recorded)
    _check_on_meta(spec, tensors, p, max_parameters)
    with restoring_from_checkpoint():  # frozen pretrained parts come from the checkpoint too
        model = spec.build()
    load_weights(model, tensors, source=str(p))
    mark_weights(model, str(p))
    return model.to(map_location).eval()


def _check_on_meta(spec: Any, tensors: Mapping[str, Tensor], path: Path, budget: int) -> None:
    """Build ``spec`` on the meta device; refuse it above ``budget`` or when it misfits.

    A component whose constructor cannot run on the meta device (it computes with tensor
    values) is left to the real build and :func:`load_weights`.
    """
    from lle_core.pretrained import restoring_from_checkpoint

    try:
        with restoring_from_checkpoint(), torch.device("meta"):
            shell = spec.build()
    except Exception:  # a real error recurs in the real build below
        return
    if not isinstance(shell, nn.Module):
        return
    size = sum(t.numel() for t in shell.parameters()) + sum(t.numel() for t in shell.buffers())
    if size > budget:
        raise CheckpointError(
            f"{path}: its model spec ({spec.name}) builds {size:,} parameters, above the "
            f"budget of {budget:,}; lle refuses it before allocating any memory (pass "
            "max_parameters= to lle_core.checkpoint.load_model to raise the budget)"
        )
    check_fit(shell, tensors, source=str(path))


def _fmt_shape(t: Tensor) -> str:
    return "(" + ", ".join(str(s) for s in t.shape) + ")"


def _listing(title: str, rows: list[str], limit: int = 25) -> list[str]:
    if not rows:
        return []
    shown = rows[:limit]
    more = [f"    ... and {len(rows) - limit} more"] if len(rows) > limit else []
    return [f"  {title} ({len(rows)}):", *(f"    {r}" for r in shown), *more]


def _kind(t: Tensor) -> str:
    return "float" if t.is_floating_point() else "complex" if t.is_complex() else str(t.dtype)


def check_fit(module: nn.Module, state_dict: Mapping[str, Tensor], *, source: str) -> None:
    """Check that ``state_dict`` fits ``module`` exactly (``module`` may be on the meta device).

    Keys under an Enhancer's ``training_only_prefixes`` may be missing (exported checkpoints
    leave them out); everything else must match in name and shape, and in kind of dtype: a
    floating-point tensor of the module takes any floating-point tensor (float16 storage is
    cast), any other only its own dtype (an int64 tensor never truncates float weights).

    Raises:
        WeightsError: Lists missing, unexpected, shape- and dtype-mismatched keys.
    """
    expected = module.state_dict()
    optional = tuple(getattr(module, "training_only_prefixes", ()) or ())
    missing = [
        f"{k} {_fmt_shape(v)}"
        for k, v in expected.items()
        if k not in state_dict and not (optional and k.startswith(optional))
    ]
    unexpected = [f"{k} {_fmt_shape(v)}" for k, v in state_dict.items() if k not in expected]
    mismatched = [
        f"{k}: checkpoint {_fmt_shape(v)} vs model {_fmt_shape(expected[k])}"
        for k, v in state_dict.items()
        if k in expected and tuple(v.shape) != tuple(expected[k].shape)
    ]
    wrong_dtype = [
        f"{k}: checkpoint {v.dtype} vs model {expected[k].dtype}"
        for k, v in state_dict.items()
        if k in expected and _kind(v) != _kind(expected[k])
    ]
    if missing or unexpected or mismatched or wrong_dtype:
        lines = [
            f"weights from {source} do not fit {type(module).__name__} "
            f"({len(expected)} tensors in the model, {len(state_dict)} in the weights):",
            *_listing("missing in the weights", missing),
            *_listing("unexpected (not in the model)", unexpected),
            *_listing("shape mismatch", mismatched),
            *_listing("dtype mismatch", wrong_dtype),
        ]
        raise WeightsError("\n".join(lines))


def load_weights(module: nn.Module, state_dict: Mapping[str, Tensor], *, source: str) -> None:
    """Load weights strictly, with an error that says exactly what does not fit.

    Args:
        module: Target module.
        state_dict: Weights to load.
        source: Where they come from (file name), for the message.

    Raises:
        WeightsError: See :func:`check_fit`.
    """
    check_fit(module, state_dict, source=source)
    module.load_state_dict(dict(state_dict), strict=False)


def load_state(path: str | Path) -> dict[str, Any]:
    """Read a ``.state.pt`` training-state file with ``torch.load(weights_only=True)``.

    Raises:
        CheckpointError: Missing, truncated, or holding anything but tensors and plain data.
    """
    p = Path(path)
    if p.name.endswith(WEIGHTS_SUFFIX):  # the weights file of a checkpoint: its state file
        p = p.with_name(p.name[: -len(WEIGHTS_SUFFIX)] + STATE_SUFFIX)
    elif not p.name.endswith(STATE_SUFFIX):
        p = p.with_name(p.name + STATE_SUFFIX) if not p.is_file() else p
    if not p.is_file():
        raise CheckpointError(f"training state not found: {p}")
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        first = (str(err).splitlines() or [""])[0]
        raise CheckpointError(
            f"refusing to load {p}: it holds objects other than tensors and plain data "
            f"(weights_only load failed: {first})"
        ) from None
    except MemoryError:
        raise
    except Exception as err:  # a corrupt file can make the unpickler raise almost anything
        first = (str(err).splitlines() or [""])[0]
        raise CheckpointError(
            f"{p} is not a readable training state ({type(err).__name__}: {first})"
        ) from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise CheckpointError(f"{p} is not an lle training state (format {STATE_FORMAT!r})")
    recorded = state.pop(STATE_DIGEST_KEY, None)
    if recorded is not None and recorded != state_digest(state):
        raise CheckpointError(
            f"{p} is damaged: its contents do not match the digest recorded when it was "
            "written (a changed bit, a bad disk or an edit); resume from another checkpoint"
        )
    return state


#: ``format`` key of a training-state file.
STATE_FORMAT = "lle-state-1"


def weights_step(path: str | Path) -> int | None:
    """Step recorded in a weights file (``None`` if the file is missing or unreadable)."""
    try:
        return int(read_metadata(path).get("step", -1))
    except (CheckpointError, ValueError):
        return None
