"""Parameter counts against our own counts (NEID, inferred SID widths 32..512)."""

from __future__ import annotations

import pytest
import torch

from lle_core import create
from lle_core.registry import registries
from lle_neid.model import DEFAULT_CAPABILITIES

# Ours: "10,819,256 train / 10,818,860 inference; encoder 4,712,224; each decoder 3,047,360;
# FF x4 11,520; each sub-pixel head 396. The LE-only U-Net + head is 7,759,980".
SPEC_TRAIN = 10_819_256
SPEC_INFERENCE = 10_818_860
SPEC_ENCODER = 4_712_224
SPEC_DECODER = 3_047_360
SPEC_FF = 11_520
SPEC_HEAD = 396
SPEC_LE_ONLY = 7_759_980


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def full() -> torch.nn.Module:
    return create("model", "neid.model", init_std=None)


def test_total_and_inference_counts(full):
    assert n_params(full) == SPEC_TRAIN
    exported = full.export_state_dict()
    assert sum(v.numel() for v in exported.values()) == SPEC_INFERENCE


def test_part_counts(full):
    assert n_params(full.encoder) == SPEC_ENCODER
    assert n_params(full.le_decoder) == SPEC_DECODER
    assert n_params(full.dr_decoder) == SPEC_DECODER
    assert n_params(full.fusions) == SPEC_FF
    assert n_params(full.le_head) == SPEC_HEAD
    assert n_params(full.dr_head) == SPEC_HEAD


def test_le_only_count():
    le = create("model", "neid.model", dr_branch=False, feature_fusion=False, init_std=None)
    assert n_params(le) == SPEC_LE_ONLY
    assert sum(v.numel() for v in le.export_state_dict().values()) == SPEC_LE_ONLY


def test_le_dr_counts():
    le_dr = create("model", "neid.model", feature_fusion=False, init_std=None)
    assert n_params(le_dr) == SPEC_ENCODER + 2 * SPEC_DECODER + 2 * SPEC_HEAD
    # Without FF the whole DR branch is training-only: inference = LE-only U-Net + head.
    assert sum(v.numel() for v in le_dr.export_state_dict().values()) == SPEC_LE_ONLY


def test_registered_capabilities_match_the_model():
    entry = registries()["model"].get("neid.model")
    assert entry.capabilities == DEFAULT_CAPABILITIES
    assert create("model", "neid.model", widths=[4, 4, 4, 4, 4]).capabilities == entry.capabilities
