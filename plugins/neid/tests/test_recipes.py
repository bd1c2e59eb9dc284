"""The shipped recipes validate as run configs and state the paper's training settings."""

from __future__ import annotations

import pytest

from lle_core.engine.config import available_recipes, load_run_config

RECIPES = {"paper": (True, True), "le_dr": (True, False), "le_only": (False, False)}


def test_recipes_are_shipped():
    assert set(RECIPES) <= set(available_recipes("neid"))


@pytest.mark.parametrize("name", list(RECIPES))
def test_recipe_validates_with_a_data_dir(name, tmp_path):
    cfg = load_run_config(f"neid:{name}", data_dir=tmp_path)
    model = cfg.model_spec.to_dict()
    assert model["type"] == "neid.model"
    assert (model["dr_branch"], model["feature_fusion"]) == RECIPES[name]
    assert model["widths"] == [32, 64, 128, 256, 512] and model["init_std"] == 0.02
    assert cfg.trainer.to_dict()["type"] == "neid.two_stream"
    # Paper Sec. 3.2: Adam 1e-4 -> 1e-5 (epoch 500) -> 1e-6 (epoch 1000), 2000 epochs, batch 8,
    # 256 crops with flips and 90° rotations.
    assert cfg.optim.name == "adam" and cfg.optim.lr == pytest.approx(1e-4)
    assert cfg.schedule.name == "multistep" and cfg.schedule.milestones == [500, 1000]
    assert cfg.schedule.gamma == pytest.approx(0.1) and cfg.schedule.interval == "epoch"
    assert cfg.budget.epochs == 2000 and cfg.data.batch_size == 8
    data = cfg.data.train.to_dict()
    assert (data["crop"], data["flip"], data["rot90"]) == (256, True, True)
    terms = {t["type"]: t for t in cfg.loss.to_dict()["terms"]}
    assert terms["core.huber"]["delta"] == 1.0 and terms["core.huber"]["weight"] == 1.0
    assert terms["neid.hsv_color"]["weight"] == pytest.approx(0.1)
    if model["dr_branch"]:
        assert terms["core.mse"]["weight"] == pytest.approx(0.1)
        assert terms["core.mse"]["keys"] == {"pred": "dr", "target": "dr_target"}
    else:
        assert "core.mse" not in terms


def test_overrides_reach_the_ablation_flags(tmp_path):
    cfg = load_run_config("neid:paper", data_dir=tmp_path,
                          overrides=["model.feature_fusion=false", "trainer.dr_target=high"])
    assert cfg.model_spec.to_dict()["feature_fusion"] is False
    assert cfg.trainer.to_dict()["dr_target"] == "high"
