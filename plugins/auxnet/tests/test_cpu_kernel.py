"""AuxNet's compiled CPU kernel: equal to the plain forward, used by default, safe fallbacks."""

from __future__ import annotations

import sys

import pytest
import torch

import lle_core
from lle_auxnet import cpu_kernel
from lle_auxnet.cpu_kernel import CpuKernelAuxNet, band_count
from lle_auxnet.fast import FastAuxNet
from lle_auxnet.model import AuxNet
from lle_core import native
from lle_core.inference import enhance
from lle_core.inference.fast import usable_options
from lle_core.metrics import psnr


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Kernels compiled into a cache folder of this test session, loaded afresh per test."""
    monkeypatch.setenv(native.CACHE_ENV, str(tmp_path_factory.getbasetemp() / "lle-cache"))
    native.forget_kernels()
    yield
    native.forget_kernels()


def _model(seed: int = 0, **params: object) -> AuxNet:
    """Random weights scaled up so every layer shapes the output (ReLUs both on and off)."""
    torch.manual_seed(seed)
    model = lle_core.create("model", "auxnet.model", **params)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3)
        model.illumination.bn_mid.running_mean.uniform_(-0.2, 0.2)
        model.illumination.bn_mid.running_var.uniform_(0.5, 2.0)
    return model.eval()


def _kernel_or_fail(model: AuxNet, bfloat16: bool = False) -> CpuKernelAuxNet:
    """The compiled kernel of ``model``; on a machine that cannot build it (no C compiler), or
    without AVX512-BF16 for ``bfloat16``, checks the fallback instead and skips the rest."""
    fast = model.fast_inference(("fold", "native", "bfloat16") if bfloat16 else ("fold", "native"))
    if native.find_compiler() is None:
        assert isinstance(fast, FastAuxNet)
        pytest.skip(f"no C compiler: checked the PyTorch fallback instead "
                    f"({native.kernel_problem('auxnet')})")
    assert isinstance(fast, CpuKernelAuxNet), native.kernel_problem("auxnet")
    if bfloat16 and not fast.lib.auxnet_bf16():
        assert not fast.use_bfloat16
        pytest.skip("no AVX512-BF16 on this CPU: checked that the float32 kernel runs instead")
    assert fast.use_bfloat16 == bfloat16
    return fast


@pytest.mark.parametrize("shape", [(1, 3, 1, 1), (2, 3, 5, 7), (1, 3, 37, 53), (1, 3, 130, 67),
                                   (1, 3, 16, 16), (3, 3, 9, 33)])
@pytest.mark.parametrize("threads", [1, 2])
def test_kernel_equals_the_plain_forward(shape, threads, monkeypatch):
    model = _model()
    kernel = _kernel_or_fail(model)
    monkeypatch.setattr(cpu_kernel, "BAND_ROWS", 8)  # many bands: every band edge is crossed
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        x = torch.rand(*shape, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            ref, out = model(x), kernel(x)
    finally:
        torch.set_num_threads(previous)
    assert out.shape == ref.shape and out.dtype == torch.float32
    assert (out - ref).abs().max() < 1e-5


@pytest.mark.parametrize("shape", [(1, 3, 1, 1), (2, 3, 5, 7), (1, 3, 37, 53), (1, 3, 9, 70)])
def test_bfloat16_kernel_stays_close_to_the_plain_forward(shape, monkeypatch):
    model = _model()
    kernel = _kernel_or_fail(model, bfloat16=True)
    monkeypatch.setattr(cpu_kernel, "BAND_ROWS", 4)
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        ref, out = model(x), kernel(x)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    assert (out - ref).abs().max() < 0.02  # bfloat16 features and weights, float32 sums
    assert float(psnr(out, ref).min()) > 45.0


@pytest.mark.parametrize("dilations", [[1, 3, 5, 8], [2, 2], [1]])
def test_kernel_handles_other_dilations_and_branch_counts(dilations):
    model = _model(1, dilations=dilations)
    kernel = _kernel_or_fail(model)
    x = torch.rand(1, 3, 41, 29, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert (kernel(x) - model(x)).abs().max() < 1e-5


def test_saturated_inputs_and_extreme_logits_stay_finite():
    model = _model()
    with torch.no_grad():
        model.illumination.conv_out.bias.fill_(-200.0)  # sigmoid -> 0: L = clamp(S, floor, 1)
    kernel = _kernel_or_fail(model)
    x = torch.zeros(1, 3, 12, 20)
    x[..., ::2, :] = 1.0
    with torch.no_grad():
        out, ref = kernel(x), model(x)
    assert torch.isfinite(out).all()
    assert (out - ref).abs().max() < 1e-5


def test_enhance_runs_the_kernel_by_default_and_not_when_plain(monkeypatch):
    model = _model()
    _kernel_or_fail(model, bfloat16=True)
    calls: list[int] = []
    original = CpuKernelAuxNet.forward
    monkeypatch.setattr(CpuKernelAuxNet, "forward",
                        lambda self, x: calls.append(1) or original(self, x))
    x = torch.rand(3, 30, 40, generator=torch.Generator().manual_seed(3))
    fast = enhance(model, x, tile="off")
    plain = enhance(model, x, tile="off", plain=True)
    assert calls == [1]
    assert float(psnr(fast[None], plain[None])) > 45.0  # the default: bfloat16 kernel


def test_inputs_the_kernel_does_not_take_go_to_the_pytorch_copy():
    model = _model()
    kernel = _kernel_or_fail(model)
    x = torch.rand(1, 3, 10, 12, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        ref = model(x)
        out64 = kernel(x.double())  # not float32: the fallback (it casts to float32 itself)
    assert out64.dtype == torch.float32 and (out64 - ref).abs().max() < 1e-5


def test_no_compiler_means_the_pytorch_fast_copy(monkeypatch):
    monkeypatch.setenv("CC", "/nonexistent/cc")
    monkeypatch.setattr(native.shutil, "which", lambda name: None)
    model = _model()
    fast = model.fast_inference(("fold", "native"))
    assert isinstance(fast, FastAuxNet)
    assert "no C compiler" in (native.kernel_problem("auxnet") or "")
    x = torch.rand(3, 14, 18, generator=torch.Generator().manual_seed(5))
    fast, plain = enhance(model, x, tile="off"), enhance(model, x, tile="off", plain=True)
    assert float(psnr(fast[None], plain[None])) > 40.0  # bfloat16 where the CPU has it


def test_native_env_switch_removes_the_option(monkeypatch):
    cpu = torch.device("cpu")
    assert "native" in usable_options(("fold", "native"), cpu)
    monkeypatch.setenv(native.NATIVE_ENV, "0")
    assert usable_options(("fold", "native"), cpu) == ("fold",)
    assert isinstance(_model().fast_inference(("fold", "native")), FastAuxNet)


def test_configurations_the_kernel_does_not_compute_use_the_pytorch_copy():
    for params in ({"fe_wiring": "once"}, {"hidden_channels": 6}, {"branch_channels": 3},
                   {"reduction_channels": 2}, {"dilations": [1, 9]}):
        model = _model(**params)
        fast = model.fast_inference(("fold", "native"))
        assert isinstance(fast, FastAuxNet), params
        x = torch.rand(1, 3, 11, 13, generator=torch.Generator().manual_seed(6))
        with torch.no_grad():
            assert (fast(x) - model(x)).abs().max() < 1e-5, params


def test_bands_are_a_multiple_of_the_threads_and_never_more_than_the_rows():
    for height in (1, 2, 7, 100, 400, 1080, 4000):
        for threads in (1, 2, 3, 8):
            n = band_count(height, threads)
            assert 1 <= n <= height
            if height >= threads:
                assert n % threads == 0, (height, threads)
            sizes = [(i + 1) * height // n - i * height // n for i in range(n)]
            assert sum(sizes) == height and max(sizes) - min(sizes) <= 1


def test_the_kernel_uses_openmp_when_compiled_with_it():
    model = _model()
    kernel = _kernel_or_fail(model)
    # on Linux (gcc, or clang with libomp) it is built with -fopenmp: bands on torch's threads
    if sys.platform == "linux":
        assert kernel.lib.auxnet_openmp() == 1
