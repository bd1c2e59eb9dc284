"""Context-aware tiling benchmark: one enhancement per fresh process (peak RSS is per process).

Usage: ``python core/benchmarks/bench_context_tiling.py MODEL off|BUDGET_MB OUT.pt`` (paper
widths, random weights with seed 0, a smooth 1920x1080 image, 2 threads). Compare the outputs
of an ``off`` and a ``512`` run for the tiled-vs-untiled PSNR (docs/benchmarks.md).
"""

from __future__ import annotations

import resource
import sys
import time
import warnings

import torch
import torch.nn.functional as F

import lle_core


def main() -> None:
    """Run one enhancement and print its time and peak RSS."""
    warnings.simplefilter("ignore")
    torch.set_num_threads(2)
    name, mode, out = sys.argv[1], sys.argv[2], sys.argv[3]
    params = {"backbone": {"type": "hf2.vgg16", "weights": "random"}} if name == "hf2.model" else {}
    torch.manual_seed(0)
    model = lle_core.create("model", name, **params).eval()
    small = torch.rand(1, 3, 135, 240, generator=torch.Generator().manual_seed(5))
    x = F.interpolate(small, size=(1080, 1920), mode="bicubic").clamp(0, 1)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    t = time.time()
    if mode == "off":
        y = lle_core.enhance(model, x, tile="off")
    else:
        y = lle_core.enhance(model, x, max_memory_mb=float(mode))
    dt = time.time() - t
    torch.save(y, out)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"{name} {mode} time_s={dt:.1f} peak_rss_gib={peak:.2f} rss_before_gib={before:.2f}")


if __name__ == "__main__":
    main()
