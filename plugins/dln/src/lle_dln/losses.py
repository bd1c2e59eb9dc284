"""DLN's difference loss ``Loss_dif(Q̂, Q) = 1 − SSIM(Q̂, Q) + λ·TV(Q̂)`` (DLN slides).

The paper recipes express this loss as a core composite (``core.ssim`` weight 1 +
``core.tv`` weight 0.001, mode ``l2_dln``), which logs both terms separately. This module
registers the same formula as one term, ``dln.loss_dif``, so that it can be named in a single
line of another model's config and reused with other ``keys`` (e.g. on an auxiliary output).

* SSIM: core's reference SSIM (11×11 Gaussian, σ 1.5, data range 1), ``valid`` padding as in
  the DLN code by default.
* TV on the estimate only (the slides' ``TV(Q̂, Q)`` never uses ``Q``). Default mode
  ``l2_dln`` (the code's squared-gradient TV); the slides' sqrt-of-product exists only in
  core's NaN-safe ``abs_product`` / ``relu_product`` modes (a raw ``sqrt`` of the product is
  never computed here).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field
from torch import Tensor

from lle_core.interfaces import LossParams, LossTerm
from lle_dln import PAPER

TVMode = Literal["l2_dln", "l1", "isotropic", "abs_product", "relu_product"]


class DifferenceLossParams(LossParams):
    """Parameters of ``dln.loss_dif``.

    Attributes:
        tv_weight: λ (0.001 in the slides and the code).
        tv_mode: TV variant (see :mod:`lle_core.losses`); ``l2_dln`` = the DLN code.
        padding: SSIM window padding, ``valid`` (DLN code) or ``same``.
    """

    tv_weight: float = Field(0.001, ge=0.0)
    tv_mode: TVMode = "l2_dln"
    padding: Literal["valid", "same"] = "valid"


class DifferenceLoss(LossTerm):
    """``1 − mean SSIM(pred, target) + tv_weight·TV(pred)`` for ``(B, 3, H, W)`` in ``[0, 1]``.

    Not zero for identical inputs (TV reads only ``pred``). With ``padding="valid"`` the images
    need at least 11 px per side.
    """

    Params = DifferenceLossParams
    summary = "DLN Loss_dif = 1 − SSIM(pred, target) + 0.001·TV(pred) (l2_dln TV)"
    paper = f"{PAPER}, loss function slide"

    inputs: ClassVar[tuple[str, ...]] = ("pred", "target")
    zero_for_identical: ClassVar[bool] = False
    min_input_size: ClassVar[int] = 11

    def __init__(self, *, tv_weight: float = 0.001, tv_mode: TVMode = "l2_dln",
                 padding: Literal["valid", "same"] = "valid", weight: float = 1.0,
                 name: str | None = None, keys: dict[str, str] | None = None) -> None:
        """Args: see :class:`DifferenceLossParams` and :class:`LossParams`."""
        super().__init__(weight=weight, name=name or "dif", keys=keys)
        self.tv_weight = float(tv_weight)
        self.tv_mode = tv_mode
        self.padding = padding

    def compute(self, pred: Tensor, target: Tensor) -> Tensor:  # type: ignore[override]
        """Return the unweighted scalar loss."""
        from lle_core.losses import ssim, total_variation

        structure = 1.0 - ssim(pred, target, padding=self.padding).mean()
        if self.tv_weight == 0:
            return structure
        return structure + self.tv_weight * total_variation(pred, mode=self.tv_mode)
