"""Peak memory of tiled inference on a large photo (default: 24 megapixels, CPU).

Run from the repository root (takes minutes on 2 cores):

    .venv/bin/python core/benchmarks/bench_tiling.py                # 24 MP, core.unet_small
    .venv/bin/python core/benchmarks/bench_tiling.py --megapixels 4 --budget-mb 512

Prints the tile plan, the wall time and the peak resident memory of the process
(``resource.getrusage``), before and after the run, so the cost of inference itself is
visible. The input is a smooth random image (content does not change the memory use).
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time

import torch


def peak_rss_mib() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, default=24.0)
    parser.add_argument("--aspect", type=float, default=1.5, help="width / height")
    parser.add_argument("--model", default="core.unet_small")
    parser.add_argument("--base-width", type=int, default=16)
    parser.add_argument("--budget-mb", type=float, default=None,
                        help="memory budget of one forward pass (default: lle's default)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    import lle_core
    from lle_core.inference import enhance, model_capabilities, plan_tiling
    from lle_core.inference.memory import measure_bytes_per_pixel
    from lle_core.options import memory_mb_option

    height = int(math.sqrt(args.megapixels * 1e6 / args.aspect))
    width = int(height * args.aspect)
    model = lle_core.create("model", args.model, base_width=args.base_width).eval()
    caps = model_capabilities(model)
    base = peak_rss_mib()
    print(f"model {args.model} (base_width {args.base_width}), input {width}x{height} "
          f"= {width * height / 1e6:.1f} MP, threads {torch.get_num_threads()}")
    low = torch.nn.functional.interpolate(
        torch.rand(1, 3, height // 64 + 1, width // 64 + 1), size=(height, width),
        mode="bilinear", align_corners=False,
    )[0].mul_(0.3)
    after_input = peak_rss_mib()
    bpp = measure_bytes_per_pixel(model, caps)
    budget = memory_mb_option(args.budget_mb)
    with torch.no_grad():
        plan = plan_tiling(model, low.unsqueeze(0), caps, max_memory_mb=budget)
    print(f"measured {bpp:.0f} bytes/pixel -> untiled estimate {bpp * width * height / 2**30:.1f} "
          f"GiB; budget {budget:.0f} MiB -> {plan}")
    tiles: list[int] = []
    start = time.perf_counter()
    out = enhance(model, low, max_memory_mb=budget, progress=lambda d, t: tiles.append(t))
    seconds = time.perf_counter() - start
    print(f"output {tuple(out.shape)} in {seconds:.1f} s over {tiles[-1]} tile(s)")
    print(f"peak RSS: {base:.0f} MiB after start-up, {after_input:.0f} MiB with the input, "
          f"{peak_rss_mib():.0f} MiB after inference "
          f"(input + output tensors alone: {2 * 12 * width * height / 2**20:.0f} MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
