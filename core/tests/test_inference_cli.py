"""``lle enhance``: files, folders, globs, single-file output, weights, refusal."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import lle_core
from lle_core.checkpoint import save_weights
from lle_core.cli.main import main
from lle_core.inference import enhance
from lle_core.io import read_image


def _image(path, h=20, w=26, seed=0):
    arr = (np.random.default_rng(seed).random((h, w, 3)) * 120).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    model = lle_core.create("model", "core.unet_small", base_width=4)
    with torch.no_grad():
        model.head.weight.normal_(std=0.05)
        model.head.bias.fill_(0.1)
    return model.eval(), save_weights(tmp_path / "run" / "best.safetensors", model)


def test_folder_and_glob_with_weights_only(tmp_path, checkpoint):
    model, weights = checkpoint
    _image(tmp_path / "photos" / "a.png", seed=1)
    _image(tmp_path / "photos" / "b.jpg", 17, 31, seed=2)
    _image(tmp_path / "more" / "c.png", 9, 12, seed=3)
    (tmp_path / "photos" / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    code = main(["enhance", str(tmp_path / "photos"), str(tmp_path / "more" / "*.png"),
                 "-o", str(out), "--weights", str(weights)])
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.png"]
    for name, src in (("a.png", "photos/a.png"), ("c.png", "more/c.png")):
        written = read_image(out / name)
        expected = enhance(model, tmp_path / src)[0]
        assert written.shape == expected.shape
        assert float((written - expected).abs().max()) <= 1 / 255 + 1e-6  # 8-bit rounding


def test_single_input_writes_the_named_file_and_tiles(tmp_path, checkpoint):
    _, weights = checkpoint
    src = _image(tmp_path / "in.png", 40, 44)
    dst = tmp_path / "result.png"
    code = main(["enhance", str(src), "-o", str(dst), "--weights", str(weights.parent),
                 "--tile", "32", "--overlap", "8"])
    assert code == 0
    assert read_image(dst).shape == (3, 40, 44)


def test_many_inputs_need_a_folder(tmp_path, capsys):
    a, b = _image(tmp_path / "a.png"), _image(tmp_path / "b.png")
    code = main(["enhance", str(a), str(b), "-o", str(tmp_path / "x.png"), "--model",
                 "core.unet_small"])
    assert code == 1
    assert "output folder" in capsys.readouterr().err


def test_model_needing_weights_is_refused(tmp_path, capsys):
    """A model that needs weights and has no shipped set is refused (never random weights)."""
    from lle_core.registry import registries

    src = _image(tmp_path / "in.png")
    with registries().temporary() as regs:
        for entry in regs["weights"].entries():
            regs["weights"].remove(entry.name)
        code = main(["enhance", str(src), "-o", str(tmp_path / "o.png"), "--model",
                     "core.unet_small"])
    assert code == 1
    err = capsys.readouterr().err
    assert "needs trained weights" in err and "--weights" in err
    assert not (tmp_path / "o.png").exists()


def test_no_model_at_all_is_explained(tmp_path, capsys):
    """Without --model/--weights the default shipped weights run; with none installed, the
    error says how to get some (more cases in test_weights.py)."""
    from lle_core.registry import registries

    src = _image(tmp_path / "in.png")
    with registries().temporary() as regs:
        for entry in regs["weights"].entries():
            regs["weights"].remove(entry.name)
        assert main(["enhance", str(src), "-o", str(tmp_path / "o.png")]) == 1
    err = capsys.readouterr().err
    assert "no pretrained weights are installed" in err and "--weights" in err


def test_missing_input_is_named(tmp_path, capsys):
    assert main(["enhance", str(tmp_path / "nope.png"), "-o", str(tmp_path / "o")]) == 1
    assert "nope.png" in capsys.readouterr().err


def test_config_file_names_the_model(tmp_path, checkpoint):
    _, weights = checkpoint
    cfg = tmp_path / "model.yaml"
    cfg.write_text("model:\n  type: core.unet_small\n  base_width: 4\n")
    src = _image(tmp_path / "in.png")
    assert main(["enhance", str(src), "-o", str(tmp_path / "o.png"), "--config", str(cfg),
                 "--weights", str(weights)]) == 0
    assert (tmp_path / "o.png").is_file()


def test_baseline_runs_without_weights(tmp_path):
    src = _image(tmp_path / "in.png")
    assert main(["enhance", str(src), "-o", str(tmp_path / "o.png"), "--model",
                 "core.gamma"]) == 0
    assert read_image(tmp_path / "o.png").mean() > read_image(src).mean()


def test_eval_with_weights_only(tmp_path, checkpoint):
    import json

    _, weights = checkpoint
    for i in range(2):
        _image(tmp_path / "pairs" / "low" / f"{i}.png", 16, 16, seed=i)
        _image(tmp_path / "pairs" / "high" / f"{i}.png", 16, 16, seed=10 + i)
    out = tmp_path / "r.json"
    assert main(["eval", "--data", str(tmp_path / "pairs"), "--weights", str(weights),
                 "--baselines", "gamma", "--json", str(out)]) == 0
    models = json.loads(out.read_text())["models"]
    assert [m["model"] for m in models] == ["core.unet_small", "core.gamma"]
    assert models[0]["weights"] == str(weights)
    assert models[0]["spec"]["base_width"] == 4
