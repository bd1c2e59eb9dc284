"""``lle list``, ``lle show``, ``lle plugins``: scriptable output, errors, no torch (issue 13)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lle_core.cli.main import main


def test_list_json_has_every_field(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "model", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by_name = {r["name"]: r for r in rows}
    assert "core.unet_small" in by_name
    unet = by_name["core.unet_small"]
    assert unet["kind"] == "model" and unet["capabilities"]["multiple_of"] == 4
    assert unet["summary"].startswith("Small 3-level U-Net")


def test_plain_list_is_untruncated_on_a_pipe(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "loss"]) == 0  # pytest's capture is not a terminal
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t")[:2] == ["kind", "name"]
    names = [line.split("\t")[1] for line in lines[1:]]
    assert "core.perceptual" in names  # `core.perceptua` once wrapped at 80 columns
    assert all(len(line.split("\t")) == 5 for line in lines)


def test_unknown_kind_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "recipe"]) == 1
    err = capsys.readouterr().err
    assert "unknown component kind 'recipe'" in err and "model" in err
    assert main(["list", "core.*"]) == 0  # a pattern is still a pattern


def test_show_prints_parameters_with_types_defaults_and_descriptions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["show", "model:core.unet_small"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("model core.unet_small: Small 3-level U-Net")
    assert "  base_width: int = 16  # " in out
    assert main(["show", "core.gamma", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "model"
    assert {p["name"] for p in info["parameters"]} >= {"gamma"}
    assert all(p["type"] and p["default"] for p in info["parameters"])


def test_show_ambiguous_and_unknown_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "core.ssim"]) == 1  # a loss and a metric
    assert "loss:core.ssim" in capsys.readouterr().err
    assert main(["show", "model:core.nope"]) == 1


LISTING = textwrap.dedent(
    """
    import sys
    from lle_core.cli.main import main
    codes = [main(["list"]), main(["plugins"]), main(["list", "--json"])]
    print("CODES", codes, "TORCH", "torch" in sys.modules, file=sys.stderr)
    """
)


def test_list_and_plugins_do_not_import_torch(tmp_path: Path) -> None:
    env = {**os.environ, "LLE_CACHE_DIR": str(tmp_path / "cache")}
    runs = [
        subprocess.run([sys.executable, "-c", LISTING], env=env, capture_output=True,
                       text=True, timeout=300)
        for _ in range(2)
    ]
    # Every package of this repository ships its descriptions (components.json), so even the
    # first run after an install, with an empty cache, never imports torch.
    assert "CODES [0, 0, 0] TORCH False" in runs[0].stderr, runs[0].stderr
    assert "CODES [0, 0, 0] TORCH False" in runs[1].stderr, runs[1].stderr
    assert json.loads(runs[0].stdout[runs[0].stdout.index("["):]) == json.loads(
        runs[1].stdout[runs[1].stdout.index("["):]
    )
