"""Synthetic low-light generator X = β(αY)^γ (DLN slides): formula, ranges, darkness, seeds."""

import numpy as np
import pytest
import torch
from PIL import ImageEnhance

from lle_core import create
from lle_core.data.synthesis import (
    SensorNoise,
    darken,
    dim_colours,
    from_pil,
    quantize,
    synthesize,
    to_pil,
)
from lle_core.errors import ConfigError, DatasetError
from lle_core.io import write_image
from lle_dln.synthetic import SyntheticLowLight


def _photo(h=24, w=30, seed=0):
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    base = torch.stack([yy, xx, (yy + xx) / 2])
    return (0.7 * base + 0.3 * torch.rand(3, h, w, generator=g)).clamp(0, 1)


@pytest.fixture
def clean_dir(tmp_path):
    for i, (h, w) in enumerate([(40, 52), (48, 36), (33, 45)]):
        write_image(tmp_path / f"img{i}.png", _photo(h, w, seed=i))
    return tmp_path


def test_follows_formula_for_fixed_factors():
    y = _photo()
    pair = synthesize(y, alpha=0.95, beta=0.6, gamma=2.2, saturation=1.0, contrast=1.0)
    expected = torch.round(0.6 * (0.95 * quantize(y)) ** 2.2 * 255) / 255
    assert torch.allclose(pair.low, expected, atol=1e-6)
    assert torch.equal(pair.high, quantize(y))


def test_follows_formula_per_channel():
    y = _photo()
    alpha, beta, gamma = (0.9, 0.95, 1.0), (0.5, 0.7, 0.9), (1.5, 3.0, 5.0)
    pair = synthesize(y, alpha=alpha, beta=beta, gamma=gamma, saturation=1.0, contrast=1.0)
    for c in range(3):
        ref = quantize(beta[c] * (alpha[c] * quantize(y[c])) ** gamma[c])
        assert torch.allclose(pair.low[c], ref, atol=1e-6)


def test_dimming_uses_pil_enhance_semantics():
    y = _photo()
    img = to_pil(y)
    want = ImageEnhance.Contrast(ImageEnhance.Color(img).enhance(0.8)).enhance(0.75)
    assert torch.equal(from_pil(dim_colours(img, 0.8, 0.75)), from_pil(want))
    grey = from_pil(dim_colours(img, 0.0, 1.0))
    assert torch.equal(grey[0], grey[1]) and torch.equal(grey[1], grey[2])
    pair = synthesize(y, alpha=1.0, beta=1.0, gamma=1.0, saturation=0.8, contrast=0.75)
    assert torch.equal(pair.low, from_pil(want))


@pytest.mark.parametrize("per_channel", [False, True])
def test_random_outputs_in_range_and_darker(per_channel):
    for seed in range(8):
        rng = np.random.default_rng(seed)
        pair = synthesize(_photo(seed=seed), rng, per_channel=per_channel)
        assert pair.low.dtype == torch.float32
        assert pair.low.min() >= 0.0 and pair.low.max() <= 1.0
        assert pair.low.mean() < pair.high.mean()
        assert torch.equal(pair.low, quantize(pair.low))  # on the uint8 grid
        for name, (lo, hi) in [("alpha", (0.9, 1)), ("beta", (0.5, 1)), ("gamma", (1.5, 5))]:
            vals = np.atleast_1d(pair.factors[name])
            assert len(vals) == (3 if per_channel else 1)
            assert ((lo <= vals) & (vals <= hi)).all()


def test_noise_extension_in_range_and_off_by_default():
    y = _photo()
    fixed = dict(alpha=1.0, beta=0.5, gamma=2.0, saturation=1.0, contrast=1.0)
    clean = synthesize(y, np.random.default_rng(0), **fixed)
    noisy = synthesize(y, np.random.default_rng(0), noise=SensorNoise(), **fixed)
    assert "shot" not in clean.factors and "shot" in noisy.factors
    assert not torch.equal(clean.low, noisy.low)
    assert noisy.low.min() >= 0.0 and noisy.low.max() <= 1.0


def test_synthesize_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown factors"):
        synthesize(_photo(), np.random.default_rng(0), delta=1.0)
    with pytest.raises(ValueError, match="generator"):
        synthesize(_photo())
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        synthesize(torch.rand(1, 3, 4, 4), np.random.default_rng(0))


def test_dataset_reproducible_from_seed(clean_dir):
    kwargs = dict(crop=16, short_side=32, seed=7)
    a, b = SyntheticLowLight(clean_dir, **kwargs), SyntheticLowLight(clean_dir, **kwargs)
    other = SyntheticLowLight(clean_dir, crop=16, short_side=32, seed=8)
    for i in range(len(a)):
        ia, ib = a[i], b[i]
        assert torch.equal(ia["low"], ib["low"]) and torch.equal(ia["high"], ib["high"])
        assert ia["low"].shape == (3, 16, 16)
        assert ia["low"].mean() < ia["high"].mean()
    assert not torch.equal(a[0]["low"], other[0]["low"])
    # reading order does not matter (per-item generators)
    assert torch.equal(a[2]["low"], SyntheticLowLight(clean_dir, **kwargs)[2]["low"])
    a.set_epoch(1)
    assert not torch.equal(a[0]["low"], b[0]["low"])


def test_dataset_identical_across_dataloader_workers(clean_dir):
    ds = SyntheticLowLight(clean_dir, crop=16, short_side=32, seed=3, repeat=2)
    direct = torch.stack([ds[i]["low"] for i in range(len(ds))])
    loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2, shuffle=False)
    via_workers = torch.cat([batch["low"] for batch in loader])
    assert torch.equal(direct, via_workers)


def test_dataset_length_repeat_and_registry(clean_dir):
    assert len(SyntheticLowLight(clean_dir, crop=8, short_side=20, repeat=3)) == 9
    ds = create("dataset", {"type": "dln.synthetic", "root": str(clean_dir), "crop": 8,
                            "short_side": 20, "length": 5, "per_channel": True, "noise": True})
    assert len(ds) == 5
    item = ds[4]
    assert item["low"].shape == item["high"].shape == (3, 8, 8)
    assert item["name"] == "img1"


def test_dataset_errors_name_the_problem(clean_dir, tmp_path_factory):
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(DatasetError, match="no images"):
        SyntheticLowLight(empty)
    ds = SyntheticLowLight(clean_dir, crop=64, short_side=32)
    with pytest.raises(DatasetError, match="img0"):
        ds[0]
    with pytest.raises(ConfigError):
        create("dataset", {"type": "dln.synthetic", "root": str(clean_dir), "beta": [1.0, 0.5]})


def test_darken_matches_formula_elementwise():
    y = torch.rand(3, 5, 5)
    assert torch.allclose(darken(y, 0.9, 0.5, 3.0), 0.5 * (0.9 * y) ** 3.0)


def test_dln_synthetic_is_core_synthetic_under_dlns_name(clean_dir):
    """One pipeline: the same items for the same parameters and seed."""
    spec = {"root": str(clean_dir), "crop": 8, "short_side": 16, "seed": 4, "noise": True}
    dln = create("dataset", {"type": "dln.synthetic", **spec})
    core = create("dataset", {"type": "core.synthetic", **spec})
    dln.set_epoch(2)
    core.set_epoch(2)
    assert torch.equal(dln[1]["low"], core[1]["low"])
    assert torch.equal(dln[1]["high"], core[1]["high"])
    with pytest.raises(DatasetError, match=r"^dln\.synthetic: "):
        create("dataset", {"type": "dln.synthetic", "root": str(clean_dir / "missing")})
