"""Entry point of the ``lle`` command.

Each subcommand lives in its own module of :mod:`lle_core.cli` exposing
``add_parser(subparsers)`` (which sets ``func`` on its parser) and is listed in
:data:`COMMAND_MODULES`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from lle_core.errors import LLEError

COMMAND_MODULES: tuple[str, ...] = (
    "lle_core.cli.registry_cmds",
    "lle_core.cli.train_cmd",
    "lle_core.cli.eval_cmd",
    "lle_core.cli.enhance_cmd",
    "lle_core.cli.demo_cmd",
    "lle_core.cli.bench_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="lle", description="Low-light image enhancement: train, evaluate, enhance."
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``lle`` command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from lle_core import __version__

        print(f"lle-core {__version__}")
        return 0
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (LLEError, KeyError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
