"""Paired evaluation data: a folder with ``low/`` and ``high/``, a dataset, or tensors."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import Tensor

from lle_core.errors import DatasetError


@dataclass(frozen=True)
class Pair:
    """One evaluation item.

    Attributes:
        name: Image name (file name in ``low/``).
        low: ``(3, H, W)`` in ``[0, 1]``, or the path to read it from.
        high: ``(3, H', W')`` in ``[0, 1]`` (``H' = scale·H``), or its path.
    """

    name: str
    low: Tensor | Path
    high: Tensor | Path

    def describe(self) -> str:
        """The pair for messages: its files (``low/x.png vs high/x.png``) or its name."""
        if isinstance(self.low, Path) or isinstance(self.high, Path):
            low = self.low if isinstance(self.low, Path) else f"{self.name} (low)"
            high = self.high if isinstance(self.high, Path) else f"{self.name} (high)"
            return f"{low} vs {high}"
        return f"item {self.name}"

    def load(self) -> tuple[Tensor, Tensor]:
        """``(low, high)`` as tensors (files are read now)."""
        from lle_core.io import read_image

        low = read_image(self.low) if isinstance(self.low, Path) else self.low
        high = read_image(self.high) if isinstance(self.high, Path) else self.high
        return low, high


def folder_pairs(root: str | Path) -> list[Pair]:
    """Pairs of ``root/low/<name>`` and ``root/high/<name>``.

    Files are matched by exact file name first, then by stem (``low/1.png`` with
    ``high/1.jpg``).

    Raises:
        DatasetError: Missing ``low``/``high`` folder, an empty folder, or a low image
            without a partner (the message names it).
    """
    from lle_core.io import list_images

    base = Path(root)
    low_dir, high_dir = base / "low", base / "high"
    for d in (low_dir, high_dir):
        if not d.is_dir():
            raise DatasetError(
                f"{base} is not a paired dataset folder: {d.name}/ is missing (expected "
                f"{base}/low/ and {base}/high/ with matching file names)"
            )
    lows = list_images(low_dir)
    if not lows:
        raise DatasetError(f"no images in {low_dir}")
    highs = list_images(high_dir)
    by_name = {p.name: p for p in highs}
    by_stem: dict[str, Path] = {}
    for p in highs:
        by_stem.setdefault(p.stem, p)
    pairs = []
    for low in lows:
        high = by_name.get(low.name) or by_stem.get(low.stem)
        if high is None:
            raise DatasetError(f"{low} has no ground truth in {high_dir} (same name or stem)")
        pairs.append(Pair(low.name, low, high))
    return pairs


def as_pairs(data: Any) -> Sequence[Pair] | Iterator[Pair]:
    """Normalise evaluation data to pairs.

    Args:
        data: A paired folder (``str``/``Path``), a dataset / sequence of items
            ``{"low", "high", "name"}``, or a sequence of ``(low, high)`` tensor tuples.

    Raises:
        DatasetError: Items without ground truth.
    """
    if isinstance(data, str | Path):
        return folder_pairs(data)
    return _iter_items(data)


def _iter_items(data: Any) -> Iterator[Pair]:
    for i in range(len(data)):
        item = data[i]
        if isinstance(item, Pair):
            yield item
        elif isinstance(item, tuple | list) and len(item) == 2:
            yield Pair(f"{i:04d}", item[0], item[1])
        elif isinstance(item, dict):
            if "high" not in item:
                raise DatasetError(
                    f"evaluation needs ground truth but item {i} ({item.get('name', '?')}) has "
                    "no 'high' image: use a paired dataset"
                )
            yield Pair(str(item.get("name", f"{i:04d}")), item["low"], item["high"])
        else:
            raise DatasetError(
                f"cannot evaluate item {i} of type {type(item).__name__}: expected a dict with "
                "'low'/'high' or a (low, high) tuple"
            )
