"""Lazy package attributes: names that import their module on first access.

Packages of the toolkit keep ``import <package>`` cheap (no torch) by exposing their heavy
classes and functions through a module-level ``__getattr__`` (PEP 562). This helper builds that
``__getattr__`` (and a matching ``__dir__``) once, so every package only lists which names come
from which module::

    from lle_core.lazy import lazy_exports

    __getattr__, __dir__, _LAZY_NAMES = lazy_exports(__name__, {
        "lle_auxnet.model": ("AuxNet", "AuxNetParams"),
        "lle_auxnet.trainer": ("StagedTrainer",),
    })
    __all__ = ["__version__", *_LAZY_NAMES]

This module imports nothing heavy itself.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(
    module_name: str, exports: Mapping[str, Iterable[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """Make a module's ``__getattr__`` and ``__dir__`` for lazily imported names.

    Args:
        module_name: ``__name__`` of the package that exposes the names (used to cache a
            resolved value in its namespace, so later accesses skip ``__getattr__``, and in the
            ``AttributeError`` message).
        exports: Source module -> names it provides under the same name, e.g.
            ``{"lle_core.interfaces": ("Enhancer", "Backbone")}``.

    Returns:
        ``(__getattr__, __dir__, names)``: the two module-level functions (``__getattr__``
        imports the source module on first access and raises ``AttributeError`` for unknown
        names; ``__dir__`` lists the module's own names plus the lazy ones) and the lazy names
        in the given order (for ``__all__``).

    Raises:
        ValueError: A name listed under two modules.
    """
    source_of: dict[str, str] = {}
    for source, names in exports.items():
        for name in names:
            if name in source_of:
                raise ValueError(f"{module_name}: lazy name {name!r} is listed under both "
                                 f"{source_of[name]!r} and {source!r}")
            source_of[name] = source

    def __getattr__(name: str) -> Any:
        source = source_of.get(name)
        if source is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(source), name)
        module = sys.modules.get(module_name)
        if module is not None:
            setattr(module, name, value)
        return value

    def __dir__() -> list[str]:
        module = sys.modules.get(module_name)
        own = set(vars(module)) if module is not None else set()
        return sorted(own | set(source_of))

    return __getattr__, __dir__, list(source_of)


__all__ = ["lazy_exports"]
