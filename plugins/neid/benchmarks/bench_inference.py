"""CPU inference speed and peak memory of NEID at 600×400 vs the core identity/gamma baselines.

Each model runs in its own fresh subprocess (so peak-RSS figures do not leak between models)
with random weights (speed does not depend on the values), batch 1, ``torch.inference_mode``,
fp32. Reported per model: median milliseconds per image, images per second, peak resident
memory of the worker process, and the forward pass's share of it (peak RSS minus the RSS after
building the model and making the input). Ratios are against the baselines of the same run:
the machine is shared and noisy, so compare ratios, not absolute times across runs.

Usage (from the repository root)::

    timeout 600 .venv/bin/python plugins/neid/benchmarks/bench_inference.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

#: label -> model spec; NEID in its default (paper test protocol) mode at full paper widths.
MODELS: dict[str, dict] = {
    "core.identity": {"type": "core.identity"},
    "core.gamma": {"type": "core.gamma"},
    "neid.model (LE+DR+FF, protocol)": {"type": "neid.model"},
    "neid.model (LE only, protocol)": {
        "type": "neid.model", "dr_branch": False, "feature_fusion": False,
    },
}


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def worker(spec: dict, height: int, width: int, warmup: int, repeats: int, threads: int) -> dict:
    import torch

    from lle_core import create

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = create("model", spec).eval()
    x = torch.rand(1, 3, height, width)
    params = sum(p.numel() for p in model.parameters())
    base = rss_mb()
    times = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            t0 = time.perf_counter()
            out = model(x)
            dt = time.perf_counter() - t0
            if i >= warmup:
                times.append(dt)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    ms = statistics.median(times) * 1000
    return {
        "params": params,
        "out_shape": list(out.shape),
        "ms": ms,
        "ms_min": min(times) * 1000,
        "img_per_s": 1000 / ms,
        "peak_rss_mb": peak,
        "forward_mb": max(peak - base, 0.0),
        "threads": threads,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--height", type=int, default=400)
    parser.add_argument("--width", type=int, default=600)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        result = worker(json.loads(args.worker), args.height, args.width, args.warmup,
                        args.repeats, args.threads)
        print(json.dumps(result))
        return

    results = {}
    for label, spec in MODELS.items():
        cmd = [sys.executable, __file__, "--worker", json.dumps(spec),
               "--height", str(args.height), "--width", str(args.width),
               "--warmup", str(args.warmup), "--repeats", str(args.repeats),
               "--threads", str(args.threads)]
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            print(f"{label}: FAILED\n{proc.stderr}", file=sys.stderr)
            continue
        results[label] = json.loads(proc.stdout.strip().splitlines()[-1])

    print(f"\nCPU inference, {args.width}x{args.height}, batch 1, fp32, {args.threads} threads, "
          f"median of {args.repeats} after {args.warmup} warm-up runs\n")
    header = (f"{'model':34s} {'params':>11s} {'ms/img':>9s} {'img/s':>8s} "
              f"{'peak RSS MB':>12s} {'fwd MB':>8s} {'x identity':>11s} {'x gamma':>9s}")
    print(header)
    print("-" * len(header))
    ident = results.get("core.identity", {}).get("ms")
    gamma = results.get("core.gamma", {}).get("ms")
    for label, r in results.items():
        ratio_i = f"{r['ms'] / ident:11.1f}" if ident else f"{'-':>11s}"
        ratio_g = f"{r['ms'] / gamma:9.1f}" if gamma else f"{'-':>9s}"
        print(f"{label:34s} {r['params']:>11,d} {r['ms']:9.1f} {r['img_per_s']:8.2f} "
              f"{r['peak_rss_mb']:12.0f} {r['forward_mb']:8.0f} {ratio_i} {ratio_g}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"size": [args.height, args.width], "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
