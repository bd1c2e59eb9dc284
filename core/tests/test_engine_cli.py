"""``lle train`` end to end on tiny generated PNG folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from lle_core.cli.main import main
from lle_core.engine import load_model
from lle_core.engine.config import load_run_config


def write_pairs(root: Path, count: int = 4, size: int = 32) -> Path:
    rng = np.random.default_rng(0)
    for sub in ("low", "high"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        high = rng.integers(60, 255, size=(size, size, 3), dtype=np.uint8)
        low = (high.astype(np.float32) * 0.2).astype(np.uint8)
        Image.fromarray(high).save(root / "high" / f"{i:02d}.png")
        Image.fromarray(low).save(root / "low" / f"{i:02d}.png")
    return root


@pytest.fixture()
def setup(tmp_path: Path) -> tuple[Path, Path]:
    data = write_pairs(tmp_path / "data")
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({
        "model": {"type": "core.unet_small", "base_width": 4},
        "loss": {"type": "core.l1"},
        "data": {"train": {"type": "core.paired_folder", "crop": 16}, "batch_size": 2},
        "budget": {"steps": 100},
        "train": {"log_every": 1},
    }))
    return data, config


def test_lle_train_end_to_end(setup, tmp_path: Path, capsys):
    data, config = setup
    out = tmp_path / "run"
    args = ["train", "--config", str(config), "--data", str(data), "--val", str(data),
            "--set", "optim.lr=1e-3", "--out", str(out), "--steps", "2", "--no-progress"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert f"run directory: {out}" in printed
    assert "stopped by the steps budget after 2 steps" in printed
    assert "lle enhance" in printed and "best.safetensors" in printed
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["data"]["train"]["root"] == str(data)
    assert saved["data"]["val"] == {**saved["data"]["val"], "type": "core.paired_folder",
                                    "root": str(data)}
    assert saved["optim"]["lr"] == pytest.approx(1e-3)
    assert saved["budget"]["steps"] == 2
    model = load_model(out / "best.safetensors")
    assert model.lle_spec.to_dict()["type"] == "core.unet_small"
    assert model.lle_spec.to_dict()["base_width"] == 4
    # continue the same run for one more step
    assert main([*args[:-3], "--steps", "3", "--resume", "auto", "--no-progress"]) == 0
    assert "after 3 steps" in capsys.readouterr().out


def test_lle_train_reports_config_errors_with_paths(setup, tmp_path: Path, capsys):
    data, config = setup
    code = main(["train", "--config", str(config), "--data", str(data), "--set", "optim.lrr=1",
                 "--out", str(tmp_path / "x"), "--no-progress"])
    assert code == 1
    err = capsys.readouterr().err
    assert "optim.lrr" in err and "unknown key" in err


def test_lle_train_without_data_root_says_how_to_give_it(setup, tmp_path: Path, capsys):
    _, config = setup
    assert main(["train", "--config", str(config), "--no-progress"]) == 1
    assert "--data" in capsys.readouterr().err


def test_core_recipe_validates(tmp_path: Path):
    cfg = load_run_config("core:unet_small", data_dir=tmp_path, overrides=["budget.steps=5"])
    assert cfg.model_spec.name == "core.unet_small"
    assert cfg.data.train.to_dict()["root"] == str(tmp_path)
    assert cfg.budget.steps == 5
