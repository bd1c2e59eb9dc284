from __future__ import annotations

import math

import pytest
import torch

from lle_core import create
from lle_core.baselines import ClaheEnhancer, GammaEnhancer, HistEqEnhancer, IdentityEnhancer
from lle_core.errors import ConfigError
from lle_core.losses import hue_circular_distance, rgb_to_hsv
from lle_core.registry import registries


def _dark(b: int = 2, h: int = 16, w: int = 16, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 0.05 + 0.2 * torch.rand(b, 3, h, w, generator=g)


def test_identity():
    x = _dark()
    assert torch.equal(IdentityEnhancer()(x), x)
    assert IdentityEnhancer()(x + 2).max() == 1.0


def test_gamma_known_values():
    x = torch.tensor([0.0, 0.25, 1.0]).view(1, 3, 1, 1)
    assert torch.allclose(GammaEnhancer(gamma=0.5)(x).flatten(), torch.tensor([0.0, 0.5, 1.0]))
    default = GammaEnhancer()(x).flatten()
    assert default[1].item() == pytest.approx(0.25 ** (1 / 2.2), rel=1e-6)


def test_gamma_auto_maps_mean_to_half():
    x = torch.stack([torch.full((3, 4, 4), 0.1), torch.full((3, 4, 4), 0.7)])
    out = GammaEnhancer(gamma="auto")(x)
    assert torch.allclose(out, torch.full_like(out, 0.5), atol=1e-5)
    g = GammaEnhancer(gamma="auto").gammas(x).flatten()
    assert g[0].item() == pytest.approx(math.log(0.5) / math.log(0.1), rel=1e-5)
    assert GammaEnhancer(gamma="auto").capabilities.tiling == "whole"
    assert GammaEnhancer().capabilities.tiling == "tile"


def test_gamma_black_finite_and_grads():
    x = torch.zeros(1, 3, 4, 4, requires_grad=True)
    for model in (GammaEnhancer(), GammaEnhancer(gamma="auto")):
        out = model(x)
        assert torch.equal(out, torch.zeros_like(out))
        (grad,) = torch.autograd.grad(out.sum(), x)
        assert torch.isfinite(grad).all()


def test_gamma_validation():
    with pytest.raises(ValueError):
        GammaEnhancer(gamma=0.0)
    with pytest.raises(ConfigError):
        create("model", {"type": "core.gamma", "gamma": -1})
    assert create("model", {"type": "core.gamma", "gamma": "auto"}).gamma == "auto"


@pytest.mark.parametrize("channel", ["v", "y"])
def test_histeq_spreads_dark_image_and_keeps_order(channel):
    x = _dark()
    out = HistEqEnhancer(channel=channel)(x)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert out.mean() > x.mean() + 0.2
    if channel == "v":  # equalisation is a monotone map of V, spanning [0, 1]
        lum_in, lum_out = x.amax(1), out.amax(1)
        order = lum_in[0].flatten().argsort()
        assert (lum_out[0].flatten()[order].diff() >= -1e-6).all()
        assert lum_out[0].min() == 0 and lum_out[0].max() == pytest.approx(1.0)


def test_equalize_histogram_known_mapping():
    from lle_core.baselines import equalize_histogram

    ch = torch.tensor([0.2, 0.2, 0.4, 0.6]).view(1, 1, 2, 2)  # cdf 2, 3, 4 over N = 4
    out = equalize_histogram(ch).flatten()
    assert torch.allclose(out, torch.tensor([0.0, 0.0, 0.5, 1.0]))
    flat = torch.full((1, 1, 3, 3), 0.3)
    assert torch.equal(equalize_histogram(flat), flat)


def test_histeq_v_keeps_hue_and_y_keeps_chroma():
    x = _dark(seed=3)
    hsv_in, hsv_out = rgb_to_hsv(x), rgb_to_hsv(HistEqEnhancer("v")(x))
    visible = hsv_out[:, 2] > 0.05  # the darkest level becomes black (hue undefined)
    assert visible.float().mean() > 0.9
    dist = hue_circular_distance(hsv_in[:, 0], hsv_out[:, 0])[visible]
    assert dist.max() < 2e-3
    y_out = HistEqEnhancer("y")(x * 0.5 + 0.2)  # mid-grey range: no clamping
    diff = y_out - (x * 0.5 + 0.2)
    unclamped = (y_out > 0) & (y_out < 1)
    assert unclamped.all(1).any()
    mask = unclamped.all(1, keepdim=True).expand_as(diff)
    per_pixel = diff.masked_fill(~mask, 0)
    assert torch.allclose(per_pixel[:, 0], per_pixel[:, 1], atol=1e-6)  # same offset per channel


@pytest.mark.parametrize("size", [(16, 16), (17, 13), (5, 7), (1, 1)])
def test_clahe_any_size(size):
    x = _dark(1, *size)
    out = ClaheEnhancer(clip_limit=2.0, grid_size=(8, 8))(x)
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert out.min() >= 0 and out.max() <= 1


def test_clahe_brightens_and_clip_limit_matters():
    x = _dark(1, 32, 32)
    mild = ClaheEnhancer(clip_limit=1.0)(x)
    strong = ClaheEnhancer(clip_limit=40.0)(x)
    assert mild.mean() > x.mean()
    assert not torch.allclose(mild, strong)
    with pytest.raises(ConfigError):
        create("model", {"type": "core.clahe", "grid_size": [0, 4]})


@pytest.mark.parametrize("name", ["core.identity", "core.gamma", "core.histeq", "core.clahe"])
def test_registered_batch_independent(name):
    entry = registries()["model"].get(name)
    assert not entry.capabilities.needs_weights and not entry.capabilities.needs_ground_truth
    model = create("model", name).eval()
    x = _dark(3, 12, 14, seed=7)
    batch = model(x)
    single = torch.cat([model(x[i : i + 1]) for i in range(3)])
    assert torch.allclose(batch, single, atol=1e-6)
    assert batch.min() >= 0 and batch.max() <= 1
    assert model.forward_train(x)["pred"].shape == x.shape
