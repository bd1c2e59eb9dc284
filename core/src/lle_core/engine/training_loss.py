"""The loss as the training loop calls it: ``loss(context) -> (total, logs)``.

A trainer's loss is either a loss that evaluates a whole training context (a
:class:`ContextLoss`, such as ``core.composite``) or a single :class:`LossTerm`, which
:func:`build_loss` wraps so that both are called the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from torch import Tensor, nn

from lle_core.interfaces import LossTerm


@runtime_checkable
class ContextLoss(Protocol):
    """A loss that evaluates a training context itself (``core.composite``).

    ``evaluate(context)`` returns ``(total, {"l_<name>": unweighted value})``.
    """

    def evaluate(self, context: Mapping[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """Total and per-term values for a training context."""
        ...


class SingleTermLoss(nn.Module):
    """Makes a single loss term behave like a composite: ``context -> (total, logs)``."""

    def __init__(self, term: LossTerm) -> None:
        super().__init__()
        self.term = term

    def forward(self, context: Mapping[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        """``(weight · term(context), {"l_<name>": term(context)})``."""
        value = self.term.from_context(context)
        weight = float(getattr(self.term, "weight", 1.0))
        name = getattr(self.term, "term_name", "loss")
        return value * weight, {f"l_{name}": value.detach()}

    @property
    def needs_ground_truth(self) -> bool:
        """Whether the wrapped term reads the ``high`` image."""
        return bool(getattr(self.term, "needs_ground_truth", False))


def build_loss(spec: Any) -> nn.Module | None:
    """Build the loss of a run config; a single term is wrapped in :class:`SingleTermLoss`.

    Args:
        spec: The config's ``loss`` spec, or ``None`` (trainers that compute their own loss).

    Returns:
        A module called as ``loss(context) -> (total, logs)``, or ``None``.
    """
    if spec is None:
        return None
    loss = spec.build()
    if isinstance(loss, LossTerm) and not isinstance(loss, ContextLoss):
        return SingleTermLoss(loss)
    return loss


def loss_needs_ground_truth(loss: nn.Module | None) -> bool:
    """Whether a built loss reads the ground-truth ``high`` image (``False`` without a loss)."""
    if loss is None:
        return False
    flag = getattr(loss, "needs_ground_truth", None)
    if isinstance(flag, bool):
        return flag
    terms = getattr(loss, "terms", None)
    if terms is not None:
        return any(bool(getattr(t, "needs_ground_truth", False)) for t in terms)
    return False
