"""Datasets shipped by core (kind ``"dataset"``) and paired augmentations.

* ``core.paired_folder`` — :class:`PairedFolderDataset`, LOL layout ``root/low`` +
  ``root/high`` matched by file stem.
* ``core.unpaired_folder`` — :class:`UnpairedFolderDataset`, a folder (or glob) of low-light
  images.
* ``core.synthetic`` — :class:`lle_core.data.synthesis.SyntheticLowLight`, any folder of clean
  photos darkened on the fly (DLN's ``X = β(αY)^γ``, optional Poisson–Gaussian noise); the one
  synthesis pipeline of the repository (:mod:`lle_core.data.synthesis`).
* :mod:`lle_core.data.augment` — crops/flips/rotations applied identically to a pair.
"""

from __future__ import annotations

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
]
