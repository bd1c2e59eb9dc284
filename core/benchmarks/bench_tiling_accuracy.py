"""Tiled against untiled output, per model and photo (docs/benchmarks.md, "Tiled against untiled").

Usage::

    python core/benchmarks/bench_tiling_accuracy.py --model hf2.model IMAGE [IMAGE ...]
        [--size 1920x1080] [--max-memory-mb 512] [--threads 2] [--plain]

Each image is resized (bicubic) to ``--size`` — e.g. a 600×400 LOL test frame upscaled to
1080p — and enhanced twice with the model's shipped weights through ``lle_core.enhance``:
``tile="off"`` and the automatic tiling at ``--max-memory-mb``. It prints the tiling chosen,
both times and the PSNR between the two outputs after 8-bit rounding (what ``lle enhance``
writes), and the largest difference in 8-bit levels. The promise: at least 45 dB.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

import lle_core
from lle_core.inference import enhance
from lle_core.inference.api import plan_tiling
from lle_core.inference.padding import model_capabilities
from lle_core.io import read_image
from lle_core.metrics import psnr


def main() -> None:
    """Print one line per image."""
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser()
    ap.add_argument("images", nargs="+", type=Path)
    ap.add_argument("--model", default="hf2.model")
    ap.add_argument("--size", default="1920x1080", help="WIDTHxHEIGHT")
    ap.add_argument("--max-memory-mb", type=float, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--plain", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    w, h = (int(v) for v in args.size.split("x"))
    model = lle_core.create("model", args.model, pretrained=True).eval()
    caps = model_capabilities(model)
    plain = True if args.plain else None
    print(f"{args.model} ({caps.global_stats} statistics), {w}x{h}, "
          f"{args.max_memory_mb:g} MiB, {args.threads} thread(s)")
    for path in args.images:
        x = F.interpolate(read_image(path)[None], size=(h, w), mode="bicubic",
                          align_corners=False).clamp(0, 1)
        with torch.no_grad():
            plan = plan_tiling(model, x, caps, max_memory_mb=args.max_memory_mb)
        t = time.perf_counter()
        whole = enhance(model, x, tile="off", plain=plain)
        t_whole = time.perf_counter() - t
        t = time.perf_counter()
        tiled = enhance(model, x, max_memory_mb=args.max_memory_mb, plain=plain)
        t_tiled = time.perf_counter() - t
        db = float(psnr(tiled, whole).mean())
        levels = int(((tiled * 255).round() - (whole * 255).round()).abs().max())
        layout = "untiled" if plan is None else f"tiles {plan.tile} px, overlap {plan.overlap}"
        print(f"  {path.name}: {layout}; untiled {t_whole:.1f} s, tiled {t_tiled:.1f} s; "
              f"PSNR tiled vs untiled {db:.1f} dB (max {levels}/255)", flush=True)


if __name__ == "__main__":
    main()
