"""Checks, before the first step, that the data carries what the trainer and the loss read.

A supervised trainer, a loss reading ``high`` or a PSNR/SSIM ``best_metric`` need paired images;
:func:`check_ground_truth` refuses the config otherwise, with one message per problem.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from lle_core.engine.config import RunConfig
from lle_core.engine.training_loss import loss_needs_ground_truth
from lle_core.errors import ConfigError


def dataset_is_paired(dataset: Any) -> bool:
    """Whether the items of a dataset carry a ``high`` (ground-truth) image.

    Read from the dataset's ``paired`` flag, else from its first item.
    """
    flag = getattr(dataset, "paired", None)
    if isinstance(flag, bool):
        return flag
    return len(dataset) > 0 and "high" in dataset[0]


def check_ground_truth(
    cfg: RunConfig, trainer: Any, loss: nn.Module | None, train_set: Any, val_set: Any | None
) -> None:
    """Refuse a run whose trainer, loss or best metric needs ground truth the data lacks.

    Raises:
        ConfigError: One entry per problem (``trainer``, ``loss``, ``train.best_metric``).
    """
    problems = []
    datasets = [("data.train", train_set)]
    if val_set is not None:
        datasets.append(("data.val", val_set))
    for key, ds in datasets:
        if dataset_is_paired(ds):
            continue
        name = getattr(getattr(ds, "lle_spec", None), "name", type(ds).__name__)
        if key == "data.train" and getattr(trainer, "needs_ground_truth", True):
            problems.append((
                "trainer",
                f"{cfg.trainer.name} trains on paired images (needs 'high' ground truth) "
                f"but {key} ({name}) yields only low-light images; use a paired dataset "
                "or an unpaired trainer such as core.unsupervised",
            ))
        if key == "data.train" and loss_needs_ground_truth(loss):
            problems.append((
                "loss",
                f"the loss reads the ground truth 'high' but {key} ({name}) is unpaired",
            ))
        if key == "data.val" and cfg.train.best_metric in ("psnr", "ssim"):
            problems.append((
                "train.best_metric",
                f"{cfg.train.best_metric} needs a paired validation set but data.val "
                f"({name}) has no ground truth; use best_metric: loss",
            ))
    if problems:
        raise ConfigError(problems)
