"""A small line chart drawn with Pillow (no matplotlib): the demo's loss curve."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from lle_core.files import atomic_write

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
    img = Image.new("RGB", size, _BG)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    frame = _Frame.fit(series, size, log_y)
    _draw_axes(draw, font, frame, size[1], title, xlabel, ylabel)
    _draw_series(draw, font, frame, series)
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return atomic_write(path, buffer.getvalue())


@dataclass(frozen=True)
class _Frame:
    """The plot area in pixels and the data ranges it shows (``y`` as log10 with ``log_y``)."""

    left: int
    top: int
    pw: int
    ph: int
    x0: float
    x1: float
    y0: float
    y1: float
    log_y: bool

    @classmethod
    def fit(cls, series: Sequence[Series], size: tuple[int, int], log_y: bool) -> _Frame:
        """The frame of ``size`` whose ranges hold every finite point (5 % margin in y)."""
        width, height = size
        left, right, top, bottom = 64, 16, 28, 40
        points = [(x, y) for _, pts, _ in series for x, y in pts if math.isfinite(y)]
        if log_y:
            points = [(x, math.log10(y)) for x, y in points if y > 0]
        if points:
            x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
            y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
        else:
            x0, x1, y0, y1 = 0.0, 1.0, 0.0, 1.0
        if x1 == x0:
            x1 = x0 + 1
        if y1 == y0:
            y0, y1 = y0 - 0.5, y1 + 0.5
        pad = 0.05 * (y1 - y0)
        return cls(left, top, width - left - right, height - top - bottom,
                   x0, x1, y0 - pad, y1 + pad, log_y)

    def px(self, x: float) -> float:
        """Pixel column of data ``x``."""
        return self.left + (x - self.x0) / (self.x1 - self.x0) * self.pw

    def py_axis(self, t: float) -> float:
        """Pixel row of ``t`` on the (possibly log10) y axis."""
        return self.top + (1 - (t - self.y0) / (self.y1 - self.y0)) * self.ph

    def py(self, y: float) -> float:
        """Pixel row of data ``y``."""
        return self.py_axis(math.log10(y) if self.log_y else y)


def _draw_axes(
    draw: ImageDraw.ImageDraw, font: Any, f: _Frame, height: int,
    title: str, xlabel: str, ylabel: str,
) -> None:
    """Grid lines with tick labels, the frame, the title and the axis labels."""
    for t in _nice_ticks(f.y0, f.y1):
        yy = f.py_axis(t)
        draw.line([(f.left, yy), (f.left + f.pw, yy)], fill=_GRID)
        draw.text((4, yy - 6), _label(10**t if f.log_y else t), fill=_AXIS, font=font)
    for t in _nice_ticks(f.x0, f.x1):
        xx = f.px(t)
        draw.line([(xx, f.top), (xx, f.top + f.ph)], fill=_GRID)
        draw.text((xx - 8, f.top + f.ph + 4), _label(t), fill=_AXIS, font=font)
    draw.rectangle([f.left, f.top, f.left + f.pw, f.top + f.ph], outline=_AXIS)
    if title:
        draw.text((f.left, 8), title, fill=_AXIS, font=font)
    if xlabel:
        draw.text((f.left + f.pw // 2 - 3 * len(xlabel), height - 16), xlabel, fill=_AXIS,
                  font=font)
    if ylabel:
        draw.text((4, f.top - 22 if f.top > 22 else 2), ylabel, fill=_AXIS, font=font)


def _draw_series(
    draw: ImageDraw.ImageDraw, font: Any, f: _Frame, series: Sequence[Series]
) -> None:
    """Each series as a line (a dot for one point) and its legend entry."""
    legend_y = f.top + 6
    for label, pts, colour in series:
        good = [(f.px(x), f.py(y)) for x, y in pts if math.isfinite(y) and (y > 0 or not f.log_y)]
        if len(good) >= 2:
            draw.line(good, fill=colour, width=2)
        elif len(good) == 1:
            gx, gy = good[0]
            draw.ellipse([gx - 3, gy - 3, gx + 3, gy + 3], fill=colour)
        if good:
            right = f.left + f.pw
            draw.line([(right - 120, legend_y + 6), (right - 100, legend_y + 6)], fill=colour,
                      width=2)
            draw.text((right - 96, legend_y), label, fill=_AXIS, font=font)
            legend_y += 14


def smooth(values: Sequence[float], factor: float = 0.9) -> list[float]:
    """Exponential moving average with bias correction (TensorBoard-style smoothing)."""
    out, avg = [], 0.0
    for i, v in enumerate(values, start=1):
        avg = factor * avg + (1 - factor) * v
        out.append(avg / (1 - factor**i))
    return out
