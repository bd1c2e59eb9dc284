"""Exact resume: a run stopped and resumed ends bit-identical to an uninterrupted run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lle_core import checkpoint as ckpt
from lle_core.engine import train
from lle_core.errors import CheckpointError
from lle_core.testing.toys import toy_components


@pytest.fixture(autouse=True)
def _toys():
    with toy_components():
        yield


def config(steps: int) -> dict:
    # Random flips (global torch RNG in the dataset), dropout (global RNG in the model), an odd
    # dataset size (5 items, batch 2: 2 steps/epoch), EMA, clipping and a step schedule, so that
    # everything the state must restore matters.
    return {
        "model": {"type": "toy.cnn", "width": 4, "dropout": 0.2},
        "loss": "toy.l1",
        "data": {
            "train": {"type": "toy.pairs", "count": 5, "flip": True},
            # validation draws from the global RNG too (random flips) and runs at other steps
            # in a resumed run (at the end of each session): it must not shift the streams
            "val": {"type": "toy.pairs", "count": 2, "flip": True},
            "batch_size": 2,
        },
        "optim": {"name": "adamw", "lr": 1e-2, "weight_decay": 0.01},
        "schedule": {"name": "step", "step_size": 2, "gamma": 0.5},
        "budget": {"steps": steps},
        "train": {"ema": 0.8, "grad_clip": 0.5, "seed": 3, "log_every": 1, "val_every": 2},
    }


def _assert_same_state(a: dict, b: dict) -> None:
    for name in a["modules"]:
        for k, v in a["modules"][name].items():
            assert torch.equal(v, b["modules"][name][k]), f"{name}.{k}"
    for k, v in a["ema"].items():
        assert torch.equal(v, b["ema"][k]), f"ema.{k}"
    for pid, st in a["optimizer"]["state"].items():
        for k, v in st.items():
            assert torch.equal(torch.as_tensor(v), torch.as_tensor(b["optimizer"]["state"][pid][k]))
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"]
    assert (a["step"], a["epoch"], a["batch_in_epoch"]) == (b["step"], b["epoch"],
                                                           b["batch_in_epoch"])
    assert torch.equal(a["rng"]["torch"], b["rng"]["torch"])


def test_resume_mid_epoch_is_bit_identical(tmp_path: Path):
    full = train(config(7), out_dir=tmp_path / "full", progress=False)
    part = train(config(3), out_dir=tmp_path / "part", progress=False)  # stops mid-epoch 1
    assert part.steps == 3
    resumed = train(config(7), out_dir=tmp_path / "part", resume="auto", progress=False)
    assert resumed.steps == 7 and resumed.epochs == full.epochs == 3
    assert [r["step"] for r in resumed.history if r["kind"] == "train"] == [4, 5, 6, 7]
    _assert_same_state(
        ckpt.load_state(tmp_path / "full" / "latest.state.pt"),
        ckpt.load_state(tmp_path / "part" / "latest.state.pt"),
    )
    a, _ = ckpt.read_checkpoint(full.latest_checkpoint)
    b, _ = ckpt.read_checkpoint(resumed.latest_checkpoint)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # the per-step losses after the resume are those of the uninterrupted run
    full_losses = {r["step"]: r["loss"] for r in full.history if r["kind"] == "train"}
    for r in resumed.history:
        if r["kind"] == "train":
            assert r["loss"] == full_losses[r["step"]]


def test_resume_auto_without_a_checkpoint_starts_fresh(tmp_path: Path):
    result = train(config(1), out_dir=tmp_path, resume="auto", progress=False)
    assert result.steps == 1


def test_resume_from_an_explicit_path(tmp_path: Path):
    train(config(2), out_dir=tmp_path / "a", progress=False)
    result = train(config(3), out_dir=tmp_path / "a", resume=tmp_path / "a" / "latest.safetensors",
                   progress=False)
    assert result.steps == 3
    with pytest.raises(CheckpointError, match="not found"):
        train(config(3), out_dir=tmp_path / "b", resume=tmp_path / "nowhere", progress=False)


def test_resume_refuses_another_model(tmp_path: Path):
    train(config(1), out_dir=tmp_path, progress=False)
    other = config(2)
    other["model"]["width"] = 5
    with pytest.raises(CheckpointError, match="trained with model"):
        train(other, out_dir=tmp_path, resume="auto", progress=False)


def test_crash_between_state_and_weights_is_repaired_on_resume(tmp_path: Path, monkeypatch):
    train(config(2), out_dir=tmp_path, progress=False)
    real = ckpt.save_weights

    def crash(path, *args, **kwargs):
        if Path(path).name.startswith("latest"):
            raise KeyboardInterrupt("killed between the two files (simulated)")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(ckpt, "save_weights", crash)
    with pytest.raises(KeyboardInterrupt):
        train(config(4), out_dir=tmp_path, resume="auto", progress=False)
    weights = tmp_path / "latest.safetensors"
    assert ckpt.load_state(tmp_path / "latest.state.pt")["step"] == 4
    assert ckpt.weights_step(weights) == 2  # older, but complete and loadable
    ckpt.load_model(weights)
    monkeypatch.setattr(ckpt, "save_weights", real)
    result = train(config(4), out_dir=tmp_path, resume="auto", progress=False)
    assert result.steps == 4
    assert ckpt.weights_step(weights) == 4
    state = ckpt.load_state(tmp_path / "latest.state.pt")
    exported, _ = ckpt.read_checkpoint(weights)
    assert all(torch.equal(exported[k], state["ema"][k]) for k in exported)


def test_ctrl_c_saves_latest_and_the_run_resumes(tmp_path: Path):
    import signal

    from lle_core.engine.trainers import SupervisedTrainer
    from lle_core.registry import Entry, registries

    class Interrupting(SupervisedTrainer):
        def on_step_end(self, step, result):
            if step == 2:
                signal.raise_signal(signal.SIGINT)  # as if the user pressed Ctrl-C

    registries().add(Entry("trainer", "toy.interrupting", Interrupting, plugin="toy"))
    before = signal.getsignal(signal.SIGINT)
    data = config(5)
    data["trainer"] = "toy.interrupting"
    with pytest.raises(KeyboardInterrupt, match="step 2"):
        train(data, out_dir=tmp_path, progress=False)
    assert ckpt.load_state(tmp_path / "latest.state.pt")["step"] == 2
    assert ckpt.weights_step(tmp_path / "latest.safetensors") == 2
    assert "interrupted at step 2" in (tmp_path / "train.log").read_text()
    assert signal.getsignal(signal.SIGINT) is before  # the engine's handler is removed
    data["trainer"] = "core.supervised"
    assert train(data, out_dir=tmp_path, resume="auto", progress=False).steps == 5
