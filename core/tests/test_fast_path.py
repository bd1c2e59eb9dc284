"""The fast inference path (``capabilities.fast_path``) and the switches that turn it off."""

from __future__ import annotations

import torch
from torch import nn

from lle_core.inference import enhance
from lle_core.inference.fast import PLAIN_ENV, fast_model, fold_sequential_batch_norms
from lle_core.inference.padding import edge_margin
from lle_core.registry import Capabilities


class ConvBN(nn.Module):
    """A local model with a Conv → BN → ReLU block that declares ``fold`` and channels_last."""

    capabilities = Capabilities(
        receptive_field=2, needs_weights=False, fast_path=("fold", "channels_last")
    )

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 3, 3, padding=1),
        )
        bn = self.body[1]
        bn.running_mean.uniform_(-0.2, 0.2)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.uniform_(-0.1, 0.1)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return torch.sigmoid(self.body(x))


def _image() -> torch.Tensor:
    return torch.rand(3, 37, 45, generator=torch.Generator().manual_seed(1))


def test_fast_copy_matches_plain_and_leaves_the_model_unchanged():
    model = ConvBN().eval()
    x = _image()
    plain = enhance(model, x, tile="off", plain=True)
    assert model.calls == 1
    fast = enhance(model, x, tile="off", plain=False)
    assert model.calls == 1  # the copy ran, not the model
    assert (fast - plain).abs().max() < 1e-5
    assert isinstance(model.body[1], nn.BatchNorm2d)  # the model keeps its batch norm
    copy = fast_model(model, model.capabilities, torch.device("cpu"), plain=False)
    assert copy is not model and not any(isinstance(m, nn.BatchNorm2d) for m in copy.modules())


def test_fast_copy_is_cached_and_rebuilt_when_the_weights_change():
    model = ConvBN().eval()
    dev = torch.device("cpu")
    first = fast_model(model, model.capabilities, dev, plain=False)
    assert fast_model(model, model.capabilities, dev, plain=False) is first
    with torch.no_grad():
        model.body[0].weight.mul_(2.0)
    second = fast_model(model, model.capabilities, dev, plain=False)
    assert second is not first
    x = _image()
    fast, plain = enhance(model, x, tile="off"), enhance(model, x, tile="off", plain=True)
    assert (fast - plain).abs().max() < 1e-5


def test_plain_switches_turn_the_fast_path_off(monkeypatch):
    model = ConvBN().eval()
    x = _image()
    m = edge_margin(model.capabilities)  # enhance reflect-pads the edges, then crops
    padded = nn.functional.pad(x[None], (m, m, m, m), mode="reflect")
    reference = torch.sigmoid(model.body(padded))[0, :, m:-m, m:-m].clamp(0, 1)
    model.calls = 0
    monkeypatch.setenv(PLAIN_ENV, "1")
    assert fast_model(model, model.capabilities, torch.device("cpu")) is model
    assert torch.equal(enhance(model, x, tile="off"), reference)  # bit for bit the eager model
    assert model.calls == 1
    monkeypatch.setenv(PLAIN_ENV, "0")
    enhance(model, x, tile="off")
    assert model.calls == 1


def test_fold_handles_conv_without_bias():
    seq = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)).eval()
    with torch.no_grad():
        seq[1].running_mean.uniform_(-1, 1)
        seq[1].running_var.uniform_(0.5, 2)
    x = torch.rand(1, 3, 9, 9)
    with torch.no_grad():
        ref = seq(x)
        assert fold_sequential_batch_norms(seq) == 1
        assert (seq(x) - ref).abs().max() < 1e-5


class WideContext(nn.Module):
    """A local model declaring a large receptive field (like HF2's VGG16 relu5_3)."""

    capabilities = Capabilities(receptive_field=100, needs_weights=False)
    inference_bytes_per_pixel = 1000.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 0.5


def test_a_budget_well_below_full_context_tiles_shrinks_the_overlap():
    import pytest

    from lle_core.inference import plan_tiling
    from lle_core.inference.tiling import default_overlap

    model = WideContext()
    caps = model.capabilities
    x = torch.zeros(1, 3, 1000, 1000)
    full = default_overlap(caps)  # 250 px: tiles of 500 px need 250 MB at 1000 B/px
    roomy = plan_tiling(model, x, caps, max_memory_mb=200)  # 238 MiB: 19 % over, kept
    assert roomy is not None and roomy.overlap == full and roomy.tile == 2 * full
    with pytest.warns(UserWarning, match="well over"):
        tight = plan_tiling(model, x, caps, max_memory_mb=20)  # 144-px side
    assert tight is not None and tight.overlap < full
    assert tight.tile * tight.tile * 1000 <= 20 * 2**20
    explicit = plan_tiling(model, x, caps, max_memory_mb=20, overlap=full)
    assert explicit is not None and explicit.overlap == full  # an explicit overlap is kept


def test_an_in_range_input_is_not_copied_yet_never_returned_or_changed():
    from lle_core.inference import as_batch

    x = torch.rand(1, 3, 9, 11)
    batch, _ = as_batch(x)
    assert batch.data_ptr() == x.data_ptr()  # no float32 copy of an in-range input
    before = x.clone()
    y = enhance("core.identity", x, tile="off")
    y.zero_()
    assert torch.equal(x, before)
    out_of_range = x.clone()
    out_of_range[0, 0, 0, 0] = 1.00005  # tolerated, clamped in a copy
    assert as_batch(out_of_range)[0].data_ptr() != out_of_range.data_ptr()  # clamped copy
