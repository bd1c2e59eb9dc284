"""Datasets shipped by core (kind ``"dataset"``) and paired augmentations.

* ``core.paired_folder`` — :class:`PairedFolderDataset`, LOL layout ``root/low`` +
  ``root/high`` matched by file stem.
* ``core.unpaired_folder`` — :class:`UnpairedFolderDataset`, a folder (or glob) of low-light
  images.
* :mod:`lle_core.data.augment` — crops/flips/rotations applied identically to a pair.
"""

from __future__ import annotations

from typing import Any

from lle_core.data.augment import (
    PairedAugment,
    paired_flip,
    paired_random_crop,
    paired_rot90,
)
from lle_core.data.folders import (
    PairedFolderDataset,
    PairedFolderParams,
    UnpairedFolderDataset,
    UnpairedFolderParams,
)

__all__ = [
    "PairedAugment",
    "PairedFolderDataset",
    "PairedFolderParams",
    "UnpairedFolderDataset",
    "UnpairedFolderParams",
    "paired_flip",
    "paired_random_crop",
    "paired_rot90",
    "register_components",
]


def register_components(register: Any) -> None:
    """Register core's datasets (kind ``"dataset"``)."""
    register("dataset", "paired_folder", PairedFolderDataset, params=PairedFolderParams,
             summary="Paired folder (LOL layout root/low + root/high, matched by file stem)",
             example={"root": "{paired_dir}", "crop": 8, "flip": True, "rot90": True})
    register("dataset", "unpaired_folder", UnpairedFolderDataset, params=UnpairedFolderParams,
             summary="Low-light images without ground truth (folder or glob)",
             example={"root": "{low_dir}", "crop": 8, "flip": True})
