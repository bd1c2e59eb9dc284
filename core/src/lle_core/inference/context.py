"""Context-aware tiling: global statistics of the whole image, then tiles with them fixed.

A model whose global operations are :class:`~lle_core.global_ops.GlobalPool` layers is tiled in
two stages (see ``docs/inference.md``, "Models with global statistics"):

1. **Statistics.** Every global statistic of the whole image is computed first, either
   *streamed* (``capabilities.global_stats == "stream"``, exact): the tiles run as in the
   blended pass and each one adds the sum (or the maximum) of the feature pixels it *owns* —
   the tiles' owned regions partition the image at the middle of each overlap, where the
   features are those of the untiled image — to an accumulator; or *downscaled*
   (``"downscale"``, approximate): the whole image, downscaled to fit the memory budget, runs
   once, then :data:`REFINE_PASSES` streamed passes over the tiles recompute every statistic
   at full resolution with the current estimates fixed (:func:`refined_statistics`).
2. **Tiles.** The tiles run again with every statistic fixed to the whole-image value and are
   blended exactly as for a local model (:func:`lle_core.inference.tiling.blend_tiles`).

Statistics may depend on each other (DLN's second feature aggregation pools features that the
first one re-weighted). A probe on a small image records, for every global operation, which
earlier ones its input depends on (storage-level taint tracking under a
``TorchDispatchMode``); operations are then grouped in *waves* — wave ``n`` holds those whose
inputs depend only on waves ``< n`` — and each wave is one streamed pass over the tiles, stopped
right after the wave's last operation. DLN needs 3 waves, NEID 1, HF2 9.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from lle_core.global_ops import GlobalPool, global_stats_hook
from lle_core.inference.padding import forward_padded
from lle_core.registry import Capabilities

Progress = Callable[[int, int], None]

#: Streamed passes that refine statistics from a downscaled pass (:func:`refined_statistics`;
#: measured in docs/benchmarks.md, "Tiled against untiled").
REFINE_PASSES = 1


@dataclass(frozen=True)
class GlobalOp:
    """One global operation of a model's forward pass, in call order.

    Attributes:
        wave: 1 + the highest wave among the operations its input depends on.
        reduction: ``(ry, rx)``: input pixels per feature pixel along each axis.
    """

    wave: int
    reduction: tuple[Fraction, Fraction]


@dataclass(frozen=True)
class ContextGraph:
    """The global operations of a model and the waves that compute them."""

    ops: tuple[GlobalOp, ...]

    @property
    def waves(self) -> int:
        """Number of streamed passes needed (0 for a local model)."""
        return max((op.wave for op in self.ops), default=0)


_GRAPHS: weakref.WeakKeyDictionary[nn.Module, ContextGraph] = weakref.WeakKeyDictionary()


class _StopForward(Exception):
    """Raised by a hook once the current wave's last statistic has been accumulated."""


def _ptr(t: Tensor) -> int:
    try:
        return int(t.untyped_storage().data_ptr())
    except (RuntimeError, NotImplementedError):
        return 0


class _TaintMode(TorchDispatchMode):
    """Tracks, per tensor storage, the set of global operations its values depend on."""

    def __init__(self) -> None:
        super().__init__()
        self.deps: dict[int, frozenset[int]] = {}

    def of(self, t: Tensor) -> frozenset[int]:
        return self.deps.get(_ptr(t), frozenset())

    def mark(self, t: Tensor, deps: frozenset[int]) -> None:
        ptr = _ptr(t)
        if ptr:
            self.deps[ptr] = deps

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        out = func(*args, **(kwargs or {}))
        deps: frozenset[int] = frozenset()
        for leaf in tree_leaves((args, kwargs or {})):
            if isinstance(leaf, Tensor):
                deps = deps | self.of(leaf)
        for leaf in tree_leaves(out):
            if isinstance(leaf, Tensor):
                self.mark(leaf, deps)
        return out


class _ProbeHook:
    def __init__(self, mode: _TaintMode, side: int) -> None:
        self.mode = mode
        self.side = side
        self.deps: list[frozenset[int]] = []
        self.reductions: list[tuple[Fraction, Fraction]] = []

    def __call__(self, pool: GlobalPool, x: Tensor) -> Tensor:
        i = len(self.deps)
        self.deps.append(self.mode.of(x))
        h, w = x.shape[-2:]
        self.reductions.append((Fraction(self.side, h), Fraction(self.side, w)))
        y = pool.statistic(x)
        self.mode.mark(y, self.deps[i] | {i})
        return y


def context_graph(
    model: nn.Module, capabilities: Capabilities, *, device: torch.device, align: int
) -> ContextGraph:
    """Probe ``model`` once (cached) for its global operations and their dependencies.

    The probe is a ``side × side`` image (``side`` a multiple of ``align`` and at least 64),
    so the reduction of every feature map is exact.
    """
    cached = _GRAPHS.get(model)
    if cached is not None:
        return cached
    side = max(64, capabilities.min_size)
    side = -(-side // align) * align
    x = torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(0)).to(device)
    mode = _TaintMode()
    probe = _ProbeHook(mode, side)
    with torch.no_grad(), global_stats_hook(probe), mode:
        forward_padded(model, x, capabilities)
    waves: list[int] = []
    for deps in probe.deps:
        waves.append(1 + max((waves[j] for j in deps), default=0))
    graph = ContextGraph(
        tuple(GlobalOp(w, r) for w, r in zip(waves, probe.reductions, strict=True))
    )
    _GRAPHS[model] = graph
    return graph


@dataclass
class _Accumulator:
    kind: str
    keepdim: bool
    total: Tensor | None = None
    count: int = 0

    def add(self, part: Tensor) -> None:
        """Add the owned part ``(B, C, h, w)`` of one tile."""
        if self.kind == "avg":
            s = part.sum(dim=(2, 3), dtype=torch.float64)
            self.total = s if self.total is None else self.total + s
            self.count += part.shape[-2] * part.shape[-1]
        else:
            m = part.amax(dim=(2, 3))
            self.total = m if self.total is None else torch.maximum(self.total, m)

    def value(self, dtype: torch.dtype) -> Tensor:
        assert self.total is not None
        v = self.total / self.count if self.kind == "avg" else self.total
        v = v.to(dtype)
        return v[:, :, None, None] if self.keepdim else v


class _TileHook:
    """Fixed statistics for waves already done; accumulation for the current wave.

    ``wave = None``: every statistic is fixed (the blended pass). ``wave = 0``: a refinement
    pass, every statistic is fixed at its current value *and* accumulated anew.
    """

    def __init__(self, graph: ContextGraph, fixed: dict[int, Tensor], wave: int | None) -> None:
        self.graph = graph
        self.fixed = fixed
        self.wave = wave
        self.index = 0
        self.owned: tuple[tuple[int, int | None], tuple[int, int | None]] | None = None
        self.acc: dict[int, _Accumulator] = {}
        self.last = -1
        if wave:
            self.last = max(i for i, op in enumerate(graph.ops) if op.wave == wave)

    def reset(self, *_: Any) -> None:
        self.index = 0

    def __call__(self, pool: GlobalPool, x: Tensor) -> Tensor:
        i = self.index
        self.index += 1
        if i >= len(self.graph.ops):
            raise RuntimeError(
                f"{type(pool).__name__} call {i + 1} was not seen when the model was probed "
                f"({len(self.graph.ops)} global operations): the model's global operations "
                "must not depend on the input size"
            )
        op = self.graph.ops[i]
        if self.wave == 0:
            self._accumulate(i, op, pool, x)
            return self.fixed[i].to(x.dtype)
        if i in self.fixed:
            return self.fixed[i].to(x.dtype)
        if self.wave is None:
            raise RuntimeError(f"global statistic {i} was never computed")
        if op.wave == self.wave:
            self._accumulate(i, op, pool, x)
            if i == self.last:
                raise _StopForward
        return pool.statistic(x)  # only feeds statistics of later waves, recomputed then

    def _accumulate(self, i: int, op: GlobalOp, pool: GlobalPool, x: Tensor) -> None:
        """Add the feature pixels of ``x`` that the current tile owns to statistic ``i``."""
        assert self.owned is not None
        (ya, yb), (xa, xb) = self.owned
        ry, rx = op.reduction
        rows = slice(int(ya / ry), None if yb is None else int(yb / ry))
        cols = slice(int(xa / rx), None if xb is None else int(xb / rx))
        acc = self.acc.setdefault(i, _Accumulator(pool.kind, pool.keepdim))
        acc.add(x[..., rows, cols])


def owned_cuts(spans: list[tuple[int, int]], align: int) -> list[tuple[int, int | None]]:
    """Owned interval of each tile along one axis, in tile-local input pixels.

    Neighbours split their shared band at its middle (rounded down to ``align``); the last
    tile owns everything to its end, padding included (as the untiled image's padding).
    """
    cuts = [0]
    for (_, e), (s_next, _) in itertools.pairwise(spans):
        cuts.append(s_next + ((e - s_next) // 2 // align) * align)
    out: list[tuple[int, int | None]] = []
    for i, (s, _) in enumerate(spans):
        end = cuts[i + 1] - s if i + 1 < len(spans) else None
        out.append((cuts[i] - s, end))
    return out


def streamed_statistics(
    model: nn.Module,
    x: Tensor,
    capabilities: Capabilities,
    graph: ContextGraph,
    ys: list[tuple[int, int]],
    xs: list[tuple[int, int]],
    align: int,
    *,
    progress: Progress | None = None,
    total: int = 0,
) -> dict[int, Tensor]:
    """Every global statistic of ``x`` (``(B, 3, H, W)``), wave by wave over the tiles.

    Exact (up to float summation order) when every tile has at least the receptive field of
    context around the region it owns, i.e. ``overlap / 2 ≥ receptive_field``.
    """
    fixed: dict[int, Tensor] = {}
    done = 0
    for wave in range(1, graph.waves + 1):
        hook = _TileHook(graph, fixed, wave)
        done = _tile_pass(model, x, capabilities, hook, ys, xs, align, progress, done, total)
        for i, acc in hook.acc.items():
            fixed[i] = acc.value(x.dtype)
    return fixed


def refined_statistics(
    model: nn.Module,
    x: Tensor,
    capabilities: Capabilities,
    graph: ContextGraph,
    start: dict[int, Tensor],
    ys: list[tuple[int, int]],
    xs: list[tuple[int, int]],
    align: int,
    *,
    passes: int,
    progress: Progress | None = None,
    done: int = 0,
    total: int = 0,
) -> dict[int, Tensor]:
    """Approximate statistics ``start`` improved by ``passes`` streamed passes over the tiles.

    Each pass runs every tile with every statistic fixed at its current value and accumulates
    all of them anew from the feature pixels the tiles own (one wave of
    :func:`streamed_statistics` for every wave at once). A statistic of wave ``n`` depends only
    on statistics of earlier waves, so after ``k`` passes those of waves ``≤ k`` are exact (as
    streamed) and later ones keep only the error left in the statistics they depend on.
    """
    fixed = dict(start)
    for _ in range(passes):
        hook = _TileHook(graph, fixed, 0)
        done = _tile_pass(model, x, capabilities, hook, ys, xs, align, progress, done, total)
        fixed = {i: acc.value(x.dtype) for i, acc in hook.acc.items()}
    return fixed


def _tile_pass(
    model: nn.Module,
    x: Tensor,
    capabilities: Capabilities,
    hook: _TileHook,
    ys: list[tuple[int, int]],
    xs: list[tuple[int, int]],
    align: int,
    progress: Progress | None,
    done: int,
    total: int,
) -> int:
    """Run every tile under ``hook`` (stopped where it says); returns the tiles done so far."""
    oy, ox = owned_cuts(ys, align), owned_cuts(xs, align)
    handle = model.register_forward_pre_hook(hook.reset)
    try:
        with global_stats_hook(hook):
            for (y0, y1), own_y in zip(ys, oy, strict=True):
                for (x0, x1), own_x in zip(xs, ox, strict=True):
                    hook.owned = (own_y, own_x)
                    with contextlib.suppress(_StopForward):
                        forward_padded(model, x[..., y0:y1, x0:x1].contiguous(), capabilities)
                    done += 1
                    if progress is not None:
                        progress(done, total)
    finally:
        handle.remove()
    return done


class _RecordHook:
    def __init__(self) -> None:
        self.values: dict[int, Tensor] = {}

    def reset(self, *_: Any) -> None:
        self.values.clear()

    def __call__(self, pool: GlobalPool, x: Tensor) -> Tensor:
        y = pool.statistic(x)
        self.values[len(self.values)] = y
        return y


def downscaled_statistics(
    model: nn.Module, x: Tensor, capabilities: Capabilities, max_pixels: float
) -> dict[int, Tensor]:
    """Every global statistic from one untiled pass on ``x`` downscaled to ``max_pixels``.

    Antialiased bilinear downscaling by the same factor on both axes (never upscaled).
    Approximate: statistics of deep features change with the scale.
    """
    h, w = x.shape[-2:]
    f = min(1.0, math.sqrt(max_pixels / (h * w)))
    size = (max(1, round(h * f)), max(1, round(w * f)))
    small = x if f >= 1.0 else F.interpolate(
        x, size=size, mode="bilinear", align_corners=False, antialias=True
    ).clamp(0.0, 1.0)
    hook = _RecordHook()
    with global_stats_hook(hook):
        forward_padded(model, small, capabilities)
    return dict(hook.values)


def with_global_context(
    model: nn.Module,
    x: Tensor,
    capabilities: Capabilities,
    ys: list[tuple[int, int]],
    xs: list[tuple[int, int]],
    align: int,
    blend: Callable[[Progress | None], Tensor],
    *,
    progress: Progress | None = None,
    downscale_pixels: float = 2**20,
    refine_passes: int | None = None,
) -> Tensor:
    """Compute the whole image's statistics, then run ``blend`` with all of them fixed.

    Args:
        model: Enhancer in eval mode with :class:`GlobalPool` layers.
        x: ``(B, 3, H, W)`` in ``[0, 1]``.
        capabilities: Its capabilities (``global_stats`` picks streamed or downscaled).
        ys: Tile spans along the height (:func:`~lle_core.inference.tiling.axis_spans`).
        xs: Tile spans along the width.
        align: Alignment of the tile starts.
        blend: The blended tile pass, called as ``blend(progress)``.
        progress: ``progress(done, total)`` over every pass.
        downscale_pixels: Pixel count of the downscaled pass (``"downscale"`` only).
        refine_passes: Streamed passes that refine downscaled statistics
            (:func:`refined_statistics`; default :data:`REFINE_PASSES`; ``"downscale"`` only,
            and only when the image was actually downscaled).

    Returns:
        What ``blend`` returns.
    """
    graph = context_graph(model, capabilities, device=x.device, align=align)
    n_tiles = len(ys) * len(xs)
    if capabilities.global_stats == "downscale":
        fixed = downscaled_statistics(model, x, capabilities, downscale_pixels)
        passes = REFINE_PASSES if refine_passes is None else refine_passes
        passes = passes if x.shape[-2] * x.shape[-1] > downscale_pixels else 0
        offset = n_tiles * passes
        total = offset + n_tiles
        fixed = refined_statistics(model, x, capabilities, graph, fixed, ys, xs, align,
                                   passes=passes, progress=progress, total=total)
    else:
        total = n_tiles * (graph.waves + 1)
        fixed = streamed_statistics(
            model, x, capabilities, graph, ys, xs, align, progress=progress, total=total
        )
        offset = n_tiles * graph.waves

    def shifted(done: int, _: int) -> None:
        if progress is not None:
            progress(offset + done, total)

    hook = _TileHook(graph, fixed, None)
    handle = model.register_forward_pre_hook(hook.reset)
    try:
        with global_stats_hook(hook):
            return blend(shifted)
    finally:
        handle.remove()


__all__ = [
    "ContextGraph",
    "GlobalOp",
    "context_graph",
    "downscaled_statistics",
    "owned_cuts",
    "refined_statistics",
    "streamed_statistics",
    "with_global_context",
]
