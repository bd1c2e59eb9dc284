"""The plugin's ``lle`` subcommand and inference backend, end to end through ``lle``."""

from pathlib import Path

import torch
from PIL import Image

import lle_core
from lle_core.checkpoint import save_weights
from lle_core.cli.main import main
from lle_core.inference import enhance
from lle_core.inference.backends import backend_names
from lle_core.io import read_image


def test_export_command_and_program_backend_match_the_model(tmp_path: Path, capsys) -> None:
    torch.manual_seed(0)
    model = lle_core.create("model", "template.model", width=8, depth=3).eval()
    weights = save_weights(tmp_path / "best.safetensors", model)
    photo = tmp_path / "photo.png"
    Image.fromarray((torch.rand(41, 50, 3) * 200).byte().numpy()).save(photo)

    assert "template-program" in backend_names()
    assert main(["template-export", "--weights", str(weights), "-o", str(tmp_path / "m.pt2")]) == 0
    assert "template-program" in capsys.readouterr().out
    out = tmp_path / "out.png"
    code = main(["enhance", str(photo), "-o", str(out), "--backend", "template-program",
                 "--backend-file", str(tmp_path / "m.pt2"), "--tile", "16"])
    assert code == 0, capsys.readouterr().err
    expected = enhance(model, photo)[0]  # untiled PyTorch: the tiles must not show
    assert float((read_image(out) - expected).abs().max()) <= 1 / 255 + 1e-6
