"""Measure the real-photo panel of every shipped weight set and of the baselines.

    .venv/bin/python docs/weights/panel.py [NAME ...] [--data ../shared/data]

For each set (or only the named ones) this runs :mod:`lle_core.evaluation.photo_panel` on

* ``unpaired/{dicm,lime,mef}``: up to 8 photos each, long side 512 px (no ground truth), and
* ``clean/{kodak,mcmaster18}``: every photo, long side 512 px, darkened with a fixed seed,

and writes the figures into the set's record (``photo_panel`` in ``weights/<name>.json``; the
weights file and its checksum do not change). The baselines' figures (gamma 1/2.2 and
histogram equalisation) go to ``docs/weights/panel-baselines.json``. ``docs/weights/table.py
--write`` then renders both into docs/weights.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import lle_core
from lle_core.evaluation.photo_panel import PanelResult, panel_inputs, run_panel
from lle_core.files import atomic_write
from lle_core.weight_sets import weight_sets

CLEAN = ("kodak", "mcmaster18")
BASELINES = {"gamma": "core.gamma", "histeq": "core.histeq"}
OUT = Path(__file__).with_name("panel-baselines.json")


def _write_json(path: Path, data: dict) -> None:
    atomic_write(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))


def main() -> None:
    """Measure and write (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="weight sets (default: all) or 'baselines'")
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = ap.parse_args()
    photos, clean = panel_inputs(args.data / "unpaired",
                                 [args.data / "clean" / k for k in CLEAN])
    todo = set(args.names)
    results: list[PanelResult] = []
    if not todo or "baselines" in todo:
        base = {}
        for label, name in BASELINES.items():
            model = lle_core.create("model", name)
            r = run_panel(label, lambda x, m=model: lle_core.enhance(m, x), photos, clean)
            base[label] = r.as_record()
            results.append(r)
        _write_json(OUT, base)
    for name, ws in sorted(weight_sets().items()):
        if todo and name not in todo:
            continue
        model = ws.load()
        r = run_panel(name, lambda x, m=model: lle_core.enhance(m, x), photos, clean)
        path = Path(str(ws.path())).with_suffix(".json")
        record = json.loads(path.read_text(encoding="utf-8"))
        record["photo_panel"] = r.as_record()
        _write_json(path, record)
        results.append(r)
    for r in results:
        print(r.label, json.dumps(r.as_record(3)), flush=True)


if __name__ == "__main__":
    main()
