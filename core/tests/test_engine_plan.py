"""Training plans (``lle train-plan``): stages, {previous}, shares, resume and skipping."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from lle_core.cli.main import main
from lle_core.engine.plan import DONE, load_plan, run_plan
from lle_core.errors import ConfigError

RECIPE = {
    "model": {"type": "core.unet_small", "base_width": 4},
    "loss": {"type": "core.l1"},
    "data": {"train": {"type": "core.paired_folder", "crop": 16}, "batch_size": 2},
    "budget": {"steps": 3},
    "train": {"log_every": 1, "ckpt_every": 1, "val_every": 3},
}


def _data(root: Path, n: int = 6) -> Path:
    rng = np.random.default_rng(0)
    for i in range(n):
        low = rng.integers(0, 80, size=(20, 24, 3), dtype=np.uint8)
        for sub, arr in (("low", low), ("high", np.minimum(255, 3 * low).astype(np.uint8))):
            (root / sub).mkdir(parents=True, exist_ok=True)
            Image.fromarray(arr).save(root / sub / f"{i}.png")
    return root


def _plan(tmp_path: Path) -> Path:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(RECIPE))
    plan = {
        "data": {"train": [str(_data(tmp_path / "a"))], "holdout_every": 3},
        "entries": [
            {"label": "one", "share": 1, "stages": [{"config": str(recipe)}]},
            {"label": "two", "share": 1, "stages": [
                {"config": str(recipe), "share": 1},
                {"config": str(recipe), "share": 2,
                 "set": {"trainer": {"type": "core.supervised"}, "optim.lr": 1e-4,
                         "budget.steps": 2}},
            ]},
        ],
    }
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan))
    return path


def test_plan_trains_every_stage_then_skips_finished_ones(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    out = tmp_path / "runs"
    summary = run_plan(plan, out=out, total_minutes=30, progress=False)
    assert set(summary) == {"one", "two"}
    stages = summary["two"]["stages"]
    assert [s["steps"] for s in stages] == [3, 2]
    assert all(s["stopped_by"] == "steps" for s in stages)
    # shares: 15 minutes per entry, split 1:2 between the two stages of "two"
    assert [s["minutes_budget"] for s in stages] == [5.0, 10.0]
    # held-out pairs (every 3rd of 6) validate: a best checkpoint exists and is handed on
    first, second = (Path(s["run_dir"]) for s in stages)
    assert summary["two"]["checkpoint"] == str(second / "best.safetensors")
    assert (first / DONE).is_file() and (second / DONE).is_file()
    cfg = yaml.safe_load((second / "config.yaml").read_text())
    assert cfg["data"]["val"]["part"] == "holdout" and cfg["data"]["train"]["part"] == "train"
    # a second run trains nothing: every stage is finished
    mtime = (first / "latest.safetensors").stat().st_mtime_ns
    again = run_plan(plan, out=out, total_minutes=30, progress=False)
    assert (first / "latest.safetensors").stat().st_mtime_ns == mtime
    assert [s["steps"] for s in again["two"]["stages"]] == [3, 2]


def test_plan_only_and_validation_errors(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    with pytest.raises(ConfigError, match="unknown entries"):
        run_plan(plan, out=tmp_path / "r", total_minutes=1, only=["three"], progress=False)
    bad = yaml.safe_load(plan.read_text())
    bad["entries"][1]["stages"][1]["set"]["optim.lr"] = -1
    with pytest.raises(ConfigError, match="lr"):  # validated before anything trains
        run_plan(bad, out=tmp_path / "r", total_minutes=1, progress=False)
    assert not (tmp_path / "r").exists()
    with pytest.raises(ConfigError, match="label"):
        load_plan({"data": {"train": ["x"]}, "entries": [{"label": "a b", "stages": [
            {"config": "x"}]}]})


def test_cli_train_plan_with_a_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = _plan(tmp_path)
    code = main(["train-plan", str(plan), "--out", str(tmp_path / "runs"), "--minutes", "10",
                 "--only", "one", "--device", "cpu", "--no-progress"])
    assert code == 0
    out = capsys.readouterr().out
    assert "one:" in out and "3 steps" in out and "two" not in out
    cfg = yaml.safe_load(next((tmp_path / "runs" / "one").glob("*/config.yaml")).read_text())
    assert cfg["train"]["device"] == "cpu"
    done = json.loads(next((tmp_path / "runs" / "one").glob(f"*/{DONE}")).read_text())
    assert done["steps"] == 3


def test_one_previous_rule_for_plans_and_bench() -> None:
    from lle_core.engine.plan import PREVIOUS, fill_previous

    filled = fill_previous({"a": f"runs/{PREVIOUS}", "b": 3, "c": PREVIOUS}, "x.safetensors")
    assert filled == {"a": "runs/x.safetensors", "b": 3, "c": "x.safetensors"}
    with pytest.raises(ConfigError, match=r"trainer\.stage1_checkpoint"):
        fill_previous({"trainer.stage1_checkpoint": PREVIOUS}, None)
