"""The training plans behind the shipped weights validate with every installed plugin: every
stage of docs/weights/*-plan.yaml resolves to a valid run config (no data is read)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lle_core.engine.config import load_run_config, read_config_source
from lle_core.engine.plan import load_plan, stage_overrides

PLANS = sorted((Path(__file__).resolve().parents[1] / "docs" / "weights").glob("*-plan.yaml"))


@pytest.mark.parametrize("path", PLANS, ids=[p.name for p in PLANS])
def test_every_stage_of_the_plan_is_a_valid_run(path: Path) -> None:
    plan = load_plan(path)
    for entry in plan.entries:
        for stage in entry.stages:
            recipe = read_config_source(stage.config)[0]["data"]["train"]
            over = stage_overrides(plan, entry, stage, minutes=1.0, previous="x.safetensors",
                                   device=None, recipe_train=recipe)
            cfg = load_run_config(stage.config, overrides=over)
            assert cfg.data.val is not None, f"{entry.label}: no checkpoint selection set"
            if plan.data.extra_train and "data.train" not in entry.set:
                parts = cfg.data.train.params.parts  # type: ignore[attr-defined]
                crops = {getattr(p.params, "crop", None) for p in parts}
                assert crops == {recipe.get("crop")}, f"{entry.label}: one crop per batch"


def test_the_photo_plan_mixes_lol_with_darkened_photos_and_never_the_test_sets() -> None:
    plan = load_plan(Path(__file__).resolve().parents[1] / "docs/weights/photo-plan.yaml")
    text = str(plan.model_dump())
    assert "core.dark_photos" in text and "bsds500/val" in text
    for held_out in ("kodak", "mcmaster", "lol/test", "unpaired"):
        assert held_out not in text
