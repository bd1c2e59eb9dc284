from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from lle_core.errors import ImageReadError
from lle_core.io import list_images, read_image, to_uint8, write_image


def _rgb(h: int = 5, w: int = 7, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def _check(t: torch.Tensor, h: int, w: int) -> None:
    assert t.dtype == torch.float32
    assert t.shape == (3, h, w)
    assert float(t.min()) >= 0.0 and float(t.max()) <= 1.0


def test_rgb_png_exact(tmp_path):
    arr = _rgb()
    Image.fromarray(arr).save(tmp_path / "a.png")
    t = read_image(tmp_path / "a.png")
    _check(t, 5, 7)
    assert torch.equal(t, torch.from_numpy(arr).permute(2, 0, 1).float() / 255)


def test_grayscale_replicated(tmp_path):
    arr = _rgb()[..., 0]
    Image.fromarray(arr, mode="L").save(tmp_path / "g.png")
    t = read_image(tmp_path / "g.png")
    _check(t, 5, 7)
    assert torch.equal(t[0], t[1]) and torch.equal(t[1], t[2])
    assert torch.allclose(t[0], torch.from_numpy(arr).float() / 255)


def test_bilevel(tmp_path):
    arr = np.zeros((4, 6), dtype=bool)
    arr[1, 2] = True
    Image.fromarray(arr).convert("1").save(tmp_path / "b.png")
    t = read_image(tmp_path / "b.png")
    _check(t, 4, 6)
    assert t[:, 1, 2].tolist() == [1.0, 1.0, 1.0]
    assert float(t.sum()) == 3.0


def test_palette(tmp_path):
    arr = _rgb(6, 6)
    img = Image.fromarray(arr).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    img.save(tmp_path / "p.png")
    expected = np.asarray(img.convert("RGB"), dtype=np.float32) / 255
    t = read_image(tmp_path / "p.png")
    _check(t, 6, 6)
    assert np.allclose(t.permute(1, 2, 0).numpy(), expected)


def test_rgba_drop_and_black(tmp_path):
    rgb = _rgb()
    alpha = np.full((5, 7), 128, dtype=np.uint8)
    alpha[0, 0] = 0
    Image.fromarray(np.dstack([rgb, alpha]), mode="RGBA").save(tmp_path / "a.png")
    dropped = read_image(tmp_path / "a.png")
    black = read_image(tmp_path / "a.png", alpha="black")
    ref = torch.from_numpy(rgb).permute(2, 0, 1).float() / 255
    assert torch.equal(dropped, ref)
    assert torch.allclose(black, ref * torch.from_numpy(alpha).float() / 255, atol=1e-6)
    assert black[:, 0, 0].abs().sum() == 0


def test_la_and_cmyk(tmp_path):
    gray = _rgb()[..., 0]
    Image.fromarray(np.dstack([gray, gray]), mode="LA").save(tmp_path / "la.png")
    t = read_image(tmp_path / "la.png")
    _check(t, 5, 7)
    assert torch.allclose(t[2], torch.from_numpy(gray).float() / 255)
    Image.fromarray(_rgb()).convert("CMYK").save(tmp_path / "c.jpg", quality=100)
    _check(read_image(tmp_path / "c.jpg"), 5, 7)


def test_sixteen_bit_png(tmp_path):
    arr = np.array([[0, 1, 65535], [32768, 257, 1000]], dtype=np.uint16)
    Image.fromarray(arr).save(tmp_path / "d.png")
    t = read_image(tmp_path / "d.png")
    _check(t, 2, 3)
    expected = torch.from_numpy(arr.astype(np.float64) / 65535).float()
    assert torch.allclose(t[0], expected, atol=1e-7)
    assert torch.equal(t[0], t[2])
    # 1/65535 is finer than an 8-bit level: precision is kept
    assert 0 < float(t[0, 0, 1]) < 1 / 255


def _write_png16_rgb(path, arr: np.ndarray) -> None:
    """Minimal PNG encoder for 16-bit RGB (pillow cannot write that mode)."""
    import struct
    import zlib

    h, w, _ = arr.shape
    raw = b"".join(b"\x00" + arr[i].astype(">u2").tobytes() for i in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_sixteen_bit_colour_png_read_with_8bit_precision(tmp_path):
    arr = np.array([[[0, 1, 65535], [32768, 257, 1000]]], dtype=np.uint16)
    _write_png16_rgb(tmp_path / "c16.png", arr)
    t = read_image(tmp_path / "c16.png")
    _check(t, 1, 2)
    expected = torch.from_numpy(arr.astype(np.float32) / 65535).permute(2, 0, 1)
    assert (t - expected).abs().max() <= 1 / 255  # pillow keeps the high byte only


def test_exif_orientation_applied(tmp_path):
    arr = _rgb(2, 4)  # stored landscape
    img = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90° clockwise
    img.save(tmp_path / "r.png", exif=exif)
    t = read_image(tmp_path / "r.png")
    _check(t, 4, 2)
    expected = np.rot90(arr, k=-1).astype(np.float32) / 255
    assert np.allclose(t.permute(1, 2, 0).numpy(), expected)


def test_missing_corrupt_and_non_image(tmp_path):
    with pytest.raises(ImageReadError, match=r"nope\.png"):
        read_image(tmp_path / "nope.png")
    (tmp_path / "text.png").write_text("this is not an image")
    with pytest.raises(ImageReadError, match=r"text\.png"):
        read_image(tmp_path / "text.png")
    Image.fromarray(_rgb(32, 32)).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match=r"cut\.png"):
        read_image(tmp_path / "cut.png")
    assert isinstance(ImageReadError("x"), OSError)


def test_list_images_sorted_filtered(tmp_path):
    for name in ["b.PNG", "a.jpg", "c.JpEg", "notes.txt", ".hidden.png", "z.bmp"]:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub.png").mkdir()
    assert [p.name for p in list_images(tmp_path)] == ["a.jpg", "b.PNG", "c.JpEg", "z.bmp"]
    with pytest.raises(ImageReadError, match="missing"):
        list_images(tmp_path / "missing")


def test_write_png_roundtrip_and_clamp(tmp_path):
    x = torch.rand(3, 6, 5)
    x[0, 0, 0] = 2.0
    x[1, 0, 0] = -1.0
    out = write_image(tmp_path / "sub" / "o.png", x)
    back = read_image(out)
    expected = (x.clamp(0, 1) * 255).round() / 255
    assert torch.allclose(back, expected, atol=1e-6)
    assert back[0, 0, 0] == 1.0 and back[1, 0, 0] == 0.0
    write_image(tmp_path / "b.png", x[None])  # batch of one accepted
    assert torch.equal(read_image(tmp_path / "b.png"), back)


def test_write_jpeg_close(tmp_path):
    x = torch.full((3, 16, 16), 0.5)
    write_image(tmp_path / "o.jpg", x, quality=95)
    back = read_image(tmp_path / "o.jpg")
    assert (back - x).abs().max() < 3 / 255


def test_write_errors(tmp_path):
    with pytest.raises(ValueError, match="format"):
        write_image(tmp_path / "o.xyz", torch.zeros(3, 2, 2))
    with pytest.raises(ValueError, match="batch"):
        to_uint8(torch.zeros(2, 3, 2, 2))
