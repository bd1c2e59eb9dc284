"""Components describe themselves: one convention for core and every plugin (issue 13, item 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lle_core.registry import describe, import_path, registries

ROOT = Path(__file__).resolve().parents[1]
CORE_HOOKS = ROOT / "core/src/lle_core/builtins.py"
HOOK_FILES = [*sorted(ROOT.glob("plugins/*/src/lle_*/hooks.py")), CORE_HOOKS]
#: Keyword arguments of ``register`` that would repeat what the class says about itself.
DESCRIPTION_KWARGS = {"params", "summary", "paper", "capabilities"}


def _register_calls(path: Path) -> list[ast.Call]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        and node.func.id == "register"
    ]


@pytest.mark.parametrize("path", HOOK_FILES, ids=lambda p: p.parent.name)
def test_hooks_only_name_classes(path: Path) -> None:
    calls = _register_calls(path)
    assert calls, f"{path} registers nothing"
    for call in calls:
        repeated = {k.arg for k in call.keywords} & DESCRIPTION_KWARGS
        assert not repeated, f"{path}:{call.lineno} repeats {repeated} (belongs on the class)"
        factory = call.args[2] if len(call.args) > 2 else None
        if isinstance(factory, ast.Constant):
            assert isinstance(factory.value, str) and ":" in factory.value, (
                f"{path}:{call.lineno}: factory must be a 'module:Class' path"
            )


def _class_entries() -> list[str]:
    return [
        f"{kind}:{entry.name}"
        for kind in registries()
        if kind != "weights"
        for entry in registries()[kind].entries()
        if isinstance(entry.factory, str)
    ]


@pytest.mark.parametrize("item", _class_entries())
def test_entry_says_what_its_class_says(item: str) -> None:
    kind, _, name = item.partition(":")
    entry = registries()[kind].get(name)
    assert isinstance(entry.factory, str)
    own = describe(import_path(entry.factory))
    assert entry.summary and entry.summary == own.summary
    assert entry.params is own.params
    assert entry.paper == own.paper
    assert entry.capabilities == own.capabilities


def test_dln_model_is_listed_with_its_class_tiling() -> None:
    # The bug of issue 13: dln.model was registered without capabilities and listed as "tile"
    # while its class said "whole"; now the listing is what the class says.
    from lle_dln.model import DLN

    entry = registries()["model"].get("dln.model")
    assert entry.capabilities == DLN.default_capabilities
    assert entry.capabilities.tiling == DLN.default_capabilities.tiling


@pytest.mark.parametrize(
    ("name", "radius"),
    [("neid.model", 244), ("frlie.model", 147)],
)
def test_receptive_fields_are_computed_by_the_class(name: str, radius: int) -> None:
    entry = registries()["model"].get(name)
    assert entry.capabilities.receptive_field == radius
    model = registries()["model"].get(name).resolve_factory()()
    assert model.capabilities.receptive_field == radius


def test_no_unused_block_registrations() -> None:
    # One block stays registered: the building-block example of docs/composition.md.
    blocks = registries()["block"].names()
    composition = (ROOT / "docs/composition.md").read_text(encoding="utf-8")
    assert blocks == ["hf2.channel_attention"]
    assert all(name in composition for name in blocks)
