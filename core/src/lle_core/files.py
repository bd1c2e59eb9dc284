"""Safe file writes: atomic replacement of a file and an exclusive lock on a folder.

Every file lle writes (images, checkpoints, configs, JSON reports, metrics) goes through
:func:`atomic_write`: the bytes go to a temporary file in the same folder (flushed and fsynced),
which is then renamed over the final name (``os.replace``, atomic on POSIX and Windows), and the
folder is fsynced. A crash or ``kill -9`` at any moment therefore leaves either the previous or
the complete new file under the final name, never a partial one, and concurrent writers of one
name never interleave their bytes: the last rename wins.

:class:`FolderLock` is an exclusive, kernel-released lock on a folder (``flock`` on
``<folder>/.lock``): two processes cannot hold it at once, and a killed holder releases it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO

from lle_core.errors import LLEError

#: Marker in the names of temporary files (``.<name>.tmp-<pid>-<token>``).
TMP_MARK = ".tmp-"
LOCK_NAME = ".lock"


class FolderBusyError(LLEError, RuntimeError):
    """Another process holds the lock of a folder (e.g. a run directory in use)."""


def write_payload(handle: IO[bytes], payload: bytes) -> None:
    """Write the bytes of a file: the one seam for tests of a crash mid-write or a full disk."""
    handle.write(payload)


#: Longest file name, in bytes of its UTF-8 encoding, that lle creates (ext4, XFS, btrfs, APFS:
#: 255; NTFS counts 255 UTF-16 units, never fewer characters than this).
NAME_MAX = 255


def fit_name(name: str, limit: int = NAME_MAX, *, keep: str = "") -> str:
    """``name`` itself if it fits ``limit`` bytes, else a shortened, still distinct form.

    The shortened form is the longest prefix of ``name`` (whole characters) that fits, then
    ``~`` and the first 10 hex digits of the SHA-256 of the whole name, then ``keep`` (kept
    intact, e.g. a suffix ``.png``): two long names differing anywhere stay different.

    Args:
        name: The wanted name, without ``keep``.
        limit: Largest length in bytes (UTF-8) of the result, ``keep`` included.
        keep: Text appended unshortened.
    """
    if len(os.fsencode(name + keep)) <= limit:
        return name + keep
    tag = "~" + hashlib.sha256(os.fsencode(name)).hexdigest()[:10]
    room = limit - len(os.fsencode(tag + keep))
    head = os.fsencode(name)[: max(room, 0)].decode("utf-8", errors="ignore")
    while len(os.fsencode(head)) > room:  # surrogate-escaped bytes re-encode longer
        head = head[:-1]
    return head + tag + keep


def temporary_name(final: Path) -> Path:
    """A fresh hidden name next to ``final`` for its temporary file (unique per call).

    ``.<name>.tmp-<pid>-<token>``, with ``<name>`` shortened (:func:`fit_name`) when the whole
    would exceed :data:`NAME_MAX` bytes, so that any valid ``final`` can be written.
    """
    tail = f"{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}"
    return final.with_name(fit_name(f".{final.name}", keep=tail))


def atomic_write(
    path: str | Path, payload: bytes | Callable[[IO[bytes]], None], *, mode: int = 0o666
) -> Path:
    """Write a file so that ``path`` holds either its old or its complete new content.

    Missing parent folders are created. On any failure (full disk, permission, an exception
    of ``payload``) the temporary file is removed and the exception propagates; ``path`` is
    untouched.

    Args:
        path: Final file name.
        payload: The bytes, or a function writing them to an open binary handle.
        mode: Permissions of a new file, reduced by the umask (``0o600``: private cache
            files, :mod:`lle_core.cache`).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(final)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            if callable(payload):
                payload(handle)
            else:
                write_payload(handle, payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(final.parent)
    return final


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":  # pragma: no cover - directories cannot be opened on Windows
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temporaries(folder: str | Path) -> None:
    """Delete temporary files a killed process left in ``folder`` (never a final file).

    Only call it on a folder this process owns (e.g. a run directory under its
    :class:`FolderLock`): a concurrent writer's temporary file would be removed too.
    """
    for p in Path(folder).glob(f".*{TMP_MARK}*"):
        with contextlib.suppress(OSError):
            p.unlink()


def remove_orphaned_temporaries(folder: str | Path, *, min_age_s: float = 60.0) -> list[Path]:
    """Delete temporary files of *dead* writers in ``folder``; safe beside live writers.

    A file is removed only when its name is an lle temporary name
    (``.<name>.tmp-<pid>-<token>``), the process ``<pid>`` does not exist on this machine, and
    it was last modified more than ``min_age_s`` seconds ago (a writer on another machine
    sharing the folder keeps its file fresh). On systems without POSIX process checks
    nothing is removed; such files are hidden and never read as inputs.

    Returns:
        The files removed.
    """
    import time

    removed: list[Path] = []
    if os.name != "posix":  # pragma: no cover - os.kill(pid, 0) is not a probe on Windows
        return removed
    now = time.time()
    for p in Path(folder).glob(f".*{TMP_MARK}*"):
        pid_text = p.name.rpartition(TMP_MARK)[2].partition("-")[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        try:
            os.kill(int(pid_text), 0)
            continue  # alive (or another user's live process)
        except ProcessLookupError:
            pass
        except (PermissionError, OverflowError, ValueError):
            continue
        with contextlib.suppress(OSError):
            if now - p.lstat().st_mtime >= min_age_s:
                p.unlink()
                removed.append(p)
    return removed


class FolderLock:
    """Exclusive lock on a folder, held from :meth:`acquire` to :meth:`release`.

    The lock is ``flock(LOCK_EX | LOCK_NB)`` on ``<folder>/.lock`` (``msvcrt.locking`` on
    Windows). The kernel releases it when the holder exits, even by ``kill -9``, so a stale
    lock file never blocks a later run. The file holds the holder's pid (for the message).

    Example:
        >>> with FolderLock("runs/x", what="training run"):  # doctest: +SKIP
        ...     ...

    Raises:
        FolderBusyError: Another process (or another lock object) holds the lock.
    """

    def __init__(self, folder: str | Path, *, what: str = "folder") -> None:
        self.folder = Path(folder)
        self.what = what
        self._fd: int | None = None
        self._created = False

    @property
    def path(self) -> Path:
        """The lock file."""
        return self.folder / LOCK_NAME

    def acquire(self) -> FolderLock:
        """Take the lock (creating the folder), or raise :class:`FolderBusyError` at once."""
        self._created = not self.folder.exists()
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            _lock_fd(fd)
        except OSError as err:
            os.close(fd)
            if err.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            holder = ""
            with contextlib.suppress(OSError):
                holder = self.path.read_text(encoding="ascii").strip()
            raise FolderBusyError(
                f"{self.folder} is in use by another {self.what}"
                + (f" (pid {holder})" if holder else "")
                + "; wait for it to finish or choose another folder"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode("ascii"))
        self._fd = fd
        return self

    def release(self) -> None:
        """Give the lock back.

        The lock file stays (the next holder reuses it), except in a folder that
        :meth:`acquire` created and that holds nothing else: both are removed, so a run that
        fails before writing anything leaves no empty folder behind.
        """
        if self._fd is None:
            return
        if self._created and [p.name for p in self.folder.iterdir()] == [LOCK_NAME]:
            with contextlib.suppress(OSError):
                self.path.unlink()
                self.folder.rmdir()
        with contextlib.suppress(OSError):
            os.close(self._fd)  # closing the descriptor drops the lock
        self._fd = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _lock_fd(fd: int) -> None:
    if os.name == "posix":
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    else:  # pragma: no cover - Windows
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
