"""The frozen VGG16 "classification network" of HF2."""

from __future__ import annotations

import pytest
import torch

from lle_core import ConfigError, create
from lle_hf2.backbone import DEFAULT_TAPS, TAPS


@pytest.fixture(scope="module")
def vgg() -> torch.nn.Module:
    return create("backbone", {"type": "hf2.vgg16", "weights": "random"})


def test_tap_table_matches_vgg16_layout(vgg: torch.nn.Module) -> None:
    layers = list(vgg.features)
    for name in DEFAULT_TAPS:
        index, channels, _ = TAPS[name]
        assert isinstance(layers[index], torch.nn.ReLU)
        assert isinstance(layers[index - 1], torch.nn.Conv2d)
        assert layers[index - 1].out_channels == channels
    # Truncated after relu5_3: the last max-pool is not run.
    assert len(layers) == TAPS["relu5_3"][0] + 1


def test_levels_and_shapes(vgg: torch.nn.Module) -> None:
    assert vgg.channels == (64, 128, 256, 512, 512)
    assert vgg.reductions == (1, 2, 4, 8, 16)
    feats = vgg(torch.rand(1, 3, 32, 48))
    assert [tuple(f.shape) for f in feats] == [
        (1, c, 32 // r, 48 // r) for c, r in zip(vgg.channels, vgg.reductions, strict=True)
    ]


def test_frozen_and_always_eval(vgg: torch.nn.Module) -> None:
    assert all(not p.requires_grad for p in vgg.parameters())
    vgg.train()
    assert not vgg.training
    assert not any(m.training for m in vgg.modules())
    parent = torch.nn.Sequential(vgg)
    parent.train(True)
    assert not vgg.training


def test_normalisation_inside(vgg: torch.nn.Module) -> None:
    x = torch.rand(1, 3, 16, 16)
    first = vgg.features[0]
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    expected = torch.relu(torch.nn.functional.conv2d((x - mean) / std, first.weight, first.bias,
                                                     padding=1))
    feats = create("backbone", {"type": "hf2.vgg16", "weights": "random", "taps": ["relu1_1"]})
    feats.load_state_dict(vgg.state_dict(), strict=False)
    torch.testing.assert_close(feats(x)[0], expected)


def test_no_graph_unless_input_needs_grad(vgg: torch.nn.Module) -> None:
    x = torch.rand(1, 3, 16, 16)
    assert not vgg(x)[-1].requires_grad
    x.requires_grad_(True)
    vgg(x)[0].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_custom_taps_and_bad_taps() -> None:
    net = create("backbone", {"type": "hf2.vgg16", "weights": "random",
                              "taps": ["relu2_1", "relu3_2"]})
    assert net.channels == (128, 256) and net.reductions == (2, 4)
    with pytest.raises(ConfigError, match="relu9_1"):
        create("backbone", {"type": "hf2.vgg16", "weights": "random", "taps": ["relu9_1"]})
    with pytest.raises(ConfigError, match="ordered"):
        create("backbone", {"type": "hf2.vgg16", "weights": "random",
                            "taps": ["relu3_3", "relu1_2"]})


def test_local_weights_file_is_used(tmp_path, vgg: torch.nn.Module) -> None:
    torch.manual_seed(3)
    source = create("backbone", {"type": "hf2.vgg16", "weights": "random"})
    path = tmp_path / "vgg16_features.pth"
    torch.save(source.features.state_dict(), path)
    loaded = create("backbone", {"type": "hf2.vgg16", "weights": str(path)})
    for (k, a), b in zip(source.features.state_dict().items(),
                         loaded.features.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    assert not torch.equal(loaded.features[0].weight, vgg.features[0].weight)


def test_offline_without_weights_says_how_to_provide_them(tmp_path) -> None:
    import os
    import subprocess
    import sys

    code = (
        "from lle_core import WeightsError, create\n"
        "try:\n"
        "    create('model', 'hf2.model')\n"
        "except WeightsError as err:\n"
        "    print(err)\n"
        "else:\n"
        "    raise SystemExit('built without weights')\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"),
           "OMP_NUM_THREADS": "1", "LLE_PLUGINS": "hf2"}
    env.pop("LLE_VGG16_WEIGHTS", None)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "LLE_VGG16_WEIGHTS" in proc.stdout
