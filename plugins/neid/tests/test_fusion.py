"""neid.channel_ff: the three gate forms behave as their formulas say."""

from __future__ import annotations

import pytest
import torch

from lle_core import create
from lle_neid.fusion import ChannelFeatureFusion


def pair(c: int = 16, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand((2, c, 5, 7), generator=g), torch.rand((2, c, 5, 7), generator=g) + 2.0


def test_sigmoid_gate_is_a_convex_channel_combination():
    ff = create("fusion", "neid.channel_ff", runtime={"channels": 16})
    a, b = pair()
    out = ff(a, b)
    w = ff.weights(a, b)
    assert w.shape == (2, 16, 1, 1) and (w > 0).all() and (w < 1).all()
    assert torch.allclose(out, w * b + (1 - w) * a, atol=1e-6)
    assert (out >= a - 1e-6).all() and (out <= b + 1e-6).all()  # between the two inputs


def test_sigmoid_gate_weights_depend_on_the_guide_only():
    ff = ChannelFeatureFusion(16)
    a, b = pair()
    assert torch.equal(ff.weights(a, b), ff.weights(a * 0.1, b))
    assert not torch.equal(ff.weights(a, b), ff.weights(a, b * 0.1))


def test_sk_softmax_weights_sum_to_one():
    spec = {"type": "neid.channel_ff", "gate": "sk_softmax"}
    ff = create("fusion", spec, runtime={"channels": 16})
    a, b = pair(seed=1)
    w = ff.weights(a, b)
    assert w.shape == (2, 2, 16, 1, 1)
    assert torch.allclose(w.sum(dim=1), torch.ones(2, 16, 1, 1))
    assert torch.allclose(ff(a, b), w[:, 0] * a + w[:, 1] * b, atol=1e-6)
    same = torch.rand(1, 16, 4, 4)
    assert torch.allclose(ff(same, same), same, atol=1e-6)


def test_residual_gate_adds_a_weighted_guide():
    ff = create("fusion", {"type": "neid.channel_ff", "gate": "residual"}, runtime={"channels": 16})
    a, b = pair(seed=2)
    w = ff.weights(a, b)
    assert torch.allclose(ff(a, b) - a, w * b, atol=1e-5)
    assert (ff(a, b) > a).all()  # positive guide, positive weights


@pytest.mark.parametrize(("channels", "reduction", "min_hidden", "hidden"),
                         [(32, 16, 4, 4), (256, 16, 4, 16), (64, 4, 4, 16), (8, 16, 6, 6)])
def test_reduction_ratio(channels, reduction, min_hidden, hidden):
    ff = create("fusion", {"type": "neid.channel_ff", "reduction": reduction,
                           "min_hidden": min_hidden}, runtime={"channels": channels})
    assert ff.hidden == hidden
    assert ff.mlp[1].out_channels == hidden


def test_global_pooling_works_on_any_size():
    ff = ChannelFeatureFusion(8)
    for h, w in [(1, 1), (3, 17), (40, 2)]:
        assert ff(torch.rand(1, 8, h, w), torch.rand(1, 8, h, w)).shape == (1, 8, h, w)
