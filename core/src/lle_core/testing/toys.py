"""Tiny components for engine tests, docs and debugging (not registered by default).

:func:`toy_components` registers, for the duration of a ``with`` block, a two-layer residual
CNN (``toy.cnn``), an in-memory synthetic paired/unpaired dataset (``toy.pairs``) and two L1
terms (``toy.l1``, and ``toy.low_l1`` which needs no ground truth), so engine tests need no image
files and do not depend on the models and losses of the rest of lle.

Example:
    >>> with toy_components():  # doctest: +SKIP
    ...     train({"model": "toy.cnn", "loss": "toy.l1", "data": {"train": "toy.pairs"},
    ...            "budget": {"steps": 3}})
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np
import torch
from pydantic import Field
from torch import Tensor, nn

from lle_core.interfaces import Enhancer, LLEDataset, LossParams, LossTerm
from lle_core.registry import Capabilities, Entry, Params, registries


class ToyCNNParams(Params):
    """Parameters of :class:`ToyCNN`."""

    width: int = Field(4, ge=1)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    aux_head: bool = False
    multiple_of: int = Field(4, ge=1)


class ToyCNN(Enhancer):
    """``clamp(low + conv(relu(conv(low))), 0, 1)``: ``(B, 3, H, W)`` -> ``(B, 3, H, W)``.

    With ``aux_head`` a training-only 1×1 head (prefix ``aux.``) adds ``"aux"`` to the
    training outputs; ``dropout`` makes steps consume the global RNG (for resume tests).
    """

    default_capabilities: ClassVar[Capabilities] = Capabilities(
        multiple_of=4, dtypes=("float32", "bfloat16"), receptive_field=2
    )
    training_only_prefixes: ClassVar[tuple[str, ...]] = ("aux.",)

    def __init__(
        self, *, width: int = 4, dropout: float = 0.0, aux_head: bool = False, multiple_of: int = 4
    ) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, width, 3, padding=1)
        self.drop = nn.Dropout(dropout)
        self.tail = nn.Conv2d(width, 3, 3, padding=1)
        self.aux = nn.Conv2d(width, 3, 1) if aux_head else None
        self._multiple_of = multiple_of

    @property
    def capabilities(self) -> Capabilities:
        """Declared capabilities (``multiple_of`` from the parameters)."""
        return self.default_capabilities.model_copy(update={"multiple_of": self._multiple_of})

    def _features(self, low: Tensor) -> Tensor:
        return self.drop(torch.relu(self.head(low)))

    def forward(self, low: Tensor) -> Tensor:
        """Enhance ``(B, 3, H, W)`` in ``[0, 1]``."""
        if low.shape[-1] % self._multiple_of or low.shape[-2] % self._multiple_of:
            raise ValueError(f"ToyCNN needs sizes that are multiples of {self._multiple_of}")
        return (low + self.tail(self._features(low))).clamp(0.0, 1.0)

    def forward_train(self, low: Tensor) -> dict[str, Tensor]:
        """``{"pred"}`` plus ``{"aux"}`` with the auxiliary head."""
        feats = self._features(low)
        out = {"pred": (low + self.tail(feats)).clamp(0.0, 1.0)}
        if self.aux is not None:
            out["aux"] = torch.sigmoid(self.aux(feats))
        return out


def make_pair(index: int, size: int = 16, seed: int = 0) -> tuple[Tensor, Tensor]:
    """A smooth synthetic clean image and its darkened version (``(3, size, size)`` each)."""
    rng = np.random.default_rng(seed * 100_003 + index)
    yy, xx = np.meshgrid(np.linspace(0, 1, size), np.linspace(0, 1, size), indexing="ij")
    phase = rng.uniform(0, 2 * np.pi, size=3)
    freq = rng.uniform(1, 4, size=3)
    chans = [0.5 + 0.4 * np.sin(freq[c] * (xx + yy) * np.pi + phase[c]) for c in range(3)]
    high = torch.from_numpy(np.stack(chans).astype(np.float32))
    low = (0.25 * high**1.5).clamp(0, 1)
    return low, high


class ToyPairsParams(Params):
    """Parameters of :class:`ToyPairs`."""

    count: int = Field(6, ge=1)
    size: int = Field(16, ge=1)
    paired: bool = True
    flip: bool = False
    seed: int = 0


class ToyPairs(LLEDataset):
    """``count`` synthetic pairs.

    ``flip`` draws a random horizontal flip from the global torch RNG (to exercise RNG
    restoration on resume).
    """

    def __init__(
        self, *, count: int = 6, size: int = 16, paired: bool = True, flip: bool = False,
        seed: int = 0,
    ) -> None:
        self.items = [make_pair(i, size, seed) for i in range(count)]
        self.paired = paired
        self.flip = flip

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        low, high = self.items[index]
        if self.flip and bool(torch.rand(()) < 0.5):
            low, high = low.flip(-1), high.flip(-1)
        item: dict[str, Any] = {"low": low, "name": f"toy{index:03d}"}
        if self.paired:
            item["high"] = high
        return item


class ToyL1(LossTerm):
    """Mean absolute error ``mean |pred − target|``."""

    def compute(self, pred: Tensor, target: Tensor) -> Tensor:  # type: ignore[override]
        """Scalar L1 between two ``(B, 3, H, W)`` tensors."""
        return (pred - target).abs().mean()


class ToyLowL1(LossTerm):
    """No-reference stand-in: ``mean |pred − 2·low|`` (reads only ``pred`` and ``low``)."""

    inputs: ClassVar[tuple[str, ...]] = ("pred", "low")

    def compute(self, pred: Tensor, low: Tensor) -> Tensor:  # type: ignore[override]
        """Scalar distance to a brightened input."""
        return (pred - (2 * low).clamp(0, 1)).abs().mean()


def toy_entries() -> list[Entry]:
    """Registry entries of the toy components (plugin ``toy``)."""
    common: dict[str, Any] = {"plugin": "toy", "distribution": "lle-core", "version": "test"}
    return [
        Entry("model", "toy.cnn", ToyCNN, ToyCNNParams, "tiny residual CNN",
              capabilities=ToyCNN.default_capabilities, **common),
        Entry("dataset", "toy.pairs", ToyPairs, ToyPairsParams, "synthetic pairs", **common),
        Entry("loss", "toy.l1", ToyL1, LossParams, "L1", **common),
        Entry("loss", "toy.low_l1", ToyLowL1, LossParams, "no-reference L1", **common),
    ]


@contextmanager
def toy_components() -> Iterator[None]:
    """Register the toy components for the duration of the block."""
    regs = registries()
    with regs.temporary():
        for entry in toy_entries():
            regs.add(entry)
        yield


def register_toys() -> None:
    """Register the toy components for the rest of the process (subprocess tests)."""
    regs = registries()
    for entry in toy_entries():
        if entry.name not in regs[entry.kind].names():
            regs.add(entry)
