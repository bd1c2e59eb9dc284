"""Fast path vs plain path, measured in one process, interleaved (docs/benchmarks.md).

Usage::

    python core/benchmarks/bench_fast_path.py [--threads 2] [--repeats 30] [--size 600x400]
                                              [--models auxnet.model ...] [--peak]
                                              [--cpu-time]

For each model it times ``lle_core.enhance`` (padding, checks and clamping included) with the
fast path and with ``plain=True``, interleaved with ``core.gamma`` on the same image, and prints
the median and best wall times, the CPU time per image (``process_time``: robust on a loaded
machine when ``--threads 1``), images/s, MP/s, the ratio to gamma, and the PSNR of the fast
output against the plain one. GFLOP per megapixel (``torch.utils.flop_counter``, counted on the
same image) gives the achieved GFLOP/s; with ``--peak`` this CPU's convolution peak in float32
and bfloat16 is measured first in the same process (``bench_peak.py``) and every path's rate is
given as a share of the peak of the precision it computes in; ``--cpu-time`` bases both the
peak and the achieved rates on CPU time (on one thread of a busy machine: the rate while the
thread ran, leaving out the time it waited for a core). Shipped weights are used when
installed (``pretrained=True``), else random weights (speed does not depend on them).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import torch
from bench_peak import conv_peak

import lle_core
from lle_core.inference import enhance
from lle_core.inference.fast import fast_model
from lle_core.inference.padding import model_capabilities
from lle_core.metrics import psnr as psnr_fn


def build(name: str) -> torch.nn.Module:
    """The model with shipped weights if any, else random weights (seed 0)."""
    torch.manual_seed(0)
    params: dict[str, Any] = {}
    if name == "hf2.model":
        params = {"backbone": {"type": "hf2.vgg16", "weights": "random"}}
    try:
        return lle_core.create("model", name, pretrained=True).eval()
    except Exception:
        return lle_core.create("model", name, **params).eval()


def gflop_per_mp(model: torch.nn.Module, x: torch.Tensor) -> float:
    """Convolution/matmul GFLOPs per megapixel of ``x`` (``torch.utils.flop_counter``)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        enhance(model, x, tile="off", plain=True)
    return counter.get_total_flops() / (x.shape[-1] * x.shape[-2]) / 1e3


def fast_precision(model: torch.nn.Module) -> str:
    """``"bfloat16"`` when the model's default path computes in bfloat16 here, else float32."""
    run = fast_model(model, model_capabilities(model), torch.device("cpu"))
    return "bfloat16" if getattr(run, "use_bfloat16", False) else "float32"


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of one call."""
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def main() -> None:
    """Print one block of figures per model."""
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--size", default="600x400", help="WIDTHxHEIGHT")
    ap.add_argument("--models", nargs="+", default=["auxnet.model"])
    ap.add_argument("--peak", action="store_true", help="measure the convolution peak first")
    ap.add_argument("--cpu-time", action="store_true", help="rates from CPU time (use 1 thread)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    w, h = (int(v) for v in args.size.split("x"))
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(3, h, w, generator=gen) * 0.3).clamp(0, 1)  # a dark, textured image
    gamma = lle_core.create("model", "core.gamma").eval()
    mp = w * h / 1e6
    print(f"torch {torch.__version__}, {args.threads} thread(s), {w}x{h}, "
          f"{args.repeats} interleaved repeats")
    peak = conv_peak(clock=time.process_time if args.cpu_time else time.perf_counter) if (
        args.peak) else {}
    if peak:
        print("convolution peak: " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in peak.items()))
    for name in args.models:
        model = build(name)
        runs: dict[str, Callable[[], object]] = {
            "core.gamma": partial(enhance, gamma, x),
            "plain": partial(enhance, model, x, tile="off", plain=True),
            "fast": partial(enhance, model, x, tile="off", plain=False),
        }
        t0 = time.perf_counter()
        fast_out = enhance(model, x, tile="off", plain=False)  # builds the fast copy
        first = time.perf_counter() - t0
        plain_out = enhance(model, x, tile="off", plain=True)
        psnr = float(psnr_fn(fast_out[None], plain_out[None]))
        for fn in runs.values():
            fn()
        walls: dict[str, list[float]] = {k: [] for k in runs}
        cpus: dict[str, list[float]] = {k: [] for k in runs}
        for _ in range(args.repeats):
            for k, fn in runs.items():
                wall, cpu = timed(fn)
                walls[k].append(wall)
                cpus[k].append(cpu)
        ref_w = statistics.median(walls["core.gamma"])
        ref_c = min(cpus["core.gamma"])
        gflop = gflop_per_mp(model, x)
        precision = {"plain": "float32", "fast": fast_precision(model)}
        print(f"\n{name}: {gflop:.1f} GFLOP/MP, first fast call {first:.2f} s "
              f"(builds the fast copy), fast path in {precision['fast']}, "
              f"fast vs plain PSNR {psnr:.1f} dB")
        for k in runs:
            med, best, cpu = statistics.median(walls[k]), min(walls[k]), min(cpus[k])
            rate = ""
            if k in precision and gflop:
                achieved = gflop * mp / (cpu if args.cpu_time else med)
                share = f" = {100 * achieved / peak[precision[k]]:4.1f} % of peak" if (
                    precision[k] in peak) else ""
                rate = f"  {achieved:6.1f} GFLOP/s{share}"
            print(f"  {k:10s} median {1e3 * med:8.2f} ms  best {1e3 * best:8.2f} ms  "
                  f"cpu {1e3 * cpu:8.2f} ms  {1 / med:7.1f} img/s  {mp / med:7.2f} MP/s  "
                  f"x gamma: median {med / ref_w:5.2f}, cpu {cpu / ref_c:5.2f}{rate}")


if __name__ == "__main__":
    main()
