"""A registered component built from its example parameters (shared by every kit check)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from lle_core.factory import create
from lle_core.interfaces import LossTerm
from lle_core.registry import Entry
from lle_core.spec import parse_spec


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


def trainer_loss(entry: Entry) -> nn.Module | None:
    """The loss of a trainer's example, a single term wrapped into ``core.composite``."""
    spec = dict(entry.example or {}).get("loss")
    if spec is None:
        return None
    loss = parse_spec("loss", spec).build()
    if isinstance(loss, LossTerm) and not hasattr(loss, "evaluate"):
        loss = create("loss", {"type": "core.composite", "terms": [spec]})
    return loss
