"""Kit rule ``params_match_init``: a component's ``Params`` is the one source of its parameters.

A component declares its parameters once, in its pydantic ``Params`` model (which validates a
spec before anything is built), and its ``__init__`` takes the same keywords with the same
defaults: ``spec.build()`` calls ``Class(**params, **runtime)``, and a Python user calling
``Class(...)`` directly gets the same defaults as a config. This rule fails when the two
disagree: a ``Params`` field that ``__init__`` does not take, an ``__init__`` keyword that
``Params`` does not declare (other than the kind's runtime keywords, :data:`RUNTIME_KEYWORDS`),
or a default that differs (tuples and lists compare equal; ``None`` in ``__init__`` stands for a
mutable list/dict/set default of ``Params``, Python's idiom). Validation belongs to ``Params``
only; ``__init__`` does not repeat it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

from lle_core.registry import Entry, registries

RULE = "params_match_init"

#: Keywords a kind's factory receives at build time from its host, not from its spec.
RUNTIME_KEYWORDS: dict[str, tuple[str, ...]] = {
    "fusion": ("channels",),
    "trainer": ("model", "loss"),
}

_MISSING = object()
_KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _plain(value: Any) -> Any:
    """Tuples as lists and mappings as dicts, recursively (defaults compare by value)."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def params_mismatches(
    factory: Callable[..., Any], params: type[BaseModel], runtime: tuple[str, ...] = ()
) -> list[str]:
    """Every disagreement between ``factory``'s keywords/defaults and ``params`` (empty: none).

    Args:
        factory: The component class (its ``__init__``) or factory function.
        params: Its pydantic parameter model.
        runtime: Keywords supplied at build time (allowed in ``__init__`` only).
    """
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # a builtin without a signature: nothing to compare
        return []
    given = signature.parameters.values()
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in given)
    keywords = {p.name: p for p in given if p.kind in _KEYWORD_KINDS}
    problems: list[str] = []
    for name, field in params.model_fields.items():
        keyword = keywords.get(name)
        if keyword is None:
            if not takes_any:
                problems.append(f"Params field {name!r} is not a keyword of __init__")
            continue
        declared = _MISSING if field.is_required() else field.get_default(
            call_default_factory=True)
        default = _MISSING if keyword.default is inspect.Parameter.empty else keyword.default
        if declared is _MISSING and default is not _MISSING:
            problems.append(f"{name!r} is required in Params but defaults to {default!r} "
                            "in __init__")
        elif declared is not _MISSING and default is _MISSING:
            problems.append(f"{name!r} defaults to {declared!r} in Params but __init__ "
                            "requires it")
        elif default is None and isinstance(declared, list | dict | set):
            continue  # Python's idiom for a mutable default: None in __init__, the value in Params
        elif declared is not _MISSING and _plain(declared) != _plain(default):
            problems.append(f"{name!r} defaults to {declared!r} in Params but to "
                            f"{default!r} in __init__")
    for name in keywords:
        if name not in params.model_fields and name not in runtime:
            problems.append(f"__init__ takes {name!r}, which Params does not declare")
    return problems


def check_params(kind: str, name: str | Entry) -> None:
    """Fail (``[params_match_init]``) when a component's ``__init__`` disagrees with ``Params``.

    Raises:
        AssertionError: Names the component and every disagreeing keyword.
    """
    entry = name if isinstance(name, Entry) else registries()[kind].get(name)
    problems = params_mismatches(entry.resolve_factory(), entry.params,
                                 RUNTIME_KEYWORDS.get(entry.kind, ()))
    if problems:
        raise AssertionError(
            f"{entry.kind} {entry.name!r} breaks the contract [{RULE}]: "
            + "; ".join(problems)
            + " (Params is the one source of the parameters: give __init__ the same keywords "
            "and defaults)"
        )
