"""FRLIE inference speed and peak memory at 600×400 on the CPU, against core baselines.

Every model runs in its own subprocess (so that peak RSS is its own) on the same random
``(1, 3, 400, 600)`` input: one warm-up forward, then ``--repeats`` timed forwards under
``torch.no_grad``. Reported: median seconds per image, images per second, peak resident memory
of the process and its growth during inference, and the time ratio against ``core.identity``
and ``core.gamma`` measured in the same run (the machine is noisy: compare ratios, not seconds).

Weights are random (speed and memory do not depend on them).

Usage (from the repository root)::

    timeout 600 .venv/bin/python plugins/frlie/benchmarks/bench_inference.py [--repeats 5]
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

H, W = 400, 600
BASELINES = ("core.identity", "core.gamma")
MODELS: tuple[tuple[str, str], ...] = (
    ("core.identity", "fp32"),
    ("core.gamma", "fp32"),
    ("frlie.model", "fp32"),
    ("frlie.model", "bf16"),
)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def worker(name: str, precision: str, repeats: int, threads: int | None) -> dict[str, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from lle_core import create

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = create("model", name).eval()
    x = torch.rand(1, 3, H, W) * 0.3
    n_params = sum(p.numel() for p in model.parameters())

    def once() -> float:
        start = time.perf_counter()
        with torch.no_grad():
            if precision == "bf16":
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    y = model(x)
            else:
                y = model(x)
        elapsed = time.perf_counter() - start
        assert tuple(y.shape) == (1, 3, H, W), y.shape
        return elapsed

    rss_before = _rss_bytes()
    once()  # warm-up
    times = [once() for _ in range(repeats)]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return {
        "model": name,
        "precision": precision,
        "params": n_params,
        "seconds": statistics.median(times),
        "times": times,
        "peak_rss_mb": peak / 2**20,
        "inference_growth_mb": max(peak - rss_before, 0) / 2**20,
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="print raw JSON results as well")
    parser.add_argument("--worker", nargs=2, metavar=("MODEL", "PRECISION"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1], args.repeats, args.threads)))
        return

    results = []
    for name, precision in MODELS:
        cmd = [sys.executable, __file__, "--worker", name, precision]
        cmd += ["--repeats", str(args.repeats)]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(f"{name} ({precision}) failed:\n{proc.stderr}", file=sys.stderr)
            continue
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))

    base = {r["model"]: r["seconds"] for r in results if r["model"] in BASELINES}
    cpu = platform.processor() or platform.machine()
    threads = results[0]["threads"] if results else "?"
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"# FRLIE inference at {W}x{H} (1 image), CPU {cpu}, torch threads {threads}, "
        f"repeats {args.repeats}, load average at the end {load}"
    )
    header = "| model | precision | params | s/img (median) | img/s | peak RSS MB | growth MB |"
    header += " × identity | × gamma |"
    print(header)
    print("|" + "---|" * 9)
    for r in results:
        ratios = [
            f"{r['seconds'] / base[b]:.1f}" if b in base and base[b] > 0 else "n/a"
            for b in BASELINES
        ]
        print(
            f"| {r['model']} | {r['precision']} | {r['params']:,} | {r['seconds']:.4f} | "
            f"{1 / r['seconds']:.2f} | {r['peak_rss_mb']:.0f} | {r['inference_growth_mb']:.0f} | "
            f"{ratios[0]} | {ratios[1]} |"
        )
    if args.json:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
