"""The repository ships the licence its distributions declare (issue 13, item 7)."""

from __future__ import annotations

from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_license_file_matches_the_metadata() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    for pyproject in [ROOT / "core/pyproject.toml", *ROOT.glob("plugins/*/pyproject.toml")]:
        meta = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        assert meta["license"] == "Apache-2.0", pyproject
