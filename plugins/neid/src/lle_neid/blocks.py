"""The U-Net parts of NEID: shared encoder, decoder, sub-pixel head and the weight init.

Layer lists are our reading of NEID Sec. 2.1–2.2 (SID-style U-Net): every level is two 3×3
convolutions each followed by LeakyReLU(0.2); the encoder downsamples with 2×2 max pooling,
the decoder upsamples with a 2×2 stride-2 transposed convolution (no bias, no activation),
concatenates the skip and applies two 3×3 convolutions. No normalisation.

Example:
    >>> enc, dec = UNetEncoder(widths=(8, 16, 32)), UNetDecoder(widths=(8, 16, 32))
    >>> feats = enc(torch.rand(1, 3, 32, 32))        # [(1,8,32,32), (1,16,16,16), (1,32,8,8)]
    >>> dec(feats)[0].shape
    torch.Size([1, 8, 32, 32])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from lle_core.errors import ShapeError
from lle_core.interfaces import Backbone
from lle_neid.params import SID_WIDTHS

#: Called after each decoder level: ``post(level_index, feature) -> feature`` (level 0 =
#: finest). NEID uses it for the "decoder" Feature Fusing site.
PostLevelFn = Callable[[int, Tensor], Tensor]


def double_conv(in_channels: int, out_channels: int, negative_slope: float) -> nn.Sequential:
    """Two 3×3 convolutions (same padding), each followed by LeakyReLU.

    Args:
        in_channels: Channels entering the first convolution.
        out_channels: Channels of both convolution outputs.
        negative_slope: LeakyReLU slope.

    Returns:
        ``(B, in, H, W) -> (B, out, H, W)``.
    """
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
        nn.LeakyReLU(negative_slope),
        nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1),
        nn.LeakyReLU(negative_slope),
    )


def init_normal_(module: nn.Module, std: float = 0.02, bias: float = 0.0) -> None:
    """Paper init (Sec. 3.2): conv weights ~ N(0, std), biases constant, in place.

    Applies to every ``Conv2d``, ``ConvTranspose2d`` and ``Linear`` inside ``module``.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=std)
            if m.bias is not None:
                nn.init.constant_(m.bias, bias)


class UNetEncoder(Backbone):
    """Shared SID-style contracting path (NEID's encoder, shared by the LE and DR branches).

    ``forward(x)`` with ``x`` ``(B, in_channels, H, W)``, ``H`` and ``W`` multiples of
    ``2**(L-1)`` (``L = len(widths)``), returns ``[S_1, ..., S_L]`` with ``S_k`` of shape
    ``(B, widths[k-1], H / 2**(k-1), W / 2**(k-1))``: ``S_1..S_{L-1}`` are the skips, ``S_L``
    the bottleneck. Values are unbounded features. Images are used as given (``[0, 1]``).
    """

    def __init__(
        self,
        *,
        widths: Sequence[int] = SID_WIDTHS,
        in_channels: int = 3,
        negative_slope: float = 0.2,
    ) -> None:
        """Args: see :class:`lle_neid.params.EncoderParams`."""
        super().__init__()
        self.channels = tuple(int(w) for w in widths)
        self.reductions = tuple(2**k for k in range(len(self.channels)))
        ins = (in_channels, *self.channels[:-1])
        self.levels = nn.ModuleList(
            double_conv(i, o, negative_slope) for i, o in zip(ins, self.channels, strict=True)
        )
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)

    @property
    def multiple_of(self) -> int:
        """Divisor the input size must have (``2**(L-1)``)."""
        return self.reductions[-1]

    def forward(self, x: Tensor) -> list[Tensor]:
        """Return ``[S_1, ..., S_L]`` (finest first); see the class docstring for shapes."""
        m = self.multiple_of
        if x.dim() != 4 or x.shape[-2] % m or x.shape[-1] % m:
            raise ShapeError(
                f"UNetEncoder with {len(self.channels)} levels needs (B, C, H, W) with H and W "
                f"multiples of {m}, got {tuple(x.shape)} (pad first, e.g. "
                "lle_core.ops.pad_to_multiple)"
            )
        feats: list[Tensor] = []
        for k, level in enumerate(self.levels):
            x = level(x if k == 0 else self.pool(x))
            feats.append(x)
        return feats


class UNetDecoder(nn.Module):
    """One expanding path: per level ConvT 2×2 s2 → concat skip → two 3×3 conv + LReLU.

    ``forward(features)`` takes the encoder outputs ``[S_1, ..., S_L]`` (finest first, shapes
    as :class:`UNetEncoder` returns them) and returns the decoder level outputs
    ``[R_1, ..., R_{L-1}]`` finest first, ``R_k`` of shape ``(B, widths[k-1], H_k, W_k)``.
    ``R_1`` (full input resolution, ``widths[0]`` channels) is what a head reads.
    """

    def __init__(self, *, widths: Sequence[int] = SID_WIDTHS, negative_slope: float = 0.2) -> None:
        """Args: see :class:`lle_neid.params.DecoderParams`."""
        super().__init__()
        self.widths = tuple(int(w) for w in widths)
        # Built coarse to fine: index i serves level L-1-i (1-based level L-1 first).
        pairs = list(zip(self.widths[::-1][:-1], self.widths[::-1][1:], strict=True))
        self.ups = nn.ModuleList(
            nn.ConvTranspose2d(hi, lo, kernel_size=2, stride=2, bias=False) for hi, lo in pairs
        )
        self.convs = nn.ModuleList(double_conv(2 * lo, lo, negative_slope) for _, lo in pairs)

    def conformance_io(
        self, batch: int, height: int, width: int, generator: torch.Generator
    ) -> tuple[tuple[list[Tensor]], list[tuple[int, ...]]]:
        """The conformance kit's probe: encoder-shaped features in, level outputs' shapes out.

        ``height`` and ``width`` are rounded up to a multiple of ``2 ** (levels - 1)``.
        """
        m = 2 ** (len(self.widths) - 1)
        h, w = m * -(-height // m), m * -(-width // m)
        feats = [
            torch.randn((batch, c, h >> k, w >> k), generator=generator)
            for k, c in enumerate(self.widths)
        ]
        return (feats,), [(batch, c, h >> k, w >> k) for k, c in enumerate(self.widths[:-1])]

    def forward(
        self, features: Sequence[Tensor], post: PostLevelFn | None = None
    ) -> list[Tensor]:
        """Decode; see the class docstring.

        Args:
            features: ``[S_1, ..., S_L]``; ``S_L`` is the bottleneck, the others the skips.
            post: Optional ``post(k, R)`` applied to each level output ``R`` (``k`` = 0-based
                level, 0 finest) before the next level reads it.

        Returns:
            ``[R_1, ..., R_{L-1}]``, finest first.
        """
        if len(features) != len(self.widths):
            raise ShapeError(
                f"UNetDecoder with widths {self.widths} needs {len(self.widths)} features "
                f"(skips + bottleneck), got {len(features)}"
            )
        x = features[-1]
        outs: list[Tensor] = []
        for i, (up, conv) in enumerate(zip(self.ups, self.convs, strict=True)):
            level = len(self.widths) - 2 - i
            x = conv(torch.cat([up(x), features[level]], dim=1))
            if post is not None:
                x = post(level, x)
            outs.append(x)
        return outs[::-1]


class SubPixelHead(nn.Module):
    """Sub-pixel convolution upsampler: ``Conv k×k (C -> out·s²)`` → ``PixelShuffle(s)``.

    ``(B, in_channels, H, W) -> (B, out_channels, sH, sW)``, linear output (no activation).
    NEID uses it with ``k = 1``, ``s = 2`` after both decoders (NEID Sec. 2.2, Shi et al. /
    Caballero et al. sub-pixel convolution, the paper's ref. [2]).
    """

    def __init__(
        self, *, in_channels: int = 32, out_channels: int = 3, scale: int = 2, kernel_size: int = 1
    ) -> None:
        """Args: see :class:`lle_neid.params.SubPixelHeadParams`."""
        super().__init__()
        self.scale = scale
        self.conv = nn.Conv2d(
            in_channels, out_channels * scale * scale, kernel_size, padding=kernel_size // 2
        )
        self.shuffle = nn.PixelShuffle(scale)

    def conformance_io(
        self, batch: int, height: int, width: int, generator: torch.Generator
    ) -> tuple[tuple[Tensor], list[tuple[int, ...]]]:
        """The conformance kit's probe: ``(B, in, H, W)`` in, ``(B, out, sH, sW)`` out."""
        s = self.scale
        x = torch.randn((batch, self.conv.in_channels, height, width), generator=generator)
        return (x,), [(batch, self.conv.out_channels // (s * s), s * height, s * width)]

    def forward(self, x: Tensor) -> Tensor:
        """Upsample ``x`` by :attr:`scale`; see the class docstring."""
        return self.shuffle(self.conv(x))
