"""``auxnet.staged``: AuxNet's no-reference trainer (paper Sec. 2.3, Eq. 4).

The model unrolls its T weight-shared stages (:meth:`AuxNet.forward_train`); the loss (in the
paper recipe ``0.8·L_f + 0.65·L_s + 0.5·L_v``) reads only the low-light input and the stage
tensors. Ground truth is never used: batches may come from a low-only folder
(``core.unpaired_folder``) or from a paired folder, whose ``high`` images are dropped from the
training context so that no term can read them by accident.
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import nn

from lle_auxnet import PAPER
from lle_core.errors import ConfigError
from lle_core.interfaces import LossTerm, StepResult, Trainer
from lle_core.registry import Capabilities, Params


class StagedParams(Params):
    """``auxnet.staged`` takes no parameters (T is the model's ``stages``)."""


class StagedTrainer(Trainer):
    """Weight-shared cascade with training-only auxiliary blocks; one stage is exported.

    Built with runtime ``model=`` (an enhancer with ``forward_train``, normally
    ``auxnet.model``) and ``loss=`` (a no-reference loss: terms that read ``high`` are refused).
    """

    Params = StagedParams
    summary = "No-reference weight-shared cascade; low-light images only, one stage exported"
    paper = f"{PAPER}, Sec. 2.3, Eq. 4"
    default_capabilities = Capabilities(needs_ground_truth=False)

    needs_ground_truth: ClassVar[bool] = False

    def __init__(self, *, model: nn.Module, loss: nn.Module | None = None) -> None:
        """Args: model: the enhancer; loss: the composite no-reference loss."""
        super().__init__(model=model, loss=loss)
        if not callable(getattr(model, "forward_train", None)):
            raise ConfigError(
                [("model", f"auxnet.staged needs a model with forward_train(), got "
                           f"{type(model).__name__}")]
            )
        if loss is None:
            raise ConfigError(
                [("loss", "auxnet.staged needs a loss, e.g. the paper's composite "
                          "(lle train --config auxnet:paper)")]
            )
        needing_gt = [
            m.term_name for m in loss.modules() if isinstance(m, LossTerm) and m.needs_ground_truth
        ]
        if needing_gt:
            raise ConfigError(
                [("loss", f"auxnet.staged trains without ground truth but the loss terms "
                          f"{needing_gt} read 'high'; map their keys to model outputs")]
            )

    def training_step(self, batch: dict[str, Any]) -> StepResult:
        """``context = (batch without high) | model.forward_train(low)``, then the loss."""
        outputs = self.model.forward_train(batch["low"])  # type: ignore[operator]
        context = {k: v for k, v in batch.items() if k != "high"}
        context.update(outputs)
        return self.compute_loss(context, outputs)
