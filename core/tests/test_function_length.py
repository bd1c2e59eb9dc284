"""No function in lle-core is longer than :data:`MAX_LINES` lines (issue 21: small pieces).

A function's length is counted from its ``def`` line to its last line, docstring included.
Split a longer one into named steps.
"""

from __future__ import annotations

import ast
from pathlib import Path

#: The longest function allowed in ``core/src`` (lines, ``def`` to last line).
MAX_LINES = 80
SRC = Path(__file__).resolve().parents[1] / "src"


def long_functions(root: Path, limit: int = MAX_LINES) -> list[tuple[str, int]]:
    """``("path:line name", lines)`` of every function in ``root`` longer than ``limit``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > limit:
                    where = f"{path.relative_to(root.parent)}:{node.lineno} {node.name}"
                    found.append((where, lines))
    return found


def test_the_checker_finds_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    (tmp_path / "m.py").write_text(f"def short():\n    pass\n\n\ndef long():\n{body}\n")
    assert long_functions(tmp_path) == [(f"{tmp_path.name}/m.py:5 long", MAX_LINES + 1)]


def test_no_function_in_core_is_longer_than_the_limit() -> None:
    assert long_functions(SRC) == []
