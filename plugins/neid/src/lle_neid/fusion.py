"""NEID's Feature Fusing (FF) module: a guide-driven channel-attention weighted sum.

Paper (Jiang et al. 2021, Sec. 2.2, "Feature Fusing module"): DR feature maps are turned into
vectors that weight the channels, and a weighted sum of the LE and DR features forms the fused
features sent to the LE decoder. The paper gives no formula; our reading (default
``gate="sigmoid"``)::

    w = sigmoid(MLP(GAP(b)))            MLP = 1×1 conv C -> max(C/r, m) -> ReLU -> 1×1 conv -> C
    fused = w ⊙ b + (1 − w) ⊙ a

with ``a`` the host stream (NEID: the encoder skip ``S_k``) and ``b`` the guide (NEID: the DR
decoder feature ``R_k``). Alternatives (ours): ``"sk_softmax"``, a per-channel 2-way
softmax (selective-kernel style) from ``GAP([a, b])``; ``"residual"``, ``a + w ⊙ b``.

As a generic :class:`~lle_core.interfaces.FusionOp` it fuses any two ``(B, C, H, W)`` tensors;
the gate pools globally (a core :class:`~lle_core.global_ops.GlobalPool`), so it works for
every ``H, W``; tiled inference computes the pool over the whole image first.

Example:
    >>> ff = ChannelFeatureFusion(channels=32)
    >>> ff(torch.rand(2, 32, 9, 7), torch.rand(2, 32, 9, 7)).shape
    torch.Size([2, 32, 9, 7])
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from lle_core.global_ops import GlobalPool
from lle_core.interfaces import FusionOp
from lle_neid import PAPER
from lle_neid.params import ChannelFFParams

Gate = Literal["sigmoid", "sk_softmax", "residual"]


def gate_mlp(in_channels: int, hidden: int, out_channels: int) -> nn.Sequential:
    """The channel-attention bottleneck: ``GAP -> 1×1 conv -> ReLU -> 1×1 conv``.

    ``(B, in, H, W) -> (B, out, 1, 1)`` logits.
    """
    return nn.Sequential(
        GlobalPool("avg"),  # = adaptive_avg_pool2d(x, 1); whole-image value when tiled
        nn.Conv2d(in_channels, hidden, kernel_size=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(hidden, out_channels, kernel_size=1),
    )


def channel_weighted_sum(a: Tensor, b: Tensor, w: Tensor) -> Tensor:
    """Convex per-channel combination ``w ⊙ b + (1 − w) ⊙ a`` (``w`` broadcast, in [0, 1])."""
    return a + w * (b - a)


class ChannelFeatureFusion(FusionOp):
    """DR-guided channel attention fusion; ``(a, b) -> (B, C, H, W)`` (see module docstring).

    Attributes:
        gate: The gate form (``"sigmoid"``, ``"sk_softmax"`` or ``"residual"``).
        hidden: Width of the gate's bottleneck, ``max(C // reduction, min_hidden)``.
    """

    Params = ChannelFFParams
    summary = "NEID Feature Fusing: guide-driven channel attention weighted sum of a and b"
    paper = f"{PAPER}, Sec. 2.2 (Feature Fusing module)"

    def __init__(
        self,
        channels: int,
        *,
        gate: Gate = "sigmoid",
        reduction: int = 16,
        min_hidden: int = 4,
    ) -> None:
        """Args: channels: ``C``; the rest: see :class:`lle_neid.params.ChannelFFParams`."""
        super().__init__(channels)
        self.gate = gate
        self.hidden = max(channels // reduction, min_hidden)
        if gate == "sk_softmax":
            self.mlp = gate_mlp(2 * channels, self.hidden, 2 * channels)
        else:
            self.mlp = gate_mlp(channels, self.hidden, channels)

    def weights(self, a: Tensor, b: Tensor) -> Tensor:
        """Channel weights computed by the gate.

        Returns:
            ``(B, C, 1, 1)`` in ``(0, 1)`` for sigmoid/residual (the weight of ``b``), or
            ``(B, 2, C, 1, 1)`` for sk_softmax (weights of ``a`` and ``b``, summing to one).
        """
        if self.gate == "sk_softmax":
            logits = self.mlp(torch.cat([a, b], dim=1))
            return logits.view(a.shape[0], 2, self.channels, 1, 1).softmax(dim=1)
        return torch.sigmoid(self.mlp(b))

    def fuse(self, a: Tensor, b: Tensor) -> Tensor:
        """Fuse the host ``a`` with the guide ``b``, both ``(B, C, H, W)``."""
        w = self.weights(a, b)
        if self.gate == "sk_softmax":
            return w[:, 0] * a + w[:, 1] * b
        if self.gate == "residual":
            return a + w * b
        return channel_weighted_sum(a, b, w)
