"""Plugin hook of lle-auxnet: registers AuxNet's model, losses and trainer.

Each class describes itself (parameters, summary, paper, capabilities); this module only names
them, as lazy ``"module:Class"`` paths, so loading the plugin imports no torch.
"""

from __future__ import annotations

from lle_core.hookspecs import RegisterFn, hookimpl

LLE_PLUGIN_API = 1

#: Small model and loss of the conformance examples (no VGG download needed).
_EXAMPLE_MODEL = {"stages": 2, "calibrator_width": 4, "calibrator_repeats": 1}
_EXAMPLE_LOSS = {
    "type": "core.composite",
    "terms": [
        {"type": "auxnet.fidelity", "weight": 0.8},
        {"type": "auxnet.smoothness", "weight": 0.65},
    ],
}


@hookimpl
def lle_register(register: RegisterFn) -> None:
    """Register the model, the two losses and the trainer."""
    register("model", "model", "lle_auxnet.model:AuxNet", example=dict(_EXAMPLE_MODEL))
    register("loss", "fidelity", "lle_auxnet.losses:StageFidelityLoss")
    register("loss", "smoothness", "lle_auxnet.losses:StageSmoothnessLoss")
    register("trainer", "staged", "lle_auxnet.trainer:StagedTrainer",
             example={"model": {"type": "auxnet.model", **_EXAMPLE_MODEL}, "loss": _EXAMPLE_LOSS})
