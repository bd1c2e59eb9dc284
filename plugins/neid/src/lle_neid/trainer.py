"""``neid.two_stream``: NEID's dual-branch, SR-assisted trainer (paper Sec. 2.3, 3.2).

From a batch of aligned paired crops (``low``, ``high``, e.g. 256×256) it builds the triplet

* ``low_lr``  = bicubic ↓2 of the low-light crop (the network input, e.g. 128×128),
* ``low_hr``  = the low-light crop (the DR target by default, our choice),
* ``high``    = the normal-light crop (the LE target),

runs ``model.forward_train(low_lr)`` (``pred`` and ``dr`` at 2×) and applies the loss to the
context ``{pred, dr, high, low_hr, low_lr, dr_target, ...}``. The paper's loss (Eq. 7) is the
composite ``core.huber(δ=1) + 0.1·core.mse(dr, dr_target) + 0.1·neid.hsv_color`` (see
``recipes/paper.yaml``); ``dr_target`` is ``low_hr`` (default) or ``high``
(``dr_target: high``). Odd crop sizes are trimmed by one row/column so that the ↓2 is exact.

Inference uses the model itself: the DR head never reaches the enhanced output and is left out
of the exported weights (:attr:`lle_neid.model.NEID.training_only_prefixes`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from torch import Tensor, nn

from lle_core.errors import ShapeError
from lle_core.interfaces import Enhancer, StepResult, Trainer
from lle_neid import PAPER
from lle_neid.params import TwoStreamParams
from lle_neid.resize import bicubic_downsample


class TwoStreamTrainer(Trainer):
    """NEID trainer; see the module docstring. Needs paired data."""

    Params = TwoStreamParams
    summary = "NEID trainer: bicubic x2 LR input, LE target = high, DR target = HR low-light"
    paper = f"{PAPER}, Sec. 2.3 and 3.2"

    needs_ground_truth: ClassVar[bool] = True

    def __init__(
        self,
        *,
        model: nn.Module,
        loss: nn.Module | None = None,
        scale: int = 2,
        antialias: bool = True,
        dr_target: Literal["low", "high"] = "low",
    ) -> None:
        """Args: model, loss: runtime; the rest: see :class:`lle_neid.params.TwoStreamParams`."""
        super().__init__(model=model, loss=loss)
        self.scale = scale
        self.antialias = antialias
        self.dr_target = dr_target

    def make_triplet(self, low: Tensor, high: Tensor) -> dict[str, Tensor]:
        """Build ``low_lr``, ``low_hr``, ``high`` and ``dr_target`` from paired crops.

        Args:
            low: ``(B, 3, H, W)`` low-light crops in ``[0, 1]``.
            high: ``(B, 3, H, W)`` normal-light crops in ``[0, 1]``.

        Returns:
            ``low_lr`` ``(B, 3, H', W')`` (``H' = H // scale``), ``low_hr`` and ``high``
            ``(B, 3, scale·H', scale·W')`` and ``dr_target`` (one of the two).
        """
        if low.shape != high.shape or low.dim() != 4:
            raise ShapeError(
                f"neid.two_stream needs 'low' and 'high' batches of equal shape (B, 3, H, W), "
                f"got {tuple(low.shape)} and {tuple(high.shape)}"
            )
        s = self.scale
        h, w = (low.shape[-2] // s) * s, (low.shape[-1] // s) * s
        if h == 0 or w == 0:
            raise ShapeError(
                f"neid.two_stream crops must be at least {s} px, got {tuple(low.shape)}"
            )
        low_hr, high_hr = low[..., :h, :w], high[..., :h, :w]
        low_lr = bicubic_downsample(low_hr, s, antialias=self.antialias)
        dr_target = low_hr if self.dr_target == "low" else high_hr
        return {"low_lr": low_lr, "low_hr": low_hr, "high": high_hr, "dr_target": dr_target}

    def training_step(self, batch: dict[str, Any]) -> StepResult:
        """One step: triplet, ``forward_train(low_lr)``, loss on the merged context."""
        triplet = self.make_triplet(batch["low"], batch["high"])
        if isinstance(self.model, Enhancer):
            outputs = self.model.forward_train(triplet["low_lr"])
        else:
            outputs = {"pred": self.model(triplet["low_lr"])}
        pred = outputs["pred"]
        if pred.shape[-2:] != triplet["high"].shape[-2:]:
            raise ShapeError(
                f"neid.two_stream feeds the model the ↓{self.scale} input "
                f"{tuple(triplet['low_lr'].shape)} and needs a ×{self.scale} output of shape "
                f"{tuple(triplet['high'].shape)}, got pred {tuple(pred.shape)}; use a model "
                "whose forward_train upsamples (e.g. neid.model)"
            )
        context = {**batch, **triplet, **outputs}
        return self.compute_loss(context, outputs)
