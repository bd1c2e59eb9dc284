"""Bicubic downsampling shared by the NEID model (test protocol) and its trainer."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from lle_core.errors import ShapeError


def bicubic_downsample(x: Tensor, factor: int = 2, *, antialias: bool = True) -> Tensor:
    """Bicubic ↓``factor`` of an image batch, clamped back to ``[0, 1]``.

    NEID feeds the network the bicubic ↓2 of the low-light image (paper Sec. 3.2 and 3.3).
    ``antialias=True`` matches PIL's bicubic resize (our default); ``False``
    is the plain bicubic kernel of TF1's ``resize_bicubic``. Bicubic overshoots, hence the clamp.

    Args:
        x: ``(B, C, H, W)`` in ``[0, 1]`` with ``H`` and ``W`` multiples of ``factor``.
        factor: Integer downsampling factor (``>= 1``).
        antialias: Antialiased kernel.

    Returns:
        ``(B, C, H / factor, W / factor)`` in ``[0, 1]``.
    """
    if factor == 1:
        return x
    h, w = x.shape[-2:]
    if x.dim() != 4 or h % factor or w % factor:
        raise ShapeError(
            f"bicubic_downsample by {factor} needs (B, C, H, W) with H and W multiples of "
            f"{factor}, got {tuple(x.shape)}"
        )
    small = F.interpolate(
        x, size=(h // factor, w // factor), mode="bicubic", align_corners=False,
        antialias=antialias,
    )
    return small.clamp(0.0, 1.0)
