"""DLN inference speed and peak memory on one 600×400 image on the CPU, vs core baselines.

Each configuration runs in a fresh subprocess (its peak RSS is its own) on the same random
``(1, 3, 400, 600)`` low-light input, in eval mode under ``torch.no_grad``: one warm-up
forward, then ``--repeats`` timed forwards. Reported per configuration:

* median seconds per image and images per second;
* peak tensor memory of one forward (live activation storages, weights and input excluded,
  measured with ``lle_core.inference.PeakMemoryTracker`` in a separate untimed forward);
* peak resident set size of the process and its growth during inference;
* time ratios against ``core.identity`` and ``core.gamma`` measured in the same run (the
  machine is shared and noisy: compare the ratios, not the seconds).

Weights are random: speed and memory do not depend on them.

Usage (from the repository root)::

    timeout 600 .venv/bin/python plugins/dln/benchmarks/bench_inference.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

HEIGHT, WIDTH = 400, 600
BASELINES = ("core.identity", "core.gamma")
CONFIGS: tuple[tuple[str, str], ...] = (
    ("core.identity", "fp32"),
    ("core.gamma", "fp32"),
    ("dln.model", "fp32"),
    ("dln.model", "bf16"),
)


def resident_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run_config(name: str, precision: str, repeats: int, threads: int | None) -> dict[str, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from lle_core import create
    from lle_core.inference import PeakMemoryTracker

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = create("model", name).eval()
    low = torch.rand(1, 3, HEIGHT, WIDTH) * 0.3

    def forward() -> torch.Tensor:
        with torch.no_grad():
            if precision == "bf16":
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    return model(low)
            return model(low)

    rss_before = resident_bytes()
    out = forward()  # warm-up
    if tuple(out.shape) != (1, 3, HEIGHT, WIDTH):
        raise RuntimeError(f"{name} returned {tuple(out.shape)}")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        forward()
        times.append(time.perf_counter() - start)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    known = {t.untyped_storage().data_ptr() for t in [low, *model.parameters(),
                                                      *model.buffers()]}
    tracker = PeakMemoryTracker(ignore=known)
    with tracker:
        forward()
    return {
        "model": name,
        "precision": precision,
        "params": sum(p.numel() for p in model.parameters()),
        "seconds": statistics.median(times),
        "times": times,
        "tensor_peak_mb": tracker.peak / 2**20,
        "peak_rss_mb": peak_rss / 2**20,
        "rss_growth_mb": max(peak_rss - rss_before, 0) / 2**20,
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="also print the raw results")
    parser.add_argument("--config", nargs=2, metavar=("MODEL", "PRECISION"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.config:
        print(json.dumps(run_config(*args.config, args.repeats, args.threads)))
        return

    results = []
    for name, precision in CONFIGS:
        cmd = [sys.executable, __file__, "--config", name, precision,
               "--repeats", str(args.repeats)]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(f"{name} ({precision}) failed:\n{proc.stderr}", file=sys.stderr)
            continue
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))

    base = {r["model"]: r["seconds"] for r in results if r["model"] in BASELINES}
    threads = results[0]["threads"] if results else "?"
    print(f"# DLN inference, {WIDTH}x{HEIGHT}, batch 1, CPU {platform.machine()} "
          f"({os.cpu_count()} cores), torch threads {threads}, repeats {args.repeats}")
    print("| model | precision | params | s/img (median) | img/s | tensor peak MB | "
          "peak RSS MB | RSS growth MB | × identity | × gamma |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        ratios = [f"{r['seconds'] / base[b]:.3g}" if base.get(b) else "n/a" for b in BASELINES]
        print(f"| {r['model']} | {r['precision']} | {r['params']:,} | {r['seconds']:.4f} | "
              f"{1 / r['seconds']:.2f} | {r['tensor_peak_mb']:.1f} | {r['peak_rss_mb']:.0f} | "
              f"{r['rss_growth_mb']:.0f} | {ratios[0]} | {ratios[1]} |")
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
