"""Entry point of the ``lle`` command.

Each subcommand lives in its own module of :mod:`lle_core.cli` exposing
``add_parser(subparsers)`` (which sets ``func`` on its parser) and is listed in
:data:`COMMAND_MODULES`; plugins add theirs through the ``lle_commands`` hook
(:mod:`lle_core.cli.plugin_cmds`).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from lle_core.errors import LLEError

COMMAND_MODULES: tuple[str, ...] = (
    "lle_core.cli.registry_cmds",
    "lle_core.cli.train_cmd",
    "lle_core.cli.eval_cmd",
    "lle_core.cli.enhance_cmd",
    "lle_core.cli.export_cmd",
    "lle_core.cli.weights_cmd",
    "lle_core.cli.demo_cmd",
    "lle_core.cli.bench_cmd",
)


TRACEBACK_HELP = "on an error, print the full traceback too (for bug reports)"

#: Failures a user can fix (bad input, config, files, disk): one line, no traceback.
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    LLEError,
    OSError,
    KeyError,
    FloatingPointError,
    MemoryError,
)

_WORKER_MARK = "Original Traceback (most recent call last):"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand (each accepts ``--traceback``)."""
    parser = argparse.ArgumentParser(
        prog="lle", description="Low-light image enhancement: train, evaluate, enhance."
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--traceback", action="store_true", help=TRACEBACK_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    from lle_core.cli.plugin_cmds import add_plugin_commands

    add_plugin_commands(sub)  # after core's: a plugin cannot replace a core command
    for command in sub.choices.values():
        # SUPPRESS: `lle --traceback CMD` keeps working when CMD does not repeat it; a command
        # with its own --traceback (lle plugins) keeps it.
        with contextlib.suppress(argparse.ArgumentError):
            command.add_argument(
                "--traceback", action="store_true", default=argparse.SUPPRESS, help=TRACEBACK_HELP
            )
    return parser


def error_message(err: BaseException) -> str:
    """The message of an error for the one-line report (no traceback).

    An error re-raised by a DataLoader worker carries the worker's whole traceback in its
    message; only the original exception's text is kept, with the worker named.
    """
    text = str(err)
    if isinstance(err, KeyError) and not isinstance(err, LLEError) and err.args:
        text = f"missing key {err.args[0]!r}"
    if _WORKER_MARK in text:
        head, _, tail = text.partition(_WORKER_MARK)
        lines = tail.splitlines()
        start = next(
            (i for i, line in enumerate(lines) if line.strip() and not line.startswith(" ")),
            len(lines),
        )
        original = "\n".join(lines[start:]).strip()
        kind, sep, rest = original.partition(": ")
        if sep and " " not in kind:  # "lle_core.errors.ImageReadError: message"
            original = rest
        where = head.strip().removeprefix("Caught ").rstrip(".")
        text = f"{original} ({where})" if where else original
    return text or type(err).__name__


def _silence_stdout() -> None:
    """Point stdout at the null device, so that the exit-time flush of a closed pipe is silent."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a capture (tests): nothing to do
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``lle`` command; returns the process exit code.

    Expected failures (:data:`EXPECTED_ERRORS`) print one ``error: ...`` line and return 1;
    anything else is reported the same way as an internal error. ``--traceback`` adds the full
    traceback. Ctrl-C returns 130.
    """
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
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `lle list --json | head`: the reader has all it wanted
        _silence_stdout()
        return 0
    except Exception as err:
        if getattr(args, "traceback", False):
            traceback.print_exc()
        message = error_message(err)
        if not isinstance(err, EXPECTED_ERRORS):
            message = (
                f"unexpected {type(err).__name__}: {message} (a bug in lle or a plugin; rerun "
                "with --traceback to see where)"
            )
        print(f"error: {message}", file=sys.stderr)
        return 1


def run() -> NoReturn:
    """The ``lle`` console script: :func:`main`, then end the process at once with its code.

    Plugin imports are watched (:func:`lle_core.plugins.arm_import_watchdog`, limit
    ``LLE_PLUGIN_IMPORT_TIMEOUT``). Once the work is done, stdout and stderr are flushed and
    the process exits with ``os._exit``: a non-daemon thread a plugin left running cannot keep
    ``lle`` alive, and a plugin's ``atexit`` handler cannot change the exit code (lle's own
    work needs no ``atexit`` handler).
    """
    from lle_core import plugins
    from lle_core.options import env_plugin_import_timeout

    code: int
    try:
        plugins.arm_import_watchdog(env_plugin_import_timeout())
        code = main()
    except SystemExit as exit_:  # argparse: --help (0) or a usage error (2)
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        if isinstance(exit_.code, str):
            print(exit_.code, file=sys.stderr)
    except LLEError as err:  # a bad LLE_PLUGIN_IMPORT_TIMEOUT
        print(f"error: {error_message(err)}", file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
