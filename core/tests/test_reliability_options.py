"""Reliability: numeric options and environment variables mean the same on the CLI and in
Python and are checked once, before any work; plan labels and output folders (issue 24,
items 4 and 8)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import lle_core
from lle_core.engine.plan import load_plan
from lle_core.errors import ConfigError

GAMMA = ["--model", "core.gamma"]


def _image(path: Path, seed: int = 0, suffix_format: str | None = None) -> Path:
    arr = (np.random.default_rng(seed).random((12, 16, 3)) * 120).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, format=suffix_format)
    return path


@pytest.mark.parametrize(
    "option, value, expected",
    [
        ("--max-memory-mb", "nan", "--max-memory-mb"),
        ("--max-memory-mb", "inf", "--max-memory-mb"),
        ("--max-memory-mb", "0", "--max-memory-mb"),
        ("--max-memory-mb", "-5", "--max-memory-mb"),
        ("--tile", "-5", "--tile"),
    ],
)
def test_bad_numbers_are_one_error_before_any_file(tmp_path, run_lle, option, value, expected):
    """64ec01f: NaN failed every file with a ValueError; 0/-5 were accepted; -5 tiles meant off."""
    for i in range(3):
        _image(tmp_path / "in" / f"{i}.png", seed=i)
    out = tmp_path / "out"
    code, text = run_lle("enhance", str(tmp_path / "in"), "-o", str(out), *GAMMA,
                      option, value)
    assert code == 1
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and expected in text and "cannot convert" not in text
    assert "failed:" not in text  # not one failure per file: one error for the run
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(
    "variable, value", [("LLE_MAX_MEMORY_MB", "-1"), ("LLE_MAX_MEMORY_MB", "nan"),
                        ("LLE_MAX_IMAGE_PIXELS", "abc"), ("LLE_MAX_IMAGE_PIXELS", "0")]
)
def test_bad_environment_variables_fail_once_naming_the_variable(
    tmp_path, run_lle, monkeypatch, variable, value
):
    """64ec01f: LLE_MAX_IMAGE_PIXELS=abc failed every file; LLE_MAX_MEMORY_MB=-1 was accepted."""
    for i in range(3):
        _image(tmp_path / "in" / f"{i}.png", seed=i)
    monkeypatch.setenv(variable, value)
    code, text = run_lle("enhance", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
                      *GAMMA)
    assert code == 1 and variable in text and "failed:" not in text
    assert text.count(variable) == 1
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("value", [-5, -1, True, 2.5, "big"])
def test_tile_values_mean_the_same_in_python_and_on_the_cli(tmp_path, run_lle, value):
    """One rule for both: a negative tile side is refused everywhere (64ec01f: off on the CLI)."""
    with pytest.raises(ConfigError, match="tile"):
        lle_core.enhance("core.gamma", torch.rand(3, 8, 8), tile=value)
    if isinstance(value, int | str) and not isinstance(value, bool):
        src = _image(tmp_path / "a.png")
        code, text = run_lle("enhance", str(src), "-o", str(tmp_path / "o.png"), *GAMMA,
                          "--tile", str(value))
        assert code == 1 and "--tile" in text and not (tmp_path / "o.png").exists()


def test_zero_means_off_in_python_and_on_the_cli(tmp_path, run_lle):
    from lle_core.options import tile_option

    x = torch.rand(3, 8, 8)
    assert tile_option(0) == tile_option("0") == tile_option("off") == "off"
    assert torch.equal(lle_core.enhance("core.gamma", x, tile=0),
                       lle_core.enhance("core.gamma", x, tile="off"))
    src = _image(tmp_path / "a.png")
    code, _ = run_lle("enhance", str(src), "-o", str(tmp_path / "o.png"), *GAMMA,
                   "--tile", "0")
    assert code == 0 and (tmp_path / "o.png").is_file()


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 0, -5, True, "x"])
def test_memory_budget_is_checked_in_python_too(value, tmp_path):
    from lle_core.inference import enhance_files

    with pytest.raises(ConfigError, match="max_memory_mb"):
        lle_core.enhance("core.gamma", torch.rand(3, 8, 8), max_memory_mb=value)
    src = _image(tmp_path / "a.png")
    with pytest.raises(ConfigError, match="max_memory_mb"):
        enhance_files([src], tmp_path / "out", model="core.gamma", max_memory_mb=value)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_environment_budget_is_validated_like_the_option(monkeypatch):
    from lle_core.options import memory_mb_option

    monkeypatch.setenv("LLE_MAX_MEMORY_MB", "-1")
    with pytest.raises(ConfigError, match="LLE_MAX_MEMORY_MB"):
        memory_mb_option(None)
    with pytest.raises(ConfigError, match="LLE_MAX_MEMORY_MB"):
        lle_core.enhance("core.gamma", torch.rand(3, 8, 8))
    monkeypatch.setenv("LLE_MAX_MEMORY_MB", "256")
    assert memory_mb_option(None) == 256.0


def test_a_plan_with_one_label_twice_is_refused():
    """64ec01f: the second entry resumed the first one's run folder."""
    stage = [{"config": "core/unet_small.yaml"}]
    with pytest.raises(ConfigError, match="'neid' is used twice"):
        load_plan({"data": {"train": ["x"]},
                   "entries": [{"label": "neid", "stages": stage},
                               {"label": "neid", "stages": stage, "share": 2}]})
    with pytest.raises(ConfigError, match="used twice"):  # one folder on macOS/Windows
        load_plan({"data": {"train": ["x"]},
                   "entries": [{"label": "Neid", "stages": stage},
                               {"label": "neid", "stages": stage}]})


def test_folder_of_jpegs_into_itself_is_refused(tmp_path, run_lle):
    """64ec01f: PNG results went next to the JPEGs, and a second run enhanced them again."""
    folder = tmp_path / "photos"
    _image(folder / "a.jpg", seed=1)
    _image(folder / "b.jpg", seed=2)
    before = sorted(p.name for p in folder.iterdir())
    code, text = run_lle("enhance", str(folder), "-o", str(folder), *GAMMA)
    assert code == 1 and "--out" in text and "enhanced again" in text
    assert sorted(p.name for p in folder.iterdir()) == before
    code, text = run_lle("enhance", str(folder / "*.jpg"), "-o", str(folder), *GAMMA)
    assert code == 1 and sorted(p.name for p in folder.iterdir()) == before
    from lle_core.inference import enhance_files

    with pytest.raises(ConfigError, match="enhanced again"):
        enhance_files([folder], folder, model="core.gamma")
    assert sorted(p.name for p in folder.iterdir()) == before


def test_in_place_with_overwrite_and_the_same_format_is_allowed(tmp_path, run_lle):
    folder = tmp_path / "photos"
    a = _image(folder / "a.jpg", seed=1)
    before = a.read_bytes()
    code, _ = run_lle("enhance", str(folder), "-o", str(folder), *GAMMA,
                   "--overwrite", "--ext", "jpg")
    assert code == 0 and sorted(p.name for p in folder.iterdir()) == ["a.jpg"]
    assert a.read_bytes() != before


def test_lle_eval_uses_its_memory_and_overlap_options(tmp_path, run_lle, monkeypatch):
    """64ec01f: lle eval accepted --max-memory-mb and --overlap and ignored them."""
    import importlib

    evaluate_mod = importlib.import_module("lle_core.evaluation.evaluate")  # the module

    for sub in ("low", "high"):
        _image(tmp_path / "data" / sub / "a.png", seed=1 if sub == "low" else 2)
    seen: list[dict] = []
    real = evaluate_mod.enhance

    def spy(*args, **kwargs):
        seen.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluate_mod, "enhance", spy)
    code, text = run_lle("eval", "--data", str(tmp_path / "data"), *GAMMA,
                         "--max-memory-mb", "300", "--overlap", "8", "--tile", "0")
    assert code == 0, text
    assert seen and all(k["max_memory_mb"] == 300 and k["overlap"] == 8 and k["tile"] == "off"
                        for k in seen)
    code, text = run_lle("eval", "--data", str(tmp_path / "data"), *GAMMA,
                         "--max-memory-mb", "nan")
    assert code == 1 and "--max-memory-mb" in text
