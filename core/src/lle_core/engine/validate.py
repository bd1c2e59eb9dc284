"""Validation during training: PSNR / SSIM of full images and, optionally, the loss.

Images run through the inference path (:func:`lle_core.inference.padding.forward_image`:
reflect-padded by the edge margin and to the model's ``multiple_of``, cropped back) and are
clamped to ``[0, 1]``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from lle_core.inference.padding import forward_image, model_capabilities
from lle_core.ops import pad_to_multiple


def _metric_functions() -> dict[str, Callable[[Tensor, Tensor], Tensor]]:
    from lle_core import metrics

    found: dict[str, Callable[[Tensor, Tensor], Tensor]] = {}
    if hasattr(metrics, "psnr"):
        found["psnr"] = metrics.psnr
    if hasattr(metrics, "ssim_index"):
        found["ssim"] = metrics.ssim_index
    return found


@torch.no_grad()
def validate(
    model: nn.Module,
    dataset: Any,
    *,
    device: torch.device,
    max_images: int | None = None,
    loss_fn: Callable[[dict[str, Tensor]], Tensor] | None = None,
    autocast: Callable[[], Any] | None = None,
) -> dict[str, float]:
    """Mean PSNR / SSIM (and loss) over a validation set, one full image at a time.

    Args:
        model: Inference model (put in eval mode here; its mode is restored afterwards).
        dataset: Items ``{"low", "high"?, "name"}`` with ``(3, H, W)`` tensors.
        device: Where to run.
        max_images: Use at most this many items (the first ones).
        loss_fn: Optional ``batch -> loss`` (the trainer's step) averaged as ``loss``.
        autocast: Optional context factory (mixed precision).

    Returns:
        ``{"psnr", "ssim", "loss", "images"}`` (keys present when computable); PSNR in dB.
    """
    caps = model_capabilities(model)
    functions = _metric_functions()
    was_training = model.training
    model.eval()
    totals: dict[str, float] = {}
    count = 0
    n = len(dataset) if max_images is None else min(len(dataset), max_images)
    try:
        for i in range(n):
            item = dataset[i]
            low = item["low"].unsqueeze(0).to(device)
            high = item.get("high")
            ctx = autocast() if autocast is not None else contextlib.nullcontext()
            with ctx:
                pred = forward_image(model, low, caps).clamp(0.0, 1.0).float()
            if high is not None:
                target = high.unsqueeze(0).to(device)
                for name, fn in functions.items():
                    totals[name] = totals.get(name, 0.0) + float(fn(pred, target).mean())
            if loss_fn is not None:
                batch = {"low": pad_to_multiple(low, caps.multiple_of, caps.min_size)[0]}
                if high is not None:
                    batch["high"] = pad_to_multiple(
                        high.unsqueeze(0).to(device), caps.multiple_of * caps.scale,
                        caps.min_size * caps.scale,
                    )[0]
                totals["loss"] = totals.get("loss", 0.0) + float(loss_fn(batch))
            count += 1
    finally:
        model.train(was_training)
    out = {k: v / max(count, 1) for k, v in totals.items()}
    out["images"] = float(count)
    return out

