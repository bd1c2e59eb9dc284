"""Several datasets as one (``core.mixed``): e.g. LOL pairs plus synthetic pairs of clean photos.

Items of part ``k`` follow those of parts ``0..k-1``; each part keeps its own length (use its
``repeat`` to weight it) and its own per-epoch randomness. All parts of a training mix must
yield images of one size per batch (give them the same ``crop``).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field

from lle_core.errors import DatasetError
from lle_core.interfaces import LLEDataset
from lle_core.registry import Params
from lle_core.spec import ComponentSpec, SpecOf, build_component


class MixedParams(Params):
    """Parameters of ``core.mixed``.

    Attributes:
        parts: Dataset specs (``{type: ..., ...}``), at least one.
    """

    parts: list[SpecOf("dataset")] = Field(min_length=1)  # type: ignore[valid-type]


class MixedDataset(LLEDataset):
    """The concatenation of its parts (``core.mixed``).

    Items: those of the parts, unchanged; paired only when every part is.
    """

    Params = MixedParams
    summary = "Several datasets as one (e.g. LOL pairs + synthetic pairs), in order"

    def __init__(
        self, parts: Sequence[str | Mapping[str, Any] | ComponentSpec | LLEDataset]
    ) -> None:
        """Build the parts.

        Raises:
            DatasetError: No parts, or a part that is empty.
        """
        if not parts:
            raise DatasetError("core.mixed: give at least one part")
        self.parts = [p if isinstance(p, LLEDataset) else build_component("dataset", p)
                      for p in parts]
        self.ends: list[int] = []
        total = 0
        for i, part in enumerate(self.parts):
            if len(part) == 0:
                raise DatasetError(f"core.mixed: part {i} ({type(part).__name__}) is empty")
            total += len(part)
            self.ends.append(total)
        self.paired = all(getattr(p, "paired", True) for p in self.parts)
        self.keys = tuple(k for k in self.parts[0].keys
                          if all(k in p.keys for p in self.parts))

    def __len__(self) -> int:
        """Sum of the parts' lengths."""
        return self.ends[-1]

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Item ``index`` of the concatenation (negative indices count from the end)."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        index %= len(self)
        k = bisect.bisect_right(self.ends, index)
        start = self.ends[k - 1] if k else 0
        return self.parts[k][index - start]

    def set_epoch(self, epoch: int) -> None:
        """Pass the epoch to every part."""
        for part in self.parts:
            part.set_epoch(epoch)
