"""Checkpoints: atomic writes, weights-only loading, wrong-architecture errors, load_model."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from lle_core import checkpoint as ckpt
from lle_core import files
from lle_core.errors import CheckpointError, WeightsError
from lle_core.factory import create
from lle_core.spec import parse_spec
from lle_core.testing.toys import toy_components


@pytest.fixture(autouse=True)
def _toys():
    with toy_components():
        yield


def toy(**params):
    return create("model", {"type": "toy.cnn", **params})


def test_save_and_load_model_rebuilds_the_recorded_spec(tmp_path: Path):
    torch.manual_seed(0)
    model = toy(width=3, multiple_of=2).eval()
    path = ckpt.save_checkpoint(tmp_path, "latest", model=model, step=7)
    loaded = ckpt.load_model(path)
    assert type(loaded).__name__ == "ToyCNN"
    assert loaded.head.out_channels == 3
    assert loaded.capabilities.multiple_of == 2
    assert not loaded.training
    x = torch.rand(1, 3, 8, 8)
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    assert ckpt.checkpoint_spec(path) == parse_spec("model", "toy.cnn").replace(
        width=3, multiple_of=2
    ).to_dict()
    assert ckpt.weights_step(path) == 7
    # a run directory and a bare name work too
    assert ckpt.resolve_weights_path(tmp_path) == path
    assert ckpt.resolve_weights_path(tmp_path / "latest") == path


def test_training_only_parts_are_not_exported_but_the_model_loads(tmp_path: Path):
    model = toy(aux_head=True)
    path = ckpt.save_checkpoint(tmp_path, "w", model=model)
    tensors, meta = ckpt.read_checkpoint(path)
    assert not any(k.startswith("aux.") for k in tensors)
    assert meta["lle_format"] == "1"
    loaded = ckpt.load_model(path)  # aux.* are allowed to be missing
    torch.testing.assert_close(loaded.head.weight, model.head.weight)


def test_wrong_architecture_lists_keys_and_shapes():
    source = toy(width=4).state_dict()
    target = toy(width=5)
    with pytest.raises(WeightsError) as err:
        ckpt.load_weights(target, source, source="run/best.safetensors")
    msg = str(err.value)
    assert "run/best.safetensors" in msg
    assert "shape mismatch" in msg
    assert "head.weight: checkpoint (4, 3, 3, 3) vs model (5, 3, 3, 3)" in msg
    assert "tail.weight: checkpoint (3, 4, 3, 3) vs model (3, 5, 3, 3)" in msg

    partial = {k: v for k, v in toy(width=4).state_dict().items() if k != "tail.bias"}
    partial["extra.weight"] = torch.zeros(2, 2)
    with pytest.raises(WeightsError) as err:
        ckpt.load_weights(toy(width=4), partial, source="x")
    msg = str(err.value)
    assert "missing in the weights (1):" in msg and "tail.bias (3)" in msg
    assert "unexpected (not in the model) (1):" in msg and "extra.weight (2, 2)" in msg


def test_not_an_lle_checkpoint(tmp_path: Path):
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))
    with pytest.raises(CheckpointError, match="not an lle checkpoint"):
        ckpt.load_model(plain)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00\x01 not a safetensors file")
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        ckpt.load_model(garbage)
    with pytest.raises(CheckpointError, match="not found"):
        ckpt.load_model(tmp_path / "missing.safetensors")


class _Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_loading_a_state_never_executes_code(tmp_path: Path):
    marker = tmp_path / "pwned"
    path = tmp_path / "latest.state.pt"
    torch.save({"format": ckpt.STATE_FORMAT, "payload": _Evil(str(marker))}, path)
    with pytest.raises(CheckpointError, match="refusing to load"):
        ckpt.load_state(path)
    assert not marker.exists()


def test_state_roundtrip_keeps_tensors_and_plain_data(tmp_path: Path):
    state = {"format": ckpt.STATE_FORMAT, "t": torch.arange(3), "n": {"a": [1, 2.5, None, "x"]}}
    ckpt.save_state(tmp_path / "s.state.pt", state)
    back = ckpt.load_state(tmp_path / "s.state.pt")
    assert torch.equal(back["t"], torch.arange(3))
    assert back["n"] == {"a": [1, 2.5, None, "x"]}


def test_crash_mid_write_keeps_the_previous_checkpoint(tmp_path: Path, monkeypatch):
    first = toy()
    path = ckpt.save_checkpoint(tmp_path, "latest", model=first, step=1,
                                state={"format": ckpt.STATE_FORMAT})
    before_weights = path.read_bytes()
    before_state = (tmp_path / "latest.state.pt").read_bytes()

    def crash(handle, payload):
        handle.write(payload[: len(payload) // 2])
        handle.flush()
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(files, "write_payload", crash)
    second = toy(width=4)
    torch.nn.init.constant_(second.head.weight, 3.0)
    with pytest.raises(OSError, match="simulated"):
        ckpt.save_checkpoint(tmp_path, "latest", model=second, step=2,
                             state={"format": ckpt.STATE_FORMAT})
    assert path.read_bytes() == before_weights
    assert (tmp_path / "latest.state.pt").read_bytes() == before_state
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.safetensors", "latest.state.pt"]
    assert ckpt.weights_step(path) == 1
    torch.testing.assert_close(ckpt.load_model(path).head.weight, first.head.weight)


CHILD = textwrap.dedent("""
    import sys, torch
    from lle_core import checkpoint as ckpt
    from lle_core.testing.toys import register_toys
    from lle_core.factory import create
    register_toys()
    model = create("model", {"type": "toy.cnn", "width": 2048})
    out = sys.argv[1]
    step = 0
    while True:
        step += 1
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(float(step))
        ckpt.save_checkpoint(out, "latest", model=model, step=step)
        print(step, flush=True)
""")


def test_killing_the_process_mid_save_never_leaves_a_partial_file(tmp_path: Path):
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    try:
        assert proc.stdout is not None
        # wait for a few complete saves, then kill at an arbitrary moment of the next ones
        for _ in range(3):
            assert proc.stdout.readline()
        time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    path = tmp_path / "latest.safetensors"
    step = ckpt.weights_step(path)
    assert step is not None and step >= 3
    model = ckpt.load_model(path)
    assert all(torch.all(p == float(step)) for p in model.parameters())
    # only the final file and possibly a temporary one (never under the final name)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "latest.safetensors"]
    assert all(name.startswith(".latest.safetensors.tmp-") for name in leftovers)
    ckpt.remove_stale_temporaries(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["latest.safetensors"]
