"""Turning what a user names into a model ready for inference, and images into batches.

:func:`model_for_inference` is the one entry point from a name, spec, module and/or weights
file to a model; :func:`as_batch` turns paths, PIL images, arrays and tensors into a batch.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from lle_core.checkpoint import (
    load_model,
    load_weights,
    mark_weights,
    read_checkpoint,
    weights_source,
)
from lle_core.errors import (
    ImageReadError,
    RandomWeightsWarning,
    ShapeError,
    TensorError,
    WeightsError,
)
from lle_core.spec import ComponentSpec, parse_spec

#: What a user can pass as the model: a built module, a name, a mapping spec or a spec object.
ModelLike = nn.Module | str | Mapping[str, Any] | ComponentSpec

HOW_TO_GET_WEIGHTS = (
    "pass trained weights: in Python `enhance(..., weights='run/best.safetensors')`, on the "
    "command line `lle enhance ... --weights run/best.safetensors` (a checkpoint records its "
    "model, so --model is then optional). Get weights by training: `lle train --config "
    "<recipe>` or, for a quick small model, `lle demo --train`; or use a parameter-free baseline "
    "(core.identity, core.gamma, core.histeq, core.clahe)"
)


def model_for_inference(
    model: ModelLike | None, weights: str | Path | None = None
) -> nn.Module:
    """Return a built model for inference: the one entry point from what a user names.

    Args:
        model: A built ``nn.Module`` (returned as is, or loaded with ``weights``), a name,
            spec mapping or :class:`ComponentSpec` built via the registry, or ``None`` when
            ``weights`` names a checkpoint (which records its model).
        weights: Optional ``.safetensors`` checkpoint written by the engine, a checkpoint name
            or a run directory (its ``best``, else ``latest``). With a named ``model`` it must
            hold that model (a mismatch is an error, not a silent surprise); parameters given
            with it (a spec mapping) override the recorded ones, e.g.
            ``{"type": "neid.model", "mode": "field_to_command"}``.

    Raises:
        WeightsError: ``model`` names an architecture whose capabilities say it needs
            weights and none were given (never random weights silently), the weights do
            not fit, or they hold another model than ``model`` names.
        CheckpointError: Missing file or not an lle checkpoint.

    The loaders underneath, by what they start from (all in :mod:`lle_core.checkpoint`):
    :func:`~lle_core.checkpoint.read_checkpoint` (a file -> tensors and metadata),
    :func:`~lle_core.checkpoint.load_weights` (tensors -> into an existing module,
    strict) and :func:`~lle_core.checkpoint.load_model` (a file -> the model it
    records, weights loaded).
    """
    if model is None:
        if weights is None:
            raise ValueError("no model given: pass a model, a model name or weights=")
        return load_model(weights)
    if isinstance(model, nn.Module):
        if weights is not None:
            tensors, _ = read_checkpoint(weights)
            load_weights(model, tensors, source=str(weights))
            mark_weights(model, str(weights))
        warn_if_random(model)
        return model
    if weights is not None:
        return _checkpoint_model(weights, model)
    spec = parse_spec("model", model)
    if spec.entry.capabilities.needs_weights:
        raise WeightsError(
            f"model {spec.name!r} needs trained weights and none were given (lle never runs "
            f"an architecture with random weights); {HOW_TO_GET_WEIGHTS}"
        )
    built = spec.build()
    if not isinstance(built, nn.Module):
        raise TypeError(f"model {spec.name!r} built a {type(built).__name__}, not an nn.Module")
    return built


def _checkpoint_model(
    path: str | Path, model: str | Mapping[str, Any] | ComponentSpec
) -> nn.Module:
    """The model a checkpoint records, checked against (and parametrised by) ``model``."""
    overrides: dict[str, Any] = {}
    if isinstance(model, Mapping):
        overrides = {k: v for k, v in model.items() if k != "type"}
    elif isinstance(model, ComponentSpec):
        overrides = dict(model.params.model_dump(exclude_defaults=True))
    built = load_model(path, overrides=overrides or None)
    wanted = parse_spec("model", model).name
    got = getattr(getattr(built, "lle_spec", None), "name", None)
    if got is not None and got != wanted:
        raise WeightsError(
            f"weights file {path} holds a {got!r} model, but {wanted!r} was asked for; "
            "drop --model (the checkpoint records its model) or pass matching weights"
        )
    return built


def warn_if_random(model: nn.Module) -> None:
    """Warn (:class:`RandomWeightsWarning`) when a model that needs weights has none loaded."""
    from lle_core.inference.padding import model_capabilities

    if weights_source(model) is None and model_capabilities(model).needs_weights:
        warnings.warn(
            f"{type(model).__name__} runs with random weights: its output is meaningless. "
            "Load trained weights: lle_core.create('model', NAME, pretrained=True), "
            "lle_core.load_model(CHECKPOINT), or see `lle weights` for the shipped sets",
            RandomWeightsWarning,
            stacklevel=3,
        )


def read_image_file(path: str | Path) -> Tensor:
    """Read an image file as ``(3, H, W)`` float32 in ``[0, 1]`` (via :mod:`lle_core.io`)."""
    from lle_core.io import read_image

    return read_image(path)


def pil_to_tensor(image: Any) -> Tensor:
    """Convert a PIL image (any mode) to ``(3, H, W)`` float32 in ``[0, 1]``."""
    arr = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous()


def check_image_tensor(x: Tensor, *, what: str = "image") -> tuple[float, float]:
    """Refuse an image batch that no model should see; return its ``(min, max)``.

    Args:
        x: ``(B, 3, H, W)`` float in ``[0, 1]``.
        what: How the message names it.

    Raises:
        TensorError: Empty (a zero dimension), NaN or infinite values, or values outside
            ``[0, 1]``; the message gives the shape and the count or range of bad values.
    """
    shape = tuple(x.shape)
    if x.numel() == 0:
        raise TensorError(f"{what} of shape {shape} is empty (a batch needs B, H, W >= 1)")
    lo, hi = (float(v) for v in torch.aminmax(x))  # one pass; NaN/Inf show in the extremes
    if not (math.isfinite(lo) and math.isfinite(hi)):
        finite = torch.isfinite(x)
        nan = int(torch.isnan(x).sum())
        inf = int((~finite).sum()) - nan
        raise TensorError(
            f"{what} of shape {shape} holds {nan} NaN and {inf} infinite value(s); models "
            "spread them over their receptive field, so lle refuses them"
        )
    if lo < -1e-4 or hi > 1 + 1e-4:
        raise TensorError(
            f"{what} values must be in [0, 1], got [{lo:.4g}, {hi:.4g}] (shape {shape}); "
            "divide 8-bit data by 255"
        )
    return lo, hi


def as_batch(image: Any) -> tuple[Tensor, bool]:
    """Normalise an input to a ``(B, 3, H, W)`` float32 batch in ``[0, 1]``.

    Accepts a file path, a PIL image, a ``(3, H, W)`` or ``(B, 3, H, W)`` tensor (floating
    point in ``[0, 1]`` or uint8 in ``[0, 255]``) or a numpy ``(H, W, 3)`` array.

    Returns:
        The batch and whether the input was a single ``(3, H, W)`` tensor (whose result is
        returned without the batch dimension).

    Raises:
        ShapeError: Wrong rank or channel count.
        TensorError: Empty, NaN/Inf, values outside ``[0, 1]``, or a dtype that is neither
            floating point nor uint8.
        ImageReadError: A path that cannot be read.
    """
    squeeze = False
    if isinstance(image, str | Path):
        if not Path(image).is_file():
            raise ImageReadError(f"image not found: {image}")
        x = read_image_file(image).unsqueeze(0)
    elif hasattr(image, "convert") and hasattr(image, "size") and not isinstance(image, Tensor):
        x = pil_to_tensor(image).unsqueeze(0)
    else:
        if isinstance(image, np.ndarray):
            if image.ndim != 3 or image.shape[-1] != 3:
                raise ShapeError(f"numpy images must be (H, W, 3), got {image.shape}")
            image = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
        if not isinstance(image, Tensor):
            raise TypeError(
                f"cannot enhance a {type(image).__name__}: pass a path, a PIL image or a "
                "(3, H, W) / (B, 3, H, W) tensor in [0, 1]"
            )
        given = tuple(image.shape)
        if image.dim() == 3:
            image, squeeze = image.unsqueeze(0), True
        if image.dim() != 4 or image.shape[1] != 3:
            raise ShapeError(f"expected a (3, H, W) or (B, 3, H, W) RGB tensor, got {given}")
        if image.dtype == torch.uint8:
            x = image.float() / 255.0
        elif image.is_floating_point():
            x = image.float()
        else:
            raise TensorError(
                f"image tensor of shape {tuple(image.shape)} has dtype {image.dtype}; pass "
                "floating point in [0, 1] or uint8 in [0, 255]"
            )
    lo, hi = check_image_tensor(x[0] if squeeze else x, what="image" if squeeze else "image batch")
    if lo >= 0.0 and hi <= 1.0:  # already in range: no copy (the model never writes its input)
        return x, squeeze
    return x.clamp(0.0, 1.0), squeeze
