"""A checkpoint of a model with a frozen pretrained part loads offline, without the hub."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lle_core import WeightsError, parse_spec
from lle_core.checkpoint import load_model, save_checkpoint


def test_hf2_checkpoint_restores_its_vgg_without_the_hub(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("LLE_VGG16_WEIGHTS", raising=False)
    trained = {"type": "hf2.model", "base_width": 8,
               "backbone": {"type": "hf2.vgg16", "weights": "random"}}
    model = parse_spec("model", trained).build().eval()
    # The spec recorded is the one a user trains with: ImageNet VGG16 weights.
    recorded = parse_spec("model", {**trained, "backbone": {"type": "hf2.vgg16",
                                                            "weights": "imagenet"}})
    with pytest.raises(WeightsError):
        recorded.build()  # offline and no file: building it from scratch must fail
    save_checkpoint(tmp_path, "best", model=model, model_spec=recorded, step=1)
    restored = load_model(tmp_path / "best.safetensors")
    x = torch.rand(1, 3, 32, 32) * 0.3
    with torch.no_grad():
        assert torch.equal(restored(x), model(x))
