"""`lle demo`: the shipped weight sets on built-in and real dark photos, in one report."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lle_core.cli.main import main
from lle_core.demo.gallery import builtin_photos, spread
from lle_core.errors import ConfigError


def test_builtin_photos_are_dark_reproducible_and_keep_their_originals() -> None:
    a, b, c = builtin_photos(48, seed=0), builtin_photos(48, seed=0), builtin_photos(48, seed=1)
    assert len(a) >= 2 and [p.name for p in a] == [p.name for p in b]
    for pa, pb, pc in zip(a, b, c, strict=True):
        assert pa.reference is not None and pa.reference.shape == pa.low.shape
        assert min(pa.low.shape[-2:]) == 48
        assert torch.equal(pa.low, pb.low)  # fixed seed: the same pixels
        assert not torch.equal(pa.low, pc.low)
        assert pa.low.mean() < 0.6 * pa.reference.mean()  # darkened


def test_spread_takes_photos_from_every_folder(tmp_path: Path) -> None:
    files = [tmp_path / d / f"{i:02d}.png" for d, n in (("a", 20), ("b", 3), ("c", 1))
             for i in range(n)]
    picked = spread(files, 6)
    assert len(picked) == 6 == len(set(picked))
    assert {p.parent.name for p in picked} == {"a", "b", "c"}
    assert len(spread(files, 100)) == len(files)


def _real_folder(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for sub in ("x", "y"):
        (root / sub).mkdir(parents=True)
        for i in range(2):
            arr = (rng.random((40, 52, 3)) * 50).astype(np.uint8)
            Image.fromarray(arr).save(root / sub / f"{i}.png")
    return root


def test_demo_writes_a_report_with_every_set_and_is_quiet_when_piped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    real = _real_folder(tmp_path / "real")
    args = ["demo", "--out", str(out), "--size", "48", "--sets", "core.lol,auxnet.lol",
            "--real", str(real), "--real-count", "2", "--threads", "1"]
    assert main(args) == 0
    printed = capsys.readouterr()
    assert len(printed.out.splitlines()) < 20 and printed.err == ""  # a summary, no progress
    assert "default:" in printed.out and "report.html" in printed.out
    results = json.loads((out / "results.json").read_text())
    assert [c["name"] for c in results["columns"]] == ["core.lol", "auxnet.lol", "core.gamma"]
    kinds = [p["kind"] for p in results["photos"]]
    assert kinds.count("real") == 2 and kinds.count("built-in") >= 2
    builtin = [p["name"] for p in results["photos"] if p["kind"] == "built-in"]
    for column in results["columns"]:
        assert sorted(column["psnr"]) == sorted(builtin)  # real photos have no reference
        assert all(math.isfinite(v) and 5 < v < 60 for v in column["psnr"].values())
        assert column["seconds_per_mp"] > 0
    assert results["default"] and results["default"] in results["default_reason"]
    html = (out / "report.html").read_text()
    sources = re.findall(r"<img src='([^']+)'", html)
    photos = len(results["photos"])
    assert len(sources) == photos * 4 + len(builtin)  # input, 3 columns, originals
    assert all((out / s).is_file() for s in sources)
    # a second demo may replace its own report, never a folder it did not write
    assert main(args) == 0
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    with pytest.raises(ConfigError, match="not an lle demo report"):
        from lle_core.cli.demo_cmd import run_demo_cmd
        from lle_core.cli.main import build_parser

        run_demo_cmd(build_parser().parse_args(["demo", "--out", str(mine), "--no-real",
                                                "--sets", "core.lol", "--size", "48"]))
    assert (mine / "notes.txt").read_text() == "precious"


def test_training_options_need_train(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--steps", "3"]) == 1
    assert "--steps" in capsys.readouterr().err


@pytest.mark.slow
def test_training_demo_prints_no_step_lines_when_piped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Piped, `lle demo --train` printed one line per logged step (142 in a default run)."""
    args = ["demo", "--train", "--out", str(tmp_path / "t"), "--steps", "12", "--size", "36",
            "--crop", "32", "--variants", "1", "--batch-size", "2", "--threads", "1"]
    assert main(args) == 0
    printed = capsys.readouterr()
    lines = (printed.out + printed.err).splitlines()
    assert not [line for line in lines if re.match(r"\s*step \d+", line)], lines
    assert (tmp_path / "t" / "run" / "metrics.jsonl").read_text().count('"kind": "train"') >= 2
