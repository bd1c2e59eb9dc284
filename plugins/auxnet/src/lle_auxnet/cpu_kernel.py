"""AuxNet's inference block through its own compiled CPU kernel (the ``native`` fast path).

:file:`cpu_kernel.c` computes the whole inference block (stem, H_θ, Retinex tail) row by row,
vectorised along the image row; :func:`lle_core.native.load_kernel` compiles it on first use,
with OpenMP where the compiler has it: the image's rows are then split into equal bands run on
the ``torch.get_num_threads()`` OpenMP threads PyTorch itself uses (the library binds to the
``libgomp`` torch has loaded; without OpenMP the bands run one after another). Results equal the
plain float32 forward to rounding (≤ 1e-5; tested); with ``bfloat16`` (CPUs with AVX512-BF16)
every convolution runs on bfloat16 inputs (> 45 dB from float32, < 0.1 dB lost against ground
truth; tested). Only the default architecture shape is supported (``fe_wiring="per_stage"``,
stem branches of width 4 without reduction, dilations 1–8, hidden width 4); other
configurations, inputs that are not float32 CPU tensors, and machines without a C compiler use
:class:`lle_auxnet.fast.FastAuxNet`.
"""

from __future__ import annotations

import ctypes
import math
import threading
from pathlib import Path

import torch
from torch import Tensor, nn

from lle_core.native import load_kernel

#: The C source next to this module.
SOURCE = Path(__file__).with_name("cpu_kernel.c")
#: Target rows per band: the halo recomputed around a band (max dilation + 3 rows each side)
#: stays below 10 % of the stem's work, and a band's buffers stay a few megabytes.
BAND_ROWS = 128

_SCRATCH = threading.local()


def _scratch(floats: int) -> Tensor:
    """The calling thread's scratch buffer of at least ``floats`` float32 values.

    Reused across calls: a fresh multi-megabyte buffer per image costs page faults every time.
    """
    buf: Tensor | None = getattr(_SCRATCH, "buf", None)
    if buf is None or buf.numel() < floats:
        buf = torch.empty(floats)
        _SCRATCH.buf = buf
    return buf


def load_library() -> ctypes.CDLL | None:
    """The compiled kernel with its argument types declared, or ``None`` if unavailable."""
    lib = load_kernel("auxnet", SOURCE, extra_flags=("-fopenmp",))
    if lib is None:
        return None
    ptr, i32 = ctypes.c_void_p, ctypes.c_int
    lib.auxnet_scratch_floats.restype = ctypes.c_long
    lib.auxnet_scratch_floats.argtypes = [i32, i32, i32, i32]
    lib.auxnet_openmp.restype = i32
    lib.auxnet_openmp.argtypes = []
    lib.auxnet_bf16.restype = i32
    lib.auxnet_bf16.argtypes = []
    lib.auxnet_image.restype = i32
    lib.auxnet_image.argtypes = [ptr, i32, i32, ptr, ptr, ptr, ptr, i32, ptr, ptr, ptr, ptr,
                                 ptr, ptr, ctypes.c_float, i32, i32, ptr, ctypes.c_long, i32]
    return lib


def band_count(height: int, threads: int) -> int:
    """Bands an image of ``height`` rows is split into for ``threads`` threads.

    A multiple of ``threads`` (every thread gets the same work) of about :data:`BAND_ROWS`
    rows each, never more bands than rows. Band ``i`` holds rows
    ``[i * height // n, (i + 1) * height // n)``.
    """
    per_thread = max(1, round(height / (threads * BAND_ROWS)))
    return max(1, min(height, threads * per_thread))


class CpuKernelAuxNet(nn.Module):
    """``S (B, 3, H, W)`` in ``[0, 1]`` -> ``clamp(S / L, 0, 1)`` with the compiled kernel.

    Args:
        lib: The library from :func:`load_library`.
        stem: Per branch ``(weight (4, 3, 3, 3), bias (4,), dilation)``.
        convs: H_θ's three ``(weight, bias)`` (batch norm folded into the second).
        floor: Lower clamp of the illumination.
        bfloat16: Run every convolution on bfloat16 inputs and weights (float32
            accumulation; only where the library has the bfloat16 mode, ``auxnet_bf16()``).
        fallback: The module used for inputs the kernel does not take (not float32 on the
            CPU). Like it, this copy is for inference only: no gradients flow through it.
    """

    def __init__(
        self,
        lib: ctypes.CDLL,
        stem: list[tuple[Tensor, Tensor | None, int]],
        convs: list[tuple[Tensor, Tensor | None]],
        *,
        floor: float,
        bfloat16: bool = False,
        fallback: nn.Module,
    ) -> None:
        super().__init__()
        if bfloat16 and not lib.auxnet_bf16():
            raise ValueError("this build of the auxnet cpu kernel has no bfloat16 mode")
        self.lib = lib
        self.use_bfloat16 = bool(bfloat16)
        self.fallback = fallback
        self.floor = float(floor)
        def as_f32(t: Tensor | None) -> Tensor:
            if t is None:  # AuxNet._kernel_computes_this admits only convolutions with biases
                raise ValueError("the auxnet cpu kernel needs every convolution's bias")
            return t.detach().to(torch.float32).contiguous().clone()

        self.stem_w = torch.cat([as_f32(w).reshape(-1) for w, _, _ in stem])
        self.stem_b = torch.cat([as_f32(b) for _, b, _ in stem])
        self.dilations = torch.tensor([d for _, _, d in stem], dtype=torch.int32)
        self.branches = len(stem)
        self.max_dilation = max(d for _, _, d in stem)
        self.convs = [(as_f32(w), as_f32(b)) for w, b in convs]

    def forward(self, low: Tensor) -> Tensor:
        """``(B, 3, H, W)`` float32 in ``[0, 1]`` -> ``(B, 3, H, W)`` float32 in ``[0, 1]``."""
        if low.device.type != "cpu" or low.dtype != torch.float32:
            return self.fallback(low)
        src = low.contiguous()
        b, _, h, w = src.shape
        out = torch.empty_like(src)
        threads = max(1, torch.get_num_threads()) if self.lib.auxnet_openmp() else 1
        bands = band_count(h, threads)
        per_thread = int(self.lib.auxnet_scratch_floats(
            w, math.ceil(h / bands), self.branches, self.max_dilation))
        scratch = _scratch(threads * per_thread)
        (w0, b0), (w1, b1), (w2, b2) = self.convs
        for i in range(b):
            status = self.lib.auxnet_image(
                src[i].data_ptr(), h, w, out[i].data_ptr(), self.stem_w.data_ptr(),
                self.stem_b.data_ptr(), self.dilations.data_ptr(), self.branches,
                w0.data_ptr(), b0.data_ptr(), w1.data_ptr(), b1.data_ptr(), w2.data_ptr(),
                b2.data_ptr(), self.floor, bands, threads, scratch.data_ptr(), per_thread,
                int(self.use_bfloat16),
            )
            if status != 0:
                raise RuntimeError(f"auxnet cpu kernel refused a {h}x{w} image ({bands} bands)")
        return out
