"""``core.unet_small``: a small, fast, generic supervised enhancer.

This module is the **reference implementation of the** :class:`~lle_core.interfaces.Enhancer`
**interface**. A plugin author writing a new model can copy its structure:

1. a pydantic parameter model (subclass of :class:`lle_core.Params`: unknown keys are
   rejected, defaults validated) whose fields are the constructor's keyword arguments;
2. an :class:`~lle_core.interfaces.Enhancer` subclass with keyword-only ``__init__``,
   ``forward(low) -> enhanced`` on ``(B, 3, H, W)`` tensors in ``[0, 1]``;
3. honest :class:`~lle_core.registry.Capabilities`: ``multiple_of`` (the total stride: the
   engine reflect-pads to it and crops back), ``receptive_field`` (context needed on each
   side for seamless tiled inference), ``tiling`` (``"tile"`` because every operation is local),
   the supported ``dtypes`` and ``needs_weights=True`` (random weights are meaningless);
4. a self-description on the class (``Params``, a one-line ``summary`` or docstring,
   ``paper``, ``default_capabilities``; see :func:`lle_core.registry.describe`) and one
   registration line naming the class (in :mod:`lle_core.builtins`, or in a plugin's
   ``lle_register`` hook) with a small ``example`` for the conformance kit.

Architecture (3 levels, widths ``w, 2w, 4w`` with ``w = base_width``)::

    x ─ enc0 (2×conv3x3) ─────────────────────────── cat ─ dec0 (2×conv3x3) ─ 1x1 ─ + x ─ clamp
              └ maxpool ─ enc1 (2×conv3x3) ── cat ─ dec1 ─ convT ┘
                              └ maxpool ─ mid (2×conv3x3) ─ convT ┘

No normalisation layers (instance/batch statistics would make tiles disagree with the whole
image), LeakyReLU activations, and a residual output ``clamp(x + r, 0, 1)`` (or a sigmoid
head with ``output="sigmoid"``). It is ``channels_last`` friendly (only convolutions,
pooling, concatenation and element-wise ops).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from lle_core.interfaces import Enhancer
from lle_core.registry import Capabilities, Params

#: The receptive field is the exact context radius of one output pixel (convolutions and
#: poolings of the three levels; checked by the kit's receptive-field rule).
UNET_SMALL_CAPABILITIES = Capabilities(
    multiple_of=4,
    min_size=4,
    scale=1,
    tiling="tile",
    receptive_field=24,
    dtypes=("float32", "bfloat16"),
    # measured to pay on CPUs (docs/benchmarks.md, "Fast default paths"); bfloat16 only where
    # the CPU has it, and it stays >= 45 dB from float32 (tests/test_fast_paths.py)
    fast_path=("fold", "channels_last", "bfloat16"),
    needs_ground_truth=True,
    needs_weights=True,
)


class UNetSmallParams(Params):
    """Parameters of ``core.unet_small``.

    Attributes:
        base_width: Channels of the full-resolution level (``2×`` and ``4×`` below it).
        output: ``"residual"``: ``clamp(low + r, 0, 1)``; ``"sigmoid"``: ``sigmoid(r)``.
        negative_slope: Slope of the LeakyReLU activations.
    """

    base_width: int = Field(16, ge=1, le=256)
    output: Literal["residual", "sigmoid"] = "residual"
    negative_slope: float = Field(0.2, ge=0.0, lt=1.0)


def _double_conv(c_in: int, c_out: int, slope: float) -> nn.Sequential:
    """Two 3×3 convolutions (zero padding 1) with LeakyReLU; keeps the spatial size."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1),
        nn.LeakyReLU(slope, inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1),
        nn.LeakyReLU(slope, inplace=True),
    )


class UNetSmall(Enhancer):
    """Small 3-level U-Net enhancer: ``(B, 3, H, W)`` in ``[0, 1]`` -> same shape in ``[0, 1]``.

    ``H`` and ``W`` must be multiples of 4 (two 2× poolings); the engine pads automatically
    (``lle_core.enhance`` and the trainer's validation), so callers rarely care.

    Example:
        >>> import torch
        >>> model = UNetSmall(base_width=8).eval()
        >>> model(torch.rand(1, 3, 32, 48)).shape
        torch.Size([1, 3, 32, 48])
    """

    Params = UNetSmallParams
    summary = "Small 3-level U-Net (residual output), the reference Enhancer and demo model"

    #: Read by ``register(...)`` (see :func:`lle_core.registry.describe`).
    default_capabilities: ClassVar[Capabilities] = UNET_SMALL_CAPABILITIES

    def __init__(
        self,
        *,
        base_width: int = 16,
        output: Literal["residual", "sigmoid"] = "residual",
        negative_slope: float = 0.2,
    ) -> None:
        """Build the network.

        Args:
            base_width: See :class:`UNetSmallParams`.
            output: See :class:`UNetSmallParams`.
            negative_slope: See :class:`UNetSmallParams`.
        """
        super().__init__()
        w, s = base_width, negative_slope
        self.output = output
        self.enc0 = _double_conv(3, w, s)
        self.enc1 = _double_conv(w, 2 * w, s)
        self.mid = _double_conv(2 * w, 4 * w, s)
        self.pool = nn.MaxPool2d(2)
        self.up1 = nn.ConvTranspose2d(4 * w, 2 * w, 2, stride=2)
        self.dec1 = _double_conv(4 * w, 2 * w, s)
        self.up0 = nn.ConvTranspose2d(2 * w, w, 2, stride=2)
        self.dec0 = _double_conv(2 * w, w, s)
        self.head = nn.Conv2d(w, 3, 1)
        if output == "residual":  # start close to the identity: small residual at init
            nn.init.normal_(self.head.weight, std=1e-3)
            if self.head.bias is not None:
                nn.init.zeros_(self.head.bias)

    def forward(self, low: Tensor) -> Tensor:
        """Enhance a batch.

        Args:
            low: ``(B, 3, H, W)`` in ``[0, 1]``, ``H`` and ``W`` multiples of 4.

        Returns:
            ``(B, 3, H, W)`` in ``[0, 1]``.
        """
        e0 = self.enc0(low)
        e1 = self.enc1(self.pool(e0))
        m = self.mid(self.pool(e1))
        d1 = self.dec1(torch.cat([self.up1(m), e1], dim=1))
        d0 = self.dec0(torch.cat([self.up0(d1), e0], dim=1))
        r = self.head(d0)
        if self.output == "sigmoid":
            return torch.sigmoid(r)
        return (low + r).clamp(0.0, 1.0)
