"""Small tensor operations shared by the engine, the models and the conformance kit."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def pad_to_multiple(
    x: Tensor, multiple: int, min_size: int = 1, mode: str = "reflect"
) -> tuple[Tensor, tuple[int, int]]:
    """Pad ``x`` at the bottom and right so that H and W are multiples of ``multiple``.

    Reflect padding is used where the image is large enough for it; for sides smaller than
    the pad (reflection needs ``pad < size``) replicate padding is used instead.

    Args:
        x: ``(B, C, H, W)``.
        multiple: Required divisor of the padded size (``>= 1``).
        min_size: Smallest padded side.
        mode: ``"reflect"``, ``"replicate"`` or ``"constant"``.

    Returns:
        The padded tensor and the original ``(H, W)`` for :func:`crop_to`.
    """
    h, w = x.shape[-2:]
    th = max(-(-h // multiple) * multiple, -(-min_size // multiple) * multiple)
    tw = max(-(-w // multiple) * multiple, -(-min_size // multiple) * multiple)
    ph, pw = th - h, tw - w
    if ph == 0 and pw == 0:
        return x, (h, w)
    if mode == "constant":
        return F.pad(x, (0, pw, 0, ph), mode="constant", value=0.0), (h, w)
    if mode == "reflect" and (ph >= h or pw >= w):
        mode = "replicate"  # reflection needs the pad to be smaller than the side
    return F.pad(x, (0, pw, 0, ph), mode=mode), (h, w)


def crop_to(x: Tensor, size: tuple[int, int], scale: int = 1) -> Tensor:
    """Crop the top-left ``(scale*H, scale*W)`` region (undoes :func:`pad_to_multiple`).

    Args:
        x: ``(..., H', W')`` output of a model run on a padded input.
        size: The unpadded ``(H, W)`` returned by :func:`pad_to_multiple`.
        scale: Output/input size ratio of the model (``capabilities.scale``).
    """
    h, w = size
    return x[..., : h * scale, : w * scale]
