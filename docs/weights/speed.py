"""Re-measure the ``mp_per_s`` of every shipped weight set and update the records.

Only ``weights/*.json`` change; the weight files and their checksums do not. Run it on a quiet
machine (names, e.g. ``auxnet.lol``, limit it to those sets)::

    .venv/bin/python docs/weights/speed.py [NAME ...]

Throughput is ``lle_core.enhance`` on a 600×400 image (default inference path, the machine's
default torch threads), median of 5 after one warm-up, all sets measured in this one process.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import torch

from lle_core import enhance
from lle_core.files import atomic_write
from lle_core.weight_sets import weight_sets


def mp_per_s(model: torch.nn.Module, repeats: int = 5) -> float:
    """Megapixels per second of ``enhance`` at 600×400 (median of ``repeats``)."""
    x = torch.rand(3, 400, 600) * 0.3
    enhance(model, x)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        enhance(model, x)
        times.append(time.perf_counter() - t)
    return round(0.24 / statistics.median(times), 3)


def main() -> None:
    """Measure every set and rewrite its record's ``mp_per_s``."""
    only = set(sys.argv[1:])
    for name, ws in sorted(weight_sets().items()):
        if only and name not in only:
            continue
        speed = mp_per_s(ws.load())
        record_path = Path(str(ws.path())).with_suffix(".json")
        record = json.loads(record_path.read_text(encoding="utf-8"))
        record["mp_per_s"] = speed
        atomic_write(record_path, (json.dumps(record, indent=2) + "\n").encode("utf-8"))
        print(f"{name}: {speed} MP/s ({torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
