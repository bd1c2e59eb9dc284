from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from lle_core import create
from lle_core import pretrained as P
from lle_core.errors import WeightsError
from lle_core.losses import PerceptualLoss, perceptual_loss
from lle_core.pretrained import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    VGG16_LAYER_NAMES,
    RandomWeightsWarning,
    imagenet_normalize,
    random_vgg16_features,
    vgg16_features,
    vgg16_layer_index,
)


@pytest.fixture(scope="module")
def random_features() -> nn.Sequential:
    return random_vgg16_features()


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory, random_features) -> str:
    """A file shaped like a full timm/torchvision vgg16 checkpoint (features + head keys)."""
    path = tmp_path_factory.mktemp("w") / "vgg16.pth"
    state = {f"features.{k}": v for k, v in random_features.state_dict().items()}
    state["head.fc.weight"] = torch.zeros(2, 2)  # extra classifier keys are ignored
    torch.save(state, path)
    return str(path)


def test_layer_names_and_indices():
    assert len(VGG16_LAYER_NAMES) == 31
    expected = {"relu1_2": 3, "relu2_2": 8, "relu3_3": 15, "relu4_3": 22, "relu5_3": 29,
                "conv1_1": 0, "conv3_1": 10, "pool5": 30}
    for name, index in expected.items():
        assert vgg16_layer_index(name) == index
    assert vgg16_layer_index("RELU3_3") == 15 and vgg16_layer_index("7") == 7
    with pytest.raises(KeyError, match="relu3_3"):
        vgg16_layer_index("relu6_1")
    with pytest.raises(KeyError):
        vgg16_layer_index(31)


def test_layer_indices_match_module_types(random_features):
    assert len(random_features) == 31
    for name, module in zip(VGG16_LAYER_NAMES, random_features, strict=True):
        types = {"conv": nn.Conv2d, "relu": nn.ReLU, "pool": nn.MaxPool2d}
        kind = types[name[:4].rstrip("_0123456789")]
        assert isinstance(module, kind), name


def test_random_is_explicit_warned_and_frozen():
    with pytest.warns(RandomWeightsWarning, match="random"):
        f = vgg16_features("random")
    assert not f.training
    assert all(not p.requires_grad for p in f.parameters())
    out = f(torch.rand(1, 3, 32, 32))
    assert out.shape == (1, 512, 1, 1)


def test_local_file_loads_exact_weights(weights_file, random_features):
    f = vgg16_features(weights_file)
    for (k, a), b in zip(f.state_dict().items(), random_features.state_dict().values(),
                         strict=True):
        assert torch.equal(a, b), k
    assert all(not p.requires_grad for p in f.parameters()) and not f.training
    f[0].weight.data.zero_()  # a returned copy does not alter the cache
    assert torch.equal(vgg16_features(weights_file)[0].weight, random_features[0].weight)


def test_features_only_and_safetensors_files(tmp_path, random_features):
    from safetensors.torch import save_file

    plain = tmp_path / "features.pt"
    torch.save({"state_dict": random_features.state_dict()}, plain)
    assert torch.equal(vgg16_features(plain)[28].weight, random_features[28].weight)
    st_file = tmp_path / "model.safetensors"
    save_file({f"features.{k}": v.contiguous() for k, v in random_features.state_dict().items()},
              str(st_file))
    assert torch.equal(vgg16_features(str(st_file))[2].bias, random_features[2].bias)


def test_env_variable_used_for_imagenet(monkeypatch, weights_file, random_features):
    monkeypatch.setenv(P.WEIGHTS_ENV, weights_file)
    f = vgg16_features("imagenet")
    assert torch.equal(f[0].weight, random_features[0].weight)
    monkeypatch.setenv(P.WEIGHTS_ENV, weights_file + ".missing")
    with pytest.raises(WeightsError, match=r"LLE_VGG16_WEIGHTS"):
        vgg16_features("imagenet", allow_random_fallback=True)  # a bad file is never masked


def test_bad_files(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        vgg16_features(tmp_path / "none.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match=r"junk\.pth"):
        vgg16_features(junk)
    wrong = tmp_path / "wrong.pth"
    torch.save({"features.0.weight": torch.zeros(1, 1, 1, 1)}, wrong)
    with pytest.raises(WeightsError, match=r"wrong\.pth"):
        vgg16_features(wrong)
    other = tmp_path / "other.pth"
    torch.save({"encoder.weight": torch.zeros(1)}, other)
    with pytest.raises(WeightsError, match="does not look like VGG16"):
        vgg16_features(other)


def test_offline_without_weights_raises_with_instructions(monkeypatch):
    import timm

    monkeypatch.delenv(P.WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(P, "_hub_cached", lambda: False)
    monkeypatch.setattr(P, "_HUB_CACHE", [])

    real_create = timm.create_model

    def no_hub(*args, **kwargs):
        assert not kwargs.get("pretrained"), "the hub must not be contacted offline"
        return real_create(*args, **kwargs)

    monkeypatch.setattr(timm, "create_model", no_hub)
    with pytest.raises(WeightsError) as err:
        vgg16_features()
    message = str(err.value)
    assert "LLE_VGG16_WEIGHTS" in message and "weights='random'" in message
    with pytest.warns(RandomWeightsWarning, match="falling back"):
        f = vgg16_features(allow_random_fallback=True)
    assert len(f) == 31


def test_hub_errors_become_weights_error(monkeypatch):
    import timm

    monkeypatch.delenv(P.WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(P, "_HUB_CACHE", [])

    def unreachable(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(timm, "create_model", unreachable)
    with pytest.raises(WeightsError, match="Name or service not known"):
        vgg16_features("imagenet")


def test_imagenet_normalize():
    x = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1).expand(2, 3, 4, 4)
    assert torch.allclose(imagenet_normalize(x), torch.zeros(2, 3, 4, 4), atol=1e-7)
    ones = imagenet_normalize(torch.ones(1, 3, 1, 1)).flatten()
    expected = [(1 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD, strict=True)]
    assert torch.allclose(ones, torch.tensor(expected))


# ------------------------------------------------------------------ perceptual loss


def test_perceptual_function_with_identity_features():
    p = torch.rand(2, 3, 5, 5)
    t = torch.rand(2, 3, 5, 5)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    l1 = perceptual_loss(p, t, nn.Identity(), norm="l1")
    l2 = perceptual_loss(p, t, nn.Identity(), norm="l2", reduction="none")
    assert torch.allclose(l1, ((p - t).abs() / std).mean(), atol=1e-6)
    assert torch.allclose(l2, ((p - t) / std).square().flatten(1).mean(1), atol=1e-6)


def test_perceptual_loss_term(weights_file):
    loss = create("loss", {"type": "core.perceptual", "weights": weights_file,
                           "layer": "relu2_2"})
    assert isinstance(loss, PerceptualLoss) and len(loss.features) == 9
    loss.train()
    assert not loss.features.training
    x = torch.rand(2, 3, 16, 16)
    assert loss(x, x).item() == 0.0
    pred = torch.rand(2, 3, 16, 16, requires_grad=True)
    value = loss(pred, x)
    assert value.item() > 0
    value.backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all()
    assert pred.grad.abs().sum() > 0
    assert all(p.grad is None for p in loss.parameters())


def test_perceptual_random_needs_to_be_asked(monkeypatch):
    monkeypatch.delenv(P.WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(P, "_hub_cached", lambda: False)
    monkeypatch.setattr(P, "_HUB_CACHE", [])
    with pytest.raises(WeightsError):
        PerceptualLoss(layer="relu1_2")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loss = PerceptualLoss(layer="relu1_2", allow_random_fallback=True, norm="l2")
    assert any(issubclass(w.category, RandomWeightsWarning) for w in caught)
    assert len(loss.features) == 4
