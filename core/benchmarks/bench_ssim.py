"""SSIM: lle's separable kornia filtering against ``kornia.metrics.ssim`` (full 2-D kernel).

Usage::

    python core/benchmarks/bench_ssim.py [--batch 8] [--side 128] [--threads 1] [--repeat 5]

Prints, for each way, the forward and the forward + backward time per call (median of
``--repeat``) on one batch of random images, their ratio, and the largest difference between
the per-image values (both average the SSIM map per image).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import kornia
import torch
from torch import Tensor

from lle_core.losses import ssim


def kornia_ssim(x: Tensor, y: Tensor) -> Tensor:
    return kornia.metrics.ssim(x, y, 11, 1.0, eps=0.0, padding="valid").flatten(1).mean(1)


def timed(fn: Callable[[Tensor, Tensor], Tensor], x: Tensor, y: Tensor, backward: bool,
          repeat: int) -> float:
    times = []
    for _ in range(repeat + 1):  # the first call warms up
        xx = x.detach().requires_grad_(backward)
        t0 = time.perf_counter()
        value = fn(xx, y)
        if backward:
            value.sum().backward()
        times.append(time.perf_counter() - t0)
    return statistics.median(times[1:])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--side", type=int, default=128)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeat", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(a.batch, 3, a.side, a.side, generator=g)
    y = (x + 0.1 * torch.rand(x.shape, generator=g)).clamp(0, 1)
    ways = {"lle ssim (separable)": ssim, "kornia.metrics.ssim": kornia_ssim}
    print(f"{a.batch}x3x{a.side}x{a.side} float32, {a.threads} thread(s), median of {a.repeat}")
    rows = {}
    for name, fn in ways.items():
        rows[name] = (timed(fn, x, y, False, a.repeat), timed(fn, x, y, True, a.repeat))
        print(f"{name:<22} forward {rows[name][0] * 1e3:7.1f} ms   "
              f"forward+backward {rows[name][1] * 1e3:7.1f} ms")
    ours, theirs = rows["lle ssim (separable)"], rows["kornia.metrics.ssim"]
    print(f"kornia.metrics.ssim / lle: forward {theirs[0] / ours[0]:.2f}x, "
          f"forward+backward {theirs[1] / ours[1]:.2f}x")
    diff = (ssim(x, y) - kornia_ssim(x, y)).abs().max().item()
    print(f"largest per-image difference: {diff:.2e}")


if __name__ == "__main__":
    main()
