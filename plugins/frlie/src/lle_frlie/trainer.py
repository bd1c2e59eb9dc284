"""``frlie.two_stage``: the two-stage training of FRLIE (FRLIE Sec. 2.1–2.2).

* ``stage: 1``: E and D learn to reconstruct normal-light images (Eq. 1). The model input is
  ``high``; the context gets ``pred = D(E(I_h))`` and ``feat_high = E(I_h)``. Only E and D are
  optimised.
* ``stage: 2``: E and D come from a stage-1 checkpoint, are frozen (``requires_grad=False``)
  and stay in eval mode, so their batch-norm statistics never move; only FRNet is optimised.
  Context: ``pred = D(F_r)``, ``feat_restored = F_r = FRNet(E(I_l))``, ``feat_low = E(I_l)``
  and ``feat_target`` (``E(I_h)`` detached by default, the paper; ``E(I_l)`` with
  ``fm_target: low``, the released code).
* ``stage: end_to_end``: E, FRNet and D trained jointly (Table 1 "w/o FR", used with a loss
  without feature matching); the context is as in stage 2.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor, nn

from lle_core.errors import ConfigError
from lle_core.interfaces import StepResult, Trainer
from lle_frlie import PAPER
from lle_frlie.checkpoint import load_autoencoder_weights
from lle_frlie.params import TwoStageParams

Stage = Literal[1, 2, "end_to_end"]

_PARTS = ("encode", "restore", "decode", "encoder", "decoder", "frnet")


class TwoStageTrainer(Trainer):
    """Two-stage feature-restoration training (see the module docstring).

    Attributes:
        stage: ``1``, ``2`` or ``"end_to_end"``.
        fm_target: ``"high"`` or ``"low"``.
        loaded_keys: Model state keys loaded from the stage-1 checkpoint (empty otherwise).
    """

    Params = TwoStageParams
    summary = "Stage 1 trains E/D on normal-light images; stage 2 trains FRNet with E/D frozen"
    paper = f"{PAPER}, Sec. 2.1-2.2, Eq. 7"

    needs_ground_truth: ClassVar[bool] = True

    def __init__(
        self,
        *,
        model: nn.Module,
        loss: nn.Module | None = None,
        stage: Stage = 2,
        stage1_checkpoint: str | None = None,
        allow_untrained_autoencoder: bool = False,
        fm_target: Literal["high", "low"] = "high",
    ) -> None:
        """Build the trainer; for stage 2 load (and freeze) the stage-1 encoder/decoder.

        Args:
            model: ``frlie.model`` (or any model with ``encode``/``restore``/``decode`` and
                ``encoder``/``decoder``/``frnet`` sub-modules).
            loss: Composite loss over the training context.
            stage: See :class:`lle_frlie.params.TwoStageParams`.
            stage1_checkpoint: Stage-1 safetensors checkpoint (stage 2).
            allow_untrained_autoencoder: Stage 2 without a checkpoint, on purpose.
            fm_target: ``"high"`` (paper) or ``"low"`` (code).

        Raises:
            ConfigError: Stage 2 without a checkpoint and without the opt-out, an unknown
                stage, or a model that lacks the FRLIE parts.
            CheckpointError: The checkpoint cannot be read or does not fit the model.
        """
        super().__init__(model=model, loss=loss)
        missing = [name for name in _PARTS if not hasattr(model, name)]
        if missing:
            raise ConfigError(
                [
                    (
                        "model",
                        f"frlie.two_stage needs an FRLIE-like model; "
                        f"{type(model).__name__} lacks {', '.join(missing)}",
                    )
                ]
            )
        if stage not in (1, 2, "end_to_end"):
            raise ConfigError([("trainer.stage", f"must be 1, 2 or 'end_to_end', got {stage!r}")])
        if fm_target not in ("high", "low"):
            raise ConfigError(
                [("trainer.fm_target", f"must be 'high' or 'low', got {fm_target!r}")]
            )
        self.stage: Stage = stage
        self.fm_target = fm_target
        self.stage1_checkpoint = stage1_checkpoint
        self.loaded_keys: list[str] = []
        if stage == 2:
            if stage1_checkpoint:
                self.loaded_keys = load_autoencoder_weights(model, stage1_checkpoint)
            elif not allow_untrained_autoencoder:
                raise ConfigError(
                    [
                        (
                            "trainer.stage1_checkpoint",
                            "stage 2 trains FRNet against a frozen encoder/decoder and needs the "
                            "stage-1 weights: pass --set trainer.stage1_checkpoint=PATH/TO/"
                            "stage1.safetensors (the checkpoint of a `frlie:paper_stage1` run), or "
                            "set trainer.allow_untrained_autoencoder=true to run with untrained "
                            "E/D on purpose",
                        )
                    ]
                )
        self._set_frozen(stage == 2)

    # -- what is trained ------------------------------------------------------------------
    def _set_frozen(self, frozen: bool) -> None:
        m: Any = self.model
        freeze = getattr(m, "freeze_autoencoder", None)
        if callable(freeze):
            freeze(frozen)
        else:  # a duck-typed model: freeze by hand (train() below keeps eval mode)
            for part in (m.encoder, m.decoder):
                for p in part.parameters():
                    p.requires_grad_(not frozen)

    def _trained_modules(self) -> list[nn.Module]:
        m: Any = self.model
        if self.stage == 1:
            return [m.encoder, m.decoder]
        if self.stage == 2:
            return [m.frnet]
        return [m]

    def parameters(self) -> Iterator[nn.Parameter]:
        """Stage 1: E and D; stage 2: FRNet only; end-to-end: everything."""
        seen: set[int] = set()
        for module in self._trained_modules():
            for p in module.parameters():
                if p.requires_grad and id(p) not in seen:
                    seen.add(id(p))
                    yield p

    def train(self, mode: bool = True) -> None:
        """Set the mode; in stage 2 E and D stay in eval mode (BN statistics are kept)."""
        m: Any = self.model
        m.train(mode)
        if self.stage == 2:
            m.encoder.eval()
            m.decoder.eval()

    # -- the step -------------------------------------------------------------------------
    def _context(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        m: Any = self.model
        if "high" not in batch:
            raise KeyError(
                "frlie.two_stage needs paired batches with a 'high' (normal-light) image; "
                f"the batch has only {sorted(batch)}"
            )
        high: Tensor = batch["high"]
        if self.stage == 1:
            feat_high = m.encode(high)
            return {"pred": m.decode(feat_high), "feat_high": feat_high}
        low: Tensor = batch["low"]
        if self.stage == 2:
            with torch.no_grad():  # E is frozen: no graph needed for its output
                feat_low = m.encode(low)
        else:
            feat_low = m.encode(low)
        feat_restored = m.restore(feat_low)
        pred = m.decode(feat_restored)
        # paper: E(I_h) (detached); code: E(I_l)
        feat_target = feat_low.detach() if self.fm_target == "low" else self._encode_target(high)
        return {
            "pred": pred,
            "feat_low": feat_low,
            "feat_restored": feat_restored,
            "feat_target": feat_target,
        }

    def _encode_target(self, high: Tensor) -> Tensor:
        """E(I_h) without gradients and without touching BN statistics (eval-mode pass)."""
        encoder: nn.Module = self.model.encoder  # type: ignore[assignment]
        was_training = encoder.training
        encoder.eval()
        try:
            with torch.no_grad():
                return self.model.encode(high)  # type: ignore[operator]
        finally:
            encoder.train(was_training)

    def training_step(self, batch: dict[str, Any]) -> StepResult:
        """One step: build the stage's context (see the module docstring) and apply the loss.

        Args:
            batch: ``low`` and ``high`` ``(B, 3, H, W)`` in [0, 1], H and W multiples of 4.
        """
        outputs = self._context(batch)
        return self.compute_loss({**batch, **outputs}, outputs)

    def extra_state(self) -> dict[str, Any]:
        """The stage, for the record."""
        return {"stage": str(self.stage), "fm_target": self.fm_target}
