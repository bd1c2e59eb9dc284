"""Two gloo processes under torchrun match one process with the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from lle_core import checkpoint as ckpt
from lle_core.engine import train
from lle_core.testing.toys import toy_components

SCRIPT = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from lle_core.engine import train
    from lle_core.testing.toys import register_toys

    register_toys()
    cfg = json.loads(sys.argv[1])
    result = train(cfg, out_dir=sys.argv[2], progress=False)
    # one file per rank: the two processes' stdout streams interleave
    rank = os.environ.get("RANK", "0")
    Path(sys.argv[3], f"rank{rank}.txt").write_text(f"{result.steps} {result.stopped_by}")
""")


def config(batch_size: int) -> dict:
    return {
        "model": {"type": "toy.cnn", "width": 4},
        "loss": "toy.l1",
        "data": {"train": {"type": "toy.pairs", "count": 8}, "batch_size": batch_size},
        "optim": {"lr": 1e-2},
        "budget": {"steps": 3},  # crosses an epoch boundary (2 steps per epoch)
        "train": {"log_every": 1, "seed": 5},
    }


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed missing")
def test_two_gloo_processes_match_one_process(tmp_path: Path):
    script = tmp_path / "run_ddp.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         str(script), json.dumps(config(2)), str(tmp_path / "ddp"), str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    for rank in (0, 1):  # both ranks ran 3 steps
        assert (tmp_path / f"rank{rank}.txt").read_text() == "3 steps"

    with toy_components():
        single = train(config(4), out_dir=tmp_path / "single", progress=False)

    a, _ = ckpt.read_checkpoint(single.latest_checkpoint)
    b, _ = ckpt.read_checkpoint(tmp_path / "ddp" / "latest.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-5, atol=1e-6)
    # the weights did move (the comparison is not trivially between initial weights)
    init = toy_init()
    assert any(not torch.allclose(a[k], init[k]) for k in a)

    # rank 0 alone logged: one record per step
    records = [json.loads(x) for x in (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["kind"] == "train"] == [1, 2, 3]
    assert "2 process(es)" in (tmp_path / "ddp" / "train.log").read_text()


def toy_init() -> dict[str, torch.Tensor]:
    from lle_core.factory import create

    with toy_components():
        torch.manual_seed(5)
        return create("model", {"type": "toy.cnn", "width": 4}).state_dict()
