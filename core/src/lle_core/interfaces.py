"""The interfaces every component implements.

Backbone, fusion op, loss term, dataset, trainer, metric and the enhancer (model)
a user runs.

Conventions shared by all of them:

* Images are ``float32`` tensors ``(B, 3, H, W)`` (or ``(3, H, W)`` for one dataset item),
  RGB, values in ``[0, 1]``.
* A training *context* is a flat ``dict[str, Tensor]``: the batch (``low``, ``high``, extras a
  dataset or trainer adds) merged with the model's training outputs (``pred`` and auxiliary
  outputs such as ``dr`` or ``illumination``). Loss terms read their inputs from it by key.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from pydantic import Field
from torch import Tensor, nn

from lle_core.errors import ShapeError
from lle_core.registry import Capabilities, Params

# --------------------------------------------------------------------------------------------
# Enhancer (model)
# --------------------------------------------------------------------------------------------


class Enhancer(nn.Module):
    """A low-light enhancer: ``low (B, 3, H, W) in [0, 1] -> enhanced (B, 3, sH, sW) in [0, 1]``.

    ``s`` is ``capabilities.scale`` (1 for nearly every model). The engine reflect-pads inputs
    to ``capabilities.multiple_of`` and crops the output back, so ``forward`` may assume a
    valid size; models that must run on any size by themselves may pad internally.

    Subclasses set :attr:`default_capabilities` (picked up at registration) and, when they have
    parts used only in training (auxiliary heads, calibrators), list their state-dict prefixes in
    :attr:`training_only_prefixes` so that :meth:`export_state_dict` leaves them out.
    """

    default_capabilities: ClassVar[Capabilities] = Capabilities()
    training_only_prefixes: ClassVar[tuple[str, ...]] = ()
    #: Parameter-name prefixes that deliberately get no gradient in the kit's training pass
    #: (the conformance kit fails on any other trainable parameter without one). Fusion ops
    #: and blocks may set the same attribute.
    gradient_exempt: tuple[str, ...] = ()

    @property
    def capabilities(self) -> Capabilities:
        """Capabilities of this instance (may depend on its configuration)."""
        return self.default_capabilities

    def forward_train(self, low: Tensor) -> dict[str, Tensor]:
        """Training forward pass.

        Args:
            low: ``(B, 3, H, W)`` in ``[0, 1]``.

        Returns:
            At least ``{"pred": enhanced}``; models add auxiliary outputs (features,
            illumination maps, auxiliary heads) for their losses.
        """
        return {"pred": self(low)}

    def export_state_dict(self) -> dict[str, Tensor]:
        """Weights needed for inference (training-only parts removed)."""
        return {
            k: v
            for k, v in self.state_dict().items()
            if not any(k.startswith(p) for p in self.training_only_prefixes)
        }


# --------------------------------------------------------------------------------------------
# Backbone
# --------------------------------------------------------------------------------------------


class Backbone(nn.Module):
    """Multi-scale feature extractor.

    ``forward(x)`` takes ``(B, 3, H, W)`` in ``[0, 1]`` (any normalisation the backbone needs is
    done inside) and returns one tensor per level ``i`` of shape
    ``(B, channels[i], H // reductions[i], W // reductions[i])`` for ``H, W`` multiples of
    ``max(reductions)``.
    """

    channels: tuple[int, ...] = ()
    reductions: tuple[int, ...] = ()

    @abc.abstractmethod
    def forward(self, x: Tensor) -> list[Tensor]:
        """Return the feature pyramid, finest level first."""


# --------------------------------------------------------------------------------------------
# Fusion
# --------------------------------------------------------------------------------------------


class FusionOp(nn.Module):
    """Two-input fusion ``(a, b) -> fused``.

    Contract: built with ``channels=C`` (a runtime argument supplied by the host model); ``a``
    and ``b`` are both ``(B, C, H, W)`` and the output is ``(B, C, H, W)``. ``a`` is the host
    stream (e.g. an encoder feature), ``b`` the other stream (a guide/prior feature, a decoder
    feature). Subclasses implement :meth:`fuse`; ``forward`` checks the contract first.
    """

    def __init__(self, channels: int) -> None:
        """Args: channels: ``C``, the channel count of both inputs and of the output."""
        super().__init__()
        if channels < 1:
            raise ValueError(f"fusion channels must be >= 1, got {channels}")
        self.channels = channels

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        """Check the shapes and fuse (see :meth:`fuse`)."""
        if a.dim() != 4 or a.shape != b.shape or a.shape[1] != self.channels:
            raise ShapeError(
                f"{type(self).__name__}(channels={self.channels}) expects two "
                f"(B, {self.channels}, H, W) tensors of equal shape, got a={tuple(a.shape)} "
                f"and b={tuple(b.shape)}"
            )
        return self.fuse(a, b)

    @abc.abstractmethod
    def fuse(self, a: Tensor, b: Tensor) -> Tensor:
        """Fuse two ``(B, C, H, W)`` tensors into one ``(B, C, H, W)`` tensor."""


# --------------------------------------------------------------------------------------------
# Loss terms
# --------------------------------------------------------------------------------------------

#: Context key each loss argument reads unless the term's ``keys`` say otherwise.
DEFAULT_LOSS_KEYS: dict[str, str] = {"pred": "pred", "target": "high", "low": "low"}


class LossParams(Params):
    """Parameters every loss term accepts; loss parameter models subclass this.

    Attributes:
        weight: Multiplier in a composite loss.
        name: Log name (``l_<name>``); defaults to the component's short name.
        keys: Maps the term's argument names to context keys, e.g. ``{"pred": "dr",
            "target": "low_hr"}`` to apply an MSE to an auxiliary output.
    """

    weight: float = Field(1.0, ge=0.0)
    name: str | None = None
    keys: dict[str, str] = Field(default_factory=dict)


class LossTerm(nn.Module):
    """A named, weighted loss term.

    Call it like any loss, ``term(pred, target)``, which runs :meth:`compute` and returns the
    *unweighted* scalar; a composite loss calls :meth:`from_context` and applies ``weight``.
    :attr:`inputs` lists the argument names of :meth:`compute` (``"pred"``, ``"target"``,
    ``"low"``, or any auxiliary output name).
    """

    inputs: ClassVar[tuple[str, ...]] = ("pred", "target")
    #: Whether ``compute(x, x)`` is 0; terms that read only the prediction (TV) or compare
    #: against something else set it to ``False`` (the conformance kit then only checks that
    #: identical inputs give a value no larger than different ones).
    zero_for_identical: ClassVar[bool] = True
    #: Declared inputs the value does not depend on in this configuration (an instance may
    #: set it); the conformance kit requires a gradient w.r.t. every other input.
    unused_inputs: tuple[str, ...] = ()
    #: For terms whose value depends on one input only (regularisers such as TV): properties
    #: the conformance kit checks, from ``"zero_on_constant"`` (0, up to smoothing constants,
    #: on a constant image) and ``"offset"`` (adding a constant leaves the value unchanged).
    invariants: tuple[str, ...] = ()
    #: Smallest spatial side the term accepts (MS-SSIM with 5 scales needs 176).
    min_input_size: ClassVar[int] = 1

    @classmethod
    def conformance_inputs(
        cls, batch: int, height: int, width: int, generator: torch.Generator
    ) -> dict[str, Tensor]:
        """Random inputs for the conformance kit, one per name in :attr:`inputs`.

        The default gives every input a ``(batch, 3, height, width)`` image in ``[0, 1]``;
        terms with other inputs (stacked stage outputs, features) override this.
        """
        return {
            name: torch.rand((batch, 3, height, width), generator=generator) for name in cls.inputs
        }

    def __init__(
        self,
        *,
        weight: float = 1.0,
        name: str | None = None,
        keys: Mapping[str, str] | None = None,
    ) -> None:
        """Args: see :class:`LossParams`."""
        super().__init__()
        self.weight = float(weight)
        self.term_name = name or _snake(type(self).__name__)
        self.keys = {**DEFAULT_LOSS_KEYS, **dict(keys or {})}

    @abc.abstractmethod
    def compute(self, *args: Tensor, **kwargs: Tensor) -> Tensor:
        """Return the unweighted scalar loss."""

    def forward(self, *args: Tensor, **kwargs: Tensor) -> Tensor:
        """Same as :meth:`compute`."""
        return self.compute(*args, **kwargs)

    def context_keys(self) -> dict[str, str]:
        """Argument name -> context key for every entry of :attr:`inputs`."""
        return {arg: self.keys.get(arg, arg) for arg in self.inputs}

    def from_context(self, context: Mapping[str, Tensor]) -> Tensor:
        """Read the inputs from a training context and compute the unweighted loss.

        Raises:
            KeyError: A needed key is missing; the message names it and what is available.
        """
        kwargs = {}
        for arg, key in self.context_keys().items():
            if key not in context:
                raise KeyError(
                    f"loss term {self.term_name!r} needs {key!r} (argument {arg!r}) but the "
                    f"training context has only {sorted(context)}"
                    + (
                        "; this term needs ground truth: use a paired dataset"
                        if key == "high"
                        else ""
                    )
                )
            kwargs[arg] = context[key]
        return self.compute(**kwargs)

    @property
    def needs_ground_truth(self) -> bool:
        """Whether the term reads the ``high`` (ground-truth) image."""
        return "high" in self.context_keys().values()


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out).removesuffix("_loss")


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


class Metric(abc.ABC):
    """An image-quality metric ``(pred, target) -> (B,)`` per-image values.

    Attributes:
        name: Column name in tables.
        higher_is_better: Direction for "best" checkpoints.
        protocol: One line stating colour space, data range, window and aggregation.
    """

    name: ClassVar[str] = "metric"
    higher_is_better: ClassVar[bool] = True
    protocol: ClassVar[str] = ""

    @abc.abstractmethod
    def __call__(self, pred: Tensor, target: Tensor) -> Tensor:
        """Per-image values for ``(B, 3, H, W)`` tensors in ``[0, 1]``."""


# --------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------


class LLEDataset(torch.utils.data.Dataset[dict[str, Any]]):
    """Dataset yielding dicts of images.

    Items: ``low`` ``(3, H, W)`` float32 in ``[0, 1]``, ``high`` of the same shape when
    :attr:`paired`, ``name`` (a string) and optional extras.
    """

    paired: bool = True
    keys: tuple[str, ...] = ("low", "high", "name")

    @abc.abstractmethod
    def __len__(self) -> int:
        """Number of items."""

    @abc.abstractmethod
    def __getitem__(self, index: int) -> dict[str, Any]:
        """The item at ``index``."""

    def set_epoch(self, epoch: int) -> None:
        """Called by the engine at each epoch (datasets with per-epoch randomness reseed)."""


# --------------------------------------------------------------------------------------------
# Trainers
# --------------------------------------------------------------------------------------------


@dataclass
class StepResult:
    """What :meth:`Trainer.training_step` returns.

    Attributes:
        loss: Scalar to back-propagate.
        logs: Values to log (loss terms ``l_<name>`` and anything else), as floats.
        outputs: Model outputs of the step (for previews); may be empty.
    """

    loss: Tensor
    logs: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, Tensor] = field(default_factory=dict)


class Trainer:
    """Turns a batch into a loss: a paper's training procedure, run by the engine's loop.

    The engine builds the model, the loss and the data from the run config, then builds the
    trainer with ``model=`` and ``loss=`` as runtime arguments. Per step it moves the batch to
    the device, calls :meth:`training_step`, back-propagates ``result.loss``, clips, steps the
    optimizer (over :meth:`parameters`) and the scheduler. Checkpoints hold every module of
    :meth:`modules`; exported inference weights are those of :meth:`inference_model`.

    Hooks are no-ops by default; override what the trainer needs (freezing parts, loading a
    previous stage, models trained jointly).
    """

    #: Whether the trainer needs ``high`` images in the batches.
    needs_ground_truth: ClassVar[bool] = True

    def __init__(self, *, model: nn.Module, loss: nn.Module | None = None) -> None:
        """Args: model: the enhancer being trained; loss: the composite loss (or ``None``)."""
        self.model = model
        self.loss = loss

    # -- what is trained ------------------------------------------------------------------
    def modules(self) -> dict[str, nn.Module]:
        """Every module whose state the checkpoint holds, by name (``"model"`` first)."""
        return {"model": self.model}

    def parameters(self) -> Iterator[nn.Parameter]:
        """Parameters the optimizer updates (default: all trainable ones of :meth:`modules`)."""
        seen: set[int] = set()
        for module in self.modules().values():
            for p in module.parameters():
                if p.requires_grad and id(p) not in seen:
                    seen.add(id(p))
                    yield p

    def inference_model(self) -> nn.Module:
        """The model exported and evaluated (default: :attr:`model`)."""
        return self.model

    def train(self, mode: bool = True) -> None:
        """Set train/eval mode; trainers with frozen parts keep them in eval mode."""
        for module in self.modules().values():
            module.train(mode)

    # -- the step -------------------------------------------------------------------------
    def training_step(self, batch: dict[str, Any]) -> StepResult:
        """One supervised step: ``context = batch | model.forward_train(low)``, then the loss."""
        outputs = _forward_train(self.model, batch["low"])
        context = {**batch, **outputs}
        return self.compute_loss(context, outputs)

    def compute_loss(self, context: Mapping[str, Any], outputs: dict[str, Tensor]) -> StepResult:
        """Apply :attr:`loss` to a context (composite losses return ``(total, logs)``).

        The loss runs in float32 with autocast disabled, whatever the forward pass used:
        reduced-precision tensors of the context are cast up first. Under bf16 autocast,
        SSIM's variance terms (``E[x²] - E[x]²``) otherwise cancel to negative values and the
        loss becomes ``-inf`` within a few steps.
        """
        if self.loss is None:
            raise ValueError(f"{type(self).__name__} needs a loss; set `loss:` in the config")
        full = {k: v.float() if isinstance(v, Tensor) and v.is_floating_point()
                and v.dtype != torch.float32 else v for k, v in context.items()}
        device = next((v.device.type for v in full.values() if isinstance(v, Tensor)), "cpu")
        with torch.autocast(device, enabled=False):
            value = self.loss(full)
        if isinstance(value, tuple):
            total, logs = value
        else:
            total, logs = value, {}
        return StepResult(total, {k: float(v) for k, v in logs.items()}, outputs)

    # -- hooks ----------------------------------------------------------------------------
    def on_train_start(self, run: Any) -> None:
        """Before the first step (after a resume has restored state); may raise to refuse."""

    def on_step_end(self, step: int, result: StepResult) -> None:
        """After each optimizer step."""

    def on_epoch_end(self, epoch: int) -> None:
        """After each epoch."""

    def on_train_end(self, run: Any) -> None:
        """After the last step."""

    def extra_state(self) -> dict[str, Any]:
        """Trainer state to checkpoint beyond module weights (plain tensors/numbers)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`extra_state`."""


def _forward_train(model: nn.Module, low: Tensor) -> dict[str, Tensor]:
    if isinstance(model, Enhancer):
        return model.forward_train(low)
    return {"pred": model(low)}


def trainable(modules: Iterable[nn.Module]) -> list[nn.Parameter]:
    """Trainable parameters of several modules, without duplicates."""
    seen: set[int] = set()
    out = []
    for m in modules:
        for p in m.parameters():
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                out.append(p)
    return out
