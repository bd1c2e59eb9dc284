"""Small C kernels compiled on the user's machine, once, and cached (the ``native`` fast path).

Some models are too small for PyTorch's convolution kernels to run them well: with 3–16 channels
per layer, oneDNN leaves most of each vector register unused (AuxNet, ``docs/benchmarks.md``). A
plugin can then ship a C source file next to its Python code and load it with
:func:`load_kernel`: the file is compiled with the system C compiler (``$CC``, else ``cc``,
``gcc`` or ``clang``) for this very CPU (``-O3 -march=native``), the shared library is stored in
the cache folder and loaded with :mod:`ctypes`. Later processes load the cached library
directly. A kernel built with ``-fopenmp`` (``extra_flags``) binds to the OpenMP runtime torch
has loaded and can run on PyTorch's own threads (``lle_auxnet.cpu_kernel`` does).

Nothing here is required: without a compiler, on Windows, with ``LLE_NATIVE=0`` or when the
compilation fails, :func:`load_kernel` returns ``None`` (the reason is kept, see
:func:`kernel_problem`) and the model uses its PyTorch path.

Cache: ``kernels`` in lle's cache folder (``$LLE_CACHE_DIR``, default ``$XDG_CACHE_HOME/lle`` or
``~/.cache/lle``; :func:`lle_core.manifest.cache_dir`). A
library's file name holds a hash of the source, the compiler (path, size, modification time),
the flags, and the CPU model and feature flags, so a cache folder shared by different machines
never hands a library built for one CPU to another. Libraries are written to a unique temporary
name and renamed into place (atomic): concurrent processes never load a half-written file.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from lle_core.cache import CACHE_ENV
from lle_core.cache import cache_dir as manifest_cache_dir

#: Environment variable that turns compiled kernels off (``0``/``false``/``no``/``off``).
NATIVE_ENV = "LLE_NATIVE"
#: Flags every kernel is compiled with (``-march=native`` is dropped if the compiler refuses it).
FLAGS = ("-O3", "-march=native", "-std=c11", "-shared", "-fPIC")

_log = logging.getLogger(__name__)
_LOCK = threading.Lock()
_LOADED: dict[str, ctypes.CDLL | None] = {}
_PROBLEMS: dict[str, str] = {}


def native_enabled() -> bool:
    """Whether compiled kernels may be used (``LLE_NATIVE`` is not a false value)."""
    value = os.environ.get(NATIVE_ENV, "").strip().lower()
    return value not in ("0", "false", "no", "off")


def find_compiler() -> str | None:
    """Path of the C compiler: ``$CC``, else the first of ``cc``, ``gcc``, ``clang`` found."""
    if sys.platform == "win32":
        return None
    env = os.environ.get("CC", "").strip()
    candidates = [env] if env else ["cc", "gcc", "clang"]
    for name in candidates:
        path = shutil.which(name)
        if path:
            return path
    return None


def cache_dir() -> Path:
    """Folder holding compiled kernels: ``kernels`` in lle's cache folder (created on demand)."""
    return manifest_cache_dir() / "kernels"


def _cpu_fingerprint() -> str:
    """CPU model and feature flags (``/proc/cpuinfo`` where it exists)."""
    parts = [platform.machine(), platform.processor()]
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        if line.startswith(("model name", "flags", "Features", "CPU part")):
            parts.append(line)
            if len(parts) >= 5:
                break
    return "\n".join(parts)


def _library_path(name: str, identity: bytes, flags: tuple[str, ...]) -> Path:
    """Cache file of a build: ``identity`` (source, compiler, CPU) and ``flags`` hashed."""
    key = hashlib.sha256()
    for part in (identity, " ".join(flags).encode()):
        key.update(part)
        key.update(b"\0")
    suffix = ".dylib" if sys.platform == "darwin" else ".so"
    return cache_dir() / f"{name}-{key.hexdigest()[:20]}{suffix}"


def _compile(source_file: Path, target: Path, compiler: str, flags: tuple[str, ...]) -> None:
    """Compile to a unique temporary file next to ``target``, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        cmd = [compiler, *flags, "-o", tmp, str(source_file)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            message = (done.stderr or done.stdout).strip().splitlines()
            raise RuntimeError(message[-1] if message else f"exit status {done.returncode}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_kernel(
    name: str, source_file: str | os.PathLike[str], extra_flags: tuple[str, ...] = ()
) -> ctypes.CDLL | None:
    """The compiled library of ``source_file``, compiled on first use; ``None`` if unavailable.

    Args:
        name: A short name for the cache file and messages (e.g. ``"auxnet"``).
        source_file: The C source (C11, no dependencies beyond the C library).
        extra_flags: Flags added to :data:`FLAGS` (e.g. ``("-fopenmp",)``); when the compiler
            refuses them the source is compiled without them (check in the library, e.g. with
            ``#ifdef _OPENMP``, what it got).

    Returns:
        The loaded library (cached per process), or ``None`` when kernels are off
        (``LLE_NATIVE=0``), no compiler is found or the compilation fails; see
        :func:`kernel_problem` for the reason.
    """
    if not native_enabled():
        _PROBLEMS[name] = f"{NATIVE_ENV} is off"
        return None
    with _LOCK:
        if name in _LOADED:
            return _LOADED[name]
        library = _build(name, Path(source_file), tuple(extra_flags))
        _LOADED[name] = library
        return library


def _build(name: str, source_file: Path, extra: tuple[str, ...]) -> ctypes.CDLL | None:
    compiler = find_compiler()
    if compiler is None:
        _PROBLEMS[name] = "no C compiler found (set CC or install gcc/clang)"
        return None
    stat = os.stat(compiler)
    identity = b"\0".join([source_file.read_bytes(), compiler.encode(),
                           f"{stat.st_size}:{stat.st_mtime_ns}".encode(),
                           _cpu_fingerprint().encode()])
    portable = tuple(f for f in FLAGS if f != "-march=native")
    attempts = dict.fromkeys([(*FLAGS, *extra), FLAGS, (*portable, *extra), portable])
    for flags in attempts:
        target = _library_path(name, identity, flags)
        try:
            if not target.exists():
                _compile(source_file, target, compiler, flags)
            library = ctypes.CDLL(str(target))
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            _PROBLEMS[name] = f"{name}: compiling {source_file.name} failed: {exc}"
            _log.debug(_PROBLEMS[name])
            continue
        _PROBLEMS.pop(name, None)
        return library
    return None


def kernel_problem(name: str) -> str | None:
    """Why :func:`load_kernel` returned ``None`` for ``name`` (``None`` if it did not)."""
    return _PROBLEMS.get(name)


def forget_kernels() -> None:
    """Drop the per-process cache of loaded libraries (tests; the files stay cached)."""
    with _LOCK:
        _LOADED.clear()
        _PROBLEMS.clear()


__all__ = [
    "CACHE_ENV",
    "FLAGS",
    "NATIVE_ENV",
    "cache_dir",
    "find_compiler",
    "forget_kernels",
    "kernel_problem",
    "load_kernel",
    "native_enabled",
]
