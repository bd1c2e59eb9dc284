"""Side-by-side comparison images: ``input | outputs... | ground truth`` with labels."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from lle_core.files import atomic_write

#: Height of the label band above each cell, in pixels.
LABEL_HEIGHT = 14
#: Gap between cells and around the grid, in pixels.
GAP = 4
BACKGROUND = (24, 24, 24)
TEXT = (235, 235, 235)

Cell = tuple[str, Tensor | Image.Image]


def _to_pil(image: Tensor | Image.Image) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    t = image.detach().float().cpu()
    if t.dim() == 4:
        t = t[0]
    arr = (t.clamp(0, 1).permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)
    return Image.fromarray(arr)


def cell_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """Size of an image cell: scaled down (never up) so the longer side is ``<= max_side``."""
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def grid_size(rows: Sequence[Sequence[tuple[int, int]]], max_side: int) -> tuple[int, int]:
    """Canvas size for rows of image sizes ``(W, H)`` (see :func:`write_comparison_grid`)."""
    width = height = 0
    for row in rows:
        cells = [cell_size(w, h, max_side) for w, h in row]
        width = max(width, sum(c[0] for c in cells) + GAP * (len(cells) + 1))
        height += max(c[1] for c in cells) + LABEL_HEIGHT + GAP
    return width, height + GAP


def write_comparison_grid(
    rows: Sequence[Sequence[Cell]], path: str | Path, *, max_side: int = 256
) -> Path:
    """Write a labelled comparison grid as PNG.

    Each row is a sequence of ``(label, image)`` cells, typically
    ``("input", low), ("model", out), ..., ("ground truth", high)``; images are ``(3, H, W)``
    tensors in ``[0, 1]`` or PIL images. Each image is scaled down (never up) so its longer
    side is at most ``max_side`` pixels and gets its label above it (Pillow's default font).

    Args:
        rows: The rows of cells.
        path: Output file (``.png``); parent folders are created.
        max_side: Longest side of a cell in pixels.

    Returns:
        The written path. The canvas size is :func:`grid_size` of the image sizes.
    """
    if not rows or any(not row for row in rows):
        raise ValueError("write_comparison_grid needs at least one non-empty row")
    pil_rows = [[(label, _to_pil(img)) for label, img in row] for row in rows]
    size = grid_size([[im.size for _, im in row] for row in pil_rows], max_side)
    canvas = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    y = GAP
    for row in pil_rows:
        x = GAP
        row_h = 0
        for label, im in row:
            w, h = cell_size(*im.size, max_side)
            if (w, h) != im.size:
                im = im.resize((w, h), Image.Resampling.LANCZOS)
            draw.text((x + 1, y), _fit(draw, font, label, w), fill=TEXT, font=font)
            canvas.paste(im, (x, y + LABEL_HEIGHT))
            x += w + GAP
            row_h = max(row_h, h)
        y += row_h + LABEL_HEIGHT + GAP
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return atomic_write(path, buffer.getvalue())


def _fit(draw: ImageDraw.ImageDraw, font: object, text: str, width: int) -> str:
    """Shorten ``text`` with an ellipsis until it fits ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:  # type: ignore[arg-type]
        return text
    while text and draw.textlength(text + "...", font=font) > width:  # type: ignore[arg-type]
        text = text[:-1]
    return text + "..." if text else ""
