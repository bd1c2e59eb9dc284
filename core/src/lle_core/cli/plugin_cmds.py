"""``lle`` subcommands added by plugins (the ``lle_commands`` hook).

Each plugin's :class:`~lle_core.hookspecs.Command` records become subparsers after core's own
commands. A command whose name is taken, whose record is malformed or whose ``add_arguments``
raises is left out, and ``lle`` says why on stderr (one line each); the other commands work.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from lle_core.hookspecs import Command


def _resolve(obj: str | Callable[..., Any]) -> Callable[..., Any]:
    """A callable, or the one a lazy ``"module:function"`` path names."""
    from lle_core.registry import import_path

    return import_path(obj) if isinstance(obj, str) else obj


def _runner(run: str | Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """``func`` of a plugin command: imports ``run`` only when the command runs."""

    def func(args: argparse.Namespace) -> int:
        return int(_resolve(run)(args) or 0)

    return func


def _add_one(sub: Any, plugin_id: str, command: Any) -> str | None:
    """Add one plugin command; returns why it was left out, or ``None``."""
    if not isinstance(command, Command):
        kind = type(command).__name__
        return f"plugin {plugin_id!r}: lle_commands returned a {kind}, not a Command"
    if not command.name or command.name.startswith("-") or command.name in sub.choices:
        return f"plugin {plugin_id!r}: command name {command.name!r} is empty or already taken"
    options = argparse.ArgumentParser(add_help=False)
    try:
        if command.add_arguments is not None:
            _resolve(command.add_arguments)(options)
    except Exception as exc:
        return f"plugin {plugin_id!r}: command {command.name!r}: {type(exc).__name__}: {exc}"
    parser = sub.add_parser(
        command.name,
        parents=[options],
        help=f"{command.help} [plugin {plugin_id}]",
        description=command.description or command.help,
    )
    parser.set_defaults(func=_runner(command.run))
    return None


def add_plugin_commands(sub: Any) -> list[str]:
    """Add every loaded plugin's commands to ``sub`` (the ``lle`` subparsers).

    Returns:
        One line per command or plugin hook left out, saying why (also printed on stderr).
    """
    from lle_core.plugins import call_hook

    hook = call_hook("lle_commands")
    problems = [f"plugin {pid!r}: {err}" for pid, err in hook.errors]
    for plugin_id, command in hook.results:
        why = _add_one(sub, plugin_id, command)
        if why is not None:
            problems.append(why)
    for line in problems:
        print(f"lle: left out {line}", file=sys.stderr)
    return problems


__all__ = ["add_plugin_commands"]
