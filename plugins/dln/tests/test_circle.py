"""Circle learning trainer (DLN slides, "Constraint of the circle learning")."""

import pytest
import torch

from lle_core import create, parse_spec
from lle_core.errors import ConfigError
from lle_dln.circle import CircleLearningTrainer
from lle_dln.model import DLN, count_parameters


def _trainer(reading="cycle", dim=8):
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
    trainer = _trainer()
    light, dark = trainer.modules()["model"], trainer.modules()["darken"]
    assert isinstance(dark, DLN) and dark is not light
    assert [k for k, _ in light.named_parameters()] == [k for k, _ in dark.named_parameters()]
    assert not torch.equal(light.shallow[0].conv.weight, dark.shallow[0].conv.weight)


def test_paper_size_pair_param_count():
    trainer = CircleLearningTrainer(model=DLN(), loss=None)
    assert count_parameters(trainer.model) + count_parameters(trainer.darken) == 1_401_172
    assert sum(p.numel() for p in trainer.parameters()) == 1_401_172


def test_one_step_updates_both_models_and_exports_only_lightening():
    torch.manual_seed(0)
    trainer = _trainer()
    trainer.train(True)
    before = {name: [p.detach().clone() for p in m.parameters()]
              for name, m in trainer.modules().items()}
    optim = torch.optim.Adam(trainer.parameters(), lr=1e-3)
    result = trainer.training_step(_batch())
    assert {"l_ssim", "l_tv", "l_dark_ssim", "l_dark_tv", "loss_light", "loss_dark"} <= set(
        result.logs)
    assert result.loss.item() == pytest.approx(result.logs["loss_light"] + result.logs["loss_dark"],
                                               rel=1e-5)
    optim.zero_grad()
    result.loss.backward()
    optim.step()
    for name, m in trainer.modules().items():
        changed = [not torch.equal(a, b) for a, b in zip(before[name], m.parameters(), strict=True)]
        assert any(changed), f"{name} was not updated"
    assert trainer.inference_model() is trainer.modules()["model"]
    assert list(trainer.modules()) == ["model", "darken"]
    exported = trainer.inference_model().export_state_dict()
    assert set(exported) == set(trainer.model.state_dict())


@pytest.mark.parametrize("reading", ["cycle", "decoupled"])
def test_reading_controls_gradient_flow_into_lightening(reading):
    torch.manual_seed(0)
    trainer = _trainer(reading)
    trainer.train(True)
    batch = _batch(1)
    light = trainer.model.forward_train(batch["low"])
    dark_input = light["pred"] if reading == "cycle" else batch["high"]
    dark_pred = trainer.darken.forward_train(dark_input)["pred"]
    dark_loss, _ = trainer.loss({"pred": dark_pred, "high": batch["low"], "low": dark_input})
    dark_loss.backward()
    reached = any(p.grad is not None and p.grad.abs().sum() > 0
                  for p in trainer.model.parameters())
    assert reached == (reading == "cycle")


def test_explicit_darken_model_and_bad_reading():
    model = DLN(dim=8)
    trainer = CircleLearningTrainer(model=model, darken_model={"type": "dln.model", "dim": 4})
    assert trainer.darken.dim == 4
    with pytest.raises(ConfigError):
        CircleLearningTrainer(model=model, reading="sideways")
    with pytest.raises(ConfigError):
        parse_spec("trainer", {"type": "dln.circle", "reading": "sideways"})


def test_fresh_copy_without_spec_uses_reset_parameters():
    model = DLN(dim=8)
    trainer = CircleLearningTrainer(model=model)
    assert not torch.equal(model.to_residual.weight, trainer.darken.to_residual.weight)
