"""The conformance kit: contract checks for every registered component.

Installing a plugin is enough to have its components checked; a plugin's test suite (or an
outside author's) needs one line::

    # tests/test_conformance.py
    from lle_core.testing import conformance_tests

    test_conformance = conformance_tests(plugin="myplugin")

That collects one test per component the plugin registers (``fusion:myplugin.gated`` ...).
Each case first checks that the component's ``__init__`` takes exactly its ``Params``
keywords and defaults (:func:`check_params`). Single checks are available too
(``check_fusion("myplugin.gated")``), and
:mod:`lle_core.testing.strategies` has hypothesis strategies for awkward images.

Requires the ``testing`` extra: ``pip install lle-core[testing]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from lle_core.testing.checks import (
    CHECKS,
    RULES,
    check_backbone,
    check_block,
    check_component,
    check_dataset,
    check_fusion,
    check_loss,
    check_metric,
    check_model,
    check_trainer,
)
from lle_core.testing.examples import build_example
from lle_core.testing.gradients import Trainability, check_trainable
from lle_core.testing.isolation import check_isolation
from lle_core.testing.params import check_params


def conformance_cases(
    plugin: str | None = None, kinds: Iterable[str] | None = None
) -> list[tuple[str, str]]:
    """``(kind, name)`` of every registered component of ``plugin`` (all when ``None``)."""
    from lle_core.registry import registries

    regs = registries()
    wanted = set(kinds) if kinds is not None else set(CHECKS)
    cases = []
    for kind in regs:
        if kind not in wanted:
            continue
        for entry in regs[kind].entries():
            if plugin is None or entry.plugin == plugin:
                cases.append((kind, entry.name))
    return cases


def conformance_tests(
    plugin: str | None = None, kinds: Iterable[str] | None = None
) -> Callable[..., Any]:
    """A pytest test function parametrised over the components of ``plugin``.

    When the plugin registered nothing (not installed, failed to load, disabled) the single
    collected case fails with the plugin's load error instead of silently passing.
    """
    import pytest

    cases = conformance_cases(plugin, kinds)
    if not cases:
        cases = [("<none>", plugin or "<all>")]

    @pytest.mark.parametrize(("kind", "name"), cases, ids=[f"{k}:{n}" for k, n in cases])
    def test_conformance(kind: str, name: str) -> None:
        if kind == "<none>":
            from lle_core.plugins import load_errors

            err = load_errors().get(name)
            detail = f": {err.error}" if err else " (is it installed and enabled?)"
            pytest.fail(f"plugin {name!r} registered no component{detail}")
        check_params(kind, name)  # Params and __init__ agree (lle_core.testing.params)
        check_component(kind, name)

    return test_conformance


__all__ = [
    "RULES",
    "Trainability",
    "build_example",
    "check_backbone",
    "check_block",
    "check_component",
    "check_dataset",
    "check_fusion",
    "check_isolation",
    "check_loss",
    "check_metric",
    "check_model",
    "check_params",
    "check_trainable",
    "check_trainer",
    "conformance_cases",
    "conformance_tests",
]
