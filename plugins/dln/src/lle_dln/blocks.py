"""Building blocks of DLN: conv block, lighten/darken blocks, feature aggregation (FA), LBP.

Layer lists follow the official code (WangLiwen1994/DLN), i.e. the
journal version (Wang et al., "Lightening Network for Low-light Image Enhancement", TIP 2020):

* ``ConvBlock``: convolution with bias followed by a PReLU with a *single* slope (init 0.25);
  no normalisation anywhere.
* Lighten block ``LB(C)`` / darken block ``DB(C)`` (slides: "the same CNN structure for
  lightening and darkening"): ``code = conv3(C -> C/2)(x)``, ``off = conv3(C/2 -> C/2)(code)``,
  ``out = conv3(C/2 -> C)(code ± off)`` (``+`` lightens, ``−`` darkens).
* Feature aggregation ``FA(Cin -> Cout)``: squeeze-and-excitation re-weighting with a residual,
  ``y = x·σ(FC(ReLU(FC(GAP(x))))) + x``, then ``conv1×1(Cin -> Cout)``.
* Lightening back-projection ``LBP(Cin -> C)`` (slides, Fig. 4): ``x' = FA(x)``,
  ``ỹ = LB1(x')``, ``x̃ = DB(ỹ)``, ``r = conv1×1(x') − x̃``, ``out = conv1×1(ỹ) + LB2(r)``.

:class:`FAFusion` exposes FA as a two-input fusion op (``dln.fa`` of kind ``fusion``):
``FA(2C -> C)`` over ``concat(a, b)``.
"""

from __future__ import annotations

import torch
from pydantic import Field
from torch import Tensor, nn

from lle_core.errors import ShapeError
from lle_core.global_ops import GlobalPool
from lle_core.interfaces import FusionOp
from lle_core.registry import Params
from lle_dln import PAPER

#: Initial slope of every PReLU (PyTorch's default, used by the official code).
PRELU_INIT = 0.25


class ConvBlock(nn.Module):
    """``Conv2d(k×k, stride 1, 'same' padding, bias) -> PReLU(one slope)``.

    Shapes: ``(B, in_channels, H, W) -> (B, out_channels, H, W)``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3) -> None:
        """Args: in_channels, out_channels: channel counts; kernel_size: odd kernel side."""
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"ConvBlock kernel_size must be odd, got {kernel_size}")
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.act = nn.PReLU(num_parameters=1, init=PRELU_INIT)

    def forward(self, x: Tensor) -> Tensor:
        """Convolve and activate."""
        return self.act(self.conv(x))


class _OffsetBlock(nn.Module):
    """Encoder–offset–decoder shared by the lighten (``sign=+1``) and darken (``−1``) blocks."""

    sign: float = 1.0

    def __init__(self, channels: int = 64) -> None:
        """Args: channels: ``C`` (input = output channels; the code path has ``C // 2``)."""
        super().__init__()
        if channels < 2:
            raise ValueError(f"{type(self).__name__} needs channels >= 2, got {channels}")
        hidden = channels // 2
        self.channels = channels
        self.encode = ConvBlock(channels, hidden, 3)
        self.offset = ConvBlock(hidden, hidden, 3)
        self.decode = ConvBlock(hidden, channels, 3)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, H, W) -> (B, C, H, W)``: ``decode(code ± offset(code))``."""
        code = self.encode(x)
        return self.decode(code + self.sign * self.offset(code))


class LightenBlock(_OffsetBlock):
    """Lightening block ``L``: ``decode(code + offset(code))`` (slides' L1/L2, Fig. 4b)."""

    sign = 1.0


class DarkenBlock(_OffsetBlock):
    """Darkening block ``D``: ``decode(code − offset(code))`` (slides' D1, Fig. 4b)."""

    sign = -1.0


def se_hidden(in_channels: int, reduction: int) -> int:
    """Width of the squeeze layer: ``max(1, in_channels // reduction)``.

    The official code uses ``reduction=16`` with ``in_channels`` 64/128/192 (hidden 4/8/12); the
    ``max(1, ·)`` keeps narrow test models (``dim < 16``) valid.
    """
    return max(1, in_channels // reduction)


class FeatureAggregation(nn.Module):
    """FA: squeeze-and-excitation re-weighting with a residual, then ``conv1×1(Cin -> Cout)``.

    ``v = GAP(x)``; ``w = σ(W2·ReLU(W1·v))`` (both FCs without bias);
    ``y = ConvBlock1×1(x·w + x)``. Shapes ``(B, Cin, H, W) -> (B, Cout, H, W)``.
    The global pooling (a core :class:`~lle_core.global_ops.GlobalPool`) makes the block depend
    on the whole image; tiled inference computes it for the whole image first.
    """

    def __init__(self, in_channels: int, out_channels: int, reduction: int = 16) -> None:
        """Args: in_channels, out_channels: channel counts; reduction: SE squeeze ratio."""
        super().__init__()
        hidden = se_hidden(in_channels, reduction)
        self.pool = GlobalPool("avg", keepdim=False)  # GAP: (B, Cin, H, W) -> (B, Cin)
        self.squeeze = nn.Linear(in_channels, hidden, bias=False)
        self.excite = nn.Linear(hidden, in_channels, bias=False)
        self.project = ConvBlock(in_channels, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Re-weight channels, add the input back and project to ``out_channels``."""
        v = self.pool(x)
        w = torch.sigmoid(self.excite(torch.relu(self.squeeze(v))))
        return self.project(x * w[:, :, None, None] + x)


class LBP(nn.Module):
    """Lightening back-projection block ``LBP(Cin -> C)`` (slides Fig. 4; code with FA first).

    ``x' = FA(x)``; ``ỹ = L1(x')``; ``x̃ = D1(ỹ)``; ``r = conv1×1(x') − x̃``;
    ``out = conv1×1(ỹ) + L2(r)``. Shapes ``(B, Cin, H, W) -> (B, C, H, W)``.
    """

    def __init__(self, in_channels: int, channels: int = 64, reduction: int = 16) -> None:
        """Args: in_channels: input width; channels: block width ``C``; reduction: FA ratio."""
        super().__init__()
        self.aggregate = FeatureAggregation(in_channels, channels, reduction)
        self.lighten1 = LightenBlock(channels)
        self.darken = DarkenBlock(channels)
        self.lighten2 = LightenBlock(channels)
        self.low_proj = ConvBlock(channels, channels, 1)
        self.normal_proj = ConvBlock(channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Lighten, darken back, lighten the low-light residual and add."""
        x = self.aggregate(x)
        y_tilde = self.lighten1(x)
        x_tilde = self.darken(y_tilde)
        residual_low = self.low_proj(x) - x_tilde
        return self.normal_proj(y_tilde) + self.lighten2(residual_low)


class FAFusionParams(Params):
    """Parameters of the ``dln.fa`` fusion op (``channels`` is given at build time)."""

    reduction: int = Field(16, ge=1, description="SE squeeze ratio over the 2C channels")


class FAFusion(FusionOp):
    """FA used as a fusion op: ``FA(2C -> C)(concat(a, b))``.

    ``a`` (host stream) and ``b`` are ``(B, C, H, W)``; the SE weights see both streams, the
    residual keeps them, and the 1×1 conv block reduces ``2C`` back to ``C``.
    """

    Params = FAFusionParams
    summary = "DLN feature aggregation over concat(a, b): SE + residual, 1x1 2C -> C"
    paper = f"{PAPER}; FA block of the journal figure"

    def __init__(self, channels: int, reduction: int = 16) -> None:
        """Args: channels: ``C``; reduction: SE squeeze ratio over the ``2C`` channels."""
        super().__init__(channels)
        self.aggregate = FeatureAggregation(2 * channels, channels, reduction)

    def fuse(self, a: Tensor, b: Tensor) -> Tensor:
        """Concatenate along channels and aggregate back to ``C``."""
        return self.aggregate(torch.cat([a, b], dim=1))


def check_channels(x: Tensor, expected: int, where: str) -> None:
    """Raise :class:`ShapeError` unless ``x`` is ``(B, expected, H, W)``."""
    if x.dim() != 4 or x.shape[1] != expected:
        raise ShapeError(f"{where} expects (B, {expected}, H, W), got {tuple(x.shape)}")
