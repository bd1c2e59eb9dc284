"""The shipped paper recipe validates and carries the paper's (and SCI's) hyper-parameters."""

from __future__ import annotations

import pytest

from lle_core import parse_spec


def test_paper_recipe_validates(tmp_path) -> None:
    config_mod = pytest.importorskip("lle_core.engine.config")
    cfg = config_mod.load_run_config("auxnet:paper", data_dir=tmp_path).to_dict()
    assert cfg["model"]["type"] == "auxnet.model" and cfg["model"]["stages"] == 3
    assert cfg["trainer"] in ("auxnet.staged", {"type": "auxnet.staged"}) or (
        cfg["trainer"]["type"] == "auxnet.staged"
    )
    terms = {t["type"]: t for t in cfg["loss"]["terms"]}
    assert terms["auxnet.fidelity"]["weight"] == 0.8
    assert terms["auxnet.smoothness"]["weight"] == 0.65
    assert terms["core.perceptual"]["weight"] == 0.5
    assert terms["core.perceptual"]["keys"] == {"pred": "illumination",
                                                "target": "calibrated_input"}
    assert cfg["optim"]["lr"] == 1e-4 and cfg["optim"]["eps"] == 1e-8
    assert list(cfg["optim"]["betas"]) == [0.9, 0.999]
    assert cfg["optim"]["weight_decay"] == 3e-4 and cfg["train"]["grad_clip"] == 5.0
    assert cfg["data"]["batch_size"] == 1 and cfg["budget"]["epochs"] == 800
    assert cfg["data"]["train"]["type"] == "core.unpaired_folder"


def test_recipe_model_is_the_default_model() -> None:
    assert parse_spec("model", "auxnet.model").params.stages == 3
