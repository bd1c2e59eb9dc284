"""A sixth plugin started from ``plugins/_template`` registers and passes the kit, core untouched.

The template is copied under a new id (``acme``) with the renames its README lists, made
importable as an installed distribution (its ``*.dist-info`` with the ``lle.plugins`` entry
point, on ``sys.path`` and ``PYTHONPATH``), and checked like any installed plugin: every
component by the conformance kit, its recipe by the run-config validation, its isolation in
fresh interpreters.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lle_core import plugins as plugin_mod
from lle_core.engine.config import load_recipe, validate_run_config
from lle_core.testing import check_component, check_isolation, conformance_cases

TEMPLATE = Path(__file__).resolve().parents[1] / "plugins" / "_template"
NEW_ID = "acme"
#: The renames of the template's README, step 2, in order.
RENAMES = [
    ("lle_template", f"lle_{NEW_ID}"),
    ("lle-template", f"lle-{NEW_ID}"),
    ("template = ", f"{NEW_ID} = "),
    ('plugin="template"', f'plugin="{NEW_ID}"'),
    ('check_isolation("template")', f'check_isolation("{NEW_ID}")'),
    ("template.", f"{NEW_ID}."),
    ("template:", f"{NEW_ID}:"),
    ("template-", f"{NEW_ID}-"),
]


def copy_template(dest: Path) -> Path:
    """Copy the template to ``dest`` with every rename applied (paths and file contents)."""
    for src in sorted(TEMPLATE.rglob("*")):
        rel = src.relative_to(TEMPLATE)
        if "egg-info" in str(rel) or "__pycache__" in rel.parts:
            continue
        target = dest / str(rel).replace("lle_template", f"lle_{NEW_ID}")
        if src.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        text = src.read_text(encoding="utf-8")
        for old, new in RENAMES:
            text = text.replace(old, new)
        target.write_text(text, encoding="utf-8")
    return dest


def install(src: Path) -> None:
    """Make ``src`` look installed: a ``*.dist-info`` declaring the entry point next to it."""
    info = src / f"lle_{NEW_ID}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: lle-{NEW_ID}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{plugin_mod.GROUP}]\n{NEW_ID} = lle_{NEW_ID}.hooks\n"
    )


@pytest.fixture(scope="module")
def new_plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = copy_template(tmp_path_factory.mktemp("plugins") / NEW_ID)
    src = root / "src"
    install(src)
    mp = pytest.MonkeyPatch()
    mp.syspath_prepend(str(src))
    mp.setenv("PYTHONPATH", str(src))  # check_isolation's fresh interpreters see it too
    importlib.invalidate_caches()
    plugin_mod.reload_plugins()
    try:
        yield root
    finally:
        mp.undo()
        for name in [m for m in sys.modules if m.split(".")[0] == f"lle_{NEW_ID}"]:
            del sys.modules[name]
        importlib.invalidate_caches()
        plugin_mod.reload_plugins()


def test_every_rename_of_the_readme_applies_to_the_template() -> None:
    text = "".join(p.read_text("utf-8") for p in TEMPLATE.rglob("*") if p.is_file()
                   and "egg-info" not in str(p) and "__pycache__" not in p.parts)
    assert [old for old, _ in RENAMES if old not in text] == []
    readme = (TEMPLATE / "README.md").read_text("utf-8")
    assert all(f"`{old.strip()}" in readme for old, _ in RENAMES)


def test_the_new_plugin_registers_and_passes_the_kit(new_plugin: Path) -> None:
    records = {r.id: r for r in plugin_mod.plugin_records()}
    assert records[NEW_ID].status == "loaded", records[NEW_ID].error
    assert records[NEW_ID].distribution == f"lle-{NEW_ID}"
    cases = conformance_cases(plugin=NEW_ID)
    assert ("model", f"{NEW_ID}.model") in cases
    for kind, name in cases:
        check_component(kind, name)


def test_the_new_plugin_recipe_is_a_valid_run_config(new_plugin: Path) -> None:
    recipe = load_recipe(NEW_ID, "paper")
    recipe["data"]["train"]["root"] = str(new_plugin)  # what --data DIR sets
    config = validate_run_config(recipe, source=f"{NEW_ID}:paper")
    assert config.model_spec.name == f"{NEW_ID}.model"


def test_the_new_plugin_needs_only_core(new_plugin: Path) -> None:
    check_isolation(NEW_ID)


def test_the_new_plugin_adds_a_command_and_a_backend(new_plugin: Path, tmp_path: Path) -> None:
    """The copy's own tests (its ``lle acme-export`` and ``--backend acme-program``) pass."""
    test = new_plugin / "tests" / "test_cli_extensions.py"
    assert "acme-export" in test.read_text("utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
         str(tmp_path), "--basetemp", str(tmp_path / "t"), str(test)],
        capture_output=True, text=True, cwd=tmp_path, env=dict(os.environ), timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
