"""A small line chart drawn with Pillow (no matplotlib): the demo's loss curve."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

Series = tuple[str, Sequence[tuple[float, float]], tuple[int, int, int]]

_BG = (255, 255, 255)
_AXIS = (60, 60, 60)
_GRID = (225, 225, 225)


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values in ``[lo, hi]`` (at most ``4 n + 1``, never a hang).

    Non-finite bounds, an empty range, or a step too small to move ``v`` (values far from 0
    with a tiny spread) give the bounds themselves.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else [0.0]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    start = math.ceil(lo / step) * step
    ticks: list[float] = []
    v = start
    while v <= hi + 1e-12 and len(ticks) <= 4 * n:
        ticks.append(round(v, 10))
        if v + step == v:  # step below the float resolution at v
            break
        v += step
    return ticks or [lo, hi]


def _label(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000 or abs(v) < 0.01:
        return f"{v:.1e}"
    return f"{v:.3g}"


def line_chart(
    series: Sequence[Series],
    path: str | Path,
    *,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    size: tuple[int, int] = (720, 400),
    log_y: bool = False,
) -> Path:
    """Draw line series on shared axes and save a PNG.

    Args:
        series: ``(label, [(x, y), ...], (r, g, b))`` per line; empty series are skipped.
        path: Output ``.png``.
        title: Text above the plot.
        xlabel: X axis label.
        ylabel: Y axis label.
        size: Image size in pixels.
        log_y: Logarithmic y axis (values must be positive).

    Returns:
        The written path.
    """
    width, height = size
    left, right, top, bottom = 64, 16, 28, 40
    img = Image.new("RGB", size, _BG)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    points = [(x, y) for _, pts, _ in series for x, y in pts if math.isfinite(y)]
    if log_y:
        points = [(x, y) for x, y in points if y > 0]

    def ty(y: float) -> float:
        return math.log10(y) if log_y else y

    if points:
        x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
        y0, y1 = min(ty(p[1]) for p in points), max(ty(p[1]) for p in points)
    else:
        x0, x1, y0, y1 = 0.0, 1.0, 0.0, 1.0
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    pad = 0.05 * (y1 - y0)
    y0, y1 = y0 - pad, y1 + pad
    pw, ph = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return top + (1 - (ty(y) - y0) / (y1 - y0)) * ph

    for t in _nice_ticks(y0, y1):
        yv = 10**t if log_y else t
        yy = top + (1 - (t - y0) / (y1 - y0)) * ph
        draw.line([(left, yy), (left + pw, yy)], fill=_GRID)
        draw.text((4, yy - 6), _label(yv), fill=_AXIS, font=font)
    for t in _nice_ticks(x0, x1):
        xx = px(t)
        draw.line([(xx, top), (xx, top + ph)], fill=_GRID)
        draw.text((xx - 8, top + ph + 4), _label(t), fill=_AXIS, font=font)
    draw.rectangle([left, top, left + pw, top + ph], outline=_AXIS)
    if title:
        draw.text((left, 8), title, fill=_AXIS, font=font)
    if xlabel:
        draw.text((left + pw // 2 - 3 * len(xlabel), height - 16), xlabel, fill=_AXIS, font=font)
    if ylabel:
        draw.text((4, top - 22 if top > 22 else 2), ylabel, fill=_AXIS, font=font)
    legend_y = top + 6
    for label, pts, colour in series:
        good = [(px(x), py(y)) for x, y in pts if math.isfinite(y) and (y > 0 or not log_y)]
        if len(good) >= 2:
            draw.line(good, fill=colour, width=2)
        elif len(good) == 1:
            gx, gy = good[0]
            draw.ellipse([gx - 3, gy - 3, gx + 3, gy + 3], fill=colour)
        if good:
            draw.line(
                [(left + pw - 120, legend_y + 6), (left + pw - 100, legend_y + 6)],
                fill=colour,
                width=2,
            )
            draw.text((left + pw - 96, legend_y), label, fill=_AXIS, font=font)
            legend_y += 14
    import io

    from lle_core.files import atomic_write

    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return atomic_write(path, buffer.getvalue())


def smooth(values: Sequence[float], factor: float = 0.9) -> list[float]:
    """Exponential moving average with bias correction (TensorBoard-style smoothing)."""
    out, avg = [], 0.0
    for i, v in enumerate(values, start=1):
        avg = factor * avg + (1 - factor) * v
        out.append(avg / (1 - factor**i))
    return out
