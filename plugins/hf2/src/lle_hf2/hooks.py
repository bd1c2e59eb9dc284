"""Registration of the HF2 components (loaded through the ``lle.plugins`` entry point).

Each class describes itself (parameters, summary, paper, capabilities); this module only names
them, as lazy ``"module:Class"`` paths, so loading the plugin imports no torch.
"""

from __future__ import annotations

from lle_core.hookspecs import RegisterFn, hookimpl

LLE_PLUGIN_API = 1

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
    """Register the HF2 backbone, CBAM channel gate, fusion op and model."""
    register("backbone", "vgg16", "lle_hf2.backbone:FrozenVGG16", example={"weights": "random"})
    # the one block registration: the building-block example of docs/composition.md
    register("block", "channel_attention", "lle_hf2.attention:ChannelAttention",
             example={"channels": 8, "reduction": 4})
    # reduction 2: several hidden units per channel MLP at the kit's 8 channels (see above)
    register("fusion", "hf2", "lle_hf2.fusion:HF2Fusion", example={"reduction": 2})
    register("model", "model", "lle_hf2.model:HF2UNet", example=dict(KIT_MODEL_EXAMPLE))
