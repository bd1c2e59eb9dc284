"""Registration of the HF2 components (loaded through the ``lle.plugins`` entry point).

This module stays light: factories and parameter models are named as lazy
``"module:attribute"`` paths, so nothing torch-heavy is imported until a component is built.
"""

from __future__ import annotations

from lle_core.hookspecs import RegisterFn, hookimpl
from lle_core.weights import register_shipped_weights

LLE_PLUGIN_API = 1

PAPER = "Tang, Ma, Shang, Fan: Learning to fuse heterogeneous features for LLIE"

#: Narrow model used by the tests (random VGG, no download). The CBAM reduction is 2 instead
#: of 16 so that every channel MLP keeps several hidden units at these widths (a single ReLU
#: unit can start dead, leaving its MLP without any gradient).
SMALL_MODEL_EXAMPLE = {
    "base_width": 8,
    "backbone": {"type": "hf2.vgg16", "weights": "random"},
    "fusion": {"type": "hf2.hf2", "reduction": 2},
}

#: What the conformance kit builds: the same without the prior. A *random* VGG16's relu5_3
#: features are large enough to saturate the CBAM gates of the level-5 encoder fusion
#: (gradients ~1e-16 of the weights, measured), which says nothing about the model with the
#: ImageNet VGG16 it is meant for and which the kit cannot have offline. The prior path is
#: covered by plugins/hf2/tests (shapes, frozen weights, training smoke test).
KIT_MODEL_EXAMPLE = {**SMALL_MODEL_EXAMPLE, "use_prior": False}


@hookimpl
def lle_register(register: RegisterFn) -> None:
    """Register the HF2 backbone, CBAM blocks, fusion op and model."""
    # Core imports each params module at registration anyway; the model's capabilities
    # are read from its class so that they are stated once.
    from lle_hf2.model import HF2UNet

    register(
        "backbone",
        "vgg16",
        "lle_hf2.backbone:FrozenVGG16",
        params="lle_hf2.backbone:VGG16Params",
        summary="Frozen ImageNet VGG16, taps relu1_2..relu5_3, normalisation inside",
        paper=f"{PAPER}, Sec. 2.1 (classification network)",
        capabilities={"multiple_of": 16, "needs_weights": True},
        example={"weights": "random"},
    )
    register(
        "block",
        "channel_attention",
        "lle_hf2.attention:ChannelAttention",
        params="lle_hf2.attention:ChannelAttentionParams",
        summary="CBAM channel gate A_c (shared MLP on avg/max pooled descriptors)",
        paper=f"{PAPER}, Eq. 1 (A_c, after Woo et al. CBAM)",
        example={"channels": 8, "reduction": 4},
    )
    register(
        "block",
        "spatial_attention",
        "lle_hf2.attention:SpatialAttention",
        params="lle_hf2.attention:SpatialAttentionParams",
        summary="CBAM spatial gate A_s (7x7 conv on [max, mean] maps)",
        paper=f"{PAPER}, Eq. 1 (A_s, after Woo et al. CBAM)",
    )
    register(
        "fusion",
        "hf2",
        "lle_hf2.fusion:HF2Fusion",
        params="lle_hf2.fusion:HF2Params",
        summary="HF2: CBAM on each input, then mul (paper) / add / cat+1x1",
        paper=f"{PAPER}, Sec. 2.2, Eq. 1",
        capabilities={"min_channels": 1},
    )
    register(
        "model",
        "model",
        "lle_hf2.model:HF2UNet",
        params="lle_hf2.model:HF2ModelParams",
        summary="Classification-driven U-Net: frozen VGG16 features fused by HF2",
        paper=f"{PAPER}, Sec. 2.1-2.2, Fig. 2",
        capabilities=HF2UNet.default_capabilities,
        example=dict(KIT_MODEL_EXAMPLE),
    )
    register_shipped_weights(register, "lle_hf2")  # weights/*.json: trained sets
