"""NEID model: sizes in both modes, the DR head's absence at inference, ablations, init."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from lle_core import ConfigError, create
from lle_neid.model import NEID
from lle_neid.resize import bicubic_downsample

sides = st.integers(min_value=1, max_value=41)


def build(widths, **params):
    return create("model", "neid.model", widths=widths, **params).eval()


@given(h=sides, w=sides)
def test_field_to_command_output_is_exactly_twice_the_input(h, w):
    model = build([4, 4, 8, 8, 8], mode="field_to_command")
    assert model.capabilities.scale == 2
    with torch.no_grad():
        out = model(torch.rand(1, 3, h, w))
    assert out.shape == (1, 3, 2 * h, 2 * w)
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("size", [(17, 23), (1, 1), (3, 2), (31, 45), (16, 48)])
def test_protocol_output_has_the_input_size(size, tiny_widths):
    model = build(tiny_widths)
    assert model.capabilities.scale == 1
    with torch.no_grad():
        out = model(torch.rand(2, 3, *size))
    assert out.shape == (2, 3, *size)
    assert out.min() >= 0 and out.max() <= 1


def test_protocol_is_bicubic_down_then_x2_network(tiny_widths, images):
    """Even sizes: forward == clamp(network(bicubic ↓2 input)) exactly, no resize at the end."""
    model = build(tiny_widths, init_std=None)
    x = images(2, 40, 24, seed=1)
    with torch.no_grad():
        expected = model.enhance_lowres(bicubic_downsample(x, 2))["pred"].clamp(0, 1)
        assert torch.equal(model(x), expected)
        assert not torch.equal(model(x), build(tiny_widths, init_std=None,
                                              downsample_antialias=False)(x))


def test_odd_protocol_sizes_reuse_the_even_result(tiny_widths, images):
    """An odd input is reflect-padded to even; the crop keeps the top-left H x W."""
    model = build(tiny_widths, init_std=None)
    x = images(1, 33, 21, seed=2)
    padded = torch.nn.functional.pad(x, (0, 1, 0, 1), mode="reflect")
    with torch.no_grad():
        assert torch.equal(model(x), model(padded)[..., :33, :21])


@pytest.mark.parametrize("size", [(8, 8), (13, 7), (16, 32)])
def test_forward_train_returns_linear_pred_and_dr_at_twice_the_size(size, tiny_widths):
    model = build(tiny_widths, init_std=None).train()
    out = model.forward_train(torch.rand(2, 3, *size))
    assert set(out) == {"pred", "dr"}
    for v in out.values():
        assert v.shape == (2, 3, 2 * size[0], 2 * size[1])
    model.eval()
    with torch.no_grad():
        ftc = NEID(widths=tiny_widths, mode="field_to_command", init_std=None)
        ftc.load_state_dict(model.state_dict())
        x = torch.rand(1, 3, *size)
        assert torch.allclose(ftc.eval()(x), model.forward_train(x)["pred"].clamp(0, 1))


def test_training_output_is_linear_and_inference_output_clamped(tiny_widths, images):
    model = build(tiny_widths, init_std=0.5)
    x = images(1, 16, 16, seed=9)
    with torch.no_grad():
        pred = model.forward_train(x)["pred"]
        assert pred.min() < 0 or pred.max() > 1  # large init: the linear head overshoots
        out = model.enhance_lowres(x)["pred"]
        assert torch.equal(out, pred)
        ftc = NEID(widths=tiny_widths, mode="field_to_command", init_std=None).eval()
        ftc.load_state_dict(model.state_dict())
        assert torch.equal(ftc(x), pred.clamp(0, 1))


def test_dr_head_has_no_effect_on_inference_and_is_not_exported(tiny_widths, images):
    model = build(tiny_widths)
    x = images(2, 30, 26, seed=3)
    with torch.no_grad():
        before = model(x)
        dr_before = model.forward_train(bicubic_downsample(x[..., :30, :26], 2))["dr"]
        for p in model.dr_head.parameters():
            p.add_(torch.randn_like(p))
        assert torch.equal(model(x), before)
        dr_after = model.forward_train(bicubic_downsample(x[..., :30, :26], 2))["dr"]
        assert not torch.equal(dr_before, dr_after)

    exported = model.export_state_dict()
    assert exported and not any(k.startswith("dr_head.") for k in exported)
    assert any(k.startswith("dr_decoder.") for k in exported)  # DR decoder feeds FF at inference
    assert set(model.state_dict()) - set(exported) == {k for k in model.state_dict()
                                                       if k.startswith("dr_head.")}
    fresh = build(tiny_widths)
    result = fresh.load_state_dict(exported, strict=False)
    assert not result.unexpected_keys
    assert all(k.startswith("dr_head.") for k in result.missing_keys)
    with torch.no_grad():
        assert torch.equal(fresh(x), before)


def test_without_ff_the_whole_dr_branch_is_training_only(tiny_widths, images):
    model = build(tiny_widths, feature_fusion=False)
    x = images(1, 24, 24, seed=4)
    with torch.no_grad():
        before = model(x)
        for p in model.dr_decoder.parameters():
            p.add_(1.0)
        assert torch.equal(model(x), before)
    exported = model.export_state_dict()
    assert not any(k.startswith(("dr_head.", "dr_decoder.")) for k in exported)


ABLATIONS = {
    "LE": {"dr_branch": False, "feature_fusion": False},
    "LE+DR": {"dr_branch": True, "feature_fusion": False},
    "LE+DR+FF": {"dr_branch": True, "feature_fusion": True},
}


@pytest.mark.parametrize("row", list(ABLATIONS))
def test_ablation_rows_have_the_right_parts(row, tiny_widths):
    model = build(tiny_widths, **ABLATIONS[row])
    assert (model.dr_decoder is not None) == (row != "LE")
    assert (model.dr_head is not None) == (row != "LE")
    assert (model.fusions is not None) == (row == "LE+DR+FF")
    keys = set(model.train().forward_train(torch.rand(1, 3, 16, 16)))
    assert keys == ({"pred"} if row == "LE" else {"pred", "dr"})


def test_feature_fusion_needs_the_dr_branch(tiny_widths):
    with pytest.raises(ConfigError, match="feature_fusion"):
        create("model", "neid.model", widths=tiny_widths, dr_branch=False)


def test_ff_actually_changes_the_le_path(tiny_widths, images):
    full = build(tiny_widths, init_std=0.2)
    plain = NEID(widths=tiny_widths, feature_fusion=False, init_std=None).eval()
    plain.load_state_dict(full.state_dict(), strict=False)
    x = images(1, 32, 32, seed=5)
    with torch.no_grad():
        assert not torch.allclose(full.enhance_lowres(x)["pred"], plain.enhance_lowres(x)["pred"])


@pytest.mark.parametrize(
    "fusion",
    ["core.add", "core.mul", "core.cat", {"type": "neid.channel_ff", "gate": "sk_softmax"},
     {"type": "neid.channel_ff", "gate": "residual", "reduction": 2}],
)
def test_other_fusions_plug_in(fusion, tiny_widths):
    model = build(tiny_widths, fusion=fusion)
    assert len(model.fusions) == len(tiny_widths) - 1
    assert [f.channels for f in model.fusions] == tiny_widths[:-1]
    with torch.no_grad():
        assert model(torch.rand(1, 3, 18, 14)).shape == (1, 3, 18, 14)


def test_decoder_ff_site(tiny_widths, images):
    skip = build(tiny_widths, init_std=0.2)
    dec = NEID(widths=tiny_widths, ff_site="decoder", init_std=None).eval()
    dec.load_state_dict(skip.state_dict())
    x = images(1, 20, 20, seed=6)
    with torch.no_grad():
        assert dec(x).shape == x.shape
        assert not torch.allclose(dec(x), skip(x))


def test_unknown_fusion_and_module_fusion_are_refused(tiny_widths):
    with pytest.raises(ConfigError, match="nope"):
        create("model", "neid.model", widths=tiny_widths, fusion="core.nope")
    with pytest.raises(TypeError, match="one fusion op per level"):
        NEID(widths=tiny_widths, fusion=torch.nn.Identity())


def test_paper_init_is_normal_002_with_zero_bias():
    model = NEID(widths=[32, 64, 64, 64, 64], init_std=0.02)  # the paper's (neid:paper)
    conv = model.encoder.levels[1][2]  # Conv 64 -> 64: 36,864 weights
    assert abs(conv.weight.std().item() - 0.02) < 0.002
    assert abs(conv.weight.mean().item()) < 0.002
    assert torch.count_nonzero(conv.bias) == 0
    default = NEID(widths=[32, 64, 64, 64, 64])  # default: init_std=None
    # PyTorch's default init: uniform weights (bounded by 1/sqrt(fan_in)) and non-zero biases
    assert torch.count_nonzero(default.encoder.levels[1][2].bias) > 0
    assert default.encoder.levels[1][2].weight.abs().max().item() <= 1 / 24 + 1e-6


def test_mode_can_be_switched_on_a_built_model(tiny_widths):
    model = build(tiny_widths)
    x = torch.rand(1, 3, 10, 14)
    with torch.no_grad():
        assert model(x).shape == (1, 3, 10, 14)
        model.mode = "field_to_command"
        assert model.capabilities.scale == 2
        assert model(x).shape == (1, 3, 20, 28)
