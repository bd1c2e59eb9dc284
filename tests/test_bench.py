"""``lle bench`` end to end on tiny generated data: quality, speed, grid, reports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lle_core import ConfigError
from lle_core.bench import load_bench_config, run_bench
from lle_core.bench.config import StageSpec
from lle_core.bench.quality import DataPlan, retarget_train_data, stage_config
from lle_core.testing.strategies import make_image_folders


@pytest.fixture()
def folders(tmp_path: Path) -> dict[str, Path]:
    made = make_image_folders(tmp_path / "data", count=3, height=40, width=48)
    test = make_image_folders(tmp_path / "test", count=2, height=40, width=48)
    return {**made, "test_paired": test["paired_dir"], "test_clean": test["clean_dir"]}


def test_retarget_keeps_crop_and_points_at_bench_data(tmp_path: Path) -> None:
    paired = DataPlan("paired", tmp_path / "lol", tmp_path / "test")
    spec = retarget_train_data({"type": "core.paired_folder", "crop": 96, "flip": True}, paired)
    assert spec == {"type": "core.paired_folder", "crop": 96, "flip": True,
                    "root": str(tmp_path / "lol")}
    low_only = retarget_train_data({"type": "core.unpaired_folder", "crop": 64}, paired)
    assert low_only["root"] == str(tmp_path / "lol" / "low")
    synth = DataPlan("synthetic", tmp_path / "clean", tmp_path / "test", seed=7)
    spec = retarget_train_data({"type": "core.paired_folder", "crop": 96}, synth)
    assert spec == {"type": "core.synthetic", "root": str(tmp_path / "clean"), "seed": 7,
                    "crop": 96}


def test_stage_config_replaces_budget_and_previous(tmp_path: Path) -> None:
    plan = DataPlan("paired", tmp_path, tmp_path)
    stage = StageSpec(config="core:unet_small", set={"model.base_width": "{previous}"})
    with pytest.raises(ConfigError, match="first stage"):
        stage_config(stage, plan, budget={"steps": 3}, overrides={}, previous=None,
                     out_dir=tmp_path / "o")
    data = stage_config(StageSpec(config="core:unet_small"), plan, budget={"steps": 3},
                        overrides={"data.batch_size": 2}, previous=None, out_dir=tmp_path / "o")
    assert data["budget"] == {"steps": 3}
    assert data["data"]["batch_size"] == 2
    assert data["data"]["val"] is None


def test_bench_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match="data"):
        load_bench_config({"entries": [{"label": "a", "config": "core:unet_small"}],
                           "data": {"train": "x"}, "budget": {"steps": 1}})
    with pytest.raises(ConfigError, match=r"entries\.0"):
        load_bench_config({"entries": [{"label": "a"}], "data": {"train": "x", "test": "y"},
                           "budget": {"steps": 1}})


def test_bench_runs_end_to_end(folders: dict[str, Path], tmp_path: Path) -> None:
    real = tmp_path / "real" / "cam"
    real.mkdir(parents=True)
    for photo in sorted(folders["low_dir"].iterdir())[:2]:
        shutil.copy(photo, real / photo.name)
    cfg = load_bench_config({
        "entries": [
            {"label": "unet", "config": "core:unet_small",
             "set": {"model.base_width": 4, "data.train.crop": 16}},
            {"label": "two-stage", "stages": [
                {"config": "core:unet_small", "share": 1,
                 "set": {"model.base_width": 4, "data.train.crop": 16}},
                {"config": "core:unet_small", "share": 1,
                 "set": {"model.base_width": 4, "data.train.crop": 16}},
            ]},
        ],
        "data": {"train": str(folders["paired_dir"]), "test": str(folders["test_paired"]),
                 "grid": [str(folders["test_paired"] / "low")], "grid_max": 2,
                 "photos": str(real.parent), "photos_clean": [str(folders["clean_dir"])]},
        "budget": {"steps": 2},
        "set": {"data.batch_size": 2},
        "baselines": ["core.identity", "core.gamma"],
        "speed": {"sizes": [[32, 24]], "repeats": 1, "train_repeats": 1},
    })
    report = run_bench(cfg, out=tmp_path / "bench", progress=False)
    out = tmp_path / "bench"
    data = json.loads((out / "report.json").read_text())
    labels = [e["label"] for e in data["entries"]]
    assert labels == ["unet", "two-stage"]
    for entry in data["entries"]:
        assert entry["error"] is None
        assert entry["params"] > 0
        assert entry["evaluation"]["mean"]["psnr"] > 0
    assert data["entries"][0]["steps"] == 2
    assert [s["steps"] for s in data["entries"][1]["stages"]] == [1, 1]
    assert {b["model"] for b in data["baselines"]} == {"core.identity", "core.gamma"}
    speed = {row["model"]: row for row in data["speed"]}
    assert set(speed) == {"core.identity", "core.gamma", "unet", "two-stage"}
    assert speed["unet"]["32x24"]["mpix_per_s"] > 0
    assert speed["unet"]["flops"]["gflops_per_mpix"] > 0
    assert speed["unet"]["train"]["batch"] == 8  # the recipe's own batch, not the bench's
    md = (out / "report.md").read_text()
    assert "| unet |" in md and "core.gamma" in md and "Protocol" in md
    assert report.grid is not None and Path(report.grid).stat().st_size > 0
    # the real-photo panel of every entry and baseline, in the JSON and the Markdown
    panel = data["photo_panel"]
    assert set(panel) == {"unet", "two-stage", "core.identity", "core.gamma"}
    assert panel["core.identity"]["cam"]["color_ratio"] > 0
    assert panel["unet"][folders["clean_dir"].name]["psnr"] > 0
    assert "## Real photos" in md and "color_ratio cam" in md


def test_every_stage_is_validated_before_any_training(folders: dict[str, Path],
                                                      tmp_path: Path) -> None:
    cfg = load_bench_config({
        "entries": [
            {"label": "fine", "config": "core:unet_small", "set": {"model.base_width": 4}},
            {"label": "broken", "config": "core:unet_small", "set": {"model.widht": 4}},
        ],
        "data": {"train": str(folders["paired_dir"]), "test": str(folders["test_paired"])},
        "budget": {"steps": 1},
    })
    with pytest.raises(ConfigError, match=r"broken stage 1 .*widht"):
        run_bench(cfg, out=tmp_path / "bench", progress=False)
    assert not (tmp_path / "bench" / "runs").exists()  # nothing was trained


def test_bench_stages_run_through_the_staged_path_of_train_plan(folders: dict[str, Path],
                                                                tmp_path: Path) -> None:
    from lle_core.bench.quality import plan_data, train_entry
    from lle_core.checkpoint import resolve_weights_path
    from lle_core.engine.plan import DONE

    small = {"model.base_width": 4, "data.train.crop": 16}
    cfg = load_bench_config({
        "entries": [{"label": "two", "stages": [
            {"config": "core:unet_small", "set": small},
            {"config": "core:unet_small", "set": small}]}],
        "data": {"train": str(folders["paired_dir"]), "test": str(folders["test_paired"])},
        "budget": {"steps": 2}, "set": {"data.batch_size": 2},
    })
    out = tmp_path / "bench"
    plan = plan_data(cfg, out)
    first = train_entry(cfg.entries[0], cfg, plan, out, progress=False)
    runs = [Path(s["run_dir"]) for s in first.stages]
    # train_stages' records: the run folder's checkpoint by the one rule, DONE.json written
    assert [s["checkpoint"] for s in first.stages] == [str(resolve_weights_path(r)) for r in runs]
    assert first.checkpoint == first.stages[-1]["checkpoint"]
    assert all((r / DONE).is_file() for r in runs) and first.steps == 2
    mtime = (runs[0] / "latest.safetensors").stat().st_mtime_ns
    again = train_entry(cfg.entries[0], cfg, plan, out, progress=False)  # finished: skipped
    assert (runs[0] / "latest.safetensors").stat().st_mtime_ns == mtime
    assert again.steps == first.steps and again.checkpoint == first.checkpoint
