"""Parameter counts of the released FRLIE code (c = 32, 4 FRBlocks; Yang et al. 2022, Fig. 3)."""

from __future__ import annotations

from torch import nn

from lle_core import create
from lle_frlie.autoencoder import AutoEncoder
from lle_frlie.blocks import ContextBlock, FRBlock, FRNet, ResBlock


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_whole_model_matches_spec() -> None:
    model = create("model", "frlie.model")
    assert count(model.encoder) == 132_224
    assert count(model.decoder) == 130_371
    assert count(model.encoder) + count(model.decoder) == 262_595
    assert count(model.frnet) == 2_591_872
    assert count(model) == 2_854_467


def test_blocks_match_spec() -> None:
    assert count(FRBlock(128)) == 647_968
    assert count(ContextBlock(128)) == 57_632
    assert count(ResBlock(128)) == 295_168
    assert count(FRNet(128)) == 2_591_872
    assert count(AutoEncoder()) == 262_595


def test_pixelshuffle_decoder_matches_spec() -> None:
    ae = AutoEncoder(upsample="pixelshuffle")
    assert count(ae.decoder) == 407_139
    model = create("model", "frlie.model", upsample="pixelshuffle")
    assert count(model) == 3_131_235


def test_released_checkpoint_layout() -> None:
    # The shipped reconstructor has up1.2.weight of shape (64, 128, 3, 3).
    ae = AutoEncoder()
    state = ae.state_dict()
    assert tuple(state["decoder.up1.2.weight"].shape) == (64, 128, 3, 3)
    assert tuple(state["encoder.conv1.1.weight"].shape) == (32, 3, 5, 5)
