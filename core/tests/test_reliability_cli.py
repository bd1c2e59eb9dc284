"""Reliability of ``lle enhance`` / ``lle eval``: no data loss, skip-and-report, one-line errors.

Each test names the case of issue 12 it keeps. "One line" means: an ``error: ...`` message and
never a Python traceback (``--traceback`` shows it on demand).
"""

from __future__ import annotations

import errno
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lle_core import files
from lle_core.cli.main import error_message, main
from lle_core.errors import ImageReadError
from lle_core.io import read_image

GAMMA = ["--model", "core.gamma"]


def _image(path: Path, h: int = 16, w: int = 20, seed: int = 0) -> Path:
    arr = (np.random.default_rng(seed).random((h, w, 3)) * 120).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# -- 1. output = input -----------------------------------------------------------------------


def test_output_equal_to_input_is_refused_and_the_photo_kept(tmp_path, run_lle):
    photo = _image(tmp_path / "p.jpg")
    before = photo.read_bytes()
    code, text = run_lle("enhance", str(photo), "-o", str(photo), *GAMMA)
    assert code == 1 and "--overwrite" in text
    assert photo.read_bytes() == before


def test_folder_into_itself_is_refused_and_nothing_changes(tmp_path, run_lle):
    folder = tmp_path / "dir"
    _image(folder / "a.png", seed=1)
    _image(folder / "b.png", seed=2)
    before = _snapshot(folder)
    code, text = run_lle("enhance", str(folder), "-o", str(folder), *GAMMA)
    assert code == 1 and "a.png" in text and "b.png" in text
    assert _snapshot(folder) == before


def test_overwrite_enhances_in_place(tmp_path, run_lle):
    photo = _image(tmp_path / "p.png")
    before = read_image(photo)
    code, _ = run_lle("enhance", str(photo), "-o", str(photo), *GAMMA, "--overwrite")
    assert code == 0
    assert not torch.equal(read_image(photo), before)


def test_overwrite_never_replaces_another_input(tmp_path, run_lle):
    # y.jpg and y.png share a stem: the first result is named d_y.png, which is the third
    # input (read after it would have been replaced)
    folder = tmp_path / "d"
    inputs = [_image(folder / n, seed=i) for i, n in enumerate(("y.jpg", "y.png", "d_y.png"))]
    before = _snapshot(folder)
    code, text = run_lle(
        "enhance", *map(str, inputs), "-o", str(folder), *GAMMA, "--overwrite"
    )
    assert code == 1 and "another input" in text
    assert _snapshot(folder) == before


# -- 2. same stems -----------------------------------------------------------------------------


def test_inputs_with_one_stem_and_one_parent_name_get_distinct_outputs(tmp_path, run_lle):
    a = _image(tmp_path / "x" / "a" / "good.png", seed=1)
    b = _image(tmp_path / "y" / "a" / "good.jpg", seed=2)
    c = _image(tmp_path / "z" / "GOOD.png", seed=3)
    out = tmp_path / "out"
    code, text = run_lle("enhance", str(a), str(b), str(c), "-o", str(out), *GAMMA)
    assert code == 0 and "wrote 3 image(s)" in text
    assert len({p.name.lower() for p in out.iterdir()}) == 3


# -- 9. one bad file does not abort the folder ---------------------------------------------------


def test_bad_files_are_skipped_and_listed(tmp_path, run_lle):
    src = tmp_path / "in"
    _image(src / "1.png", seed=1)
    (src / "2.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (src / "3.png").write_bytes(b"")
    nan = np.full((16, 20), 0.5, np.float32)
    nan[3, 3] = np.nan
    Image.fromarray(nan, mode="F").save(src / "4.tif")
    _image(src / "5.png", seed=5)
    out = tmp_path / "out"
    code, text = run_lle("enhance", str(src), "-o", str(out), *GAMMA)
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["1.png", "5.png"]
    assert "wrote 2 image(s)" in text and "3 of 5 input(s) failed" in text
    for name in ("2.png", "3.png", "4.tif"):
        assert name in text


def test_decompression_bomb_in_a_folder_is_one_failure(tmp_path, run_lle):
    src = tmp_path / "in"
    _image(src / "a.png")
    # a PNG declaring 100000 x 100000 pixels (the whole file is under 100 bytes)
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    (src / "b.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )
    code, text = run_lle("enhance", str(src), "-o", str(tmp_path / "out"), *GAMMA)
    assert code == 1 and "b.png declares" in text
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.png"]


# -- 10. everyday errors are one line -----------------------------------------------------------


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--ext", "gif"], "cannot write .gif"),
        (["--device", "gpu0"], "not a device"),
        (["--dtype", "float16"], "float16"),
        (["--overlap", "-5"], "--overlap"),
        (["--tile", "big"], "--tile"),
    ],
)
def test_bad_options_fail_before_any_image_is_written(tmp_path, run_lle, extra, expected):
    _image(tmp_path / "in" / "a.png")
    out = tmp_path / "out"
    code, text = run_lle("enhance", str(tmp_path / "in"), "-o", str(out), *GAMMA, *extra)
    assert code == 1 and "error:" in text and expected in text
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_without_gpu_is_one_line(tmp_path, run_lle):
    src = _image(tmp_path / "a.png")
    code, text = run_lle("enhance", str(src), "-o", str(tmp_path / "o.png"), *GAMMA,
                      "--device", "cuda")
    assert code == 1 and "no CUDA GPU" in text


def test_unwritable_format_output_creates_no_folder(tmp_path, run_lle):
    src = _image(tmp_path / "a.png")
    code, text = run_lle("enhance", str(src), "-o", str(tmp_path / "x.gif"), *GAMMA)
    assert code == 1 and ".gif" in text
    assert not (tmp_path / "x.gif").exists()


def test_output_under_a_regular_file_is_one_line(tmp_path, run_lle):
    src = _image(tmp_path / "a.png")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, text = run_lle("enhance", str(src), "-o", str(blocker / "sub" / "o.png"), *GAMMA)
    assert code == 1 and "is a file" in text


@pytest.mark.parametrize("code_", [errno.ENOSPC, errno.EACCES, errno.EROFS])
def test_write_failures_stop_cleanly_without_partial_files(tmp_path, run_lle, monkeypatch,
                                                           code_):
    """Full disk, permission denied, read-only folder (simulated: tests may run as root)."""
    src = tmp_path / "in"
    _image(src / "a.png", seed=1)
    _image(src / "b.png", seed=2)
    out = tmp_path / "out"

    def failing(handle, payload):
        handle.write(payload[:10])
        raise OSError(code_, "simulated")

    monkeypatch.setattr(files, "write_payload", failing)
    code, text = run_lle("enhance", str(src), "-o", str(out), *GAMMA)
    assert code == 1 and "cannot write" in text and "0 image(s) written" in text
    assert list(out.iterdir()) == []


def test_unexpected_errors_are_one_line_and_traceback_shows_them(
    tmp_path, capsys, run_lle, monkeypatch
):
    import lle_core.inference.paths as paths

    def boom(args):
        raise TypeError("a bug")

    monkeypatch.setattr(paths, "expand_inputs", boom)
    code, text = run_lle("enhance", "x.png", "-o", str(tmp_path / "o.png"), *GAMMA)
    assert code == 1 and "unexpected TypeError: a bug" in text and "--traceback" in text
    code = main(["enhance", "x.png", "-o", str(tmp_path / "o.png"), *GAMMA, "--traceback"])
    assert code == 1 and "Traceback" in capsys.readouterr().err


def test_ctrl_c_is_exit_130_without_traceback(tmp_path, run_lle, monkeypatch):
    import lle_core.inference.paths as paths

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(paths, "expand_inputs", interrupted)
    code, text = run_lle("enhance", "x.png", "-o", str(tmp_path / "o.png"), *GAMMA)
    assert code == 130 and "interrupted" in text


def test_worker_errors_lose_the_worker_traceback():
    """``data.num_workers=2``: a bad image re-raised by a DataLoader worker is one line."""
    from torch.utils.data import DataLoader, Dataset

    class Bad(Dataset):
        def __len__(self) -> int:
            return 4

        def __getitem__(self, i: int) -> torch.Tensor:
            if i == 1:
                raise ImageReadError("corrupt or truncated image file data/low/7.png: boom")
            return torch.zeros(1)

    with pytest.raises(ImageReadError) as info:
        list(DataLoader(Bad(), batch_size=1, num_workers=2))
    assert "Original Traceback" in str(info.value)  # what torch does
    message = error_message(info.value)
    assert "Traceback" not in message and "\n" not in message
    assert message.startswith("corrupt or truncated image file data/low/7.png: boom")
    assert "DataLoader worker process" in message


# -- eval ---------------------------------------------------------------------------------------


def _pairs(root: Path, names: list[str], size: tuple[int, int] = (24, 24)) -> Path:
    for i, name in enumerate(names):
        _image(root / "low" / name, *size, seed=i)
        _image(root / "high" / name, *size, seed=100 + i)
    return root


def test_eval_skips_a_bad_pair_and_names_a_size_mismatch(tmp_path, run_lle):
    data = _pairs(tmp_path / "data", ["a.png", "b.png", "c.png"])
    (data / "low" / "b.png").write_bytes(b"")
    _image(data / "high" / "c.png", 30, 24)
    report = tmp_path / "r.json"
    code, text = run_lle("eval", "--data", str(data), *GAMMA, "--baselines", "none",
                      "--json", str(report))
    assert code == 1 and "2 of 3 pair(s) failed" in text
    assert "low/b.png" in text and "high/c.png" in text
    saved = json.loads(report.read_text())
    assert [r["name"] for r in saved["models"][0]["images"]] == ["a.png"]
    assert len(saved["models"][0]["failed"]) == 2


def test_eval_json_under_a_file_fails_before_evaluating(tmp_path, run_lle, monkeypatch):
    import lle_core.evaluation as evaluation

    data = _pairs(tmp_path / "data", ["a.png"])
    (tmp_path / "f").write_text("x")
    monkeypatch.setattr(evaluation, "evaluate", lambda *a, **k: pytest.fail("evaluated"))
    code, text = run_lle("eval", "--data", str(data), *GAMMA, "--json",
                      str(tmp_path / "f" / "r.json"))
    assert code == 1 and "--json" in text


def test_eval_json_write_failure_keeps_the_printed_results(tmp_path, run_lle, monkeypatch):
    data = _pairs(tmp_path / "data", ["a.png"])

    def full(handle, payload):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "write_payload", full)
    code, text = run_lle("eval", "--data", str(data), *GAMMA, "--baselines", "none",
                      "--json", str(tmp_path / "r.json"))
    assert code == 1 and "No space left" in text and "printed above" in text
    assert "core.gamma" in text and "PSNR" in text.upper()
    assert not (tmp_path / "r.json").exists()
