"""Context-aware tiling: GlobalPool layers get whole-image statistics in tiled inference."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

import lle_core
from lle_core.global_ops import GlobalPool, global_stats_hook
from lle_core.inference import context
from lle_core.inference.context import context_graph, owned_cuts
from lle_core.inference.padding import forward_padded
from lle_core.inference.tiling import axis_spans, blend_tiles, make_plan, tiled_forward
from lle_core.interfaces import Enhancer
from lle_core.registry import Capabilities


class ToySE(Enhancer):
    """conv -> SE(avg) -> conv -> SE(max, depends on the first) ; plus an independent avg.

    Receptive field: three 3×3 convs with stride 1 (radius 3) and a 2×2 pooling grid.
    """

    def __init__(self, global_stats: str = "stream") -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1)
        self.c3 = nn.Conv2d(8, 3, 3, padding=1)
        for p in self.parameters():
            p.data = torch.randn(p.shape, generator=g) * 0.3
        self.avg = GlobalPool("avg")
        self.mx = GlobalPool("max", keepdim=False)
        self.side = GlobalPool("avg")
        self._caps = Capabilities(
            multiple_of=2, receptive_field=8, global_stats=global_stats,  # type: ignore[arg-type]
            needs_weights=False,
        )

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    def forward(self, x: Tensor) -> Tensor:
        h = torch.relu(self.c1(x))
        h = h * torch.sigmoid(self.avg(h))  # wave 1
        s = self.side(x)  # wave 1: the input does not depend on any statistic
        h = F.avg_pool2d(torch.relu(self.c2(h)), 2)
        h = h * torch.sigmoid(self.mx(h))[:, :, None, None]  # wave 2
        h = F.interpolate(h, scale_factor=2.0, mode="nearest")
        return torch.sigmoid(self.c3(h) + s.mean(1, keepdim=True))


def _image(b: int = 2, h: int = 70, w: int = 91) -> Tensor:
    x = torch.rand(b, 3, h, w, generator=torch.Generator().manual_seed(1))
    return F.avg_pool2d(x, 3, 1, 1)


def test_global_pool_is_the_plain_operator_bit_for_bit() -> None:
    x = torch.randn(2, 5, 9, 13)
    assert torch.equal(GlobalPool("avg")(x), F.adaptive_avg_pool2d(x, 1))
    assert torch.equal(GlobalPool("avg", keepdim=False)(x), x.mean(dim=(2, 3)))
    assert torch.equal(GlobalPool("max")(x), x.amax(dim=(2, 3), keepdim=True))
    with pytest.raises(ValueError, match="kind"):
        GlobalPool("median")  # type: ignore[arg-type]


def test_probe_finds_waves_and_reductions() -> None:
    model = ToySE().eval()
    graph = context_graph(model, model.capabilities, device=torch.device("cpu"), align=2)
    assert [op.wave for op in graph.ops] == [1, 1, 2]
    assert [op.reduction[0] for op in graph.ops] == [1, 1, 2]
    assert graph.waves == 2


@pytest.mark.parametrize("length,tile,overlap", [(91, 40, 16), (70, 32, 12), (30, 40, 8)])
def test_owned_regions_partition_the_axis(length: int, tile: int, overlap: int) -> None:
    caps = Capabilities(multiple_of=2, receptive_field=2)
    plan = make_plan(tile, overlap, caps)
    spans = axis_spans(length, plan, 2)
    owned = owned_cuts(spans, 2)
    covered = []
    for (s, e), (a, b) in zip(spans, owned, strict=True):
        end = e if b is None else s + b
        assert s + a >= s and end <= e
        covered.extend(range(s + a, end))
    assert covered == list(range(length))


def test_streamed_tiles_match_the_whole_image() -> None:
    model = ToySE().eval()
    x = _image()
    with torch.no_grad():
        whole = forward_padded(model, x, model.capabilities)
        plan = make_plan(32, 16, model.capabilities)
        calls: list[tuple[int, int]] = []
        tiled = tiled_forward(model, x, model.capabilities, plan,
                              progress=lambda d, t: calls.append((d, t)))
        # Per-tile statistics (what tiling without the context would give) are far off.
        k = 2
        ys, xs = axis_spans(x.shape[-2], plan, k), axis_spans(x.shape[-1], plan, k)
        naive = blend_tiles(model, x, model.capabilities, plan, ys, xs)
    assert (tiled - whole).abs().max() < 1e-5
    assert (naive - whole).abs().max() > 1e-2
    n = len(ys) * len(xs)
    assert n > 4 and calls[-1] == (3 * n, 3 * n)  # 2 waves + the blended pass


def test_downscaled_statistics_refined_once_are_close_and_cost_one_pass_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = ToySE("downscale").eval()
    x = _image(1, 96, 128)
    forwards = []
    handle = model.register_forward_pre_hook(lambda m, a: forwards.append(a[0].shape))
    errors = {}
    plan = make_plan(48, 16, model.capabilities)
    ys, xs = axis_spans(96, plan, 2), axis_spans(128, plan, 2)
    with torch.no_grad():
        whole = model(x)
        for passes in (0, 1):
            monkeypatch.setattr(context, "REFINE_PASSES", passes)
            forwards.clear()
            tiled = tiled_forward(model, x, model.capabilities, plan)
            # (the probe runs once per model: in the first call only)
            probe = 1 if passes == 0 else 0
            assert len(forwards) == probe + 1 + (passes + 1) * len(ys) * len(xs)
            errors[passes] = float(((tiled - whole) ** 2).mean())
    handle.remove()
    assert 0 < errors[1] < errors[0] < 1e-4  # approximate (> 40 dB), refinement closer


def test_refinement_passes_make_downscaled_statistics_exact_wave_by_wave() -> None:
    model = ToySE("downscale").eval()
    caps = model.capabilities
    x = _image(1, 96, 128)
    plan = make_plan(48, 16, caps)
    ys, xs = axis_spans(96, plan, 2), axis_spans(128, plan, 2)
    graph = context_graph(model, caps, device=torch.device("cpu"), align=2)
    assert graph.waves == 2
    with torch.no_grad():
        exact = context.streamed_statistics(model, x, caps, graph, ys, xs, 2)
        start = context.downscaled_statistics(model, x, caps, 48 * 48)
        one = context.refined_statistics(model, x, caps, graph, start, ys, xs, 2, passes=1)
        two = context.refined_statistics(model, x, caps, graph, start, ys, xs, 2, passes=2)
    for i, op in enumerate(graph.ops):
        assert not torch.allclose(start[i], exact[i], atol=1e-4), i  # downscaled: off
        assert torch.allclose(two[i], exact[i], atol=1e-5), i  # every wave exact
        if op.wave == 1:
            assert torch.allclose(one[i], exact[i], atol=1e-5), i


def test_enhance_tiles_a_global_model_without_warning_and_training_is_untouched() -> None:
    model = ToySE()
    x = _image(1, 64, 80)
    model.train()
    y_train = model(x)
    with global_stats_hook(None):
        assert torch.equal(model(x), y_train)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = lle_core.enhance(model, x[0], tile=32, overlap=16)
        ref = lle_core.enhance(model, x[0], tile="off")
    assert (out - ref).abs().max() < 1e-5
