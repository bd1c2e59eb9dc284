"""Ctrl-C during training: the first one finishes the step and saves ``latest``, a second aborts."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any


class InterruptFlag:
    """Set by the first SIGINT while :meth:`catch` is active (main thread only).

    The loop reads :attr:`raised` after each step; a second SIGINT raises
    :class:`KeyboardInterrupt` at once.
    """

    def __init__(self) -> None:
        self.raised = False

    @contextlib.contextmanager
    def catch(self) -> Iterator[InterruptFlag]:
        """Install the SIGINT handler for the block (a no-op outside the main thread)."""
        self.raised = False
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.getsignal(signal.SIGINT)

        def handler(signum: int, frame: Any) -> None:
            if self.raised:
                raise KeyboardInterrupt
            self.raised = True

        signal.signal(signal.SIGINT, handler)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)
