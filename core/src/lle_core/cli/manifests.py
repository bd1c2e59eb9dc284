"""``make manifests``: write each package's shipped component descriptions (components.json).

Run ``python -m lle_core.cli.manifests [PACKAGE ...]`` after changing a component's parameters,
summary, paper or capabilities (``tests/test_shipped_manifests.py`` fails until then). It sits
in the top layer because it reads the filled registry (:mod:`lle_core.registry`) and writes
through :mod:`lle_core.manifest`, which sits below the registry.
"""

from __future__ import annotations

import sys

from lle_core.manifest import write_shipped
from lle_core.registry import registries


def registered_paths() -> dict[str, list[str]]:
    """The ``"module:Class"`` factories of every registered component, per top-level package."""
    found: dict[str, list[str]] = {}
    regs = registries()
    for kind in regs:
        for entry in regs[kind].entries():
            if isinstance(entry.factory, str):
                found.setdefault(entry.factory.split(".", 1)[0].split(":", 1)[0], []).append(
                    entry.factory)
    return {package: sorted(set(paths)) for package, paths in found.items()}


def main(packages: list[str]) -> None:
    """Write ``components.json`` of ``packages`` (all registered packages when empty)."""
    for name, factories in sorted(registered_paths().items()):
        if not packages or name in packages:
            print(f"wrote {write_shipped(name, factories)}")


if __name__ == "__main__":
    main(sys.argv[1:])
