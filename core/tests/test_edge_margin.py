"""The edge margin of whole-image inference: reflect-pad, run, crop, so zero padding inside a
model's convolutions draws no frame along the image border."""

from __future__ import annotations

import torch
from torch import nn

import lle_core
from lle_core.description import Capabilities
from lle_core.inference.padding import (
    EDGE_MARGIN,
    crop_edges,
    edge_margin,
    forward_image,
    forward_padded,
    pad_edges,
)


class _Blur(nn.Module):
    """Three zero-padded 3×3 box blurs and a gain: a frame on any flat image."""

    capabilities = Capabilities(receptive_field=3, needs_weights=False)

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1, bias=False, groups=3)
        nn.init.constant_(self.conv.weight, 1.0 / 9.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (4.0 * self.conv(self.conv(self.conv(x)))).clamp(0.0, 1.0)


def test_pad_and_crop_edges_round_trip() -> None:
    x = torch.rand(2, 3, 10, 13)
    padded = pad_edges(x, 4)
    assert padded.shape == (2, 3, 18, 21)
    assert torch.equal(crop_edges(padded, 4), x)
    assert torch.equal(padded[..., 3, 4:-4], x[..., 1, :])  # reflected, not zero
    tiny = pad_edges(torch.rand(1, 3, 3, 3), 4)  # sides not longer than the margin: replicate
    assert tiny.shape == (1, 3, 11, 11)
    up = torch.rand(1, 3, 36, 52)  # a 2x model's output of a 10x18 input with margin 4
    assert crop_edges(up, 4, scale=2).shape == (1, 3, 20, 36)
    assert pad_edges(x, 0) is x and crop_edges(x, 0) is x


def test_margin_follows_the_capabilities() -> None:
    assert edge_margin(Capabilities(receptive_field=3)) == 3
    assert edge_margin(Capabilities(receptive_field=500)) == EDGE_MARGIN
    assert edge_margin(Capabilities(receptive_field=0)) == 0
    # whole-image models with a receptive field (HF2 run by ONNX Runtime) get it too
    assert edge_margin(Capabilities(receptive_field=50, tiling="whole")) == EDGE_MARGIN


def test_zero_padding_frame_is_gone_with_the_margin() -> None:
    model = _Blur().eval()
    x = torch.full((1, 3, 24, 32), 0.1)
    with torch.no_grad():
        raw = forward_padded(model, x, model.capabilities)
        fixed = forward_image(model, x, model.capabilities)
    assert raw[..., 0, 0].max() < 0.8 * raw[..., 12, 16].min()  # the corner is darker
    assert torch.allclose(fixed, torch.full_like(fixed, 0.4), atol=1e-6)
    out = lle_core.enhance(model, x)  # the public path uses the same margin
    assert torch.allclose(out, fixed, atol=1e-6)
    tiled = lle_core.enhance(model, torch.full((1, 3, 90, 70), 0.1), tile=32)
    assert torch.allclose(tiled, torch.full_like(tiled, 0.4), atol=1e-5)
