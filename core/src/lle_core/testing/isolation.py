"""Isolation: a plugin needs lle-core only (checked in fresh subprocesses).

:func:`check_isolation` replaces each plugin's hand-written ``test_isolation.py``::

    # tests/test_isolation.py
    from lle_core.testing import check_isolation

    def test_isolation():
        check_isolation("myplugin")

It checks, each in a fresh interpreter:

1. importing every module of the plugin's package imports no other plugin's package;
2. with ``LLE_PLUGINS=<plugin>`` only core and the plugin are registered, and every model the
   plugin registers builds from its kit example and enhances an odd-sized ``21×17`` image into
   a ``[0, 1]`` output of the declared size (``lle_core.enhance``), still without importing
   another plugin.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib import metadata
from typing import Any

from lle_core.plugins import CORE_ID, GROUP

_IMPORT_ALL = """
import importlib, json, pkgutil, sys
package = importlib.import_module(PACKAGE)
names = [m.name for m in pkgutil.walk_packages(package.__path__, PACKAGE + ".")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"modules": names, "loaded": sorted({m.split(".")[0] for m in sys.modules})}))
"""

_ALONE = """
import json, sys
import torch
import lle_core
from lle_core import create, list_components
from lle_core.registry import registries
plugins = sorted({e.plugin for e in list_components()})
shapes = {}
for entry in registries()["model"].entries():
    if entry.plugin != PLUGIN:
        continue
    spec = {"type": entry.name, **(entry.example or {})}
    model = create("model", spec)
    out = lle_core.enhance(model, torch.rand(3, 21, 17) * 0.3)
    shapes[entry.name] = [list(out.shape), float(out.min()), float(out.max()),
                          entry.capabilities.scale]
print(json.dumps({"plugins": plugins, "models": shapes,
                  "loaded": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def _run(code: str, **env: str) -> dict[str, Any]:
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", **env}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
        env=full_env, timeout=600, check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"[isolation] subprocess failed:\n{proc.stderr[-4000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def plugin_packages() -> dict[str, str]:
    """Plugin id -> top-level package of every installed plugin (core excluded)."""
    found: dict[str, str] = {}
    for ep in metadata.entry_points(group=GROUP):
        if ep.name != CORE_ID:
            found[ep.name] = ep.value.split(":")[0].split(".")[0]
    return found


def check_isolation(plugin: str, *, package: str | None = None) -> None:
    """Assert that ``plugin`` imports no other plugin and works with only core loaded.

    Args:
        plugin: The plugin id (its entry-point name, e.g. ``"dln"``).
        package: Its top-level package (default: read from the entry point).

    Raises:
        AssertionError: ``[isolation]`` with what went wrong (another plugin's package
            imported, other plugins registered, a model that fails to build or to enhance).
    """
    packages = plugin_packages()
    package = package or packages.get(plugin)
    if package is None:
        raise AssertionError(f"[isolation] plugin {plugin!r} is not installed ({GROUP})")
    others = sorted(p for name, p in packages.items() if name != plugin and p != package)
    imported = _run(_IMPORT_ALL.replace("PACKAGE", repr(package)))
    leaked = [m for m in imported["loaded"] if m in others]
    if leaked:
        raise AssertionError(f"[isolation] importing {package} imports other plugins: {leaked}")
    alone = _run(_ALONE.replace("PLUGIN", repr(plugin)), LLE_PLUGINS=plugin)
    if alone["plugins"] != sorted({"core", plugin}):
        raise AssertionError(
            f"[isolation] with LLE_PLUGINS={plugin} the registry holds {alone['plugins']}"
        )
    leaked = [m for m in alone["loaded"] if m in others]
    if leaked:
        raise AssertionError(f"[isolation] using {plugin} alone imports other plugins: {leaked}")
    for name, (shape, lo, hi, scale) in alone["models"].items():
        if shape[-2:] != [21 * scale, 17 * scale] or not 0.0 <= lo <= hi <= 1.0:
            raise AssertionError(
                f"[isolation] {name} enhanced a 21x17 image into {shape} with range "
                f"[{lo:.3g}, {hi:.3g}] (expected {[21 * scale, 17 * scale]}, within [0, 1])"
            )
