"""Reproducible, resumable, shardable data order.

The order of epoch ``e`` is a permutation drawn from a generator seeded with ``seed + e`` (the
same on every process), padded by wrapping around to a multiple of the world size and split
across processes by stride (``indices[rank::world_size]``), as ``DistributedSampler`` does. A
resumed run skips the batches of the current epoch it already consumed, so its data order is the
one an uninterrupted run sees.
"""

from __future__ import annotations

from collections.abc import Iterator, Sized

import torch
from torch.utils.data import Sampler


class EpochSampler(Sampler[int]):
    """Indices of one epoch for one process.

    Args:
        dataset: Anything with ``len()``.
        seed: Base seed of the order.
        shuffle: Permute (training) or keep the dataset order.
        rank: This process' index in ``[0, world_size)``.
        world_size: Number of processes.
    """

    def __init__(
        self, dataset: Sized, *, seed: int, shuffle: bool = True, rank: int = 0, world_size: int = 1
    ) -> None:
        self.size = len(dataset)
        self.seed = seed
        self.shuffle = shuffle
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self.start = 0

    @property
    def shard_size(self) -> int:
        """Items per process per epoch (the dataset padded to a multiple of the world size)."""
        return -(-self.size // self.world_size)

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Select the epoch and the number of leading items of this shard to skip."""
        self.epoch = epoch
        self.start = start

    def shard(self) -> list[int]:
        """All indices of this process for the current epoch."""
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.size, generator=g).tolist()
        else:
            order = list(range(self.size))
        total = self.shard_size * self.world_size
        while len(order) < total:
            order += order[: total - len(order)]
        return order[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[int]:
        return iter(self.shard()[self.start :])

    def __len__(self) -> int:
        return max(0, self.shard_size - self.start)
