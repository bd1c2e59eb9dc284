"""Helpers shared by the loss modules: reduction, shape checks and the loss-term base class."""

from __future__ import annotations

from typing import Any, ClassVar, Literal, get_args

from torch import Tensor

from lle_core.errors import ShapeError
from lle_core.interfaces import LossParams, LossTerm

#: Reduction accepted by every loss function and term (default ``"mean"``).
Reduction = Literal["mean", "sum", "none"]


def reduce(values: Tensor, reduction: Reduction) -> Tensor:
    """Apply a reduction to unreduced loss values.

    Args:
        values: Element-wise (pixel losses) or per-image ``(B,)`` values.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (values returned unchanged).
    """
    check_choice("reduction", reduction, Reduction)
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values


def check_choice(name: str, value: object, choices: Any) -> None:
    """Raise ``ValueError`` unless ``value`` is one of a ``Literal`` type's values.

    Args:
        name: Option name for the message, e.g. ``"padding"``.
        value: Value given.
        choices: A ``Literal[...]`` type (or a tuple of allowed values).

    Example message: ``padding must be 'valid' or 'same', got 'full'``.
    """
    allowed = get_args(choices) or tuple(choices)
    if value in allowed:
        return
    quoted = [repr(a) for a in allowed]
    text = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    raise ValueError(f"{name} must be {text}, got {value!r}")


def check_pair(pred: Tensor, target: Tensor, what: str) -> None:
    """Raise :class:`ShapeError` unless ``pred`` and ``target`` have the same shape.

    Losses never broadcast: a ``(B, 3, H, W)`` against ``(B, 1, H, W)`` mix-up is a bug.
    """
    if pred.shape != target.shape:
        raise ShapeError(
            f"{what}: pred and target must have the same shape, got {tuple(pred.shape)} and "
            f"{tuple(target.shape)}"
        )


def check_image_batch(x: Tensor, what: str) -> None:
    """Raise :class:`ShapeError` unless ``x`` is a ``(B, C, H, W)`` tensor."""
    if x.dim() != 4:
        raise ShapeError(f"{what} expects (B, C, H, W) tensors, got shape {tuple(x.shape)}")


class ReducedLossParams(LossParams):
    """Loss parameters with the common ``reduction`` option (default ``"mean"``)."""

    reduction: Reduction = "mean"


class ReducedLossTerm(LossTerm):
    """A :class:`LossTerm` with a ``reduction`` attribute and a fixed default log name.

    Class attributes:
        default_name: Log name used when ``name`` is not given (``l_<default_name>``).
        zero_for_identical: Whether the loss is 0 for ``pred == target`` (read by the
            conformance kit; ``False`` for no-reference or eps-shifted losses).
    """

    default_name: ClassVar[str] = "loss"
    zero_for_identical: ClassVar[bool] = True

    def __init__(
        self,
        *,
        reduction: Reduction = "mean",
        weight: float = 1.0,
        name: str | None = None,
        keys: dict[str, str] | None = None,
    ) -> None:
        """Args: reduction: see :func:`reduce`; weight, name, keys: see ``LossParams``."""
        super().__init__(weight=weight, name=name or self.default_name, keys=keys)
        check_choice("reduction", reduction, Reduction)
        self.reduction: Reduction = reduction

    def extra_repr(self) -> str:
        """Shown by ``print(module)``."""
        return f"name={self.term_name!r}, weight={self.weight}, reduction={self.reduction!r}"
