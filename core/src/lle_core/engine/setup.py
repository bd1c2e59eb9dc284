"""Everything a training session is built from, in the order that keeps runs reproducible.

:func:`build_parts` seeds the generators, then builds model, loss, datasets, trainer, optimizer,
scheduler, gradient scaler, EMA, the (DDP-wrapped) step and the epoch sampler. The order is
part of the behaviour: each build may draw random numbers (initial weights, dataset crops), so
changing it changes every run's result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from lle_core.engine.config import RunConfig
from lle_core.engine.data_checks import check_ground_truth
from lle_core.engine.determinism import seed_everything, seed_worker
from lle_core.engine.distributed import DistContext, TrainerStep, wrap_ddp
from lle_core.engine.ema import ModelEMA
from lle_core.engine.optim import build_optimizer, build_scheduler
from lle_core.engine.precision import autocast_dtype
from lle_core.engine.sampling import EpochSampler
from lle_core.engine.training_loss import build_loss
from lle_core.errors import ConfigError
from lle_core.interfaces import Trainer


@dataclass
class TrainingParts:
    """The built pieces of one training session.

    Attributes:
        trainer: The trainer (a :class:`Trainer`) holding model and loss.
        train_set: Training dataset (items ``{"low", "high"?, "name"}``).
        val_set: Validation dataset or ``None``.
        optimizer: Over ``trainer.parameters()``.
        scheduler: Learning-rate scheduler (stepped per ``schedule.interval``).
        scaler: Gradient scaler for float16 autocast, else ``None``.
        ema: Exponential moving average of the inference model, or ``None``.
        step_module: The trainer's step, wrapped in DistributedDataParallel when distributed.
        sampler: Shards and shuffles the training set per epoch.
        amp_dtype: Autocast dtype, or ``None`` (fp32).
        drop_last: Whether incomplete last batches are dropped (the shard holds a full batch).
        steps_per_epoch: Optimizer steps per epoch on each process.
    """

    trainer: Trainer
    train_set: Any
    val_set: Any | None
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: torch.amp.GradScaler | None
    ema: ModelEMA | None
    step_module: nn.Module
    sampler: EpochSampler
    amp_dtype: torch.dtype | None
    drop_last: bool
    steps_per_epoch: int


def build_parts(cfg: RunConfig, ctx: DistContext) -> TrainingParts:
    """Build a session's parts from a validated run config (see the module docstring).

    Raises:
        ConfigError: Empty training set, data without the ground truth the trainer/loss/metric
            reads, or mixed precision the model does not declare.
    """
    device = ctx.device
    seed_everything(cfg.train.seed)
    model = cfg.model_spec.build()
    amp_dtype = autocast_dtype(cfg, model, device)
    loss = build_loss(cfg.loss)
    train_set = cfg.data.train.build()
    val_set = cfg.data.val.build() if cfg.data.val is not None else None
    if len(train_set) == 0:
        raise ConfigError([("data.train", "the training set is empty")])
    trainer = cfg.trainer.build(model=model, loss=loss)
    check_ground_truth(cfg, trainer, loss, train_set, val_set)
    memory_format = torch.channels_last if cfg.train.channels_last else torch.preserve_format
    for module in trainer.modules().values():
        module.to(device, memory_format=memory_format)
    optimizer = build_optimizer(trainer.parameters(), cfg.optim)
    scheduler = build_scheduler(optimizer, cfg.schedule, cfg.budget)
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None
    ema = ModelEMA(trainer.inference_model(), cfg.train.ema) if cfg.train.ema else None
    step_module = wrap_ddp(TrainerStep(trainer), ctx)
    sampler = EpochSampler(
        train_set, seed=cfg.train.seed, shuffle=True, rank=ctx.rank, world_size=ctx.world_size
    )
    bs = cfg.data.batch_size
    drop_last = sampler.shard_size >= bs
    shard = sampler.shard_size
    steps_per_epoch = shard // bs if drop_last else math.ceil(shard / bs)
    return TrainingParts(
        trainer=trainer, train_set=train_set, val_set=val_set, optimizer=optimizer,
        scheduler=scheduler, scaler=scaler, ema=ema, step_module=step_module, sampler=sampler,
        amp_dtype=amp_dtype, drop_last=drop_last, steps_per_epoch=steps_per_epoch,
    )


def epoch_loader(
    cfg: RunConfig, parts: TrainingParts, epoch: int, start_batch: int, device: torch.device
) -> DataLoader[Any]:
    """The training loader of one epoch, starting at batch ``start_batch`` (resume).

    A dedicated generator: creating the loader must not draw from the global RNG (that would
    make a resumed run diverge), and worker seeds depend only on the seed and the epoch.
    """
    bs = cfg.data.batch_size
    parts.sampler.set_epoch(epoch, start=start_batch * bs)
    if hasattr(parts.train_set, "set_epoch"):
        parts.train_set.set_epoch(epoch)
    gen = torch.Generator().manual_seed(cfg.train.seed * 7919 + epoch)
    return DataLoader(
        parts.train_set,
        batch_size=bs,
        sampler=parts.sampler,
        drop_last=parts.drop_last,
        num_workers=cfg.data.num_workers,
        generator=gen,
        worker_init_fn=seed_worker,
        pin_memory=device.type == "cuda",
    )


def to_device(batch: Any, device: torch.device, *, channels_last: bool = False) -> Any:
    """Move the tensors of a (nested) batch to ``device``; other values stay as they are.

    With ``channels_last`` the 4-D tensors are stored channels-last (values unchanged).
    """
    if isinstance(batch, Tensor):
        if channels_last and batch.dim() == 4:
            return batch.to(device, non_blocking=True, memory_format=torch.channels_last)
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: to_device(v, device, channels_last=channels_last) for k, v in batch.items()}
    if isinstance(batch, list | tuple):
        return type(batch)(to_device(v, device, channels_last=channels_last) for v in batch)
    return batch
