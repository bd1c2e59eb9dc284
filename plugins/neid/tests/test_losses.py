"""neid.hsv_color (paper Eq. 4-6) and the paper's composite loss."""

from __future__ import annotations

import pytest
import torch

from lle_core import create
from lle_neid.losses import HSVColorLoss, augmented_cosine, hsv_color_loss

MODES = ["linear", "circular"]


def colourful(batch: int = 2, size: int = 16, seed: int = 0, low: float = 0.2) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return low + (1 - low) * torch.rand((batch, 3, size, size), generator=g)


@pytest.mark.parametrize("mode", MODES)
def test_zero_for_identical_images(mode):
    x = colourful()
    assert hsv_color_loss(x, x, hue_mode=mode).abs().item() < 1e-6
    for flat in (torch.zeros(2, 3, 8, 8), torch.full((2, 3, 8, 8), 0.5)):
        assert hsv_color_loss(flat, flat, hue_mode=mode).abs().item() < 1e-6


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["black", "grey"])
@pytest.mark.parametrize("target_kind", ["same", "colour"])
def test_finite_with_finite_gradients_on_black_and_grey(mode, kind, target_kind):
    value = 0.0 if kind == "black" else 0.4
    pred = torch.full((2, 3, 12, 12), value, requires_grad=True)
    target = pred.detach().clone() if target_kind == "same" else colourful(size=12)
    loss = hsv_color_loss(pred, target, hue_mode=mode)
    loss.backward()
    assert torch.isfinite(loss)
    assert pred.grad is not None and torch.isfinite(pred.grad).all()


def test_prediction_is_clamped_first():
    x = colourful(seed=3)
    wild = x.clone()
    wild[:, :, :4] = 3.0  # above range
    wild[:, :, 4:8] = -2.0  # below range
    assert torch.allclose(hsv_color_loss(wild, x), hsv_color_loss(wild.clamp(0, 1), x))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("scale", [0.3, 0.5, 0.9])
def test_invariant_to_positive_brightness_scaling_without_clipping(mode, scale):
    """H and S are ratios of (max, min, channels): scaling RGB by c > 0 leaves them unchanged
    when nothing clips (values stay in [0, 1] and well above the eps of the conversion)."""
    x, y = colourful(seed=4), colourful(seed=5)
    assert hsv_color_loss(scale * x, x, hue_mode=mode).item() < 1e-4
    assert hsv_color_loss(scale * x, y, hue_mode=mode).item() == pytest.approx(
        hsv_color_loss(x, y, hue_mode=mode).item(), abs=1e-4)


def test_not_invariant_when_scaling_clips():
    x, y = colourful(seed=6), colourful(seed=7)
    assert abs(hsv_color_loss(3.0 * x, y).item() - hsv_color_loss(x, y).item()) > 1e-3


def test_sensitive_to_colour_changes():
    x = colourful(seed=8)
    swapped = x[:, [1, 2, 0]]
    assert hsv_color_loss(swapped, x).item() > 0.01
    grey = x.mean(dim=1, keepdim=True).expand_as(x)
    assert hsv_color_loss(grey, x).item() > 0.5  # saturation map 0 vs positive: cos ~ 0


def hue_image(h_left: float, h_right: float, size: int = 8) -> torch.Tensor:
    """Fully saturated image whose left half has hue h_left and right half h_right."""
    import colorsys

    img = torch.empty(1, 3, size, size)
    img[..., : size // 2] = torch.tensor(colorsys.hsv_to_rgb(h_left, 1.0, 1.0)).view(3, 1, 1)
    img[..., size // 2 :] = torch.tensor(colorsys.hsv_to_rgb(h_right, 1.0, 1.0)).view(3, 1, 1)
    return img


def test_circular_hue_mode_respects_hue_wrap_around():
    pred, target = hue_image(0.01, 0.5), hue_image(0.99, 0.5)  # reds on both sides of 0
    linear = hsv_color_loss(pred, target, channels=("hue",), hue_mode="linear").item()
    circular = hsv_color_loss(pred, target, channels=("hue",), hue_mode="circular").item()
    assert circular < 0.01
    assert linear > 0.3


def test_channels_option_sums_the_selected_terms():
    x, y = colourful(seed=9), colourful(seed=10)
    h = hsv_color_loss(x, y, channels=("hue",))
    s = hsv_color_loss(x, y, channels=("saturation",))
    assert torch.allclose(hsv_color_loss(x, y), h + s)


def test_augmented_cosine_is_a_bounded_cosine():
    g = torch.Generator().manual_seed(0)
    p, t = torch.randn((4, 50), generator=g), torch.randn((4, 50), generator=g)
    cos = augmented_cosine(p, t, eps=1e-12)
    assert torch.allclose(cos, torch.nn.functional.cosine_similarity(p, t), atol=1e-5)
    assert (augmented_cosine(p, -p, eps=1e-6) >= -1).all()
    assert torch.allclose(augmented_cosine(p, 3 * p), torch.ones(4))


def test_registered_term_weight_and_keys():
    term = create("loss", {"type": "neid.hsv_color", "weight": 0.1, "hue_mode": "circular"})
    assert isinstance(term, HSVColorLoss)
    assert term.weight == pytest.approx(0.1) and term.term_name == "hsv_color"
    x, y = colourful(seed=11), colourful(seed=12)
    assert torch.allclose(term.from_context({"pred": x, "high": y}),
                          hsv_color_loss(x, y, hue_mode="circular"))
