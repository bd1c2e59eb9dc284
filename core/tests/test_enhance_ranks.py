"""`lle enhance` / `enhance_files` under torchrun: each process takes its shard of the inputs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from lle_core.errors import ConfigError
from lle_core.inference import Shard, current_shard, enhance_files


@given(n=st.integers(0, 60), world=st.integers(1, 9))
def test_shards_are_disjoint_cover_everything_and_are_balanced(n: int, world: int) -> None:
    items = list(range(n))
    parts = [Shard(r, world).take(items) for r in range(world)]
    flat = [i for part in parts for i in part]
    assert sorted(flat) == items and len(flat) == len(set(flat))
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1


def test_shard_comes_from_the_torchrun_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert current_shard() == Shard(0, 1)
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("WORLD_SIZE", "3")
    assert current_shard() == Shard(2, 3) and not current_shard().is_main
    monkeypatch.setenv("RANK", "3")
    with pytest.raises(ConfigError, match="RANK"):
        current_shard()
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ConfigError, match="WORLD_SIZE"):
        current_shard()


def _photos(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray((rng.random((24 + i, 32, 3)) * 80).astype(np.uint8)).save(
            folder / f"p{i}.png")
    return folder


def test_enhance_files_shards_write_disjoint_parts_with_the_whole_run_names(
    tmp_path: Path,
) -> None:
    photos = _photos(tmp_path / "in", 5)
    whole = enhance_files([photos], tmp_path / "all", model="core.gamma", shard=Shard())
    reports = [enhance_files([photos], tmp_path / "out", model="core.gamma", shard=Shard(r, 2))
               for r in range(2)]
    written = [p for r in reports for p in r.written]
    assert len(written) == len(set(written)) == 5
    assert sorted(p.name for p in written) == sorted(p.name for p in whole.written)
    assert [len(r.inputs) for r in reports] == [3, 2] and reports[1].shard == Shard(1, 2)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        p.name for p in whole.written)


def _torchrun(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "lle_core.cli.main", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )


@pytest.mark.slow
def test_lle_enhance_under_torchrun_writes_each_file_once(tmp_path: Path) -> None:
    _photos(tmp_path / "in", 7)
    done = _torchrun(["enhance", "in", "-o", "out", "--model", "core.gamma"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"p{i}.png" for i in range(7)]
    counts = re.search(r"2 processes: rank 0 wrote (\d+), rank 1 wrote (\d+)", done.stderr)
    assert counts, done.stderr
    assert [int(c) for c in counts.groups()] == [4, 3]  # disjoint shards: 4 + 3 = 7 files
    assert done.stderr.count("image(s), 0 failed") == 1  # one summary, from rank 0


@pytest.mark.slow
def test_a_failure_on_one_rank_is_reported_once_and_fails_the_launch(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "in", 3)
    (photos / "p1.png").write_bytes(b"not an image")  # rank 1's only file
    done = _torchrun(["enhance", "in", "-o", "out", "--model", "core.gamma"], tmp_path)
    assert done.returncode != 0
    assert "rank 0 wrote 2, rank 1 wrote 0" in done.stderr
    assert done.stderr.count("1 of 3 input(s) failed") == 1 and "p1.png" in done.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["p0.png", "p2.png"]
