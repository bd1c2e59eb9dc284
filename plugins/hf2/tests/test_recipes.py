"""The shipped recipes: paper recipe and the Table 3 ablations differ only where they should."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from lle_hf2.loss import paper_loss_spec

VARIANTS = ("paper", "m0", "m1", "m2", "m3")


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((resources.files("lle_hf2") / "recipes" / f"{name}.yaml").read_text())


def test_paper_recipe_values() -> None:
    cfg = load("paper")
    assert cfg["loss"] == paper_loss_spec()
    assert cfg["optim"]["name"] == "adam" and cfg["optim"]["lr"] == pytest.approx(5e-4)
    assert cfg["optim"]["betas"] == [0.9, 0.999]
    assert cfg["schedule"] == {"name": "step", "step_size": 7000, "gamma": 0.2,
                               "interval": "step"}
    assert cfg["data"]["batch_size"] == 8
    assert cfg["data"]["train"]["crop"] == 256
    assert cfg["budget"]["steps"] == 35000
    assert cfg["model"]["fusion"] == {"type": "hf2.hf2", "op": "mul", "residual": False}
    assert cfg["model"]["base_width"] == 64


@pytest.mark.parametrize("variant", VARIANTS[1:])
def test_ablations_differ_only_in_fusion(variant: str) -> None:
    paper, cfg = load("paper"), load(variant)
    assert {k: v for k, v in cfg.items() if k != "model"} == {
        k: v for k, v in paper.items() if k != "model"
    }
    assert {k: v for k, v in cfg["model"].items() if k != "fusion"} == {
        k: v for k, v in paper["model"].items() if k != "fusion"
    }


def test_loss_matches_eq2() -> None:
    from lle_core import create

    loss = create("loss", paper_loss_spec())
    g = torch.Generator().manual_seed(0)
    pred, high = torch.rand(2, 3, 192, 192, generator=g), torch.rand(2, 3, 192, 192, generator=g)
    total, logs = loss({"pred": pred, "high": high})
    from lle_core.losses import ms_ssim

    expected = 0.8 * (1 - ms_ssim(pred, high)).mean() + 0.2 * (pred - high).abs().mean()
    torch.testing.assert_close(total, expected, rtol=1e-4, atol=1e-5)
    assert len(logs) == 2


@pytest.mark.parametrize("variant", VARIANTS)
def test_recipe_validates_as_run_config(variant: str, tmp_path: Path) -> None:
    from lle_core.engine.config import load_run_config

    cfg = load_run_config(f"hf2:{variant}", data_dir=tmp_path)
    assert cfg.model_spec.name == "hf2.model"
    assert cfg.budget.steps == 35000
