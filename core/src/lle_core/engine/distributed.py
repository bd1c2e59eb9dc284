"""Multi-process training under ``torchrun`` (DistributedDataParallel).

``torchrun --nproc_per_node N -m lle_core.cli.main train ...`` (or any script calling
:func:`lle_core.engine.train`) sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; the engine then
joins the process group (NCCL on CUDA, gloo on the CPU), shards the data, wraps the trainer's
modules in ``DistributedDataParallel`` and logs/checkpoints on rank 0 only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist
from torch import nn


@dataclass
class DistContext:
    """Where this process stands in a (possibly single-process) run.

    Attributes:
        rank: Global rank.
        world_size: Number of processes.
        local_rank: Rank on this machine (selects the CUDA device).
        device: Device this process trains on.
        owns_group: Whether this context initialised the process group (and destroys it).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that logs and writes checkpoints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """More than one process."""
        return self.world_size > 1

    @classmethod
    def setup(cls, device: str = "auto") -> DistContext:
        """Read the torchrun environment, join the process group and pick the device."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if dist.is_available() and dist.is_initialized():
            world = dist.get_world_size()
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        dev = pick_device(device, local_rank)
        if world <= 1:
            return cls(device=dev)
        owns = False
        if not dist.is_initialized():
            backend = "nccl" if dev.type == "cuda" else "gloo"
            if dev.type == "cuda":
                torch.cuda.set_device(dev)
            dist.init_process_group(backend=backend)
            owns = True
        return cls(dist.get_rank(), dist.get_world_size(), local_rank, dev, owns)

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` on every process (picklable objects)."""
        if not self.distributed:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, value: Any) -> list[Any]:
        """Every process' ``value`` (picklable), in rank order."""
        if not self.distributed:
            return [value]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, value)
        return out

    def any_flag(self, flag: bool) -> bool:
        """Whether ``flag`` is true on any process."""
        if not self.distributed:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def barrier(self) -> None:
        """Wait for every process."""
        if self.distributed:
            dist.barrier()

    def close(self) -> None:
        """Leave the process group if this context created it."""
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()


def pick_device(device: str, local_rank: int = 0) -> torch.device:
    """``auto``: ``cuda:<local_rank>`` when CUDA is available, else the CPU."""
    if device == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    if device == "cuda":
        return torch.device(f"cuda:{local_rank}")
    return torch.device(device)


class TrainerStep(nn.Module):
    """All modules of a trainer as one module whose ``forward`` is the trainer's training step.

    Wrapping this in ``DistributedDataParallel`` makes gradient synchronisation work for any
    trainer (it may call ``forward_train`` or several models), since DDP hooks the parameters
    of every module the step uses.
    """

    def __init__(self, trainer: Any) -> None:
        super().__init__()
        self.trainer = trainer
        self.parts = nn.ModuleDict(
            {name.replace(".", "_"): m for name, m in trainer.modules().items()}
        )

    def forward(self, batch: dict[str, Any]) -> tuple[Any, dict[str, float], dict[str, Any]]:
        """Run the trainer's step; returns ``(loss, logs, outputs)``."""
        result = self.trainer.training_step(batch)
        return result.loss, result.logs, result.outputs


def wrap_ddp(step: TrainerStep, ctx: DistContext) -> nn.Module:
    """``DistributedDataParallel`` around the step module (identity when single-process)."""
    if not ctx.distributed:
        return step
    from torch.nn.parallel import DistributedDataParallel

    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(step, device_ids=ids, find_unused_parameters=True)
