"""neid.two_stream: triplets, DR target option, errors, and a CPU training smoke test."""

from __future__ import annotations

import copy

import pytest
import torch

from lle_core import ShapeError, create
from lle_neid.hooks import paper_loss
from lle_neid.resize import bicubic_downsample
from lle_neid.trainer import TwoStreamTrainer

PAPER_LOSS = paper_loss()

LE_ONLY_LOSS = {
    "type": "core.composite",
    "terms": [t for t in PAPER_LOSS["terms"] if t["type"] != "core.mse"],
}


def trainer_for(widths, loss=PAPER_LOSS, model_params=None, **params):
    model = create("model", {"type": "neid.model", "widths": widths, **(model_params or {})})
    return create("trainer", {"type": "neid.two_stream", **params},
                  runtime={"model": model, "loss": create("loss", loss)})


def paired_batch(images, b=2, h=32, w=32, seed=0):
    high = images(b, h, w, seed=seed)
    return {"low": (0.15 * high).clamp(0, 1), "high": high, "name": [str(i) for i in range(b)]}


def test_triplet(images, tiny_widths):
    trainer = trainer_for(tiny_widths)
    batch = paired_batch(images, h=32, w=24)
    t = trainer.make_triplet(batch["low"], batch["high"])
    assert t["low_lr"].shape == (2, 3, 16, 12)
    assert torch.equal(t["low_lr"], bicubic_downsample(batch["low"], 2, antialias=True))
    assert torch.equal(t["low_hr"], batch["low"]) and torch.equal(t["high"], batch["high"])
    assert torch.equal(t["dr_target"], batch["low"])
    plain = trainer_for(tiny_widths, antialias=False).make_triplet(batch["low"], batch["high"])
    assert not torch.equal(plain["low_lr"], t["low_lr"])


def test_dr_target_option(images, tiny_widths):
    batch = paired_batch(images)
    t = trainer_for(tiny_widths, dr_target="high").make_triplet(batch["low"], batch["high"])
    assert torch.equal(t["dr_target"], batch["high"])


def test_odd_crops_are_trimmed_to_even(images, tiny_widths):
    batch = paired_batch(images, h=33, w=27)
    t = trainer_for(tiny_widths).make_triplet(batch["low"], batch["high"])
    assert t["low_lr"].shape[-2:] == (16, 13)
    assert t["high"].shape[-2:] == (32, 26) and t["low_hr"].shape[-2:] == (32, 26)


def test_step_logs_every_paper_term(images, tiny_widths):
    trainer = trainer_for(tiny_widths)
    trainer.train(True)
    result = trainer.training_step(paired_batch(images))
    assert torch.isfinite(result.loss) and result.loss.dim() == 0
    assert {"l_huber", "l_dr_mse", "l_hsv_color"} <= set(result.logs)
    assert set(result.outputs) == {"pred", "dr"}
    result.loss.backward()
    assert all(p.grad is not None for p in trainer.model.dr_head.parameters())
    assert trainer.inference_model() is trainer.model


def test_model_without_upsampling_is_refused(images):
    same_size = torch.nn.Conv2d(3, 3, kernel_size=1)  # a model that keeps the size
    trainer = TwoStreamTrainer(model=same_size, loss=create("loss", LE_ONLY_LOSS))
    with pytest.raises(ShapeError, match=r"e\.g\. neid\.model"):
        trainer.training_step(paired_batch(images))


def test_mismatched_pair_is_refused(tiny_widths):
    trainer = trainer_for(tiny_widths)
    with pytest.raises(ShapeError, match="equal shape"):
        trainer.make_triplet(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 18))


ROWS = {
    "LE": ({"dr_branch": False, "feature_fusion": False}, LE_ONLY_LOSS),
    "LE+DR": ({"feature_fusion": False}, PAPER_LOSS),
    "LE+DR+FF": ({}, PAPER_LOSS),
}


@pytest.mark.parametrize("row", list(ROWS))
def test_ablation_rows_train_by_config(row, images, tiny_widths):
    model_params, loss = ROWS[row]
    trainer = trainer_for(tiny_widths, loss=loss, model_params=model_params)
    trainer.train(True)
    opt = torch.optim.Adam(trainer.parameters(), lr=1e-3)
    before = copy.deepcopy(trainer.model.state_dict())
    result = trainer.training_step(paired_batch(images))
    result.loss.backward()
    opt.step()
    changed = {k.split(".")[0] for k, v in trainer.model.state_dict().items()
               if not torch.equal(v, before[k])}
    expected = {"encoder", "le_decoder", "le_head"}
    if row != "LE":
        expected |= {"dr_decoder", "dr_head"}
    if row == "LE+DR+FF":
        expected |= {"fusions"}
    assert changed == expected


def test_training_smoke_loss_drops(images):
    """~20 Adam steps on 32x32 crops of a tiny NEID: the paper loss goes down."""
    torch.manual_seed(0)
    trainer = trainer_for([8, 8, 8, 8, 8])
    trainer.train(True)
    opt = torch.optim.Adam(trainer.parameters(), lr=2e-3)
    batch = paired_batch(images, b=2, h=32, w=32, seed=1)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        result = trainer.training_step(batch)
        result.loss.backward()
        opt.step()
        losses.append(result.loss.item())
    assert all(torch.isfinite(torch.tensor(losses)))
    assert sum(losses[-3:]) / 3 < 0.85 * sum(losses[:3]) / 3, losses
