"""Image input/output with pillow: files <-> float32 RGB tensors in ``[0, 1]``.

Reading (:func:`read_image`) accepts every pillow mode that appears in practice and always
returns a ``(3, H, W)`` float32 tensor in ``[0, 1]``:

* ``RGB`` -> as is (``/ 255``); ``CMYK``, ``YCbCr``, ``LAB``, ``HSV`` -> converted to RGB.
* ``L``, ``1`` (grayscale, bilevel) -> the channel replicated three times.
* ``P`` (palette) -> expanded through the palette (palette transparency is dropped).
* ``RGBA``, ``LA``, ``PA`` -> alpha handled by ``alpha=``: ``"drop"`` (default) keeps the
  stored colour values and ignores alpha; ``"black"`` composites on black (``rgb · alpha``).
  Dropping is the default because low-light datasets store the scene in the colour channels
  and an alpha channel, when present, is an export artefact.
* 16-bit grayscale PNG (pillow modes ``I;16*`` / ``I``) -> divided by 65535; 32-bit float
  (``F``) -> clamped to ``[0, 1]``. Note that pillow itself reduces 16-bit *colour* PNGs to
  8 bits per channel when it opens them, so those arrive as 8-bit ``RGB``.
* The EXIF orientation tag is applied (the tensor is upright, as a viewer shows it).
* Animated files (APNG, animated WebP/TIFF): the first frame.
* Decompression bombs: an image declaring more than :func:`max_image_pixels` pixels
  (default :data:`DEFAULT_MAX_IMAGE_PIXELS`, set ``LLE_MAX_IMAGE_PIXELS``) is refused from
  its header, before any pixel is decoded.

Every decoding failure (missing, empty, truncated, not an image, too large, NaN/Inf values)
is an :class:`~lle_core.errors.ImageReadError` naming the file.

Writing (:func:`write_image`) clamps to ``[0, 1]``, rounds to 8-bit and saves in the format
of the file suffix (:data:`WRITE_EXTENSIONS`) atomically (:func:`lle_core.files.atomic_write`:
a crash or a concurrent writer never leaves a partial file).
"""

from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor

from lle_core.errors import ImageReadError, TensorError
from lle_core.files import atomic_write
from lle_core.options import DEFAULT_MAX_IMAGE_PIXELS as DEFAULT_MAX_IMAGE_PIXELS  # re-exported
from lle_core.options import MAX_PIXELS_ENV, env_max_image_pixels

#: File suffixes (lower case) treated as images by :func:`list_images`.
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pnm"}
)

#: Suffixes :func:`write_image` can write, with pillow's format name.
WRITE_EXTENSIONS: dict[str, str] = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
    ".ppm": "PPM",
    ".pgm": "PPM",
    ".pnm": "PPM",
}

AlphaMode = Literal["drop", "black"]

_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def is_image_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` has an image suffix (case-insensitive); the file is not opened."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def max_image_pixels() -> int:
    """The pixel limit of :func:`read_image`: ``LLE_MAX_IMAGE_PIXELS`` or the default.

    Raises:
        ConfigError: The variable is set but not a positive whole number (named once).
    """
    return env_max_image_pixels()


def _pillow_limit() -> int:
    """Pixels above which pillow itself refuses to open an image (twice its warning limit)."""
    return 2 * int(Image.MAX_IMAGE_PIXELS or 0) or 2**63


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files directly inside ``folder``, sorted by file name.

    Only files whose suffix is in :data:`IMAGE_EXTENSIONS` (case-insensitive) are listed;
    hidden files (names starting with ``.``, e.g. macOS ``._x.png``) and subfolders are
    skipped. The files are not opened.

    Raises:
        ImageReadError: ``folder`` does not exist or is not a directory.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ImageReadError(f"image folder not found or not a directory: {root}")
    return sorted(
        (p for p in root.iterdir() if p.is_file() and not p.name.startswith(".")
         and is_image_file(p)),
        key=lambda p: p.name,
    )


def _to_array(img: Image.Image, alpha: AlphaMode) -> np.ndarray:
    """A loaded pillow image as an ``(H, W, 3)`` array: float32 in ``[0, 1]``, or uint8 (0-255)."""
    mode = img.mode
    if mode in _SIXTEEN_BIT_MODES:
        gray = np.asarray(img, dtype=np.float64) / 65535.0
        return np.repeat(np.clip(gray, 0.0, 1.0)[..., None], 3, axis=2).astype(np.float32)
    if mode == "F":
        gray = np.asarray(img, dtype=np.float32)
        return np.repeat(np.clip(gray, 0.0, 1.0)[..., None], 3, axis=2)
    if mode == "P":
        # Expand the palette; keep alpha only if the palette declares transparency.
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif mode == "PA":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "RGBa", "La"):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
        rgb = rgba[..., :3]
        if alpha == "black":
            rgb = rgb * rgba[..., 3:4]
        return np.ascontiguousarray(rgb)
    if img.mode != "RGB":
        img = img.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV
    return np.asarray(img)  # uint8: converted to float by _channels_first, one copy


def read_image(
    path: str | os.PathLike[str], *, alpha: AlphaMode = "drop", max_pixels: int | None = None
) -> Tensor:
    """Read an image file as a float32 RGB tensor.

    Args:
        path: Image file (any format pillow reads).
        alpha: What to do with an alpha channel: ``"drop"`` ignores it, ``"black"``
            composites the image on black (see the module docstring).
        max_pixels: Refuse images with more pixels (width × height) than this, read from the
            header before decoding (default: :func:`max_image_pixels`).

    Returns:
        ``(3, H, W)`` float32 in ``[0, 1]``, upright (EXIF orientation applied).

    Raises:
        ImageReadError: The file is missing, empty, not an image, corrupt/truncated, larger
            than ``max_pixels`` or holds NaN/Inf values; the message names the file.
    """
    if alpha not in ("drop", "black"):
        raise ValueError(f"alpha must be 'drop' or 'black', got {alpha!r}")
    p = Path(path)
    if not p.is_file():
        raise ImageReadError(f"image file not found: {p}")
    limit = max_image_pixels() if max_pixels is None else int(max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p) as img:
                width, height = img.size
                if width * height > limit:
                    raise ImageReadError(
                        f"{p} declares {width}x{height} = {width * height} pixels, above the "
                        f"limit of {limit} (a decompression bomb or a very large image; raise "
                        f"it with {MAX_PIXELS_ENV}=N)"
                    )
                if width * height == 0:
                    raise ImageReadError(f"{p} declares an empty image ({width}x{height})")
                img.load()
                upright = ImageOps.exif_transpose(img)
                array = _to_array(upright if upright is not None else img, alpha)
    except ImageReadError:
        raise
    except UnidentifiedImageError:
        raise ImageReadError(f"not an image (or a format pillow cannot read): {p}") from None
    except Image.DecompressionBombError as err:  # pillow's own hard limit, checked at open
        found = re.search(r"\((\d+) pixels\)", str(err))
        size = f"{found.group(1)} pixels" if found else "more pixels than pillow decodes"
        raise ImageReadError(
            f"{p} declares {size}, above the limit of {min(limit, _pillow_limit())} (a "
            f"decompression bomb or a very large image; {MAX_PIXELS_ENV} cannot raise the "
            "limit above pillow's)"
        ) from None
    except MemoryError:
        raise ImageReadError(f"{p} does not fit in memory once decoded") from None
    except Exception as err:  # decoders raise many types on damaged data (OSError, struct...)
        raise ImageReadError(
            f"corrupt or truncated image file {p}: {type(err).__name__}: {err}"
        ) from None
    if array.dtype != np.uint8 and not np.isfinite(array).all():
        raise ImageReadError(f"{p} holds NaN or infinite pixel values")
    return torch.from_numpy(_channels_first(array))


#: Rows converted at a time by :func:`_channels_first` and :func:`to_uint8` (bounded temporaries).
_ROWS = 256


def _channels_first(array: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8 or float -> contiguous ``(3, H, W)`` float32 in ``[0, 1]``.

    Written band by band into one output array: a 96-megapixel photo needs its 1.1 GiB result
    and a few MiB more, not two or three full-size float copies.
    """
    h, w, c = array.shape
    out = np.empty((c, h, w), dtype=np.float32)
    divisor = np.float32(255 if array.dtype == np.uint8 else 1)
    for r in range(0, h, _ROWS):
        band = array[r : r + _ROWS].transpose(2, 0, 1).astype(np.float32)
        np.divide(band, divisor, out=out[:, r : r + _ROWS])
    return out


def to_uint8(image: Tensor) -> np.ndarray:
    """Convert an image tensor in ``[0, 1]`` to an 8-bit array (clamped, rounded).

    Accepts ``(3, H, W)``, ``(1, 3, H, W)`` or ``(H, W)``; returns ``(H, W, 3)`` or ``(H, W)``.
    """
    x = image.detach().to("cpu", torch.float32)
    if x.dim() == 4:
        if x.shape[0] != 1:
            raise ValueError(f"expected a single image, got a batch of shape {tuple(x.shape)}")
        x = x[0]
    if x.dim() == 3:
        if x.shape[0] == 1:
            x = x[0]
        elif x.shape[0] == 3:
            x = x.permute(1, 2, 0)
        else:
            raise ValueError(f"expected 1 or 3 channels, got shape {tuple(image.shape)}")
    elif x.dim() != 2:
        raise ValueError(f"expected (3, H, W), (1, 3, H, W) or (H, W), got {tuple(image.shape)}")
    out = np.empty(tuple(x.shape), dtype=np.uint8)
    for r in range(0, x.shape[0], _ROWS):  # bands: no full-size float temporaries
        band = torch.nan_to_num(x[r : r + _ROWS], nan=0.0).clamp_(0.0, 1.0)
        out[r : r + _ROWS] = band.mul_(255.0).round_().to(torch.uint8).numpy()
    return out


def write_image(path: str | os.PathLike[str], image: Tensor, *, quality: int = 95) -> Path:
    """Write a tensor as an 8-bit image atomically; the format follows the suffix of ``path``.

    The image is encoded in memory and written with :func:`lle_core.files.atomic_write`, so
    ``path`` holds its old content or the complete new image, never a partial file.

    Args:
        path: Output file (a suffix of :data:`WRITE_EXTENSIONS`); missing parent folders are
            created.
        image: ``(3, H, W)`` or ``(1, 3, H, W)`` RGB (or ``(H, W)`` grayscale), values are
            clamped to ``[0, 1]`` and rounded to 8 bits.
        quality: JPEG/WebP quality (ignored by lossless formats).

    Returns:
        The written path.

    Raises:
        ValueError: The suffix is not a format lle writes.
        TensorError: The image holds NaN or infinite values (they would be saved as black).
        OSError: The file cannot be written (permissions, full disk); nothing is left behind.
    """
    p = Path(path)
    fmt = WRITE_EXTENSIONS.get(p.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"unsupported image format {p.suffix or '(no suffix)'} for {p}: lle writes "
            + ", ".join(sorted(WRITE_EXTENSIONS))
        )
    bad = int((~torch.isfinite(image.detach())).sum())
    if bad:
        raise TensorError(
            f"refusing to write {p}: the image of shape {tuple(image.shape)} holds {bad} NaN "
            "or infinite value(s)"
        )
    img = Image.fromarray(to_uint8(image))
    buffer = io.BytesIO()
    if fmt in ("JPEG", "WEBP"):
        img.save(buffer, format=fmt, quality=int(quality))
    else:
        img.save(buffer, format=fmt)
    return atomic_write(p, buffer.getvalue())
