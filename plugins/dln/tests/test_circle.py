"""Circle learning scheme (DLN slides, "Constraint of the circle learning")."""

import pytest
import torch

from lle_core import create, parse_spec
from lle_core.errors import ConfigError
from lle_dln.circle import CircleLearning
from lle_dln.model import DLN, count_parameters


def _scheme(reading="cycle", dim=8):
    model = create("model", {"type": "dln.model", "dim": dim})
    loss = create("loss", {"type": "core.composite", "terms": [
        {"type": "core.ssim", "padding": "valid"},
        {"type": "core.tv", "weight": 0.001, "mode": "l2_dln"},
    ]})
    return create("trainer", {"type": "dln.circle", "reading": reading},
                  runtime={"model": model, "loss": loss})


def _batch(seed=0, side=24):
    g = torch.Generator().manual_seed(seed)
    high = torch.rand(2, 3, side, side, generator=g) * 0.5 + 0.4
    return {"low": high * 0.2, "high": high, "name": ["a", "b"]}


def test_darkening_model_same_architecture_fresh_weights():
    scheme = _scheme()
    light, dark = scheme.modules()["model"], scheme.modules()["darken"]
    assert isinstance(dark, DLN) and dark is not light
    assert [k for k, _ in light.named_parameters()] == [k for k, _ in dark.named_parameters()]
    assert not torch.equal(light.shallow[0].conv.weight, dark.shallow[0].conv.weight)


def test_paper_size_pair_param_count():
    scheme = CircleLearning(model=DLN(), loss=None)
    assert count_parameters(scheme.model) + count_parameters(scheme.darken) == 1_401_172
    assert sum(p.numel() for p in scheme.parameters()) == 1_401_172


def test_one_step_updates_both_models_and_exports_only_lightening():
    torch.manual_seed(0)
    scheme = _scheme()
    scheme.train(True)
    before = {name: [p.detach().clone() for p in m.parameters()]
              for name, m in scheme.modules().items()}
    optim = torch.optim.Adam(scheme.parameters(), lr=1e-3)
    result = scheme.training_step(_batch())
    assert {"l_ssim", "l_tv", "l_dark_ssim", "l_dark_tv", "loss_light", "loss_dark"} <= set(
        result.logs)
    assert result.loss.item() == pytest.approx(result.logs["loss_light"] + result.logs["loss_dark"],
                                               rel=1e-5)
    optim.zero_grad()
    result.loss.backward()
    optim.step()
    for name, m in scheme.modules().items():
        changed = [not torch.equal(a, b) for a, b in zip(before[name], m.parameters(), strict=True)]
        assert any(changed), f"{name} was not updated"
    assert scheme.inference_model() is scheme.modules()["model"]
    assert list(scheme.modules()) == ["model", "darken"]
    exported = scheme.inference_model().export_state_dict()
    assert set(exported) == set(scheme.model.state_dict())


@pytest.mark.parametrize("reading", ["cycle", "decoupled"])
def test_reading_controls_gradient_flow_into_lightening(reading):
    torch.manual_seed(0)
    scheme = _scheme(reading)
    scheme.train(True)
    batch = _batch(1)
    light = scheme.model.forward_train(batch["low"])
    dark_input = light["pred"] if reading == "cycle" else batch["high"]
    dark_pred = scheme.darken.forward_train(dark_input)["pred"]
    dark_loss, _ = scheme.loss({"pred": dark_pred, "high": batch["low"], "low": dark_input})
    dark_loss.backward()
    reached = any(p.grad is not None and p.grad.abs().sum() > 0
                  for p in scheme.model.parameters())
    assert reached == (reading == "cycle")


def test_explicit_darken_model_and_bad_reading():
    model = DLN(dim=8)
    scheme = CircleLearning(model=model, darken_model={"type": "dln.model", "dim": 4})
    assert scheme.darken.dim == 4
    with pytest.raises(ConfigError):
        CircleLearning(model=model, reading="sideways")
    with pytest.raises(ConfigError):
        parse_spec("trainer", {"type": "dln.circle", "reading": "sideways"})


def test_fresh_copy_without_spec_uses_reset_parameters():
    model = DLN(dim=8)
    scheme = CircleLearning(model=model)
    assert not torch.equal(model.to_residual.weight, scheme.darken.to_residual.weight)
