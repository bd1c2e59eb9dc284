"""Composite loss: a weighted sum of loss terms read from a training context."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from pydantic import Field
from torch import Tensor, nn

from lle_core.interfaces import LossParams, LossTerm
from lle_core.spec import ComponentSpec, SpecOf, build_component


class CompositeParams(LossParams):
    """Parameters of ``core.composite``.

    Attributes:
        terms: Loss specs, e.g. ``[{"type": "core.l1"}, {"type": "core.ssim", "weight": 0.5}]``.
    """

    terms: list[SpecOf("loss")] = Field(min_length=1)  # type: ignore[valid-type]


class CompositeLoss(LossTerm):
    """Weighted sum of loss terms (``core.composite``).

    ``loss(context)`` with a mapping (the training context: batch + model outputs) returns
    ``(total, {"l_<name>": value})``: ``total = Σ weight_i · term_i(context)`` and the logged
    values are the *unweighted*, detached terms. Terms with the same name get suffixes
    ``_2``, ``_3``, ... in order. ``loss(pred, target)`` with tensors returns only the total
    (the context is ``{"pred": pred, "high": target}``), so a composite also works as a plain
    loss.
    """

    Params = CompositeParams
    summary = "Weighted sum of loss terms; returns (total, {'l_<name>': value})"

    def __init__(
        self,
        terms: Sequence[str | Mapping[str, Any] | ComponentSpec | LossTerm],
        *,
        weight: float = 1.0,
        name: str | None = None,
        keys: Mapping[str, str] | None = None,
    ) -> None:
        """Build the terms.

        Args:
            terms: Loss specs or built :class:`LossTerm` modules.
            weight: Weight of the composite itself (when nested in another composite).
            name: Log name of the composite (default ``"total"``).
            keys: Maps ``pred``/``target``/``low`` to context keys when called with tensors.
        """
        super().__init__(weight=weight, name=name or "total", keys=keys)
        if not terms:
            raise ValueError("a composite loss needs at least one term")
        built = [build_component("loss", t) for t in terms]
        for t in built:
            if not isinstance(t, LossTerm):
                raise TypeError(f"composite terms must be LossTerm modules, got {type(t)!r}")
        self.terms = nn.ModuleList(built)
        self.log_names = _unique_names([t.term_name for t in built])
        # Instance value for readers; the class attribute stays True (the default terms).
        self.zero_for_identical = all(  # type: ignore[misc]
            getattr(t, "zero_for_identical", True) for t in built
        )

    @property
    def needs_ground_truth(self) -> bool:
        """Whether any term reads the ``high`` image."""
        return any(t.needs_ground_truth for t in self.terms)

    def evaluate(self, context: Mapping[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """Total and per-term values for a training context.

        Raises:
            KeyError: A term needs a key the context lacks (the message names the term, the
                key and the available keys).
        """
        total: Tensor | None = None
        logs: dict[str, Tensor] = {}
        for log_name, module in zip(self.log_names, self.terms, strict=True):
            term = cast(LossTerm, module)
            value = term.from_context(context)
            logs[f"l_{log_name}"] = value.detach()
            weighted = term.weight * value
            total = weighted if total is None else total + weighted
        assert total is not None
        return total, logs

    def compute(self, *args: Tensor, **kwargs: Tensor) -> Tensor:
        """Total for tensors given as ``(pred, target[, low])`` or by keyword."""
        names = ("pred", "target", "low")
        given = dict(zip(names, args, strict=False)) | kwargs
        context = {self.keys.get(k, k): v for k, v in given.items()}
        return self.evaluate(context)[0]

    def from_context(self, context: Mapping[str, Tensor]) -> Tensor:
        """Unweighted total for a context (lets composites nest)."""
        return self.evaluate(context)[0]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """``forward(context)`` -> ``(total, logs)``; ``forward(pred, target)`` -> total."""
        if len(args) == 1 and not kwargs and isinstance(args[0], Mapping):
            return self.evaluate(args[0])
        return self.compute(*args, **kwargs)


def _unique_names(names: list[str]) -> list[str]:
    """Suffix repeated names with ``_2``, ``_3``, ... (skipping names already taken)."""
    used: set[str] = set()
    out = []
    for n in names:
        candidate, k = n, 2
        while candidate in used:
            candidate, k = f"{n}_{k}", k + 1
        used.add(candidate)
        out.append(candidate)
    return out
