"""lle_core.data.synthesis with the demo's noise: range, darker, reproducible, unbiased noise.

DLN's own tests (plugins/dln/tests/test_synthetic.py) cover the paper pipeline in detail.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lle_core import create
from lle_core.data.synthesis import (
    DEMO_NOISE,
    SensorNoise,
    add_sensor_noise,
    linear_to_srgb,
    srgb_to_linear,
    synthesize,
)
from lle_core.demo import images as demo_images
from lle_core.io import write_image


def _clean(seed: int = 0, h: int = 40, w: int = 48) -> torch.Tensor:
    return demo_images.procedural_photo(seed, h, w)


def test_demo_pairs_are_in_range_on_8_bit_levels_and_darker():
    clean = _clean()
    for seed in range(5):
        pair = synthesize(clean, np.random.default_rng(seed), noise=DEMO_NOISE)
        low, f = pair.low, pair.factors
        assert low.shape == clean.shape and low.dtype == torch.float32
        assert float(low.min()) >= 0 and float(low.max()) <= 1
        torch.testing.assert_close(low, torch.round(low * 255) / 255)  # 8-bit levels
        assert float(low.mean()) < 0.8 * float(clean.mean())
        assert 0.5 <= f["beta"] <= 1 and 1.5 <= f["gamma"] <= 5 and 0.9 <= f["alpha"] <= 1
        assert DEMO_NOISE.shot[0] <= f["shot"] <= DEMO_NOISE.shot[1]


def test_pairs_are_reproducible_from_the_generator_state():
    clean = _clean(1)
    a = synthesize(clean, np.random.default_rng(7), noise=DEMO_NOISE)
    b = synthesize(clean, np.random.default_rng(7), noise=DEMO_NOISE)
    c = synthesize(clean, np.random.default_rng(8), noise=DEMO_NOISE)
    assert torch.equal(a.low, b.low) and a.factors == b.factors
    assert not torch.equal(a.low, c.low)


def test_noise_is_unbiased_in_linear_light_with_shot_variance():
    x = torch.full((3, 128, 128), 0.3)
    out = add_sensor_noise(x, shot=1 / 500, read=1e-3, rng=np.random.default_rng(0))
    lin_in, lin_out = srgb_to_linear(x).mean(), srgb_to_linear(out).mean()
    assert abs(float(lin_out - lin_in)) < 0.02 * float(lin_in)
    # shot noise: the variance in linear light is about mean / photons
    assert float(srgb_to_linear(out).var()) == pytest.approx(float(lin_in) / 500, rel=0.2)
    torch.testing.assert_close(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-5, rtol=0)


def test_noise_only_when_asked():
    flat = torch.full((3, 32, 32), 0.5)
    fixed = {"alpha": 1.0, "beta": 1.0, "gamma": 1.0, "saturation": 1.0, "contrast": 1.0}
    quiet = synthesize(flat, None, **fixed)
    noisy = synthesize(flat, np.random.default_rng(0), noise=SensorNoise(), **fixed)
    assert float(quiet.low.std()) == 0.0 and float(noisy.low.std()) > 1e-3


def test_core_synthetic_dataset_is_registered_and_paired(tmp_path):
    for i in range(2):
        write_image(tmp_path / f"p{i}.png", _clean(i, 36, 40))
    ds = create("dataset", {"type": "core.synthetic", "root": str(tmp_path), "crop": 16,
                            "short_side": 32, "seed": 3})
    item = ds[1]
    assert item["low"].shape == item["high"].shape == (3, 16, 16)
    assert float(item["low"].mean()) < float(item["high"].mean())
    assert torch.equal(ds[1]["low"], item["low"])
