"""``lle weights``: the pretrained weight sets the installed plugins ship, with their metrics."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    """Add the ``weights`` subcommand."""
    p = sub.add_parser(
        "weights",
        help="list the shipped pretrained weight sets and their measured quality",
        description=(
            "List every weight set shipped by an installed plugin: the model it fits, LOL-v1 "
            "eval15 PSNR/SSIM (and GT-mean), speed, the real-photo panel (colour ratio, "
            "highlight clipping and border on DICM/LIME/MEF; PSNR on darkened Kodak/McMaster), "
            "training data and budget. The default of `lle enhance` is marked. Use one with "
            "`lle enhance IN -o OUT --model NAME` or "
            "lle_core.create('model', MODEL, pretrained=True)."
        ),
    )
    p.add_argument("pattern", nargs="?", help="only sets whose name or model contains this")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--verify", action="store_true",
                   help="also check every file's SHA-256 (reads the files)")
    p.set_defaults(func=run_weights)


def _row(name: str, ws: Any, default: str | None) -> dict[str, Any]:
    return {
        "name": name, "model": ws.model_type, "default": name == default,
        "metrics": dict(ws.metrics), "mp_per_s": ws.mp_per_s, "storage": ws.storage,
        "file": ws.file, "sha256": ws.sha256, "data": ws.data, "recipe": ws.recipe,
        "budget": ws.budget, "notes": ws.notes,
        "photo_panel": {k: dict(v) for k, v in ws.photo_panel.items()},
        "photo_misses": ws.photo_misses(),
    }


#: Real-photo columns of the table: (header, figure, folders, format).
PHOTO_COLUMNS = (
    ("colour D/L/M", "color_ratio", ("dicm", "lime", "mef"), ".2f"),
    ("clip D/L/M", "clipping", ("dicm", "lime", "mef"), ".1f"),
    ("border D/L/M", "border", ("dicm", "lime", "mef"), ".2f"),
    ("dark PSNR K/M", "psnr", ("kodak", "mcmaster18"), ".1f"),
)


def _photo_cells(panel: dict[str, dict[str, float]]) -> list[str]:
    """One ``a/b/c`` cell per :data:`PHOTO_COLUMNS` entry ("-" where not measured)."""
    return ["/".join(_fmt(panel.get(f, {}).get(figure), spec) for f in folders)
            if panel else "-" for _, figure, folders, spec in PHOTO_COLUMNS]


def run_weights(args: argparse.Namespace) -> int:
    """Print the weight sets (table or JSON); exit 1 when ``--verify`` finds a bad file."""
    from lle_core.errors import WeightsError
    from lle_core.weight_sets import default_weight_set, weight_sets

    sets = weight_sets()
    if args.pattern:
        sets = {n: w for n, w in sets.items() if args.pattern in n or args.pattern in w.model_type}
    try:
        default: str | None = default_weight_set()[0]
    except WeightsError:
        default = None
    rows = [_row(n, w, default) for n, w in sets.items()]
    bad = 0
    read = 0
    if args.verify:
        for row, ws in zip(rows, sets.values(), strict=True):
            try:
                read += ws.verify().stat().st_size
                row["verified"] = True
            except WeightsError as err:
                row["verified"] = False
                print(f"error: {err}", file=sys.stderr)
                bad += 1
    if args.json:
        print(json.dumps(rows, indent=2))
        return 1 if bad else 0
    if not rows:
        print("no pretrained weight sets installed (plugins that ship weights: see the README)")
        return 0
    _print_table(rows)
    if args.verify:
        print(verify_summary(len(rows), bad, read))
    return 1 if bad else 0


def verify_summary(total: int, bad: int, read_bytes: int) -> str:
    """The line ``--verify`` adds: what was checked and what it found."""
    checked = (f"verified: read {total} weight file(s) ({read_bytes / 2**20:.1f} MiB) and "
               "compared each SHA-256 with the one recorded when the set was shipped")
    if not bad:
        return f"{checked}: all match"
    return f"{checked}: {bad} do(es) not match (see the errors above; reinstall that plugin)"


def _fmt(value: Any, spec: str) -> str:
    return format(value, spec) if isinstance(value, int | float) else "-"


def _print_table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    tty = sys.stdout.isatty()
    console = Console(soft_wrap=not tty, width=None if tty else 160)
    table = Table(title="pretrained weight sets (LOL-v1 eval15, project protocol; real-photo "
                        "panel: DICM/LIME/MEF and darkened Kodak/McMaster, docs/weights.md)")
    for col in ("name", "model", "PSNR", "SSIM", "PSNR GT-mean", "SSIM GT-mean", "MP/s",
                "stored as", *(c[0] for c in PHOTO_COLUMNS)):
        table.add_column(col, overflow="fold" if console.is_terminal else "ignore",
                         no_wrap=not console.is_terminal)
    for r in rows:
        m = r["metrics"]
        table.add_row(
            r["name"] + (" (default)" if r["default"] else ""), r["model"],
            _fmt(m.get("psnr"), ".2f"), _fmt(m.get("ssim"), ".3f"),
            _fmt(m.get("psnr_gt_mean"), ".2f"), _fmt(m.get("ssim_gt_mean"), ".3f"),
            _fmt(r["mp_per_s"], ".3g"), r["storage"], *_photo_cells(r["photo_panel"]),
        )
    console.print(table)
    for r in rows:
        console.print(f"[bold]{r['name']}[/]: {r['recipe']}; data: {r['data']}; "
                      f"budget: {r['budget']}" + (f"; {r['notes']}" if r["notes"] else ""))
