"""The README and docs/index.md are honest about installing (issue 22)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "docs" / "index.md"]
PYTHON = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _run(code: str, cwd: Path, plugins: str | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("LLE_PLUGINS", None)
    if plugins is not None:
        env["LLE_PLUGINS"] = plugins  # only these plugins load (and core)
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_install_from_a_package_index_that_serves_nothing(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"pip install[^\n#`]*\blle-(core|hf2|neid|frlie|auxnet|dln)\b", text)
    assert "pip install ./core" in text
    assert "download.pytorch.org/whl/cpu" in text  # the CPU-only torch line


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_stated_defaults_are_the_real_ones(page: Path, tmp_path: Path) -> None:
    code = "from lle_core.weight_sets import default_weight_set; print(default_weight_set()[0])"
    only_neid = _run(code, tmp_path, "neid")
    everything = _run(code, tmp_path, None)
    assert only_neid.returncode == 0 and everything.returncode == 0, only_neid.stderr
    text = " ".join(page.read_text(encoding="utf-8").split())
    sentence = text[text.index("only `lle-core` and `lle-neid`"):][:400]
    assert f"**{only_neid.stdout.strip()}**" in sentence
    assert f"every plugin installed the default is **{everything.stdout.strip()}**" in text or (
        f"every plugin **{everything.stdout.strip()}**" in text)


def test_readme_python_block_runs_with_only_core_and_neid(tmp_path: Path) -> None:
    blocks = PYTHON.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert blocks
    dark = (np.random.default_rng(0).random((64, 80, 3)) * 60).astype(np.uint8)
    Image.fromarray(dark).save(tmp_path / "dark.jpg")
    done = _run(blocks[0] + "\nassert enhanced.shape == (1, 3, 64, 80)\n", tmp_path, "neid")
    assert done.returncode == 0, done.stderr[-2000:]
