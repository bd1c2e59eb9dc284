"""Loading the stage-1 encoder/decoder weights into a stage-2 model.

A stage-1 run of ``frlie.two_stage`` writes an lle checkpoint (safetensors) that holds the whole
model's state under some prefix (``model.encoder.conv1.1.weight`` or similar). This module reads
the file with :func:`lle_core.checkpoint.read_tensors` (digest verified) and picks the keys
that end in the model's own ``encoder.*`` / ``decoder.*`` names. A bare model state dict saved
as safetensors works too; which file a run folder means is lle's one rule
(:func:`lle_core.checkpoint.resolve_weights_path`).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from lle_core.checkpoint import read_tensors
from lle_core.errors import CheckpointError

#: Prefixes preferred when a key appears several times (e.g. a raw and an EMA copy).
_PREFERRED_PREFIXES: tuple[str, ...] = ("", "model.", "model/")


def autoencoder_state_keys(model: nn.Module) -> dict[str, Tensor]:
    """The ``encoder.*`` and ``decoder.*`` entries of ``model``'s state dict."""
    return {
        k: v
        for k, v in model.state_dict().items()
        if k.startswith("encoder.") or k.startswith("decoder.")
    }


def _find(key: str, available: list[str]) -> str | None:
    """The checkpoint key that stores ``key`` (exact, then preferred prefixes, then shortest)."""
    matches = [a for a in available if a == key or a.endswith("." + key) or a.endswith("/" + key)]
    if not matches:
        return None

    def rank(name: str) -> tuple[int, int, str]:
        prefix = name[: len(name) - len(key)]
        pref = _PREFERRED_PREFIXES.index(prefix) if prefix in _PREFERRED_PREFIXES else 99
        return (pref, len(prefix), name)

    return min(matches, key=rank)


def read_safetensors(path: str | Path) -> dict[str, Tensor]:
    """Read a safetensors file to CPU tensors.

    ``path`` follows lle's one rule (:func:`lle_core.checkpoint.resolve_weights_path`): a
    run directory means its ``best`` checkpoint, else its ``latest``.

    Raises:
        CheckpointError: The file is missing, is not a safetensors file or is damaged (an lle
            checkpoint's digest is verified, :func:`lle_core.checkpoint.read_tensors`).
    """
    try:
        return read_tensors(path)
    except CheckpointError as err:
        raise CheckpointError(
            f"cannot read the stage-1 checkpoint: {err}; pass the .safetensors checkpoint "
            "written by a `frlie.two_stage` stage-1 run"
        ) from None


def load_autoencoder_weights(model: nn.Module, path: str | Path) -> list[str]:
    """Copy E and D weights (and BN running statistics) from a checkpoint into ``model``.

    Args:
        model: A model with ``encoder`` and ``decoder`` sub-modules (``frlie.model`` or the
            :class:`lle_frlie.autoencoder.AutoEncoder`).
        path: Safetensors checkpoint of a stage-1 run (file, checkpoint name or run
            directory), or any model state dict saved as safetensors.

    Returns:
        The model's state-dict keys that were loaded (all ``encoder.*``/``decoder.*`` keys).

    Raises:
        CheckpointError: File missing/unreadable, keys missing, or shapes that do not fit
            (e.g. a decoder trained with another ``upsample`` or ``base_channels``).
    """
    state = read_safetensors(path)
    wanted = autoencoder_state_keys(model)
    if not wanted:
        raise CheckpointError(f"{type(model).__name__} has no encoder/decoder to load into")
    available = sorted(state)
    picked: dict[str, Tensor] = {}
    missing: list[str] = []
    for key, current in wanted.items():
        found = _find(key, available)
        if found is None:
            missing.append(key)
            continue
        value = state[found]
        if value.shape != current.shape:
            raise CheckpointError(
                f"stage-1 checkpoint {path}: {found!r} has shape {tuple(value.shape)} but the "
                f"model's {key!r} is {tuple(current.shape)}; the stage-1 run probably used "
                "another `upsample` or `base_channels`"
            )
        picked[key] = value
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        sample = ", ".join(available[:5]) + (" ..." if len(available) > 5 else "")
        hint = ""
        if picked and all(k.startswith("decoder.") for k in missing):
            hint = " (the stage-1 decoder probably used another `upsample` mode)"
        raise CheckpointError(
            f"stage-1 checkpoint {path} lacks {len(missing)} encoder/decoder entries "
            f"({shown}){hint}; it holds: {sample or 'nothing'}"
        )
    with torch.no_grad():
        own = model.state_dict()
        for key, value in picked.items():
            own[key].copy_(value.to(dtype=own[key].dtype))
    return sorted(picked)
