"""lle_core.lazy: one __getattr__/__dir__ helper for the packages' lazy names."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from lle_core.lazy import lazy_exports


def make_module(name: str, exports: dict[str, tuple[str, ...]]) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__getattr__, module.__dir__, module.names = lazy_exports(name, exports)
    sys.modules[name] = module
    return module


def test_resolves_names_from_their_modules_and_caches():
    module = make_module("lle_lazy_probe", {"json": ("dumps", "loads"),
                                            "json.decoder": ("JSONDecoder",)})
    try:
        import json
        import json.decoder

        assert module.names == ["dumps", "loads", "JSONDecoder"]
        assert module.dumps is json.dumps
        assert module.JSONDecoder is json.decoder.JSONDecoder
        assert vars(module)["dumps"] is json.dumps  # cached after the first access
        assert "loads" not in vars(module)  # not imported before it is asked for
        assert {"dumps", "loads", "JSONDecoder"} <= set(dir(module))
    finally:
        del sys.modules["lle_lazy_probe"]


def test_a_name_under_two_modules_is_refused():
    with pytest.raises(ValueError, match="dumps"):
        lazy_exports("lle_lazy_probe3", {"json": ("dumps",), "pickle": ("dumps",)})


def test_unknown_name_raises_attribute_error_naming_the_module():
    module = make_module("lle_lazy_probe2", {"json": ("dumps",)})
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
