"""The plugin guide's `pyproject.toml` and hook module, copied as written, build a wheel that
declares the plugin's entry point."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
#: Fenced blocks (indented or not) whose first line is ``# file: PATH``.
FILE_BLOCK = re.compile(r"^( *)```(\w+)\n\1# file: (\S+)\n(.*?)^\1```", re.S | re.M)


def guide_files(page: str) -> dict[str, str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return {m.group(3): textwrap.dedent(m.group(4)) for m in FILE_BLOCK.finditer(text)}


def test_plugin_guide_snippet_builds_a_wheel_with_the_entry_point(tmp_path: Path) -> None:
    files = guide_files("plugin-api.md")
    assert "pyproject.toml" in files and "src/lle_myplugin/hooks.py" in files, sorted(files)
    for rel in ("pyproject.toml", "src/lle_myplugin/hooks.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(files[rel], encoding="utf-8")
    (tmp_path / "src/lle_myplugin/__init__.py").write_text("", encoding="utf-8")
    dist = tmp_path / "dist"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(dist), str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    wheels = sorted(dist.glob("lle_myplugin-*.whl"))
    assert len(wheels) == 1, sorted(dist.iterdir())
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = wheel.namelist()
        assert "lle_myplugin/hooks.py" in names
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        text = wheel.read(entry_points).decode()
    assert "[lle.plugins]" in text and "myplugin = lle_myplugin.hooks" in text
