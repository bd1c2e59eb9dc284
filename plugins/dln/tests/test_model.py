"""DLN architecture: parameter counts (official code), γ knob, clamping, input gate, FA fusion."""

import pytest
import torch

from lle_core import create
from lle_core.errors import ShapeError
from lle_dln.blocks import LBP, DarkenBlock, FAFusion, LightenBlock
from lle_dln.model import DLN, count_parameters


def test_param_count_matches_spec():
    model = DLN()
    assert count_parameters(model) == 700_586
    assert [count_parameters(lbp) for lbp in model.lbps] == [151_628, 157_260, 163_916]


def test_registered_model_has_paper_size():
    model = create("model", "dln.model")
    assert isinstance(model, DLN)
    assert count_parameters(model) == 700_586


def test_prelu_single_slope_and_kaiming_init():
    model = DLN(dim=16)
    prelus = [m for m in model.modules() if isinstance(m, torch.nn.PReLU)]
    assert prelus and all(p.weight.numel() == 1 for p in prelus)
    assert all(p.weight.item() == pytest.approx(0.25) for p in prelus)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(c.bias.abs().sum().item() == 0.0 for c in convs)
    # Kaiming normal (fan_in, gain sqrt(2)): weight std ≈ sqrt(2 / fan_in)
    conv = model.shallow[0].conv
    fan_in = conv.weight[0].numel()
    assert conv.weight.std().item() == pytest.approx((2 / fan_in) ** 0.5, rel=0.2)


def test_lighten_and_darken_blocks_differ_only_in_offset_sign():
    torch.manual_seed(0)
    light, dark = LightenBlock(8), DarkenBlock(8)
    dark.load_state_dict(light.state_dict())
    x = torch.rand(2, 8, 9, 7)
    code = light.encode(x)
    off = light.offset(code)
    assert torch.allclose(light(x), light.decode(code + off))
    assert torch.allclose(dark(x), light.decode(code - off))


def test_lbp_shapes():
    assert LBP(24, 8)(torch.rand(1, 24, 5, 6)).shape == (1, 8, 5, 6)


def test_gamma_knob_scales_the_residual():
    torch.manual_seed(0)
    base = DLN(dim=8).eval()
    boosted = DLN(dim=8, brightness_gamma=2.5).eval()
    boosted.load_state_dict(base.state_dict())
    x = torch.rand(1, 3, 12, 10) * 0.3
    res = base.forward_train(x)["residual"]
    assert torch.allclose(boosted.forward_train(x)["pred"], x + 2.5 * res, atol=1e-6)
    assert torch.allclose(base.forward_train(x)["pred"], x + res, atol=1e-6)
    zero = DLN(dim=8, brightness_gamma=0.0).eval()
    assert torch.equal(zero(x), x)


def test_clamped_in_eval_but_not_in_training():
    torch.manual_seed(0)
    model = DLN(dim=8)
    with torch.no_grad():
        model.to_residual.bias.fill_(3.0)  # push far above 1
    x = torch.rand(1, 3, 8, 8)
    model.train()
    raw = model(x)
    assert raw.max() > 1.5
    model.eval()
    out = model(x)
    assert out.max() <= 1.0 and out.min() >= 0.0
    assert torch.allclose(out, raw.detach().clamp(0, 1))


def test_input_gate_brightness_map():
    x = torch.rand(2, 3, 4, 5)
    gated = DLN.gate(x)
    assert gated.shape == (2, 4, 4, 5)
    assert torch.allclose(gated[:, :3], 2 * x - 1)
    assert torch.allclose(gated[:, 3], x.max(dim=1).values)


def test_wrong_channels_raise_shape_error():
    with pytest.raises(ShapeError, match=r"dln\.model"):
        DLN(dim=8)(torch.rand(1, 4, 8, 8))


def test_fa_fusion_contract_and_both_inputs_matter():
    fuse = create("fusion", "dln.fa", runtime={"channels": 6})
    assert isinstance(fuse, FAFusion)
    a = torch.rand(2, 6, 5, 7, requires_grad=True)
    b = torch.rand(2, 6, 5, 7, requires_grad=True)
    out = fuse(a, b)
    assert out.shape == (2, 6, 5, 7)
    out.sum().backward()
    assert a.grad.abs().sum() > 0 and b.grad.abs().sum() > 0
    with pytest.raises(ShapeError):
        fuse(a, b[:, :5])


def test_zero_residual_init_starts_from_identity_and_still_learns():
    model = DLN(dim=8, residual_init="zero").eval()
    x = torch.rand(1, 3, 10, 12) * 0.3
    assert torch.equal(model(x), x)
    model.train()
    model.forward_train(x)["pred"].sum().backward()
    assert model.to_residual.weight.grad.abs().sum() > 0
    kaiming = DLN(dim=8).eval()
    assert not torch.equal(kaiming(x), x)
