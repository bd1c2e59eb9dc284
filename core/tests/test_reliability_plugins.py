"""Hostile plugins: import errors, sys.exit, self-raised interrupts, duplicate ids (a second
distribution declaring ``neid = ...`` or ``core = ...``), foreign prefixes and slow imports.

Each test installs *fake distributions* (a ``*.dist-info`` folder with ``entry_points.txt``
next to their modules) on ``sys.path``, so that plugin discovery goes through
``importlib.metadata`` exactly as for installed packages, then reloads the plugins.
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lle_core import create, registries
from lle_core import plugins as plugin_mod
from lle_core.cli.main import main
from lle_core.errors import ComponentNotFoundError

REGISTER_OK = """
from lle_core.hookspecs import hookimpl
LLE_PLUGIN_API = 1

@hookimpl
def lle_register(register):
    register("fusion", "{name}", lambda channels: None, summary="from {dist}")
"""


def fake_distribution(
    root: Path, dist: str, entry_points: dict[str, str], modules: dict[str, str]
) -> None:
    """Write an installed-looking distribution ``dist`` (version 6.6.6) under ``root``."""
    info = root / f"{dist.replace('-', '_')}-6.6.6.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 6.6.6\n")
    lines = "".join(f"{k} = {v}\n" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{plugin_mod.GROUP}]\n{lines}")
    for name, code in modules.items():
        (root / f"{name}.py").write_text(textwrap.dedent(code))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path for fake distributions; the real plugins are reloaded after."""
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    try:
        yield tmp_path
    finally:
        monkeypatch.undo()
        for name in [m for m in sys.modules if m.startswith("hostile_")]:
            del sys.modules[name]
        importlib.invalidate_caches()
        plugin_mod.reload_plugins()


def _records() -> dict[str, plugin_mod.PluginRecord]:
    return {r.id: r for r in plugin_mod.plugin_records()}


def test_second_distribution_claiming_neid_loads_neither(site: Path):
    fake_distribution(site, "evil-neid", {"neid": "hostile_neid"},
                      {"hostile_neid": REGISTER_OK.format(name="channel_ff", dist="evil")})
    plugin_mod.reload_plugins()
    record = _records()["neid"]
    assert record.status == "failed"
    assert "lle-neid" in (record.error or "") and "evil-neid" in (record.error or "")
    assert "hostile_neid" not in sys.modules  # the impostor's code never ran
    assert not [n for n in registries()["fusion"].names() if n.startswith("neid.")]
    with pytest.raises(ComponentNotFoundError, match="claimed by 2 distributions"):
        create("model", "neid.model")
    assert "core.add" in registries()["fusion"]  # everything else works


def test_distribution_claiming_core_is_refused_and_core_stays(site: Path, capsys):
    fake_distribution(site, "evil-core", {"core": "hostile_core"},
                      {"hostile_core": REGISTER_OK.format(name="add", dist="evil")})
    plugin_mod.reload_plugins()
    records = _records()
    assert records["core"].status == "loaded" and records["core"].distribution == "lle-core"
    impostor = records["core!evil-core"]
    assert impostor.status == "failed" and "reserved for lle-core" in (impostor.error or "")
    assert "hostile_core" not in sys.modules
    entry = registries()["fusion"].get("core.add")
    assert entry.distribution == "lle-core"
    assert main(["plugins"]) == 1  # a failed plugin makes `lle plugins` fail (scriptable)
    assert "evil-core" in capsys.readouterr().out


def test_sys_exit_at_import_is_contained(site: Path, capsys):
    fake_distribution(site, "lle-quitter", {"quitter": "hostile_quit"},
                      {"hostile_quit": "import sys\nsys.exit(3)\n"})
    plugin_mod.reload_plugins()
    record = _records()["quitter"]
    assert record.status == "failed" and "sys.exit(3)" in (record.error or "")
    assert main(["list", "fusion", "core.*"]) == 0  # every other command still works
    assert "core.add" in capsys.readouterr().out


def test_sys_exit_and_self_raised_interrupt_inside_the_hook_are_contained(site: Path):
    hook = """
    from lle_core.hookspecs import hookimpl
    LLE_PLUGIN_API = 1

    @hookimpl
    def lle_register(register):
        register("fusion", "first", lambda channels: None)
        raise {exc}
    """
    fake_distribution(site, "lle-hx", {"hx": "hostile_hx"},
                      {"hostile_hx": hook.format(exc="SystemExit('bye')")})
    fake_distribution(site, "lle-hk", {"hk": "hostile_hk"},
                      {"hostile_hk": hook.format(exc="KeyboardInterrupt")})
    plugin_mod.reload_plugins()
    records = _records()
    assert records["hx"].status == "failed" and "sys.exit('bye')" in (records["hx"].error or "")
    assert records["hk"].status == "failed" and "no Ctrl-C" in (records["hk"].error or "")
    assert "hx.first" not in registries()["fusion"]  # partial registrations rolled back
    assert "hk.first" not in registries()["fusion"]


def test_import_error_and_foreign_prefix_fail_that_plugin_only(site: Path):
    squat = """
    from lle_core.hookspecs import hookimpl
    LLE_PLUGIN_API = 1

    @hookimpl
    def lle_register(register):
        register("fusion", "core.add", lambda channels: None)
    """
    fake_distribution(site, "lle-broken", {"broken": "hostile_broken"},
                      {"hostile_broken": "import hostile_does_not_exist\n"})
    fake_distribution(site, "lle-squat", {"squat": "hostile_squat"}, {"hostile_squat": squat})
    plugin_mod.reload_plugins()
    records = _records()
    assert "No module named 'hostile_does_not_exist'" in (records["broken"].error or "")
    assert "only register names under 'squat.'" in (records["squat"].error or "")
    assert registries()["fusion"].get("core.add").distribution == "lle-core"
    assert records["neid"].status == "loaded"


def test_unknown_plugin_never_suggests_a_guessed_package():
    with pytest.raises(ComponentNotFoundError) as info:
        create("model", "lle_nobody_ships_this.model")
    assert "pip install" not in str(info.value)


def test_slow_import_makes_other_threads_wait_for_a_full_registry(site: Path):
    gate = """
    import threading
    entered = threading.Event()
    release = threading.Event()
    """
    slow = textwrap.dedent("""
    import hostile_gate
    hostile_gate.entered.set()
    hostile_gate.release.wait(60)
    """) + REGISTER_OK.format(name="late", dist="slow")
    fake_distribution(site, "lle-slow", {"slow": "hostile_slow"},
                      {"hostile_gate": gate, "hostile_slow": slow})
    import hostile_gate  # type: ignore[import-not-found]

    with plugin_mod._lock:  # forget everything without loading again (reload_plugins' start)
        for rid in list(plugin_mod._records):
            plugin_mod.unregister_plugin(rid)
        for kind in registries():
            registries()[kind]._entries.clear()
        plugin_mod._state["loaded"] = False
    seen: dict[str, bool] = {}

    def lookup() -> None:  # a second thread asking while the slow import runs
        seen["late"] = "slow.late" in registries()["fusion"].names()
        seen["neid"] = "neid.model" in registries()["model"].names()

    loader = threading.Thread(target=plugin_mod.ensure_loaded)
    loader.start()
    assert hostile_gate.entered.wait(60), plugin_mod._records.get("slow")
    other = threading.Thread(target=lookup)
    other.start()
    other.join(0.2)  # with a lock it is still blocked here; the result does not depend on it
    hostile_gate.release.set()
    loader.join()
    other.join()
    assert seen == {"late": True, "neid": True}


def test_real_ctrl_c_during_a_plugin_import_still_stops_lle(tmp_path: Path):
    stop = """
    import os, signal, time
    os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C while this imports
    for _ in range(1000):
        time.sleep(0.01)
    """
    fake_distribution(tmp_path, "lle-stop", {"stop": "hostile_stop"}, {"hostile_stop": stop})
    code = "from lle_core import plugins; plugins.plugin_records(); print('not stopped')"
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    # a shell's background job ignores SIGINT and children inherit that: restore the default
    # so that the child's Python installs its Ctrl-C handler whatever started pytest
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120, check=False,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert "not stopped" not in proc.stdout
    assert "KeyboardInterrupt" in proc.stderr


# -- issue 24 item 3: a plugin cannot harm the others or the command ------------------------

PRINTS = """
print("hello from a chatty plugin")
from lle_core.hookspecs import hookimpl
LLE_PLUGIN_API = 1

@hookimpl
def lle_register(register):
    print("registering, chatty")
    register("fusion", "add", lambda channels: None, summary="chatty fusion")
"""


def test_a_plugin_printing_at_import_cannot_corrupt_stdout(site: Path, capsys):
    """64ec01f: the plugin's lines landed in the TSV of lle plugins / lle list."""
    fake_distribution(site, "lle-chatty", {"chatty": "hostile_chatty"},
                      {"hostile_chatty": PRINTS})
    plugin_mod.reload_plugins()  # the prints happen while plugins load: they go to stderr
    out, err = capsys.readouterr()
    assert "chatty plugin" in err and "registering" in err
    assert "chatty plugin" not in out and "registering" not in out
    for command, columns in ((["plugins"], 6), (["list"], 5)):
        plugin_mod.reload_plugins()
        main(command)
        out, err = capsys.readouterr()
        assert "registering" in err and "registering" not in out
        lines = out.splitlines()
        assert lines and all(len(line.split("\t")) == columns for line in lines), out


MALFORMED = """
from lle_core.hookspecs import hookimpl
LLE_PLUGIN_API = 1

class NotParams:
    pass

class Broken:
    Params = NotParams  # not a pydantic model

@hookimpl
def lle_register(register):
    register("model", "gone", "hostile_nowhere:Missing")  # a module that does not exist
    register("model", "broken", "hostile_malformed:Broken")
"""


def test_a_malformed_component_is_left_out_and_named_everything_else_lists(site: Path, capsys,
                                                                          tmp_path: Path):
    """64ec01f: lle list failed for every plugin while lle plugins said it loaded."""
    fake_distribution(site, "lle-malformed", {"malformed": "hostile_malformed"},
                      {"hostile_malformed": MALFORMED})
    plugin_mod.reload_plugins()
    capsys.readouterr()
    code = main(["list"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "core.gamma" in out and "neid.model" in out  # the others are all listed
    assert "malformed.gone" not in out and "malformed.broken" not in out
    assert err.count("error:") == 2 and "plugin malformed (lle-malformed 6.6.6)" in err
    assert "hostile_nowhere" in err
    from PIL import Image

    Image.new("RGB", (8, 6), (20, 30, 40)).save(tmp_path / "a.png")
    assert main(["enhance", str(tmp_path / "a.png"), "-o", str(tmp_path / "b.png"),
                 "--model", "core.gamma"]) == 0  # and everything else runs


def _lle(
    tmp_path: Path, *argv: str, timeout: float = 90, **env: str
) -> subprocess.CompletedProcess:
    """``lle ARGV`` as a user runs it (a new process), with ``tmp_path`` on the import path."""
    environ = {**os.environ, **env,
               "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    try:
        return subprocess.run([sys.executable, "-m", "lle_core.cli.main", *argv],
                              capture_output=True, text=True, env=environ, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"lle {' '.join(argv)} did not end within {timeout} s")


def test_a_plugin_import_that_never_ends_is_named_and_stops_lle(tmp_path: Path):
    """64ec01f: lle plugins / lle list hung without a message."""
    loop = "while True:\n    pass\n"
    fake_distribution(tmp_path, "lle-loop", {"loop": "hostile_loop"}, {"hostile_loop": loop})
    for command in ("plugins", "list"):
        proc = _lle(tmp_path, command, LLE_PLUGIN_IMPORT_TIMEOUT="3")
        assert proc.returncode == 1
        assert "'loop' (lle-loop)" in proc.stderr and "3 s" in proc.stderr
    proc = _lle(tmp_path, "plugins", LLE_PLUGIN_IMPORT_TIMEOUT="soon")
    assert proc.returncode == 1 and "LLE_PLUGIN_IMPORT_TIMEOUT" in proc.stderr


STICKY = """
import atexit, os, threading, time
{line}
from lle_core.hookspecs import hookimpl
LLE_PLUGIN_API = 1

@hookimpl
def lle_register(register):
    register("fusion", "x", lambda channels: None, summary="sticky")
"""


def test_lle_ends_when_its_work_is_done_though_a_plugin_thread_runs(tmp_path: Path):
    """64ec01f: a plugin's non-daemon thread kept lle enhance alive after its image."""
    from PIL import Image

    line = 'threading.Thread(target=time.sleep, args=(10_000,), name="plugin-forever").start()'
    fake_distribution(tmp_path, "lle-sticky", {"sticky": "hostile_sticky"},
                      {"hostile_sticky": STICKY.format(line=line)})
    Image.new("RGB", (8, 6), (20, 30, 40)).save(tmp_path / "a.png")
    proc = _lle(tmp_path, "enhance", str(tmp_path / "a.png"), "-o", str(tmp_path / "b.png"),
                "--model", "core.gamma", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "b.png").is_file()


def test_a_plugin_atexit_handler_cannot_turn_a_failure_into_success(tmp_path: Path):
    """64ec01f: atexit.register(os._exit, 0) in a plugin made a failed lle enhance exit 0."""
    fake_distribution(tmp_path, "lle-sticky", {"sticky": "hostile_sticky"},
                      {"hostile_sticky": STICKY.format(line="atexit.register(os._exit, 0)")})
    (tmp_path / "bad.png").write_bytes(b"not an image")  # fails after the plugins loaded
    proc = _lle(tmp_path, "enhance", str(tmp_path / "bad.png"), "-o",
                str(tmp_path / "c.png"), "--model", "core.gamma", timeout=120)
    assert proc.returncode == 1 and "bad.png" in proc.stderr


def test_model_named_by_a_plugin_id_claimed_twice_says_why(site: Path, tmp_path: Path, capsys):
    """64ec01f: ``--model neid`` with two distributions claiming ``neid`` said only "no model
    named"; the message names the conflict."""
    from PIL import Image

    fake_distribution(site, "evil-neid", {"neid": "hostile_neid"},
                      {"hostile_neid": REGISTER_OK.format(name="channel_ff", dist="evil")})
    plugin_mod.reload_plugins()
    Image.new("RGB", (16, 12), (20, 30, 40)).save(tmp_path / "a.png")
    capsys.readouterr()
    code = main(["enhance", str(tmp_path / "a.png"), "-o", str(tmp_path / "b.png"),
                 "--model", "neid"])
    text = "".join(capsys.readouterr())
    assert code == 1 and "claimed by 2 distributions" in text and "evil-neid" in text
    assert not (tmp_path / "b.png").exists()
