"""The component manifest cache: components' self-descriptions without importing them.

A component describes itself on its class (:func:`lle_core.registry.describe`). Reading that
means importing the class, and with it torch (~2 s, ~500 MB), which listing components
(``lle list``, ``lle plugins``) should not need. Plugins therefore register classes as lazy
``"module:Class"`` strings, and this module remembers each class's description in a small JSON
file per top-level package, keyed by a fingerprint of the package's source files (the path
and the SHA-256 of the content of every ``.py`` file; about 3 ms for ``lle_core``). The first
listing after an install or an edit imports the classes and writes the file; later ones read it.

The cache is a hint for listing, never authority: what lle *does* with a component (validate
its parameters, decide whether it needs weights, build it) is read from the class itself
(:meth:`lle_core.registry.Entry.description`), and a cached description that disagrees with
the class is replaced as soon as the class is imported (:func:`confirm`). Only
:meth:`~lle_core.registry.Entry.listing` (``lle list``) reads it.

The cache lives in lle's cache folder (:func:`lle_core.cache.cache_dir`). A file there that is
not private (owned by the user, writable by nobody else, :func:`lle_core.cache.problem`) is
ignored. A missing, stale, unreadable, unwritable or ignored cache only costs the imports.

So that the very first listing after an install needs no imports either, a package may ship its
descriptions in ``<package>/components.json`` (:data:`SHIPPED`; ``make manifests`` writes them
for this repository's packages with :func:`write_shipped`, and a test fails when one differs
from what the classes say). They are used when the user cache has nothing valid for the package.

This module imports nothing heavy.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import threading
from pathlib import Path
from typing import Any

from lle_core.cache import cache_dir, private_folder, problem
from lle_core.description import Capabilities, Description, describe, import_path
from lle_core.errors import UnsafeCacheError

#: Bumped when the file layout changes (older files are then ignored).
FORMAT = 1
#: File name of the descriptions a package ships next to its ``__init__.py``.
SHIPPED = "components.json"

_lock = threading.Lock()
#: top-level package -> (fingerprint, {factory path: description as JSON})
_memo: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {}


def fingerprint(package: str) -> str:
    """SHA-256 over the relative path and the content of every ``.py`` file of a package.

    Found with :func:`importlib.util.find_spec`, which does not import a top-level package.
    Content, not size and modification time: an edit that keeps both still changes it.
    """
    roots = _package_roots(package)
    digest = hashlib.sha256(f"{FORMAT}:{package}".encode())
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            content = path.read_bytes()
            digest.update(f"{path.relative_to(root)}:{len(content)}:".encode())
            digest.update(content)
    return digest.hexdigest()


def _file(package: str) -> Path:
    return cache_dir() / f"components-{package}.json"


def _package_roots(package: str) -> list[Path]:
    spec = importlib.util.find_spec(package)
    return [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []


def _read_entries(path: Path, fp: str | None) -> dict[str, dict[str, Any]] | None:
    """Entries of a manifest file.

    ``None`` if it is missing, unreadable, of another format or (``fp`` given) of another
    fingerprint.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") == FORMAT and (fp is None or data.get("fingerprint") == fp):
            return dict(data["entries"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    return None


def shipped_entries(package: str) -> dict[str, dict[str, Any]] | None:
    """The descriptions ``package`` ships in :data:`SHIPPED`, or ``None``."""
    for root in _package_roots(package):
        found = _read_entries(root / SHIPPED, None)
        if found is not None:
            return found
    return None


def _entries(package: str) -> dict[str, dict[str, Any]]:
    """The descriptions of a package: the valid user cache, else the shipped ones, else none."""
    if package in _memo:
        return _memo[package][1]
    fp = fingerprint(package)
    cached = _file(package)
    private = problem(cached.parent, folder=True) is None and problem(cached, folder=False) is None
    entries = _read_entries(cached, fp) if private else None
    if entries is None:
        entries = shipped_entries(package) or {}
    _memo[package] = (fp, entries)
    return entries


def _save(package: str) -> None:
    from lle_core.files import atomic_write  # local: only needed on a cache miss

    fp, entries = _memo[package]
    payload = {"format": FORMAT, "fingerprint": fp, "entries": entries}
    try:
        private_folder("")
        atomic_write(_file(package), json.dumps(payload, indent=1, sort_keys=True).encode(),
                     mode=0o600)
    except (OSError, UnsafeCacheError):
        pass  # a read-only or shared cache only costs the imports next time


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


def confirm(path: str, found: Description) -> None:
    """Replace the cached description of ``path`` when it disagrees with ``found`` (its class's).

    Called when a lazily registered class is imported and described (the authority), so a
    stale or forged cache entry shows in ``lle list`` at most until the class is next used.
    """
    stored = _to_json(found)
    if stored is None:
        return
    package = path.split(":", 1)[0].split(".", 1)[0]
    with _lock:
        entries = _entries(package)
        if entries.get(path) != stored:
            entries[path] = stored
            _save(package)


def describe_for_shipping(paths: list[str]) -> dict[str, dict[str, Any]]:
    """Fresh descriptions of the classes at ``paths`` (imports them), as stored in a manifest."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(paths):
        stored = _to_json(describe(import_path(path)))
        if stored is not None:
            out[path] = stored
    return out


def write_shipped(package: str, paths: list[str]) -> Path:
    """Write ``<package>/components.json`` with the descriptions of ``paths`` (its classes)."""
    from lle_core.files import atomic_write

    roots = _package_roots(package)
    if not roots:
        raise ValueError(f"package {package!r} is not importable")
    payload = {"format": FORMAT, "entries": describe_for_shipping(paths)}
    return atomic_write(roots[0] / SHIPPED,
                        (json.dumps(payload, indent=1, sort_keys=True) + "\n").encode())


def forget() -> None:
    """Drop what this process read (tests that edit sources or change ``LLE_CACHE_DIR``)."""
    with _lock:
        _memo.clear()

