"""``lle_core.inference.enhance_files``: the batch pipeline as a library call."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import lle_core.io
from lle_core.errors import ConfigError, ImageReadError
from lle_core.inference import EnhanceReport, FileProgress, enhance, enhance_files


def _image(path: Path, seed: int, size: tuple[int, int] = (12, 15)) -> Path:
    arr = (np.random.default_rng(seed).random((*size, 3)) * 120).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


def test_a_folder_in_gives_each_result_and_a_report(tmp_path):
    srcs = [_image(tmp_path / "in" / f"{i}.png", seed=i) for i in range(3)]
    (tmp_path / "in" / "bad.png").write_bytes(b"not an image")
    events: list[FileProgress] = []
    report = enhance_files([tmp_path / "in"], tmp_path / "out", model="core.gamma", ext="bmp",
                           on_progress=events.append)
    assert isinstance(report, EnhanceReport)
    assert [p.name for p in report.written] == ["0.bmp", "1.bmp", "2.bmp"]
    assert [p.name for p, _ in report.failed] == ["bad.png"]
    assert isinstance(report.failed[0][1], ImageReadError)
    assert not (tmp_path / "out" / "bad.bmp").exists()
    assert report.seconds > 0 and report.images_per_second == pytest.approx(4 / report.seconds)
    for src, dst in zip(srcs, report.outputs[:3], strict=True):
        expected = enhance("core.gamma", src)[0]
        assert (lle_core.io.read_image(dst) - expected).abs().max() <= 1 / 255 + 1e-6
    # progress: a start and an end event per file, ``done`` never goes back, ends at total
    dones = [e.done for e in events if e.tiles_total == 0]
    assert dones == sorted(dones) and dones[-1] == 4 and events[-1].current is None
    assert all(e.total == 4 for e in events)


def test_explicit_outputs_and_tile_progress(tmp_path):
    src = _image(tmp_path / "big.png", seed=3, size=(64, 80))
    dst = tmp_path / "deep" / "er" / "result.png"
    events: list[FileProgress] = []
    report = enhance_files([src], [dst], model="core.gamma", tile=32, overlap=4,
                           on_progress=events.append)
    assert report.written == [dst] and dst.is_file()
    tiles = [(e.tiles_done, e.tiles_total) for e in events if e.tiles_total]
    assert tiles and tiles[-1][0] == tiles[-1][1] > 1


def test_every_check_runs_before_any_image_is_read(tmp_path, monkeypatch):
    src = _image(tmp_path / "a.png", seed=1)
    reads = []
    monkeypatch.setattr(lle_core.inference.loading, "as_batch",
                        lambda *a: reads.append(a) or pytest.fail("read"))
    with pytest.raises(ConfigError, match="overlap"):
        enhance_files([src], tmp_path / "o", model="core.gamma", overlap=-1)
    with pytest.raises(ConfigError, match="2 output"):
        enhance_files([src], [tmp_path / "x.png", tmp_path / "y.png"], model="core.gamma")
    with pytest.raises(ConfigError, match="overwrite"):
        enhance_files([src], [src], model="core.gamma")
    with pytest.raises(ConfigError, match=r"cannot write \.gif"):
        enhance_files([src], tmp_path / "o", model="core.gamma", ext="gif")
    with pytest.raises(ImageReadError, match="input not found"):
        enhance_files([tmp_path / "missing.png"], tmp_path / "o", model="core.gamma")
    assert reads == [] and not (tmp_path / "o").exists()
