"""Stage 2 of the DLN recipe: supervised fine-tuning initialised from a stage-1 checkpoint.

The official code pretrains on synthetic VOC pairs, then "reloads the weights and switches the
dataset line" to fine-tune on LOL. The engine has no generic "initial weights" key,
so this trainer (``dln.finetune``) does it: it loads the inference weights of a checkpoint
(``.safetensors`` file or run folder) into the model *when the trainer is built*, i.e. before a
resume restores its own state (a resumed fine-tuning run therefore continues, it does not
restart from the pretrained weights). Otherwise it is the plain supervised trainer.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from torch import nn

from lle_core.errors import CheckpointError, ConfigError
from lle_core.interfaces import Trainer
from lle_core.registry import Params
from lle_dln import PAPER


class FinetuneParams(Params):
    """Parameters of ``dln.finetune``.

    Attributes:
        init: Checkpoint of the pretraining stage (``best``/``latest`` ``.safetensors`` or a
            run folder). ``None`` trains from scratch (with a warning).
    """

    init: str | None = None


def load_init_weights(model: nn.Module, path: str | Path, *, key: str = "trainer.init") -> None:
    """Load a checkpoint's inference weights into ``model`` (strict, clear errors).

    Raises:
        ConfigError: The checkpoint is missing, unreadable or does not fit ``model``; the
            message names ``key`` and the file.
    """
    from lle_core.checkpoint import load_weights, read_checkpoint
    from lle_core.errors import WeightsError

    try:
        tensors, _ = read_checkpoint(path)
        load_weights(model, tensors, source=str(path))
    except (CheckpointError, WeightsError) as err:
        raise ConfigError([(key, f"cannot initialise from {str(path)!r}: {err}")]) from None


class FinetuneTrainer(Trainer):
    """Supervised training whose model starts from the weights of a previous stage."""

    Params = FinetuneParams
    summary = "Supervised fine-tuning initialised from a pretraining checkpoint"
    paper = f"{PAPER}; code recipe: synthetic pretraining, then LOL fine-tuning"

    def __init__(self, *, model: nn.Module, loss: nn.Module | None = None,
                 init: str | None = None) -> None:
        """Build the trainer and load ``init`` into ``model``.

        Args:
            model: The enhancer to fine-tune.
            loss: The loss (the DLN recipe: 1 − SSIM + 0.001·TV).
            init: See :class:`FinetuneParams`.
        """
        super().__init__(model=model, loss=loss)
        self.init = init
        if init:
            load_init_weights(model, init)
        else:
            warnings.warn("dln.finetune without trainer.init trains from scratch; pass "
                          "--set trainer.init=<pretraining run>/best.safetensors",
                          stacklevel=2)
