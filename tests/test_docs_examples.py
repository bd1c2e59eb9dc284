"""The examples in the docs run, so they can never rot.

For each listed page, in a temporary folder holding ``data/paired`` (``low/`` + ``high/``),
``data/low`` and ``data/clean`` of generated images:

* every fenced ``python`` block is executed in order in one namespace, except blocks whose
  first line is ``# file: ...`` (those show a file of a plugin's source tree);
* every fenced ``yaml`` block that is a run config (has a ``model:`` key) is validated and
  trained for the budget it states (the examples keep it at a couple of steps).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from lle_core.testing.strategies import make_image_folders

DOCS = Path(__file__).resolve().parents[1] / "docs"
EXECUTED_PAGES = ["plugin-api.md", "composition.md"]
PYTHON = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
YAML = re.compile(r"^```yaml\n(.*?)^```", re.S | re.M)


def python_blocks(page: Path) -> list[str]:
    blocks = PYTHON.findall(page.read_text(encoding="utf-8"))
    return [b for b in blocks if not b.lstrip().startswith("# file:")]


def run_configs(page: Path) -> list[dict]:
    blocks = [yaml.safe_load(b) for b in YAML.findall(page.read_text(encoding="utf-8"))]
    return [b for b in blocks if isinstance(b, dict) and "model" in b]


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    made = make_image_folders(tmp_path / "made", count=3, height=48, width=48)
    for name, src in (("paired", made["paired_dir"]), ("low", made["low_dir"]),
                      ("clean", made["clean_dir"])):
        shutil.copytree(src, tmp_path / "data" / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("page", EXECUTED_PAGES)
def test_page_python_examples_run(page: str, workdir: Path) -> None:
    path = DOCS / page
    assert path.exists(), f"docs/{page} is missing"
    blocks = python_blocks(path)
    assert blocks, f"docs/{page} has no executable python example"
    namespace: dict[str, object] = {"__name__": f"docs_{page}"}
    for i, block in enumerate(blocks):
        code = compile(block, f"docs/{page} [python block {i + 1}]", "exec")
        exec(code, namespace)  # executing our own documentation


def _yaml_cases() -> list[tuple[str, int]]:
    cases = []
    for page in EXECUTED_PAGES:
        path = DOCS / page
        if path.exists():
            cases += [(page, i) for i in range(len(run_configs(path)))]
    return cases


@pytest.mark.parametrize(("page", "index"), _yaml_cases())
def test_page_yaml_run_configs_train(page: str, index: int, workdir: Path) -> None:
    from lle_core.engine import train

    config = run_configs(DOCS / page)[index]
    assert config["budget"].get("steps", 99) <= 5, "doc examples must keep tiny budgets"
    result = train(config, out_dir=workdir / "run", progress=False)
    assert result.steps == config["budget"]["steps"]
    assert result.latest_checkpoint is not None and result.latest_checkpoint.exists()
