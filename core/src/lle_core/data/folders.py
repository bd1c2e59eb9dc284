"""Folder datasets: paired ``low/`` + ``high/`` (LOL layout) and unpaired low-light images.

Randomness (crop position, flips, rotation) comes from torch: with ``seed=None`` the global
torch RNG, which ``DataLoader`` seeds differently in every worker; with an integer ``seed`` a
generator seeded from ``(seed, epoch, index)``, so an item's augmentation is reproducible
whatever the number of workers and changes with :meth:`set_epoch`.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

import torch
from pydantic import Field

from lle_core.data.augment import PairedAugment
from lle_core.errors import DatasetError, ImageReadError
from lle_core.interfaces import LLEDataset
from lle_core.io import is_image_file, list_images, read_image
from lle_core.registry import Params

_MAX_LISTED = 5


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_MAX_LISTED])
    return shown + (f" (and {len(names) - _MAX_LISTED} more)" if len(names) > _MAX_LISTED else "")


def _images_in(folder: Path, role: str) -> list[Path]:
    try:
        files = list_images(folder)
    except ImageReadError:
        raise DatasetError(f"{role} folder not found: {folder}") from None
    if not files:
        raise DatasetError(f"{role} folder {folder} contains no images")
    return files


def _by_stem(files: list[Path], folder: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for f in files:
        if f.stem in out:
            raise DatasetError(
                f"two images with the same name stem {f.stem!r} in {folder}: "
                f"{out[f.stem].name} and {f.name}"
            )
        out[f.stem] = f
    return out


def _mix_seed(seed: int, epoch: int, index: int) -> int:
    return (seed * 1_000_003 + epoch * 7_919_957 + index * 104_729) % (2**63 - 1)


class _FolderBase(LLEDataset):
    def __init__(
        self,
        *,
        crop: int | None,
        flip: bool,
        rot90: bool,
        repeat: int,
        seed: int | None,
    ) -> None:
        if repeat < 1:
            raise ValueError(f"repeat must be >= 1, got {repeat}")
        self.augment = PairedAugment(crop=crop, flip=flip, rot90=rot90)
        self.repeat = repeat
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Change the augmentation draws of seeded datasets for a new epoch."""
        self.epoch = int(epoch)

    def _generator(self, index: int) -> torch.Generator | None:
        if self.seed is None:
            return None
        return torch.Generator().manual_seed(_mix_seed(self.seed, self.epoch, index))

    def _source_count(self) -> int:
        """Number of distinct items (pairs or files) before ``repeat``."""
        raise NotImplementedError

    def __len__(self) -> int:
        return self._source_count() * self.repeat

    def _item_index(self, index: int) -> int:
        """Check ``index`` (negative allowed) and return it in ``[0, len)``."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        return index % len(self)


class _FolderParams(Params):
    """Root, augmentation and epoch options shared by the folder datasets (see subclasses)."""

    root: str
    crop: int | None = Field(None, ge=1)
    flip: bool = False
    rot90: bool = False
    repeat: int = Field(1, ge=1)
    seed: int | None = None


class PairedFolderParams(_FolderParams):
    """Parameters of ``core.paired_folder``.

    Attributes:
        root: Folder holding ``low_dir`` and ``high_dir``.
        low_dir: Subfolder of low-light inputs.
        high_dir: Subfolder of ground truths; files are matched to ``low_dir`` by name stem
            (``1.png`` pairs with ``1.jpg``).
        crop: Random aligned crop side (``None``: full images).
        flip: Random horizontal/vertical flips.
        rot90: Random 90° rotations (square crops; 180° only for non-square images).
        repeat: Virtual epoch length multiplier (``len = repeat · pairs``).
        seed: ``None`` uses torch's global RNG; an int makes augmentations reproducible.
    """

    low_dir: str = "low"
    high_dir: str = "high"


class PairedFolderDataset(_FolderBase):
    """Paired low/normal-light images in the LOL layout (``core.paired_folder``).

    Items: ``{"low": (3, h, w), "high": (3, h, w), "name": stem}``, float32 in ``[0, 1]``.

    Raises:
        DatasetError: Missing or empty folder, an image without partner, duplicate stems
            (at construction); low/high size mismatch or a crop larger than the image (when
            the item is loaded). Messages name the files.
    """

    paired = True
    keys = ("low", "high", "name")

    def __init__(
        self,
        root: str | Path,
        low_dir: str = "low",
        high_dir: str = "high",
        crop: int | None = None,
        flip: bool = False,
        rot90: bool = False,
        repeat: int = 1,
        seed: int | None = None,
    ) -> None:
        """See :class:`PairedFolderParams`."""
        super().__init__(crop=crop, flip=flip, rot90=rot90, repeat=repeat, seed=seed)
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(
                f"paired dataset root not found: {self.root} (expected {low_dir}/ and "
                f"{high_dir}/ subfolders)"
            )
        low_folder, high_folder = self.root / low_dir, self.root / high_dir
        low = _by_stem(_images_in(low_folder, "low-light"), low_folder)
        high = _by_stem(_images_in(high_folder, "ground-truth"), high_folder)
        no_high = sorted(low[s].name for s in low.keys() - high.keys())
        no_low = sorted(high[s].name for s in high.keys() - low.keys())
        if no_high or no_low:
            parts = []
            if no_high:
                parts.append(f"in {low_folder} without a partner in {high_folder}: "
                             f"{_listing(no_high)}")
            if no_low:
                parts.append(f"in {high_folder} without a partner in {low_folder}: "
                             f"{_listing(no_low)}")
            raise DatasetError("unmatched images " + "; ".join(parts))
        self.pairs: list[tuple[str, Path, Path]] = [(s, low[s], high[s]) for s in sorted(low)]

    def _source_count(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Load, check and augment one pair."""
        index = self._item_index(index)
        stem, low_path, high_path = self.pairs[index % len(self.pairs)]
        low, high = read_image(low_path), read_image(high_path)
        if low.shape != high.shape:
            raise DatasetError(
                f"size mismatch: {low_path} is {low.shape[1]}×{low.shape[2]} but {high_path} "
                f"is {high.shape[1]}×{high.shape[2]}"
            )
        low, high = self.augment([low, high], generator=self._generator(index),
                                 name=f"{low_path}, {high_path}")
        return {"low": low, "high": high, "name": stem}


class UnpairedFolderParams(_FolderParams):
    """Parameters of ``core.unpaired_folder``.

    Attributes:
        root: Folder of low-light images, or a glob pattern (``data/*/low/*.png``).
        crop: Random crop side (``None``: full images).
        flip: Random horizontal/vertical flips.
        rot90: Random 90° rotations.
        repeat: Virtual epoch length multiplier.
        seed: ``None`` uses torch's global RNG; an int makes augmentations reproducible.
    """


class UnpairedFolderDataset(_FolderBase):
    """Low-light images without ground truth (``core.unpaired_folder``).

    Items: ``{"low": (3, h, w), "name": stem}``, float32 in ``[0, 1]``.
    """

    paired = False
    keys = ("low", "name")

    def __init__(
        self,
        root: str | Path,
        crop: int | None = None,
        flip: bool = False,
        rot90: bool = False,
        repeat: int = 1,
        seed: int | None = None,
    ) -> None:
        """See :class:`UnpairedFolderParams`."""
        super().__init__(crop=crop, flip=flip, rot90=rot90, repeat=repeat, seed=seed)
        pattern = str(root)
        if any(c in pattern for c in "*?["):
            self.files = sorted(
                Path(p) for p in glob.glob(pattern, recursive=True)
                if Path(p).is_file() and is_image_file(p)
            )
            if not self.files:
                raise DatasetError(f"no images match the pattern {pattern}")
        else:
            self.files = _images_in(Path(pattern), "low-light")

    def _source_count(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Load and augment one image."""
        index = self._item_index(index)
        path = self.files[index % len(self.files)]
        (low,) = self.augment([read_image(path)], generator=self._generator(index),
                              name=str(path))
        return {"low": low, "name": path.stem}
