"""Run config validation: paths in errors, budgets, overrides, recipes."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from lle_core.engine.config import load_run_config, validate_run_config
from lle_core.errors import ConfigError
from lle_core.testing.toys import toy_components


@pytest.fixture(autouse=True)
def _toys():
    with toy_components():
        yield


def base() -> dict:
    return {
        "model": {"type": "toy.cnn", "width": 4},
        "loss": "toy.l1",
        "data": {"train": {"type": "toy.pairs"}, "batch_size": 2},
        "budget": {"steps": 3},
    }


def problems(err: pytest.ExceptionInfo[ConfigError]) -> dict[str, str]:
    return dict(err.value.problems)


def test_valid_config_fills_defaults():
    cfg = validate_run_config(base())
    assert cfg.trainer.name == "core.supervised"
    assert cfg.optim.name == "adam"
    assert cfg.model_spec.to_dict()["width"] == 4
    assert cfg.to_dict()["data"]["train"]["count"] == 6  # dataset defaults resolved


def test_unknown_top_level_and_nested_keys_have_paths():
    data = base()
    data["optim"] = {"lr": 1e-3, "momentum": 0.9}
    data["model"]["widht"] = 3
    data["colour"] = 1
    with pytest.raises(ConfigError) as err:
        validate_run_config(data)
    found = problems(err)
    assert "optim.momentum" in found
    assert "model.widht" in found
    assert "colour" in found
    assert "unknown key" in found["optim.momentum"]
    assert "model.widht" in str(err.value)


def test_nested_spec_errors_show_the_full_path():
    data = base()
    data["data"]["train"] = {"type": "toy.pairs", "count": 0}
    data["loss"] = {"type": "toy.l1", "weight": -1}
    with pytest.raises(ConfigError) as err:
        validate_run_config(data)
    found = problems(err)
    assert "data.train.count" in found
    assert "loss.weight" in found


def test_errors_inside_nested_specs_of_core_components():
    data = base()
    data["loss"] = {"type": "core.composite", "terms": [{"type": "core.l1", "wieght": 1}]}
    with pytest.raises(ConfigError) as err:
        validate_run_config(data)
    assert "loss.terms.0.wieght" in problems(err)


def test_unknown_component_name_is_reported_at_its_key():
    data = base()
    data["model"] = {"type": "toy.cnnn"}
    with pytest.raises(ConfigError) as err:
        validate_run_config(data)
    assert "model" in problems(err)
    assert "toy.cnn" in problems(err)["model"]  # did-you-mean


def test_budget_is_required():
    data = base()
    data["budget"] = {}
    with pytest.raises(ConfigError) as err:
        validate_run_config(data)
    assert "budget" in problems(err)
    assert problems(err)["budget"].startswith("set at least one of budget.steps")
    del data["budget"]
    with pytest.raises(ConfigError) as err:
        validate_run_config(data)
    assert "budget" in problems(err)


def test_cosine_needs_a_length():
    data = base()
    data["budget"] = {"minutes": 1}
    data["schedule"] = {"name": "cosine"}
    with pytest.raises(ConfigError) as err:
        validate_run_config(data)
    assert "t_max" in str(err.value)
    data["schedule"]["t_max"] = 10
    assert validate_run_config(data).schedule.t_max == 10


def test_overrides_are_yaml_parsed_and_data_dir_fills_the_root(tmp_path: Path):
    data = base()
    data["data"]["train"] = "core.paired_folder"
    (tmp_path / "low").mkdir()
    cfg = load_run_config(
        data,
        overrides=["optim.lr=2e-3", "optim.betas=[0.5, 0.9]", "train.ema=0.99"],
        data_dir=tmp_path,
    )
    assert cfg.optim.lr == pytest.approx(2e-3)
    assert cfg.optim.betas == (0.5, 0.9)
    assert cfg.train.ema == pytest.approx(0.99)
    assert cfg.data.train.name == "core.paired_folder"
    assert cfg.data.train.to_dict()["root"] == str(tmp_path)


def test_missing_data_root_hints_at_data_flag():
    data = base()
    data["data"]["train"] = "core.paired_folder"
    with pytest.raises(ConfigError) as err:
        load_run_config(data)
    assert "--data" in problems(err)["data.train.root"]


def test_bad_override_syntax():
    with pytest.raises(ConfigError, match="key=value"):
        load_run_config(base(), overrides=["optim.lr"])


def test_yaml_file_source_is_named_in_errors(tmp_path: Path):
    path = tmp_path / "run.yaml"
    path.write_text("model: toy.cnn\ndata: {train: toy.pairs}\nbudget: {steps: 1}\nbogus: 1\n")
    with pytest.raises(ConfigError) as err:
        load_run_config(path)
    assert str(path) in str(err.value)
    assert "bogus" in problems(err)


def test_recipe_from_a_plugin_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from lle_core.plugins import register_plugin, unregister_plugin

    pkg = tmp_path / "lle_recipetest"
    (pkg / "recipes").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "hooks.py").write_text(textwrap.dedent("""
        from lle_core.hookspecs import hookimpl
        LLE_PLUGIN_API = 1
        @hookimpl
        def lle_register(register):
            pass
    """))
    (pkg / "recipes" / "paper.yaml").write_text(
        "model: {type: toy.cnn, width: 3}\nloss: toy.l1\ndata: {train: core.paired_folder}\n"
        "budget: {steps: 2}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    hooks = importlib.import_module("lle_recipetest.hooks")
    register_plugin(hooks, plugin_id="recipetest")
    try:
        cfg = load_run_config("recipetest:paper", data_dir=tmp_path)
        assert cfg.model_spec.to_dict()["width"] == 3
        assert cfg.data.train.to_dict()["root"] == str(tmp_path)
        with pytest.raises(ConfigError) as err:
            load_run_config("recipetest:nope")
        assert "recipetest:paper" in str(err.value)
        assert "nope" in str(err.value)
    finally:
        unregister_plugin("recipetest")
        sys.modules.pop("lle_recipetest.hooks", None)
        sys.modules.pop("lle_recipetest", None)


def test_unknown_plugin_recipe():
    with pytest.raises(ConfigError, match="no installed plugin 'nosuchplugin'"):
        load_run_config("nosuchplugin:paper")


def test_data_dir_alone_makes_a_paired_folder_training_set(tmp_path: Path):
    data = base()
    del data["data"]
    cfg = load_run_config(data, data_dir=tmp_path, val_dir=tmp_path)
    assert cfg.data.train.name == "core.paired_folder"
    assert cfg.data.train.to_dict()["root"] == str(tmp_path)
    assert cfg.data.val.name == "core.paired_folder"
    assert cfg.data.batch_size == 8
