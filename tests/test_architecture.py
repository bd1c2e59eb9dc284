"""docs/architecture.md matches the import-linter contracts, and the kernel stays small."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "core" / "src" / "lle_core"
DOC = ROOT / "docs" / "architecture.md"

#: The kernel (docs/architecture.md, "The kernel and its size"): the layers between the
#: components and the foundation, and its line budget.
KERNEL = ("spec", "plugins", "hookspecs", "interfaces", "registry", "manifest", "description")
KERNEL_MAX_LINES = 2500


def _contracts() -> list[dict[str, object]]:
    if sys.version_info < (3, 11):
        pytest.skip("tomllib needs Python 3.11")
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(data["tool"]["importlinter"]["contracts"])


def _layers() -> list[str]:
    (layers,) = [c for c in _contracts() if c["type"] == "layers"]
    assert layers["containers"] == ["lle_core"] and layers["exhaustive"] is True
    rows = layers["layers"]
    assert isinstance(rows, list)
    return [str(r) for r in rows]


def test_the_doc_lists_the_layers_contract_verbatim() -> None:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```text\n(.*?)```", text, flags=re.S)
    assert _layers() in [block.strip().splitlines() for block in blocks], (
        "docs/architecture.md must list the layers of pyproject.toml's contract verbatim"
    )


def test_every_top_level_module_is_in_one_layer() -> None:
    placed = [m for row in _layers() for m in re.split(r"\s*[|:]\s*", row)]
    assert len(placed) == len(set(placed))
    modules = {p.stem for p in CORE.glob("*.py") if p.stem != "__init__"}
    modules |= {p.parent.name for p in CORE.glob("*/__init__.py")}
    assert modules == set(placed), f"not placed: {sorted(modules - set(placed))}"


def test_no_cycle_and_plugin_contracts_cover_core_and_every_plugin() -> None:
    kinds = {c["type"]: c for c in _contracts()}
    plugins = {f"lle_{p.name}" for p in (ROOT / "plugins").iterdir()
               if (p / "pyproject.toml").is_file() and not p.name.startswith("_")}
    assert set(kinds["acyclic_siblings"]["ancestors"]) == {"lle_core", *plugins}
    assert set(kinds["independence"]["modules"]) == plugins
    assert set(kinds["forbidden"]["source_modules"]) == plugins


def test_the_kernel_is_the_layers_between_components_and_foundation() -> None:
    rows = _layers()
    first = next(i for i, row in enumerate(rows) if row.startswith("spec "))
    kernel = [m for row in rows[first:-1] for m in re.split(r"\s*[|:]\s*", row)]
    assert tuple(kernel) == KERNEL


def test_the_kernel_stays_within_its_line_budget() -> None:
    lines = sum(len((CORE / f"{m}.py").read_text(encoding="utf-8").splitlines())
                for m in KERNEL)
    assert lines <= KERNEL_MAX_LINES, (
        f"the kernel ({', '.join(KERNEL)}) has {lines} lines, over {KERNEL_MAX_LINES}: move "
        "what is not registry, specs, interfaces or plugin loading into a layer above"
    )
    text = DOC.read_text(encoding="utf-8")
    assert all(f"`{m}`" in text for m in KERNEL) and "2,500 lines" in text
