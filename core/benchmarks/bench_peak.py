"""This CPU's measured convolution peak in float32 and bfloat16 (docs/benchmarks.md).

Usage::

    python core/benchmarks/bench_peak.py [--threads 2] [--repeats 15] [--cpu-time]

The "peak" is the best rate PyTorch's own CPU convolutions (oneDNN) reach on the most favourable
shapes: wide 3×3 convolutions (64–256 channels in and out) on a 64×64 channels-last image,
batch 1, inputs and weights already in the measured dtype (no casts timed). FLOPs count a
multiply-add as 2. Each shape is timed ``--repeats`` times, interleaved across dtypes, and the
best time is kept (the rate the hardware reaches when nothing else runs; on a loaded machine
this under-estimates it). ``--cpu-time`` times with the process's CPU time instead of the wall
clock: on one thread and a busy machine it leaves out the time the thread waited for a core,
so it stays close to the quiet figure. The models' achieved GFLOP/s are compared with these
figures (``bench_fast_path.py --peak``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from lle_core.inference.fast import native_bfloat16

#: Channel widths tried (in = out).
WIDTHS = (64, 128, 256)
#: Side of the square image.
SIDE = 64


def conv_rates(
    dtypes: tuple[torch.dtype, ...], repeats: int, widths: tuple[int, ...] = WIDTHS,
    side: int = SIDE, clock: Callable[[], float] = time.perf_counter,
) -> dict[torch.dtype, dict[int, float]]:
    """Best GFLOP/s of a ``width → width`` 3×3 convolution per dtype and width (``clock``:
    ``time.perf_counter`` for wall time, ``time.process_time`` for CPU time)."""
    gen = torch.Generator().manual_seed(0)
    cases = {}
    for c in widths:
        x = torch.rand(1, c, side, side, generator=gen).contiguous(
            memory_format=torch.channels_last)
        w = (torch.rand(c, c, 3, 3, generator=gen) - 0.5).contiguous(
            memory_format=torch.channels_last)
        for dt in dtypes:
            cases[(dt, c)] = (x.to(dt), w.to(dt), 2.0 * c * c * 9 * side * side)
    best = {key: float("inf") for key in cases}
    with torch.no_grad():
        for x, w, _ in cases.values():  # warm-up: oneDNN builds its primitives
            F.conv2d(x, w, padding=1)
        for _ in range(repeats):
            for key, (x, w, _) in cases.items():
                t = clock()
                F.conv2d(x, w, padding=1)
                best[key] = min(best[key], clock() - t)
    rates: dict[torch.dtype, dict[int, float]] = {dt: {} for dt in dtypes}
    for (dt, c), (_, _, flops) in cases.items():
        rates[dt][c] = flops / best[(dt, c)] / 1e9
    return rates


def conv_peak(
    repeats: int = 15, clock: Callable[[], float] = time.perf_counter
) -> dict[str, float]:
    """Measured peak GFLOP/s: ``{"float32": ..., "bfloat16": ...}`` (bfloat16 only where native)."""
    dtypes: tuple[torch.dtype, ...] = (torch.float32,)
    if native_bfloat16(torch.device("cpu")):
        dtypes = (torch.float32, torch.bfloat16)
    rates = conv_rates(dtypes, repeats, clock=clock)
    return {str(dt).removeprefix("torch."): max(r.values()) for dt, r in rates.items()}


def main() -> None:
    """Print the rate of every shape and the peak per dtype."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--cpu-time", action="store_true", help="time with process CPU time")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dtypes: tuple[torch.dtype, ...] = (torch.float32,)
    if native_bfloat16(torch.device("cpu")):
        dtypes = (torch.float32, torch.bfloat16)
    clock = time.process_time if args.cpu_time else time.perf_counter
    print(f"torch {torch.__version__}, {args.threads} thread(s), 3x3 convolutions on "
          f"{SIDE}x{SIDE} channels-last, best of {args.repeats} "
          f"({'CPU' if args.cpu_time else 'wall'} time)")
    rates = conv_rates(dtypes, args.repeats, clock=clock)
    for dt, per_width in rates.items():
        cells = "  ".join(f"{c}ch {g:7.1f}" for c, g in per_width.items())
        print(f"  {dt!s:15s} GFLOP/s: {cells}  -> peak {max(per_width.values()):.1f}")


if __name__ == "__main__":
    main()
