"""Tiled inference with overlap and smooth blending.

Layout: along each axis, tiles of ``tile`` input pixels start on a grid of stride
``tile - overlap`` (all starts are multiples of the model's ``multiple_of``, so a model's
pooling grid is the same in a tile as in the whole image); the last tile is aligned the same
way and ends at the border.

Blending: where two neighbours share a band of ``ov ≥ overlap`` pixels, each tile's weight is
``0`` on its outer ``margin`` pixels (their receptive field is cut by the tile edge), then a
raised-cosine ramp ``½ − ½·cos(π t)`` over ``ov − 2·margin`` pixels, then ``1``. The two ramps
of a seam are complementary, so the weights of neighbouring tiles sum to one, every pixel is
taken from tiles that saw at least ``margin`` pixels of context around it, and the
transition is C¹-smooth (no visible seam). Weights are separable (``w(y)·w(x)``), so the
normalising sum over the tile grid is the outer product of two 1-D sums: no full-size weight
map is stored. With ``margin ≥ receptive_field`` a local model's tiled output equals its
untiled output up to floating-point rounding.

Models with global statistics (:class:`~lle_core.global_ops.GlobalPool` layers) get the whole
image's statistics first and run the tiles with them fixed (:mod:`lle_core.inference.context`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from lle_core.global_ops import current_hook, has_global_ops
from lle_core.inference.padding import forward_padded
from lle_core.registry import Capabilities

Progress = Callable[[int, int], None]


def tile_multiple(capabilities: Capabilities) -> int:
    """Alignment of tile starts and sizes: ``lcm(multiple_of, tile_align)``.

    ``tile_align`` is set by models that pad internally to a coarser grid than
    ``multiple_of`` (NEID pads its half-resolution input to 16, i.e. 32 input pixels).
    """
    return math.lcm(capabilities.multiple_of, capabilities.tile_align)


@dataclass(frozen=True)
class TilePlan:
    """How an image is cut into tiles (sizes in input pixels).

    Attributes:
        tile: Side of a regular tile (multiple of the model's ``multiple_of``).
        overlap: Minimum band shared by two neighbouring tiles.
        margin: Pixels at an interior tile edge that get zero blending weight.
    """

    tile: int
    overlap: int
    margin: int

    @property
    def stride(self) -> int:
        """Distance between the starts of neighbouring tiles."""
        return self.tile - self.overlap


def default_overlap(capabilities: Capabilities) -> int:
    """Overlap that gives a full receptive field of context: ``2·rf + ramp`` rounded up.

    The ramp is ``max(16, rf // 2)`` pixels; the result is a multiple of :func:`tile_multiple`.
    """
    rf = capabilities.receptive_field
    k = tile_multiple(capabilities)
    overlap = 2 * rf + max(16, rf // 2)
    return -(-overlap // k) * k


def make_plan(tile: int, overlap: int | None, capabilities: Capabilities) -> TilePlan:
    """Validate and align a tile size and overlap for a model.

    ``tile`` is rounded down and ``overlap`` up to multiples of :func:`tile_multiple`; a tile that
    leaves no stride (``tile <= overlap``) is enlarged to ``2·overlap`` with a warning. The
    margin is ``min(receptive_field, (overlap − ramp) // 2)`` where the ramp keeps at least
    ``max(8, overlap // 4)`` pixels (or the whole overlap if it is smaller).

    Args:
        tile: Requested tile side in input pixels.
        overlap: Requested overlap, or ``None`` for :func:`default_overlap`.
        capabilities: The model's capabilities.

    Returns:
        The plan.
    """
    k = tile_multiple(capabilities)
    ov = default_overlap(capabilities) if overlap is None else int(overlap)
    if ov < 0:
        raise ValueError(f"tile overlap must be >= 0, got {ov}")
    ov = -(-ov // k) * k
    smallest = max(capabilities.min_size, capabilities.min_input)  # a tile is an input too
    t = max(k, (int(tile) // k) * k, -(-smallest // k) * k)
    if t <= ov:
        new_t = max(2 * ov, k)
        warnings.warn(
            f"tile {tile} leaves no room next to the overlap {ov}; using tile {new_t}",
            stacklevel=3,
        )
        t = new_t
    ramp_min = min(ov, max(8, ov // 4))
    margin = max(0, min(capabilities.receptive_field, (ov - ramp_min) // 2))
    return TilePlan(tile=t, overlap=ov, margin=margin)


def auto_tile_side(
    bytes_per_pixel: float, batch: int, budget_bytes: float, capabilities: Capabilities
) -> int:
    """Largest square tile whose estimated peak memory fits the budget (input pixels)."""
    area = budget_bytes / max(bytes_per_pixel * batch, 1e-9)
    return max(1, math.isqrt(max(int(area), 1)))


def axis_spans(length: int, plan: TilePlan, multiple: int) -> list[tuple[int, int]]:
    """Tile ``[start, end)`` intervals covering ``[0, length)`` along one axis.

    Starts are multiples of ``multiple``; regular tiles have ``plan.tile`` pixels; the last
    one ends at ``length`` (and may be up to ``multiple − 1`` pixels longer).
    """
    if length <= plan.tile:
        return [(0, length)]
    starts = list(range(0, length - plan.tile + 1, plan.stride))
    if starts[-1] + plan.tile < length:
        last = ((length - plan.tile) // multiple) * multiple
        if last <= starts[-1]:
            starts.pop()
        starts.append(last)
    return [(s, s + plan.tile) for s in starts[:-1]] + [(starts[-1], length)]


def _ramp(n: int, device: torch.device) -> Tensor:
    """Raised-cosine ramp rising from ~0 to ~1 over ``n`` samples (pixel centres)."""
    t = (torch.arange(n, dtype=torch.float64, device=device) + 0.5) / n
    return (0.5 - 0.5 * torch.cos(math.pi * t)).float()


def axis_weights(
    spans: list[tuple[int, int]], margin: int, scale: int, device: torch.device
) -> list[Tensor]:
    """Blending weight of each span along one axis, in output pixels (``scale ×`` input)."""
    out = []
    m = margin * scale
    for i, (a, b) in enumerate(spans):
        w = torch.ones((b - a) * scale, device=device)
        if i > 0:  # seam with the previous tile: zero margin, then ramp up
            ov = (spans[i - 1][1] - a) * scale
            mm = min(m, ov // 2)
            r = ov - 2 * mm
            w[:mm] = 0.0
            w[mm : mm + r] *= _ramp(r, device)
        if i < len(spans) - 1:  # seam with the next tile: ramp down, then zero margin
            ov = (b - spans[i + 1][0]) * scale
            mm = min(m, ov // 2)
            r = ov - 2 * mm
            n = w.numel()
            if mm:
                w[n - mm :] = 0.0
            w[n - mm - r : n - mm] *= 1.0 - _ramp(r, device)
        out.append(w)
    return out


def tiled_forward(
    model: nn.Module,
    x: Tensor,
    capabilities: Capabilities,
    plan: TilePlan,
    *,
    progress: Progress | None = None,
) -> Tensor:
    """Run ``model`` tile by tile over ``x`` and blend the tiles.

    A model with global statistics first gets them for the whole image (streamed over the
    same tiles, or from a downscaled pass; :mod:`lle_core.inference.context`), then runs the
    blended pass with them fixed.

    Args:
        model: Enhancer in eval mode (called under the caller's ``no_grad``/autocast).
        x: ``(B, 3, H, W)`` in ``[0, 1]``.
        capabilities: The model's capabilities (``multiple_of``, ``min_size``, ``scale``,
            ``tile_align``, ``global_stats``).
        plan: Tile layout from :func:`make_plan`.
        progress: Called as ``progress(done, total)`` after each tile of every pass.

    Returns:
        ``(B, 3, s·H, s·W)`` float32 (not clamped).
    """
    k = tile_multiple(capabilities)
    ys, xs = axis_spans(x.shape[-2], plan, k), axis_spans(x.shape[-1], plan, k)
    if current_hook() is None and has_global_ops(model):
        from lle_core.inference.context import with_global_context

        tile_pixels = float(min(plan.tile, x.shape[-2]) * min(plan.tile, x.shape[-1]))
        return with_global_context(
            model, x, capabilities, ys, xs, k,
            lambda prog: blend_tiles(model, x, capabilities, plan, ys, xs, progress=prog),
            progress=progress,
            downscale_pixels=tile_pixels,
        )
    return blend_tiles(model, x, capabilities, plan, ys, xs, progress=progress)


def blend_tiles(
    model: nn.Module,
    x: Tensor,
    capabilities: Capabilities,
    plan: TilePlan,
    ys: list[tuple[int, int]],
    xs: list[tuple[int, int]],
    *,
    progress: Progress | None = None,
) -> Tensor:
    """The blended pass of :func:`tiled_forward` over the tile spans ``ys × xs``."""
    b, _, h, w = x.shape
    s = capabilities.scale
    wys = axis_weights(ys, plan.margin, s, x.device)
    wxs = axis_weights(xs, plan.margin, s, x.device)
    sum_y = torch.zeros(h * s, device=x.device)
    sum_x = torch.zeros(w * s, device=x.device)
    for (y0, y1), wy in zip(ys, wys, strict=True):
        sum_y[y0 * s : y1 * s] += wy
    for (x0, x1), wx in zip(xs, wxs, strict=True):
        sum_x[x0 * s : x1 * s] += wx
    out = torch.zeros(b, 3, h * s, w * s, device=x.device, dtype=torch.float32)
    total, done = len(ys) * len(xs), 0
    for (y0, y1), wy in zip(ys, wys, strict=True):
        for (x0, x1), wx in zip(xs, wxs, strict=True):
            pred = forward_padded(model, x[..., y0:y1, x0:x1].contiguous(), capabilities)
            weight = wy[:, None] * wx[None, :]
            out[..., y0 * s : y1 * s, x0 * s : x1 * s].addcmul_(pred.float(), weight)
            del pred
            done += 1
            if progress is not None:
                progress(done, total)
    out.div_(sum_y.view(1, 1, -1, 1)).div_(sum_x.view(1, 1, 1, -1))
    return out
