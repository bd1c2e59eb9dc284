"""Numeric options and environment variables, validated once with one meaning everywhere.

``lle enhance`` (CLI) and :func:`lle_core.enhance` (Python) both call these before any work, so
``--tile -5`` and ``enhance(tile=-5)`` fail alike, and a bad environment variable is reported
once, naming the variable, instead of failing every file. Every failure is a
:class:`~lle_core.errors.ConfigError` naming the option.

Meanings (documented in ``docs/inference.md``):

* tile: ``"auto"`` (tile when over the memory budget), ``"off"`` or ``0`` (never tile), or a
  positive tile side in pixels; negative numbers are refused.
* overlap: ``None`` (from the model) or pixels ``>= 0``.
* memory budget (MiB): a finite number ``> 0``; ``LLE_MAX_MEMORY_MB`` the same.
* pixel limit: ``LLE_MAX_IMAGE_PIXELS``, a positive whole number of pixels (``_`` allowed).
* plugin import time limit of the ``lle`` command: ``LLE_PLUGIN_IMPORT_TIMEOUT`` seconds.

This module imports only the standard library and :mod:`lle_core.errors`.
"""

from __future__ import annotations

import math
import os
from typing import Literal

from lle_core.errors import ConfigError

TileOption = int | Literal["auto", "off"]

#: Environment variable of the default memory budget (MiB) of one forward pass.
MAX_MEMORY_ENV = "LLE_MAX_MEMORY_MB"
#: Default memory budget of one forward pass, in MiB.
DEFAULT_MAX_MEMORY_MB = 1024.0
#: Environment variable of the largest image (width × height) lle reads.
MAX_PIXELS_ENV = "LLE_MAX_IMAGE_PIXELS"
#: Default pixel limit: 100 megapixels.
DEFAULT_MAX_IMAGE_PIXELS = 100_000_000


def tile_option(value: object, where: str = "tile") -> TileOption:
    """``"auto"``, ``"off"`` or a positive tile side from a CLI string or a Python value.

    ``None`` means ``"auto"``; ``0`` (or ``"0"``) means ``"off"``.

    Raises:
        ConfigError: A negative number, a bool, a non-integer or another word.
    """
    if value is None:
        return "auto"
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("auto", "off"):
            return text  # type: ignore[return-value]
        try:
            value = int(text)
        except ValueError:
            raise ConfigError(
                [(where, f"expected auto, off or a tile side in pixels, got {value!r}")]
            ) from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError([(where, f"expected auto, off or a tile side in pixels, got {value!r}")])
    if value < 0:
        raise ConfigError([(where, f"must be auto, off (or 0) or a positive side, got {value}")])
    return "off" if value == 0 else value


def overlap_option(value: object, where: str = "overlap") -> int | None:
    """Tile overlap in pixels (``None``: the model's default).

    Raises:
        ConfigError: Negative, a bool or not a whole number.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError([(where, f"must be a whole number of pixels, got {value!r}")])
    if value < 0:
        raise ConfigError([(where, f"must be >= 0 pixels, got {value}")])
    return value


def _positive_number(value: object, where: str, unit: str) -> float:
    if isinstance(value, str):
        try:
            value = float(value.strip().replace("_", ""))
        except ValueError:
            raise ConfigError([(where, f"must be a number of {unit}, got {value!r}")]) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError([(where, f"must be a number of {unit}, got {value!r}")])
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise ConfigError([(where, f"must be a finite number of {unit} > 0, got {value!r}")])
    return number


def exposure_option(value: object, where: str = "exposure") -> float | None:
    """Stops (EV) of :func:`lle_core.enhance`'s ``exposure``; ``None`` keeps the model's.

    Raises:
        ConfigError: NaN, infinite, a bool, not a number, or beyond ±8 stops.
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ConfigError([(where, f"must be a number of stops, got {value!r}")]) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError([(where, f"must be a number of stops, got {value!r}")])
    if not math.isfinite(value) or abs(value) > 8:
        raise ConfigError([(where, f"must be a finite number of stops in [-8, 8], got {value!r}")])
    return float(value)


def memory_mb_option(value: object, where: str = "max_memory_mb") -> float:
    """The memory budget of one forward pass in MiB; ``None``: :func:`env_max_memory_mb`.

    Raises:
        ConfigError: NaN, infinite, zero, negative or not a number (also for the variable).
    """
    if value is None:
        return env_max_memory_mb()
    return _positive_number(value, where, "MiB")


def _env_number(name: str, default: float, unit: str) -> float:
    """The positive number in environment variable ``name``, or ``default`` when unset."""
    raw = os.environ.get(name, "").strip()
    return _positive_number(raw, name, unit) if raw else default


def env_max_memory_mb() -> float:
    """``LLE_MAX_MEMORY_MB`` if set (validated like ``--max-memory-mb``), else 1024."""
    return _env_number(MAX_MEMORY_ENV, DEFAULT_MAX_MEMORY_MB, "MiB")


def env_max_image_pixels() -> int:
    """``LLE_MAX_IMAGE_PIXELS`` if set (a positive whole number), else 100 megapixels.

    Raises:
        ConfigError: The variable is set to something else (named once, before any file).
    """
    number = _env_number(MAX_PIXELS_ENV, DEFAULT_MAX_IMAGE_PIXELS, "pixels")
    if number != int(number):
        raise ConfigError([(MAX_PIXELS_ENV, f"must be a whole number of pixels, got {number!r}")])
    return int(number)


#: Environment variable: seconds a plugin import may take in the ``lle`` command.
PLUGIN_TIMEOUT_ENV = "LLE_PLUGIN_IMPORT_TIMEOUT"
#: Default of :data:`PLUGIN_TIMEOUT_ENV` (a loaded machine imports torch in well under this).
DEFAULT_PLUGIN_IMPORT_TIMEOUT_S = 60.0


def env_plugin_import_timeout() -> float:
    """``LLE_PLUGIN_IMPORT_TIMEOUT`` in seconds if set (a finite number > 0), else 60."""
    return _env_number(PLUGIN_TIMEOUT_ENV, DEFAULT_PLUGIN_IMPORT_TIMEOUT_S, "seconds")


def check_environment() -> None:
    """Validate every numeric environment variable lle reads (one error, before any work)."""
    env_max_memory_mb()
    env_max_image_pixels()


__all__ = [
    "DEFAULT_MAX_IMAGE_PIXELS",
    "DEFAULT_MAX_MEMORY_MB",
    "DEFAULT_PLUGIN_IMPORT_TIMEOUT_S",
    "MAX_MEMORY_ENV",
    "MAX_PIXELS_ENV",
    "PLUGIN_TIMEOUT_ENV",
    "TileOption",
    "check_environment",
    "env_max_image_pixels",
    "env_max_memory_mb",
    "env_plugin_import_timeout",
    "memory_mb_option",
    "overlap_option",
    "tile_option",
]
