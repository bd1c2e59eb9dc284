"""The demo: clean photos, charts and short end-to-end runs (synthesis: test_synthesis.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from lle_core.cli.main import main
from lle_core.demo import images as demo_images
from lle_core.demo.plot import line_chart, smooth
from lle_core.errors import ConfigError


def _clean(seed=0, h=40, w=48):
    return demo_images.procedural_photo(seed, h, w)


def test_procedural_photos_are_deterministic_and_fallback_works(monkeypatch):
    a, b = demo_images.procedural_photo(5, 30, 40), demo_images.procedural_photo(5, 30, 40)
    assert torch.equal(a, b) and a.shape == (3, 30, 40)
    assert float(a.min()) >= 0 and float(a.max()) <= 1 and float(a.std()) > 0.05
    monkeypatch.setattr(demo_images, "skimage_photo", lambda name: None)
    with pytest.warns(UserWarning, match="procedural"):
        train, test, source = demo_images.demo_photos(24)
    assert source == "procedural" and len(train) == 4 and len(test) == 2
    assert all(min(t.shape[-2:]) == 24 for _, t in train + test)
    train_pixels = {t.sum().item() for _, t in train}
    assert not train_pixels & {t.sum().item() for _, t in test}  # disjoint images


def test_line_chart_and_smoothing(tmp_path):
    assert smooth([1.0, 1.0, 1.0]) == pytest.approx([1.0, 1.0, 1.0])
    path = line_chart([("loss", [(0, 1.0), (1, 0.5), (2, 0.25)], (0, 0, 255))],
                      tmp_path / "c.png", title="t", size=(300, 200))
    with Image.open(path) as im:
        assert im.size == (300, 200)
        assert len(im.getcolors(maxcolors=100000) or []) > 2  # something was drawn


REPORT_FILES = ("metrics.md", "metrics.json", "loss_curve.png", "comparison.png")


@pytest.mark.slow
def test_short_demo_run_writes_every_report_file(tmp_path, capsys):
    out = tmp_path / "report"
    args = ["demo", "--train", "--out", str(out), "--steps", "3", "--size", "36", "--crop", "32",
            "--variants", "1", "--batch-size", "2", "--no-progress", "--threads", "1"]
    assert main(args) == 0
    for name in REPORT_FILES:
        assert (out / name).is_file(), name
    report = json.loads((out / "metrics.json").read_text())
    models = [m["model"] for m in report["models"]]
    assert models == ["core.unet_small", "core.identity", "core.gamma", "core.histeq",
                      "core.clahe"]
    assert report["demo"]["steps"] == 3
    weights = report["demo"]["weights"]
    printed = capsys.readouterr().out
    assert f"lle enhance YOUR_PHOTOS -o enhanced/ --weights {weights}" in printed
    # the printed command works on a photo
    photo = tmp_path / "photo.png"
    Image.fromarray((np.random.default_rng(0).random((20, 24, 3)) * 60).astype(np.uint8)).save(
        photo)
    assert main(["enhance", str(photo), "-o", str(tmp_path / "e.png"), "--weights",
                 weights]) == 0
    assert (tmp_path / "e.png").is_file()
    assert "core.unet_small" in (out / "metrics.md").read_text()
    # a second demo may overwrite its own report folder ...
    assert main(args) == 0
    # ... but never a folder it did not write
    other = tmp_path / "mine"
    other.mkdir()
    (other / "thesis.tex").write_text("precious")
    with pytest.raises(ConfigError, match="not an lle demo report"):
        from lle_core.demo.run import DemoOptions, prepare_out_dir

        prepare_out_dir(DemoOptions(out=other).out)
    assert (other / "thesis.tex").read_text() == "precious"


@pytest.mark.slow
def test_demo_on_a_real_paired_folder(tmp_path):
    data = tmp_path / "pairs"
    rng = np.random.default_rng(1)
    for i in range(5):
        high = (rng.random((32, 32, 3)) * 255).astype(np.uint8)
        for sub, arr in (("high", high), ("low", high // 4)):
            (data / sub).mkdir(parents=True, exist_ok=True)
            Image.fromarray(arr).save(data / sub / f"{i}.png")
    out = tmp_path / "report"
    assert main(["demo", "--train", "--out", str(out), "--data", str(data), "--steps", "2",
                 "--crop",
                 "16", "--batch-size", "2", "--no-progress", "--threads", "1"]) == 0
    report = json.loads((out / "metrics.json").read_text())
    # every fifth pair is the test split: exactly pair 4 is evaluated
    assert [row["name"] for row in report["models"][0]["images"]] == ["4.png"]
    assert sorted(p.name for p in (out / "data" / "train" / "low").iterdir()) == [
        "0.png", "1.png", "2.png", "3.png"]


def test_nice_ticks_never_hang_and_stay_few():
    """A tiny spread far from zero (a flat loss curve) once made the tick loop run forever."""
    from lle_core.demo.plot import _nice_ticks

    for lo, hi in ((1e6, 1e6 + 1e-9), (0.1, 0.1 + 1e-17), (0.0, 1.0), (float("nan"), 1.0)):
        ticks = _nice_ticks(lo, hi)
        assert 1 <= len(ticks) <= 21
    assert _nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
