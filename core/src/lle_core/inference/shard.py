"""Splitting a run's files across the processes of a ``torchrun`` launch.

``torchrun`` (one machine or several) starts ``WORLD_SIZE`` processes and gives each its
``RANK``. :func:`~lle_core.inference.enhance_files` then enhances only the inputs of its rank:
every process expands the same inputs into the same sorted list and the same output names,
and process ``r`` takes items ``r, r + W, r + 2W, ...`` (interleaved, so large and small photos
spread evenly). The shards are disjoint and cover the list: each output is written once, by
one process. No process group is needed for the split itself (``lle enhance`` joins one only
to print one summary from rank 0).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from lle_core.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    """This process' part of a run: ``rank`` of ``world_size`` (``0`` of ``1``: everything).

    Raises:
        ConfigError: ``world_size < 1`` or ``rank`` outside ``[0, world_size)``.
    """

    rank: int = 0
    world_size: int = 1

    def __post_init__(self) -> None:
        if self.world_size < 1 or not 0 <= self.rank < self.world_size:
            raise ConfigError([("RANK/WORLD_SIZE", f"rank {self.rank} of {self.world_size} "
                                "processes: need 0 <= RANK < WORLD_SIZE")])

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that reports for the whole run."""
        return self.rank == 0

    def take(self, items: Sequence[T]) -> list[T]:
        """Items ``rank, rank + world_size, ...`` of ``items`` (all of them for one process)."""
        return list(items[self.rank::self.world_size])


def current_shard() -> Shard:
    """This process' shard (``Shard()`` outside a launch).

    The initialised ``torch.distributed`` group's rank and size, else ``RANK`` and
    ``WORLD_SIZE`` from the environment (set by ``torchrun``).

    Raises:
        ConfigError: ``RANK`` or ``WORLD_SIZE`` is not an integer, or out of range.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return Shard(dist.get_rank(), dist.get_world_size())
    values = {}
    for key, default in (("RANK", "0"), ("WORLD_SIZE", "1")):
        raw = os.environ.get(key, default)
        try:
            values[key] = int(raw)
        except ValueError:
            raise ConfigError([(key, f"expected an integer, got {raw!r}")]) from None
    return Shard(values["RANK"], values["WORLD_SIZE"])


__all__ = ["Shard", "current_shard"]
