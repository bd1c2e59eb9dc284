"""``core.unet_small``: registration, shapes, range, honest capabilities, training behaviour."""

from __future__ import annotations

import pytest
import torch

import lle_core
from lle_core.errors import ConfigError
from lle_core.models.unet_small import UNetSmall


def _random(model, std=0.2, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * std)
    return model.eval()


def test_registered_with_example_and_capabilities():
    entry = lle_core.registries()["model"].get("core.unet_small")
    assert entry.example == {"base_width": 4}
    caps = entry.capabilities
    assert caps.multiple_of == 4 and caps.tiling == "tile" and caps.needs_weights
    model = lle_core.create("model", "core.unet_small", **entry.example)
    assert isinstance(model, UNetSmall) and model.capabilities == caps
    with pytest.raises(ConfigError):
        lle_core.create("model", "core.unet_small", base_width=0)
    with pytest.raises(ConfigError):
        lle_core.create("model", "core.unet_small", depth=4)


@pytest.mark.parametrize("output", ["residual", "sigmoid"])
def test_shape_range_and_gradients(output):
    model = _random(UNetSmall(base_width=4, output=output)).train()
    x = torch.rand(2, 3, 24, 36, requires_grad=True)
    y = model(x)
    assert y.shape == x.shape
    assert float(y.detach().min()) >= 0 and float(y.detach().max()) <= 1
    y.mean().backward()
    assert all(p.grad is not None for p in model.parameters())
    assert model.forward_train(x.detach())["pred"].shape == x.shape


def test_fresh_residual_model_starts_near_the_identity():
    model = UNetSmall(base_width=4).eval()
    x = torch.rand(1, 3, 16, 16) * 0.5
    with torch.no_grad():
        assert float((model(x) - x).abs().max()) < 0.05


def test_receptive_field_is_honest():
    """A pixel farther than receptive_field from an output never changes it."""
    model = _random(UNetSmall(base_width=4))
    rf = model.capabilities.receptive_field
    x = torch.rand(1, 3, 96, 96)
    with torch.no_grad():
        y = model(x)
        for cy, cx in ((48, 48), (49, 50), (51, 47)):
            x2 = x.clone()
            x2[..., cy, cx] += 0.5
            changed = ((model(x2) - y).abs().amax(dim=1)[0] > 0).nonzero()
            assert len(changed) > 0
            assert int((changed[:, 0] - cy).abs().max()) <= rf
            assert int((changed[:, 1] - cx).abs().max()) <= rf


def test_channels_last_and_batch_independence():
    model = _random(UNetSmall(base_width=4))
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        ref = model(x)
        cl = model.to(memory_format=torch.channels_last)(x.to(memory_format=torch.channels_last))
        single = model(x[1:2])
    torch.testing.assert_close(cl.contiguous(), ref, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(single, ref[1:2], atol=1e-5, rtol=1e-4)


@pytest.fixture
def one_thread():
    # tiny convolutions gain nothing from threads; on a busy machine two threads spin
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_learns_a_brightening_quickly(one_thread):
    torch.manual_seed(0)
    model = UNetSmall(base_width=4)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    high = torch.rand(2, 3, 8, 8) * 0.5 + 0.4
    low = high * 0.3
    losses = []
    for _ in range(30):
        loss = (model(low) - high).abs().mean()
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert sum(losses[-3:]) / 3 < 0.5 * sum(losses[:3]) / 3, losses  # smoothed ends
