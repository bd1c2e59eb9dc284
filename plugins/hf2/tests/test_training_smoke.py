"""A short CPU training run on generated images: the paper loss goes down."""

from __future__ import annotations

import torch

from lle_core import create
from lle_hf2.loss import paper_loss_spec


def _pairs(n: int, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth colour images (high) and darkened, gamma-curved versions of them (low)."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 4, 4, generator=g)
    high = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear",
                                           align_corners=False).clamp(0, 1)
    low = 0.15 * high**1.5
    return low, high


def test_loss_drops_with_supervised_steps() -> None:
    torch.manual_seed(0)
    model = create("model", {"type": "hf2.model", "base_width": 8,
                             "backbone": {"type": "hf2.vgg16", "weights": "random"}})
    # 32 px crops are below the 176 px that 5-scale MS-SSIM needs: use fewer scales here.
    loss_fn = create("loss", paper_loss_spec(on_small="fewer_scales"))
    trainer = create("trainer", "core.supervised", runtime={"model": model, "loss": loss_fn})
    opt = torch.optim.Adam(list(trainer.parameters()), lr=1e-2)
    low, high = _pairs(4, 32, seed=1)
    batch = {"low": low, "high": high}
    losses = []
    trainer.train(True)
    for _ in range(20):
        result = trainer.training_step(batch)
        opt.zero_grad()
        result.loss.backward()
        opt.step()
        assert torch.isfinite(result.loss)
        losses.append(float(result.loss))
    assert {"l_ms_ssim", "l_l1"} <= set(result.logs)  # one log per term of Eq. 2
    # Training-mode loss (the spatial gates' BatchNorm uses batch statistics; its running
    # statistics, momentum 0.01 as in CBAM, are far from settled after 20 steps).
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < 0.9 * first, losses
