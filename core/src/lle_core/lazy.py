"""Lazy package attributes: names that import their module on first access.

Packages of the toolkit keep ``import <package>`` cheap (no torch) by exposing their heavy
classes and functions through a module-level ``__getattr__`` (PEP 562). This helper builds that
``__getattr__`` (and a matching ``__dir__``) once, so every package declares only its table::

    from lle_core.lazy import lazy_exports

    _LAZY = {"Enhancer": "lle_core.interfaces:Enhancer", "AuxNet": "lle_auxnet.model"}
    __getattr__, __dir__ = lazy_exports(__name__, _LAZY)

This module imports nothing heavy itself.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def _split_target(name: str, target: str) -> tuple[str, str]:
    """``"pkg.mod:attr"`` -> ``("pkg.mod", "attr")``; a bare ``"pkg.mod"`` exports ``name``."""
    module_name, sep, attr = target.partition(":")
    return module_name, (attr if sep else name)


def lazy_exports(
    module_name: str, mapping: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Make a module's ``__getattr__`` and ``__dir__`` for lazily imported names.

    Args:
        module_name: ``__name__`` of the package that exposes the names (used to cache a
            resolved value in its namespace, so later accesses skip ``__getattr__``, and in the
            ``AttributeError`` message).
        mapping: Exported name -> ``"module:attribute"``, or just ``"module"`` when the
            attribute has the exported name.

    Returns:
        ``(__getattr__, __dir__)`` to assign at module level. ``__getattr__`` imports the
        target module on first access and raises ``AttributeError`` for unknown names;
        ``__dir__`` lists the module's own names plus the lazy ones.
    """
    table = dict(mapping)

    def __getattr__(name: str) -> Any:
        target = table.get(name)
        if target is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        source, attr = _split_target(name, target)
        value = getattr(importlib.import_module(source), attr)
        module = sys.modules.get(module_name)
        if module is not None:
            setattr(module, name, value)
        return value

    def __dir__() -> list[str]:
        module = sys.modules.get(module_name)
        own = set(vars(module)) if module is not None else set()
        return sorted(own | set(table))

    return __getattr__, __dir__


__all__ = ["lazy_exports"]
