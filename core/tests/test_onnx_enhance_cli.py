"""`lle enhance --backend onnxruntime` for every exportable model: runs, matches PyTorch, no
spurious random-weights warning."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import lle_core
from lle_core.checkpoint import mark_weights
from lle_core.cli.main import main
from lle_core.errors import RandomWeightsWarning
from lle_core.export import OnnxEnhancer, export_onnx
from lle_core.registry import registries

pytest.importorskip("onnxruntime")

EXPORTABLE = ["core.unet_small", "auxnet.model", "frlie.model", "dln.model", "hf2.model"]


def _trained_looking(name: str) -> torch.nn.Module:
    """A seeded model marked as holding weights (as a shipped or trained one would)."""
    torch.manual_seed(0)
    model = lle_core.create("model", name, **(registries()["model"].get(name).example or {}))
    mark_weights(model, "test")
    return model.eval()


@pytest.mark.parametrize("name", EXPORTABLE)
def test_enhance_cli_runs_every_exportable_model_through_onnxruntime(
    name: str, tmp_path: Path
) -> None:
    model = _trained_looking(name)
    onnx_file = export_onnx(model, tmp_path / "m.onnx")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 90, (37, 45, 3), dtype=np.uint8)).save(tmp_path / "in.png")
    out = tmp_path / "out.png"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(["enhance", str(tmp_path / "in.png"), "-o", str(out),
                     "--backend", "onnxruntime", "--onnx", str(onnx_file)])
    assert code == 0 and out.is_file()
    random = [w for w in caught if issubclass(w.category, RandomWeightsWarning)]
    assert not random, f"spurious warning: {random[0].message}"
    ref = lle_core.enhance(model, tmp_path / "in.png", plain=True)[0]
    got = torch.from_numpy(np.asarray(Image.open(out), dtype=np.float32) / 255).permute(2, 0, 1)
    assert got.shape == ref.shape
    assert (got - ref).abs().max() <= 2 / 255  # 8-bit rounding of a < 1e-3 difference


def test_onnx_enhancer_has_no_torch_fast_path_and_counts_as_weighted(tmp_path: Path) -> None:
    model = _trained_looking("auxnet.model")
    assert model.capabilities.fast_path  # what made generic_fast_copy deep-copy the session
    ort_model = OnnxEnhancer(export_onnx(model, tmp_path / "a.onnx"))
    assert ort_model.capabilities.fast_path == ()
    assert ort_model.capabilities.multiple_of == model.capabilities.multiple_of
    with warnings.catch_warnings():
        warnings.simplefilter("error", RandomWeightsWarning)
        y = lle_core.enhance(ort_model, torch.rand(1, 3, 20, 24))
    assert y.shape == (1, 3, 20, 24)
