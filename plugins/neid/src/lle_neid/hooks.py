"""Plugin hooks of lle-neid: registers every NEID component under ``neid.*``.

Light on purpose: factories are lazy ``"module:attribute"`` paths, so the torch modules of
this plugin are imported only when a component is built.
"""

from __future__ import annotations

from typing import Any

from lle_core.hookspecs import RegisterFn, hookimpl
from lle_core.weights import register_shipped_weights

LLE_PLUGIN_API = 1

PAPER = (
    "Jiang, Liu, Wang, Li, Men, Wang, Luo, 'Bridge the Vision Gap from Field to Command: "
    "A Deep Learning Network Enhancing Illumination and Details' (NEID), arXiv:2101.08039"
)

#: Narrow widths the conformance kit and the examples build the model with (5 levels, like
#: the paper, so the internal pad-to-16 is exercised).
SMALL_WIDTHS = [8, 8, 16, 16, 16]

#: The paper's loss (Eq. 7) as a ``core.composite`` spec: Huber (δ = 1, spec §2.2) on the LE
#: output, 0.1 · MSE of the DR output vs its target, 0.1 · HSV colour loss.
PAPER_LOSS: dict[str, Any] = {
    "type": "core.composite",
    "terms": [
        {"type": "core.huber", "delta": 1.0, "weight": 1.0},
        {
            "type": "core.mse",
            "weight": 0.1,
            "name": "dr_mse",
            "keys": {"pred": "dr", "target": "dr_target"},
        },
        {"type": "neid.hsv_color", "weight": 0.1},
    ],
}


@hookimpl
def lle_register(register: RegisterFn) -> None:
    """Register NEID's blocks, fusion, model, loss and training scheme."""
    register(
        "block",
        "unet_encoder",
        "lle_neid.blocks:UNetEncoder",
        params="lle_neid.params:EncoderParams",
        summary="SID-style U-Net contracting path shared by NEID's LE and DR branches",
        paper=f"{PAPER}, Sec. 2.1-2.2",
        example={"widths": SMALL_WIDTHS},
    )
    register(
        "block",
        "unet_decoder",
        "lle_neid.blocks:UNetDecoder",
        params="lle_neid.params:DecoderParams",
        summary="U-Net expanding path (ConvT 2x2 + skip concat + two 3x3 convs per level)",
        paper=f"{PAPER}, Sec. 2.1-2.2",
        example={"widths": SMALL_WIDTHS},
    )
    register(
        "block",
        "subpixel_head",
        "lle_neid.blocks:SubPixelHead",
        params="lle_neid.params:SubPixelHeadParams",
        summary="Sub-pixel convolution upsampler: conv -> PixelShuffle(scale)",
        paper=f"{PAPER}, Sec. 2.2 (LE upsampling module)",
        example={"in_channels": 8},
    )
    register(
        "fusion",
        "channel_ff",
        "lle_neid.fusion:ChannelFeatureFusion",
        params="lle_neid.params:ChannelFFParams",
        summary="NEID Feature Fusing: guide-driven channel attention weighted sum of a and b",
        paper=f"{PAPER}, Sec. 2.2 (Feature Fusing module)",
        capabilities={"tiling": "tile", "min_channels": 1},
    )
    register(
        "model",
        "model",
        "lle_neid.model:NEID",
        params="lle_neid.params:NEIDParams",
        summary="NEID: shared U-Net encoder, DR + LE decoders, Feature Fusing, sub-pixel x2",
        paper=PAPER,
        capabilities={
            "multiple_of": 1,
            "min_size": 1,
            "scale": 1,
            "tiling": "tile",
            "global_stats": "stream",
            "tile_align": 32,
            "receptive_field": 244,
            "dtypes": ["float32", "bfloat16"],
            "needs_ground_truth": True,
            "needs_weights": True,
        },
        example={"widths": SMALL_WIDTHS},
    )
    register(
        "loss",
        "hsv_color",
        "lle_neid.losses:HSVColorLoss",
        params="lle_neid.params:HSVColorParams",
        summary="1 - cosine of hue and saturation maps (NEID colour loss)",
        paper=f"{PAPER}, Eq. 4-6",
    )
    register(
        "trainer",
        "two_stream",
        "lle_neid.scheme:TwoStreamScheme",
        params="lle_neid.params:TwoStreamParams",
        summary="NEID scheme: bicubic x2 LR input, LE target = high, DR target = HR low-light",
        paper=f"{PAPER}, Sec. 2.3 and 3.2",
        capabilities={"needs_ground_truth": True},
        example={"model": {"type": "neid.model", "widths": SMALL_WIDTHS}, "loss": PAPER_LOSS},
    )
    register_shipped_weights(register, "lle_neid")  # weights/*.json: trained sets
