"""Plugin hook of lle-frlie: registers every FRLIE component (names under ``frlie.``).

Factories are lazy ``"module:attribute"`` paths, so loading the plugin builds nothing.
"""

from __future__ import annotations

from lle_core.hookspecs import RegisterFn, hookimpl
from lle_core.weights import register_shipped_weights

LLE_PLUGIN_API = 1

PAPER = "Yang, Zhang, Guo, Low-light image enhancement via feature restoration, ICASSP 2022"

#: A narrow FRLIE for the conformance kit and tests (c = 4, one FRBlock).
TINY_MODEL: dict[str, object] = {
    "type": "frlie.model",
    "base_channels": 4,
    "num_blocks": 1,
    "context_channels": 4,
}


@hookimpl
def lle_register(register: RegisterFn) -> None:
    """Register the FRLIE blocks, model, losses and training scheme."""
    p = "lle_frlie.params"
    register(
        "block",
        "autoencoder",
        "lle_frlie.autoencoder:AutoEncoder",
        params=f"{p}:AutoEncoderParams",
        summary="Encoder E (3→4c at 1/4) + decoder D (bilinear or pixel-shuffle) reconstructor",
        paper=f"{PAPER}, Sec. 2.1, Eq. 1",
        capabilities={"multiple_of": 4, "min_size": 4},
        example={"base_channels": 4},
    )
    register(
        "block",
        "context_block",
        "lle_frlie.blocks:ContextBlock",
        params=f"{p}:ContextBlockParams",
        summary="1×1 reduce, parallel dilated 3×3 (1,2,3,4) + LReLU, 1×1 fuse, residual",
        paper=f"{PAPER}, Sec. 2.2 (context block of SADNet)",
        example={"channels": 8, "mid_channels": 4},
    )
    register(
        "block",
        "res_block",
        "lle_frlie.blocks:ResBlock",
        params=f"{p}:ResBlockParams",
        summary="EDSR residual block: x + conv(lrelu(conv(x))), no norm",
        paper=f"{PAPER}, Sec. 2.2",
        example={"channels": 8},
    )
    register(
        "block",
        "frblock",
        "lle_frlie.blocks:FRBlock",
        params=f"{p}:FRBlockParams",
        summary="Feature restoration block: context block + 2 residual blocks",
        paper=f"{PAPER}, Sec. 2.2, Fig. 3",
        example={"channels": 8, "mid_channels": 4},
    )
    register(
        "block",
        "frnet",
        "lle_frlie.blocks:FRNet",
        params=f"{p}:FRNetParams",
        summary="Feature restoration net: F + FRBlocks(F) (4 blocks, 128 channels)",
        paper=f"{PAPER}, Sec. 2.2, Eq. 2",
        example={"width": 8, "num_blocks": 1, "mid_channels": 4},
    )
    register(
        "model",
        "model",
        "lle_frlie.model:FRLIE",
        params=f"{p}:FRLIEParams",
        summary="FRLIE enhancer D(FRNet(E(x))), optional luminance post-blend",
        paper=f"{PAPER}, Sec. 2, Fig. 3",
        capabilities={
            "multiple_of": 4,
            "min_size": 4,
            "receptive_field": 148,
            "tiling": "tile",
            "dtypes": ("float32", "bfloat16"),
            "needs_ground_truth": True,
            "needs_weights": True,
        },
        example={k: v for k, v in TINY_MODEL.items() if k != "type"},
    )
    register(
        "loss",
        "hue",
        "lle_frlie.losses:HueLoss",
        params=f"{p}:HueLossParams",
        summary="Circular hue distance min(Δ, 360−Δ) in degrees, mean / 360 (code) or 180",
        paper=f"{PAPER}, Eq. 6 (as implemented by the official code)",
    )
    register(
        "loss",
        "feature_matching",
        "lle_frlie.losses:FeatureMatchingLoss",
        params=f"{p}:FeatureMatchingParams",
        summary="L1 between restored and target features (feat_restored vs feat_target)",
        paper=f"{PAPER}, Eq. 3",
    )
    register(
        "trainer",
        "two_stage",
        "lle_frlie.scheme:TwoStageScheme",
        params=f"{p}:TwoStageParams",
        summary="Stage 1 trains E/D on normal-light images; stage 2 trains FRNet with E/D frozen",
        paper=f"{PAPER}, Sec. 2.1-2.2, Eq. 7",
        example={
            "model": dict(TINY_MODEL),
            "loss": {
                "type": "core.composite",
                "terms": [
                    {"type": "core.mse", "weight": 100.0},
                    {"type": "frlie.feature_matching", "weight": 0.2},
                    {"type": "frlie.hue", "weight": 0.05},
                ],
            },
            "stage": 2,
            "allow_untrained_autoencoder": True,
        },
    )
    register_shipped_weights(register, "lle_frlie")  # weights/*.json: trained sets
