"""Folder datasets: paired ``low/`` + ``high/`` (LOL layout) and unpaired low-light images.

Randomness (crop position, flips, rotation) comes from torch: with ``seed=None`` the global
torch RNG, which ``DataLoader`` seeds differently in every worker; with an integer ``seed`` a
generator seeded from ``(seed, epoch, index)``, so an item's augmentation is reproducible
whatever the number of workers and changes with :meth:`set_epoch`.
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import Field
from torch import Tensor

from lle_core.data.augment import PairedAugment
from lle_core.errors import DatasetError, ImageReadError
from lle_core.interfaces import LLEDataset
from lle_core.io import is_image_file, list_images, read_image
from lle_core.registry import Params

_MAX_LISTED = 5


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_MAX_LISTED])
    return shown + (f" (and {len(names) - _MAX_LISTED} more)" if len(names) > _MAX_LISTED else "")


def images_in(folder: Path, role: str) -> list[Path]:
    """The image files of ``folder`` (sorted); ``role`` names the folder in errors.

    Raises:
        DatasetError: The folder is missing or holds no images.
    """
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


def _pairs_in(root: Path, low_dir: str, high_dir: str) -> list[tuple[str, Path, Path]]:
    """``(stem, low, high)`` for every pair under ``root``, sorted by stem.

    Raises:
        DatasetError: Missing root or subfolder, empty folder, duplicate stems, or images
            without a partner (the message lists them).
    """
    if not root.is_dir():
        raise DatasetError(
            f"paired dataset root not found: {root} (expected {low_dir}/ and "
            f"{high_dir}/ subfolders)"
        )
    low_folder, high_folder = root / low_dir, root / high_dir
    low = _by_stem(images_in(low_folder, "low-light"), low_folder)
    high = _by_stem(images_in(high_folder, "ground-truth"), high_folder)
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
    return [(s, low[s], high[s]) for s in sorted(low)]


def split_items(items: list[Any], holdout_every: int | None, part: str, where: object) -> list[Any]:
    """Split ``items`` for a held-out set.

    Every ``holdout_every``-th item (from the first) goes to ``part="holdout"``, the rest to
    ``"train"``; ``holdout_every=None`` keeps all items.
    """
    if holdout_every is None:
        return items
    if holdout_every < 2:
        raise ValueError(f"holdout_every must be >= 2, got {holdout_every}")
    if part not in ("train", "holdout"):
        raise ValueError(f"part must be 'train' or 'holdout', got {part!r}")
    picked = [x for i, x in enumerate(items) if (i % holdout_every == 0) == (part == "holdout")]
    if not picked:
        raise DatasetError(f"holdout_every={holdout_every} leaves no {part} items in {where}")
    return picked


def mix_seed(seed: int, epoch: int, index: int) -> int:
    """One 63-bit seed per ``(seed, epoch, index)``: an item's draws in an epoch."""
    return (seed * 1_000_003 + epoch * 7_919_957 + index * 104_729) % (2**63 - 1)


class FolderBase(LLEDataset):
    """Base of the folder datasets: augmentation, ``repeat``, per-item seeds, 8-bit cache."""

    def __init__(
        self,
        *,
        crop: int | None,
        flip: bool,
        rot90: bool,
        repeat: int,
        seed: int | None,
        scale: tuple[float, float] | None = None,
        cache: bool = False,
    ) -> None:
        if repeat < 1:
            raise ValueError(f"repeat must be >= 1, got {repeat}")
        self.augment = PairedAugment(crop=crop, flip=flip, rot90=rot90, scale=scale)
        self.repeat = repeat
        self.seed = seed
        self.epoch = 0
        self.cache = cache
        self._decoded: dict[Path, Tensor] = {}

    def _read(self, path: Path) -> Tensor:
        """``(3, H, W)`` float32 in ``[0, 1]``; decoded once and kept as uint8 when ``cache``.

        8-bit files round-trip exactly through the uint8 cache; deeper files are quantised to
        8 bits when cached (training data only, documented on the ``cache`` parameter).
        """
        if not self.cache:
            return read_image(path)
        stored = self._decoded.get(path)
        if stored is None:
            stored = (read_image(path) * 255.0).round_().to(torch.uint8)
            self._decoded[path] = stored
        return stored.float().div_(255.0)

    def set_epoch(self, epoch: int) -> None:
        """Change the augmentation draws of seeded datasets for a new epoch."""
        self.epoch = int(epoch)

    def _generator(self, index: int) -> torch.Generator | None:
        if self.seed is None:
            return None
        return torch.Generator().manual_seed(mix_seed(self.seed, self.epoch, index))

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


class FolderParams(Params):
    """Root, augmentation and epoch options shared by the folder datasets (see subclasses)."""

    root: str
    crop: int | None = Field(None, ge=1)
    flip: bool = False
    rot90: bool = False
    scale: tuple[float, float] | None = None
    repeat: int = Field(1, ge=1)
    seed: int | None = None
    cache: bool = False
    holdout_every: int | None = Field(None, ge=2)
    part: Literal["train", "holdout"] = "train"


class PairedFolderParams(FolderParams):
    """Parameters of ``core.paired_folder``.

    Attributes:
        root: Folder holding ``low_dir`` and ``high_dir``, or a list of such folders (their
            pairs are pooled; stems must be unique across them).
        low_dir: Subfolder of low-light inputs.
        high_dir: Subfolder of ground truths; files are matched to ``low_dir`` by name stem
            (``1.png`` pairs with ``1.jpg``).
        crop: Random aligned crop side (``None``: full images).
        flip: Random horizontal/vertical flips.
        rot90: Random 90° rotations (square crops; 180° only for non-square images).
        scale: Random resize factor range ``(low, high)`` applied before the crop, e.g.
            ``[0.5, 1.0]`` so that crops see more of the scene (``None``: native resolution).
        repeat: Virtual epoch length multiplier (``len = repeat · pairs``).
        seed: ``None`` uses torch's global RNG; an int makes augmentations reproducible.
        cache: Decode each image once and keep it in memory as 8-bit (about 0.7 MB per
            600×400 image): epochs after the first cost no decoding. Per worker process.
        holdout_every: Split off every ``k``-th pair (in sorted stem order, starting with the
            first) as a held-out set, e.g. for checkpoint selection on training data.
        part: With ``holdout_every``: ``"train"`` (the other pairs) or ``"holdout"`` (the
            split-off pairs).
    """

    root: str | list[str]  # type: ignore[assignment]
    low_dir: str = "low"
    high_dir: str = "high"


class PairedFolderDataset(FolderBase):
    """Paired low/normal-light images in the LOL layout (``core.paired_folder``).

    Items: ``{"low": (3, h, w), "high": (3, h, w), "name": stem}``, float32 in ``[0, 1]``.

    Raises:
        DatasetError: Missing or empty folder, an image without partner, duplicate stems
            (at construction); low/high size mismatch or a crop larger than the image (when
            the item is loaded). Messages name the files.
    """

    Params = PairedFolderParams
    summary = "Paired folder (LOL layout root/low + root/high, matched by file stem)"

    paired = True
    keys = ("low", "high", "name")

    def __init__(
        self,
        root: str | Path | Sequence[str | Path],
        low_dir: str = "low",
        high_dir: str = "high",
        crop: int | None = None,
        flip: bool = False,
        rot90: bool = False,
        scale: tuple[float, float] | None = None,
        repeat: int = 1,
        seed: int | None = None,
        cache: bool = False,
        holdout_every: int | None = None,
        part: Literal["train", "holdout"] = "train",
    ) -> None:
        """See :class:`PairedFolderParams`."""
        super().__init__(crop=crop, flip=flip, rot90=rot90, repeat=repeat, seed=seed,
                         scale=scale, cache=cache)
        roots = [root] if isinstance(root, (str, Path)) else list(root)
        if not roots:
            raise DatasetError("paired dataset: root is an empty list")
        self.root = Path(roots[0])
        pairs: dict[str, tuple[str, Path, Path]] = {}
        for r in roots:
            for stem, low_path, high_path in _pairs_in(Path(r), low_dir, high_dir):
                if stem in pairs:
                    raise DatasetError(
                        f"two pairs with the same name stem {stem!r}: {pairs[stem][1]} and "
                        f"{low_path}"
                    )
                pairs[stem] = (stem, low_path, high_path)
        self.pairs: list[tuple[str, Path, Path]] = split_items(
            [pairs[s] for s in sorted(pairs)], holdout_every, part, roots)

    def _source_count(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Load, check and augment one pair."""
        index = self._item_index(index)
        stem, low_path, high_path = self.pairs[index % len(self.pairs)]
        low, high = self._read(low_path), self._read(high_path)
        if low.shape != high.shape:
            raise DatasetError(
                f"size mismatch: {low_path} is {low.shape[1]}×{low.shape[2]} but {high_path} "
                f"is {high.shape[1]}×{high.shape[2]}"
            )
        low, high = self.augment([low, high], generator=self._generator(index),
                                 name=f"{low_path}, {high_path}")
        return {"low": low, "high": high, "name": stem}


class UnpairedFolderParams(FolderParams):
    """Parameters of ``core.unpaired_folder``.

    Attributes:
        root: Folder of low-light images, a glob pattern (``data/*/low/*.png``), or a list
            of them.
        crop: Random crop side (``None``: full images).
        flip: Random horizontal/vertical flips.
        rot90: Random 90° rotations.
        scale: Random resize factor range applied before the crop (``None``: native size).
        repeat: Virtual epoch length multiplier.
        seed: ``None`` uses torch's global RNG; an int makes augmentations reproducible.
        cache: Decode each image once and keep it in memory as 8-bit.
        holdout_every, part: Split off every k-th image (sorted by file name) as a held-out
            part, as for ``core.paired_folder``.
    """

    root: str | list[str]  # type: ignore[assignment]


class UnpairedFolderDataset(FolderBase):
    """Low-light images without ground truth (``core.unpaired_folder``).

    Items: ``{"low": (3, h, w), "name": stem}``, float32 in ``[0, 1]``.
    """

    Params = UnpairedFolderParams
    summary = "Low-light images without ground truth (folder or glob)"

    paired = False
    keys = ("low", "name")

    def __init__(
        self,
        root: str | Path | Sequence[str | Path],
        crop: int | None = None,
        flip: bool = False,
        rot90: bool = False,
        scale: tuple[float, float] | None = None,
        repeat: int = 1,
        seed: int | None = None,
        cache: bool = False,
        holdout_every: int | None = None,
        part: Literal["train", "holdout"] = "train",
    ) -> None:
        """See :class:`UnpairedFolderParams`."""
        super().__init__(crop=crop, flip=flip, rot90=rot90, repeat=repeat, seed=seed,
                         scale=scale, cache=cache)
        sources = [root] if isinstance(root, (str, Path)) else list(root)
        files: list[Path] = []
        for source in sources:
            pattern = str(source)
            if any(c in pattern for c in "*?["):
                matched = sorted(
                    Path(p) for p in glob.glob(pattern, recursive=True)
                    if Path(p).is_file() and is_image_file(p)
                )
                if not matched:
                    raise DatasetError(f"no images match the pattern {pattern}")
                files += matched
            else:
                files += images_in(Path(pattern), "low-light")
        self.files = split_items(sorted(files, key=lambda f: (f.stem, str(f))), holdout_every, part,
                            sources)

    def _source_count(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Load and augment one image."""
        index = self._item_index(index)
        path = self.files[index % len(self.files)]
        (low,) = self.augment([self._read(path)], generator=self._generator(index),
                              name=str(path))
        return {"low": low, "name": path.stem}
