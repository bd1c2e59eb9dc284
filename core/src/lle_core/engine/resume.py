"""Saving and restoring the exact training state (a resumed run ends as an uninterrupted one).

``latest.state.pt`` holds every module, optimizer, scheduler, scaler and EMA state, the
counters (step, epoch, batch within the epoch, elapsed time), the best validation value and
every process' RNG states; ``latest.safetensors`` holds the exported weights of the same step.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lle_core import checkpoint as ckpt
from lle_core.engine.config import RunConfig
from lle_core.engine.determinism import set_rng_state
from lle_core.engine.distributed import DistContext
from lle_core.engine.ema import ModelEMA
from lle_core.engine.run import BEST, LATEST
from lle_core.engine.setup import TrainingParts
from lle_core.errors import CheckpointError


def resolve_resume(resume: str | Path | None, out_dir: Path) -> Path | None:
    """The state file to resume from (``"auto"``: ``<out>/latest`` if present).

    Args:
        resume: ``None``, ``"auto"``, a run directory, a weights file or a state file.
        out_dir: The run directory.

    Raises:
        CheckpointError: An explicit ``resume`` names no existing state file.
    """
    if resume is None:
        return None
    if str(resume) == "auto":
        state = out_dir / f"{LATEST}{ckpt.STATE_SUFFIX}"
        return state if state.is_file() else None
    p = Path(resume)
    if p.is_dir():
        p = p / f"{LATEST}{ckpt.STATE_SUFFIX}"
    elif p.name.endswith(ckpt.WEIGHTS_SUFFIX):
        p = p.with_name(p.name[: -len(ckpt.WEIGHTS_SUFFIX)] + ckpt.STATE_SUFFIX)
    elif not p.name.endswith(ckpt.STATE_SUFFIX):
        p = p.with_name(p.name + ckpt.STATE_SUFFIX)
    if not p.is_file():
        raise CheckpointError(f"cannot resume: training state not found: {p}")
    return p


@dataclass
class Progress:
    """Where a run stands; saved with every ``latest`` and restored on resume.

    Attributes:
        step: Optimizer steps done.
        epoch: Completed epochs.
        batch_in_epoch: Batches of the current epoch already trained on.
        elapsed: Training seconds of earlier sessions (``minutes`` budget).
        best: Best ``train.best_metric`` value so far, or ``None``.
    """

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    elapsed: float = 0.0
    best: float | None = None


def training_state(
    cfg: RunConfig,
    parts: TrainingParts,
    progress: Progress,
    rng_per_rank: list[dict[str, Any]],
    world_size: int,
) -> dict[str, Any]:
    """The state written to ``latest.state.pt`` (``progress.elapsed``: seconds so far)."""
    return {
        "format": ckpt.STATE_FORMAT,
        "step": progress.step,
        "epoch": progress.epoch,
        "batch_in_epoch": progress.batch_in_epoch,
        "elapsed": progress.elapsed,
        "modules": {k: m.state_dict() for k, m in parts.trainer.modules().items()},
        "optimizer": parts.optimizer.state_dict(),
        "scheduler": parts.scheduler.state_dict(),
        "scaler": parts.scaler.state_dict() if parts.scaler is not None else None,
        "ema": parts.ema.state_dict() if parts.ema is not None else None,
        "rng": rng_per_rank[0],
        "rng_per_rank": rng_per_rank,
        "config": cfg.to_dict(),
        "extra": parts.trainer.extra_state(),
        "best": {"metric": cfg.train.best_metric, "value": progress.best},
        "world_size": world_size,
    }


def restore_training_state(
    path: Path, cfg: RunConfig, parts: TrainingParts, ctx: DistContext
) -> tuple[Progress, dict[str, Any]]:
    """Load a state file into ``parts`` and this process' generators.

    The EMA is restarted from the current weights when the state has none. A run resumed with
    another number of processes keeps the data order exact but not the RNG streams of ranks
    other than 0.

    Returns:
        The restored progress and the raw state (for :func:`repair_weights`).

    Raises:
        CheckpointError: The state was trained with another model or holds other modules.
    """
    state = ckpt.load_state(path)
    saved_model = state.get("config", {}).get("model")
    if saved_model != cfg.to_dict()["model"]:
        raise CheckpointError(
            f"cannot resume from {path}: it was trained with model {saved_model}, the "
            f"config asks for {cfg.to_dict()['model']}"
        )
    modules = parts.trainer.modules()
    if set(state["modules"]) != set(modules):
        raise CheckpointError(
            f"cannot resume from {path}: it holds modules {sorted(state['modules'])}, the "
            f"trainer has {sorted(modules)}"
        )
    for name, module in modules.items():
        ckpt.load_weights(module, state["modules"][name], source=f"{path} [{name}]")
    parts.optimizer.load_state_dict(state["optimizer"])
    parts.scheduler.load_state_dict(state["scheduler"])
    if parts.scaler is not None and state.get("scaler"):
        parts.scaler.load_state_dict(state["scaler"])
    if parts.ema is not None:
        if state.get("ema") is None:
            parts.ema = ModelEMA(parts.trainer.inference_model(), cfg.train.ema or 0.999)
        else:
            parts.ema.load_state_dict(state["ema"])
    parts.trainer.load_extra_state(state.get("extra") or {})
    best = state.get("best") or {}
    progress = Progress(
        step=int(state["step"]),
        epoch=int(state["epoch"]),
        batch_in_epoch=int(state["batch_in_epoch"]),
        elapsed=float(state.get("elapsed", 0.0)),
        best=best.get("value") if best.get("metric") == cfg.train.best_metric else None,
    )
    per_rank = state.get("rng_per_rank") or [state["rng"]]
    if len(per_rank) == ctx.world_size:
        set_rng_state(per_rank[ctx.rank])
    else:  # resumed with another number of processes: data order stays exact, RNG not
        set_rng_state(per_rank[0])
        if ctx.rank != 0:
            torch.manual_seed(cfg.train.seed + progress.step * 1009 + ctx.rank)
    return progress, state


def best_checkpoint(out: Path) -> Path | None:
    """``<out>/best.safetensors`` if it exists."""
    best_file = out / f"{BEST}{ckpt.WEIGHTS_SUFFIX}"
    return best_file if best_file.is_file() else None


def repair_weights(state_path: Path, step: int, model: nn.Module, model_spec: Any) -> None:
    """A crash between the state and the weights write leaves older weights: rewrite them.

    Args:
        state_path: The ``*.state.pt`` file resumed from.
        step: Its step; the sibling ``*.safetensors`` must record the same.
        model: The exported model (EMA or inference model) of that step.
        model_spec: The spec recorded with the weights.
    """
    weights = state_path.with_name(
        state_path.name[: -len(ckpt.STATE_SUFFIX)] + ckpt.WEIGHTS_SUFFIX
    )
    if ckpt.weights_step(weights) != step:
        ckpt.save_weights(weights, model, model_spec=model_spec, step=step)
