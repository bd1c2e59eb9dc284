"""Parameter counts against spec §6 (released FRLIE code, c = 32, 4 FRBlocks)."""

from __future__ import annotations

from torch import nn

from lle_core import create


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
    assert count(create("block", "frlie.frblock")) == 647_968
    assert count(create("block", "frlie.context_block")) == 57_632
    assert count(create("block", "frlie.res_block")) == 295_168
    assert count(create("block", "frlie.frnet")) == 2_591_872
    assert count(create("block", "frlie.autoencoder")) == 262_595


def test_pixelshuffle_decoder_matches_spec() -> None:
    ae = create("block", "frlie.autoencoder", upsample="pixelshuffle")
    assert count(ae.decoder) == 407_139
    model = create("model", "frlie.model", upsample="pixelshuffle")
    assert count(model) == 3_131_235


def test_released_checkpoint_layout() -> None:
    # The shipped reconstructor has up1.2.weight of shape (64, 128, 3, 3) (spec §3.1).
    ae = create("block", "frlie.autoencoder")
    state = ae.state_dict()
    assert tuple(state["decoder.up1.2.weight"].shape) == (64, 128, 3, 3)
    assert tuple(state["encoder.conv1.1.weight"].shape) == (32, 3, 5, 5)
