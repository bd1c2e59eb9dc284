"""Heterogeneous Feature Fusion, HF2 (Tang et al., Sec. 2.2, Eq. 1).

``F_f = A_s(A_c(F_a)) ⊗ A_s(A_c(F_b))``: each input goes through its own CBAM unit, then the
two attended features are combined. ``⊗`` (``op="mul"``) is the paper's choice; the ablation of
Table 3 also uses ``⊕`` (``op="add"``, M1) and ``∪`` (``op="cat"``, M2, concatenation reduced back
to ``C`` channels by a 1×1 convolution so the fused feature keeps the width of its inputs).

``residual=True`` (the default) returns ``F_a + F_f``: an additive path for the host stream.
Eq. 1 alone (``residual=False``, set by ``hf2:paper``) multiplies two sigmoid-gated features at
every level, so with fresh weights each fusion scales its input by ~1/4 or less and the
products compound through the U-Net: outputs ~1e-8 and gradients ~1e-37 at level 5 in our
measurements (random VGG16; see the model card's "Trainability" section). With the additive
path the encoder and skips carry signal from the first step and the HF2 product learns on top.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field, field_validator
from torch import Tensor, nn

from lle_core.interfaces import FusionOp
from lle_core.registry import Params
from lle_hf2 import PAPER
from lle_hf2.attention import CBAM, PoolType, check_odd_kernel

FuseOp = Literal["mul", "add", "cat"]


class HF2Params(Params):
    """Parameters of the fusion ``hf2.hf2`` (the channel count is given at build time).

    Attributes:
        op: How the two attended features are combined: ``mul`` (paper, M3), ``add`` (M1) or
            ``cat`` (M2; concatenation + Conv1×1(2C→C)).
        share_attention: Use one CBAM unit for both inputs instead of two independent ones
            (our choice; default ``False``, the two streams come from different domains).
        reduction: Channel-MLP reduction of the CBAM channel gate.
        pool_types: Global pools of the channel gate.
        kernel_size: Kernel of the CBAM spatial gate.
        spatial_batch_norm: BatchNorm inside the spatial gate (as in the CBAM code).
        residual: Return ``a + F_f`` instead of Eq. 1's ``F_f`` (default ``True``; the paper
            form, ``False``, does not train from a fresh init, see the module docstring).
    """

    op: FuseOp = "mul"
    share_attention: bool = False
    reduction: int = Field(16, ge=1)
    pool_types: tuple[PoolType, ...] = Field(("avg", "max"), min_length=1)
    kernel_size: int = Field(7, ge=1)
    spatial_batch_norm: bool = True
    residual: bool = True

    @field_validator("kernel_size")
    @classmethod
    def _odd(cls, value: int) -> int:
        return check_odd_kernel(value)


class HF2Fusion(FusionOp):
    """HF2 fusion op: CBAM on each input, then ``mul`` / ``add`` / ``cat``.

    Follows the :class:`lle_core.interfaces.FusionOp` contract: ``a`` and ``b`` are
    ``(B, C, H, W)`` and so is the output. ``a`` is the host (encoder) stream, ``b`` the VGG or
    decoder stream.

    Args:
        channels: ``C``.
        op: ``"mul"``, ``"add"`` or ``"cat"``.
        share_attention: One CBAM unit applied to both inputs.
        reduction: Channel-MLP reduction.
        pool_types: Channel-gate pools.
        kernel_size: Spatial-gate kernel.
        spatial_batch_norm: Spatial-gate batch-norm.
        residual: Add the host input ``a`` to the fused feature (``a + F_f``).
    """

    Params = HF2Params
    summary = "HF2: CBAM on each input, then mul (paper) / add / cat+1x1"
    paper = f"{PAPER}, Sec. 2.2, Eq. 1"

    def __init__(
        self,
        channels: int,
        op: FuseOp = "mul",
        share_attention: bool = False,
        reduction: int = 16,
        pool_types: tuple[PoolType, ...] | list[PoolType] = ("avg", "max"),
        kernel_size: int = 7,
        spatial_batch_norm: bool = True,
        residual: bool = True,
    ) -> None:
        super().__init__(channels)
        self.op = op
        self.share_attention = share_attention
        self.residual = residual

        def unit() -> CBAM:
            return CBAM(channels, reduction, pool_types, kernel_size, spatial_batch_norm)

        self.attend_a = unit()
        self.attend_b = self.attend_a if share_attention else unit()
        self.reduce: nn.Module | None = (
            nn.Conv2d(2 * channels, channels, kernel_size=1) if op == "cat" else None
        )

    def attend(self, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
        """The attended inputs ``A_s(A_c(a))`` and ``A_s(A_c(b))``, both ``(B, C, H, W)``."""
        return self.attend_a(a), self.attend_b(b)

    def fuse(self, a: Tensor, b: Tensor) -> Tensor:
        """Eq. 1 with the configured operator (``+ a`` when ``residual``); ``(B, C, H, W) × 2``."""
        fa, fb = self.attend(a, b)
        if self.op == "mul":
            fused = fa * fb
        elif self.op == "add":
            fused = fa + fb
        else:
            assert self.reduce is not None
            fused = self.reduce(torch.cat([fa, fb], dim=1))
        return a + fused if self.residual else fused

    def extra_repr(self) -> str:
        """Width, operator and sharing, shown by ``print(module)``."""
        return (f"channels={self.channels}, op={self.op!r}, "
                f"share_attention={self.share_attention}, residual={self.residual}")
