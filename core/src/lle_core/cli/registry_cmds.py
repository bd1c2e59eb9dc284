"""``lle plugins`` and ``lle list``: what is installed, as rich tables."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table


def add_parser(sub: Any) -> None:
    """Add the ``plugins`` and ``list`` subcommands."""
    p = sub.add_parser("plugins", help="installed plugins, their versions, components and errors")
    p.add_argument("--traceback", action="store_true", help="show full tracebacks of failures")
    p.set_defaults(func=run_plugins)
    p = sub.add_parser("list", help="registered components: lle list [KIND] [PATTERN]")
    p.add_argument("kind", nargs="?", help="component kind (model, fusion, loss, ...)")
    p.add_argument("pattern", nargs="?", help="wildcard on the name, e.g. 'neid.*'")
    p.set_defaults(func=run_list)


def run_plugins(args: argparse.Namespace) -> int:
    """Print one row per plugin; failures with their error."""
    from lle_core.plugins import plugin_records

    console = Console()
    table = Table(title="lle plugins")
    for col in ("plugin", "distribution", "version", "status", "components", "error"):
        table.add_column(col)
    records = plugin_records()
    for r in records:
        style = {"loaded": "green", "failed": "red", "disabled": "yellow"}[r.status]
        table.add_row(
            r.id,
            r.distribution,
            r.version,
            f"[{style}]{r.status}[/]",
            str(len(r.components)),
            r.error or "",
        )
    console.print(table)
    if args.traceback:
        for r in records:
            if r.traceback:
                console.rule(f"{r.id}")
                console.print(r.traceback, markup=False, highlight=False)
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print registered components of one kind (or all) matching a pattern."""
    from lle_core.registry import KINDS
    from lle_core.spec import list_components

    kind = args.kind
    pattern = args.pattern
    if kind is not None and kind not in KINDS:  # `lle list neid.*` means a pattern
        kind, pattern = None, kind
    entries = list_components(kind, pattern)
    table = Table(title=f"lle components{f' ({kind})' if kind else ''}")
    for col in ("kind", "name", "summary", "capabilities", "from"):
        table.add_column(col, overflow="fold")
    for e in entries:
        caps = e.capabilities
        notes = []
        if e.kind == "model":
            notes.append(f"x{caps.multiple_of}" if caps.multiple_of > 1 else "any size")
            if caps.scale != 1:
                notes.append(f"scale {caps.scale}")
            notes.append("paired" if caps.needs_ground_truth else "no GT needed")
            notes.append(caps.tiling)
        table.add_row(e.kind, e.name, e.summary, ", ".join(notes), f"{e.distribution} {e.version}")
    Console().print(table)
    if not entries:
        Console(stderr=True).print("nothing matches")
        return 1
    return 0
