"""Parameter models of every FRLIE component (validated before anything is built).

Kept apart from the modules that build networks so that registering the plugin only needs
pydantic and the core's parameter base classes. Defaults reproduce the released FRLIE code
(official code YaN9-Y/FRLIE: ``BASE_CHANNEL_NUM`` 32, ``BLOCK_NUM`` 4, bilinear decoder).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from lle_core.interfaces import LossParams
from lle_core.registry import Params

#: Dilation rates of the released context block (the code's unused "square" option is 1,2,4,8).
DEFAULT_DILATIONS: tuple[int, ...] = (1, 2, 3, 4)

#: A dilation rate of a 3×3 branch (padding = dilation): 1 or more, checked before building.
Dilation = Annotated[int, Field(ge=1)]


class ContextBlockParams(Params):
    """Context block (SADNet style, FRLIE Sec. 2.2).

    Attributes:
        channels: Input/output channels.
        mid_channels: Channels of the 1×1 reduction and of each dilated branch.
        dilations: One 3×3 branch per dilation rate (padding = dilation).
        negative_slope: LeakyReLU slope after each branch.
    """

    channels: int = Field(128, ge=1)
    mid_channels: int = Field(32, ge=1)
    dilations: tuple[Dilation, ...] = Field(DEFAULT_DILATIONS, min_length=1)
    negative_slope: float = Field(0.2, ge=0.0)


class ResBlockParams(Params):
    """EDSR-style residual block (no norm).

    Attributes:
        channels: Input/output channels.
        negative_slope: LeakyReLU slope between the two convolutions.
        res_scale: Multiplier of the residual branch (1 in FRLIE).
    """

    channels: int = Field(128, ge=1)
    negative_slope: float = Field(0.2, ge=0.0)
    res_scale: float = 1.0


class FRBlockParams(Params):
    """Feature restoration block = context block + ``num_res_blocks`` residual blocks.

    Attributes:
        channels: Feature channels.
        mid_channels: Context block branch width.
        dilations: Context block dilation rates.
        num_res_blocks: Residual blocks after the context block (2 in the paper).
    """

    channels: int = Field(128, ge=1)
    mid_channels: int = Field(32, ge=1)
    dilations: tuple[Dilation, ...] = Field(DEFAULT_DILATIONS, min_length=1)
    num_res_blocks: int = Field(2, ge=0)


class FRNetParams(Params):
    """FRNet: ``F + Blocks(F)`` over ``num_blocks`` FRBlocks (paper Eq. 2).

    Attributes:
        width: Feature channels (``4c`` = 128 in FRLIE).
        num_blocks: FRBlocks (4 in the paper).
        mid_channels: Context block branch width.
        dilations: Context block dilation rates.
        num_res_blocks: Residual blocks per FRBlock.
    """

    width: int = Field(128, ge=1)
    num_blocks: int = Field(4, ge=1)
    mid_channels: int = Field(32, ge=1)
    dilations: tuple[Dilation, ...] = Field(DEFAULT_DILATIONS, min_length=1)
    num_res_blocks: int = Field(2, ge=0)


class FRLIEParams(Params):
    """The whole enhancer ``D(FRNet(E(x)))``.

    Attributes:
        base_channels: ``c`` of the autoencoder; FRNet works on ``4c`` channels.
        num_blocks: FRBlocks in FRNet.
        context_channels: Context block branch width (32 in the code).
        dilations: Context block dilation rates.
        num_res_blocks: Residual blocks per FRBlock.
        upsample: Decoder upsampling, ``"bilinear"`` (code) or ``"pixelshuffle"`` (paper).
        post_blend: Apply the official wrapper's luminance blend
            ``(1 − Y_low)·pred + Y_low·I_low`` at inference (meant for images without ground
            truth; off for PSNR/SSIM as in the paper).
    """

    base_channels: int = Field(32, ge=1)
    num_blocks: int = Field(4, ge=1)
    context_channels: int = Field(32, ge=1)
    dilations: tuple[Dilation, ...] = Field(DEFAULT_DILATIONS, min_length=1)
    num_res_blocks: int = Field(2, ge=0)
    upsample: Literal["bilinear", "pixelshuffle"] = "bilinear"
    post_blend: bool = False


class HueLossParams(LossParams):
    """Circular hue loss (paper Eq. 6 as implemented by the code).

    Attributes:
        normalizer: Degrees the mean circular distance is divided by: 360 (code, range
            [0, 0.5]; the default, paired with weight 0.05) or 180 (paper, range [0, 1]).
    """

    normalizer: Literal[180, 360] = 360


class FeatureMatchingParams(LossParams):
    """L1 feature matching (paper Eq. 3).

    The term reads ``pred`` from context key ``feat_restored`` and ``target`` from
    ``feat_target`` unless ``keys`` says otherwise.
    """


class TwoStageParams(Params):
    """The two-stage FRLIE trainer (paper §2.1–2.2).

    Attributes:
        stage: ``1`` trains E and D to reconstruct normal-light images; ``2`` freezes E and
            D (eval mode) and trains FRNet only; ``"end_to_end"`` trains E, FRNet and D
            jointly (the "w/o FR" row of Table 1, used without the feature-matching loss).
        stage1_checkpoint: Stage 2: safetensors checkpoint of a stage-1 run (or a model
            state dict) whose encoder/decoder weights are loaded.
        allow_untrained_autoencoder: Stage 2: explicitly run without a stage-1 checkpoint
            (E and D keep their current, e.g. random, weights). Only for tests/experiments.
        fm_target: Feature-matching target: ``"high"`` = E(I_h) as in the paper (default),
            ``"low"`` = E(I_l) as the released code computes it.
    """

    stage: Literal[1, 2, "end_to_end"] = 2
    stage1_checkpoint: str | None = None
    allow_untrained_autoencoder: bool = False
    fm_target: Literal["high", "low"] = "high"

    @field_validator("stage", mode="before")
    @classmethod
    def _stage_from_text(cls, value: Any) -> Any:
        """Accept ``"1"``/``"2"`` (command-line overrides arrive as text)."""
        if isinstance(value, str) and value.strip() in ("1", "2"):
            return int(value.strip())
        return value
