"""HF2 fusion (Eq. 1) and its CBAM parts."""

from __future__ import annotations

import pytest
import torch

from lle_core import ShapeError, create
from lle_hf2.attention import CBAM, ChannelAttention, SpatialAttention
from lle_hf2.fusion import HF2Fusion


def _pair(c: int = 8, h: int = 12, w: int = 10, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, c, h, w, generator=g), torch.randn(2, c, h, w, generator=g)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_mul_is_product_of_attended_inputs(mode: str) -> None:
    fusion = create("fusion", "hf2.hf2", runtime={"channels": 8})
    fusion.train(mode == "train")
    a, b = _pair()
    fa = fusion.attend_a.spatial(fusion.attend_a.channel(a))
    fb = fusion.attend_b.spatial(fusion.attend_b.channel(b))
    torch.testing.assert_close(fusion(a, b), a + fa * fb)  # residual path (default)
    plain = create("fusion", "hf2.hf2", runtime={"channels": 8}, residual=False)
    plain.load_state_dict(fusion.state_dict())
    plain.train(mode == "train")
    torch.testing.assert_close(plain(a, b), fa * fb)  # Eq. 1 as written
    # The two attention units are independent by default (our choice): different results.
    assert fusion.attend_a is not fusion.attend_b
    assert not torch.allclose(fusion.attend_b(a), fusion.attend_a(a))


def test_add_and_cat_ops() -> None:
    a, b = _pair()
    add = HF2Fusion(8, op="add", residual=False).eval()
    fa, fb = add.attend(a, b)
    torch.testing.assert_close(add(a, b), fa + fb)
    cat = HF2Fusion(8, op="cat", residual=False).eval()
    fa, fb = cat.attend(a, b)
    assert cat.reduce is not None
    torch.testing.assert_close(cat(a, b), cat.reduce(torch.cat([fa, fb], dim=1)))
    assert cat(a, b).shape == a.shape


def test_shared_attention_uses_one_unit() -> None:
    shared = HF2Fusion(16, share_attention=True)
    separate = HF2Fusion(16)
    assert shared.attend_a is shared.attend_b
    n_shared = sum(p.numel() for p in shared.parameters())
    n_separate = sum(p.numel() for p in separate.parameters())
    assert n_separate - n_shared == sum(p.numel() for p in separate.attend_b.parameters())


def test_unknown_op_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="op"):
        create("fusion", {"type": "hf2.hf2", "op": "max"}, runtime={"channels": 8})


def test_even_kernel_is_refused_at_config_time() -> None:
    from lle_core import ConfigError

    with pytest.raises(ConfigError, match="kernel_size"):
        create("fusion", {"type": "hf2.hf2", "kernel_size": 4}, runtime={"channels": 8})
    with pytest.raises(ValueError, match="kernel_size"):
        SpatialAttention(kernel_size=6)


def test_shape_mismatch_raises() -> None:
    fusion = HF2Fusion(8)
    with pytest.raises(ShapeError):
        fusion(torch.rand(1, 8, 4, 4), torch.rand(1, 4, 4, 4))


def test_channel_gate_formula() -> None:
    gate = ChannelAttention(16, reduction=4).eval()
    x = torch.randn(3, 16, 5, 7)
    avg = x.mean(dim=(2, 3), keepdim=True)
    mx = x.amax(dim=(2, 3), keepdim=True)
    expected = x * torch.sigmoid(gate.mlp(avg) + gate.mlp(mx))
    torch.testing.assert_close(gate(x), expected)
    assert gate.mlp[0].out_channels == 4


def test_spatial_gate_formula_and_max_first() -> None:
    gate = SpatialAttention(kernel_size=7, batch_norm=False)
    x = torch.randn(2, 6, 9, 11)
    stacked = torch.cat([x.amax(1, keepdim=True), x.mean(1, keepdim=True)], dim=1)
    expected = x * torch.sigmoid(torch.nn.functional.conv2d(stacked, gate.conv.weight, padding=3))
    torch.testing.assert_close(gate(x), expected)
    with pytest.raises(ValueError, match="odd"):
        SpatialAttention(kernel_size=4)


def test_cbam_is_channel_then_spatial() -> None:
    unit = CBAM(8, reduction=2).eval()
    x = torch.randn(1, 8, 6, 6)
    torch.testing.assert_close(unit(x), unit.spatial(unit.channel(x)))


def test_blocks_are_registered() -> None:
    ca = create("block", "hf2.channel_attention", channels=32, reduction=8)
    sa = SpatialAttention(kernel_size=3)
    x = torch.rand(2, 32, 8, 8)
    assert ca(x).shape == x.shape and sa(x).shape == x.shape
    assert ca.mlp[0].out_channels == 4
