"""Clean photos for the demo, with no download.

scikit-image's bundled photos, or procedural images when scikit-image is not installed.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

#: scikit-image photos shipped inside its wheel (loaded without network), and the split.
#: The two test scenes share nothing with the training scenes.
SKIMAGE_TRAIN: tuple[str, ...] = ("astronaut", "rocket", "motorcycle_left", "motorcycle_right")
SKIMAGE_TEST: tuple[str, ...] = ("chelsea", "coffee")


def skimage_photo(name: str) -> np.ndarray | None:
    """An ``(H, W, 3)`` uint8 photo from ``skimage.data`` or ``None`` if unavailable offline."""
    try:
        from skimage import data
    except ImportError:
        return None
    try:
        if name.startswith("motorcycle_"):
            left, right, _ = data.stereo_motorcycle()
            arr = left if name.endswith("left") else right
        else:
            arr = getattr(data, name)()
    except Exception:  # a photo that needs a download is simply skipped
        return None
    arr = np.asarray(arr)
    if arr.ndim != 3 or arr.shape[-1] < 3:
        return None
    return np.ascontiguousarray(arr[..., :3]).astype(np.uint8)


def resize_short_side(image: Tensor, short: int) -> Tensor:
    """Resize ``(3, H, W)`` so the short side is ``short`` pixels (Lanczos, via Pillow)."""
    h, w = image.shape[-2:]
    scale = short / min(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    arr = (image.clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    out = Image.fromarray(arr).resize(size, Image.Resampling.LANCZOS)
    return torch.from_numpy(np.asarray(out, dtype=np.float32) / 255.0).permute(2, 0, 1)


def procedural_photo(seed: int, height: int = 256, width: int = 320) -> Tensor:
    """A synthetic "photo": smooth lighting, coloured shapes, stripes and fine texture.

    Args:
        seed: Random seed (the same seed gives the same image).
        height: Image height.
        width: Image width.

    Returns:
        ``(3, H, W)`` float32 in ``[0, 1]``.
    """
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(
        torch.linspace(0, 1, height), torch.linspace(0, 1, width), indexing="ij"
    )
    c0, c1 = torch.rand(3, 1, 1, generator=g), torch.rand(3, 1, 1, generator=g)
    angle = float(torch.rand((), generator=g)) * 2 * math.pi
    t = (math.cos(angle) * xx + math.sin(angle) * yy).clamp(0, 1)
    img = c0 * (1 - t) + c1 * t
    for _ in range(10):
        cy, cx = torch.rand(2, generator=g).tolist()
        ry, rx = (0.05 + 0.25 * torch.rand(2, generator=g)).tolist()
        colour = torch.rand(3, 1, 1, generator=g)
        if float(torch.rand((), generator=g)) < 0.5:
            mask = (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2) <= 1
        else:
            mask = ((yy - cy).abs() <= ry) & ((xx - cx).abs() <= rx)
        shade = 0.75 + 0.25 * (1 - (yy - cy).abs() / max(ry, 1e-3)).clamp(0, 1)
        img = torch.where(mask, colour * shade, img)
    freq = 20 + 40 * float(torch.rand((), generator=g))
    stripes = 0.08 * torch.sin(2 * math.pi * freq * (xx + 0.3 * yy))
    band = ((yy > 0.6) & (yy < 0.8)).float()
    img = img + stripes * band
    img = img + 0.03 * torch.randn(3, height, width, generator=g)
    img = F.avg_pool2d(img.unsqueeze(0), 3, stride=1, padding=1, count_include_pad=False)[0]
    light = 0.6 + 0.4 * torch.exp(-((xx - 0.5) ** 2 + (yy - 0.4) ** 2) / 0.3)
    return (img * light).clamp(0, 1).float()


def demo_photos(
    short_side: int = 192,
) -> tuple[list[tuple[str, Tensor]], list[tuple[str, Tensor]], str]:
    """Clean training and test photos for the demo.

    scikit-image's bundled photos when available (train: astronaut, rocket, motorcycle
    left/right; test: chelsea, coffee), else procedural images (4 train, 2 test seeds).

    Args:
        short_side: Short side of the returned images in pixels.

    Returns:
        ``(train, test, source)`` where each list holds ``(name, (3, H, W) in [0, 1])`` and
        ``source`` is ``"scikit-image"`` or ``"procedural"``.
    """

    def load(names: tuple[str, ...]) -> list[tuple[str, Tensor]]:
        out = []
        for name in names:
            arr = skimage_photo(name)
            if arr is not None:
                t = torch.from_numpy(arr.astype(np.float32) / 255.0).permute(2, 0, 1)
                out.append((name, resize_short_side(t, short_side)))
        return out

    train, test = load(SKIMAGE_TRAIN), load(SKIMAGE_TEST)
    if len(train) >= 2 and test:
        return train, test, "scikit-image"
    warnings.warn(
        "scikit-image photos are not available (pip install scikit-image); the demo uses "
        "procedural images",
        stacklevel=2,
    )
    h, w = short_side, round(short_side * 1.25)
    train = [(f"procedural{i}", procedural_photo(i, h, w)) for i in range(4)]
    test = [(f"procedural{i}", procedural_photo(i, h, w)) for i in range(100, 102)]
    return train, test, "procedural"
