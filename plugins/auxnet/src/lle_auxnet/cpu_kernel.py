"""AuxNet's inference block through its own compiled CPU kernel (the ``native`` fast path).

:file:`cpu_kernel.c` computes the whole inference block (stem, H_θ, Retinex tail) row by row,
vectorised along the image row; :func:`lle_core.native.load_kernel` compiles it on first use.
The image's rows are split into bands run by Python threads (``ctypes`` releases the GIL), one
per ``torch.get_num_threads()``. Results equal the plain float32 forward to rounding (≤ 1e-5;
tested). Only the default architecture shape is supported (``fe_wiring="per_stage"``, stem
branches of width 4 without reduction, dilations 1–8, hidden width 4); other configurations,
inputs that are not float32 CPU tensors, and machines without a C compiler use
:class:`lle_auxnet.fast.FastAuxNet`.
"""

from __future__ import annotations

import ctypes
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from torch import Tensor, nn

from lle_core.native import load_kernel

#: The C source next to this module.
SOURCE = Path(__file__).with_name("cpu_kernel.c")
#: Target rows per band: the halo recomputed around a band (max dilation + 3 rows each side)
#: stays below 10 % of the stem's work, and a band's buffers stay a few megabytes.
BAND_ROWS = 128

_POOL_LOCK = threading.Lock()
_POOLS: dict[int, ThreadPoolExecutor] = {}
_SCRATCH = threading.local()


def _scratch(floats: int) -> Tensor:
    """This thread's scratch buffer of at least ``floats`` float32 values.

    Reused across calls: a fresh multi-megabyte buffer per band costs page faults every image.
    """
    buf: Tensor | None = getattr(_SCRATCH, "buf", None)
    if buf is None or buf.numel() < floats:
        buf = torch.empty(floats)
        _SCRATCH.buf = buf
    return buf


def _pool(workers: int) -> ThreadPoolExecutor:
    """A process-wide pool of ``workers`` threads (at least one)."""
    workers = max(1, workers)
    with _POOL_LOCK:
        if workers not in _POOLS:
            _POOLS[workers] = ThreadPoolExecutor(workers, thread_name_prefix="lle-auxnet")
        return _POOLS[workers]


def load_library() -> ctypes.CDLL | None:
    """The compiled kernel with its argument types declared, or ``None`` if unavailable."""
    lib = load_kernel("auxnet", SOURCE)
    if lib is None:
        return None
    ptr, i32 = ctypes.c_void_p, ctypes.c_int
    lib.auxnet_scratch_floats.restype = ctypes.c_long
    lib.auxnet_scratch_floats.argtypes = [i32, i32, i32, i32]
    lib.auxnet_rows.restype = i32
    lib.auxnet_rows.argtypes = [ptr, i32, i32, i32, i32, ptr, ptr, ptr, ptr, i32,
                                ptr, ptr, ptr, ptr, ptr, ptr, ctypes.c_float, ptr]
    return lib


def band_bounds(height: int, workers: int) -> list[tuple[int, int]]:
    """Row ranges ``[y0, y1)`` covering ``height`` rows, split for ``workers`` threads.

    A multiple of ``workers`` bands of about :data:`BAND_ROWS` rows each, of equal size (so
    every thread gets the same work).
    """
    per_worker = max(1, round(height / (workers * BAND_ROWS)))
    count = min(height, workers * per_worker)
    edges = [round(i * height / count) for i in range(count + 1)]
    return list(itertools.pairwise(edges))


class CpuKernelAuxNet(nn.Module):
    """``S (B, 3, H, W)`` in ``[0, 1]`` -> ``clamp(S / L, 0, 1)`` with the compiled kernel.

    Args:
        lib: The library from :func:`load_library`.
        stem: Per branch ``(weight (4, 3, 3, 3), bias (4,), dilation)``.
        convs: H_θ's three ``(weight, bias)`` (batch norm folded into the second).
        floor: Lower clamp of the illumination.
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
        fallback: nn.Module,
    ) -> None:
        super().__init__()
        self.lib = lib
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
        b, _, h, _ = src.shape
        out = torch.empty_like(src)
        workers = max(1, torch.get_num_threads())
        bounds = band_bounds(h, workers if b == 1 else 1)
        jobs = [(i, y0, y1) for i in range(b) for y0, y1 in bounds]
        workers = min(workers, len(jobs))
        # this thread takes every workers-th band itself; the pool's workers - 1 threads the rest
        mine, theirs = jobs[::workers], [j for k, j in enumerate(jobs) if k % workers]
        pending = [_pool(workers - 1).submit(self._band, src, out, *j) for j in theirs]
        for job in mine:
            self._band(src, out, *job)
        for future in pending:
            future.result()
        return out

    def _band(self, src: Tensor, out: Tensor, index: int, y0: int, y1: int) -> None:
        """Rows ``[y0, y1)`` of image ``index`` (runs without the GIL)."""
        _, _, h, w = src.shape
        scratch = _scratch(
            int(self.lib.auxnet_scratch_floats(w, y1 - y0, self.branches, self.max_dilation))
        )
        (w0, b0), (w1, b1), (w2, b2) = self.convs
        status = self.lib.auxnet_rows(
            src[index].data_ptr(), h, w, y0, y1, out[index].data_ptr(),
            self.stem_w.data_ptr(), self.stem_b.data_ptr(), self.dilations.data_ptr(),
            self.branches, w0.data_ptr(), b0.data_ptr(), w1.data_ptr(), b1.data_ptr(),
            w2.data_ptr(), b2.data_ptr(), self.floor, scratch.data_ptr(),
        )
        if status != 0:
            raise RuntimeError(f"auxnet cpu kernel refused rows {y0}:{y1} of a {h}x{w} image")
