"""A run's record: its folder, its budget, what :func:`lle_core.engine.train` returns.

A run folder holds ``config.yaml``, ``metrics.jsonl``, ``train.log``, ``latest.safetensors``
(+ ``latest.state.pt``, the exact training state) and, with validation, ``best.safetensors``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from lle_core import checkpoint as ckpt
from lle_core.engine.config import BudgetConfig, RunConfig
from lle_core.engine.logger import RunLogger
from lle_core.errors import ConfigError

LATEST = "latest"
BEST = "best"


@dataclass
class RunResult:
    """What :func:`lle_core.engine.train` returns.

    Attributes:
        out_dir: The run directory.
        steps: Optimizer steps done in total (resumed sessions included).
        epochs: Completed epochs.
        best_metric: Best validation value of ``train.best_metric`` (``None`` without a val set).
        best_checkpoint: ``<out>/best.safetensors`` if written.
        latest_checkpoint: ``<out>/latest.safetensors``.
        history: Records of this session (one per logged step and per validation).
        stopped_by: The budget that ended the run: ``"steps"``, ``"epochs"`` or ``"minutes"``.
    """

    out_dir: Path
    steps: int
    epochs: int
    best_metric: float | None
    best_checkpoint: Path | None
    latest_checkpoint: Path | None
    history: list[dict[str, Any]] = field(default_factory=list)
    stopped_by: str = "steps"

    @property
    def checkpoint(self) -> Path:
        """The checkpoint this run means: its ``best``, else its ``latest``.

        lle's one rule for a run folder (:func:`lle_core.checkpoint.resolve_weights_path`).

        Raises:
            CheckpointError: The run wrote no checkpoint.
        """
        return ckpt.resolve_weights_path(self.out_dir)


@dataclass
class Run:
    """The live run handed to the trainer's ``on_train_start`` / ``on_train_end`` hooks.

    Attributes:
        config: The validated run config.
        out_dir: Run directory.
        device: Training device.
        step: Optimizer steps done so far.
        epoch: Current epoch (0-based).
        optimizer: The optimizer.
        scheduler: The learning-rate scheduler.
        rank: Process rank (0 logs and checkpoints).
        world_size: Number of processes.
        steps_per_epoch: Optimizer steps per epoch on each process.
        logger: The run's logger (rank 0 writes; use :meth:`log`).
    """

    config: RunConfig
    out_dir: Path
    device: torch.device
    step: int
    epoch: int
    optimizer: torch.optim.Optimizer
    scheduler: Any
    rank: int
    world_size: int
    steps_per_epoch: int
    logger: RunLogger

    def log(self, message: str) -> None:
        """Write a line to the run's log (rank 0 only)."""
        self.logger.info(message)


def default_out_dir(cfg: RunConfig) -> Path:
    """``runs/<model short name>-<UTC timestamp>`` under the current directory."""
    short = cfg.model_spec.name.split(".", 1)[-1]
    return Path("runs") / f"{short}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"


def refuse_existing_run(out: Path) -> None:
    """Refuse to start a fresh run in a folder that already holds one.

    Raises:
        ConfigError: ``<out>/latest.state.pt`` exists (resume it or choose another folder).
    """
    existing = out / f"{LATEST}{ckpt.STATE_SUFFIX}"
    if existing.is_file():
        raise ConfigError([(
            "out",
            f"{out} already holds a run ({existing.name}); resume it with "
            "resume='auto' (lle train --resume auto) or choose another output directory",
        )])


def prepare_run_folder(out: Path, cfg: RunConfig) -> None:
    """Create the folder, drop temporaries of an interrupted write, write ``config.yaml``."""
    out.mkdir(parents=True, exist_ok=True)
    ckpt.remove_stale_temporaries(out)
    ckpt.atomic_write(out / "config.yaml", cfg.to_yaml().encode("utf-8"))


def total_steps(budget: BudgetConfig, steps_per_epoch: int) -> int | None:
    """Steps the budget allows, from ``steps`` and ``epochs`` (``None``: time budget only)."""
    totals = []
    if budget.steps is not None:
        totals.append(budget.steps)
    if budget.epochs is not None:
        totals.append(budget.epochs * steps_per_epoch)
    return min(totals) if totals else None


def budget_reached(
    budget: BudgetConfig,
    step: int,
    epoch: int,
    *,
    elapsed: Callable[[], float] | None,
    any_flag: Callable[[bool], bool],
) -> str | None:
    """The budget that is spent (``"steps"``, ``"epochs"``, ``"minutes"``), else ``None``.

    Args:
        budget: The run's budget.
        step: Optimizer steps done.
        epoch: Completed epochs.
        elapsed: Training seconds so far; ``None`` skips the clock (checked before the first
            step of a resumed run).
        any_flag: Whether any process raises a flag (a collective: every process stops at
            the same step); called only for a ``minutes`` budget.
    """
    if budget.steps is not None and step >= budget.steps:
        return "steps"
    if budget.epochs is not None and epoch >= budget.epochs:
        return "epochs"
    if budget.minutes is None or elapsed is None:
        return None
    return "minutes" if any_flag(elapsed() >= budget.minutes * 60.0) else None
