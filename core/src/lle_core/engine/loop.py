"""The training loop: one loop for every registered scheme, model, dataset and loss.

:func:`train` validates the run config, builds everything from it, runs the scheme's steps
until a budget (steps, epochs, minutes) is reached, validates, logs and checkpoints, and can
resume a run exactly (same final weights as an uninterrupted run).
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from lle_core.engine import checkpoint as ckpt
from lle_core.engine.config import RunConfig, load_run_config
from lle_core.engine.distributed import DistContext, SchemeStep, wrap_ddp
from lle_core.engine.ema import ModelEMA
from lle_core.engine.logger import RunLogger
from lle_core.engine.optim import build_optimizer, build_scheduler
from lle_core.engine.sampling import EpochSampler
from lle_core.engine.validate import model_capabilities, validate
from lle_core.errors import CheckpointError, ConfigError
from lle_core.files import FolderLock
from lle_core.interfaces import LossTerm, StepResult

LATEST = "latest"
BEST = "best"


@dataclass
class RunResult:
    """What :func:`train` returns.

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


@dataclass
class Run:
    """The live run handed to the scheme's ``on_train_start`` / ``on_train_end`` hooks.

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


# ------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------


class _SingleTerm(nn.Module):
    """Makes a single loss term behave like a composite: ``context -> (total, logs)``."""

    def __init__(self, term: LossTerm) -> None:
        super().__init__()
        self.term = term

    def forward(self, context: Mapping[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        """``(weight · term(context), {"l_<name>": term(context)})``."""
        value = self.term.from_context(context)
        weight = float(getattr(self.term, "weight", 1.0))
        name = getattr(self.term, "term_name", "loss")
        return value * weight, {f"l_{name}": value.detach()}

    @property
    def needs_ground_truth(self) -> bool:
        return bool(getattr(self.term, "needs_ground_truth", False))


def build_loss(spec: Any) -> nn.Module | None:
    """Build the loss; a single term is wrapped so that it returns ``(total, logs)``."""
    if spec is None:
        return None
    loss = spec.build()
    composite = type(loss).__name__ == "CompositeLoss" or hasattr(loss, "terms")
    if isinstance(loss, LossTerm) and not composite:
        return _SingleTerm(loss)
    return loss


def _loss_needs_gt(loss: nn.Module | None) -> bool:
    if loss is None:
        return False
    flag = getattr(loss, "needs_ground_truth", None)
    if isinstance(flag, bool):
        return flag
    terms = getattr(loss, "terms", None)
    if terms is not None:
        return any(bool(getattr(t, "needs_ground_truth", False)) for t in terms)
    return False


def _dataset_paired(dataset: Any) -> bool:
    flag = getattr(dataset, "paired", None)
    if isinstance(flag, bool):
        return flag
    return len(dataset) > 0 and "high" in dataset[0]


def seed_everything(seed: int) -> None:
    """Seed python's, numpy's and torch's global generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """Global RNG states as tensors and plain data (weights-only loadable)."""
    version, internal, gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state: dict[str, Any] = {
        "python": {"version": version, "state": list(internal), "gauss": gauss},
        "numpy": {
            "name": str(np_name),
            "keys": torch.from_numpy(np.asarray(np_keys, dtype=np.int64)),
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "gauss": float(np_gauss),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore :func:`rng_state`."""
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    n = state["numpy"]
    np.random.set_state(
        (n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"])
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


@contextlib.contextmanager
def deterministic_mode(enabled: bool) -> Iterator[None]:
    """``torch.use_deterministic_algorithms(True)`` and deterministic cuDNN inside the block.

    The previous settings are restored afterwards.
    """
    if not enabled:
        yield
        return
    prev_alg = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    prev_cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=False)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev_alg, warn_only=prev_warn)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = prev_cudnn


def _amp(cfg: RunConfig, model: nn.Module, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or ``None``; refuses mixed precision the model does not support."""
    if not cfg.train.amp:
        return None
    dtypes = model_capabilities(model).dtypes
    # bf16 needs no loss scaling: used on the CPU and on GPUs that support it (Ampere+).
    bf16_gpu = device.type == "cuda" and torch.cuda.is_bf16_supported()
    wanted = "float16" if device.type == "cuda" and not bf16_gpu else "bfloat16"
    if wanted not in dtypes:
        raise ConfigError(
            [(
                "train.amp",
                f"mixed precision on {device.type} uses {wanted}, but model "
                f"{cfg.model_spec.name} declares only {list(dtypes)} in capabilities.dtypes; "
                "set train.amp: false",
            )]
        )
    return torch.float16 if wanted == "float16" else torch.bfloat16


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, list | tuple):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


def _seed_worker(worker_id: int) -> None:
    seed = torch.initial_seed() % 2**32
    random.seed(seed)
    np.random.seed(seed)


def default_out_dir(cfg: RunConfig) -> Path:
    """``runs/<model short name>-<UTC timestamp>`` under the current directory."""
    short = cfg.model_spec.name.split(".", 1)[-1]
    return Path("runs") / f"{short}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"


def resolve_resume(resume: str | Path | None, out_dir: Path) -> Path | None:
    """The state file to resume from (``"auto"``: ``<out>/latest`` if present)."""
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


# ------------------------------------------------------------------------------------------
# The loop
# ------------------------------------------------------------------------------------------


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
        ConfigError: Invalid config, incompatible scheme/data, unsupported mixed precision.
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
            return _Trainer(cfg, out, ctx, progress).run(resume)
    finally:
        ctx.close()


class _Trainer:
    """State of one training session (see :func:`train`)."""

    def __init__(self, cfg: RunConfig, out: Path, ctx: DistContext, progress: bool) -> None:
        self.cfg = cfg
        self.out = out
        self.ctx = ctx
        self.progress = progress
        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        self.elapsed_before = 0.0
        self.best: float | None = None
        self.best_path: Path | None = None
        self.latest_path: Path | None = None
        self.last_val_step = -1
        self.last_ckpt_step = -1
        self._rng_states: list[dict[str, Any]] = []
        self._dirty = False  # between optimizer.step() and the end of that step's bookkeeping
        self._clean_rng: dict[str, Any] | None = None  # RNG after the last completed step

    # -- building --------------------------------------------------------------------------
    def _build(self) -> None:
        cfg, device = self.cfg, self.ctx.device
        seed_everything(cfg.train.seed)
        model = cfg.model_spec.build()
        self.amp_dtype = _amp(cfg, model, device)
        loss = build_loss(cfg.loss)
        self.train_set = cfg.data.train.build()
        self.val_set = cfg.data.val.build() if cfg.data.val is not None else None
        if len(self.train_set) == 0:
            raise ConfigError([("data.train", "the training set is empty")])
        self.scheme = cfg.trainer.build(model=model, loss=loss)
        self._check_ground_truth(loss)
        for module in self.scheme.modules().values():
            module.to(device)
        self.optimizer = build_optimizer(self.scheme.parameters(), cfg.optim)
        self.scheduler = build_scheduler(self.optimizer, cfg.schedule, cfg.budget)
        use_scaler = self.amp_dtype == torch.float16
        self.scaler = torch.amp.GradScaler("cuda") if use_scaler else None
        inference = self.scheme.inference_model()
        self.ema = ModelEMA(inference, cfg.train.ema) if cfg.train.ema else None
        self.step_module = wrap_ddp(SchemeStep(self.scheme), self.ctx)
        self.sampler = EpochSampler(
            self.train_set,
            seed=cfg.train.seed,
            shuffle=True,
            rank=self.ctx.rank,
            world_size=self.ctx.world_size,
        )
        bs = cfg.data.batch_size
        self.drop_last = self.sampler.shard_size >= bs
        shard = self.sampler.shard_size
        self.steps_per_epoch = shard // bs if self.drop_last else math.ceil(shard / bs)

    def _check_ground_truth(self, loss: nn.Module | None) -> None:
        cfg = self.cfg
        problems = []
        datasets = [("data.train", self.train_set)]
        if self.val_set is not None:
            datasets.append(("data.val", self.val_set))
        for key, ds in datasets:
            if _dataset_paired(ds):
                continue
            name = getattr(getattr(ds, "lle_spec", None), "name", type(ds).__name__)
            if key == "data.train" and getattr(self.scheme, "needs_ground_truth", True):
                problems.append((
                    "trainer",
                    f"{cfg.trainer.name} trains on paired images (needs 'high' ground truth) "
                    f"but {key} ({name}) yields only low-light images; use a paired dataset "
                    "or an unpaired scheme such as core.unsupervised",
                ))
            if key == "data.train" and _loss_needs_gt(loss):
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

    # -- state -----------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {
            "format": ckpt.STATE_FORMAT,
            "step": self.step,
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "elapsed": self._elapsed(),
            "modules": {k: m.state_dict() for k, m in self.scheme.modules().items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "rng": self._rng_states[0],
            "rng_per_rank": self._rng_states,
            "config": self.cfg.to_dict(),
            "extra": self.scheme.extra_state(),
            "best": {"metric": self.cfg.train.best_metric, "value": self.best},
            "world_size": self.ctx.world_size,
        }

    def _restore(self, path: Path) -> None:
        state = ckpt.load_state(path)
        saved_model = state.get("config", {}).get("model")
        if saved_model != self.cfg.to_dict()["model"]:
            raise CheckpointError(
                f"cannot resume from {path}: it was trained with model {saved_model}, the "
                f"config asks for {self.cfg.to_dict()['model']}"
            )
        modules = self.scheme.modules()
        if set(state["modules"]) != set(modules):
            raise CheckpointError(
                f"cannot resume from {path}: it holds modules {sorted(state['modules'])}, the "
                f"scheme has {sorted(modules)}"
            )
        for name, module in modules.items():
            ckpt.load_weights(module, state["modules"][name], source=f"{path} [{name}]")
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        if self.ema is not None:
            if state.get("ema") is None:
                self.ema = ModelEMA(self.scheme.inference_model(), self.cfg.train.ema or 0.999)
            else:
                self.ema.load_state_dict(state["ema"])
        self.scheme.load_extra_state(state.get("extra") or {})
        self.step = int(state["step"])
        self.epoch = int(state["epoch"])
        self.batch_in_epoch = int(state["batch_in_epoch"])
        self.elapsed_before = float(state.get("elapsed", 0.0))
        best = state.get("best") or {}
        if best.get("metric") == self.cfg.train.best_metric:
            self.best = best.get("value")
        best_file = self.out / f"{BEST}{ckpt.WEIGHTS_SUFFIX}"
        self.best_path = best_file if best_file.is_file() else None
        per_rank = state.get("rng_per_rank") or [state["rng"]]
        if len(per_rank) == self.ctx.world_size:
            set_rng_state(per_rank[self.ctx.rank])
        else:  # resumed with another number of processes: data order stays exact, RNG not
            set_rng_state(per_rank[0])
            if self.ctx.rank != 0:
                torch.manual_seed(self.cfg.train.seed + self.step * 1009 + self.ctx.rank)
        if self.ctx.is_main:
            self._repair_weights(path, state)

    def _repair_weights(self, state_path: Path, state: dict[str, Any]) -> None:
        """A crash between the state and the weights write leaves older weights: rewrite them."""
        weights = state_path.with_name(
            state_path.name[: -len(ckpt.STATE_SUFFIX)] + ckpt.WEIGHTS_SUFFIX
        )
        if ckpt.weights_step(weights) != int(state["step"]):
            ckpt.save_weights(
                weights, self._export_model(), model_spec=self._export_spec(), step=self.step
            )

    # -- pieces of the loop ----------------------------------------------------------------
    def _elapsed(self) -> float:
        return self.elapsed_before + (time.monotonic() - self.t0)

    def _export_model(self) -> nn.Module:
        return self.ema.module if self.ema is not None else self.scheme.inference_model()

    def _export_spec(self) -> Any:
        """Spec recorded with exported weights: the inference model's own, else the config's."""
        spec = getattr(self.scheme.inference_model(), "lle_spec", None)
        return spec if spec is not None else self.cfg.model_spec

    def _autocast(self) -> Any:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.ctx.device.type, dtype=self.amp_dtype)

    def _loader(self) -> DataLoader[Any]:
        bs = self.cfg.data.batch_size
        self.sampler.set_epoch(self.epoch, start=self.batch_in_epoch * bs)
        if hasattr(self.train_set, "set_epoch"):
            self.train_set.set_epoch(self.epoch)
        # A dedicated generator: creating the loader must not draw from the global RNG (that
        # would make a resumed run diverge), and worker seeds depend only on seed and epoch.
        gen = torch.Generator().manual_seed(self.cfg.train.seed * 7919 + self.epoch)
        return DataLoader(
            self.train_set,
            batch_size=bs,
            sampler=self.sampler,
            drop_last=self.drop_last,
            num_workers=self.cfg.data.num_workers,
            generator=gen,
            worker_init_fn=_seed_worker,
            pin_memory=self.ctx.device.type == "cuda",
        )

    def _train_step(self, batch: dict[str, Any]) -> tuple[dict[str, float], Any]:
        self.scheme.train(True)
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            loss, logs, outputs = self.step_module(batch)
        if not torch.isfinite(loss.detach()).all():
            raise FloatingPointError(
                f"non-finite loss {float(loss)} at step {self.step + 1} (terms: {logs}); "
                "lower optim.lr, set train.grad_clip, or disable train.amp"
            )
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        if self.cfg.train.grad_clip is not None:
            params = [p for g in self.optimizer.param_groups for p in g["params"]]
            norm = torch.nn.utils.clip_grad_norm_(params, self.cfg.train.grad_clip)
            logs = {**logs, "grad_norm": float(norm)}
        self._dirty = True
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        if self.cfg.schedule.interval == "step":
            self.scheduler.step()
        if self.ema is not None:
            self.ema.update(self.scheme.inference_model())
        result = StepResult(loss.detach(), logs, outputs)
        return {"loss": float(loss.detach()), **logs}, result

    def _end_epoch(self) -> None:
        self.scheme.on_epoch_end(self.epoch)
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
                return self.scheme.training_step(batch).loss

        metrics = validate(
            self._export_model(),
            self.val_set,
            device=self.ctx.device,
            max_images=self.cfg.data.val_max_images,
            loss_fn=loss_fn,
            autocast=self._autocast if self.amp_dtype is not None else None,
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
        budget = self.cfg.budget
        if budget.steps is not None and self.step >= budget.steps:
            return "steps"
        if budget.epochs is not None and self.epoch >= budget.epochs:
            return "epochs"
        if budget.minutes is not None and clock:
            over = self._elapsed() >= budget.minutes * 60.0
            if self.ctx.any_flag(over):  # every process stops at the same step
                return "minutes"
        return None

    def _total_steps(self) -> int | None:
        totals = []
        if self.cfg.budget.steps is not None:
            totals.append(self.cfg.budget.steps)
        if self.cfg.budget.epochs is not None:
            totals.append(self.cfg.budget.epochs * self.steps_per_epoch)
        return min(totals) if totals else None

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
        existing = self.out / f"{LATEST}{ckpt.STATE_SUFFIX}"
        if state_path is None and resume is None and existing.is_file():
            raise ConfigError([(
                "out",
                f"{self.out} already holds a run ({existing.name}); resume it with "
                "resume='auto' (lle train --resume auto) or choose another output directory",
            )])
        self.t0 = time.monotonic()
        self._build()
        if state_path is not None:
            self._restore(state_path)
        else:
            torch.manual_seed(cfg.train.seed + ctx.rank)
        self.t0 = time.monotonic()
        if ctx.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            ckpt.remove_stale_temporaries(self.out)
            ckpt.atomic_write(self.out / "config.yaml", cfg.to_yaml().encode("utf-8"))
        self.logger = RunLogger(
            self.out,
            enabled=ctx.is_main,
            progress=self.progress,
            total_steps=self._total_steps(),
            start_step=self.step,
        )
        try:
            with self._catch_interrupt():
                return self._loop(state_path)
        except Exception:
            self._save_after_failure()
            raise
        finally:
            self.logger.close()

    @contextlib.contextmanager
    def _catch_interrupt(self) -> Iterator[None]:
        """First Ctrl-C: finish the step, save ``latest``, then stop; a second one aborts."""
        self._interrupted = False
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.getsignal(signal.SIGINT)

        def handler(signum: int, frame: Any) -> None:
            if self._interrupted:
                raise KeyboardInterrupt
            self._interrupted = True

        signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _stop_if_interrupted(self) -> None:
        if not self.ctx.any_flag(self._interrupted):
            return
        self._save_latest()
        self.logger.info(
            f"interrupted at step {self.step}: saved {self.latest_path}; continue with "
            "--resume auto (resume='auto')"
        )
        raise KeyboardInterrupt(f"training interrupted at step {self.step} (latest saved)")

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
        self.scheme.on_train_start(run)
        stopped = self._budget_reached(clock=False)  # a resumed run may already be complete
        while stopped is None:
            consumed = 0
            for batch in self._loader():
                consumed += 1
                logs, result = self._train_step(_to_device(batch, ctx.device))
                self.step += 1
                self.batch_in_epoch += 1
                self.scheme.on_step_end(self.step, result)
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
        self.scheme.on_train_end(run)
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
