from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from lle_core import create
from lle_core.data import (
    PairedAugment,
    PairedFolderDataset,
    UnpairedFolderDataset,
    paired_flip,
    paired_random_crop,
    paired_rot90,
)
from lle_core.errors import DatasetError, ShapeError


def _save(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def _make_paired(root: Path, n: int = 3, h: int = 12, w: int = 14) -> Path:
    rng = np.random.default_rng(0)
    for i in range(n):
        low = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        _save(root / "low" / f"{i:03d}.png", low)
        _save(root / "high" / f"{i:03d}.png", 255 - low)  # high = 1 - low, exactly
    return root


def test_paired_items(tmp_path):
    root = _make_paired(tmp_path)
    ds = PairedFolderDataset(root)
    assert len(ds) == 3 and ds.paired and ds.keys == ("low", "high", "name")
    item = ds[1]
    assert item["name"] == "001"
    assert item["low"].shape == item["high"].shape == (3, 12, 14)
    assert item["low"].dtype == torch.float32
    assert torch.allclose(item["high"], 1 - item["low"], atol=1e-6)
    assert ds[-1]["name"] == "002"
    with pytest.raises(IndexError):
        ds[3]


def test_paired_matched_by_stem_across_extensions(tmp_path):
    arr = np.full((8, 8, 3), 7, dtype=np.uint8)
    _save(tmp_path / "low" / "b.png", arr)
    _save(tmp_path / "low" / "a.png", arr)
    _save(tmp_path / "high" / "a.bmp", arr)
    _save(tmp_path / "high" / "b.PNG", arr)
    ds = PairedFolderDataset(tmp_path)
    assert [s for s, _, _ in ds.pairs] == ["a", "b"]
    assert ds.pairs[0][2].name == "a.bmp"


@pytest.mark.parametrize("crop", [5, 12])
def test_augmentation_identical_on_both_images(tmp_path, crop):
    ds = PairedFolderDataset(_make_paired(tmp_path), crop=crop, flip=True, rot90=True, seed=3,
                             repeat=4)
    assert len(ds) == 12
    for i in range(len(ds)):
        item = ds[i]
        assert item["low"].shape == (3, crop, crop)
        assert torch.allclose(item["high"], 1 - item["low"], atol=1e-6)


def test_seeded_augmentation_reproducible_and_epoch_dependent(tmp_path):
    ds = PairedFolderDataset(_make_paired(tmp_path), crop=6, flip=True, rot90=True, seed=1)
    first = [ds[i]["low"] for i in range(3)]
    assert all(torch.equal(a, ds[i]["low"]) for i, a in enumerate(first))
    ds.set_epoch(1)
    other = [ds[i]["low"] for i in range(3)]
    assert any(not torch.equal(a, b) for a, b in zip(first, other, strict=True))


def test_unseeded_uses_torch_global_rng(tmp_path):
    ds = PairedFolderDataset(_make_paired(tmp_path), crop=5, flip=True)
    torch.manual_seed(123)
    a = [ds[0]["low"] for _ in range(4)]
    torch.manual_seed(123)
    b = [ds[0]["low"] for _ in range(4)]
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert any(not torch.equal(a[0], x) for x in a[1:])  # crops differ between draws


def test_dataloader_batches(tmp_path):
    ds = create("dataset", {"type": "core.paired_folder", "root": str(_make_paired(tmp_path)),
                            "crop": 8, "flip": True, "rot90": True})
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=3)))
    assert batch["low"].shape == batch["high"].shape == (3, 3, 8, 8)
    assert batch["name"] == ["000", "001", "002"]


def test_full_size_rot90_keeps_non_square_shape(tmp_path):
    ds = PairedFolderDataset(_make_paired(tmp_path), rot90=True, seed=0, repeat=8)
    assert {tuple(ds[i]["low"].shape) for i in range(len(ds))} == {(3, 12, 14)}


def test_missing_partner_error_names_files(tmp_path):
    root = _make_paired(tmp_path)
    (root / "high" / "001.png").unlink()
    _save(root / "high" / "extra.png", np.zeros((12, 14, 3), dtype=np.uint8))
    with pytest.raises(DatasetError) as err:
        PairedFolderDataset(root)
    assert "001.png" in str(err.value) and "extra.png" in str(err.value)


def test_size_mismatch_error_names_both_files(tmp_path):
    root = _make_paired(tmp_path)
    _save(root / "high" / "002.png", np.zeros((10, 14, 3), dtype=np.uint8))
    ds = PairedFolderDataset(root)
    ds[0]
    with pytest.raises(DatasetError, match=r"size mismatch.*low.002\.png.*12×14.*high.002\.png"):
        ds[2]


def test_empty_and_missing_folders(tmp_path):
    (tmp_path / "low").mkdir()
    (tmp_path / "high").mkdir()
    with pytest.raises(DatasetError, match="no images"):
        PairedFolderDataset(tmp_path)
    with pytest.raises(DatasetError, match="not found"):
        PairedFolderDataset(tmp_path / "nowhere")
    _save(tmp_path / "low" / "a.png", np.zeros((4, 4, 3), dtype=np.uint8))
    with pytest.raises(DatasetError, match="ground-truth folder"):
        PairedFolderDataset(tmp_path, high_dir="gt")


def test_duplicate_stems(tmp_path):
    root = _make_paired(tmp_path, n=1)
    _save(root / "low" / "000.bmp", np.zeros((12, 14, 3), dtype=np.uint8))
    with pytest.raises(DatasetError, match=r"000\.bmp"):
        PairedFolderDataset(root)


def test_crop_larger_than_image_error(tmp_path):
    ds = PairedFolderDataset(_make_paired(tmp_path), crop=13)
    with pytest.raises(DatasetError, match=r"13×13.*12×14.*000\.png"):
        ds[0]


def test_unpaired_folder_and_glob(tmp_path):
    _make_paired(tmp_path / "a")
    _make_paired(tmp_path / "b", n=2)
    ds = UnpairedFolderDataset(tmp_path / "a" / "low", crop=6)
    assert len(ds) == 3 and not ds.paired and ds.keys == ("low", "name")
    item = ds[0]
    assert set(item) == {"low", "name"} and item["low"].shape == (3, 6, 6)
    globbed = create("dataset", {"type": "core.unpaired_folder",
                                 "root": str(tmp_path / "*" / "low" / "*.png"), "repeat": 2})
    assert len(globbed) == 10
    with pytest.raises(DatasetError, match="no images match"):
        UnpairedFolderDataset(tmp_path / "*.jpg")
    with pytest.raises(DatasetError, match="not found"):
        UnpairedFolderDataset(tmp_path / "missing")


@given(h=st.integers(1, 20), w=st.integers(1, 20), data=st.data())
def test_augment_functions_keep_pairs_aligned(h, w, data):
    ch = data.draw(st.integers(1, h))
    cw = data.draw(st.integers(1, w))
    seed = data.draw(st.integers(0, 1000))
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(3, h, w, generator=g)
    b = 2 * a + 1
    a2, b2 = paired_random_crop([a, b], (ch, cw), generator=g)
    assert a2.shape == (3, ch, cw) and torch.equal(b2, 2 * a2 + 1)
    a3, b3 = paired_flip([a2, b2], generator=g)
    a4, b4 = paired_rot90([a3, b3], generator=g)
    assert torch.equal(b4, 2 * a4 + 1)
    assert sorted(a4.shape[-2:]) == sorted((ch, cw))
    assert torch.allclose(a4.sum(), a2.sum())  # only a permutation of the pixels


def test_augment_errors():
    with pytest.raises(ShapeError, match="equal size"):
        paired_random_crop([torch.zeros(3, 4, 4), torch.zeros(3, 4, 5)], 2)
    with pytest.raises(ValueError, match="crop"):
        PairedAugment(crop=0)
    out = PairedAugment()([torch.ones(3, 2, 2)])
    assert torch.equal(out[0], torch.ones(3, 2, 2))
