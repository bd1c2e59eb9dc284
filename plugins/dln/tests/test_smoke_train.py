"""A short CPU training run on tiny synthetic pairs: the loss must drop."""

import numpy as np
import torch

from lle_core.data.synthesis import synthesize
from lle_dln.losses import DifferenceLoss
from lle_dln.model import DLN


def _pairs(n=4, side=32):
    lows, highs = [], []
    for i in range(n):
        g = torch.Generator().manual_seed(i)
        yy, xx = torch.meshgrid(torch.linspace(0, 1, side), torch.linspace(0, 1, side),
                                indexing="ij")
        clean = (0.6 * torch.stack([yy, xx, 1 - yy]) + 0.4 * torch.rand(3, side, side,
                                                                        generator=g)).clamp(0, 1)
        pair = synthesize(clean, np.random.default_rng(i))
        lows.append(pair.low)
        highs.append(pair.high)
    return torch.stack(lows), torch.stack(highs)


def test_loss_drops_in_twenty_steps():
    torch.manual_seed(0)
    low, high = _pairs()
    model = DLN(dim=8)
    loss_fn = DifferenceLoss()
    optim = torch.optim.Adam(model.parameters(), lr=2e-3)
    model.train()
    losses = []
    for _ in range(20):
        loss = loss_fn(model.forward_train(low)["pred"], high)
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
    assert all(np.isfinite(losses))
    # smoothed: mean of the first three steps against the mean of the last three
    assert np.mean(losses[-3:]) < 0.9 * np.mean(losses[:3]), losses
