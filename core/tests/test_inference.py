"""Inference: padding, scale handling, input kinds, refusal without weights, tiling."""

from __future__ import annotations

import itertools
from typing import ClassVar

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import lle_core
from lle_core.errors import ShapeError, WeightsError
from lle_core.inference import (
    PeakMemoryTracker,
    axis_spans,
    axis_weights,
    enhance,
    make_plan,
    measure_bytes_per_pixel,
)
from lle_core.inference.padding import edge_margin
from lle_core.interfaces import Enhancer
from lle_core.models.unet_small import UNetSmall
from lle_core.registry import Capabilities


class StrideNet(Enhancer):
    """Needs sizes that are multiples of 8 (asserts it) and returns a local brightening."""

    default_capabilities: ClassVar[Capabilities] = Capabilities(
        multiple_of=8, receptive_field=1, needs_weights=False
    )

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, low: torch.Tensor) -> torch.Tensor:
        assert low.shape[-1] % 8 == 0 and low.shape[-2] % 8 == 0, low.shape
        return torch.sigmoid(self.conv(low))


class Upscale2(Enhancer):
    """Scale-2 model: nearest upsampling; sizes must be multiples of 4."""

    default_capabilities: ClassVar[Capabilities] = Capabilities(
        multiple_of=4, scale=2, receptive_field=0, needs_weights=False
    )

    def forward(self, low: torch.Tensor) -> torch.Tensor:
        assert low.shape[-1] % 4 == 0 and low.shape[-2] % 4 == 0
        return nn.functional.interpolate(low, scale_factor=2, mode="nearest")


class LocalNet(Enhancer):
    """Three 3x3 convolutions: receptive field 3 pixels on each side, any size."""

    default_capabilities: ClassVar[Capabilities] = Capabilities(
        multiple_of=1, receptive_field=3, needs_weights=False
    )

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.Tanh(),
            nn.Conv2d(8, 8, 3, padding=1), nn.Tanh(),
            nn.Conv2d(8, 3, 3, padding=1),
        )

    def forward(self, low: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.body(low) + 2 * low - 1)


def _smooth_image(h: int, w: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(1, 3, h // 8 + 2, w // 8 + 2, generator=g)
    img = nn.functional.interpolate(base, size=(h, w), mode="bilinear", align_corners=False)
    return (img * 0.8 + 0.1 * torch.rand(1, 3, h, w, generator=g)).clamp(0, 1)


def _unet(width: int = 4) -> nn.Module:
    model = UNetSmall(base_width=width)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return model.eval()


# -- padding ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(17, 23), (8, 8), (5, 3), (31, 64)])
def test_padding_crops_back_for_odd_sizes(size):
    x = torch.rand(2, 3, *size)
    y = enhance(StrideNet(), x, tile="off")
    assert y.shape == x.shape
    assert float(y.min()) >= 0 and float(y.max()) <= 1


def test_padding_equals_manual_reflect_pad_inside_the_image():
    model = StrideNet().eval()
    x = torch.rand(1, 3, 21, 30)
    y = enhance(model, x, tile="off")
    # edge margin (receptive_field 1 -> 1 px reflected on every side), then 23x32 -> 24x32
    margin = nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")
    padded = nn.functional.pad(margin, (0, 0, 0, 1), mode="reflect")
    with torch.no_grad():
        ref = model(padded)[..., 1:22, 1:31]
    torch.testing.assert_close(y, ref)


def test_scale_two_model_is_padded_and_cropped_to_twice_the_size():
    x = torch.rand(1, 3, 13, 10)
    y = enhance(Upscale2(), x, tile="off")
    assert y.shape == (1, 3, 26, 20)
    torch.testing.assert_close(y[..., ::2, ::2], x)


def test_scale_two_model_tiled_matches_untiled():
    x = torch.rand(1, 3, 50, 70)
    whole = enhance(Upscale2(), x, tile="off")
    tiled = enhance(Upscale2(), x, tile=24, overlap=8)
    assert tiled.shape == whole.shape == (1, 3, 100, 140)
    torch.testing.assert_close(tiled, whole, atol=1e-6, rtol=0)


def test_wrong_output_size_is_a_shape_error():
    class Bad(Enhancer):
        default_capabilities: ClassVar[Capabilities] = Capabilities(needs_weights=False)

        def forward(self, low):
            return low[..., 1:, :]

    with pytest.raises(ShapeError, match="expected spatial size"):
        enhance(Bad(), torch.rand(1, 3, 8, 8))


# -- inputs -------------------------------------------------------------------------------


def test_enhance_accepts_path_pil_tensor_and_numpy(tmp_path):
    arr = (np.random.default_rng(0).random((19, 26, 3)) * 255).astype(np.uint8)
    path = tmp_path / "img.png"
    Image.fromarray(arr).save(path)
    ref = torch.from_numpy(arr).permute(2, 0, 1).float() / 255
    model = StrideNet().eval()
    from_tensor = enhance(model, ref)
    assert from_tensor.shape == (3, 19, 26)
    from_path = enhance(model, path)
    from_str = enhance(model, str(path))
    from_pil = enhance(model, Image.fromarray(arr))
    from_numpy = enhance(model, arr)
    from_uint8 = enhance(model, torch.from_numpy(arr).permute(2, 0, 1))
    assert from_path.shape == from_pil.shape == (1, 3, 19, 26)
    for other in (from_path[0], from_str[0], from_pil[0], from_numpy, from_uint8):
        torch.testing.assert_close(other, from_tensor, atol=1e-6, rtol=0)


def test_enhance_rejects_bad_inputs():
    model = StrideNet()
    with pytest.raises(ShapeError):
        enhance(model, torch.rand(1, 4, 8, 8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        enhance(model, torch.rand(3, 8, 8) * 255)
    with pytest.raises(lle_core.ImageReadError):
        enhance(model, "does/not/exist.png")


def test_model_is_put_in_eval_mode_and_no_grad():
    model = _unet()
    model.train()
    x = torch.rand(1, 3, 16, 16)
    y = enhance(model, x)
    assert not model.training
    assert not y.requires_grad


# -- refusal without weights ---------------------------------------------------------------


def test_named_model_needing_weights_is_refused_with_instructions():
    with lle_core.registries()["model"].temporary() as reg:
        reg.add(
            lle_core.Entry(
                kind="model", name="test.unet", factory=UNetSmall,
                capabilities=UNetSmall.default_capabilities,
            )
        )
        with pytest.raises(WeightsError) as info:
            enhance("test.unet", torch.rand(3, 16, 16))
    msg = str(info.value)
    assert "--weights" in msg and "lle train" in msg and "test.unet" in msg


def test_named_model_without_weights_need_is_built():
    with lle_core.registries()["model"].temporary() as reg:
        reg.add(
            lle_core.Entry(
                kind="model", name="test.stride", factory=StrideNet,
                capabilities=StrideNet.default_capabilities,
            )
        )
        y = enhance("test.stride", torch.rand(3, 12, 12))
    assert y.shape == (3, 12, 12)


# -- tiling -------------------------------------------------------------------------------


def test_axis_spans_cover_and_align():
    caps = Capabilities(multiple_of=4, receptive_field=6)
    plan = make_plan(40, 16, caps)
    for length in (41, 100, 157, 40, 12):
        spans = axis_spans(length, plan, 4)
        assert spans[0][0] == 0 and spans[-1][1] == length
        assert all(s % 4 == 0 for s, _ in spans)
        for (_, a1), (b0, _) in itertools.pairwise(spans):
            assert a1 - b0 >= plan.overlap  # neighbours share at least the overlap


def test_blending_weights_are_a_partition_of_unity_with_zero_margins():
    caps = Capabilities(multiple_of=2, receptive_field=5)
    plan = make_plan(40, 20, caps)
    spans = axis_spans(97, plan, 2)
    assert len(spans) == 4
    weights = axis_weights(spans, plan.margin, 1, torch.device("cpu"))
    total = torch.zeros(97)
    for (a, b), w in zip(spans, weights, strict=True):
        total[a:b] += w
        if a > 0:
            assert torch.all(w[: plan.margin] == 0)
        if b < 97:
            assert torch.all(w[-plan.margin :] == 0)
    torch.testing.assert_close(total, torch.ones(97))


def test_tiled_equals_untiled_local_model():
    model = LocalNet().eval()
    x = _smooth_image(70, 90)
    ticks = []
    whole = enhance(model, x, tile="off")
    tiled = enhance(model, x, tile=32, progress=lambda d, t: ticks.append(t))
    assert ticks[-1] > 4  # really tiled
    torch.testing.assert_close(tiled, whole, atol=1e-5, rtol=0)


def test_tiled_equals_untiled_unet_with_stride():
    model = _unet()
    x = _smooth_image(128, 152, seed=3)
    whole = enhance(model, x, tile="off")
    ticks = []
    tiled = enhance(model, x, tile=96, progress=lambda d, t: ticks.append(t))
    m = edge_margin(model.capabilities)  # tiles cover the image and its edge margin
    plan = make_plan(96, None, model.capabilities)
    rows, cols = (axis_spans(n + 2 * m, plan, 4) for n in (128, 152))
    assert len(rows) >= 2 and len(cols) >= 3 and ticks[-1] == len(rows) * len(cols)
    torch.testing.assert_close(tiled, whole, atol=1e-5, rtol=0)


def test_short_overlap_differs_only_near_seams_and_seams_are_smooth():
    """With a margin below the receptive field, errors stay small and near the seams."""
    model = _unet()
    x = _smooth_image(160, 160, seed=5)
    whole = enhance(model, x, tile="off")
    tiled = enhance(model, x, tile=112, overlap=16)  # margin 4 < receptive field 24
    diff = (tiled - whole).abs().amax(dim=(0, 1))
    plan = make_plan(112, 16, model.capabilities)
    m = edge_margin(model.capabilities)  # tiles cover the image and its edge margin
    spans = axis_spans(160 + 2 * m, plan, 4)
    assert len(spans) == 2
    seams = [b0 - m for b0, _ in spans[1:]] + [a1 - m for _, a1 in spans[:-1]]
    far = torch.ones(160, dtype=torch.bool)
    for s in seams:
        far[max(0, s - 24) : s + 24] = False
    # identical away from seams (those pixels come from one tile with full context)
    assert float(diff[far][:, far].max()) < 1e-5
    # near seams: blending keeps the deviation well below a hard stitch and adds no step
    hard = enhance(model, x, tile=96, overlap=0)
    hard_diff = (hard - whole).abs().amax()

    def step(img):
        return float((img[..., 1:] - img[..., :-1]).abs().amax())

    assert float(diff.max()) < 0.6 * float(hard_diff)
    assert step(tiled) <= step(whole) + 0.01
    assert step(hard) > step(whole) + 0.02  # the measure does see a real seam


def test_auto_tiling_kicks_in_under_a_small_budget():
    model = _unet()
    x = _smooth_image(192, 200, seed=2)
    bpp = measure_bytes_per_pixel(model, model.capabilities)
    assert bpp > 12
    need_mb = bpp * 192 * 200 / 2**20
    ticks = []
    out = enhance(model, x, max_memory_mb=need_mb / 6, progress=lambda d, t: ticks.append(t))
    assert ticks[-1] > 1
    whole = enhance(model, x, tile="off")
    torch.testing.assert_close(out, whole, atol=1e-5, rtol=0)
    ticks.clear()
    enhance(model, x, max_memory_mb=need_mb * 2, progress=lambda d, t: ticks.append(t))
    assert ticks == [1]


def test_whole_models_are_never_tiled_and_warn_when_large():
    class Global(Enhancer):
        default_capabilities: ClassVar[Capabilities] = Capabilities(
            tiling="whole", needs_weights=False
        )

        def forward(self, low):
            return (low / low.amax(dim=(2, 3), keepdim=True).clamp_min(1e-6)).clamp(0, 1)

    x = _smooth_image(64, 64)
    ticks = []
    with pytest.warns(ResourceWarning, match="whole"):
        y = enhance(Global(), x, max_memory_mb=1e-3, progress=lambda d, t: ticks.append(t))
    assert ticks == [1]
    torch.testing.assert_close(y, Global()(x))


def test_peak_tracker_counts_live_memory():
    x = torch.rand(1, 3, 32, 32)
    conv = nn.Conv2d(3, 16, 1)
    ignore = {p.untyped_storage().data_ptr() for p in conv.parameters()}
    with torch.no_grad(), PeakMemoryTracker(ignore | {x.untyped_storage().data_ptr()}) as t:
        a = conv(x)
        b = a * 2
        del a, b
    assert t.peak == 2 * 16 * 32 * 32 * 4
    assert t.current == 0


def test_bfloat16_only_when_declared():
    with pytest.raises(ValueError, match="dtypes"):
        enhance(StrideNet(), torch.rand(3, 8, 8), dtype=torch.bfloat16)
    net = _unet()
    seen: list[torch.dtype] = []
    conv = next(m for m in net.modules() if isinstance(m, nn.Conv2d))
    conv.register_forward_hook(lambda _m, _i, out: seen.append(out.dtype))
    x = torch.rand(3, 16, 16)
    # the plain path: the default fast path of core.unet_small is bfloat16 on some CPUs already
    y = enhance(net, x, dtype="bfloat16", plain=True)
    assert y.dtype == torch.float32 and y.shape == (3, 16, 16)
    assert seen and set(seen) == {torch.bfloat16}  # the network really ran in bf16
    seen.clear()
    y32 = enhance(net, x, plain=True)
    assert set(seen) == {torch.float32}
    assert 0 < float((y - y32).abs().max()) < 0.1  # close, but not the fp32 result


# -- weights ------------------------------------------------------------------------------


def test_weights_file_records_the_model(tmp_path):
    from lle_core.checkpoint import save_weights

    model = lle_core.create("model", "core.unet_small", base_width=4)
    with torch.no_grad():
        model.head.weight.normal_(std=0.1)
    path = save_weights(tmp_path / "best.safetensors", model)
    x = torch.rand(1, 3, 20, 28)
    ref = enhance(model, x)
    torch.testing.assert_close(enhance(None, x, weights=path), ref)
    torch.testing.assert_close(enhance("core.unet_small", x, weights=path), ref)
    torch.testing.assert_close(enhance("unet_small", x, weights=tmp_path), ref)  # run folder
    fresh = lle_core.create("model", "core.unet_small", base_width=4)
    torch.testing.assert_close(enhance(fresh, x, weights=path), ref)
    with lle_core.registries()["model"].temporary() as reg:
        reg.add(lle_core.Entry(kind="model", name="test.stride", factory=StrideNet))
        with pytest.raises(WeightsError, match=r"holds a 'core\.unet_small'"):
            enhance("test.stride", x, weights=path)
    with pytest.raises(lle_core.CheckpointError):
        enhance(None, x, weights=tmp_path / "missing.safetensors")
