"""Registry and plugin-loading semantics."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib import metadata
from typing import Literal

import pytest
from pydantic import Field

from lle_core import (
    AmbiguousNameError,
    ComponentNotFoundError,
    ConfigError,
    DuplicateComponentError,
    Params,
    SpecOf,
    create,
    list_components,
    parse_spec,
    registries,
)
from lle_core import plugins as plugin_mod
from lle_core.hookspecs import hookimpl
from lle_core.plugins import register_plugin, temporary_plugin
from lle_core.registry import Entry, Registry


class WidthParams(Params):
    width: int = Field(4, ge=1)
    fusion: SpecOf("fusion") = "core.add"  # type: ignore[valid-type]


class OpParams(Params):
    op: Literal["x", "y"] = "x"


def make_thing(*, width: int, fusion):
    return {"width": width, "fusion": fusion.build(channels=width)}


class GoodPlugin:
    LLE_PLUGIN_API = 1

    def __init__(self, names: tuple[str, ...] = ("thing",)) -> None:
        self.names = names

    @hookimpl
    def lle_register(self, register):
        for n in self.names:
            register("block", n, make_thing, params=WidthParams, summary="a thing")
        register("fusion", "opfuse", lambda op, channels: (op, channels), params=OpParams)


class RaisingPlugin:
    LLE_PLUGIN_API = 1

    @hookimpl
    def lle_register(self, register):
        register("block", "first", make_thing, params=WidthParams)
        raise RuntimeError("boom inside the hook")


def test_core_registers_through_the_hook_path() -> None:
    records = {r.id: r for r in plugin_mod.plugin_records()}
    assert records["core"].status == "loaded"
    assert "fusion:core.add" in records["core"].components
    assert registries()["fusion"].get("core.add").distribution == "lle-core"


def test_loading_is_idempotent() -> None:
    before = registries()["fusion"].names()
    plugin_mod.ensure_loaded()
    plugin_mod.ensure_loaded()
    assert registries()["fusion"].names() == before


def test_short_and_canonical_names_and_nested_specs() -> None:
    with temporary_plugin(GoodPlugin(), plugin_id="tp1") as rec:
        assert rec.status == "loaded", rec.error
        assert registries()["block"].resolve("thing") == "tp1.thing"
        built = create("block", "thing", width=6)
        assert built["width"] == 6
        assert type(built["fusion"]).__name__ == "AddFusion"
        built = create("block", {"type": "tp1.thing", "fusion": {"type": "tp1.opfuse", "op": "y"}})
        assert built["fusion"] == ("y", 4)
        assert {e.name for e in list_components("block", "tp1.*")} == {"tp1.thing"}
    assert "tp1.thing" not in registries()["block"]


def test_unknown_key_is_rejected_with_its_path_before_construction() -> None:
    calls = []

    class Recorder(GoodPlugin):
        @hookimpl
        def lle_register(self, register):
            register("block", "rec", lambda **kw: calls.append(kw), params=WidthParams)
            register("fusion", "opfuse", lambda op, channels: (op, channels), params=OpParams)

    with temporary_plugin(Recorder(), plugin_id="tp2"):
        with pytest.raises(ConfigError) as err:
            create("block", {"type": "rec", "fusion": {"type": "tp2.opfuse", "gate": 1}})
        assert "fusion.gate: unknown key" in str(err.value)
        with pytest.raises(ConfigError) as err:
            create("block", {"type": "rec", "fusion": {"type": "tp2.opfuse", "op": "z"}})
        assert "fusion.op" in str(err.value)
        with pytest.raises(ConfigError) as err:
            create("block", {"type": "rec", "width": 0})
        assert "width" in str(err.value)
        assert calls == []  # nothing was constructed


def test_ambiguous_short_name_lists_candidates() -> None:
    with (
        temporary_plugin(GoodPlugin(), plugin_id="tpa"),
        temporary_plugin(GoodPlugin(), plugin_id="tpb"),
    ):
        with pytest.raises(AmbiguousNameError) as err:
            registries()["block"].resolve("thing")
        assert isinstance(err.value, KeyError)
        assert "tpa.thing" in str(err.value) and "tpb.thing" in str(err.value)
        assert create("block", "tpa.thing")["width"] == 4


def test_unknown_name_suggests_and_names_the_missing_package() -> None:
    with pytest.raises(ComponentNotFoundError) as err:
        create("fusion", "core.ad")
    assert "core.add" in str(err.value)
    with pytest.raises(KeyError) as err2:
        parse_spec("fusion", "zzplugin.fancy")
    # an unknown prefix never suggests a guessed package name (anyone could register it)
    assert "pip install" not in str(err2.value)
    assert "No installed plugin provides 'zzplugin'" in str(err2.value)
    assert "lle-core" not in str(err2.value)


def test_a_plugin_declared_by_an_installed_one_gives_its_distribution(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """An installed plugin names the distribution of a plugin it uses (an extra by its id)."""
    import importlib

    from lle_core.plugins import GROUP, declared_sources

    info = tmp_path / "lle_user-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: lle-user\nVersion: 1.0\n"
        "Requires-Dist: lle-fake-distribution>=0.1; extra == 'plugin-fakeplug'\n"
        "Requires-Dist: scikit-image; extra == 'demo'\n"
    )
    (info / "entry_points.txt").write_text(f"[{GROUP}]\nuser = lle_user.hooks\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    assert declared_sources()["fakeplug"] == "lle-fake-distribution"
    assert "demo" not in declared_sources()  # only extras named plugin-<id> name a plugin
    with pytest.raises(ComponentNotFoundError) as err:
        registries()["fusion"].get("fakeplug.channel_ff")
    assert err.value.install_hint == "lle-fake-distribution"
    assert "pip install lle-fake-distribution" in str(err.value)


def test_disabled_plugin_is_reported_as_disabled() -> None:
    proc = _run_python(
        """
        import lle_core
        try:
            lle_core.create("fusion", "neid.channel_ff", runtime={"channels": 8})
        except KeyError as err:
            print(err)
        """,
        LLE_PLUGINS="hf2",
    )
    assert proc.returncode == 0, proc.stderr
    assert "disabled" in proc.stdout and "neid" in proc.stdout, proc.stdout


def test_duplicate_canonical_name_names_both_origins() -> None:
    reg = Registry("block")
    first = Entry(
        kind="block",
        name="p.x",
        factory=make_thing,
        plugin="p",
        distribution="lle-p",
        version="1.0",
    )
    reg.add(first)
    with pytest.raises(DuplicateComponentError) as err:
        reg.add(
            Entry(
                kind="block",
                name="p.x",
                factory=make_thing,
                plugin="q",
                distribution="lle-q",
                version="2.0",
            )
        )
    assert "lle-p 1.0" in str(err.value) and "lle-q 2.0" in str(err.value)


def test_broken_hook_is_recorded_and_rolled_back() -> None:
    record = register_plugin(RaisingPlugin(), plugin_id="tpbroken")
    try:
        assert record.status == "failed"
        assert "boom inside the hook" in (record.error or "")
        assert "tpbroken.first" not in registries()["block"]
        assert "tpbroken" in plugin_mod.load_errors()
        with pytest.raises(ComponentNotFoundError) as err:
            registries()["block"].get("tpbroken.first")
        assert "failed to load" in str(err.value)
        assert create("fusion", "core.mul", runtime={"channels": 2}) is not None
    finally:
        plugin_mod.unregister_plugin("tpbroken")


def test_wrong_api_version_is_refused() -> None:
    class Old(GoodPlugin):
        LLE_PLUGIN_API = 0

    record = register_plugin(Old(), plugin_id="tpold")
    try:
        assert record.status == "failed"
        assert "plugin API" in (record.error or "")
        assert "tpold.thing" not in registries()["block"]
    finally:
        plugin_mod.unregister_plugin("tpold")


def test_plugin_duplicate_inside_registry_fails_that_plugin_only() -> None:
    class Dup:
        LLE_PLUGIN_API = 1

        @hookimpl
        def lle_register(self, register):
            register("block", "same", make_thing, params=WidthParams)
            register("block", "same", make_thing, params=WidthParams)

    record = register_plugin(Dup(), plugin_id="tpdup")
    try:
        assert record.status == "failed"
        assert "registered twice" in (record.error or "")
        assert "tpdup.same" not in registries()["block"]
    finally:
        plugin_mod.unregister_plugin("tpdup")


def test_foreign_prefix_is_refused() -> None:
    class Squatter:
        LLE_PLUGIN_API = 1

        @hookimpl
        def lle_register(self, register):
            register("fusion", "core.add2", make_thing)

    record = register_plugin(Squatter(), plugin_id="tpsq")
    try:
        assert record.status == "failed" and "only register names under 'tpsq.'" in record.error
    finally:
        plugin_mod.unregister_plugin("tpsq")


def test_temporary_registry_does_not_leak() -> None:
    reg = registries()["block"]
    with reg.temporary():
        reg.add(Entry(kind="block", name="tmp.thing", factory=make_thing))
        assert "tmp.thing" in reg
    assert "tmp.thing" not in reg


def test_broken_entry_point_plugin_is_isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plugin whose module raises on import is recorded; the others keep working."""
    good = metadata.EntryPoint(name="core", value="lle_core.builtins", group=plugin_mod.GROUP)
    bad = metadata.EntryPoint(
        name="tpimport", value="lle_core_no_such_module.hooks", group=plugin_mod.GROUP
    )
    monkeypatch.setattr(plugin_mod, "_entry_points", lambda: [good, bad])
    try:
        plugin_mod.reload_plugins()
        errors = plugin_mod.load_errors()
        assert "tpimport" in errors
        assert "No module named" in errors["tpimport"].error
        assert "core.add" in registries()["fusion"]
    finally:
        monkeypatch.undo()
        plugin_mod.reload_plugins()


def _run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )


def test_env_disables_autoload_but_keeps_core() -> None:
    proc = _run_python(
        """
        from lle_core import plugins
        ids = {r.id: r.status for r in plugins.plugin_records()}
        assert ids["core"] == "loaded", ids
        assert all(s == "disabled" for k, s in ids.items() if k != "core"), ids
        print("ok")
        """,
        LLE_DISABLE_PLUGIN_AUTOLOAD="1",
    )
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stdout


def test_env_allow_list() -> None:
    proc = _run_python(
        """
        from lle_core import plugins
        loaded = plugins.loaded_plugin_ids()
        assert loaded == {"core"}, loaded
        print("ok")
        """,
        LLE_PLUGINS="nothing_by_this_name",
    )
    assert proc.returncode == 0, proc.stderr


def test_cli_plugins_and_list_run() -> None:
    from lle_core.cli.main import main

    assert main(["plugins"]) == 0
    assert main(["list", "fusion", "core.*"]) == 0
    assert main(["list", "fusion", "zz-nothing-*"]) == 1


def test_spec_fields_lists_nested_specs() -> None:
    from lle_core.spec import spec_fields

    assert spec_fields(WidthParams) == {"fusion": "fusion"}
    assert spec_fields(OpParams) == {}


def test_fusion_below_min_channels_is_refused_clearly() -> None:
    from lle_core import ShapeError

    class Wide:
        LLE_PLUGIN_API = 1

        @hookimpl
        def lle_register(self, register):
            register("fusion", "wide", lambda channels: channels, capabilities={"min_channels": 16})

    with temporary_plugin(Wide(), plugin_id="tpwide"):
        assert create("fusion", "tpwide.wide", runtime={"channels": 16}) == 16
        with pytest.raises(ShapeError, match="at least 16 channels"):
            create("fusion", "tpwide.wide", runtime={"channels": 8})
