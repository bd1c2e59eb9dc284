"""lle_core.native: compile once per machine, cache atomically, fall back with a reason."""

from __future__ import annotations

import ctypes
import subprocess
import sys
import textwrap

import pytest

from lle_core import native

SOURCE = "int lle_add(int a, int b) { return a + b + OFFSET; }\n"


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv(native.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(native.NATIVE_ENV, raising=False)
    native.forget_kernels()
    yield tmp_path / "cache" / "kernels"
    native.forget_kernels()


def _source(tmp_path, offset: int = 0, body: str = SOURCE):
    path = tmp_path / f"k{offset}.c"
    path.write_text(f"#define OFFSET {offset}\n{body}")
    return path


def _libraries(folder):
    """Library files in the kernel cache (each has a ``.sha256`` record next to it)."""
    found = sorted(p for p in folder.iterdir() if not p.name.endswith(native.RECORD_SUFFIX))
    assert sorted(p.name for p in folder.iterdir() if p not in found) == sorted(
        p.name + native.RECORD_SUFFIX for p in found)
    return found


def _require_compiler() -> None:
    if native.find_compiler() is None:  # test_switched_off_or_no_compiler covers this machine
        pytest.skip("no C compiler on this machine: nothing to compile")


def test_compiles_loads_and_calls(tmp_path, _cache):
    _require_compiler()
    lib = native.load_kernel("adder", _source(tmp_path, 5))
    assert lib is not None, native.kernel_problem("adder")
    lib.lle_add.restype = ctypes.c_int
    assert lib.lle_add(2, 3) == 10
    files = [p.name for p in _libraries(_cache)]
    assert len(files) == 1 and files[0].startswith("adder-")
    assert native.kernel_problem("adder") is None


def test_a_cached_library_is_not_compiled_again(tmp_path, monkeypatch, _cache):
    _require_compiler()
    calls = []
    original = native._compile
    monkeypatch.setattr(native, "_compile", lambda *a: calls.append(1) or original(*a))
    source = _source(tmp_path, 1)
    assert native.load_kernel("adder", source) is not None
    assert native.load_kernel("adder", source) is not None  # same process: loaded once
    native.forget_kernels()
    assert native.load_kernel("adder", source) is not None  # next process: the cached file
    assert calls == [1]
    source.write_text(source.read_text() + "int lle_other(void) { return 0; }\n")
    native.forget_kernels()
    assert native.load_kernel("adder", source) is not None  # changed source: compiled again
    assert calls == [1, 1]
    assert len(_libraries(_cache)) == 2


def test_a_source_that_does_not_compile_gives_none_a_reason_and_no_debris(tmp_path, _cache):
    _require_compiler()
    broken = _source(tmp_path, 0, body="int lle_add(int a { return a; }\n")
    assert native.load_kernel("broken", broken) is None
    problem = native.kernel_problem("broken") or ""
    assert "broken" in problem and "failed" in problem
    assert not _cache.exists() or list(_cache.iterdir()) == []


def test_a_crash_while_writing_the_library_leaves_nothing_and_the_next_run_builds(
    tmp_path, monkeypatch, _cache
):
    """The library goes through files.atomic_write: a failed write leaves no library, no
    temporary file and no scratch folder, and the next attempt builds and loads it."""
    _require_compiler()
    from lle_core import files

    real = files.write_payload

    def full_disk(handle, payload):
        if payload[:4] == b"\x7fELF":  # the library, not its digest record
            raise OSError(28, "No space left on device")
        real(handle, payload)

    monkeypatch.setattr(files, "write_payload", full_disk)
    source = _source(tmp_path, 2)
    assert native.load_kernel("adder", source) is None
    assert "No space" in (native.kernel_problem("adder") or "")
    assert [p for p in _cache.iterdir() if not p.name.endswith(native.RECORD_SUFFIX)] == []
    monkeypatch.setattr(files, "write_payload", real)
    native.forget_kernels()
    lib = native.load_kernel("adder", source)
    assert lib is not None, native.kernel_problem("adder")
    assert len(_libraries(_cache)) == 1


def test_switched_off_or_no_compiler(tmp_path, monkeypatch):
    monkeypatch.setenv(native.NATIVE_ENV, "0")
    assert not native.native_enabled()
    assert native.load_kernel("adder", _source(tmp_path)) is None
    assert "LLE_NATIVE" in (native.kernel_problem("adder") or "")
    monkeypatch.setenv(native.NATIVE_ENV, "1")
    monkeypatch.setenv("CC", "/nonexistent/cc")
    monkeypatch.setattr(native.shutil, "which", lambda name: None)
    assert native.load_kernel("adder", _source(tmp_path)) is None
    assert "no C compiler" in (native.kernel_problem("adder") or "")


def test_processes_compiling_at_once_all_load_and_leave_one_file(tmp_path, _cache):
    _require_compiler()
    source = _source(tmp_path, 7)
    script = textwrap.dedent(f"""
        import ctypes
        from lle_core import native
        lib = native.load_kernel("adder", {str(source)!r})
        lib.lle_add.restype = ctypes.c_int
        print(lib.lle_add(1, 1))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    outputs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert outputs == ["9"] * 4
    assert len(_libraries(_cache)) == 1  # one library and its record, no temporary files left


def test_one_name_with_two_sources_gives_two_libraries_in_one_process(tmp_path, _cache):
    # the per-process cache is keyed by (name, SHA-256 of the source), not by name alone
    _require_compiler()
    first = native.load_kernel("adder", _source(tmp_path, 1))
    second = native.load_kernel("adder", _source(tmp_path, 2))
    assert first is not None and second is not None
    first.lle_add.restype = second.lle_add.restype = ctypes.c_int
    assert (first.lle_add(0, 0), second.lle_add(0, 0)) == (1, 2)
