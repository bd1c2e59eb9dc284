"""Plugin hooks of lle-neid: registers every NEID component under ``neid.*``.

Each class describes itself (parameters, summary, paper, capabilities); this module only names
them, as lazy ``"module:Class"`` paths, so loading the plugin imports no torch.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from lle_core.hookspecs import RegisterFn, hookimpl

LLE_PLUGIN_API = 1

#: Narrow widths the conformance kit and the examples build the model with (5 levels, like
#: the paper, so the internal pad-to-16 is exercised).
SMALL_WIDTHS = [8, 8, 16, 16, 16]
#: The kit's NEID: reduction 2 gives every Feature Fusing MLP several hidden ReLU units at these
#: widths (with the paper's 16 a width-16 level has one, which starts dead with probability
#: 1/2 and then never gets a gradient).
KIT_MODEL = {"widths": SMALL_WIDTHS, "fusion": {"type": "neid.channel_ff", "reduction": 2}}


def paper_loss() -> dict[str, Any]:
    """The paper's loss (Eq. 7) as a ``core.composite`` spec, read from ``recipes/paper.yaml``.

    Huber on the LE output, 0.1 · MSE of the DR output vs its target, 0.1 · HSV colour loss;
    the recipe is the one place it is written.
    """
    import yaml

    text = resources.files("lle_neid").joinpath("recipes/paper.yaml").read_text("utf-8")
    loss: dict[str, Any] = yaml.safe_load(text)["loss"]
    return loss


@hookimpl
def lle_register(register: RegisterFn) -> None:
    """Register NEID's fusion, model, loss and trainer."""
    register("fusion", "channel_ff", "lle_neid.fusion:ChannelFeatureFusion")
    register("model", "model", "lle_neid.model:NEID", example=dict(KIT_MODEL))
    register("loss", "hsv_color", "lle_neid.losses:HSVColorLoss")
    register(
        "trainer",
        "two_stream",
        "lle_neid.trainer:TwoStreamTrainer",
        example={"model": {"type": "neid.model", **KIT_MODEL}, "loss": paper_loss()},
    )
