"""The Python examples in the docs run, so they can never rot.

Every fenced ``python`` block of the listed pages is executed in order in one namespace,
except blocks whose first line is ``# file: ...`` (those show the content of a file in a
plugin's source tree).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
EXECUTED_PAGES = ["plugin-api.md", "composition.md"]
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(page: Path) -> list[str]:
    blocks = [b for b in FENCE.findall(page.read_text(encoding="utf-8"))]
    return [b for b in blocks if not b.lstrip().startswith("# file:")]


@pytest.mark.parametrize("page", EXECUTED_PAGES)
def test_page_examples_run(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = DOCS / page
    if not path.exists():
        pytest.fail(f"docs/{page} is missing")
    blocks = python_blocks(path)
    assert blocks, f"docs/{page} has no executable python example"
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{page}"}
    for i, block in enumerate(blocks):
        code = compile(block, f"docs/{page} [python block {i + 1}]", "exec")
        exec(code, namespace)
