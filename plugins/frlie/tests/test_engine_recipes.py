"""The recipes run through the engine: stage 1, then stage 2 from the stage-1 run directory."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import lle_core
from lle_core import create
from lle_core.engine import load_model, load_run_config, train
from lle_core.errors import ConfigError
from lle_core.testing.strategies import make_image_folders
from lle_frlie.model import luminance_post_blend

TINY = {
    "model.base_channels": 4,
    "model.num_blocks": 1,
    "model.context_channels": 4,
    "data.train.crop": 16,
    "data.batch_size": 2,
    "budget.steps": 2,
    "train.ckpt_every": None,
    "train.val_every": None,
    "train.device": "cpu",
}


@pytest.mark.parametrize("recipe", ["paper_stage1", "paper_stage2", "paper", "wo_fr"])
def test_recipes_validate_with_paper_settings(recipe: str) -> None:
    cfg = load_run_config(f"frlie:{recipe}", data_dir="unused")
    assert cfg.optim.lr == pytest.approx(2e-4)
    assert tuple(cfg.optim.betas) == (0.5, 0.9)
    assert cfg.data.batch_size == 16
    assert cfg.schedule.milestones == [450_000] and cfg.schedule.gamma == pytest.approx(0.1)
    train_data = cfg.data.train.to_dict()
    assert train_data["crop"] == 192 and train_data["flip"] and not train_data["rot90"]
    weights = {t["type"]: t["weight"] for t in cfg.loss.to_dict()["terms"]}
    if recipe == "paper_stage1":
        assert weights == {"core.mse": 100.0}
    elif recipe == "wo_fr":
        assert weights == {"core.mse": 100.0, "core.ssim": 0.5, "frlie.hue": 0.05}
    else:
        assert weights == {
            "core.mse": 100.0,
            "frlie.feature_matching": 0.2,
            "core.ssim": 0.5,
            "frlie.hue": 0.05,
        }


def test_two_stages_through_the_engine(tmp_path: Path) -> None:
    data = make_image_folders(tmp_path / "data", count=2, height=24, width=24)["paired_dir"]
    run1 = tmp_path / "stage1"
    cfg1 = load_run_config("frlie:paper_stage1", overrides=TINY, data_dir=data)
    result1 = train(cfg1, out_dir=run1, progress=False)
    assert result1.latest_checkpoint is not None and result1.latest_checkpoint.is_file()

    cfg_missing = load_run_config("frlie:paper", overrides=TINY, data_dir=data)
    with pytest.raises(ConfigError, match="stage1_checkpoint"):
        train(cfg_missing, out_dir=tmp_path / "refused", progress=False)

    overrides = {**TINY, "trainer.stage1_checkpoint": str(run1)}
    cfg2 = load_run_config("frlie:paper", overrides=overrides, data_dir=data)
    result2 = train(cfg2, out_dir=tmp_path / "stage2", progress=False)
    stage1 = load_model(result1.latest_checkpoint)
    stage2 = load_model(result2.latest_checkpoint)
    for part in ("encoder", "decoder"):
        ref = getattr(stage1, part).state_dict()
        got = getattr(stage2, part).state_dict()
        assert all(torch.equal(ref[k], got[k]) for k in ref), part
    assert any(
        not torch.equal(v, stage2.frnet.state_dict()[k])
        for k, v in stage1.frnet.state_dict().items()
    )

    # inference with the post-blend on a stage-2 checkpoint (the model card's Python example)
    tiny = {"type": "frlie.model", "base_channels": 4, "num_blocks": 1, "context_channels": 4}
    blended = create("model", {**tiny, "post_blend": True})
    image = torch.rand(1, 3, 22, 30) * 0.3
    out = lle_core.enhance(blended, image, weights=result2.latest_checkpoint, tile="off")
    plain = lle_core.enhance(stage2, image, tile="off")
    assert torch.allclose(out, luminance_post_blend(plain, image), atol=1e-5)
