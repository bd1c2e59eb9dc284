"""Total-variation (smoothness) losses: the variants the papers print and their code uses.

With forward differences ``Δv = x[i+1, j] − x[i, j]`` and ``Δh = x[i, j+1] − x[i, j]``, per
image (means over channels and positions):

* ``l2_dln`` — the DLN code: ``2·(mean(Δv²) + mean(Δh²))``, each difference over the whole
  region where it exists. The mean over the batch equals the code's
  ``2·[Σ Δv²/(C(H−1)W) + Σ Δh²/(CH(W−1))] / B`` (sums over the batch).
* ``l1`` — anisotropic: ``mean|Δv| + mean|Δh|`` (FRLIE's, and kornia's up to normalisation).
* ``isotropic`` — ``mean sqrt(Δv² + Δh² + eps)`` on the ``(H−1)×(W−1)`` region where both
  differences exist. What the papers' printed formula most likely meant.
* ``abs_product`` — ``mean sqrt(|Δv·Δh| + eps)``: the printed DLN/AuxNet formula
  ``sqrt(Δv·Δh)`` made real.
* ``relu_product`` — ``mean sqrt(max(Δv·Δh, 0) + eps)``: the printed formula with negative
  products zeroed.

Gradient caveat for the two literal modes: ``∂/∂Δv sqrt(|Δv·Δh| + eps) ≈ |Δh| / (2·sqrt(eps))``
when ``Δv → 0``, i.e. up to ~500·|Δh| for eps = 1e-6; values and gradients stay finite but
large. Prefer ``isotropic`` (or ``l2_dln`` to reproduce DLN) as a training default.

No mode ever returns NaN: ``eps > 0`` is required by the square-root modes and images with a
single row or column (no differences) give 0. TV reads only the prediction and is not zero
for a non-constant image, so the loss term sets ``zero_for_identical = False``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
from pydantic import Field
from torch import Tensor

from lle_core.losses._common import (
    ReducedLossParams,
    ReducedLossTerm,
    Reduction,
    check_image_batch,
    reduce,
)

TVMode = Literal["l2_dln", "l1", "isotropic", "abs_product", "relu_product"]
TV_MODES: tuple[str, ...] = ("l2_dln", "l1", "isotropic", "abs_product", "relu_product")


def _per_image_mean(values: Tensor, like: Tensor) -> Tensor:
    """Mean over all but the batch dimension; 0 (keeping the graph) when empty."""
    if values[0].numel() == 0:
        return like.flatten(1).sum(dim=1) * 0.0
    return values.flatten(1).mean(dim=1)


def total_variation(
    x: Tensor, mode: TVMode = "isotropic", *, eps: float = 1e-6, reduction: Reduction = "mean"
) -> Tensor:
    """Total variation of a ``(B, C, H, W)`` batch (see the module docstring for the modes).

    Args:
        x: ``(B, C, H, W)`` (images, illumination maps, ...).
        mode: One of :data:`TV_MODES`.
        eps: Added under the square root (``isotropic``, ``abs_product``, ``relu_product``);
            must be > 0 for those modes.
        reduction: ``"mean"`` (over images), ``"sum"`` or ``"none"`` (per-image ``(B,)``).

    Returns:
        A scalar (or ``(B,)``), finite and non-negative.
    """
    check_image_batch(x, "total_variation")
    if mode not in TV_MODES:
        raise ValueError(f"unknown TV mode {mode!r}; choose one of {', '.join(TV_MODES)}")
    if mode in ("l2_dln", "l1"):
        dv = x[..., 1:, :] - x[..., :-1, :]
        dh = x[..., :, 1:] - x[..., :, :-1]
        if mode == "l2_dln":
            per_image = 2.0 * (_per_image_mean(dv.square(), x) + _per_image_mean(dh.square(), x))
        else:
            per_image = _per_image_mean(dv.abs(), x) + _per_image_mean(dh.abs(), x)
        return reduce(per_image, reduction)
    if eps <= 0:
        raise ValueError(f"TV mode {mode!r} needs eps > 0 (got {eps}) to stay differentiable")
    corner = x[..., :-1, :-1]
    dv = x[..., 1:, :-1] - corner
    dh = x[..., :-1, 1:] - corner
    if mode == "isotropic":
        inner = dv.square() + dh.square()
    elif mode == "abs_product":
        inner = (dv * dh).abs()
    else:  # relu_product
        inner = torch.relu(dv * dh)
    return reduce(_per_image_mean(torch.sqrt(inner + eps), x), reduction)


class TVParams(ReducedLossParams):
    """Parameters of ``core.tv``."""

    mode: TVMode = "isotropic"
    eps: float = Field(1e-6, gt=0.0)


class TVLoss(ReducedLossTerm):
    """Total-variation loss term (``core.tv``); reads only ``pred``, see :func:`total_variation`."""

    Params = TVParams
    summary = "Total variation: l2_dln | l1 | isotropic | abs_product | relu_product"
    paper = ("Rudin, Osher & Fatemi 1992 (TV); l2_dln as in the DLN code (Wang et al., TIP 2020), "
             "relu_product as in AuxNet (Jin et al., ICAROB 2023, Eq. 6)")

    inputs: ClassVar[tuple[str, ...]] = ("pred",)
    default_name = "tv"
    zero_for_identical = False
    invariants = ("zero_on_constant", "offset")

    def __init__(self, *, mode: TVMode = "isotropic", eps: float = 1e-6, **kwargs: Any) -> None:
        """Args: mode, eps: see :func:`total_variation`; others: see ``ReducedLossTerm``."""
        super().__init__(**kwargs)
        if mode not in TV_MODES:
            raise ValueError(f"unknown TV mode {mode!r}; choose one of {', '.join(TV_MODES)}")
        self.mode: TVMode = mode
        self.eps = float(eps)

    def compute(self, pred: Tensor, target: Tensor | None = None) -> Tensor:  # type: ignore[override]
        """``(B, C, H, W)`` -> TV; ``target`` is accepted and ignored (``term(pred, target)``)."""
        return total_variation(pred, self.mode, eps=self.eps, reduction=self.reduction)
