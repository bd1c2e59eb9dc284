"""Training data for real photos: camera-like darkening, mixed datasets, the colour loss and
plans that mix LOL pairs with darkened clean photos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from pydantic import ValidationError

from lle_core.data.dark_photos import (
    Darkening,
    DarkPhotosDataset,
    DarkPhotosParams,
    darken_like_camera,
)
from lle_core.data.folders import PairedFolderDataset
from lle_core.data.mixed import MixedDataset
from lle_core.data.synthesis import srgb_to_linear
from lle_core.engine.plan import load_plan, run_plan, stage_overrides
from lle_core.errors import DatasetError
from lle_core.losses.color import ColorCosineLoss, color_cosine_loss


def _photos(folder: Path, n: int = 4, size: tuple[int, int] = (40, 48)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for i in range(n):
        arr = rng.integers(60, 240, size=(*size, 3), dtype=np.uint8)
        Image.fromarray(arr).save(folder / f"p{i}.png")
    return folder


def _pairs(root: Path, n: int = 6) -> Path:
    rng = np.random.default_rng(0)
    for i in range(n):
        low = rng.integers(0, 80, size=(40, 48, 3), dtype=np.uint8)
        for sub, arr in (("low", low), ("high", np.minimum(255, 3 * low).astype(np.uint8))):
            (root / sub).mkdir(parents=True, exist_ok=True)
            Image.fromarray(arr).save(root / sub / f"{i}.png")
    return root


def test_darkening_is_a_linear_exposure_with_noise_and_reproducible() -> None:
    clean = torch.rand(3, 64, 64) * 0.8 + 0.1
    quiet = Darkening(exposure=(0.1, 0.1), cast=0.0, shot=(1e-9, 1e-9), read=(1e-9, 1e-9),
                      tone=(1.0, 1.0), jpeg_p=0.0)
    low, factors = darken_like_camera(clean, np.random.default_rng(0), quiet)
    assert factors["exposure"] == pytest.approx(0.1) and factors["jpeg"] is None
    # without noise, cast or tone the low image is the clean one at 1/10 of its linear light
    ratio = srgb_to_linear(low).mean() / srgb_to_linear(clean).mean()
    assert ratio.item() == pytest.approx(0.1, rel=0.03)
    again, _ = darken_like_camera(clean, np.random.default_rng(0), quiet)
    assert torch.equal(low, again)
    # the default ranges darken, add noise and stay on the uint8 grid in [0, 1]
    noisy, f = darken_like_camera(clean, np.random.default_rng(3))
    assert noisy.mean() < clean.mean() * 0.7
    assert torch.equal(noisy, torch.round(noisy * 255) / 255)
    assert noisy.min() >= 0.0 and noisy.max() <= 1.0
    flat, _ = darken_like_camera(torch.full((3, 64, 64), 0.5), np.random.default_rng(4))
    assert flat.std() > 0  # sensor noise on a flat grey photo
    assert sum(f["cast"]) == pytest.approx(3.0)


def test_darkening_jpeg_changes_the_image() -> None:
    clean = torch.rand(3, 48, 48)
    plain = Darkening(jpeg_p=0.0, shot=(1e-9, 1e-9), read=(1e-9, 1e-9))
    always = Darkening(jpeg=(20.0, 20.0), jpeg_p=1.0, shot=(1e-9, 1e-9), read=(1e-9, 1e-9))
    a, _ = darken_like_camera(clean, np.random.default_rng(5), plain)
    b, fb = darken_like_camera(clean, np.random.default_rng(5), always)
    assert fb["jpeg"] == 20 and not torch.equal(a, b)


def test_dark_photos_dataset_items_are_pairs_and_seeded(tmp_path: Path) -> None:
    root = _photos(tmp_path / "clean")
    data = DarkPhotosDataset(root, crop=16, flip=True, rot90=True, seed=7)
    item = data[1]
    assert item["low"].shape == item["high"].shape == (3, 16, 16)
    assert item["low"].mean() < item["high"].mean()
    assert torch.equal(data[1]["low"], item["low"])  # seeded: a pure function of the index
    data.set_epoch(1)
    assert not torch.equal(data[1]["low"], item["low"])
    held = DarkPhotosDataset(root, holdout_every=2, part="holdout", seed=0)
    assert len(held) == 2 and held[0]["high"].shape == (3, 40, 48)
    with pytest.raises(DatasetError, match="missing"):
        DarkPhotosDataset(tmp_path / "missing")


def test_dark_photos_params_refuse_bad_ranges() -> None:
    with pytest.raises(ValidationError, match="exposure"):
        DarkPhotosParams.model_validate({"root": "x", "exposure": [0.5, 0.1]})
    with pytest.raises(ValidationError, match="jpeg"):
        DarkPhotosParams.model_validate({"root": "x", "jpeg": [0, 90]})


def test_mixed_dataset_concatenates_its_parts(tmp_path: Path) -> None:
    pairs = PairedFolderDataset(_pairs(tmp_path / "lol"), crop=8)
    photos = {"type": "core.dark_photos", "root": str(_photos(tmp_path / "clean")), "crop": 8,
              "seed": 0}
    mixed = MixedDataset([pairs, photos])
    assert len(mixed) == len(pairs) + 4 and mixed.paired
    assert mixed[len(pairs)]["name"] == "p0" and mixed[-1]["name"] == "p3"
    assert mixed[0]["name"] == pairs[0]["name"]
    with pytest.raises(IndexError):
        mixed[len(mixed)]
    batch = torch.utils.data.default_collate([mixed[0], mixed[len(pairs)]])
    assert batch["low"].shape == (2, 3, 8, 8)


def test_color_cosine_ignores_exposure_but_not_colour() -> None:
    target = torch.rand(2, 3, 16, 16) * 0.8 + 0.1
    assert color_cosine_loss(target * 0.5, target).item() < 1e-6
    grey = target.mean(dim=1, keepdim=True).expand_as(target)
    assert color_cosine_loss(grey, target).item() > 1e-3
    loss = ColorCosineLoss()
    pred = grey.clone().requires_grad_(True)
    value = loss(pred, target)
    value.backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
    black = torch.zeros(1, 3, 4, 4, requires_grad=True)
    color_cosine_loss(black, torch.rand(1, 3, 4, 4)).backward()
    assert black.grad is not None and torch.isfinite(black.grad).all()


def test_plan_mixes_extra_training_data_and_validates_on_both(tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({
        "model": {"type": "core.unet_small", "base_width": 4},
        "loss": {"type": "core.l1"},
        "data": {"train": {"type": "core.paired_folder", "crop": 16, "flip": True},
                 "batch_size": 2},
        "budget": {"steps": 2},
        "train": {"log_every": 1, "val_every": 2, "channels_last": True},
    }))
    clean = str(_photos(tmp_path / "clean"))
    plan = load_plan({
        "data": {"train": [str(_pairs(tmp_path / "lol"))], "holdout_every": 3, "repeat": 2,
                 "extra_train": [{"type": "core.dark_photos", "root": clean}],
                 "extra_val": [{"type": "core.dark_photos", "root": clean, "seed": 1}]},
        "entries": [{"label": "m", "stages": [{"config": str(recipe)}]}],
    })
    entry = plan.entries[0]
    over = stage_overrides(plan, entry, entry.stages[0], minutes=1, previous=None, device=None,
                           recipe_train={"type": "core.paired_folder", "crop": 16, "flip": True})
    own, extra = over["data.train"]["parts"]
    assert own["crop"] == extra["crop"] == 16 and own["flip"] and own["repeat"] == 2
    assert own["part"] == "train" and extra["type"] == "core.dark_photos"
    assert [p["type"] for p in over["data.val"]["parts"]] == ["core.paired_folder",
                                                             "core.dark_photos"]
    summary = run_plan(plan, out=tmp_path / "runs", total_minutes=5, progress=False)
    run_dir = Path(summary["m"]["stages"][0]["run_dir"])
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert cfg["data"]["train"]["type"] == "core.mixed" and cfg["train"]["channels_last"]
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    val = [m for m in map(json.loads, lines) if m["kind"] == "val"]
    # 2 held-out pairs (every 3rd of 6) + 4 darkened photos
    assert val and val[-1]["images"] == 6
    assert summary["m"]["stages"][0]["steps"] == 2
