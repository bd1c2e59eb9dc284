"""Comparison grid of every shipped weight set on real low-light photos without ground truth.

    .venv/bin/python docs/weights/grid.py --out docs/weights/grid-unpaired.jpg
    .venv/bin/python docs/weights/grid.py --out docs/weights/grid-exposure.jpg \
        --sets hf2.lol dln.lol --exposures -1 0 1 --no-baselines


Rows: photos from DICM, LIME and MEF (``../shared/data/unpaired``), downscaled to 400 px on the
long side before enhancement; columns: the input, each installed weight set, then the gamma and
CLAHE baselines. With ``--exposures`` every set appears once per exposure (stops, as
``lle enhance --exposure``; 0 = the model's own result).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch.nn.functional as F

from lle_core import create, enhance
from lle_core.evaluation import write_comparison_grid
from lle_core.io import read_image
from lle_core.weight_sets import weight_sets

PHOTOS = (
    "../shared/data/unpaired/dicm/01.jpg",
    "../shared/data/unpaired/dicm/17.jpg",
    "../shared/data/unpaired/lime/1.bmp",
    "../shared/data/unpaired/lime/5.bmp",
    "../shared/data/unpaired/mef/Madison.png",
)


def main() -> None:
    """Enhance the photos with every set and baseline; write one JPEG grid."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--photos", nargs="*", default=list(PHOTOS))
    ap.add_argument("--max-side", type=int, default=400)
    ap.add_argument("--sets", nargs="*", help="weight sets (default: every installed one)")
    ap.add_argument("--exposures", nargs="*", type=float, default=[0.0])
    ap.add_argument("--no-baselines", action="store_true")
    args = ap.parse_args()
    sets = sorted((n, w) for n, w in weight_sets().items() if not args.sets or n in args.sets)
    models = [(name.split(".")[0], ws.load()) for name, ws in sets]
    if not args.no_baselines:
        models += [(b, create("model", f"core.{b}")) for b in ("gamma", "clahe")]
    rows = []
    for photo in args.photos:
        if not Path(photo).is_file():
            continue
        low = read_image(photo)
        scale = args.max_side / max(low.shape[-2:])
        if scale < 1:
            size = (round(low.shape[-2] * scale), round(low.shape[-1] * scale))
            low = F.interpolate(low[None], size=size, mode="area")[0]
        row = [(f"input {Path(photo).parent.name}/{Path(photo).name}", low)]
        row += [(label + (f" {ev:+g} EV" if len(args.exposures) > 1 else ""),
                 enhance(model, low[None], exposure=ev)[0])
                for label, model in models for ev in args.exposures]
        rows.append(row)
    with tempfile.TemporaryDirectory() as tmp:
        png = write_comparison_grid(rows, Path(tmp) / "grid.png", max_side=200)
        from PIL import Image

        args.out.parent.mkdir(parents=True, exist_ok=True)
        Image.open(png).convert("RGB").save(args.out, quality=80, optimize=True)
    print(args.out)


if __name__ == "__main__":
    main()
