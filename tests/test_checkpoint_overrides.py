"""Inference options of a recorded model can be changed when its checkpoint is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lle_core import WeightsError, parse_spec
from lle_core.checkpoint import load_model, save_checkpoint
from lle_core.cli.main import main
from lle_core.io import read_image
from lle_core.testing.strategies import make_image, write_png

NEID = {"type": "neid.model", "widths": [4, 4, 8, 8, 8]}


@pytest.fixture()
def checkpoint(tmp_path: Path) -> Path:
    model = parse_spec("model", NEID).build().eval()
    save_checkpoint(tmp_path, "best", model=model, step=1)
    return tmp_path / "best.safetensors"


def test_mode_override_changes_the_output_size(checkpoint: Path) -> None:
    x = make_image("dark", 20, 30)
    default = load_model(checkpoint)
    doubled = load_model(checkpoint, overrides={"mode": "field_to_command"})
    with torch.no_grad():
        assert default(x).shape[-2:] == (20, 30)
        assert doubled(x).shape[-2:] == (40, 60)


def test_architecture_override_is_refused_with_the_keys(checkpoint: Path) -> None:
    with pytest.raises(WeightsError, match="shape"):
        load_model(checkpoint, overrides={"widths": [8, 8, 8, 8, 8]})


def test_cli_set_reaches_the_recorded_model(checkpoint: Path, tmp_path: Path) -> None:
    src = write_png(tmp_path / "in.png", make_image("dark", 20, 30))
    out = tmp_path / "out.png"
    assert main(["enhance", str(src), "-o", str(out), "--weights", str(checkpoint),
                 "--set", "mode=field_to_command"]) == 0
    assert tuple(read_image(out).shape) == (3, 40, 60)
