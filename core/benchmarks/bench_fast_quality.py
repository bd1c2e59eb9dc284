"""Quality of each shipped set's default (fast) path against ``--plain`` (docs/benchmarks.md).

Usage::

    python core/benchmarks/bench_fast_quality.py [--data ../shared/data/lol/test] [SET ...]

For every shipped weight set (or the named ones, e.g. ``dln.lol``) and every pair of the test
folder (``low/`` and ``high/`` with the same file names; LOL-v1 eval15 by default), it runs
``lle_core.enhance`` once on the plain path and once on the default path (untiled, so only
the path differs) and prints the mean PSNR against the ground truth of each (the evaluation
protocol of ``lle eval``: 8-bit rounding), their difference, and the lowest PSNR of the fast
output against the plain one (float, unrounded). The goals: difference within 0.05 dB, fast vs
plain at least 45 dB.
"""

from __future__ import annotations

import argparse
import statistics
import warnings
from pathlib import Path

import torch

from lle_core.inference import enhance
from lle_core.inference.fast import fast_model
from lle_core.inference.padding import model_capabilities
from lle_core.io import list_images, read_image
from lle_core.metrics import psnr
from lle_core.weight_sets import weight_sets


def main() -> None:
    """Print one line per weight set."""
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="*")
    ap.add_argument("--data", type=Path, default=Path("../shared/data/lol/test"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    lows = list_images(args.data / "low")
    pairs = [(read_image(p)[None], read_image(args.data / "high" / p.name)[None]) for p in lows]
    print(f"{len(pairs)} pairs from {args.data}")
    for name, ws in sorted(weight_sets().items()):
        if args.names and name not in args.names:
            continue
        model = ws.load().eval()
        caps = model_capabilities(model)
        fast = fast_model(model, caps, torch.device("cpu"))
        plain_db, fast_db, agreement = [], [], []
        for low, high in pairs:
            y_plain = enhance(model, low, tile="off", plain=True)
            y_fast = enhance(model, low, tile="off")
            plain_db.append(float(psnr(y_plain, high).mean()))
            fast_db.append(float(psnr(y_fast, high).mean()))
            agreement.append(float(psnr(y_fast, y_plain, quantize=False).mean()))
        p, f = statistics.mean(plain_db), statistics.mean(fast_db)
        print(f"{name:11s} fast path {caps.fast_path or '(none)'} -> {type(fast).__name__}: "
              f"plain {p:.3f} dB, default {f:.3f} dB, difference {f - p:+.3f} dB, "
              f"fast vs plain >= {min(agreement):.1f} dB", flush=True)


if __name__ == "__main__":
    main()
