"""AuxNet training tests: no ground truth needed, GT terms refused, CPU smoke run."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from lle_auxnet.losses import StageFidelityLoss, StageSmoothnessLoss
from lle_auxnet.model import AuxNet
from lle_auxnet.trainer import StagedTrainer
from lle_core import ConfigError, create
from lle_core.interfaces import LossTerm


class WeightedSum(torch.nn.Module):
    """A tiny stand-in for a composite loss: (total, logs) from a context."""

    def __init__(self, *terms: LossTerm) -> None:
        super().__init__()
        self.terms = torch.nn.ModuleList(terms)

    def forward(self, context: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        values = {f"l_{t.term_name}": t.from_context(context) for t in self.terms}
        total = sum(t.weight * v for t, v in zip(self.terms, values.values(), strict=True))
        return total, values


class NeedsGT(LossTerm):
    def compute(self, pred: Tensor, target: Tensor) -> Tensor:
        return (pred - target).abs().mean()


def paper_like_loss(perceptual: torch.nn.Module | None = None) -> torch.nn.Module:
    terms: list[LossTerm] = [StageFidelityLoss(weight=0.8), StageSmoothnessLoss(weight=0.65)]
    if perceptual is not None:
        terms.append(perceptual)  # type: ignore[arg-type]
    return WeightedSum(*terms)


def low_only_batches(n: int, size: int = 24) -> list[dict[str, object]]:
    gen = torch.Generator().manual_seed(0)
    return [
        {"low": torch.rand(1, 3, size, size + 4, generator=gen) * 0.25, "name": [f"img{i}"]}
        for i in range(n)
    ]


def test_trainer_declares_no_ground_truth() -> None:
    assert StagedTrainer.needs_ground_truth is False
    assert create("model", "auxnet.model").capabilities.needs_ground_truth is False


def test_training_step_without_any_high_image() -> None:
    model = AuxNet(stages=3)
    trainer = StagedTrainer(model=model, loss=paper_like_loss())
    batch = low_only_batches(1)[0]
    assert "high" not in batch
    result = trainer.training_step(batch)
    assert torch.isfinite(result.loss)
    result.loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    assert model.calibrator.conv_in[0].weight.grad is not None  # K_xi is trained too
    assert {"l_fidelity", "l_smoothness"} <= set(result.logs)


def test_high_images_are_ignored() -> None:
    torch.manual_seed(0)
    model = AuxNet(stages=2).eval()
    trainer = StagedTrainer(model=model, loss=paper_like_loss())
    low = torch.rand(1, 3, 16, 16) * 0.3
    a = trainer.training_step({"low": low})
    b = trainer.training_step({"low": low, "high": torch.rand(1, 3, 16, 16)})
    assert float(a.loss) == float(b.loss)


def test_ground_truth_terms_are_refused() -> None:
    with pytest.raises(ConfigError, match="high"):
        StagedTrainer(model=AuxNet(), loss=WeightedSum(NeedsGT()))
    with pytest.raises(ConfigError, match="loss"):
        StagedTrainer(model=AuxNet(), loss=None)


def test_training_on_a_low_only_folder(tmp_path) -> None:
    pytest.importorskip("PIL")
    from PIL import Image

    gen = torch.Generator().manual_seed(3)
    for i in range(3):
        arr = (torch.rand(20, 28, 3, generator=gen) * 60).to(torch.uint8).numpy()
        Image.fromarray(arr).save(tmp_path / f"dark{i}.png")
    dataset = create("dataset", {"type": "core.unpaired_folder", "root": str(tmp_path)})
    assert len(dataset) == 3 and "high" not in dataset[0]
    loader = torch.utils.data.DataLoader(dataset, batch_size=1)
    model = AuxNet(stages=2)
    trainer = StagedTrainer(model=model, loss=paper_like_loss())
    opt = torch.optim.Adam(list(trainer.parameters()), lr=1e-3)
    for batch in loader:
        result = trainer.training_step(batch)
        opt.zero_grad()
        result.loss.backward()
        opt.step()
        assert torch.isfinite(result.loss)


def test_cpu_smoke_training_loss_drops() -> None:
    torch.manual_seed(0)
    perceptual = create(  # no fallback: a missing perceptual term must fail this test
        "loss",
        {"type": "core.perceptual", "weight": 0.5, "weights": "random", "name": "perceptual",
         "keys": {"pred": "illumination", "target": "calibrated_input"}},
    )
    model = AuxNet(stages=3)
    trainer = StagedTrainer(model=model, loss=paper_like_loss(perceptual))
    opt = torch.optim.Adam(list(trainer.parameters()), lr=3e-3, weight_decay=3e-4)
    batches = low_only_batches(4, size=20)
    losses = []
    for step in range(30):
        trainer.train(True)
        result = trainer.training_step(batches[step % 4])
        opt.zero_grad()
        result.loss.backward()
        torch.nn.utils.clip_grad_norm_(list(trainer.parameters()), 5.0)
        opt.step()
        losses.append(float(result.loss.detach()))
    assert "l_perceptual" in result.logs, result.logs  # the perceptual term really ran
    assert all(torch.isfinite(torch.tensor(losses)))
    first, last = sum(losses[:4]) / 4, sum(losses[-4:]) / 4
    assert last < 0.7 * first, (first, last)
    model.eval()
    with torch.no_grad():
        out = trainer.inference_model()(batches[0]["low"])
    assert out.shape == batches[0]["low"].shape and float(out.max()) <= 1.0
