"""Exponential moving average of a model's weights."""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

#: Key of the update counter inside :meth:`ModelEMA.state_dict`.
UPDATES_KEY = "__ema_updates__"


class ModelEMA:
    """Keeps ``ema = d · ema + (1 − d) · weights`` after every optimizer step.

    The decay warms up: ``d = min(decay, (1 + n) / (10 + n))`` after ``n`` updates, so the
    average follows the weights closely early on instead of remembering the random
    initialisation (with a fixed 0.999 the average still holds 0.999^500 ≈ 61 % of the initial
    weights after 500 steps, and validating it early says nothing about the run).
    Floating-point parameters and buffers are averaged; integer buffers (counters) are copied.
    The averaged copy (:attr:`module`) is always in eval mode and never receives gradients.

    Args:
        model: The model to average (the trainer's inference model).
        decay: In ``(0, 1)``, e.g. ``0.999``.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = float(decay)
        self.updates = 0
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    def current_decay(self) -> float:
        """The decay the next update uses (see the class docstring)."""
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average towards ``model``'s current weights."""
        decay = self.current_decay()
        current = model.state_dict()
        for name, avg in self.module.state_dict().items():
            value = current[name].detach()
            if avg.is_floating_point():
                avg.lerp_(value.to(avg.dtype), 1.0 - decay)
            else:
                avg.copy_(value)
        self.updates += 1

    def state_dict(self) -> dict[str, Tensor]:
        """The averaged weights, plus the update counter under :data:`UPDATES_KEY`."""
        return {**self.module.state_dict(), UPDATES_KEY: torch.tensor(self.updates)}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        """Restore the averaged weights (and the counter; states without one: warmed up)."""
        state = dict(state)
        counter = state.pop(UPDATES_KEY, None)
        self.updates = int(counter) if counter is not None else 10**9
        self.module.load_state_dict(state)
