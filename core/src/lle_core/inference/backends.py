"""Inference backends: model files run by another runtime, through :func:`enhance`.

A backend is a :class:`~lle_core.hookspecs.Backend` record returned by a plugin's
``lle_inference_backends`` hook; core's own ONNX Runtime backend (``onnxruntime``, reading
files written by ``lle export``) comes through the same hook (:mod:`lle_core.builtins`).
``torch`` (the default) is not a backend record: it is the PyTorch model itself.

Example:
    >>> from lle_core.inference import enhance
    >>> from lle_core.inference.backends import load_backend
    >>> model = load_backend("onnxruntime", "unet.onnx")  # doctest: +SKIP
    >>> out = enhance(model, "photo.jpg")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lle_core.errors import ConfigError
from lle_core.hookspecs import Backend
from lle_core.plugins import call_hook
from lle_core.registry import import_path

#: The built-in backend: the PyTorch model named by ``model``/``weights``.
TORCH = "torch"


@dataclass
class Backends:
    """The installed backends by name, and the hook results left out (with why)."""

    by_name: dict[str, tuple[str, Backend]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def inference_backends() -> Backends:
    """Every backend the loaded plugins provide (``lle_inference_backends`` hook).

    A record that is not a :class:`~lle_core.hookspecs.Backend`, takes the reserved name
    ``torch`` or a name an earlier plugin took (core first, then plugins by id) is left
    out and described in :attr:`Backends.problems`, like a plugin whose hook raised.
    """
    found = Backends()
    hook = call_hook("lle_inference_backends")
    found.problems += [f"plugin {pid!r}: {err}" for pid, err in hook.errors]
    for plugin_id, item in hook.results:
        if not isinstance(item, Backend):
            found.problems.append(
                f"plugin {plugin_id!r} returned {type(item).__name__}, not a Backend record"
            )
        elif item.name == TORCH or item.name in found.by_name:
            owner = "core" if item.name == TORCH else found.by_name[item.name][0]
            found.problems.append(
                f"plugin {plugin_id!r}: backend name {item.name!r} is taken by {owner!r}"
            )
        else:
            found.by_name[item.name] = (plugin_id, item)
    return found


def backend_names() -> list[str]:
    """``torch`` and the name of every installed backend."""
    return [TORCH, *sorted(inference_backends().by_name)]


def load_backend(name: str, path: str | os.PathLike[str]) -> Any:
    """Load the model file ``path`` with the backend ``name``: an enhancer for ``enhance``.

    Raises:
        ConfigError: No installed backend is called ``name`` (the message lists those that
            are, and any plugin whose backend hook failed), or ``name`` is ``torch`` (which
            takes a model, not a file: see :func:`~lle_core.inference.model_for_inference`).
    """
    if name == TORCH:
        raise ConfigError([(
            "backend", "torch runs a PyTorch model (model=/weights=), not a backend file"
        )])
    found = inference_backends()
    if name not in found.by_name:
        extra = f" (left out: {'; '.join(found.problems)})" if found.problems else ""
        raise ConfigError([(
            "backend", f"no backend {name!r}; installed: {', '.join(backend_names())}{extra}"
        )])
    _, backend = found.by_name[name]
    load = import_path(backend.load) if isinstance(backend.load, str) else backend.load
    return load(Path(path))


__all__ = ["TORCH", "Backends", "backend_names", "inference_backends", "load_backend"]
