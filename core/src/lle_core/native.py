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
``~/.cache/lle``; :func:`lle_core.cache.cache_dir`). A
library's file name holds a hash of the source, the compiler (path, size, modification time),
the flags, and the CPU model and feature flags, so a cache folder shared by different machines
never hands a library built for one CPU to another. Libraries are written to a unique temporary
name and renamed into place (atomic): concurrent processes never load a half-written file.

Only what lle built is loaded (docs/reliability.md, "Nothing is loaded that lle did not build"):

* the ``kernels`` folder is created ``0700`` whatever the umask, and must be owned by the user
  and writable by nobody else (:func:`lle_core.cache.private_folder`): lle makes a folder of
  the user's that others could write to (e.g. one an older lle created under umask 000)
  ``0700``, and loads nothing from a folder of another user or from something that is not a
  folder: the model uses its PyTorch path, with one warning naming the folder;
* when lle builds a library it records the library's SHA-256 next to it (``<library>.sha256``,
  ``0600``); a library is loaded only when it is a regular file owned by the user, writable by
  nobody else, and its SHA-256 is the recorded one. Anything else (a planted file, a symbolic
  link, a file without a record or with another digest) is never loaded: lle rebuilds the
  library and renames it over that file;
* the checks read the file through one open descriptor (a symbolic link is refused); only the
  user's own processes can reach the private folder between the check and the load.

A process of the same user that writes both a library and its record can still make lle load
it; such a process can equally edit lle's Python files, so no in-process check helps there.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from lle_core.cache import CACHE_ENV, private_folder, problem
from lle_core.cache import cache_dir as lle_cache_dir
from lle_core.errors import UnsafeCacheError

#: Environment variable that turns compiled kernels off (``0``/``false``/``no``/``off``).
NATIVE_ENV = "LLE_NATIVE"
#: Flags every kernel is compiled with (``-march=native`` is dropped if the compiler refuses it).
FLAGS = ("-O3", "-march=native", "-std=c11", "-shared", "-fPIC")

_log = logging.getLogger(__name__)
_LOCK = threading.Lock()
#: (name, SHA-256 of the source) -> the library loaded for it in this process.
_LOADED: dict[tuple[str, str], ctypes.CDLL | None] = {}
#: Suffix of the file recording a library's SHA-256.
RECORD_SUFFIX = ".sha256"
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
    return lle_cache_dir() / "kernels"


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


def _library_path(folder: Path, name: str, identity: bytes, flags: tuple[str, ...]) -> Path:
    """Cache file of a build: ``identity`` (source, compiler, CPU) and ``flags`` hashed."""
    key = hashlib.sha256()
    for part in (identity, " ".join(flags).encode()):
        key.update(part)
        key.update(b"\0")
    suffix = ".dylib" if sys.platform == "darwin" else ".so"
    return folder / f"{name}-{key.hexdigest()[:20]}{suffix}"


def _record(library: Path) -> Path:
    return library.with_name(library.name + RECORD_SUFFIX)


def _sha256_of_fd(fd: int) -> str:
    digest = hashlib.sha256()
    os.lseek(fd, 0, os.SEEK_SET)
    for block in iter(lambda: os.read(fd, 1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def _compile(source_file: Path, target: Path, compiler: str, flags: tuple[str, ...]) -> None:
    """Compile into a private scratch folder, record the SHA-256, write the library in place.

    Both files go through :func:`lle_core.files.atomic_write` (the one atomic write: unique
    temporary name, fsync, rename), the record first: a library under its final name always
    has its record, and a failed write leaves neither (a previous library whose record no
    longer matches is never loaded, only rebuilt).
    """
    from lle_core.files import atomic_write

    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        built = scratch / target.name
        cmd = [compiler, *flags, "-o", str(built), str(source_file)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            message = (done.stderr or done.stdout).strip().splitlines()
            raise RuntimeError(message[-1] if message else f"exit status {done.returncode}")
        payload = built.read_bytes()
        record = atomic_write(_record(target), f"{hashlib.sha256(payload).hexdigest()}\n".encode(),
                              mode=0o600)
        try:
            atomic_write(target, payload, mode=0o700)  # never writable by group or others
        except BaseException:
            record.unlink(missing_ok=True)  # no record without its library
            raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _load_verified(library: Path) -> ctypes.CDLL | None:
    """Load ``library`` if it is what lle built (see the module docstring), else ``None``.

    A file that fails a check is left alone and never loaded; the caller rebuilds, which
    renames a fresh library and record over it.
    """
    try:
        fd = os.open(library, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:  # missing, a symbolic link (O_NOFOLLOW) or unreadable: never loaded
        return None
    try:
        st = os.fstat(fd)
        owner = getattr(os, "geteuid", None)
        if (not stat.S_ISREG(st.st_mode) or (owner is not None and st.st_uid != owner())
                or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
                or problem(_record(library), folder=False) is not None):
            return None
        try:
            recorded = _record(library).read_text(encoding="ascii").strip()
        except (OSError, ValueError):
            recorded = ""
        if recorded != _sha256_of_fd(fd):
            return None
        # by path, not /proc/self/fd/N: the loader would take a reused N for a loaded library.
        # Between the check and the load only the user's own processes can reach the file.
        return ctypes.CDLL(str(library))
    finally:
        os.close(fd)


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
    source = Path(source_file).read_bytes()
    key = (name, hashlib.sha256(source).hexdigest())
    with _LOCK:
        if key in _LOADED:
            return _LOADED[key]
        library = _build(name, Path(source_file), source, tuple(extra_flags))
        _LOADED[key] = library
        return library


def _build(
    name: str, source_file: Path, source: bytes, extra: tuple[str, ...]
) -> ctypes.CDLL | None:
    compiler = find_compiler()
    if compiler is None:
        _PROBLEMS[name] = "no C compiler found (set CC or install gcc/clang)"
        return None
    try:
        folder = private_folder("kernels", tighten=True)
    except UnsafeCacheError as err:
        _PROBLEMS[name] = f"{name}: {err}"
        _log.warning("%s (the model runs its PyTorch path)", _PROBLEMS[name])  # one line
        return None
    info = os.stat(compiler)
    identity = b"\0".join([source, compiler.encode(),
                           f"{info.st_size}:{info.st_mtime_ns}".encode(),
                           _cpu_fingerprint().encode()])
    portable = tuple(f for f in FLAGS if f != "-march=native")
    attempts = dict.fromkeys([(*FLAGS, *extra), FLAGS, (*portable, *extra), portable])
    for flags in attempts:
        target = _library_path(folder, name, identity, flags)
        try:
            library = _load_verified(target)
            if library is None:
                _compile(source_file, target, compiler, flags)
                library = _load_verified(target)
            if library is None:
                raise RuntimeError(f"the library built at {target} did not pass its checks")
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
    "RECORD_SUFFIX",
    "cache_dir",
    "find_compiler",
    "forget_kernels",
    "kernel_problem",
    "load_kernel",
    "native_enabled",
]
