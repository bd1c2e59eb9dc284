"""The training loop: one loop for every registered trainer, model, dataset and loss.

:func:`train` validates the run config, builds the session's parts
(:mod:`lle_core.engine.setup`), runs the trainer's steps until a budget (steps, epochs,
minutes) is reached, validates, logs and checkpoints, and can resume a run exactly
(:mod:`lle_core.engine.resume`: same final weights as an uninterrupted run).

Vocabulary: a *trainer* (registry kind ``trainer``, config key ``trainer:``) is a
:class:`lle_core.interfaces.Trainer` subclass, the component that turns a batch into a loss,
defined in a plugin's ``trainer.py`` (core's in :mod:`lle_core.engine.trainers`);
:class:`_TrainingLoop` below is the engine's session that runs it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from lle_core import checkpoint as ckpt
from lle_core.engine.config import RunConfig, load_run_config
from lle_core.engine.determinism import deterministic_mode, rng_state, set_rng_state
from lle_core.engine.distributed import DistContext
from lle_core.engine.interrupt import InterruptFlag
from lle_core.engine.logger import RunLogger
from lle_core.engine.precision import autocast
from lle_core.engine.resume import (
    Progress,
    best_checkpoint,
    repair_weights,
    resolve_resume,
    restore_training_state,
    training_state,
)
from lle_core.engine.run import (
    BEST,
    LATEST,
    Run,
    RunResult,
    budget_reached,
    default_out_dir,
    prepare_run_folder,
    refuse_existing_run,
    total_steps,
)
from lle_core.engine.setup import build_parts, epoch_loader, to_device
from lle_core.engine.training_loss import build_loss
from lle_core.engine.validate import validate
from lle_core.files import FolderLock
from lle_core.interfaces import StepResult

__all__ = ["Run", "RunResult", "build_loss", "train"]


def train(
    config: RunConfig | Mapping[str, Any] | str | Path,
    *,
    out_dir: str | Path | None = None,
    resume: str | Path | None = None,
    progress: bool = True,
) -> RunResult:
    """Train a model as described by a run config.

    Args:
        config: A :class:`RunConfig`, a mapping, a YAML/JSON file or ``"<plugin>:<recipe>"``.
        out_dir: Run directory (default: ``config.out``, else ``runs/<model>-<timestamp>``).
        resume: ``None`` (fresh run; refuses a directory that already holds a run),
            ``"auto"`` (continue from ``<out>/latest`` when it exists, else start fresh) or a
            checkpoint path / run directory to continue from.
        progress: Show progress on the console.

    Returns:
        A :class:`RunResult`.

    Raises:
        ConfigError: Invalid config, incompatible trainer/data, unsupported mixed precision.
        CheckpointError: Unreadable or mismatching checkpoint to resume from.
        FolderBusyError: Another process trains into the same run directory (the run
            directory is locked for the whole session, see :class:`lle_core.files.FolderLock`).

    A run that dies from an exception saves its last completed step as ``latest`` first
    (single process), so it can be continued with ``resume="auto"``.
    """
    cfg = config if isinstance(config, RunConfig) else load_run_config(config)
    ctx = DistContext.setup(cfg.train.device)
    try:
        out = Path(out_dir or cfg.out or ctx.broadcast(str(default_out_dir(cfg))))
        cfg = cfg.model_copy(update={"out": str(out)})
        with deterministic_mode(cfg.train.deterministic):
            return _TrainingLoop(cfg, out, ctx, progress).run(resume)
    finally:
        ctx.close()


class _TrainingLoop:
    """State of one training session (see :func:`train`)."""

    def __init__(self, cfg: RunConfig, out: Path, ctx: DistContext, progress: bool) -> None:
        self.cfg = cfg
        self.out = out
        self.ctx = ctx
        self.show_progress = progress
        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        self.elapsed_before = 0.0
        self.best: float | None = None
        self.best_path: Path | None = None
        self.latest_path: Path | None = None
        self.last_val_step = -1
        self.last_ckpt_step = -1
        self.interrupt = InterruptFlag()
        self._rng_states: list[dict[str, Any]] = []
        self._dirty = False  # between optimizer.step() and the end of that step's bookkeeping
        self._clean_rng: dict[str, Any] | None = None  # RNG after the last completed step

    # -- building and resuming -------------------------------------------------------------
    def _build(self) -> None:
        self.parts = parts = build_parts(self.cfg, self.ctx)
        self.trainer = parts.trainer
        self.optimizer, self.scheduler = parts.optimizer, parts.scheduler
        self.train_set, self.val_set = parts.train_set, parts.val_set
        self.steps_per_epoch = parts.steps_per_epoch

    def _restore(self, path: Path) -> None:
        restored, state = restore_training_state(path, self.cfg, self.parts, self.ctx)
        self.step, self.epoch = restored.step, restored.epoch
        self.batch_in_epoch = restored.batch_in_epoch
        self.elapsed_before = restored.elapsed
        if restored.best is not None:
            self.best = restored.best
        self.best_path = best_checkpoint(self.out)
        if self.ctx.is_main:
            repair_weights(path, int(state["step"]), self._export_model(), self._export_spec())

    def _state(self) -> dict[str, Any]:
        here = Progress(self.step, self.epoch, self.batch_in_epoch, self._elapsed(), self.best)
        return training_state(self.cfg, self.parts, here, self._rng_states, self.ctx.world_size)

    # -- pieces of the loop ----------------------------------------------------------------
    def _elapsed(self) -> float:
        return self.elapsed_before + (time.monotonic() - self.t0)

    def _export_model(self) -> nn.Module:
        ema = self.parts.ema
        return ema.module if ema is not None else self.trainer.inference_model()

    def _export_spec(self) -> Any:
        """Spec recorded with exported weights: the inference model's own, else the config's."""
        spec = getattr(self.trainer.inference_model(), "lle_spec", None)
        return spec if spec is not None else self.cfg.model_spec

    def _autocast(self) -> Any:
        return autocast(self.ctx.device, self.parts.amp_dtype)

    def _loader(self) -> DataLoader[Any]:
        return epoch_loader(self.cfg, self.parts, self.epoch, self.batch_in_epoch, self.ctx.device)

    def _train_step(self, batch: dict[str, Any]) -> tuple[dict[str, float], Any]:
        scaler, ema = self.parts.scaler, self.parts.ema
        self.trainer.train(True)
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            loss, logs, outputs = self.parts.step_module(batch)
        if not torch.isfinite(loss.detach()).all():
            raise FloatingPointError(
                f"non-finite loss {float(loss)} at step {self.step + 1} (terms: {logs}); "
                "lower optim.lr, set train.grad_clip, or disable train.amp"
            )
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        if self.cfg.train.grad_clip is not None:
            params = [p for g in self.optimizer.param_groups for p in g["params"]]
            norm = torch.nn.utils.clip_grad_norm_(params, self.cfg.train.grad_clip)
            logs = {**logs, "grad_norm": float(norm)}
        self._dirty = True
        if scaler is not None:
            scaler.step(self.optimizer)
            scaler.update()
        else:
            self.optimizer.step()
        if self.cfg.schedule.interval == "step":
            self.scheduler.step()
        if ema is not None:
            ema.update(self.trainer.inference_model())
        result = StepResult(loss.detach(), logs, outputs)
        return {"loss": float(loss.detach()), **logs}, result

    def _end_epoch(self) -> None:
        self.trainer.on_epoch_end(self.epoch)
        self.epoch += 1
        self.batch_in_epoch = 0
        if self.cfg.schedule.interval == "epoch":
            self.scheduler.step()

    def _validate(self) -> None:
        self.last_val_step = self.step
        if self.val_set is None or not self.ctx.is_main:
            return
        # Validation must not move the training RNG streams: a resumed run validates at other
        # steps (at the end of each session) than an uninterrupted one.
        saved = rng_state()
        try:
            self._run_validation()
        finally:
            set_rng_state(saved)

    def _run_validation(self) -> None:
        loss_fn = None
        if self.cfg.train.best_metric == "loss":

            def loss_fn(batch: dict[str, Tensor]) -> Tensor:
                return self.trainer.training_step(batch).loss

        metrics = validate(
            self._export_model(),
            self.val_set,
            device=self.ctx.device,
            max_images=self.cfg.data.val_max_images,
            loss_fn=loss_fn,
            autocast=self._autocast if self.parts.amp_dtype is not None else None,
        )
        self.logger.validation(self.step, self.epoch, metrics)
        key = self.cfg.train.best_metric
        value = metrics.get(key)
        if value is None:
            return
        better = self.best is None or (value < self.best if key == "loss" else value > self.best)
        if better:
            self.best = value
            self.best_path = ckpt.save_checkpoint(
                self.out, BEST, model=self._export_model(), model_spec=self._export_spec(),
                step=self.step,
            )
            self.logger.info(f"new best {key}={value:.4f} at step {self.step}: {self.best_path}")

    def _save_latest(self, rng: dict[str, Any] | None = None) -> None:
        self.last_ckpt_step = self.step
        # every rank's generators (``rng``: this single process' state after its last step)
        self._rng_states = [rng] if rng is not None else self.ctx.gather(rng_state())
        if not self.ctx.is_main:
            return
        self.latest_path = ckpt.save_checkpoint(
            self.out, LATEST, model=self._export_model(), model_spec=self._export_spec(),
            step=self.step, state=self._state(),
        )

    def _budget_reached(self, *, clock: bool = True) -> str | None:
        return budget_reached(
            self.cfg.budget, self.step, self.epoch,
            elapsed=self._elapsed if clock else None, any_flag=self.ctx.any_flag,
        )

    def _save_after_failure(self) -> None:
        """A run dying from an exception keeps its last completed step as ``latest``.

        Only when that state is exact (the exception came before the optimizer step or
        after the step's bookkeeping) and in a single process (no collective is possible).
        """
        if self._dirty or self._clean_rng is None or self.ctx.world_size != 1:
            return
        if self.step <= self.last_ckpt_step:
            return
        try:
            self._save_latest(rng=self._clean_rng)
        except Exception as err:  # e.g. the disk is full: the original error matters more
            self.logger.info(f"the run failed and latest could not be saved either: {err}")
            return
        self.logger.info(
            f"the run failed after step {self.step}; saved {self.latest_path}: fix the cause "
            "and continue with --resume auto (resume='auto')"
        )

    def _stop_if_interrupted(self) -> None:
        if not self.ctx.any_flag(self.interrupt.raised):
            return
        self._save_latest()
        self.logger.info(
            f"interrupted at step {self.step}: saved {self.latest_path}; continue with "
            "--resume auto (resume='auto')"
        )
        raise KeyboardInterrupt(f"training interrupted at step {self.step} (latest saved)")

    # -- the session -----------------------------------------------------------------------
    def run(self, resume: str | Path | None) -> RunResult:
        """Hold the run folder's lock (rank 0) for the whole session; see :meth:`_run`."""
        lock = FolderLock(self.out, what="lle train run") if self.ctx.is_main else None
        if lock is not None:
            lock.acquire()
        try:
            return self._run(resume)
        finally:
            if lock is not None:
                lock.release()

    def _run(self, resume: str | Path | None) -> RunResult:
        cfg, ctx = self.cfg, self.ctx
        state_path = resolve_resume(resume, self.out)
        if state_path is None and resume is None:
            refuse_existing_run(self.out)
        self.t0 = time.monotonic()
        self._build()
        if state_path is not None:
            self._restore(state_path)
        else:
            torch.manual_seed(cfg.train.seed + ctx.rank)
        self.t0 = time.monotonic()
        if ctx.is_main:
            prepare_run_folder(self.out, cfg)
        self.logger = RunLogger(
            self.out,
            enabled=ctx.is_main,
            progress=self.show_progress,
            total_steps=total_steps(cfg.budget, self.steps_per_epoch),
            start_step=self.step,
        )
        try:
            with self.interrupt.catch():
                return self._loop(state_path)
        except Exception:
            self._save_after_failure()
            raise
        finally:
            self.logger.close()

    def _loop(self, state_path: Path | None) -> RunResult:
        cfg, ctx = self.cfg, self.ctx
        log = self.logger
        head = f"resuming {state_path} at step {self.step}" if state_path else "run"
        log.info(
            f"{head} -> {self.out} | model {cfg.model_spec.name}, trainer {cfg.trainer.name}, "
            f"{len(self.train_set)} training items, {self.steps_per_epoch} steps/epoch, "
            f"batch {cfg.data.batch_size} x {ctx.world_size} process(es), device {ctx.device}"
        )
        run = Run(
            cfg, self.out, ctx.device, self.step, self.epoch, self.optimizer, self.scheduler,
            ctx.rank, ctx.world_size, self.steps_per_epoch, log,
        )
        self.trainer.on_train_start(run)
        stopped = self._budget_reached(clock=False)  # a resumed run may already be complete
        while stopped is None:
            consumed = 0
            for batch in self._loader():
                consumed += 1
                logs, result = self._train_step(
                    to_device(batch, ctx.device, channels_last=self.cfg.train.channels_last))
                self.step += 1
                self.batch_in_epoch += 1
                self.trainer.on_step_end(self.step, result)
                lr = float(self.optimizer.param_groups[0]["lr"])
                log.step(self.step, self.epoch, logs, lr,
                         write=self.step % cfg.train.log_every == 0 or self.step == 1)
                if self.batch_in_epoch >= self.steps_per_epoch:
                    self._end_epoch()
                self._dirty, self._clean_rng = False, rng_state()
                if cfg.train.val_every and self.step % cfg.train.val_every == 0:
                    self._validate()
                if cfg.train.ckpt_every and self.step % cfg.train.ckpt_every == 0:
                    self._save_latest()
                run.step, run.epoch = self.step, self.epoch
                self._stop_if_interrupted()
                stopped = self._budget_reached()
                if stopped is not None:
                    break
            if consumed == 0:
                raise RuntimeError(
                    f"epoch {self.epoch} yielded no batch (resumed at batch {self.batch_in_epoch} "
                    f"of {self.steps_per_epoch}); the training set changed since the checkpoint?"
                )
        if self.last_val_step != self.step:
            self._validate()
        if self.last_ckpt_step != self.step:
            self._save_latest()
        run.step, run.epoch = self.step, self.epoch
        self.trainer.on_train_end(run)
        log.info(
            f"stopped by the {stopped} budget at step {self.step} (epoch {self.epoch}); "
            f"latest: {self.latest_path}"
            + (f"; best {cfg.train.best_metric}={self.best:.4f}: {self.best_path}"
               if self.best is not None else "")
        )
        # every process returns rank 0's view (only rank 0 validates and writes checkpoints)
        self.best, self.best_path = ctx.broadcast((self.best, self.best_path))
        return RunResult(
            out_dir=self.out,
            steps=self.step,
            epochs=self.epoch,
            best_metric=self.best,
            best_checkpoint=self.best_path,
            latest_checkpoint=self.out / f"{LATEST}{ckpt.WEIGHTS_SUFFIX}",
            history=list(log.history),
            stopped_by=stopped,
        )
