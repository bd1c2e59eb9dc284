"""Placeholder: the subcommand is added by the engine work."""

from typing import Any


def add_parser(sub: Any) -> None:
    """Add the subcommand (not yet)."""
