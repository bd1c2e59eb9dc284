"""Generic fusion ops shipped by core: add, multiply, concatenate + 1×1 conv.

All follow the :class:`lle_core.interfaces.FusionOp` contract: built with ``channels=C``,
``(a, b)`` both ``(B, C, H, W)`` -> ``(B, C, H, W)``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lle_core.interfaces import FusionOp


def fuse_add(a: Tensor, b: Tensor) -> Tensor:
    """Element-wise sum ``a + b`` of two ``(B, C, H, W)`` tensors."""
    return a + b


def fuse_mul(a: Tensor, b: Tensor) -> Tensor:
    """Element-wise product ``a ⊙ b`` of two ``(B, C, H, W)`` tensors."""
    return a * b


class AddFusion(FusionOp):
    """``a + b``."""

    summary = "Element-wise sum a + b"

    def fuse(self, a: Tensor, b: Tensor) -> Tensor:
        """See :func:`fuse_add`."""
        return fuse_add(a, b)


class MulFusion(FusionOp):
    """``a ⊙ b`` (element-wise product)."""

    summary = "Element-wise product a * b"

    def fuse(self, a: Tensor, b: Tensor) -> Tensor:
        """See :func:`fuse_mul`."""
        return fuse_mul(a, b)


class ConcatFusion(FusionOp):
    """``Conv1×1(2C -> C)([a, b])``: concatenation along channels, reduced back to ``C``."""

    summary = "Concatenate along channels, then Conv1x1(2C -> C)"

    def __init__(self, channels: int) -> None:
        """Args: channels: ``C``."""
        super().__init__(channels)
        self.reduce = nn.Conv2d(2 * channels, channels, kernel_size=1)

    def fuse(self, a: Tensor, b: Tensor) -> Tensor:
        """Concatenate and reduce with the 1×1 convolution."""
        return self.reduce(torch.cat([a, b], dim=1))
