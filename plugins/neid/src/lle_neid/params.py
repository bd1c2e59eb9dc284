"""Parameter models of every NEID component (pydantic only: cheap to import at plugin load).

Each model validates a config mapping before anything is built; unknown keys are rejected.
The defaults are our readings of the paper (NEID Sec. 2.2–2.3, 3.2) where it is silent; the
model card (``plugins/neid/README.md``) lists every decision.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from lle_core import Params, SpecOf
from lle_core.interfaces import LossParams

#: Paper-inferred widths of the SID-style U-Net (NEID Sec. 2.1): one entry per level, finest first.
SID_WIDTHS: tuple[int, ...] = (32, 64, 128, 256, 512)


def _check_widths(widths: tuple[int, ...]) -> tuple[int, ...]:
    if len(widths) < 2:
        raise ValueError(f"widths needs at least 2 levels (one skip + a bottleneck), got {widths}")
    if any(w < 1 for w in widths):
        raise ValueError(f"every width must be >= 1, got {widths}")
    return widths


#: Channel widths per U-Net level, finest first (at least two levels, all positive).
Widths = Annotated[tuple[int, ...], AfterValidator(_check_widths)]


class EncoderParams(Params):
    """Parameters of ``lle_neid.blocks.UNetEncoder`` (the shared SID-style contracting path).

    Attributes:
        widths: Channels per level, finest first; the last level is the bottleneck.
        in_channels: Channels of the input image.
        negative_slope: LeakyReLU slope after every 3×3 convolution.
    """

    widths: Widths = SID_WIDTHS
    in_channels: int = Field(3, ge=1)
    negative_slope: float = Field(0.2, ge=0.0)


class DecoderParams(Params):
    """Parameters of ``lle_neid.blocks.UNetDecoder`` (one expanding path, as used twice by NEID).

    Attributes:
        widths: Channels per level of the encoder it decodes, finest first.
        negative_slope: LeakyReLU slope after every 3×3 convolution.
    """

    widths: Widths = SID_WIDTHS
    negative_slope: float = Field(0.2, ge=0.0)


class SubPixelHeadParams(Params):
    """Parameters of ``lle_neid.blocks.SubPixelHead`` (conv then pixel shuffle).

    Attributes:
        in_channels: Channels of the feature it reads.
        out_channels: Channels of the image it writes.
        scale: Upsampling factor of the pixel shuffle.
        kernel_size: Kernel of the convolution before the shuffle (odd; 1 in NEID).
    """

    in_channels: int = Field(32, ge=1)
    out_channels: int = Field(3, ge=1)
    scale: int = Field(2, ge=1)
    kernel_size: int = Field(1, ge=1)

    @field_validator("kernel_size")
    @classmethod
    def _odd(cls, v: int) -> int:
        if v % 2 == 0:
            raise ValueError(f"kernel_size must be odd (same padding), got {v}")
        return v


class ChannelFFParams(Params):
    """Parameters of ``neid.channel_ff`` (the Feature Fusing module).

    Attributes:
        gate: ``"sigmoid"`` (default): ``w ⊙ b + (1 − w) ⊙ a`` with ``w`` from the guide;
            ``"sk_softmax"``: a 2-way softmax per channel from GAP of ``[a, b]``;
            ``"residual"``: ``a + w ⊙ b``.
        reduction: Channel reduction ratio of the gate's bottleneck MLP.
        min_hidden: Smallest width of that bottleneck.
    """

    gate: Literal["sigmoid", "sk_softmax", "residual"] = "sigmoid"
    reduction: int = Field(16, ge=1)
    min_hidden: int = Field(4, ge=1)


class NEIDParams(Params):
    """Parameters of ``neid.model``.

    Attributes:
        widths: U-Net channels per level, finest first (paper-inferred SID widths by default).
        negative_slope: LeakyReLU slope.
        dr_branch: Build the Detail Refinement decoder and head (Table 2 "+ DR").
        feature_fusion: Fuse DR features into the LE skips (Table 2 "+ FF"); needs
            ``dr_branch``.
        fusion: Fusion op used at every fused level, built with ``channels=W_k``; ``a`` is the
            LE-side feature (encoder skip), ``b`` the DR feature. Any registered fusion works.
        ff_site: ``"skip"`` (default): fuse the encoder skip with the DR feature before the LE
            decoder reads it; ``"decoder"``: fuse each LE decoder level output with the DR
            feature of the same level instead.
        mode: ``"protocol"`` (paper test protocol, default): bicubic ↓2 the input, enhance,
            output at the input size; ``"field_to_command"``: enhance and double the size.
        downsample_antialias: Antialiased bicubic for the protocol mode's ↓2.
        init_std: Std of the N(0, σ) weight init of every conv (biases 0); ``None`` (default)
            keeps PyTorch's default init. The paper's 0.02 (Sec. 3.2, set by ``neid:paper``)
            shrinks activations ~1000× through the five levels at the SID widths: the output
            std at init is ~4e-6 and bottleneck gradients fall below Adam's eps, so short runs
            barely train (see the model card's "Trainability" section).
    """

    widths: Widths = SID_WIDTHS
    negative_slope: float = Field(0.2, ge=0.0)
    dr_branch: bool = True
    feature_fusion: bool = True
    fusion: SpecOf("fusion") = "neid.channel_ff"  # type: ignore[valid-type]
    ff_site: Literal["skip", "decoder"] = "skip"
    mode: Literal["protocol", "field_to_command"] = "protocol"
    downsample_antialias: bool = True
    init_std: float | None = Field(None, gt=0.0)

    @model_validator(mode="after")
    def _fusion_needs_dr(self) -> NEIDParams:
        if self.feature_fusion and not self.dr_branch:
            raise ValueError(
                "feature_fusion: true needs dr_branch: true (FF fuses DR features); for the "
                "'LE only' ablation set both to false"
            )
        return self


class HSVColorParams(LossParams):
    """Parameters of ``neid.hsv_color`` (paper Eq. 4–6).

    Attributes:
        hue_mode: ``"linear"`` (paper): cosine of the raw hue maps (hue in [0, 1));
            ``"circular"``: hue encoded as ``(cos 2πh, sin 2πh)`` so that 0 and 1 coincide.
        channels: Which HSV terms to sum (paper: both).
        eps: Stabiliser of the HSV conversion and of the cosine (see the loss docstring).
    """

    hue_mode: Literal["linear", "circular"] = "linear"
    channels: tuple[Literal["hue", "saturation"], ...] = ("hue", "saturation")
    eps: float = Field(1e-6, gt=0.0)

    @field_validator("channels")
    @classmethod
    def _non_empty(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("channels must name at least one of 'hue', 'saturation'")
        return v


class TwoStreamParams(Params):
    """Parameters of the ``neid.two_stream`` trainer.

    Attributes:
        scale: Factor between the HR crops and the LR model input.
        antialias: Antialiased bicubic downsampling of the low-light crop.
        dr_target: What the context key ``dr_target`` holds: ``"low"`` (the HR low-light crop,
            default) or ``"high"`` (the normal-light ground truth).
    """

    scale: int = Field(2, ge=1)
    antialias: bool = True
    dr_target: Literal["low", "high"] = "low"
