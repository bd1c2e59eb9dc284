"""Reliability of ``lle train``: run-folder lock, latest on failure, metrics after a resume,
full disk, and ``kill -9`` while a checkpoint (weights and state) is written."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import yaml
from hypothesis import given
from hypothesis import strategies as st

from lle_core import checkpoint as ckpt
from lle_core import files
from lle_core.cli.main import main
from lle_core.engine import train
from lle_core.engine.loop import _TrainingLoop
from lle_core.files import FolderBusyError, FolderLock
from lle_core.testing.toys import toy_components


@pytest.fixture(autouse=True)
def _toys():
    with toy_components():
        yield


def config(steps: int, **train_opts: object) -> dict:
    """A tiny run whose state depends on every RNG stream (flips, dropout)."""
    return {
        "model": {"type": "toy.cnn", "width": 4, "dropout": 0.2},
        "loss": "toy.l1",
        "data": {"train": {"type": "toy.pairs", "count": 5, "flip": True}, "batch_size": 2},
        "optim": {"name": "adamw", "lr": 1e-2},
        "budget": {"steps": steps},
        "train": {"seed": 3, "log_every": 1, "ema": 0.8, **train_opts},
    }


def _train_steps(path: Path) -> list[int]:
    lines = (path / "metrics.jsonl").read_text().splitlines()
    return [json.loads(x)["step"] for x in lines if json.loads(x)["kind"] == "train"]


def _fail_on_call(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    """Make the n-th training step raise before it changes anything (a data/model error)."""
    real = _TrainingLoop._train_step
    calls = {"n": 0}

    def step(self, batch):
        calls["n"] += 1
        if calls["n"] == n:
            raise RuntimeError("a bad batch (simulated)")
        return real(self, batch)

    monkeypatch.setattr(_TrainingLoop, "_train_step", step)


def test_second_run_into_a_locked_folder_fails_at_once(tmp_path: Path):
    out = tmp_path / "run"
    with FolderLock(out, what="lle train run"):
        with pytest.raises(FolderBusyError, match="in use by another lle train run"):
            train(config(2), out_dir=out, progress=False)
        assert not (out / "metrics.jsonl").exists()  # the holder's files are untouched
    assert train(config(2), out_dir=out, progress=False).steps == 2


def test_locked_folder_is_one_line_in_the_cli(tmp_path: Path, capsys):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(yaml.safe_dump(config(2)))
    out = tmp_path / "run"
    with FolderLock(out, what="lle train run"):
        code = main(["train", "--config", str(cfg), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and "in use by another lle train run" in err and "Traceback" not in err


def test_a_failing_run_saves_latest_and_resumes_exactly(tmp_path: Path, monkeypatch):
    full = train(config(6), out_dir=tmp_path / "full", progress=False)
    _fail_on_call(monkeypatch, 4)
    with pytest.raises(RuntimeError, match="bad batch"):
        train(config(6), out_dir=tmp_path / "part", progress=False)
    state = ckpt.load_state(tmp_path / "part" / "latest.state.pt")
    assert state["step"] == 3
    assert ckpt.weights_step(tmp_path / "part" / "latest.safetensors") == 3
    assert "saved" in (tmp_path / "part" / "train.log").read_text()
    monkeypatch.undo()
    resumed = train(config(6), out_dir=tmp_path / "part", resume="auto", progress=False)
    assert resumed.steps == 6
    a, _ = ckpt.read_checkpoint(full.latest_checkpoint)
    b, _ = ckpt.read_checkpoint(resumed.latest_checkpoint)
    assert all(torch.equal(a[k], b[k]) for k in a)  # bit-identical to the uninterrupted run


def test_metrics_have_each_step_once_after_a_resume(tmp_path: Path, monkeypatch):
    from lle_core.engine.trainers import SupervisedTrainer

    def crash(self, epoch):  # at the end of step 6, after it was logged: not exact, not saved
        if epoch == 2:
            raise RuntimeError("crash at the end of epoch 2 (simulated)")

    monkeypatch.setattr(SupervisedTrainer, "on_epoch_end", crash)
    with pytest.raises(RuntimeError, match="epoch 2"):
        train(config(7, ckpt_every=4), out_dir=tmp_path, progress=False)
    assert ckpt.load_state(tmp_path / "latest.state.pt")["step"] == 4
    assert _train_steps(tmp_path) == [1, 2, 3, 4, 5, 6]
    with (tmp_path / "metrics.jsonl").open("a") as fh:
        fh.write('{"kind": "train", "st')  # a line torn by a kill
    monkeypatch.undo()
    train(config(7, ckpt_every=4), out_dir=tmp_path, resume="auto", progress=False)
    assert _train_steps(tmp_path) == [1, 2, 3, 4, 5, 6, 7]


def test_full_disk_in_train_is_one_line_and_keeps_the_last_checkpoint(tmp_path, capsys,
                                                                      monkeypatch):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(yaml.safe_dump(config(4, ckpt_every=2)))
    out = tmp_path / "run"
    assert main(["train", "--config", str(cfg), "--out", str(out), "--steps", "2",
                 "--no-progress"]) == 0
    before = (out / "latest.safetensors").read_bytes()

    def full(handle, payload):
        handle.write(payload[:100])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "write_payload", full)
    capsys.readouterr()
    code = main(["train", "--config", str(cfg), "--out", str(out), "--resume", "auto",
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and "No space left on device" in err and "Traceback" not in err
    assert (out / "latest.safetensors").read_bytes() == before
    assert not [p.name for p in out.iterdir() if files.TMP_MARK in p.name]


CHILD = textwrap.dedent("""
    import sys, torch
    from lle_core import checkpoint as ckpt
    from lle_core.testing.toys import register_toys
    from lle_core.factory import create
    register_toys()
    model = create("model", {"type": "toy.cnn", "width": 512})
    step = 0
    while True:
        step += 1
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(float(step))
        state = {"format": ckpt.STATE_FORMAT, "big": torch.full((300_000,), float(step))}
        ckpt.save_checkpoint(sys.argv[1], "latest", model=model, step=step, state=state)
        print(step, flush=True)
""")


def test_kill_during_state_and_weights_writes_leaves_loadable_files(tmp_path: Path):
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)],
                            stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        assert proc.stdout is not None
        for _ in range(4):  # a few complete saves; the kill lands in one of the next
            assert proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    state = ckpt.load_state(tmp_path / "latest.state.pt")
    weights_step = ckpt.weights_step(tmp_path / "latest.safetensors")
    assert state["step"] >= 4 and weights_step is not None
    assert weights_step in (state["step"], state["step"] - 1)  # state first, then weights
    assert torch.all(state["big"] == float(state["step"]))
    model = ckpt.load_model(tmp_path / "latest.safetensors")
    assert all(torch.all(p == float(weights_step)) for p in model.parameters())


def test_load_state_on_a_weights_file_reads_its_state(tmp_path: Path):
    train(config(2), out_dir=tmp_path, progress=False)
    assert ckpt.load_state(tmp_path / "latest.safetensors")["step"] == 2
    with pytest.raises(ckpt.CheckpointError, match="not found"):
        ckpt.load_state(tmp_path / "other.safetensors")


@given(payload=st.binary(min_size=0, max_size=512))
def test_corrupt_checkpoint_files_are_checkpoint_errors(tmp_path_factory, payload: bytes):
    """Random bytes (and damaged zip/safetensors headers) never escape as another error."""
    folder = tmp_path_factory.mktemp("ck")
    for name, data in (("a.state.pt", payload), ("b.state.pt", b"PK\x03\x04" + payload),
                       ("c.safetensors", payload), ("d.safetensors", b"\x10\x00" * 4 + payload)):
        (folder / name).write_bytes(data)
        with pytest.raises(ckpt.CheckpointError):
            if name.endswith(".safetensors"):
                ckpt.read_checkpoint(folder / name)
            else:
                ckpt.load_state(folder / name)
