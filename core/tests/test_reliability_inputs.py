"""Reliability: what cannot give a right result is refused, naming the size or the key
(issue 24, item 4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import lle_core
from lle_core.errors import ConfigError, ShapeError


@pytest.mark.parametrize("size", [(1, 1), (3, 2)])
def test_frlie_refuses_an_image_below_its_minimum_naming_both_sizes(tmp_path, run_lle, size):
    """64ec01f: FRLIE returned a 1x1 or 2x3 image darker than its input, exit 0."""
    w, h = size
    src = tmp_path / "tiny.png"
    Image.fromarray(np.full((h, w, 3), 40, np.uint8)).save(src)
    out = tmp_path / "out.png"
    code, text = run_lle("enhance", str(src), "-o", str(out), "--model", "frlie")
    need = lle_core.registries()["model"].get("frlie.model").capabilities.min_input
    assert need > max(size)
    assert code == 1 and f"{w}x{h} pixels" in text and f"{need}x{need}" in text
    assert str(src) in text and not out.exists()
    with pytest.raises(ShapeError, match=f"{w}x{h} pixels"):
        lle_core.enhance(_shipped("frlie"), torch.full((3, h, w), 0.15))


def _shipped(name: str) -> torch.nn.Module:
    """The model of a shipped weight set (``frlie``: frlie.lol)."""
    from lle_core.weight_sets import find_weight_set

    return find_weight_set(name)[1].load({})


@pytest.mark.parametrize(
    "spec, key",
    [
        ({"type": "auxnet.model", "dilations": [1, -2]}, "dilations.1"),
        ({"type": "frlie.model", "dilations": [1, -1]}, "dilations.1"),
        ({"type": "frlie.model", "dilations": [0, 2]}, "dilations.0"),
    ],
)
def test_negative_dilations_are_refused_before_building(spec, key):
    """64ec01f: accepted, then failed later as a convolution error."""
    with pytest.raises(ConfigError, match=key):
        lle_core.create("model", spec)


def test_refusal_names_the_file_in_a_batch_and_the_others_are_written(tmp_path, run_lle):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(np.full((2, 3, 3), 40, np.uint8)).save(folder / "a_tiny.png")
    Image.fromarray(np.full((40, 48, 3), 40, np.uint8)).save(folder / "b_photo.png")
    out = tmp_path / "out"
    code, text = run_lle("enhance", str(folder), "-o", str(out), "--model", "frlie")
    assert code == 1 and "a_tiny.png" in text and "3x2 pixels" in text
    assert sorted(p.name for p in out.iterdir()) == ["b_photo.png"]


@pytest.mark.parametrize(
    "yaml_text, key",
    [
        ("type: core.unet_small\nbase_width: true\n", "base_width"),
        ("type: auxnet.model\ndilations: [1, true]\n", "dilations"),
        ("type: auxnet.model\nreduction_channels: false\n", "reduction_channels"),
    ],
)
def test_yaml_true_is_not_a_number(tmp_path, yaml_text, key):
    """64ec01f: ``base_width: true`` built a network of width 1."""
    from lle_core.spec import load_config_file

    path = tmp_path / "model.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError, match=f"{key}.*true/false is not a number"):
        lle_core.create("model", load_config_file(path))


@pytest.mark.parametrize("name", ["dln", "frlie"])
def test_small_images_are_enhanced_like_the_same_pixels_of_a_larger_crop(name):
    """64ec01f: DLN returned a 1x1 or 1x64 image unchanged (a 48x64 one brightened) and FRLIE
    darkened tiny images; now a small image is padded so its result matches a larger crop."""
    from lle_core.testing.strategies import make_image

    net = _shipped(name)
    need = getattr(net.capabilities, "min_input", 1)  # 1 where models declared none
    photo = make_image("smooth", 48, 64, seed=5) * 0.25  # a dark 48x64 crop
    large = lle_core.enhance(net, photo)
    for h, w in [(1, 1), (1, 64), (3, 2), (need, need)]:
        if min(h, w) < need:
            continue  # refused, see test_frlie_refuses_an_image_below_its_minimum_...
        small = lle_core.enhance(net, photo[..., 20 : 20 + h, :w])
        region = large[..., 20 : 20 + h, :w]
        assert float((small - region).abs().mean()) < 0.05, (name, h, w)
        assert float(small.mean()) > float(photo[..., 20 : 20 + h, :w].mean()) + 0.05
