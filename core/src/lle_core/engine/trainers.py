"""The two trainers core ships: supervised and unsupervised.

Both run the default step of :class:`lle_core.interfaces.Trainer`: the training context
is ``batch | model.forward_train(batch["low"])`` and the loss reads its inputs from it by key.
They differ only in what they require from the data: ``core.supervised`` needs ``high``
(ground-truth) images, ``core.unsupervised`` does not, so its losses may read only ``low`` and
the model outputs (no-reference losses such as exposure or colour-constancy terms).
"""

from __future__ import annotations

from typing import ClassVar

from torch import nn

from lle_core.interfaces import Trainer
from lle_core.registry import Capabilities, Params


class TrainerParams(Params):
    """The core trainers take no parameters."""


class SupervisedTrainer(Trainer):
    """Paired training: ``loss(batch | model.forward_train(low))`` with ``high`` available."""

    Params = TrainerParams
    summary = "Paired training: loss(batch | model.forward_train(low)), needs ground truth"

    needs_ground_truth: ClassVar[bool] = True

    def __init__(self, *, model: nn.Module, loss: nn.Module | None = None) -> None:
        """Args: model: the enhancer; loss: returns ``(total, logs)`` from a context."""
        super().__init__(model=model, loss=loss)


class UnsupervisedTrainer(SupervisedTrainer):
    """Unpaired training: the same step; batches carry only ``low`` (no ground truth)."""

    summary = "Unpaired training: same step, losses read only 'low' and the model outputs"
    default_capabilities = Capabilities(needs_ground_truth=False)

    needs_ground_truth: ClassVar[bool] = False
