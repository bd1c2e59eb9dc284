"""The FRLIE enhancer: ``I_out = D(FRNet(E(I_l)))`` (FRLIE Sec. 2, Fig. 3)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import ClassVar

from torch import Tensor, nn

from lle_core.interfaces import Enhancer
from lle_core.registry import Capabilities
from lle_frlie import PAPER
from lle_frlie.autoencoder import Decoder, Encoder, Upsample, init_autoencoder_weights
from lle_frlie.blocks import FRNet
from lle_frlie.params import DEFAULT_DILATIONS, FRLIEParams

#: ITU-R BT.601 luma weights used by the official wrapper's post-blend.
LUMA_WEIGHTS: tuple[float, float, float] = (0.299, 0.587, 0.114)

#: E downsamples twice by 2, so sizes must be multiples of 4.
MULTIPLE_OF = 4


def luminance_post_blend(pred: Tensor, low: Tensor) -> Tensor:
    """Blend the prediction with the input where the input is already bright.

    ``out = (1 − Y_low)·pred + Y_low·I_low`` with ``Y_low = 0.299 R + 0.587 G + 0.114 B`` of
    the low-light input (official inference wrapper ``src/FRLIME.py``, for images without
    ground truth).

    Args:
        pred: Enhanced image ``(B, 3, H, W)`` in [0, 1].
        low: Low-light input ``(B, 3, H, W)`` in [0, 1].

    Returns:
        ``(B, 3, H, W)`` in [0, 1] (a convex combination of two [0, 1] images).
    """
    r, g, b = low.unbind(dim=1)
    y = (LUMA_WEIGHTS[0] * r + LUMA_WEIGHTS[1] * g + LUMA_WEIGHTS[2] * b).unsqueeze(1)
    y = y.clamp(0.0, 1.0)
    return (1.0 - y) * pred + y * low


#: Context radius, in image pixels, of the encoder E: 5×5 conv (2), 3×3 stride 2 (1), then two
#: 3×3 convs at stride 2 (2 + 2).
ENCODER_RADIUS = 7
#: Context radius of the decoder D in image pixels: two bilinear ×2 + 3×3 conv stages and two
#: more 3×3 convs (per layer: 4, 2, 2, 2, 1, 1).
DECODER_RADIUS = 12


def receptive_radius(num_blocks: int, dilations: Sequence[int], num_res_blocks: int) -> int:
    """Context radius (image pixels, each side) one output pixel of FRLIE depends on.

    E works to stride 4 (:data:`ENCODER_RADIUS`); each FRBlock at stride 4 adds its context
    block's largest dilation ``max(d)`` (one dilated 3×3) plus two 3×3 convs per residual
    block; D adds :data:`DECODER_RADIUS`. 147 px for the paper's 4 blocks, dilations up to 4
    and 2 residual blocks (Sec. 2.2, Fig. 3). The conformance kit checks it against the
    measured dependence of the output on the input.
    """
    per_block = max(dilations) + 2 * num_res_blocks
    return ENCODER_RADIUS + 4 * num_blocks * per_block + DECODER_RADIUS


class FRLIE(Enhancer):
    """Low-light enhancement via feature restoration.

    ``forward(low)`` maps ``(B, 3, H, W)`` in [0, 1] to ``(B, 3, H, W)`` in [0, 1]. The engine
    reflect-pads to a multiple of 4 (the official wrapper zero-pads bottom/right); sizes that
    are not multiples of 4 are also padded here (reflect) so that direct calls work.

    Attributes:
        encoder: E, ``(B, 3, H, W)`` → ``(B, 4c, H/4, W/4)``.
        frnet: FRNet on ``4c`` channels.
        decoder: D, features → image in [0, 1].
        post_blend: Whether :meth:`forward` applies :func:`luminance_post_blend`.
    """

    Params = FRLIEParams
    summary = "FRLIE enhancer D(FRNet(E(x))), optional luminance post-blend"
    paper = f"{PAPER}, Sec. 2, Fig. 3"

    default_capabilities: ClassVar[Capabilities] = Capabilities(
        multiple_of=MULTIPLE_OF,
        min_size=MULTIPLE_OF,
        min_input=8,  # smaller: wrong even with edge padding (docs/reliability.md)
        receptive_field=receptive_radius(4, DEFAULT_DILATIONS, 2),
        tiling="tile",
        dtypes=("float32", "bfloat16"),
        # measured to pay on CPUs (docs/benchmarks.md, "Fast default paths")
        fast_path=("fold", "channels_last", "bfloat16"),
        needs_ground_truth=True,
        needs_weights=True,
    )

    def __init__(
        self,
        base_channels: int = 32,
        num_blocks: int = 4,
        context_channels: int = 32,
        dilations: Sequence[int] = DEFAULT_DILATIONS,
        num_res_blocks: int = 2,
        upsample: Upsample = "bilinear",
        post_blend: bool = False,
    ) -> None:
        """Args: see :class:`lle_frlie.params.FRLIEParams`."""
        super().__init__()
        self.encoder = Encoder(base_channels)
        self.decoder = Decoder(base_channels, upsample)
        init_autoencoder_weights(self.encoder)
        init_autoencoder_weights(self.decoder)
        self.frnet = FRNet(
            4 * base_channels, num_blocks, context_channels, dilations, num_res_blocks
        )
        self.post_blend = bool(post_blend)
        self._autoencoder_frozen = False
        self._radius = receptive_radius(num_blocks, dilations, num_res_blocks)

    @property
    def capabilities(self) -> Capabilities:
        """Capabilities with the receptive field of this configuration."""
        return self.default_capabilities.model_copy(update={"receptive_field": self._radius})

    # -- the three parts --------------------------------------------------------------------
    def encode(self, x: Tensor) -> Tensor:
        """E(x): ``(B, 3, H, W)`` (H, W multiples of 4) → ``(B, 4c, H/4, W/4)``."""
        return self.encoder(x)

    def restore(self, features: Tensor) -> Tensor:
        """FRNet(F): ``(B, 4c, h, w)`` → same."""
        return self.frnet(features)

    def decode(self, features: Tensor) -> Tensor:
        """D(F): ``(B, 4c, h, w)`` → ``(B, 3, 4h, 4w)`` in [0, 1]."""
        return self.decoder(features)

    def autoencoder_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters of E and D."""
        yield from self.encoder.parameters()
        yield from self.decoder.parameters()

    # -- freezing (stage 2) -----------------------------------------------------------------
    @property
    def autoencoder_frozen(self) -> bool:
        """Whether E and D are frozen (no gradients, always in eval mode)."""
        return self._autoencoder_frozen

    def freeze_autoencoder(self, frozen: bool = True) -> None:
        """Freeze (or unfreeze) E and D.

        Frozen parts get ``requires_grad = False`` and stay in eval mode even when
        :meth:`train` is called, so their batch-norm running statistics never move.
        """
        self._autoencoder_frozen = frozen
        for p in self.autoencoder_parameters():
            p.requires_grad_(not frozen)
        self.train(self.training)

    def train(self, mode: bool = True) -> FRLIE:
        """Set the mode; a frozen encoder/decoder stays in eval mode."""
        super().train(mode)
        if self._autoencoder_frozen:
            self.encoder.eval()
            self.decoder.eval()
        return self

    # -- forward ----------------------------------------------------------------------------
    def _pad(self, low: Tensor) -> tuple[Tensor, tuple[int, int]]:
        h, w = low.shape[-2:]
        if h % MULTIPLE_OF == 0 and w % MULTIPLE_OF == 0:
            return low, (h, w)
        from lle_core.ops import pad_to_multiple

        return pad_to_multiple(low, MULTIPLE_OF, MULTIPLE_OF, mode="reflect")

    def forward_train(self, low: Tensor) -> dict[str, Tensor]:
        """Training pass (no post-blend).

        Args:
            low: ``(B, 3, H, W)`` in [0, 1].

        Returns:
            ``pred`` ``(B, 3, H, W)`` in [0, 1]; ``feat_low`` = E(I_l) and
            ``feat_restored`` = F_r = FRNet(E(I_l)), both ``(B, 4c, ⌈H/4⌉, ⌈W/4⌉)``.
        """
        x, (h, w) = self._pad(low)
        feat_low = self.encode(x)
        feat_restored = self.restore(feat_low)
        pred = self.decode(feat_restored)[..., :h, :w]
        return {"pred": pred, "feat_low": feat_low, "feat_restored": feat_restored}

    def forward(self, low: Tensor) -> Tensor:
        """Enhance: ``D(FRNet(E(low)))``, then the optional luminance post-blend.

        Args:
            low: ``(B, 3, H, W)`` in [0, 1].

        Returns:
            ``(B, 3, H, W)`` in [0, 1].
        """
        pred = self.forward_train(low)["pred"]
        if self.post_blend:
            pred = luminance_post_blend(pred, low)
        return pred
