"""Reliability: any valid file name can be enhanced, and killed runs leave nothing behind for
long (issue 24, item 5)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lle_core.cli.main import main

GAMMA = ["--model", "core.gamma"]
NAME_MAX = 255


def _image(path: Path, seed: int = 0) -> Path:
    arr = (np.random.default_rng(seed).random((10, 12, 3)) * 120).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, format="PNG")
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _long_names_supported(folder: Path) -> bool:
    try:
        (folder / ("n" * NAME_MAX)).touch()
    except OSError:
        return False
    (folder / ("n" * NAME_MAX)).unlink()
    return True


def test_a_252_byte_input_name_is_enhanced(tmp_path, capsys):
    """64ec01f: the temporary name (.<name>.tmp-<pid>-<token>) exceeded 255 bytes."""
    if not _long_names_supported(tmp_path):
        pytest.skip("this file system does not take 255-byte names")
    src = _image(tmp_path / "in" / ("p" * 248 + ".png"))
    assert len(os.fsencode(src.name)) == 252
    out = tmp_path / "out"
    code, text = _run(capsys, "enhance", str(src), "-o", str(out), *GAMMA)
    assert code == 0, text
    assert [p.name for p in out.iterdir()] == [src.name]  # its own name, written completely
    code, text = _run(capsys, "enhance", str(src), "-o", str(out / src.name), *GAMMA)
    assert code == 0, text  # an explicit output file of that length too
    assert [p.name for p in out.iterdir()] == [src.name]


def test_two_long_same_stem_inputs_get_distinct_names_that_fit(tmp_path, capsys):
    """64ec01f: '<parent>_<stem>.png' exceeded 255 bytes and the run stopped."""
    if not _long_names_supported(tmp_path):
        pytest.skip("this file system does not take 255-byte names")
    stem = "é" * 122 + "x"  # 245 bytes of UTF-8: a 249-byte .png name
    a = _image(tmp_path / "first" / f"{stem}.png", seed=1)
    b = _image(tmp_path / "second" / f"{stem}.png", seed=2)
    assert len(os.fsencode(a.name)) == 249
    out = tmp_path / "out"
    code, text = _run(capsys, "enhance", str(a), str(b), "-o", str(out), *GAMMA)
    assert code == 0, text
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 2 and all(len(os.fsencode(n)) <= NAME_MAX for n in names)
    assert all(n.endswith(".png") for n in names)
    assert any(n.startswith("first_é") for n in names)
    assert any(n.startswith("second_é") for n in names)


def _killed_writer(folder: Path) -> Path:
    """A process killed (SIGKILL) in the middle of an atomic write into ``folder``."""
    script = (
        "import os, signal, sys\n"
        "from lle_core.files import atomic_write\n"
        "def payload(handle):\n"
        "    handle.write(b'half an image')\n"
        "    handle.flush()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "atomic_write(sys.argv[1], payload)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(folder / "a.png")], check=False)
    assert proc.returncode == -9
    left = [p for p in folder.iterdir() if p.name.startswith(".a.png.tmp-")]
    assert len(left) == 1
    return left[0]


@pytest.mark.skipif(os.name != "posix", reason="POSIX process checks")
def test_a_killed_runs_temporary_file_is_removed_by_the_next_run(tmp_path, capsys):
    """64ec01f: a SIGKILL during lle enhance left a hidden temporary no later run removed."""
    out = tmp_path / "out"
    out.mkdir()
    stray = _killed_writer(out)
    old = time.time() - 3600
    os.utime(stray, (old, old))
    live = out / f".b.png.tmp-{os.getppid()}-0123abcd"  # a live process's write: kept
    live.write_bytes(b"in progress")
    os.utime(live, (old, old))
    src = _image(tmp_path / "in" / "a.png")
    code, text = _run(capsys, "enhance", str(src), "-o", str(out), *GAMMA)
    assert code == 0, text
    assert not stray.exists() and live.exists()
    assert sorted(p.name for p in out.iterdir()) == sorted(["a.png", live.name])


@pytest.mark.skipif(os.name != "posix", reason="POSIX process checks")
def test_a_fresh_temporary_file_is_left_alone(tmp_path):
    """A writer on another machine sharing the folder keeps its file fresh: never removed."""
    from lle_core.files import remove_orphaned_temporaries

    stray = _killed_writer(tmp_path)
    assert remove_orphaned_temporaries(tmp_path) == []  # modified just now
    assert remove_orphaned_temporaries(tmp_path, min_age_s=0) == [stray]
    assert not stray.exists()


def test_shortened_names_fit_and_stay_distinct():
    from lle_core.files import fit_name

    for name in ["a" * 300, "é" * 200, "x" * 254, "\udcff" * 300]:
        short = fit_name(name, keep=".png")
        assert len(os.fsencode(short)) <= NAME_MAX and short.endswith(".png")
    assert fit_name("a" * 300 + "1") != fit_name("a" * 300 + "2")
    assert fit_name("short", keep=".png") == "short.png"
