"""AuxNet loss tests: fidelity maths, smoothness never NaN, SCI weighted form."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from lle_auxnet.losses import (
    StageFidelityLoss,
    StageSmoothnessLoss,
    rgb_to_ycbcr,
    sci_weighted_smoothness,
)
from lle_core import ShapeError, create


def test_fidelity_is_sum_of_per_stage_mse() -> None:
    torch.manual_seed(0)
    illum = torch.rand(2, 3, 3, 8, 9)
    inputs = torch.rand(2, 3, 3, 8, 9)
    expected = sum(torch.mean((illum[:, t] - inputs[:, t]) ** 2) for t in range(3))
    loss = StageFidelityLoss()
    torch.testing.assert_close(loss(illum, inputs), expected)
    assert float(loss(illum, illum)) == 0.0
    # a (B, 3, H, W) tensor is one stage
    torch.testing.assert_close(loss(illum[:, 0], inputs[:, 0]),
                               torch.mean((illum[:, 0] - inputs[:, 0]) ** 2))
    with pytest.raises(ShapeError, match="stage_inputs"):
        loss(illum, inputs[:, :2])


def test_fidelity_reads_stage_tensors_from_context() -> None:
    term = create("loss", {"type": "auxnet.fidelity", "weight": 0.8})
    assert term.weight == 0.8 and not term.needs_ground_truth
    ctx = {"illuminations": torch.ones(1, 2, 3, 4, 4), "stage_inputs": torch.zeros(1, 2, 3, 4, 4)}
    assert float(term.from_context(ctx)) == pytest.approx(2.0)


@pytest.mark.parametrize("mode", ["isotropic", "sci_weighted"])
@given(scale=st.floats(0.0, 1.0), seed=st.integers(0, 2**16), stages=st.integers(1, 3),
       h=st.integers(1, 15), w=st.integers(1, 15))
def test_smoothness_never_nan_on_noise(
    mode: str, scale: float, seed: int, stages: int, h: int, w: int
) -> None:
    gen = torch.Generator().manual_seed(seed)
    illum = (torch.rand(2, stages, 3, h, w, generator=gen) * scale).requires_grad_()
    guide = torch.rand(2, stages, 3, h, w, generator=gen)
    loss = StageSmoothnessLoss(mode=mode)(illum, guide)
    assert torch.isfinite(loss) and float(loss.detach()) >= 0.0
    loss.backward()
    assert illum.grad is not None and torch.isfinite(illum.grad).all()


@pytest.mark.parametrize("mode", ["isotropic", "sci_weighted"])
def test_smoothness_ranks_noise_above_constant(mode: str) -> None:
    term = StageSmoothnessLoss(mode=mode)
    flat = torch.full((1, 2, 3, 16, 16), 0.4)
    noisy = flat + 0.2 * torch.rand_like(flat)
    guide = torch.rand_like(flat)
    assert float(term(flat, guide)) < 1e-2
    assert float(term(noisy, guide)) > float(term(flat, guide)) + 1e-3
    # summed over stages: two identical stages give twice one stage
    one = term(noisy[:, :1], guide[:, :1])
    torch.testing.assert_close(term(noisy[:, :1].repeat(1, 2, 1, 1, 1),
                                    guide[:, :1].repeat(1, 2, 1, 1, 1)), 2 * one)


def test_sci_weighted_with_huge_sigma_is_unweighted_l1() -> None:
    torch.manual_seed(0)
    illum = torch.rand(1, 3, 7, 8)
    guide = torch.rand(1, 3, 7, 8)
    got = sci_weighted_smoothness(illum, guide, sigma=1e6, radius=1)
    manual = 0.0
    for dy, dx in [(0, 1), (1, -1), (1, 0), (1, 1)]:
        h, w = illum.shape[-2:]
        a = illum[..., : h - dy, max(0, -dx): w - max(0, dx)]
        b = illum[..., dy:, max(0, dx): w - max(0, -dx)]
        manual += 2 * (a - b).abs().sum(dim=1).mean()
    torch.testing.assert_close(got, torch.as_tensor(manual))
    # a small sigma down-weights differences across guide edges
    assert float(sci_weighted_smoothness(illum, guide, sigma=0.05, radius=1)) < float(got)


def test_ycbcr_of_white_and_black() -> None:
    ycc = rgb_to_ycbcr(torch.stack([torch.zeros(3, 1, 1), torch.ones(3, 1, 1)]))
    torch.testing.assert_close(ycc[0].flatten(), torch.tensor([16, 128, 128]) / 255)
    torch.testing.assert_close(ycc[1].flatten(), torch.tensor([235, 128, 128]) / 255,
                               atol=1e-3, rtol=0)


def test_smoothness_params_validated() -> None:
    from lle_core import ConfigError

    with pytest.raises(ConfigError, match="mode"):
        create("loss", {"type": "auxnet.smoothness", "mode": "abs_product"})
    term = create("loss", {"type": "auxnet.smoothness", "mode": "sci_weighted", "sigma": 0.1})
    assert term.mode == "sci_weighted" and term.sigma == 0.1
