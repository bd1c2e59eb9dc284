"""The real-photo panel's figures: colour ratio, clipping, black level, border, and the
darkened clean pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lle_core.evaluation.photo_panel import (
    border_ratio,
    colourfulness,
    darkened_pairs,
    luma,
    no_reference_figures,
    panel_photos,
    run_panel,
)


def _photo(seed: int = 0, h: int = 48, w: int = 64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(1, 3, h, w, generator=g) * 0.25).clamp(0, 1)


def test_a_pure_gain_keeps_colour_and_grey_washes_it_out() -> None:
    x = _photo()
    gained = (x * 3.0).clamp(0, 1)
    figures = no_reference_figures(x, gained)
    assert figures["color_ratio"] == pytest.approx(1.0, abs=0.02)
    assert figures["clipping"] == pytest.approx(0.0, abs=1e-9)
    grey = luma(gained).unsqueeze(1).expand(-1, 3, -1, -1)
    washed = 0.5 * gained + 0.5 * grey
    assert no_reference_figures(x, washed)["color_ratio"] == pytest.approx(0.5, abs=0.05)


def test_clipping_counts_white_pixels_beyond_the_gained_input() -> None:
    x = _photo(1)
    out = (x * 3.0).clamp(0, 1)
    out[..., :12, :] = 1.0  # a quarter of the image pushed to white
    assert no_reference_figures(x, out)["clipping"] == pytest.approx(25.0, abs=1.0)


def test_black_level_and_border() -> None:
    x = _photo(2)
    lifted = (x * 2.0 + 0.2).clamp(0, 1)
    assert no_reference_figures(x, lifted)["black_level"] > 0.19
    flat = torch.full((1, 3, 32, 32), 0.5)
    assert border_ratio(flat) == pytest.approx(1.0)
    framed = flat.clone()
    framed[..., :2, :] = 0.6
    framed[..., -2:, :] = 0.6
    framed[..., :, :2] = 0.6
    framed[..., :, -2:] = 0.6
    assert border_ratio(framed) == pytest.approx(1.2, abs=1e-5)


def test_colourfulness_of_grey_is_zero_and_grows_with_saturation() -> None:
    grey = torch.full((1, 3, 8, 8), 0.4)
    assert colourfulness(grey) == pytest.approx(0.0, abs=1e-9)
    x = _photo(3)
    assert colourfulness(x * 2) == pytest.approx(2 * colourfulness(x), rel=1e-6)


def _folder(root: Path, n: int, size: tuple[int, int]) -> Path:
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, size=(*size, 3), dtype=np.uint8)).save(
            root / f"{i:02d}.png")
    return root


def test_panel_photos_pick_every_kth_and_shrink(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "dicm", 10, (40, 100))
    photos = panel_photos(folder, per=4, side=50)
    assert len(photos) == 4  # step 10 // 4 = 2: photos 0, 2, 4, 6
    assert photos[0].shape == (1, 3, 20, 50)


def test_darkened_pairs_are_seeded_and_run_panel_scores_them(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "kodak", 2, (24, 32))
    a, b = darkened_pairs(folder), darkened_pairs(folder)
    assert torch.equal(a[0][0], b[0][0]) and a[0][0].mean() < a[0][1].mean()
    photos = {"dicm": [_photo(4)]}
    result = run_panel("identity", lambda x: x.clone(), photos, {"kodak": a})
    record = result.as_record()
    assert record["dicm"]["color_ratio"] == pytest.approx(1.0, abs=0.01)
    assert record["kodak"]["psnr"] < 20 and result.counts == {"dicm": 1, "kodak": 2}
