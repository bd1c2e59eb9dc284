"""Short CPU training of both stages with the recipes' own losses; the loss must drop."""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import yaml
from safetensors.torch import save_file
from torch import nn

from lle_core import create
from lle_frlie.trainer import TwoStageTrainer

STEPS = 20


def recipe(name: str) -> dict[str, Any]:
    text = (importlib.resources.files("lle_frlie") / "recipes" / f"{name}.yaml").read_text()
    return yaml.safe_load(text)


def run_steps(trainer: TwoStageTrainer, batch: dict[str, torch.Tensor], lr: float) -> list[float]:
    opt = torch.optim.Adam(trainer.parameters(), lr=lr, betas=(0.5, 0.9))
    trainer.train(True)
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        result = trainer.training_step(batch)
        result.loss.backward()
        opt.step()
        losses.append(result.loss.item())
    return losses


def dropped(losses: list[float]) -> bool:
    return sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5


def test_two_stage_training_smoke(
    make_tiny_model: Callable[..., nn.Module],
    paired_batch: Callable[..., dict[str, torch.Tensor]],
    tmp_path: Path,
) -> None:
    batch = paired_batch(seed=0, size=32, batch=4)

    model1 = make_tiny_model(seed=0)
    stage1 = TwoStageTrainer(
        model=model1, loss=create("loss", recipe("paper_stage1")["loss"]), stage=1
    )
    losses1 = run_steps(stage1, batch, lr=2e-3)
    assert all(torch.isfinite(torch.tensor(losses1)))
    assert dropped(losses1), losses1

    ckpt = tmp_path / "stage1.safetensors"
    save_file({k: v.contiguous() for k, v in model1.state_dict().items()}, str(ckpt))

    model2 = make_tiny_model(seed=5)
    stage2 = TwoStageTrainer(
        model=model2,
        loss=create("loss", recipe("paper_stage2")["loss"]),
        stage=2,
        stage1_checkpoint=str(ckpt),
    )
    result = stage2.training_step(batch)
    assert {"l_dec", "l_fm", "l_hue"} <= set(result.logs)
    losses2 = run_steps(stage2, batch, lr=2e-3)
    assert all(torch.isfinite(torch.tensor(losses2)))
    assert dropped(losses2), losses2
    # the frozen parts are exactly the stage-1 weights after training
    for k, v in model1.encoder.state_dict().items():
        assert torch.equal(v, model2.encoder.state_dict()[k])
