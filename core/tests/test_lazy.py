"""lle_core.lazy: one __getattr__/__dir__ helper for the packages' lazy names."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from lle_core.lazy import lazy_exports


def make_module(name: str, mapping: dict[str, str]) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__getattr__, module.__dir__ = lazy_exports(name, mapping)
    sys.modules[name] = module
    return module


def test_resolves_module_attr_and_bare_module_targets_and_caches():
    module = make_module("lle_lazy_probe", {"dumps": "json:dumps", "JSONDecoder": "json.decoder"})
    try:
        import json
        import json.decoder

        assert module.dumps is json.dumps
        assert module.JSONDecoder is json.decoder.JSONDecoder
        assert vars(module)["dumps"] is json.dumps  # cached after the first access
        assert {"dumps", "JSONDecoder"} <= set(dir(module))
    finally:
        del sys.modules["lle_lazy_probe"]


def test_unknown_name_raises_attribute_error_naming_the_module():
    module = make_module("lle_lazy_probe2", {"dumps": "json:dumps"})
    try:
        with pytest.raises(AttributeError, match=r"lle_lazy_probe2.*missing"):
            module.missing  # noqa: B018
        assert not hasattr(module, "other")
    finally:
        del sys.modules["lle_lazy_probe2"]


def test_import_lle_core_stays_free_of_torch():
    code = "import sys, lle_core, lle_core.engine; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "False"
