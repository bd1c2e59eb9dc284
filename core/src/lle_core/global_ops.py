"""Global statistics as a building block: the layer that lets whole-image models be tiled.

A model that pools over the whole image (SE / CBAM channel attention, NEID's Feature Fusing,
DLN's feature aggregation) uses :class:`GlobalPool` instead of calling ``x.mean((2, 3))`` /
``F.adaptive_avg_pool2d(x, 1)`` / ``x.amax((2, 3))`` itself. Outside tiled inference the layer
*is* that call (same operator, bit for bit, in training and untiled inference). During tiled
inference (:mod:`lle_core.inference.context`) a :class:`GlobalStatsHook` is active and decides
what the layer returns: the statistic of the whole image computed beforehand (streamed tile by
tile, or from a downscaled pass), so that every tile sees the same global context as the
untiled image would.

Example:
    >>> import torch
    >>> pool = GlobalPool("avg")
    >>> pool(torch.ones(2, 8, 5, 7)).shape
    torch.Size([2, 8, 1, 1])
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal, Protocol

from torch import Tensor, nn

PoolKind = Literal["avg", "max"]


class GlobalStatsHook(Protocol):
    """What tiled inference installs while it runs a model (see :func:`global_stats_hook`)."""

    def __call__(self, pool: GlobalPool, x: Tensor) -> Tensor:
        """Return the layer's output for input ``x`` (``(B, C, h, w)``, one tile's feature)."""
        ...


_HOOK: ContextVar[GlobalStatsHook | None] = ContextVar("lle_global_stats_hook", default=None)


@contextmanager
def global_stats_hook(hook: GlobalStatsHook | None) -> Iterator[None]:
    """Install ``hook`` for every :class:`GlobalPool` called inside the ``with`` block."""
    token = _HOOK.set(hook)
    try:
        yield
    finally:
        _HOOK.reset(token)


def current_hook() -> GlobalStatsHook | None:
    """The hook installed by :func:`global_stats_hook` (``None`` outside tiled inference)."""
    return _HOOK.get()


class GlobalPool(nn.Module):
    """Global average or max over the spatial axes: ``(B, C, H, W) -> (B, C, 1, 1)``.

    ``avg``: ``x.mean(dim=(2, 3))`` (what ``F.adaptive_avg_pool2d(x, 1)`` computes, same
    operator); ``max``: ``x.amax(dim=(2, 3))``. With ``keepdim=False`` the output is
    ``(B, C)``. Any value range; the output has ``x``'s dtype. Both statistics can be streamed
    over tiles (a sum and a count, or a running maximum), which tiled inference does.

    Args:
        kind: ``"avg"`` or ``"max"``.
        keepdim: Keep the two spatial axes as size 1 (default ``True``).
    """

    def __init__(self, kind: PoolKind = "avg", *, keepdim: bool = True) -> None:
        super().__init__()
        if kind not in ("avg", "max"):
            raise ValueError(f"GlobalPool kind must be 'avg' or 'max', got {kind!r}")
        self.kind: PoolKind = kind
        self.keepdim = keepdim

    def statistic(self, x: Tensor) -> Tensor:
        """The plain statistic of ``x`` over its own spatial extent (no hook consulted)."""
        if self.kind == "avg":
            return x.mean(dim=(2, 3), keepdim=self.keepdim)
        return x.amax(dim=(2, 3), keepdim=self.keepdim)

    def forward(self, x: Tensor) -> Tensor:
        """``x`` ``(B, C, H, W)`` -> its global statistic (the hook's, during tiled inference)."""
        hook = _HOOK.get()
        if hook is None:
            return self.statistic(x)
        return hook(self, x)

    def extra_repr(self) -> str:
        """Kind and keepdim."""
        return f"kind={self.kind!r}, keepdim={self.keepdim}"


def global_pools(model: nn.Module) -> list[GlobalPool]:
    """Every :class:`GlobalPool` layer of ``model`` (empty: the model is local)."""
    return [m for m in model.modules() if isinstance(m, GlobalPool)]


def has_global_ops(model: nn.Module) -> bool:
    """Whether ``model`` contains global statistics (needs the two-pass tiled inference)."""
    return any(isinstance(m, GlobalPool) for m in model.modules())


__all__ = ["GlobalPool", "GlobalStatsHook", "PoolKind", "current_hook", "global_pools",
           "global_stats_hook", "has_global_ops"]
