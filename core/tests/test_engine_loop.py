"""The training loop: budgets, EMA, gradient clipping, trainers, logs, validation, AMP refusal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from lle_core.engine import load_model, train
from lle_core.engine.loop import build_loss
from lle_core.engine.trainers import SupervisedTrainer
from lle_core.errors import ConfigError
from lle_core.registry import Entry, registries
from lle_core.testing.toys import toy_components


@pytest.fixture(autouse=True)
def _toys():
    with toy_components():
        yield


def cfg(**sections: Any) -> dict:
    data = {
        "model": {"type": "toy.cnn", "width": 4},
        "loss": "toy.l1",
        "data": {"train": {"type": "toy.pairs", "count": 6}, "batch_size": 2},
        "optim": {"lr": 1e-2},
        "budget": {"steps": 2},
        "train": {"log_every": 1},
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def test_steps_budget(tmp_path: Path):
    result = train(cfg(budget={"steps": 4}), out_dir=tmp_path, progress=False)
    assert result.stopped_by == "steps"
    assert result.steps == 4
    assert result.epochs == 1  # 3 steps per epoch
    assert result.latest_checkpoint == tmp_path / "latest.safetensors"
    assert result.latest_checkpoint.is_file()
    assert result.checkpoint == result.latest_checkpoint  # no validation: no best
    assert (tmp_path / "latest.state.pt").is_file()
    assert (tmp_path / "config.yaml").is_file()


def test_epochs_budget_wins_when_first(tmp_path: Path):
    result = train(cfg(budget={"steps": 100, "epochs": 2}), out_dir=tmp_path, progress=False)
    assert result.stopped_by == "epochs"
    assert result.epochs == 2
    assert result.steps == 6


def test_minutes_budget(tmp_path: Path):
    result = train(cfg(budget={"minutes": 1e-6}), out_dir=tmp_path, progress=False)
    assert result.stopped_by == "minutes"
    assert result.steps >= 1


def test_logs_and_metrics_files(tmp_path: Path):
    data = cfg(budget={"steps": 3})
    data["data"]["val"] = {"type": "toy.pairs", "count": 2, "size": 18}
    data["train"] = {"log_every": 1, "val_every": 2, "best_metric": "loss"}
    result = train(data, out_dir=tmp_path, progress=False)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    train_steps = [r["step"] for r in records if r["kind"] == "train"]
    val_steps = [r["step"] for r in records if r["kind"] == "val"]
    assert train_steps == [1, 2, 3]
    assert val_steps == [2, 3]
    assert all("l_toy_l1" in r and "lr" in r for r in records if r["kind"] == "train")
    assert records == result.history
    log = (tmp_path / "train.log").read_text()
    assert "step 3" in log and "validation at step 2" in log
    # validation ran on 18-px images with a multiple_of=4 model (padded and cropped back)
    val = [r for r in records if r["kind"] == "val"]
    assert val[0]["images"] == 2
    assert result.best_metric == min(r["loss"] for r in val)
    assert result.best_checkpoint == tmp_path / "best.safetensors"
    assert result.checkpoint == result.best_checkpoint  # the one rule: best, else latest


def test_validation_psnr_when_metrics_are_available(tmp_path: Path):
    data = cfg(budget={"steps": 1})
    data["data"]["val"] = {"type": "toy.pairs", "count": 2}
    result = train(data, out_dir=tmp_path, progress=False)
    val = [r for r in result.history if r["kind"] == "val"]
    assert val and "psnr" in val[0] and "ssim" in val[0]
    assert result.best_metric == pytest.approx(val[-1]["psnr"])


def test_refuses_to_overwrite_a_run(tmp_path: Path):
    train(cfg(budget={"steps": 1}), out_dir=tmp_path, progress=False)
    with pytest.raises(ConfigError, match="resume"):
        train(cfg(budget={"steps": 1}), out_dir=tmp_path, progress=False)


def test_paired_trainer_refuses_unpaired_data(tmp_path: Path):
    data = cfg(data={"train": {"type": "toy.pairs", "paired": False}})
    with pytest.raises(ConfigError) as err:
        train(data, out_dir=tmp_path, progress=False)
    paths = dict(err.value.problems)
    assert "trainer" in paths and "core.unsupervised" in paths["trainer"]
    assert "loss" in paths  # toy.l1 reads 'high'


def test_unsupervised_trainer_on_unpaired_data(tmp_path: Path):
    data = cfg(
        trainer="core.unsupervised",
        loss="toy.low_l1",
        data={"train": {"type": "toy.pairs", "paired": False}},
    )
    result = train(data, out_dir=tmp_path, progress=False)
    assert result.steps == 2
    assert "l_toy_low_l1" in result.history[0]


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_model(path).state_dict()


def test_ema_weights_are_exported(tmp_path: Path):
    plain = train(cfg(budget={"steps": 3}), out_dir=tmp_path / "a", progress=False)
    ema = train(
        cfg(budget={"steps": 3}, train={"ema": 0.5}), out_dir=tmp_path / "b", progress=False
    )
    raw = plain.latest_checkpoint
    from lle_core.checkpoint import load_state

    state = load_state(tmp_path / "b" / "latest.state.pt")
    model_weights = state["modules"]["model"]
    ema_weights = state["ema"]
    # the raw training trajectory is the same with and without EMA
    for k, v in _weights(raw).items():
        torch.testing.assert_close(v, model_weights[k], rtol=0, atol=0)
    # the exported weights are the EMA: e_t = 0.5 e_{t-1} + 0.5 w_t, different from w_3
    exported = _weights(ema.latest_checkpoint)
    for k in exported:
        torch.testing.assert_close(exported[k], ema_weights[k], rtol=0, atol=0)
    assert any(not torch.equal(exported[k], model_weights[k]) for k in exported)


def test_ema_matches_a_hand_computed_average(tmp_path: Path):
    """Track the weights after every step through a hook and recompute the EMA."""
    seen: list[dict[str, torch.Tensor]] = []

    class Recording(SupervisedTrainer):
        def on_step_end(self, step, result):
            seen.append({k: v.detach().clone() for k, v in self.model.state_dict().items()})

        def on_train_start(self, run):
            seen.append({k: v.detach().clone() for k, v in self.model.state_dict().items()})

    regs = registries()
    regs.add(Entry("trainer", "toy.recording", Recording, plugin="toy"))
    result = train(
        cfg(trainer="toy.recording", budget={"steps": 3}, train={"ema": 0.9}),
        out_dir=tmp_path, progress=False,
    )
    expected = dict(seen[0])
    for n, w in enumerate(seen[1:]):
        d = min(0.9, (1 + n) / (10 + n))  # decay warm-up: 0.1, 0.18, 0.25 for 3 steps
        expected = {k: d * expected[k] + (1 - d) * w[k] for k in expected}
    got = _weights(result.latest_checkpoint)
    for k in got:
        torch.testing.assert_close(got[k], expected[k], rtol=1e-5, atol=1e-6)


def test_gradient_clipping_bounds_the_update(tmp_path: Path):
    # With SGD-like reasoning for Adam the first step moves each weight by ~lr regardless of
    # the gradient scale; check instead that the clipped norm is logged and respected.
    grads: list[float] = []

    class Probe(SupervisedTrainer):
        def on_step_end(self, step, result):
            total = torch.sqrt(sum((p.grad**2).sum() for p in self.model.parameters()))
            grads.append(float(total))

    registries().add(Entry("trainer", "toy.probe", Probe, plugin="toy"))
    result = train(
        cfg(trainer="toy.probe", budget={"steps": 2}, train={"grad_clip": 1e-3, "log_every": 1}),
        out_dir=tmp_path, progress=False,
    )
    assert all(g <= 1e-3 * (1 + 1e-4) for g in grads)
    logged = [r["grad_norm"] for r in result.history if r["kind"] == "train"]
    assert logged and all(n > 1e-3 for n in logged)  # the pre-clip norm was larger


def test_hooks_are_called_in_order(tmp_path: Path):
    calls: list[str] = []

    class Hooked(SupervisedTrainer):
        def on_train_start(self, run):
            calls.append(f"start:{run.steps_per_epoch}")

        def on_step_end(self, step, result):
            calls.append(f"step:{step}")

        def on_epoch_end(self, epoch):
            calls.append(f"epoch:{epoch}")

        def on_train_end(self, run):
            calls.append(f"end:{run.step}")

    registries().add(Entry("trainer", "toy.hooked", Hooked, plugin="toy"))
    train(cfg(trainer="toy.hooked", budget={"steps": 4}), out_dir=tmp_path, progress=False)
    assert calls == ["start:3", "step:1", "step:2", "step:3", "epoch:0", "step:4", "end:4"]


def test_trainer_may_refuse_to_start(tmp_path: Path):
    class Refusing(SupervisedTrainer):
        def on_train_start(self, run):
            raise ConfigError([("trainer", "stage 2 needs stage-1 weights")])

    registries().add(Entry("trainer", "toy.refusing", Refusing, plugin="toy"))
    with pytest.raises(ConfigError, match="stage-1"):
        train(cfg(trainer="toy.refusing"), out_dir=tmp_path, progress=False)


def test_single_term_is_wrapped_to_total_and_logs():
    from lle_core.spec import parse_spec

    loss = build_loss(parse_spec("loss", {"type": "toy.l1", "weight": 2.0}))
    pred, high = torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    total, logs = loss({"pred": pred, "high": high})
    assert float(total) == pytest.approx(2.0)
    assert float(logs["l_toy_l1"]) == pytest.approx(1.0)


def test_amp_refused_when_model_does_not_declare_the_dtype(tmp_path: Path):
    from lle_core.registry import Capabilities
    from lle_core.testing.toys import ToyCNN, ToyCNNParams

    class Fp32Only(ToyCNN):
        default_capabilities = Capabilities(multiple_of=4, dtypes=("float32",))

        @property
        def capabilities(self):
            return self.default_capabilities

    registries().add(Entry("model", "toy.fp32", Fp32Only, ToyCNNParams, plugin="toy"))
    with pytest.raises(ConfigError) as err:
        train(cfg(model="toy.fp32", train={"amp": True}), out_dir=tmp_path, progress=False)
    assert "train.amp" in dict(err.value.problems)
    assert "bfloat16" in str(err.value)


def test_amp_bf16_on_cpu_trains(tmp_path: Path):
    """The forward pass really runs in bf16, the loss in float32, and the weights stay fp32."""
    seen: list[tuple[torch.dtype, torch.dtype]] = []
    conv_out: list[torch.dtype] = []

    class Recording(SupervisedTrainer):
        def on_train_start(self, run):
            conv = next(m for m in self.model.modules() if isinstance(m, torch.nn.Conv2d))
            conv.register_forward_hook(lambda _m, _i, out: conv_out.append(out.dtype))

        def on_step_end(self, step, result):
            seen.append((conv_out[-1], result.loss.dtype))

    registries().add(Entry("trainer", "toy.amp_recording", Recording, plugin="toy"))
    result = train(cfg(trainer="toy.amp_recording", train={"amp": True}), out_dir=tmp_path,
                   progress=False)
    assert result.steps == 2
    assert seen == [(torch.bfloat16, torch.float32)] * 2
    weights = _weights(result.latest_checkpoint)
    assert all(torch.isfinite(v).all() and v.dtype == torch.float32 for v in weights.values())
    seen.clear()
    train(cfg(trainer="toy.amp_recording"), out_dir=tmp_path / "fp32", progress=False)
    assert seen == [(torch.float32, torch.float32)] * 2  # amp off: nothing in bf16


def test_loss_runs_in_float32_under_autocast():
    """SSIM of bf16 tensors cancels to -inf; compute_loss casts up and disables autocast."""
    from lle_core import create, parse_spec

    trainer = SupervisedTrainer(model=create("model", {"type": "toy.cnn", "width": 4}),
                              loss=build_loss(parse_spec("loss", "core.ssim")))
    g = torch.Generator().manual_seed(0)
    high = torch.rand(2, 3, 24, 24, generator=g)
    pred = (high + 0.01 * torch.randn(2, 3, 24, 24, generator=g)).clamp(0, 1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        result = trainer.compute_loss({"pred": pred.bfloat16(), "high": high.bfloat16()}, {})
    assert result.loss.dtype == torch.float32
    reference = trainer.compute_loss({"pred": pred.bfloat16().float(),
                                     "high": high.bfloat16().float()}, {})
    torch.testing.assert_close(result.loss, reference.loss)
    assert 0.0 <= float(result.loss) < 0.1


def test_schedule_step_decays_lr(tmp_path: Path):
    result = train(
        cfg(budget={"steps": 4}, schedule={"name": "step", "step_size": 2, "gamma": 0.5}),
        out_dir=tmp_path, progress=False,
    )
    lrs = [r["lr"] for r in result.history if r["kind"] == "train"]
    assert lrs == pytest.approx([1e-2, 5e-3, 5e-3, 2.5e-3])


def test_deterministic_mode_is_restored_afterwards(tmp_path: Path):
    before = torch.are_deterministic_algorithms_enabled()
    seen = []

    class Probe(SupervisedTrainer):
        def on_train_start(self, run):
            seen.append(torch.are_deterministic_algorithms_enabled())

    registries().add(Entry("trainer", "toy.detprobe", Probe, plugin="toy"))
    train(cfg(trainer="toy.detprobe", budget={"steps": 1}, train={"deterministic": True}),
          out_dir=tmp_path, progress=False)
    assert seen == [True]
    assert torch.are_deterministic_algorithms_enabled() == before


def test_same_seed_same_weights(tmp_path: Path):
    a = train(cfg(budget={"steps": 3}), out_dir=tmp_path / "a", progress=False)
    b = train(cfg(budget={"steps": 3}), out_dir=tmp_path / "b", progress=False)
    c = train(cfg(budget={"steps": 3}, train={"seed": 1}), out_dir=tmp_path / "c", progress=False)
    wa, wb, wc = (_weights(r.latest_checkpoint) for r in (a, b, c))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert any(not torch.equal(wa[k], wc[k]) for k in wa)


def test_core_trainers_are_registered_and_exported():
    import lle_core
    from lle_core.engine.trainers import UnsupervisedTrainer

    assert lle_core.train is train
    sup = registries()["trainer"].get("core.supervised")
    unsup = registries()["trainer"].get("core.unsupervised")
    assert sup.resolve_factory() is SupervisedTrainer
    assert unsup.resolve_factory() is UnsupervisedTrainer
    assert SupervisedTrainer.needs_ground_truth and not UnsupervisedTrainer.needs_ground_truth
    assert not unsup.capabilities.needs_ground_truth
    assert sup.example is not None and sup.example["model"]["type"] == "core.unet_small"


def test_lr_factor_shapes():
    import math

    from lle_core.engine.config import ScheduleConfig
    from lle_core.engine.optim import lr_factor

    cos = lr_factor(ScheduleConfig(name="cosine", t_max=10, min_lr=0.1), 1.0, None)
    assert cos(0) == pytest.approx(1.0)
    assert cos(5) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert cos(10) == pytest.approx(0.1) and cos(50) == pytest.approx(0.1)
    warm = lr_factor(ScheduleConfig(name="multistep", milestones=[2, 4], gamma=0.5, warmup=3),
                     1.0, None)
    assert [warm(t) for t in range(3)] == pytest.approx([0.25, 0.5, 0.75])
    assert [warm(t) for t in range(3, 9)] == pytest.approx([1, 1, 0.5, 0.5, 0.25, 0.25])


def test_epoch_interval_schedule_and_workers(tmp_path: Path):
    data = cfg(
        budget={"steps": None, "epochs": 3},
        schedule={"name": "multistep", "milestones": [1, 2], "gamma": 0.1, "interval": "epoch"},
    )
    data["data"]["num_workers"] = 1
    data["data"]["val"] = {"type": "toy.pairs", "count": 3}
    data["data"]["val_max_images"] = 1
    result = train(data, out_dir=tmp_path, progress=False)
    lrs = {r["epoch"]: r["lr"] for r in result.history if r["kind"] == "train"}
    assert lrs == pytest.approx({0: 1e-2, 1: 1e-3, 2: 1e-4})
    val = [r for r in result.history if r["kind"] == "val"]
    assert val[-1]["images"] == 1
