"""Shipped component descriptions (<package>/components.json): current, used, and optional."""

from __future__ import annotations

import json

import pytest

from lle_core import manifest
from lle_core.cli.manifests import registered_paths
from lle_core.registry import registries


@pytest.mark.parametrize("package", sorted(registered_paths()))
def test_each_package_ships_the_descriptions_its_classes_give(package):
    shipped = manifest.shipped_entries(package)
    assert shipped is not None, f"{package} ships no {manifest.SHIPPED}: run `make manifests`"
    fresh = manifest.describe_for_shipping(registered_paths()[package])
    assert shipped == fresh, f"{package}/{manifest.SHIPPED} is stale: run `make manifests`"


def test_a_package_without_shipped_descriptions_uses_and_fills_the_user_cache(tmp_path,
                                                                               monkeypatch):
    monkeypatch.setenv("LLE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(manifest, "SHIPPED", "no-such-file.json")
    manifest.forget()
    try:
        path = registered_paths()["lle_auxnet"][0]
        first = manifest.describe_path(path)
        data = json.loads((tmp_path / "components-lle_auxnet.json").read_text())
        assert path in data["entries"] and data["fingerprint"] == manifest.fingerprint("lle_auxnet")
        manifest.forget()
        assert manifest.describe_path(path).summary == first.summary
    finally:
        manifest.forget()


def test_registry_descriptions_agree_with_the_shipped_files():
    regs = registries()
    for kind in regs:
        for entry in regs[kind].entries():
            if not isinstance(entry.factory, str):
                continue
            package = entry.factory.split(".", 1)[0].split(":", 1)[0]
            item = (manifest.shipped_entries(package) or {}).get(entry.factory)
            assert item is not None, entry.factory
            assert item["summary"] == manifest.describe_for_shipping([entry.factory])[
                entry.factory]["summary"]
