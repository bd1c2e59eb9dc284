"""Where one ``enhance`` call spends its time (docs/benchmarks.md, "Where DLN's time goes").

Usage::

    python core/benchmarks/profile_model.py --model dln.model [--size 640x480] [--threads 2]
        [--plain] [--max-memory-mb 1024]

Prints, for one image of the given size:

* the memory estimate and the tiling ``enhance`` chooses for it (tile side, tile count, the
  streamed statistics passes of a model with global operations), i.e. how many times each
  pixel goes through the network;
* the wall time of the default call (tiling as chosen) next to one untiled pass;
* the operators of the untiled pass by self CPU time (``torch.profiler``), and the FLOPs of the
  pass (``torch.utils.flop_counter``) with the achieved GFLOP/s.
"""

from __future__ import annotations

import argparse
import time
import warnings

import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

import lle_core
from lle_core.global_ops import has_global_ops
from lle_core.inference import enhance
from lle_core.inference.api import plan_tiling
from lle_core.inference.context import context_graph
from lle_core.inference.memory import measure_bytes_per_pixel
from lle_core.inference.padding import model_capabilities
from lle_core.inference.tiling import axis_spans, tile_multiple


def main() -> None:
    """Print the tiling, the times and the operator profile."""
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="dln.model")
    ap.add_argument("--size", default="640x480", help="WIDTHxHEIGHT")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--plain", action="store_true", help="profile the plain path")
    ap.add_argument("--max-memory-mb", type=float, default=None)
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    w, h = (int(v) for v in args.size.split("x"))
    model = lle_core.create("model", args.model, pretrained=True).eval()
    caps = model_capabilities(model)
    x = (torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(0)) * 0.3)
    plain = True if args.plain else None
    bpp = measure_bytes_per_pixel(model, caps)
    with torch.no_grad():
        plan = plan_tiling(model, x, caps, max_memory_mb=args.max_memory_mb)
    print(f"{args.model} {w}x{h}, {args.threads} thread(s), "
          f"{'plain' if args.plain else 'default'} path")
    print(f"  estimate: {bpp:.0f} B/pixel -> {bpp * w * h / 2**20:.0f} MiB untiled")
    passes = 1.0
    if plan is None:
        print("  tiling: none (one whole-image pass)")
    else:
        k = tile_multiple(caps)
        ys, xs = axis_spans(h, plan, k), axis_spans(w, plan, k)
        tiled_px = sum((b - a) for a, b in ys) * sum((b - a) for a, b in xs)
        waves = context_graph(model, caps, device=x.device, align=k).waves if (
            has_global_ops(model) and caps.global_stats == "stream") else 0
        passes = tiled_px / (w * h) * (1 + waves)
        print(f"  tiling: {len(ys)}x{len(xs)} tiles of {plan.tile} px (overlap {plan.overlap}),"
              f" {tiled_px / (w * h):.2f}x the pixels per pass, {waves} streamed statistics "
              f"pass(es) + the blended pass: up to {passes:.1f}x one untiled pass")
    enhance(model, x, tile="off", plain=plain)  # warm-up (builds any fast copy)
    t = time.perf_counter()
    enhance(model, x, plain=plain, max_memory_mb=args.max_memory_mb)
    default_s = time.perf_counter() - t
    t = time.perf_counter()
    enhance(model, x, tile="off", plain=plain)
    whole_s = time.perf_counter() - t
    print(f"  time: as enhance chooses {default_s:.2f} s, one untiled pass {whole_s:.2f} s "
          f"(ratio {default_s / whole_s:.2f})")
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        enhance(model, x, tile="off", plain=True)
    flops = counter.get_total_flops()
    print(f"  untiled pass: {flops / 1e9:.0f} GFLOP ({flops / (w * h) / 1e3:.0f} GFLOP/MP), "
          f"{flops / whole_s / 1e9:.1f} GFLOP/s achieved")
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        enhance(model, x, tile="off", plain=plain)
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events)
    print(f"  operators by self CPU time (untiled, {total / 1e6:.2f} s CPU):")
    for e in events[: args.top]:
        print(f"    {e.key:40s} {e.self_cpu_time_total / 1e6:7.2f} s "
              f"{100 * e.self_cpu_time_total / total:5.1f} %  {e.count:6d} calls")


if __name__ == "__main__":
    main()
