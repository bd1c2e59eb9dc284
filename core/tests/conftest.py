"""Fixtures shared by core's tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lle_core.cli.main import main

RunLle = Callable[..., tuple[int, str]]


@pytest.fixture
def run_lle(capsys: pytest.CaptureFixture[str]) -> RunLle:
    """``run_lle(*argv)``: run ``lle ARGV`` in this process; ``(exit code, stdout + stderr)``.

    Fails the test if a traceback was printed (every expected failure is one line).
    """

    def run(*argv: str) -> tuple[int, str]:
        code = main(list(argv))
        captured = capsys.readouterr()
        text = captured.out + captured.err
        assert "Traceback" not in text, text
        return code, text

    return run
