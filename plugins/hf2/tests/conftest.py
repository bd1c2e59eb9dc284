"""Fixtures for the hf2 tests only (autouse fixtures here do not reach other directories)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Run each hf2 test on one torch thread, restoring the previous setting afterwards.

    The tiny networks of these tests are several times faster on one thread than on two when
    the machine's cores are shared (measured: a 32×32 training step 1.4 s → 0.2 s).
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)

