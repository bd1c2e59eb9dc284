"""Reliability of file input/output: malformed images, bombs, atomic and concurrent writes.

Every malformed file must give an :class:`ImageReadError` naming it (never another exception,
never a silently wrong tensor); every write must leave the old or the complete new file.
"""

from __future__ import annotations

import contextlib
import errno
import io
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from lle_core import files
from lle_core.errors import ConfigError, ImageReadError, TensorError
from lle_core.files import FolderBusyError, FolderLock, atomic_write
from lle_core.io import read_image, write_image


def _png_bytes(w: int = 8, h: int = 6, mode: str = "RGB", seed: int = 0) -> bytes:
    arr = (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(arr).convert(mode).save(buffer, format="PNG")
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width × height`` (its data is one short row)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    data = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(
        b"IEND", b""
    )


GOOD = _png_bytes()


# ------------------------------------------------------------------------------------------
# Malformed files of every kind
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, payload",
    [
        ("empty.png", b""),
        ("truncated.png", GOOD[: len(GOOD) // 2]),
        ("header_only.png", GOOD[:8]),
        ("text.png", b"this is not an image\n"),
        ("bad_crc.png", GOOD[:30] + bytes([GOOD[30] ^ 0xFF]) + GOOD[31:]),
    ],
)
def test_malformed_file_is_a_read_error_naming_it(tmp_path: Path, name: str, payload: bytes):
    path = tmp_path / name
    path.write_bytes(payload)
    with pytest.raises(ImageReadError, match=name.replace(".", r"\.")):
        read_image(path)


def test_wrong_extension_is_read_by_content(tmp_path: Path):
    jpg_named_png = tmp_path / "photo.png"
    Image.fromarray(np.full((5, 7, 3), 200, np.uint8)).save(jpg_named_png, format="JPEG")
    assert read_image(jpg_named_png).shape == (3, 5, 7)


def test_decompression_bomb_refused_from_its_header(tmp_path: Path):
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png(100_000, 100_000))
    assert path.stat().st_size < 1000
    with pytest.raises(ImageReadError, match=r"bomb\.png declares 10000000000 pixels"):
        read_image(path)


def test_large_image_between_pillow_limits_is_refused_too(tmp_path: Path):
    # 12000 x 12000 = 144 Mpx: pillow only warns (its error starts at 179 Mpx)
    path = tmp_path / "big.png"
    path.write_bytes(bomb_png(12_000, 12_000))
    with pytest.raises(ImageReadError, match="LLE_MAX_IMAGE_PIXELS"):
        read_image(path)


def test_pixel_limit_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "small.png"
    path.write_bytes(GOOD)  # 8 x 6 = 48 pixels
    monkeypatch.setenv("LLE_MAX_IMAGE_PIXELS", "40")
    with pytest.raises(ImageReadError, match="limit of 40"):
        read_image(path)
    assert read_image(path, max_pixels=48).shape == (3, 6, 8)
    monkeypatch.setenv("LLE_MAX_IMAGE_PIXELS", "lots")
    with pytest.raises(ConfigError, match="LLE_MAX_IMAGE_PIXELS"):  # the setting, not the file
        read_image(path)


def test_animated_png_reads_its_first_frame(tmp_path: Path):
    frames = [Image.new("RGB", (9, 4), (v, v, v)) for v in (10, 200, 90)]
    path = tmp_path / "anim.png"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    with Image.open(path) as img:
        assert getattr(img, "n_frames", 1) == 3
    x = read_image(path)
    assert x.shape == (3, 4, 9)
    assert torch.allclose(x, torch.full_like(x, 10 / 255))


def test_cmyk_sixteen_bit_tiny_and_extreme_aspect(tmp_path: Path):
    Image.new("CMYK", (4, 3), (0, 0, 0, 0)).save(tmp_path / "cmyk.jpg")
    assert read_image(tmp_path / "cmyk.jpg").shape == (3, 3, 4)
    Image.fromarray(np.full((3, 5), 65535, np.uint16)).save(tmp_path / "deep.png")
    assert torch.allclose(read_image(tmp_path / "deep.png"), torch.ones(3, 3, 5))
    Image.new("RGB", (1, 1), (255, 0, 0)).save(tmp_path / "one.png")
    assert read_image(tmp_path / "one.png").tolist() == [[[1.0]], [[0.0]], [[0.0]]]
    Image.new("L", (4000, 1)).save(tmp_path / "line.png")
    assert read_image(tmp_path / "line.png").shape == (3, 1, 4000)


def test_float_tiff_with_nan_is_refused(tmp_path: Path):
    arr = np.full((3, 4), 0.5, np.float32)
    arr[1, 2] = np.nan
    Image.fromarray(arr, mode="F").save(tmp_path / "nan.tif")
    with pytest.raises(ImageReadError, match=r"nan\.tif.*NaN"):
        read_image(tmp_path / "nan.tif")


@given(
    cut=st.integers(min_value=0, max_value=len(GOOD)),
    flips=st.lists(
        st.tuples(st.integers(0, len(GOOD) - 1), st.integers(1, 255)), min_size=0, max_size=6
    ),
)
def test_corrupted_bytes_never_escape_as_another_error(tmp_path_factory, cut, flips):
    """Any damage (truncation, flipped bytes) reads fine or is an ImageReadError."""
    data = bytearray(GOOD[:cut])
    for pos, mask in flips:
        if pos < len(data):
            data[pos] ^= mask
    path = tmp_path_factory.mktemp("fuzz") / "x.png"
    path.write_bytes(bytes(data))
    try:
        x = read_image(path)
    except ImageReadError as err:
        assert "x.png" in str(err)
    else:
        assert x.shape[0] == 3 and x.dtype == torch.float32
        assert bool(torch.isfinite(x).all()) and 0.0 <= float(x.min()) <= float(x.max()) <= 1.0


@given(payload=st.binary(min_size=0, max_size=256))
def test_random_bytes_never_escape_as_another_error(tmp_path_factory, payload):
    path = tmp_path_factory.mktemp("fuzz") / "r.jpg"
    path.write_bytes(payload)
    with contextlib.suppress(ImageReadError):  # any other exception fails the test
        read_image(path)


# ------------------------------------------------------------------------------------------
# Atomic writes, concurrent writers, full disk
# ------------------------------------------------------------------------------------------


def _disk_full(handle, payload):
    handle.write(payload[: len(payload) // 3])
    raise OSError(errno.ENOSPC, "No space left on device")


def test_full_disk_leaves_the_previous_image_and_no_temporary(tmp_path, monkeypatch):
    path = write_image(tmp_path / "out.png", torch.zeros(3, 4, 4))
    before = path.read_bytes()
    monkeypatch.setattr(files, "write_payload", _disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_image(path, torch.ones(3, 4, 4))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_write_image_refuses_nan_instead_of_saving_black(tmp_path):
    img = torch.full((3, 4, 4), 0.5)
    img[0, 1, 1] = float("nan")
    with pytest.raises(TensorError, match="NaN"):
        write_image(tmp_path / "o.png", img)
    assert not (tmp_path / "o.png").exists()


def test_concurrent_writers_of_one_file_never_corrupt_it(tmp_path):
    """Four writers x 15 writes of different images to one name: always a whole image."""
    path = tmp_path / "same.png"
    images = [torch.full((3, 64, 64), v / 5) for v in range(4)]
    errors: list[BaseException] = []
    seen: list[torch.Tensor] = []
    start = threading.Barrier(5)

    def writer(k: int) -> None:
        start.wait()
        try:
            for _ in range(15):
                write_image(path, images[k])
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    def reader() -> None:
        start.wait()
        for _ in range(30):
            if path.exists():
                seen.append(read_image(path))

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    threads.append(threading.Thread(target=reader))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    final = read_image(path)
    assert any(torch.allclose(final, im, atol=1 / 255) for im in images)
    for x in seen:  # every read (while writers ran) was a complete image
        assert any(torch.allclose(x, im, atol=1 / 255) for im in images)
    assert [p.name for p in tmp_path.iterdir()] == ["same.png"]


def test_temporary_names_are_unique_per_write(tmp_path):
    names = {files.temporary_name(tmp_path / "a.png").name for _ in range(50)}
    assert len(names) == 50
    assert all(n.startswith(".a.png.tmp-") for n in names)


def test_atomic_write_failure_inside_the_writer_keeps_the_old_file(tmp_path):
    atomic_write(tmp_path / "r.json", b"old")

    def broken(handle):
        handle.write(b"partial")
        raise RuntimeError("serialiser failed")

    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "r.json", broken)
    assert (tmp_path / "r.json").read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


# ------------------------------------------------------------------------------------------
# Folder lock
# ------------------------------------------------------------------------------------------


def test_folder_lock_is_exclusive_and_released(tmp_path):
    run = tmp_path / "run"
    with FolderLock(run, what="lle train run"):
        with pytest.raises(FolderBusyError, match=r"in use by another lle train run \(pid \d+"):
            FolderLock(run, what="lle train run").acquire()
        (run / "latest.safetensors").write_bytes(b"x")
    with FolderLock(run):  # released: can be taken again
        pass
    assert (run / "latest.safetensors").exists()


def test_folder_lock_removes_a_folder_it_created_and_left_empty(tmp_path):
    with FolderLock(tmp_path / "fresh"):
        assert (tmp_path / "fresh" / ".lock").exists()
    assert not (tmp_path / "fresh").exists()
