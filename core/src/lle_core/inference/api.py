"""``enhance``: one call from an image (or a batch) to the enhanced result."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from lle_core.errors import ConfigError, TensorError
from lle_core.inference.exposure import apply_exposure
from lle_core.inference.fast import fast_model
from lle_core.inference.loading import ModelLike, as_batch, model_for_inference
from lle_core.inference.memory import autocast_context, measure_bytes_per_pixel
from lle_core.inference.padding import (
    check_input_size,
    crop_edges,
    edge_margin,
    forward_padded,
    model_capabilities,
    pad_edges,
)
from lle_core.inference.tiling import (
    TilePlan,
    auto_tile_side,
    default_overlap,
    make_plan,
    tiled_forward,
)
from lle_core.options import exposure_option, memory_mb_option, overlap_option, tile_option
from lle_core.registry import Capabilities

TileArg = int | Literal["auto", "off"] | None


def resolve_device(model: nn.Module, device: torch.device | str | None) -> torch.device:
    """The device to run on: ``device`` if given and usable, else the model's, else CPU.

    Raises:
        ConfigError: ``device`` is not a device name (``gpu0``) or names an accelerator this
            machine does not have (``cuda`` without a GPU, ``cuda:3`` with one GPU).
    """
    if device is None:
        for p in model.parameters():
            return p.device
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ConfigError(
            [("device", f"{device!r} is not a device; use cpu, cuda, cuda:N or mps")]
        ) from None
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ConfigError([("device", f"{device!r} asked for, but no CUDA GPU is available")])
        if dev.index is not None and dev.index >= count:
            raise ConfigError(
                [("device", f"{device!r} asked for, but this machine has {count} CUDA GPU(s)")]
            )
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError([("device", f"{device!r} asked for, but MPS is not available")])
    return dev


def check_dtype(dtype: torch.dtype | str | None, caps: Capabilities, name: str) -> Any:
    """The autocast dtype to use (``None`` for float32).

    Raises:
        ConfigError: Unknown dtype, or one the model's capabilities do not list.
    """
    if dtype is None:
        return None
    if isinstance(dtype, str):
        value = getattr(torch, dtype, None)
        if not isinstance(value, torch.dtype):
            raise ConfigError([("dtype", f"unknown dtype {dtype!r}")])
        dtype = value
    if dtype == torch.float32:
        return None
    label = str(dtype).removeprefix("torch.")
    if label not in caps.dtypes:
        raise ConfigError(
            [(
                "dtype",
                f"model {name} supports dtypes {list(caps.dtypes)}, not {label!r} (its "
                "capabilities say so; running it anyway risks NaN or wrong colours)",
            )]
        )
    return dtype


def check_options(
    model: nn.Module,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | str | None = None,
    overlap: int | None = None,
) -> tuple[torch.device, torch.dtype | None]:
    """Check the run options of :func:`enhance` for ``model`` before any image is read.

    Returns:
        The device to run on and the autocast dtype (``None`` for float32).

    Raises:
        ConfigError: An unusable ``device``, ``dtype`` or ``overlap`` (keyed by its name).
    """
    overlap_option(overlap)
    dev = resolve_device(model, device)
    name = getattr(getattr(model, "lle_spec", None), "name", type(model).__name__)
    return dev, check_dtype(dtype, model_capabilities(model), name)


def plan_tiling(
    model: nn.Module,
    x: Tensor,
    caps: Capabilities,
    *,
    tile: TileArg = "auto",
    overlap: int | None = None,
    max_memory_mb: float | None = None,
    dtype: torch.dtype | None = None,
) -> TilePlan | None:
    """Decide whether and how to tile (``None`` means one whole-image pass).

    ``tile="auto"``/``None``: tile only when ``bytes_per_pixel × B × H × W`` (see
    :mod:`lle_core.inference.memory`) exceeds the budget, with the largest square tile that
    fits it. An ``int`` forces that tile size; ``"off"``/``0`` never tiles. Models whose
    ``tiling`` is ``"whole"`` are never tiled (a warning says when the estimate exceeds the
    budget).
    """
    b, _, h, w = x.shape
    name = getattr(getattr(model, "lle_spec", None), "name", type(model).__name__)
    tile = tile_option(tile)
    if tile == "off":
        return None
    budget = memory_mb_option(max_memory_mb) * 2**20
    if tile == "auto":
        bpp = measure_bytes_per_pixel(model, caps, device=x.device, dtype=dtype)
        need = bpp * b * h * w
        if need <= budget:
            return None
        if caps.tiling == "whole":
            warnings.warn(
                f"model {name} needs the whole image (tiling: whole) and is estimated to use "
                f"{need / 2**20:.0f} MiB for this {h}x{w} input, above the "
                f"{budget / 2**20:.0f} MiB budget; running it untiled anyway",
                ResourceWarning,
                stacklevel=3,
            )
            return None
        side = auto_tile_side(bpp, b, budget, caps)
        full = default_overlap(caps)
        need_full = bpp * b * (2 * full) ** 2  # the smallest tile with the full context
        if overlap is None and 2 * full > side and need_full > budget + max(budget / 4, 2**26):
            plan = make_plan(side, side // 2, caps)  # the budget wins over the full context
            warnings.warn(
                f"model {name}: tiles with its full context (overlap {full} px) would need "
                f"{need_full / 2**20:.0f} MiB, well over the {budget / 2**20:.0f} MiB budget; "
                f"using overlap {plan.overlap} px (seams may differ slightly from the whole "
                "image; raise --max-memory-mb or give --overlap to choose)",
                stacklevel=3,
            )
            return plan if plan.tile < max(h, w) else None
        plan = make_plan(side, overlap, caps)
        if plan.tile < 2 * plan.overlap:  # below this most pixels are computed 3+ times
            plan = make_plan(2 * plan.overlap, plan.overlap, caps)
        return plan if plan.tile < max(h, w) else None
    if caps.tiling == "whole":
        warnings.warn(
            f"model {name} needs the whole image (tiling: whole); ignoring tile={tile}",
            stacklevel=3,
        )
        return None
    return make_plan(tile, overlap, caps)


def enhance(
    model: ModelLike | None,
    image_or_batch: Any,
    *,
    weights: str | Path | None = None,
    device: torch.device | str | None = None,
    tile: TileArg = "auto",
    overlap: int | None = None,
    max_memory_mb: float | None = None,
    dtype: torch.dtype | str | None = None,
    progress: Callable[[int, int], None] | None = None,
    plain: bool | None = None,
    exposure: float | None = None,
) -> Tensor:
    """Enhance an image or a batch with any registered model.

    Eval mode, ``no_grad``; the input reflect-padded by an edge margin (no frame along the
    border) and to ``multiple_of``/``min_size``, cropped back; in blended overlapping tiles
    when over the memory budget (:mod:`~lle_core.inference.tiling`, ``docs/inference.md``).

    Args:
        model: A built ``nn.Module``, or a model name / spec mapping / ``ComponentSpec``
            built through the registry. A named model whose capabilities say
            ``needs_weights`` is refused unless ``weights`` is given.
        image_or_batch: File path, PIL image, ``(3, H, W)`` or ``(B, 3, H, W)`` tensor in
            ``[0, 1]`` (uint8 tensors are divided by 255), or an ``(H, W, 3)`` numpy array.
        weights: Checkpoint weights file (``run/best.safetensors``); it records its model, so
            ``model`` may then be ``None``. A model given as well must match it.
        device: Where to run (default: the model's device, else CPU). The model is moved.
        tile: ``"auto"`` (default; tile when over the budget), ``"off"`` or ``0``, or a
            positive tile side in input pixels (:func:`lle_core.options.tile_option`).
        overlap: Pixels shared by neighbouring tiles (default ``2·receptive_field + ramp``).
        max_memory_mb: Budget of one forward pass (default 1024 MiB or ``LLE_MAX_MEMORY_MB``).
        dtype: ``torch.bfloat16``/``"bfloat16"`` to run under autocast (only if the model
            lists it in ``capabilities.dtypes``); ``None`` for float32.
        progress: ``progress(done, total)`` called after each tile.
        plain: ``True`` runs the model's own eager float32 forward; ``False``/``None``
            (default; ``LLE_PLAIN=1`` makes ``None`` plain) runs its fast copy with the
            optimisations its ``capabilities.fast_path`` declares
            (:mod:`lle_core.inference.fast`).
        exposure: Stops (EV) brighter (``> 0``) or darker than the model's own result
            (:mod:`lle_core.inference.exposure`); ``None``/``0``: as the model learned.

    Raises:
        TensorError: The input is empty, holds NaN/Inf or values outside ``[0, 1]`` (see
            :func:`~lle_core.inference.loading.check_image_tensor`), or the model produced
            NaN/Inf (never saved silently as black pixels).
        ShapeError: Wrong rank or channel count, or an image smaller than the model's
            ``capabilities.min_input`` on either side.
        ImageReadError: A path that cannot be read (the message names it).
        ConfigError: Unusable ``device``, ``dtype``, ``overlap``, ``tile``, ``max_memory_mb``
            or ``exposure`` (NaN, infinite).

    Returns:
        float32 in ``[0, 1]``: ``(3, sH, sW)`` for a ``(3, H, W)`` tensor, else ``(B, 3, sH, sW)``.

    Example:
        >>> import torch, lle_core
        >>> out = lle_core.enhance("core.gamma", torch.rand(3, 30, 41))  # doctest: +SKIP
        >>> out.shape  # doctest: +SKIP
        torch.Size([3, 30, 41])
    """
    tile, max_memory_mb = tile_option(tile), memory_mb_option(max_memory_mb)  # before any work
    exposure = exposure_option(exposure)
    net = model_for_inference(model, weights)
    caps = model_capabilities(net)
    name = getattr(getattr(net, "lle_spec", None), "name", type(net).__name__)
    dev, run_dtype = check_options(net, device=device, dtype=dtype, overlap=overlap)
    net = net.to(dev).eval()
    run = fast_model(net, caps, dev, plain=plain)
    x, squeeze = as_batch(image_or_batch)
    del image_or_batch  # with the caller's reference gone, the padded copy replaces the input
    check_input_size(x, caps, name)
    margin = edge_margin(caps)
    x = pad_edges(x.to(dev), margin)
    y = crop_edges(_forward(net, run, x, caps, dtype=run_dtype, tile=tile, overlap=overlap,
                            max_memory_mb=max_memory_mb, progress=progress), margin, caps.scale)
    y = apply_exposure(crop_edges(x, margin), y, exposure, caps)
    y = _finite_output(y, x, name)
    return y[0] if squeeze else y


def _forward(
    net: nn.Module,
    run: nn.Module,
    x: Tensor,
    caps: Capabilities,
    *,
    dtype: torch.dtype | None,
    tile: TileArg,
    overlap: int | None,
    max_memory_mb: float | None,
    progress: Callable[[int, int], None] | None,
) -> Tensor:
    """``run`` on ``x`` ``(B, 3, H, W)``: padded whole, or in tiles (:func:`plan_tiling`).

    Under ``no_grad`` and autocast to ``dtype``; returns float32 ``(B, 3, sH, sW)``.
    """
    with torch.no_grad(), autocast_context(x.device, dtype):
        plan = plan_tiling(net, x, caps, tile=tile, overlap=overlap,
                           max_memory_mb=max_memory_mb, dtype=dtype)
        if plan is not None:
            return tiled_forward(run, x, caps, plan, progress=progress)
        y = forward_padded(run, x, caps).float()
    if progress is not None:
        progress(1, 1)
    return y


def _finite_output(y: Tensor, x: Tensor, name: str) -> Tensor:
    """``y`` clamped to ``[0, 1]``, never ``x``'s storage (core.identity returns its input).

    Raises:
        TensorError: ``y`` holds NaN or infinite values (counted in the message).
    """
    if y.untyped_storage().data_ptr() == x.untyped_storage().data_ptr():
        y = y.clone()
    lo, hi = torch.aminmax(y)  # one pass; NaN/Inf show in the extremes
    bad = 0 if math.isfinite(float(lo)) and math.isfinite(float(hi)) else int(
        (~torch.isfinite(y)).sum()
    )
    if bad:
        raise TensorError(
            f"model {name} produced {bad} NaN or infinite value(s) in its output of shape "
            f"{tuple(y.shape)} (from a finite input); try float32 (no --dtype) or other weights"
        )
    return y.clamp_(0.0, 1.0)
