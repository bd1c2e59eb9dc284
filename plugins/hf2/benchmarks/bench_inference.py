"""Inference speed and peak memory of hf2.model at 600×400 on the CPU, against core baselines.

Usage (from the repository root)::

    HF_HUB_OFFLINE=1 timeout 600 .venv/bin/python plugins/hf2/benchmarks/bench_inference.py

Each model runs in its own subprocess so that its peak resident memory (``ru_maxrss``) is its
own; the table reports the increase of the peak over the resident size right before the first
forward pass (activations and workspace, not the weights) and the total peak. hf2.model is
built at the paper's full width with a random VGG16 (pretrained weights cannot be downloaded
here; the speed does not depend on the weight values). Timings are medians of ``--repeats``
runs after one warm-up. Run all models in one invocation and compare ratios: the machine is
shared and noisy.
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

MODELS: dict[str, dict[str, object]] = {
    "hf2.model": {"type": "hf2.model", "backbone": {"type": "hf2.vgg16", "weights": "random"}},
    "core.identity": {"type": "core.identity"},
    "core.gamma": {"type": "core.gamma"},
}


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(name: str, height: int, width: int, repeats: int) -> dict[str, float | str]:
    """Build one model, run it ``repeats`` times on a ``(1, 3, H, W)`` image; return figures."""
    import torch

    from lle_core import create
    from lle_core.ops import crop_to, pad_to_multiple

    torch.manual_seed(0)
    model = create("model", MODELS[name]).eval()
    caps = model.capabilities
    x = torch.rand(1, 3, height, width) * 0.3

    def run() -> torch.Tensor:
        padded, size = pad_to_multiple(x, caps.multiple_of, caps.min_size)
        with torch.inference_mode():
            return crop_to(model(padded), size, caps.scale)

    params = sum(p.numel() for p in model.parameters())
    rss_before = _rss_mib()
    out = run()  # warm-up
    assert out.shape == x.shape, out.shape
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    ms = statistics.median(times) * 1000
    return {
        "model": name,
        "params": params,
        "ms": ms,
        "img_per_s": 1000.0 / ms if ms > 0 else float("inf"),
        "peak_mib": peak,
        "peak_over_start_mib": max(peak - rss_before, 0.0),
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    """Run every model in a subprocess and print a table (and JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=400)
    parser.add_argument("--width", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads per model process (0: torch's default)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="also print the rows as JSON")
    args = parser.parse_args()

    if args.one:
        if args.threads > 0:
            import torch

            torch.set_num_threads(args.threads)
        print(json.dumps(measure(args.one, args.height, args.width, args.repeats)))
        return

    rows = []
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    for name in MODELS:
        repeats = args.repeats if name == "hf2.model" else max(args.repeats, 10)
        proc = subprocess.run(
            [sys.executable, __file__, "--one", name, "--height", str(args.height),
             "--width", str(args.width), "--repeats", str(repeats),
             "--threads", str(args.threads)],
            capture_output=True, text=True, env=env, check=False,
        )
        if proc.returncode != 0:
            sys.exit(f"{name} failed:\n{proc.stderr}")
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))

    ref = {r["model"]: r for r in rows}
    print(f"{args.width}x{args.height}, CPU, torch threads = {rows[0]['threads']}, "
          f"median of repeats after one warm-up")
    header = (f"{'model':<14} {'params':>11} {'ms/img':>10} {'img/s':>9} {'peak MiB':>9} "
              f"{'+MiB':>8} {'x identity':>11} {'x gamma':>9}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['model']:<14} {r['params']:>11,} {r['ms']:>10.1f} {r['img_per_s']:>9.3f} "
              f"{r['peak_mib']:>9.0f} {r['peak_over_start_mib']:>8.0f} "
              f"{r['ms'] / ref['core.identity']['ms']:>11.1f} "
              f"{r['ms'] / ref['core.gamma']['ms']:>9.1f}")
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
