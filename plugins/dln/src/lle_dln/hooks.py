"""Registration hook of the ``dln`` plugin (light: factories are lazy ``module:attr`` paths)."""

from __future__ import annotations

from lle_core.hookspecs import RegisterFn, hookimpl
from lle_core.weights import register_shipped_weights

LLE_PLUGIN_API = 1

PAPER = ("Wang, Liu, Siu, Lun, \"Deep Lightening Network for Low-Light Image Enhancement\" "
         "(slides); journal: \"Lightening Network for Low-light Image Enhancement\", TIP 2020")


#: Width the conformance kit builds DLN with (the paper's is 64).
KIT_DIM = 16
#: SE squeeze ratio of the kit's DLN: 2 gives 8-24 hidden units per FA block at width 16. With
#: the code's 16 a squeeze layer has only ``in_channels // 16`` ReLU units (1 at width 8, 4 at
#: the paper's width for the first block); they see non-negative pooled features, so all of a
#: layer's units start dead with probability ~2^-units and that SE layer then never gets a
#: gradient (seen at widths 8 and 32 in the trainability check).
KIT_REDUCTION = 2


@hookimpl
def lle_register(register: RegisterFn) -> None:
    """Register DLN's blocks, fusion op, model, loss, synthetic dataset and circle scheme."""
    register("block", "lighten_block", "lle_dln.blocks:LightenBlock",
             params="lle_dln.blocks:OffsetBlockParams",
             summary="Lightening block: conv encode, + offset, conv decode (C -> C)",
             paper=f"{PAPER}, Fig. 4b", example={"channels": 8})
    register("block", "darken_block", "lle_dln.blocks:DarkenBlock",
             params="lle_dln.blocks:OffsetBlockParams",
             summary="Darkening block: conv encode, − offset, conv decode (C -> C)",
             paper=f"{PAPER}, Fig. 4b", example={"channels": 8})
    register("block", "fa", "lle_dln.blocks:FeatureAggregation",
             params="lle_dln.blocks:FAParams",
             summary="Feature aggregation: SE re-weighting + residual, then 1x1 conv block",
             paper=f"{PAPER}; FA block of the journal figure",
             example={"in_channels": 16, "out_channels": 8})
    register("block", "lbp", "lle_dln.blocks:LBP", params="lle_dln.blocks:LBPParams",
             summary="Lightening back-projection block (FA, L1, D1, residual, L2)",
             paper=f"{PAPER}, Fig. 4",
             example={"in_channels": 32, "channels": 16, "reduction": KIT_REDUCTION})
    register("fusion", "fa", "lle_dln.blocks:FAFusion", params="lle_dln.blocks:FAFusionParams",
             summary="DLN feature aggregation over concat(a, b): SE + residual, 1x1 2C -> C",
             paper=f"{PAPER}; FA block of the journal figure",
             capabilities={"min_channels": 1})
    register("model", "model", "lle_dln.model:DLN", params="lle_dln.model:DLNParams",
             summary="DLN: brightness-gated input, 3 dense LBPs, residual Y = X + γ·E(X)",
             paper=PAPER, example={"dim": KIT_DIM, "reduction": KIT_REDUCTION})
    register("loss", "loss_dif", "lle_dln.losses:DifferenceLoss",
             params="lle_dln.losses:DifferenceLossParams",
             summary="DLN Loss_dif = 1 − SSIM(pred, target) + 0.001·TV(pred) (l2_dln TV)",
             paper=f"{PAPER}, loss function slide")
    register("dataset", "synthetic", "lle_dln.synthetic:SyntheticLowLight",
             params="lle_dln.synthetic:SyntheticParams",
             summary="Synthetic low-light pairs X = β(αY)^γ from any folder of clean photos",
             paper=f"{PAPER}, Experiments (simulation equation)",
             capabilities={"needs_ground_truth": True},
             example={"root": "{clean_dir}", "crop": 16, "short_side": 32})
    register("trainer", "circle", "lle_dln.circle:CircleLearning",
             params="lle_dln.circle:CircleParams",
             summary="Circle learning: lightening + darkening DLN trained jointly",
             paper=f"{PAPER}, circle learning slide",
             example={"model": {"type": "dln.model", "dim": KIT_DIM,
                                "reduction": KIT_REDUCTION},
                      "loss": {"type": "dln.loss_dif"}})
    register("trainer", "finetune", "lle_dln.finetune:Finetune",
             params="lle_dln.finetune:FinetuneParams",
             summary="Supervised fine-tuning initialised from a pretraining checkpoint",
             paper=f"{PAPER}; code recipe: synthetic pretraining, then LOL fine-tuning",
             example={"model": {"type": "dln.model", "dim": KIT_DIM,
                                "reduction": KIT_REDUCTION},
                      "loss": {"type": "dln.loss_dif"}})
    register_shipped_weights(register, "lle_dln")  # weights/*.json: trained sets
