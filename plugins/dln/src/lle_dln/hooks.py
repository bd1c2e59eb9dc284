"""Registration hook of the ``dln`` plugin.

Each class describes itself (parameters, summary, paper, capabilities); this module only names
them, as lazy ``"module:Class"`` paths, so loading the plugin imports no torch.
"""

from __future__ import annotations

from lle_core.hookspecs import RegisterFn, hookimpl

LLE_PLUGIN_API = 1

#: Width the conformance kit builds DLN with (the paper's is 64).
KIT_DIM = 16
#: SE squeeze ratio of the kit's DLN: 1 gives 16-48 hidden units per FA block at width 16. With
#: the code's 16 a squeeze layer has only ``in_channels // 16`` ReLU units (1 at width 8, 4 at
#: the paper's width for the first block); they see non-negative pooled features, so all of a
#: layer's units start dead with probability ~2^-units and that SE layer then never gets a
#: gradient (seen at widths 8 and 32 in the trainability check). Ratio 2 (8 units in the first
#: LBP's blocks) still failed the circle trainer's check for 1 seed in 12 (~18 FA blocks in the
#: two networks); 16 units make it ~3e-4.
KIT_REDUCTION = 1
#: γ of the kit's DLN. A fresh DLN's residual has a std of 10-18 on a dark image (the code's
#: Kaiming init of the last conv), so with γ = 1 about 99 % of its clamped output sits at 0 or
#: 1 and the kit's range, tiling and bfloat16 checks would compare saturated pixels only;
#: γ = 0.01 keeps most of the output inside [0, 1] at init (trained DLNs use γ = 1).
KIT_GAMMA = 0.01
_KIT_MODEL = {"type": "dln.model", "dim": KIT_DIM, "reduction": KIT_REDUCTION}


@hookimpl
def lle_register(register: RegisterFn) -> None:
    """Register DLN's fusion op, model, loss, synthetic dataset and trainers."""
    register("fusion", "fa", "lle_dln.blocks:FAFusion")
    register("model", "model", "lle_dln.model:DLN",
             example={"dim": KIT_DIM, "reduction": KIT_REDUCTION, "brightness_gamma": KIT_GAMMA})
    register("loss", "loss_dif", "lle_dln.losses:DifferenceLoss")
    register("dataset", "synthetic", "lle_dln.synthetic:SyntheticLowLight",
             example={"root": "{clean_dir}", "crop": 16, "short_side": 32})
    register("trainer", "circle", "lle_dln.circle:CircleLearningTrainer",
             example={"model": dict(_KIT_MODEL), "loss": {"type": "dln.loss_dif"}})
    register("trainer", "finetune", "lle_dln.finetune:FinetuneTrainer",
             example={"model": dict(_KIT_MODEL), "loss": {"type": "dln.loss_dif"}})
