"""Peak memory of ``lle enhance`` on one large photo, per size: does the peak grow with it?

Writes smooth synthetic PNGs of the asked sizes into a temporary folder (removed at the end),
runs ``lle enhance PHOTO -o OUT --model MODEL`` on each in a new process and prints the peak
resident memory of that process (``ru_maxrss`` of the child, what ``/usr/bin/time -f %M``
reports) and its wall time. Figures in docs/reliability.md ("Limits") come from::

    python core/benchmarks/bench_photo_memory.py --model auxnet --megapixels 24 96
    python core/benchmarks/bench_photo_memory.py --model core.clahe --megapixels 24 96

A 96-megapixel photo takes minutes per model on a 2-core CPU (AuxNet ~6 min).
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _photo(path: Path, megapixels: float) -> None:
    """A smooth dark 3:2 photo of about ``megapixels`` (upscaled noise; PNG, fast compression)."""
    import numpy as np
    from PIL import Image

    h = int(math.sqrt(megapixels * 1e6 / 1.5))
    w = int(h * 1.5)
    small = (np.random.default_rng(0).random((h // 50 + 1, w // 50 + 1, 3)) * 80).astype(np.uint8)
    Image.fromarray(small).resize((w, h), Image.BILINEAR).save(path, compress_level=1)


def _peak_of(argv: list[str]) -> tuple[int, float, int]:
    """Run ``argv``; return (exit code, seconds, peak RSS in KiB of the children so far).

    ``ru_maxrss`` of the children is the maximum over all of them: :func:`main` measures the
    sizes in increasing order, so each figure is that size's own peak.
    """
    start = time.perf_counter()
    code = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False).returncode
    seconds = time.perf_counter() - start
    return code, seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def main() -> int:
    """Print the peak RSS of ``lle enhance`` for each size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="auxnet")
    parser.add_argument("--megapixels", type=float, nargs="+", default=[24.0, 96.0])
    parser.add_argument("--max-memory-mb", help="passed to lle enhance")
    args = parser.parse_args()
    lle = [sys.executable, "-m", "lle_core.cli.main", "enhance"]
    extra = ["--max-memory-mb", args.max_memory_mb] if args.max_memory_mb else []
    with tempfile.TemporaryDirectory() as tmp:
        for mp in sorted(args.megapixels):  # increasing (see _peak_of)
            photo = Path(tmp) / f"photo-{mp:g}mp.png"
            _photo(photo, mp)
            out = Path(tmp) / "out.png"
            code, seconds, peak_kib = _peak_of(
                [*lle, str(photo), "-o", str(out), "--model", args.model, *extra])
            os.unlink(photo)
            if out.exists():
                out.unlink()
            print(f"{args.model} {mp:g} MP: peak RSS {peak_kib / 2**20:.2f} GiB "
                  f"({peak_kib * 1024 / 1e9:.2f} GB), {seconds:.0f} s, exit {code}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
