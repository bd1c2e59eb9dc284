"""AuxNet-specific model tests: parameter counts, one-stage inference, guarded division."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from lle_auxnet.blocks import (
    IlluminationEstimator,
    InceptionDilatedStem,
    InceptionStemParams,
    SelfCalibrator,
)
from lle_auxnet.losses import stage_fidelity
from lle_auxnet.model import AuxNet
from lle_core import ConfigError, create


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_match_spec_table() -> None:
    # Our layer lists (AuxNet Sec. 3.2 reports 0.0013M): FE 448 + H_theta 847 = 1,295 at
    # inference; the calibrator adds 5,619.
    assert n_params(InceptionDilatedStem()) == 448
    assert n_params(IlluminationEstimator()) == 847
    assert n_params(SelfCalibrator()) == 5619
    model = create("model", "auxnet.model")
    assert model.inference_parameter_count() == 1295
    assert n_params(model) == 1295 + 5619
    exported = {k: v for k, v in model.export_state_dict().items() if v.is_floating_point()}
    exported_params = sum(
        v.numel() for k, v in exported.items() if not k.endswith(("running_mean", "running_var"))
    )
    assert exported_params == 1295


def test_calibrator_absent_from_export() -> None:
    model = AuxNet()
    exported = model.export_state_dict()
    assert not any(k.startswith("calibrator") for k in exported)
    assert any(k.startswith("calibrator") for k in model.state_dict())
    fresh = AuxNet()
    # the exported weights load into a fresh model without the calibrator
    missing, unexpected = fresh.load_state_dict(exported, strict=False)
    assert not unexpected
    assert missing and all(k.startswith("calibrator.") for k in missing)


@pytest.mark.parametrize("training", [False, True])
def test_inference_equals_first_training_stage(training: bool) -> None:
    torch.manual_seed(0)
    model = AuxNet(stages=3)
    model.train(training)
    low = torch.rand(2, 3, 21, 30) * 0.3
    out = model(low)
    train_out = model.forward_train(low)
    torch.testing.assert_close(out, train_out["pred"], rtol=0, atol=1e-6)
    if not training:
        with torch.no_grad():  # the folded-BN fast path gives the same numbers
            torch.testing.assert_close(model(low), train_out["pred"], rtol=1e-5, atol=1e-6)


def test_inference_runs_one_stage_only() -> None:
    model = AuxNet(stages=3).eval()
    calls = {"stem": 0, "calibrator": 0}
    model.stem.register_forward_hook(lambda *_: calls.__setitem__("stem", calls["stem"] + 1))
    model.calibrator.register_forward_hook(
        lambda *_: calls.__setitem__("calibrator", calls["calibrator"] + 1)
    )
    model(torch.rand(1, 3, 16, 16))
    assert calls == {"stem": 1, "calibrator": 0}
    model.forward_train(torch.rand(1, 3, 16, 16))
    assert calls == {"stem": 4, "calibrator": 3}


def test_forward_train_outputs_follow_the_stage_equations() -> None:
    torch.manual_seed(1)
    model = AuxNet(stages=3).eval()
    low = torch.rand(2, 3, 17, 19)
    with torch.no_grad():
        out = model.forward_train(low)
    for key in ("illuminations", "stage_inputs", "reflectances"):
        assert out[key].shape == (2, 3, 3, 17, 19)
    illum, inputs = out["illuminations"], out["stage_inputs"]
    torch.testing.assert_close(inputs[:, 0], low)  # V^0 = S
    assert float(illum.min()) >= 1e-4 and float(illum.max()) <= 1.0
    for t in range(3):
        r = torch.clamp(low / illum[:, t], 0, 1)
        torch.testing.assert_close(out["reflectances"][:, t], r)
        with torch.no_grad():
            v_next = low + model.calibrator(r)  # V^t = S + K(R^t)
        target = inputs[:, t + 1] if t < 2 else out["calibrated_input"]
        torch.testing.assert_close(target, v_next)
    torch.testing.assert_close(out["illumination"], illum[:, -1])


def test_all_black_input_is_finite_with_finite_gradients() -> None:
    model = AuxNet(stages=3)
    black = torch.zeros(2, 3, 16, 16, requires_grad=True)
    out = model(black)
    assert torch.isfinite(out).all()
    assert float(out.detach().min()) >= 0.0 and float(out.detach().max()) <= 1.0
    train_out = model.forward_train(black)
    loss = stage_fidelity(train_out["illuminations"], train_out["stage_inputs"])
    loss = loss + out.mean() + train_out["calibrated_input"].mean()
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert black.grad is not None and torch.isfinite(black.grad).all()
    model.eval()
    with torch.no_grad():
        fast = model(torch.zeros(1, 3, 9, 9))
    assert torch.isfinite(fast).all() and float(fast.abs().max()) == 0.0


def test_output_range_for_extreme_inputs() -> None:
    model = AuxNet().eval()
    x = torch.cat([torch.zeros(1, 3, 12, 12), torch.ones(1, 3, 12, 12),
                   torch.rand(1, 3, 12, 12) * 1e-3])
    with torch.no_grad():
        y = model(x)
    assert torch.isfinite(y).all() and float(y.min()) >= 0 and float(y.max()) <= 1


def test_stem_variants_and_wiring() -> None:
    reduced = InceptionDilatedStem(dilations=(0, 1, 2, 3), reduction_channels=4)
    assert reduced.out_channels == 16
    assert reduced(torch.rand(1, 3, 10, 10)).shape == (1, 16, 10, 10)
    # 1x1 branch 3*4+4; three branches 1x1 (3->4) + 3x3 (4->4)
    assert n_params(reduced) == 16 + 3 * (16 + 148)
    wide = InceptionDilatedStem(branch_channels=[2, 4, 6, 8], dilations=[1, 2, 4, 8])
    assert wide.out_channels == 20 and wide.receptive_radius == 8
    once = AuxNet(fe_wiring="once", stages=2)
    assert once.illumination.in_channels == 19
    out = once.forward_train(torch.rand(1, 3, 12, 12))
    assert out["illuminations"].shape == (1, 2, 3, 12, 12)
    once.eval()
    torch.testing.assert_close(once(torch.ones(1, 3, 8, 8) * 0.2),
                               once.forward_train(torch.ones(1, 3, 8, 8) * 0.2)["pred"])


def test_bad_configs_name_the_key() -> None:
    with pytest.raises(ConfigError, match="fe_wiring"):
        create("model", {"type": "auxnet.model", "fe_wiring": "twice"})
    with pytest.raises(ConfigError, match="branch_channels"):
        create("model", {"type": "auxnet.model", "branch_channels": [4, 4]})
    with pytest.raises(ValidationError, match="dilations"):
        InceptionStemParams(dilations=[1, -2])


def test_bfloat16_inference_close_to_float32() -> None:
    model = AuxNet().eval()
    x = torch.rand(1, 3, 16, 16) * 0.5
    with torch.no_grad():
        ref = model(x)
        half = model.to(torch.bfloat16)(x.to(torch.bfloat16)).float()
    assert torch.isfinite(half).all()
    assert float((half - ref).abs().mean()) < 0.02
