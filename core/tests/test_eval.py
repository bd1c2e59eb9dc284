"""Evaluation: known-answer PSNR, GT-mean columns, reports, comparison grid, ``lle eval``."""

from __future__ import annotations

import json
import math
from typing import ClassVar

import numpy as np
import pytest
import torch
from PIL import Image

import lle_core
from lle_core.cli.main import main
from lle_core.errors import DatasetError
from lle_core.evaluation import (
    PROTOCOL,
    comparison_rows,
    evaluate,
    grid_size,
    markdown_table,
    write_comparison_grid,
    write_json,
)
from lle_core.evaluation.grid import GAP, LABEL_HEIGHT
from lle_core.interfaces import Enhancer
from lle_core.registry import Capabilities, Entry

OFFSETS = (8, 4)  # ground truth = low + offset / 255 exactly (8-bit levels)


class Identity(Enhancer):
    default_capabilities: ClassVar[Capabilities] = Capabilities(needs_weights=False)

    def forward(self, low):
        return low


def _pairs_folder(root, sizes=((24, 32), (20, 28))):
    rng = np.random.default_rng(0)
    (root / "low").mkdir(parents=True)
    (root / "high").mkdir()
    for i, ((h, w), off) in enumerate(zip(sizes, OFFSETS, strict=True)):
        low = rng.integers(0, 200, size=(h, w, 3), dtype=np.uint8)
        Image.fromarray(low).save(root / "low" / f"im{i}.png")
        Image.fromarray(low + off).save(root / "high" / f"im{i}.png")
    return root


@pytest.fixture
def identity_registered():
    with lle_core.registries()["model"].temporary() as reg:
        reg.add(Entry(kind="model", name="test.identity", factory=Identity,
                      capabilities=Identity.default_capabilities))
        yield


def test_identity_psnr_matches_the_analytic_value(tmp_path):
    data = _pairs_folder(tmp_path / "pairs")
    result = evaluate(Identity(), data, label="identity")
    expected = [20 * math.log10(255 / off) for off in OFFSETS]
    got = [row["psnr"] for row in result.images]
    assert [row["name"] for row in result.images] == ["im0.png", "im1.png"]
    assert got == pytest.approx(expected, abs=1e-6)
    assert result.mean["psnr"] == pytest.approx(sum(expected) / 2, abs=1e-6)
    assert 0 < result.mean["ssim"] < 1
    assert "psnr_gtmean" not in result.mean
    assert result.protocol == PROTOCOL


def test_gt_mean_columns_are_added_and_help_a_too_dark_output(tmp_path):
    data = _pairs_folder(tmp_path / "pairs")
    result = evaluate(Identity(), data, gt_mean="both")
    assert set(result.mean) == {"psnr", "ssim", "psnr_gtmean", "ssim_gtmean"}
    # identity output is darker than the ground truth everywhere: matching the mean helps
    assert result.mean["psnr_gtmean"] > result.mean["psnr"]


def test_evaluate_accepts_tensor_pairs_and_dataset_items():
    low = torch.full((3, 16, 16), 0.25)
    high = torch.full((3, 16, 16), 0.5)
    by_tuple = evaluate(Identity(), [(low, high)])
    by_dict = evaluate(Identity(), [{"low": low, "high": high, "name": "a"}])
    assert by_tuple.mean["psnr"] == pytest.approx(20 * math.log10(1 / 0.25), abs=0.05)
    assert by_dict.images[0]["name"] == "a"
    assert by_dict.mean == by_tuple.mean
    with pytest.raises(DatasetError, match="ground truth"):
        evaluate(Identity(), [{"low": low, "name": "x"}])


def test_missing_partner_is_named(tmp_path):
    data = _pairs_folder(tmp_path / "pairs")
    (data / "high" / "im1.png").unlink()
    with pytest.raises(DatasetError, match=r"im1\.png"):
        evaluate(Identity(), data)


def test_reports_json_and_markdown(tmp_path):
    data = _pairs_folder(tmp_path / "pairs")
    results = [evaluate(Identity(), data, label="a"), evaluate(Identity(), data, label="b")]
    path = write_json(results, tmp_path / "r.json", data="pairs")
    loaded = json.loads(path.read_text())
    assert loaded["protocol"] == PROTOCOL and loaded["data"] == "pairs"
    assert [m["model"] for m in loaded["models"]] == ["a", "b"]
    assert loaded["models"][0]["mean"]["psnr"] == pytest.approx(results[0].mean["psnr"])
    md = markdown_table(results)
    assert md.count("\n| ") == 2 and f"{results[0].mean['psnr']:.2f}" in md


def test_comparison_grid_has_the_computed_size(tmp_path):
    rows = [
        [("input", torch.rand(3, 20, 30)), ("model", torch.rand(3, 40, 10))],
        [("a very long label that will be shortened", torch.rand(3, 8, 8))],
    ]
    path = write_comparison_grid(rows, tmp_path / "g" / "grid.png", max_side=32)
    with Image.open(path) as im:
        size = im.size
    # row 1: 30x20 kept, 10x40 scaled to 8x32; row 2: 8x8 kept
    width = max(30 + 8 + 3 * GAP, 8 + 2 * GAP)
    height = (32 + LABEL_HEIGHT + GAP) + (8 + LABEL_HEIGHT + GAP) + GAP
    assert size == (width, height) == grid_size([[(30, 20), (10, 40)], [(8, 8)]], 32)


def test_comparison_rows_from_kept_outputs(tmp_path):
    data = _pairs_folder(tmp_path / "pairs")
    result = evaluate(Identity(), data, label="id", keep_outputs=1)
    assert list(result.outputs) == ["im0.png"]
    rows = comparison_rows(data, [result])
    assert len(rows) == 1
    labels = [label for label, _ in rows[0]]
    assert labels[0].startswith("input") and labels[-1] == "ground truth"
    assert labels[1].startswith("id ") and labels[1].endswith("dB")


def test_cli_eval_table_json_and_grid(tmp_path, identity_registered, capsys):
    data = _pairs_folder(tmp_path / "pairs")
    out_json, out_grid = tmp_path / "res.json", tmp_path / "grid.png"
    code = main(["eval", "--data", str(data), "--model", "test.identity", "--baselines",
                 "none", "--json", str(out_json), "--grid", str(out_grid), "--gt-mean"])
    assert code == 0
    printed = capsys.readouterr().out
    for off in OFFSETS:  # per-image PSNR of both pairs
        assert f"{20 * math.log10(255 / off):.2f}" in printed
    loaded = json.loads(out_json.read_text())
    assert loaded["models"][0]["model"] == "test.identity"
    assert "psnr_gtmean" in loaded["models"][0]["mean"]
    assert Image.open(out_grid).size[0] > 0


def test_cli_eval_with_core_baselines(tmp_path, identity_registered):
    data = _pairs_folder(tmp_path / "pairs")
    out_json = tmp_path / "res.json"
    code = main(["eval", "--data", str(data), "--model", "test.identity", "--baselines",
                 "identity,gamma", "--json", str(out_json)])
    assert code == 0
    models = json.loads(out_json.read_text())["models"]
    assert [m["model"] for m in models] == ["test.identity", "core.identity", "core.gamma"]
    assert models[1]["mean"]["psnr"] == pytest.approx(models[0]["mean"]["psnr"], abs=1e-6)


def test_cli_eval_refuses_a_model_that_needs_weights(tmp_path, capsys):
    """Without a shipped set (removed here) a model that needs weights is refused."""
    from lle_core.registry import registries

    data = _pairs_folder(tmp_path / "pairs")
    with registries().temporary() as regs:
        for entry in regs["weights"].entries():
            regs["weights"].remove(entry.name)
        code = main(["eval", "--data", str(data), "--model", "core.unet_small"])
    assert code == 1
    assert "--weights" in capsys.readouterr().err
