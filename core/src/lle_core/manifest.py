"""The component manifest cache: components' self-descriptions without importing them.

A component describes itself on its class (:func:`lle_core.registry.describe`). Reading that
means importing the class, and with it torch (~2 s, ~500 MB), which listing components
(``lle list``, ``lle plugins``) should not need. Plugins therefore register classes as lazy
``"module:Class"`` strings, and this module remembers each class's description in a small JSON
file per top-level package, keyed by a fingerprint of the package's source files (path, size
and modification time of every ``.py`` file). The first listing after an install or an edit
imports the classes and writes the file; later ones read it.

The cache lives in ``$LLE_CACHE_DIR`` (default ``$XDG_CACHE_HOME/lle`` or ``~/.cache/lle``).
A missing, stale, unreadable or unwritable cache only costs the imports; it never changes a
description.

This module imports nothing heavy.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
from pathlib import Path
from typing import Any

from lle_core.registry import Capabilities, Description, describe, import_path

#: Bumped when the file layout changes (older files are then ignored).
FORMAT = 1

_lock = threading.Lock()
#: top-level package -> (fingerprint, {factory path: description as JSON})
_memo: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {}


def cache_dir() -> Path:
    """Folder of the manifest files (``$LLE_CACHE_DIR``, else the user cache folder)."""
    explicit = os.environ.get("LLE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lle"


def fingerprint(package: str) -> str:
    """Hash of the path, size and mtime of every ``.py`` file of a top-level package.

    Found with :func:`importlib.util.find_spec`, which does not import a top-level package.
    """
    spec = importlib.util.find_spec(package)
    roots = [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    digest = hashlib.sha1(f"{FORMAT}:{package}".encode())
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            st = path.stat()
            digest.update(f"{path.relative_to(root)}:{st.st_size}:{st.st_mtime_ns};".encode())
    return digest.hexdigest()


def _file(package: str) -> Path:
    return cache_dir() / f"components-{package}.json"


def _entries(package: str) -> dict[str, dict[str, Any]]:
    """The cached descriptions of a package (empty when the file is missing or stale)."""
    if package in _memo:
        return _memo[package][1]
    fp = fingerprint(package)
    entries: dict[str, dict[str, Any]] = {}
    try:
        data = json.loads(_file(package).read_text(encoding="utf-8"))
        if data.get("format") == FORMAT and data.get("fingerprint") == fp:
            entries = dict(data["entries"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    _memo[package] = (fp, entries)
    return entries


def _save(package: str) -> None:
    from lle_core.files import atomic_write  # local: only needed on a cache miss

    fp, entries = _memo[package]
    payload = {"format": FORMAT, "fingerprint": fp, "entries": entries}
    try:
        _file(package).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(_file(package), json.dumps(payload, indent=1, sort_keys=True).encode())
    except OSError:
        pass  # a read-only cache only costs the imports next time


def _from_json(item: dict[str, Any]) -> Description:
    return Description(
        params_ref=str(item["params"]),
        summary=str(item["summary"]),
        paper=item["paper"],
        capabilities=Capabilities(**item["capabilities"]),
    )


def _to_json(found: Description) -> dict[str, Any] | None:
    params = found.params
    path = f"{params.__module__}:{params.__qualname__}"
    if "<locals>" in path:
        return None
    return {
        "params": path,
        "summary": found.summary,
        "paper": found.paper,
        "capabilities": found.capabilities.model_dump(mode="json"),
    }


def describe_path(path: str) -> Description:
    """The :class:`Description` of the class at ``"module:Class"``, cached (see module doc)."""
    package = path.split(":", 1)[0].split(".", 1)[0]
    with _lock:
        entries = _entries(package)
        item = entries.get(path)
        if item is not None:
            try:
                return _from_json(item)
            except (KeyError, TypeError, ValueError):
                pass  # written by another version: describe again
        found = describe(import_path(path))
        stored = _to_json(found)
        if stored is not None:
            entries[path] = stored
            _save(package)
        return found


def forget() -> None:
    """Drop what this process read (tests that edit sources or change ``LLE_CACHE_DIR``)."""
    with _lock:
        _memo.clear()
