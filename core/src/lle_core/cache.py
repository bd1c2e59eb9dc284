"""lle's cache folder, and the rule for trusting anything in it.

One folder holds everything lle caches: ``$LLE_CACHE_DIR``, else ``$XDG_CACHE_HOME/lle``, else
``~/.cache/lle``. Its contents are never authority (docs/reliability.md): component
descriptions (:mod:`lle_core.manifest`) are hints for listing, and a compiled library
(:mod:`lle_core.native`) is loaded only from a folder that :func:`private_folder` accepts and
only when its SHA-256 is the one recorded when lle built it.

A folder or file is *private* when it is owned by the user running lle and nobody else can
write to it (no group or world write bit). Folders lle creates here are created ``0700``
whatever the umask. On systems without user ids (Windows) neither is checked.

This module uses only the standard library.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from lle_core.errors import UnsafeCacheError

#: Environment variable naming lle's cache folder.
CACHE_ENV = "LLE_CACHE_DIR"


def cache_dir() -> Path:
    """The cache folder: ``$LLE_CACHE_DIR``, else ``lle`` in the user's cache folder."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lle"


def problem(path: Path, *, folder: bool) -> str | None:
    """Why ``path`` is not private (see the module docstring), or ``None`` when it is.

    Args:
        path: A folder (``folder=True``) or a regular file; symbolic links are not followed
            for files.
        folder: What ``path`` must be.
    """
    try:
        st = os.stat(path) if folder else os.lstat(path)
    except OSError as err:
        return f"cannot be read ({err.strerror})"
    if folder and not stat.S_ISDIR(st.st_mode):
        return "is not a folder"
    if not folder and not stat.S_ISREG(st.st_mode):
        return "is not a regular file"
    getuid = getattr(os, "geteuid", None)
    if getuid is None:  # Windows: no user ids, and its mode bits do not say who may write
        return None
    if st.st_uid != getuid():
        return f"is owned by user id {st.st_uid}, not by the user running lle ({getuid()})"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"can be written by other users (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def _own_folder(path: Path) -> bool:
    getuid = getattr(os, "geteuid", None)
    try:
        st = os.stat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and (getuid is None or st.st_uid == getuid())


def private_folder(name: str, *, tighten: bool = False) -> Path:
    """``<cache_dir()>/<name>``, created ``0700`` if missing, checked to be private.

    Folders created on the way (the cache folder itself) are made ``0700`` too.

    Args:
        name: Sub-folder of the cache folder (``""``: the cache folder itself).
        tighten: An existing folder of the user's that others can write to is made ``0700``
            instead of refused (for folders only lle uses, e.g. ``kernels``, whose files are
            each checked before use; never the cache folder a user named).

    Raises:
        UnsafeCacheError: The folder cannot be created, or it is not private: owned by
            another user, group- or world-writable, or not a folder (the message names it
            and says what to do).
    """
    target = cache_dir() / name
    missing: list[Path] = []
    for folder in (target, *target.parents):
        if folder.exists():
            break
        missing.append(folder)
    try:
        for folder in reversed(missing):
            try:
                folder.mkdir(mode=0o700)
            except FileExistsError:
                continue  # created at the same moment by another process: checked below
            os.chmod(folder, 0o700)  # mkdir's mode is reduced by the umask, never widened
    except OSError as err:
        raise UnsafeCacheError(f"cannot create the cache folder {target}: {err}") from None
    found = problem(target, folder=True)
    if found is not None and tighten and name and _own_folder(target):
        with contextlib.suppress(OSError):  # if it fails, the folder is refused below
            os.chmod(target, 0o700)
        found = problem(target, folder=True)
    if found is not None:
        raise UnsafeCacheError(
            f"cache folder {target} {found}; lle loads nothing from it. Remove it, or set "
            f"{CACHE_ENV} to a folder of your own"
        )
    return target


__all__ = ["CACHE_ENV", "cache_dir", "private_folder", "problem"]
