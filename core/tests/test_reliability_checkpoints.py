"""Checkpoints prove themselves (issue 24, item 2).

A damaged file is a ``CheckpointError`` naming it (digests of both files of a checkpoint), an
integer tensor never fills float weights, and a checkpoint's spec is checked against its
tensors and a parameter budget on the meta device, before any memory is allocated.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from lle_core import create
from lle_core.checkpoint import load_model, load_state, read_metadata, save_checkpoint
from lle_core.cli.main import main
from lle_core.errors import CheckpointError, WeightsError

SMALL_UNET = {"type": "core.unet_small", "base_width": 4}


def _checkpoint(folder: Path, spec: dict[str, object] | None = None) -> Path:
    model = create("model", spec or SMALL_UNET)
    state = {"format": "lle-state-1", "model": model.state_dict(), "note": "x"}
    return save_checkpoint(folder, "best", model=model, step=3, state=state)


def _tensor_offset(path: Path, name: str) -> int:
    """Absolute file offset of tensor ``name``'s first byte in a safetensors file."""
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    return 8 + size + int(header[name]["data_offsets"][0])


def _flip_exponent_bit(path: Path, offset: int) -> tuple[float, float]:
    """Flip the top exponent bit of the float32 at ``offset``; return (before, after)."""
    raw = bytearray(path.read_bytes())
    before = struct.unpack("<f", raw[offset : offset + 4])[0]
    raw[offset + 3] ^= 0x40
    path.write_bytes(bytes(raw))
    return before, struct.unpack("<f", raw[offset : offset + 4])[0]


def _a_float_weight(path: Path) -> str:
    tensors = load_file(str(path))
    return next(k for k, v in sorted(tensors.items())
                if v.dtype == torch.float32 and v.numel() > 8 and abs(float(v.flatten()[0])) > 1e-3)


def _photo(path: Path) -> Path:
    arr = (np.random.default_rng(0).random((32, 32, 3)) * 60).astype(np.uint8)
    Image.fromarray(arr).save(path)
    return path


def test_a_flipped_bit_in_the_weights_is_a_checkpoint_error_naming_the_file(tmp_path):
    # Issue 24, case: -0.034 became -1.2e37; the checkpoint loaded and wrote a white image.
    weights = _checkpoint(tmp_path / "run")
    before, after = _flip_exponent_bit(weights, _tensor_offset(weights, _a_float_weight(weights)))
    assert abs(after) > 1e30 > abs(before)
    with pytest.raises(CheckpointError, match="damaged") as err:
        load_model(weights)
    assert str(weights) in str(err.value)
    read_metadata(weights)  # the metadata alone still reads (it is not what was damaged)


def _enhance_fails_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      weights: Path, words: str) -> None:
    out = tmp_path / "out.png"
    code = main(["enhance", str(_photo(tmp_path / "in.png")), "-o", str(out),
                 "--weights", str(weights)])
    text = capsys.readouterr().err
    assert code != 0 and words in text and str(weights) in text, text
    assert not out.exists()


def test_a_flipped_bit_makes_lle_enhance_fail_and_write_nothing(tmp_path, capsys):
    weights = _checkpoint(tmp_path / "run")
    _flip_exponent_bit(weights, _tensor_offset(weights, _a_float_weight(weights)))
    _enhance_fails_and_writes_nothing(tmp_path, capsys, weights, "damaged")


def test_a_flipped_bit_in_the_training_state_is_a_checkpoint_error(tmp_path):
    weights = _checkpoint(tmp_path / "run")
    state = weights.with_name("best.state.pt")
    assert load_state(state)["note"] == "x"
    raw = bytearray(state.read_bytes())
    stored = torch.load(state, weights_only=True)["model"]
    name = next(k for k, v in stored.items() if v.dtype == torch.float32 and v.numel() > 8
                and abs(float(v.flatten()[0])) > 1e-3)
    first = stored[name].flatten()[:4].numpy().tobytes()
    at = bytes(raw).find(first)
    assert at > 0
    raw[at + 3] ^= 0x40
    state.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="damaged") as err:
        load_state(state)
    assert str(state) in str(err.value)


def _rewrite(path: Path, change: dict[str, torch.Tensor]) -> None:
    """Rewrite a checkpoint with some tensors replaced, as another tool would (no digest)."""
    tensors = load_file(str(path))
    metadata = {k: v for k, v in read_metadata(path).items() if k != "lle_digest"}
    save_file({**tensors, **change}, str(path), metadata=metadata)


def test_integer_tensors_for_float_weights_are_refused_naming_the_key(tmp_path, capsys):
    # Issue 24, case: int64 tensors were accepted and truncated the weights (black output,
    # exit 0).
    weights = _checkpoint(tmp_path / "run")
    tensors = load_file(str(weights))
    name = _a_float_weight(weights)
    _rewrite(weights, {name: (tensors[name] * 100).to(torch.int64)})
    with pytest.raises(WeightsError, match="dtype mismatch") as err:
        load_model(weights)
    assert name in str(err.value) and "int64" in str(err.value)
    _enhance_fails_and_writes_nothing(tmp_path, capsys, weights, "int64")


def test_a_checkpoint_without_a_digest_still_loads(tmp_path):
    # Files written before digests existed: loaded unchecked (documented), not refused.
    weights = _checkpoint(tmp_path / "run")
    _rewrite(weights, {})
    assert "lle_digest" not in read_metadata(weights)
    assert isinstance(load_model(weights), torch.nn.Module)


HUGE_SPEC = textwrap.dedent(
    """
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))
    from lle_core.checkpoint import load_model
    from lle_core.errors import CheckpointError, WeightsError
    try:
        load_model(sys.argv[1], **eval(sys.argv[2]))
        print("LOADED")
    except (CheckpointError, WeightsError) as err:
        print("REFUSED", type(err).__name__, str(err).splitlines()[0])
    except BaseException as err:
        print("CRASHED", type(err).__name__, str(err)[:200])
    print("PEAK_MB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and ru_maxrss in KiB")
@pytest.mark.parametrize(("budget", "refusal"), [({}, "CheckpointError"),
                                                 ({"max_parameters": 10**12}, "WeightsError")])
def test_a_small_file_whose_spec_builds_a_huge_model_is_refused_before_allocating(
        tmp_path, budget, refusal):
    # Issue 24, case: a 31 KB checkpoint whose spec says dln.model with dim 4000 built a
    # 10.8 GB model before any tensor shape was checked.
    weights = _checkpoint(tmp_path / "run", {"type": "dln.model", "dim": 8, "reduction": 1})
    metadata = read_metadata(weights)
    spec = json.loads(metadata["model_spec"])
    spec["dim"] = 4000
    save_file(load_file(str(weights)), str(weights),
              metadata={**metadata, "model_spec": json.dumps(spec)})
    assert weights.stat().st_size < 100_000
    done = subprocess.run([sys.executable, "-c", HUGE_SPEC, str(weights), repr(budget)],
                          capture_output=True, text=True, timeout=600, check=False,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    assert lines.get("REFUSED", "").startswith(refusal), done.stdout + done.stderr[-2000:]
    if refusal == "CheckpointError":
        assert "budget" in lines["REFUSED"] and str(weights) in lines["REFUSED"]
    assert int(lines["PEAK_MB"]) < 2000  # torch itself: ~0.7 GB; the model would be 10.8 GB
