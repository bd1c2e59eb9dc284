"""Placeholder until filled in."""

from typing import Any


def register_components(register: Any) -> None:
    """Register components of this package."""
