"""One large photo through one model: time, tiles and peak RSS, with a progress log.

Usage::

    python core/benchmarks/bench_big_photo.py MODEL PHOTO [--weights FILE] [--max-memory-mb MB]
                                              [--limit-s SECONDS]

``MODEL`` is a registered model name; without ``--weights`` shipped weights are used when
installed, else random weights (seed 0; memory and tiling do not depend on the weights). Every
tile prints its pass progress, the elapsed time and the process's peak RSS so far; with
``--limit-s`` the run stops after that many seconds and prints the time extrapolated from the
tiles done (for the slowest models on a busy machine). The process's RSS before the photo is
read (Python, torch, the plugins, the model) is printed too.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import warnings
from typing import Any

import torch

import lle_core
from lle_core.inference import enhance, model_for_inference
from lle_core.inference.memory import return_freed_memory


def peak_gib() -> float:
    """Peak resident set size of this process so far (GiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


class Stop(Exception):
    """Raised by the progress callback when the time limit is reached."""


def main() -> None:
    """Run the photo and print the figures."""
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("photo")
    ap.add_argument("--weights")
    ap.add_argument("--max-memory-mb", type=float)
    ap.add_argument("--limit-s", type=float)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    return_freed_memory()  # as lle enhance does
    torch.manual_seed(0)
    if args.weights:
        model = model_for_inference(None, args.weights)
    else:
        try:
            model = lle_core.create("model", args.model, pretrained=True)
        except Exception:
            params: dict[str, Any] = {}
            if args.model == "hf2.model":
                params = {"backbone": {"type": "hf2.vgg16", "weights": "random"}}
            model = lle_core.create("model", args.model, **params)
    model.eval()
    print(f"{args.model}: start-up peak RSS {peak_gib():.2f} GiB", flush=True)
    start = time.time()
    last = [0, 1]

    def progress(done: int, total: int) -> None:
        last[:] = [done, total]
        elapsed = time.time() - start
        print(f"  tile {done}/{total}  {elapsed:.0f} s  peak RSS {peak_gib():.2f} GiB", flush=True)
        if args.limit_s is not None and elapsed > args.limit_s and done < total:
            raise Stop

    try:
        out = enhance(model, args.photo, max_memory_mb=args.max_memory_mb, progress=progress)
    except Stop:
        elapsed = time.time() - start
        done, total = last
        print(f"{args.model}: stopped after {elapsed:.0f} s at tile {done}/{total}; peak RSS "
              f"{peak_gib():.2f} GiB; extrapolated total {elapsed * total / done:.0f} s")
        sys.exit(0)
    elapsed = time.time() - start
    print(f"{args.model}: {tuple(out.shape)} in {elapsed:.1f} s, peak RSS {peak_gib():.2f} GiB")


if __name__ == "__main__":
    main()
