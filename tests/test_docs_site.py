"""The built docs site: docstring examples render as highlighted code, offline."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings")

ROOT = Path(__file__).resolve().parents[1]
#: API pages whose docstrings hold ``>>>`` examples.
EXAMPLE_PAGES = ("registry", "lle_core", "files", "global_ops", "inference", "testing")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.mark.parametrize("page", EXAMPLE_PAGES)
def test_docstring_examples_render_as_code(site: Path, page: str) -> None:
    html = (site / "api" / f"{page}.html").read_text(encoding="utf-8")
    prompts = re.findall(r'<span class="gp">&gt;&gt;&gt; </span>', html)
    assert prompts, f"api/{page}: no >>> example rendered as console code"
    assert "<blockquote>" not in html, f"api/{page}: an example became nested quotes"
    assert "doctest:" not in html, f"api/{page}: doctest flags shown"


def test_code_is_highlighted_without_network(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert pages
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "cdnjs" not in html and "highlight.min.js" not in html, page
    css = (site / "css" / "pygments.css").read_text(encoding="utf-8")
    assert ".highlight .k" in css  # keyword colours: the spans below get a style
    inference = (site / "inference.html").read_text(encoding="utf-8")
    assert '<div class="highlight"><pre>' in inference and '<span class="' in inference
