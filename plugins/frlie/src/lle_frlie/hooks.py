"""Plugin hook of lle-frlie: registers every FRLIE component (names under ``frlie.``).

Each class describes itself (parameters, summary, paper, capabilities); this module only names
them, as lazy ``"module:Class"`` paths, so loading the plugin imports no torch.
"""

from __future__ import annotations

from lle_core.hookspecs import RegisterFn, hookimpl

LLE_PLUGIN_API = 1

#: A narrow FRLIE for the conformance kit and tests (c = 4, one FRBlock).
TINY_MODEL: dict[str, object] = {
    "type": "frlie.model",
    "base_channels": 4,
    "num_blocks": 1,
    "context_channels": 4,
}


@hookimpl
def lle_register(register: RegisterFn) -> None:
    """Register the FRLIE model, losses and trainer."""
    register("model", "model", "lle_frlie.model:FRLIE",
             example={k: v for k, v in TINY_MODEL.items() if k != "type"})
    register("loss", "hue", "lle_frlie.losses:HueLoss")
    register("loss", "feature_matching", "lle_frlie.losses:FeatureMatchingLoss")
    register(
        "trainer",
        "two_stage",
        "lle_frlie.trainer:TwoStageTrainer",
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
