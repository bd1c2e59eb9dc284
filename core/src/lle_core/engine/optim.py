"""Optimizer and learning-rate schedule built from the run config."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import nn

from lle_core.engine.config import BudgetConfig, OptimConfig, ScheduleConfig


def build_optimizer(params: Iterable[nn.Parameter], cfg: OptimConfig) -> torch.optim.Optimizer:
    """Adam or AdamW over ``params`` with the configured lr, betas, eps and weight decay.

    Raises:
        ValueError: ``params`` is empty (the trainer has nothing to train).
    """
    params = list(params)
    if not params:
        raise ValueError("the trainer has no trainable parameters")
    cls = torch.optim.AdamW if cfg.name == "adamw" else torch.optim.Adam
    beta1, beta2 = cfg.betas
    return cls(params, lr=cfg.lr, betas=(beta1, beta2), eps=cfg.eps, weight_decay=cfg.weight_decay)


def lr_factor(cfg: ScheduleConfig, base_lr: float, length: int | None) -> Callable[[int], float]:
    """Multiplier of the base learning rate after ``t`` schedule ticks (steps or epochs).

    Args:
        cfg: The schedule section.
        base_lr: The optimizer's lr (``min_lr`` of the cosine schedule is absolute).
        length: Default cosine length (the step or epoch budget) when ``t_max`` is unset.

    Returns:
        ``f(t)``: linear warm-up over ``cfg.warmup`` ticks, then the schedule (counted from
        the end of the warm-up).
    """
    t_max = cfg.t_max or length or 1
    floor = cfg.min_lr / base_lr

    def schedule(t: int) -> float:
        if cfg.name == "step":
            assert cfg.step_size is not None
            return float(cfg.gamma ** (t // cfg.step_size))
        if cfg.name == "multistep":
            return float(cfg.gamma ** sum(1 for m in cfg.milestones if t >= m))
        if cfg.name == "cosine":
            progress = min(t, t_max) / t_max
            return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
        return 1.0

    def factor(t: int) -> float:
        if t < cfg.warmup:
            return (t + 1) / (cfg.warmup + 1)
        return schedule(t - cfg.warmup)

    return factor


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: ScheduleConfig, budget: BudgetConfig
) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` following :func:`lr_factor`; step it once per ``cfg.interval``.

    Its state dict holds only numbers (the factor is rebuilt from the config on resume).
    """
    length = budget.steps if cfg.interval == "step" else budget.epochs
    base_lr = optimizer.param_groups[0]["lr"]
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg, base_lr, length))
