"""CPU inference speed and peak memory of AuxNet vs the core identity/gamma baselines.

Sizes 600×400 (LOL) and 1920×1080 (full HD) by default. Every (model, size) pair runs in a
fresh subprocess so that peak-RSS figures do not leak between measurements. Batch 1,
``torch.inference_mode``, random weights (speed does not depend on the values). Variants:

* ``auxnet.model`` - the default: fp32, channels-last convolutions, BN folded at inference;
* ``auxnet.model NCHW`` - the same with ``channels_last: false`` (the plain eager layout);
* ``auxnet.model bf16`` - the default model and input cast to bfloat16 (max |Δ| vs fp32 is
  printed; opt-in only, results change slightly).

Reported: median wall-clock ms per image, median process CPU ms per image (summed over
threads; much less sensitive than wall-clock time to other jobs on a shared machine),
megapixels/s (wall-clock), peak RSS of the worker and the forward pass's
share of it (peak RSS minus the RSS after building the model and the input), and time ratios
against ``core.identity`` / ``core.gamma`` of the same run. The machine is shared and noisy:
compare ratios inside one run, not absolute times across runs.

Usage (from the repository root)::

    timeout 600 .venv/bin/python plugins/auxnet/benchmarks/bench_inference.py [--repeats 5]
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

#: label -> (model spec, dtype)
VARIANTS: dict[str, tuple[dict, str]] = {
    "core.identity": ({"type": "core.identity"}, "float32"),
    "core.gamma": ({"type": "core.gamma"}, "float32"),
    "auxnet.model": ({"type": "auxnet.model"}, "float32"),
    "auxnet.model NCHW": ({"type": "auxnet.model", "channels_last": False}, "float32"),
    "auxnet.model bf16": ({"type": "auxnet.model"}, "bfloat16"),
}


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(spec: dict, dtype_name: str, height: int, width: int, warmup: int, repeats: int,
            threads: int) -> dict:
    import torch

    from lle_core import create

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    dtype = getattr(torch, dtype_name)
    model = create("model", spec).eval()
    x = torch.rand(1, 3, height, width) * 0.3
    max_diff = None
    if dtype != torch.float32:
        with torch.inference_mode():
            reference = model(x)
        model = model.to(dtype)
        with torch.inference_mode():
            max_diff = float((model(x.to(dtype)).float() - reference).abs().max())
        del reference
        x = x.to(dtype)
    count = getattr(model, "inference_parameter_count", None)
    params = count() if callable(count) else sum(p.numel() for p in model.parameters())
    base = rss_mb()
    times, cpu_times = [], []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            start, cpu_start = time.perf_counter(), time.process_time()
            out = model(x)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
            if i >= warmup:
                times.append(elapsed)
                cpu_times.append(cpu)
            del out
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB (Linux)
    ms = statistics.median(times) * 1000
    return {
        "params": params,
        "ms": ms,
        "ms_min": min(times) * 1000,
        "cpu_ms": statistics.median(cpu_times) * 1000,
        "mp_per_s": height * width / 1e6 / (ms / 1000),
        "peak_rss_mb": peak,
        "forward_mb": max(peak - base, 0.0),
        "max_abs_diff_vs_fp32": max_diff,
    }


def run_worker(label: str, size: tuple[int, int], args: argparse.Namespace) -> dict | None:
    spec, dtype = VARIANTS[label]
    cmd = [sys.executable, __file__, "--worker", json.dumps([spec, dtype, *size]),
           "--warmup", str(args.warmup), "--repeats", str(args.repeats),
           "--threads", str(args.threads)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        print(f"{label} @ {size[1]}x{size[0]}: FAILED\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def print_table(size: tuple[int, int], results: dict[str, dict]) -> None:
    h, w = size
    print(f"\n{w}x{h} ({h * w / 1e6:.2f} MP)")
    header = (f"{'model':20s} {'params':>7s} {'ms/img':>9s} {'cpu ms':>8s} {'MP/s':>7s} "
              f"{'peak RSS MB':>12s} {'fwd MB':>7s} {'x identity':>11s} {'x gamma':>8s} "
              f"{'cpu x gamma':>12s} {'max|d| fp32':>12s}")
    print(header)
    print("-" * len(header))
    ident = results.get("core.identity", {}).get("ms")
    gamma = results.get("core.gamma", {}).get("ms")
    gamma_cpu = results.get("core.gamma", {}).get("cpu_ms")
    for label, r in results.items():
        ri = f"{r['ms'] / ident:11.1f}" if ident else f"{'-':>11s}"
        rg = f"{r['ms'] / gamma:8.2f}" if gamma else f"{'-':>8s}"
        rc = f"{r['cpu_ms'] / gamma_cpu:12.2f}" if gamma_cpu else f"{'-':>12s}"
        diff = r["max_abs_diff_vs_fp32"]
        d = f"{diff:12.4f}" if diff is not None else f"{'-':>12s}"
        print(f"{label:20s} {r['params']:>7,d} {r['ms']:9.1f} {r['cpu_ms']:8.1f} "
              f"{r['mp_per_s']:7.2f} {r['peak_rss_mb']:12.0f} {r['forward_mb']:7.0f} {ri} {rg} "
              f"{rc} {d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["600x400", "1920x1080"],
                        help="WIDTHxHEIGHT sizes")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        spec, dtype, height, width = json.loads(args.worker)
        print(json.dumps(measure(spec, dtype, height, width, args.warmup, args.repeats,
                                 args.threads)))
        return

    print(f"CPU inference, batch 1, {args.threads} threads, median of {args.repeats} runs "
          f"after {args.warmup} warm-up runs, each model in a fresh process")
    all_results = {}
    for text in args.sizes:
        w, h = (int(v) for v in text.lower().split("x"))
        results = {}
        for label in args.variants:
            r = run_worker(label, (h, w), args)
            if r is not None:
                results[label] = r
        print_table((h, w), results)
        all_results[text] = results
    if args.json:
        with open(args.json, "w") as f:
            json.dump(all_results, f, indent=2)


if __name__ == "__main__":
    main()
