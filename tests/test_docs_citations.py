"""What ships cites only what a user can check (issue 13, item 7).

The project's private research note (the "paper specs" under ``../shared/specs``) is not part of
the repository or of any distribution, so no tracked source, recipe, test or document may cite
it: details are cited to the paper (section, equation, figure, table), to the authors' official
code, or called our own choice. The plugin READMEs are also the package descriptions shown on
the package index, where a relative link (``../../docs/x.md``) leads nowhere: they may link only
to absolute ``http(s)`` addresses or to anchors of the page itself.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THIS = Path(__file__).resolve().relative_to(ROOT).as_posix()

#: Folders (and top-level files) whose tracked text files are checked.
SCOPES = ("core", "plugins", "docs", "tests", "README.md")
SUFFIXES = (".md", ".py", ".yaml", ".yml")

#: Citations of the private spec: its file name, its folder, and "spec §N" (also across a line
#: break, as in "see spec\n§7.14").
FORBIDDEN = {
    "paper-specs": re.compile(r"paper-specs", re.IGNORECASE),
    "spec §": re.compile(r"spec\s*§", re.IGNORECASE),
    "shared/specs": re.compile(r"shared/specs", re.IGNORECASE),
}

FENCED_CODE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
LINK_TARGET = re.compile(r"\]\(\s*<?([^)\s>]*)")
ALLOWED_TARGET = ("http://", "https://", "#")


def tracked_files() -> list[str]:
    """Tracked files under the checked scopes, as repository-relative POSIX paths."""
    result = subprocess.run(
        ["git", "ls-files", "-z", "--", *SCOPES],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, f"git ls-files failed: {result.stderr.strip()}"
    files = [f for f in result.stdout.split("\0") if f]
    assert files, "git ls-files listed no file: is the test run inside the repository?"
    return files


def checked_text_files() -> list[str]:
    """The tracked .md/.py/.yaml files of the scopes, this test excepted (deleted ones skipped)."""
    return [
        f for f in tracked_files()
        if f.endswith(SUFFIXES) and f != THIS and (ROOT / f).is_file()
    ]


def relative_links(markdown: str) -> list[str]:
    """Link targets of ``markdown`` (outside code) that are not ``http(s)://`` or ``#anchor``."""
    text = FENCED_CODE.sub("", markdown)
    text = INLINE_CODE.sub("", text)
    return [t for t in LINK_TARGET.findall(text) if not t.startswith(ALLOWED_TARGET)]


def test_the_checked_files_include_the_readmes_and_sources() -> None:
    files = set(checked_text_files())
    assert "README.md" in files
    assert {"plugins/hf2/README.md", "plugins/neid/README.md", "plugins/frlie/README.md",
            "plugins/auxnet/README.md", "plugins/dln/README.md"} <= files
    assert any(f.startswith("core/src/") and f.endswith(".py") for f in files)
    assert any(f.endswith(".yaml") for f in files)
    assert THIS not in files


def test_nothing_cites_the_private_spec() -> None:
    hits = []
    for name in checked_text_files():
        text = (ROOT / name).read_text(encoding="utf-8", errors="replace")
        for label, pattern in FORBIDDEN.items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                hits.append(f"{name}:{line}: {label}")
    assert hits == [], "cite the paper, the official code or 'our choice' instead:\n" + "\n".join(
        hits)


def test_plugin_readmes_have_no_relative_links() -> None:
    readmes = sorted(f for f in tracked_files()
                     if re.fullmatch(r"plugins/[^/]+/README\.md", f) and (ROOT / f).is_file())
    assert len(readmes) >= 5, readmes
    bad = {name: links for name in readmes
           if (links := relative_links((ROOT / name).read_text(encoding="utf-8")))}
    assert bad == {}, "relative links do not work on the package index: " + repr(bad)


def test_the_link_check_sees_relative_links_and_ignores_code() -> None:
    sample = (
        "See [the bench](../../docs/benchmarks.md), ![img](curves/a.png) and "
        "[paper](https://arxiv.org/abs/2101.08039), [top](#tests), [mail](mailto:x@y.z).\n"
        "`fusions[k](E_k, V_k)` is code.\n"
        "```python\nmodel.fusions[k](a, b)\n```\n"
    )
    assert relative_links(sample) == ["../../docs/benchmarks.md", "curves/a.png", "mailto:x@y.z"]
