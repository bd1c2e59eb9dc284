"""Exponential moving average of a model's weights."""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn


class ModelEMA:
    """Keeps ``ema = decay · ema + (1 − decay) · weights`` after every optimizer step.

    Floating-point parameters and buffers are averaged; integer buffers (counters) are copied.
    The averaged copy (:attr:`module`) is always in eval mode and never receives gradients.

    Args:
        model: The model to average (the scheme's inference model).
        decay: In ``(0, 1)``, e.g. ``0.999``.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = float(decay)
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average towards ``model``'s current weights."""
        current = model.state_dict()
        for name, avg in self.module.state_dict().items():
            value = current[name].detach()
            if avg.is_floating_point():
                avg.lerp_(value.to(avg.dtype), 1.0 - self.decay)
            else:
                avg.copy_(value)

    def state_dict(self) -> dict[str, Tensor]:
        """The averaged weights."""
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        """Restore the averaged weights."""
        self.module.load_state_dict(state)
