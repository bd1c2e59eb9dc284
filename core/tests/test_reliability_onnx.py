"""Reliability of the ONNX Runtime backend: bad files are the user's, named; a wrong output
shape fails its image only; large photos are tiled like the torch path (issue 24, items 4, 7)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import lle_core
from lle_core.inference import plan_tiling

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


def _image(path: Path, seed: int = 0) -> Path:
    arr = (np.random.default_rng(seed).random((16, 20, 3)) * 120).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


@pytest.mark.parametrize("payload", [b"", b"this is not a model\n", b"\x08\x07" + b"\xff" * 64])
def test_a_bad_onnx_file_is_a_user_error_naming_it(tmp_path, run_lle, payload):
    """64ec01f: 'unexpected ... a bug in lle or a plugin', without the file's name."""
    bad = tmp_path / "model.onnx"
    bad.write_bytes(payload)
    src = _image(tmp_path / "a.png")
    code, text = run_lle("enhance", str(src), "-o", str(tmp_path / "o.png"),
                      "--backend", "onnxruntime", "--onnx", str(bad))
    assert code == 1 and str(bad) in text
    assert "unexpected" not in text and "a bug in lle" not in text
    assert not (tmp_path / "o.png").exists()


class SixChannels(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, x], dim=1)


def test_an_onnx_model_with_six_output_channels_fails_each_image_not_the_run(tmp_path, run_lle):
    """64ec01f: the writer got a 6-channel array and stopped the whole run."""
    buf = io.BytesIO()
    torch.onnx.export(SixChannels(), (torch.rand(1, 3, 8, 8),), buf, dynamo=False,
                      input_names=["low"], output_names=["enhanced"],
                      dynamic_axes={"low": {0: "b", 2: "h", 3: "w"},
                                    "enhanced": {0: "b", 2: "h", 3: "w"}})
    model = tmp_path / "six.onnx"
    model.write_bytes(buf.getvalue())
    for i in range(2):
        _image(tmp_path / "in" / f"{i}.png", seed=i)
    out = tmp_path / "out"
    code, text = run_lle("enhance", str(tmp_path / "in"), "-o", str(out),
                      "--backend", "onnxruntime", "--onnx", str(model))
    assert code == 1
    assert "2 of 2 input(s) failed" in text and text.count("(1, 6,") == 2 and str(model) in text
    assert not out.exists() or not any(out.iterdir())  # nothing wrong was written


def test_the_onnx_backend_tiles_a_large_photo_like_the_torch_path(tmp_path):
    """64ec01f: 24 MP ran in one piece through ONNX Runtime (14.4 GiB with core.lol)."""
    from lle_core.export import OnnxEnhancer, export_onnx

    torch.manual_seed(0)
    net = lle_core.create("model", "core.unet_small", base_width=4).eval()
    path = export_onnx(net, tmp_path / "unet.onnx")
    session = OnnxEnhancer(path)
    photo = torch.zeros(1, 3, 1, 1).expand(1, 3, 4000, 6000)  # 24 MP: only its shape is used
    caps = session.capabilities
    torch_plan = plan_tiling(net, photo, net.capabilities)
    onnx_plan = plan_tiling(session, photo, caps)
    assert torch_plan is not None and onnx_plan is not None  # both tiled at the 1 GiB default
    assert onnx_plan.tile <= torch_plan.tile  # ORT keeps more alive per pixel: smaller tiles
    # and the tiled session gives the torch model's result
    x = torch.rand(1, 3, 70, 90, generator=torch.Generator().manual_seed(1))
    ref = lle_core.enhance(net, x, tile=48, plain=True)
    got = lle_core.enhance(session, x, tile=48)
    torch.testing.assert_close(got, ref, atol=2e-3, rtol=0)
