"""``lle enhance`` on folders: background decoding/encoding, the rate column and the summary."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import lle_core.inference
import lle_core.inference.loading
import lle_core.io
from lle_core.cli.main import main

GAMMA = ["--model", "core.gamma"]


def _image(path: Path, seed: int) -> Path:
    arr = (np.random.default_rng(seed).random((12, 15, 3)) * 120).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


def test_folder_reads_and_writes_run_beside_compute_and_end_with_a_summary(
    tmp_path, capsys, monkeypatch
):
    for i in range(4):
        _image(tmp_path / "in" / f"{i}.png", seed=i)
    (tmp_path / "in" / "bad.png").write_bytes(b"not an image")
    threads: dict[str, set[str]] = {"read": set(), "write": set()}
    read, write = lle_core.inference.loading.as_batch, lle_core.io.write_image

    def spy_read(*a, **k):
        threads["read"].add(threading.current_thread().name)
        return read(*a, **k)

    def spy_write(*a, **k):
        threads["write"].add(threading.current_thread().name)
        return write(*a, **k)

    monkeypatch.setattr(lle_core.inference.loading, "as_batch", spy_read)
    monkeypatch.setattr(lle_core.io, "write_image", spy_write)
    code = main(["enhance", str(tmp_path / "in"), "-o", str(tmp_path / "out"), *GAMMA])
    err = capsys.readouterr().err
    assert code == 1  # one bad file: skipped, reported, exit 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"{i}.png" for i in range(4)]
    assert "5 image(s), 1 failed" in err and "images/s" in err and "bad.png" in err
    main_thread = threading.main_thread().name
    assert threads["read"] and main_thread not in threads["read"]
    assert threads["write"] and main_thread not in threads["write"]


def test_results_equal_the_sequential_enhance(tmp_path, capsys):
    srcs = [_image(tmp_path / "in" / f"{i}.png", seed=10 + i) for i in range(3)]
    assert main(["enhance", str(tmp_path / "in"), "-o", str(tmp_path / "out"), *GAMMA]) == 0
    for src in srcs:
        expected = lle_core.inference.enhance("core.gamma", src)[0]
        got = lle_core.io.read_image(tmp_path / "out" / src.name)
        assert (got - expected).abs().max() <= 1 / 255 + 1e-6
    assert "3 image(s), 0 failed" in capsys.readouterr().err


@pytest.mark.parametrize("fail_at", [0, 1])
def test_a_failed_background_write_stops_later_writes(tmp_path, capsys, monkeypatch, fail_at):
    for i in range(4):
        _image(tmp_path / "in" / f"{i}.png", seed=i)
    calls = []
    write = lle_core.io.write_image

    def flaky(path, image, **k):
        calls.append(path)
        if len(calls) > fail_at:
            raise OSError(28, "No space left on device")
        return write(path, image, **k)

    monkeypatch.setattr(lle_core.io, "write_image", flaky)
    code = main(["enhance", str(tmp_path / "in"), "-o", str(tmp_path / "out"), *GAMMA])
    err = capsys.readouterr().err
    assert code == 1 and f"({fail_at} image(s) written before" in err
    assert len(list((tmp_path / "out").iterdir())) == fail_at
    assert len(calls) == fail_at + 1  # nothing attempted after the failure


def test_lle_enhance_sets_a_fixed_mmap_threshold(tmp_path, capsys, monkeypatch):
    import sys

    import lle_core.inference.memory as memory

    calls = []
    real = memory.return_freed_memory
    monkeypatch.setattr(memory, "return_freed_memory", lambda: calls.append(real()) or True)
    _image(tmp_path / "a.png", seed=1)
    assert main(["enhance", str(tmp_path / "a.png"), "-o", str(tmp_path / "o.png"), *GAMMA]) == 0
    assert calls == [sys.platform.startswith("linux")]  # applied on Linux (glibc)
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    assert real() is False  # the user's own setting is kept
