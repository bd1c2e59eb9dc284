"""Test settings of the dln plugin: one intra-op thread (the CPU is shared; two threads under
load were measured 10-20x slower than one for these tiny tensors)."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
