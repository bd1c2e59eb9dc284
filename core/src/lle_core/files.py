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


def _write_payload(handle: IO[bytes], payload: bytes) -> None:
    """Write the bytes of a file (a seam for tests that simulate a crash or a full disk)."""
    handle.write(payload)


def temporary_name(final: Path) -> Path:
    """A fresh hidden name next to ``final`` for its temporary file (unique per call)."""
    return final.with_name(f".{final.name}{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")


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
                _write_payload(handle, payload)
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
