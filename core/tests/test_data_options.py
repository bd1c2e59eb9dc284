"""Folder dataset options used by the shipped-weights recipes: several roots, a held-out
split, the 8-bit cache and the random rescale before the crop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lle_core.data import PairedAugment, PairedFolderDataset, UnpairedFolderDataset
from lle_core.errors import DatasetError


def _pairs(root: Path, stems: list[str], h: int = 20, w: int = 30) -> Path:
    rng = np.random.default_rng(len(stems))
    for s in stems:
        low = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        for sub, arr in (("low", low), ("high", 255 - low)):
            (root / sub).mkdir(parents=True, exist_ok=True)
            Image.fromarray(arr).save(root / sub / f"{s}.png")
    return root


def test_several_roots_pool_their_pairs_and_refuse_a_repeated_stem(tmp_path: Path) -> None:
    a = _pairs(tmp_path / "a", ["1", "3"])
    b = _pairs(tmp_path / "b", ["2"])
    ds = PairedFolderDataset([a, b])
    assert [s for s, _, _ in ds.pairs] == ["1", "2", "3"]
    assert ds[1]["low"].shape == (3, 20, 30)
    _pairs(tmp_path / "c", ["3"])
    with pytest.raises(DatasetError, match="same name stem '3'"):
        PairedFolderDataset([a, tmp_path / "c"])


def test_holdout_split_is_disjoint_complete_and_matches_unpaired(tmp_path: Path) -> None:
    stems = [str(i) for i in range(10, 23)]  # 13 pairs
    root = _pairs(tmp_path / "lol", stems)
    train = PairedFolderDataset(root, holdout_every=5, part="train")
    hold = PairedFolderDataset(root, holdout_every=5, part="holdout")
    names = lambda ds: [s for s, _, _ in ds.pairs]  # noqa: E731
    assert names(hold) == ["10", "15", "20"]
    assert set(names(train)) | set(names(hold)) == set(stems)
    assert not set(names(train)) & set(names(hold))
    # The unpaired view of the low images splits the same way (AuxNet trains on low only).
    unpaired = UnpairedFolderDataset(root / "low", holdout_every=5, part="holdout")
    assert [f.stem for f in unpaired.files] == names(hold)
    _pairs(tmp_path / "one", ["x"])
    with pytest.raises(DatasetError, match="leaves no train items"):
        UnpairedFolderDataset(tmp_path / "one" / "low", holdout_every=2, part="train")


def test_cache_gives_identical_items_for_8bit_files(tmp_path: Path) -> None:
    root = _pairs(tmp_path / "p", ["a", "b"])
    plain = PairedFolderDataset(root, crop=8, flip=True, seed=1)
    cached = PairedFolderDataset(root, crop=8, flip=True, seed=1, cache=True)
    for _ in range(2):  # second pass comes from memory
        for i in range(2):
            x, y = plain[i], cached[i]
            assert torch.equal(x["low"], y["low"]) and torch.equal(x["high"], y["high"])
    assert len(cached._decoded) == 4 and all(
        t.dtype == torch.uint8 for t in cached._decoded.values())


def test_random_scale_keeps_pairs_aligned_and_the_crop_possible() -> None:
    g = torch.Generator().manual_seed(0)
    low = torch.rand(3, 40, 60, generator=g)
    aug = PairedAugment(crop=32, scale=(0.25, 0.5))
    out_low, out_twice = aug([low, low.clone()], generator=torch.Generator().manual_seed(3))
    assert out_low.shape == (3, 32, 32)
    assert torch.equal(out_low, out_twice)  # same draw for both images of a pair
    # 0.25-0.5 of 40 px would be smaller than the crop: the factor is raised to 32/40.
    small = PairedAugment(scale=(0.5, 0.5))([low], generator=g)[0]
    assert small.shape == (3, 20, 30) and float(small.min()) >= 0 and float(small.max()) <= 1
    with pytest.raises(ValueError, match="scale"):
        PairedAugment(scale=(0.8, 0.5))
