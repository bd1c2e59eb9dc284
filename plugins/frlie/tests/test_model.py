from __future__ import annotations

import pytest
import torch

from lle_core import create
from lle_frlie.autoencoder import AutoEncoder
from lle_frlie.model import luminance_post_blend


def test_forward_train_outputs(tiny_model: torch.nn.Module) -> None:
    x = torch.rand(2, 3, 24, 28)
    out = tiny_model.forward_train(x)
    assert set(out) >= {"pred", "feat_low", "feat_restored"}
    assert out["pred"].shape == x.shape
    assert out["feat_restored"].shape == (2, 16, 6, 7)
    assert out["pred"].min() >= 0 and out["pred"].max() <= 1


def test_non_multiple_sizes_are_padded_inside(tiny_model: torch.nn.Module) -> None:
    tiny_model.eval()
    x = torch.rand(1, 3, 21, 30)
    with torch.no_grad():
        assert tiny_model(x).shape == x.shape


def test_encoder_reduces_by_four() -> None:
    ae = AutoEncoder(base_channels=4)
    x = torch.rand(1, 3, 16, 20)
    assert ae.encode(x).shape == (1, 16, 4, 5)
    assert ae(x).shape == x.shape


@pytest.mark.parametrize("upsample", ["bilinear", "pixelshuffle"])
def test_both_decoders_run(upsample: str) -> None:
    model = create(
        "model", "frlie.model", base_channels=4, num_blocks=1, context_channels=4, upsample=upsample
    ).eval()
    with torch.no_grad():
        y = model(torch.rand(1, 3, 16, 16))
    assert y.shape == (1, 3, 16, 16)


def test_luminance_post_blend_formula() -> None:
    torch.manual_seed(1)
    pred, low = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    y = (0.299 * low[:, 0] + 0.587 * low[:, 1] + 0.114 * low[:, 2]).unsqueeze(1)
    expected = (1 - y) * pred + y * low
    assert torch.allclose(luminance_post_blend(pred, low), expected, atol=1e-6)
    # black input keeps the prediction, white input returns the input
    assert torch.equal(luminance_post_blend(pred, torch.zeros_like(low)), pred)
    ones = torch.ones_like(low)
    assert torch.allclose(luminance_post_blend(pred, ones), ones, atol=1e-6)


def test_post_blend_option_changes_inference_only() -> None:
    torch.manual_seed(0)
    plain = create("model", "frlie.model", base_channels=4, num_blocks=1, context_channels=4)
    blended = create(
        "model", "frlie.model", base_channels=4, num_blocks=1, context_channels=4, post_blend=True
    )
    blended.load_state_dict(plain.state_dict())
    plain.eval()
    blended.eval()
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        a, b = plain(x), blended(x)
        assert torch.allclose(b, luminance_post_blend(a, x), atol=1e-6)
        assert not torch.allclose(a, b)
        # training outputs are never blended
        assert torch.allclose(blended.forward_train(x)["pred"], a, atol=1e-6)


def test_frozen_autoencoder_stays_in_eval(tiny_model: torch.nn.Module) -> None:
    tiny_model.freeze_autoencoder()
    tiny_model.train()
    assert tiny_model.frnet.training
    assert not tiny_model.encoder.training and not tiny_model.decoder.training
    assert all(not p.requires_grad for p in tiny_model.autoencoder_parameters())
    tiny_model.freeze_autoencoder(False)
    tiny_model.train()
    assert tiny_model.encoder.training
    assert all(p.requires_grad for p in tiny_model.autoencoder_parameters())


def test_registered_capabilities_match_the_class() -> None:
    from lle_core import registries
    from lle_frlie.model import FRLIE

    entry = registries()["model"].get("frlie.model")
    assert entry.capabilities == FRLIE.default_capabilities
    assert entry.capabilities.multiple_of == 4
