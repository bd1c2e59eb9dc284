"""CBAM attention (Woo et al., ECCV 2018) as used inside HF2 (Tang et al., Sec. 2.2, Eq. 1).

``A_c`` is the channel gate and ``A_s`` the spatial gate; HF2 cascades them channel first,
``A_s(A_c(F))``, exactly as CBAM does. Both gates keep the shape of their input.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from lle_core.global_ops import GlobalPool
from lle_core.registry import Params
from lle_hf2 import PAPER

PoolType = Literal["avg", "max"]


def check_odd_kernel(value: int) -> int:
    """Validate a spatial-gate kernel size (odd, so that padding keeps the size)."""
    if value % 2 == 0:
        raise ValueError(f"kernel_size must be odd so that the map keeps its size, got {value}")
    return value


class ChannelAttentionParams(Params):
    """Parameters of :class:`ChannelAttention` (registered as block ``hf2.channel_attention``).

    Attributes:
        channels: ``C`` of the input.
        reduction: The MLP hidden width is ``max(1, C // reduction)`` (CBAM uses 16).
        pool_types: Global pools whose descriptors go through the shared MLP and are summed.
    """

    channels: int = Field(64, ge=1)
    reduction: int = Field(16, ge=1)
    pool_types: tuple[PoolType, ...] = Field(("avg", "max"), min_length=1)


class ChannelAttention(nn.Module):
    """CBAM channel gate ``A_c``: ``x * sigmoid(sum_p MLP(pool_p(x)))``.

    The two-layer MLP (``C → C/r → C`` with biases and a ReLU between) is shared by every pooled
    descriptor (global average and global max by default).

    Args:
        channels: ``C``.
        reduction: Hidden width divisor ``r``.
        pool_types: ``("avg", "max")`` or a subset.
    """

    Params = ChannelAttentionParams
    summary = "CBAM channel gate A_c (shared MLP on avg/max pooled descriptors)"
    paper = f"{PAPER}, Eq. 1 (A_c, after Woo et al. CBAM)"

    def __init__(
        self,
        channels: int = 64,
        reduction: int = 16,
        pool_types: tuple[PoolType, ...] | list[PoolType] = ("avg", "max"),
    ) -> None:
        super().__init__()
        if channels < 1 or reduction < 1:
            raise ValueError(f"channels and reduction must be >= 1, got {channels}, {reduction}")
        bad = [p for p in pool_types if p not in ("avg", "max")]
        if bad or not pool_types:
            raise ValueError(f"pool_types must be a non-empty subset of ('avg', 'max'), got {bad}")
        hidden = max(1, channels // reduction)
        self.channels = channels
        self.pool_types = tuple(pool_types)
        # Global pools as core layers (tiled inference fixes them to whole-image values).
        self.avg_pool = GlobalPool("avg")
        self.max_pool = GlobalPool("max")
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, kernel_size=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, kernel_size=1),
        )

    def gate(self, x: Tensor) -> Tensor:
        """Channel weights ``(B, C, 1, 1)`` in ``(0, 1)`` for ``x`` of shape ``(B, C, H, W)``."""
        logits = None
        for pool in self.pool_types:
            desc = self.avg_pool(x) if pool == "avg" else self.max_pool(x)
            out = self.mlp(desc)
            logits = out if logits is None else logits + out
        assert logits is not None
        return torch.sigmoid(logits)

    def forward(self, x: Tensor) -> Tensor:
        """Rescale the channels of ``x`` ``(B, C, H, W)``; returns the same shape."""
        return x * self.gate(x)


class SpatialAttention(nn.Module):
    """CBAM spatial gate ``A_s``: ``x * sigmoid(BN(conv_k([max_c x, mean_c x])))``.

    The channel-wise max map comes first, as in the CBAM reference code. The batch-norm uses
    momentum 0.01 and eps 1e-5 like that code; it follows train/eval mode.

    Args:
        kernel_size: Odd kernel size of the 2→1 convolution (padding keeps the size).
        batch_norm: Whether to apply BatchNorm to the 1-channel map.
    """

    def __init__(self, kernel_size: int = 7, batch_norm: bool = True) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd number, got {kernel_size}")
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        self.norm: nn.Module = (
            nn.BatchNorm2d(1, eps=1e-5, momentum=0.01) if batch_norm else nn.Identity()
        )

    def gate(self, x: Tensor) -> Tensor:
        """Spatial weights ``(B, 1, H, W)`` in ``(0, 1)`` for ``x`` of shape ``(B, C, H, W)``."""
        stacked = torch.cat([x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.norm(self.conv(stacked)))

    def forward(self, x: Tensor) -> Tensor:
        """Reweight the positions of ``x`` ``(B, C, H, W)``; returns the same shape."""
        return x * self.gate(x)


class CBAM(nn.Module):
    """Channel then spatial attention, ``A_s(A_c(x))`` (one attention unit of HF2, Eq. 1).

    Args:
        channels: ``C`` of the input.
        reduction: Channel-MLP reduction.
        pool_types: Global pools of the channel gate.
        kernel_size: Spatial-gate kernel.
        batch_norm: Spatial-gate batch-norm.
    """

    def __init__(
        self,
        channels: int,
        reduction: int = 16,
        pool_types: tuple[PoolType, ...] | list[PoolType] = ("avg", "max"),
        kernel_size: int = 7,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        self.channel = ChannelAttention(channels, reduction, pool_types)
        self.spatial = SpatialAttention(kernel_size, batch_norm)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, H, W) -> (B, C, H, W)``."""
        return self.spatial(self.channel(x))
