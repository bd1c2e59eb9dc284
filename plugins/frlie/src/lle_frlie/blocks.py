"""Feature restoration network of FRLIE (FRLIE Sec. 2.2, Eq. 2).

Generic feature-space restorers working on ``(B, C, h, w)`` tensors of any spatial size:

* :class:`ContextBlock`: 1×1 reduction, parallel dilated 3×3 branches, 1×1 fusion, residual
  (the SADNet context block the paper cites).
* :class:`ResBlock`: EDSR-style ``x + conv(lrelu(conv(x)))`` without normalisation.
* :class:`FRBlock`: context block followed by residual blocks.
* :class:`FRNet`: ``F + Blocks(F)``, a global residual over FRBlocks.

All keep the PyTorch default initialisation, as the released code does for FRNet.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from lle_frlie.params import DEFAULT_DILATIONS


class ContextBlock(nn.Module):
    """``x + Conv1×1(concat_d LReLU(Conv3×3_d(Conv1×1(x))))`` over dilations ``d``.

    Shapes: ``(B, channels, h, w)`` → same.
    """

    def __init__(
        self,
        channels: int = 128,
        mid_channels: int = 32,
        dilations: Sequence[int] = DEFAULT_DILATIONS,
        negative_slope: float = 0.2,
    ) -> None:
        """Args: see :class:`lle_frlie.params.ContextBlockParams`."""
        super().__init__()
        self.reduce = nn.Conv2d(channels, mid_channels, 1)
        self.branches = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(mid_channels, mid_channels, 3, padding=d, dilation=d),
                nn.LeakyReLU(negative_slope, inplace=True),
            )
            for d in dilations
        )
        self.fuse = nn.Conv2d(mid_channels * len(dilations), channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block (shape-preserving)."""
        r = self.reduce(x)
        return x + self.fuse(torch.cat([branch(r) for branch in self.branches], dim=1))


class ResBlock(nn.Module):
    """EDSR residual block ``x + res_scale·Conv3×3(LReLU(Conv3×3(x)))`` (zero padding).

    Shapes: ``(B, channels, h, w)`` → same.
    """

    def __init__(
        self, channels: int = 128, negative_slope: float = 0.2, res_scale: float = 1.0
    ) -> None:
        """Args: see :class:`lle_frlie.params.ResBlockParams`."""
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.LeakyReLU(negative_slope, inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1),
        )
        self.res_scale = float(res_scale)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block (shape-preserving)."""
        return x + self.res_scale * self.body(x)


class FRBlock(nn.Sequential):
    """Feature restoration block: :class:`ContextBlock` then ``num_res_blocks`` ResBlocks.

    Shapes: ``(B, channels, h, w)`` → same. With 128 channels it has 647,968 parameters.
    """

    def __init__(
        self,
        channels: int = 128,
        mid_channels: int = 32,
        dilations: Sequence[int] = DEFAULT_DILATIONS,
        num_res_blocks: int = 2,
    ) -> None:
        """Args: see :class:`lle_frlie.params.FRBlockParams`."""
        super().__init__(
            ContextBlock(channels, mid_channels, dilations),
            *(ResBlock(channels) for _ in range(num_res_blocks)),
        )


class FRNet(nn.Module):
    """``F_r = F_l + Blocks(F_l)``: the feature restoration network (paper Eq. 2).

    Shapes: ``(B, width, h, w)`` → same. With the defaults it has 2,591,872 parameters.
    """

    def __init__(
        self,
        width: int = 128,
        num_blocks: int = 4,
        mid_channels: int = 32,
        dilations: Sequence[int] = DEFAULT_DILATIONS,
        num_res_blocks: int = 2,
    ) -> None:
        """Args: see :class:`lle_frlie.params.FRNetParams`."""
        super().__init__()
        self.width = width
        self.blocks = nn.Sequential(
            *(FRBlock(width, mid_channels, dilations, num_res_blocks) for _ in range(num_blocks))
        )

    def forward(self, features: Tensor) -> Tensor:
        """Restore features: global residual over the FRBlocks."""
        return features + self.blocks(features)
