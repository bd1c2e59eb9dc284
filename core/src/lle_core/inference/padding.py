"""Size handling: reflect-pad to what a model accepts, run it, crop the output back.

:func:`forward_padded` is the one pad/run/crop path: inference (:func:`lle_core.enhance`),
validation during training, the conformance kit and the benchmarks all call it.

Edge margin: a convolution zero-pads its input, so the outer pixels of an image see black
beyond the edge and a trained model draws a lighter or darker frame there (HF2 1.35× and NEID
0.69× the luma of the band inside on some photos). :func:`lle_core.enhance` and validation
therefore reflect-pad the whole image by :func:`edge_margin` pixels on every side first and
crop the margin off the result (:func:`pad_edges`, :func:`crop_edges`); measurements in
``docs/inference.md``.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from lle_core.errors import ShapeError
from lle_core.ops import pad_to_multiple
from lle_core.registry import Capabilities


def model_capabilities(model: nn.Module) -> Capabilities:
    """The capabilities an Enhancer declares, else those of its registry entry (or defaults)."""
    caps = getattr(model, "capabilities", None)
    if isinstance(caps, Capabilities):
        return caps
    spec = getattr(model, "lle_spec", None)
    if spec is not None:
        return spec.entry.capabilities
    return Capabilities()


def check_input_size(x: Tensor, capabilities: Capabilities, name: str) -> None:
    """Refuse an image smaller than the model's ``capabilities.min_input`` on either side.

    Args:
        x: ``(B, 3, H, W)`` input.
        capabilities: The model's capabilities.
        name: The model's name (for the message).

    Raises:
        ShapeError: ``H`` or ``W`` is below ``min_input`` (the message names both sizes).
    """
    h, w = x.shape[-2:]
    need = capabilities.min_input
    if min(h, w) < need:
        raise ShapeError(
            f"image of {w}x{h} pixels is smaller than the {need}x{need} that model {name} needs "
            "for a meaningful result (capabilities.min_input); use a larger image or a model "
            "with a smaller minimum (lle show MODEL)"
        )


#: Largest edge margin in pixels (32 brought the frame within 0.3 % on flat grey for every
#: shipped set; 16 left FRLIE at 2.6 %).
EDGE_MARGIN = 32


def edge_margin(capabilities: Capabilities) -> int:
    """Pixels of reflected image added on each side before a model runs.

    ``min(EDGE_MARGIN, receptive_field)``: 0 for the baselines, whose receptive field is 0
    (pointwise curves, and histogram equalisation, which must see only the image's own
    pixels).
    """
    return min(EDGE_MARGIN, capabilities.receptive_field)


def pad_edges(x: Tensor, margin: int) -> Tensor:
    """Reflect-pad ``(B, C, H, W)`` by ``margin`` on all four sides.

    Replicate padding where a side is not longer than the margin (reflection needs
    ``margin < side``).
    """
    if margin <= 0:
        return x
    mode = "reflect" if min(x.shape[-2:]) > margin else "replicate"
    return F.pad(x, (margin, margin, margin, margin), mode=mode)


def crop_edges(y: Tensor, margin: int, scale: int = 1) -> Tensor:
    """Undo :func:`pad_edges` on a model output (``scale`` = ``capabilities.scale``)."""
    if margin <= 0:
        return y
    m = margin * scale
    return y[..., m : y.shape[-2] - m, m : y.shape[-1] - m]


def crop_output(y: Tensor, size: tuple[int, int], scale: int = 1) -> Tensor:
    """Crop a model output back to ``scale ×`` the original input size (top-left anchored).

    Args:
        y: ``(B, C, H', W')`` output of a model run on a bottom/right-padded input.
        size: The unpadded input ``(H, W)``.
        scale: ``capabilities.scale`` of the model.

    Returns:
        ``(B, C, scale·H, scale·W)``.

    Raises:
        ShapeError: The output is smaller than the expected size.
    """
    h, w = size[0] * scale, size[1] * scale
    if y.shape[-2] < h or y.shape[-1] < w:
        raise ShapeError(
            f"model output {tuple(y.shape)} is smaller than the expected (.., {h}, {w}) "
            f"(input {size} × scale {scale}); check the model's capabilities.scale"
        )
    return y[..., :h, :w]


def forward_padded(model: nn.Module, x: Tensor, capabilities: Capabilities) -> Tensor:
    """Run ``model`` on ``x`` of any size: pad to ``multiple_of``/``min_size``, crop back.

    Padding is reflective at the bottom and right (replicate where the image is smaller than
    the pad, see :func:`lle_core.ops.pad_to_multiple`); the output crop accounts for
    ``capabilities.scale``.

    Args:
        model: An enhancer, already in eval mode.
        x: ``(B, 3, H, W)`` in ``[0, 1]``.
        capabilities: The model's capabilities.

    Returns:
        ``(B, 3, scale·H, scale·W)``.

    Raises:
        ShapeError: The model's output does not have the size its capabilities announce.
    """
    padded, size = pad_to_multiple(x, capabilities.multiple_of, capabilities.min_size)
    y = model(padded)
    if not isinstance(y, Tensor) or y.dim() != 4:
        raise ShapeError(
            f"{type(model).__name__} returned {type(y).__name__}"
            f"{tuple(y.shape) if isinstance(y, Tensor) else ''}; an enhancer must return a "
            "(B, 3, H, W) tensor from forward()"
        )
    s = capabilities.scale
    expected = (padded.shape[-2] * s, padded.shape[-1] * s)
    if tuple(y.shape[-2:]) != expected:
        raise ShapeError(
            f"{type(model).__name__} returned {tuple(y.shape)} for input "
            f"{tuple(padded.shape)}; expected spatial size {expected} (capabilities.scale={s})"
        )
    return crop_output(y, size, s)


def forward_image(model: nn.Module, x: Tensor, capabilities: Capabilities) -> Tensor:
    """:func:`forward_padded` on a whole image with its edge margin (see the module docstring).

    Args:
        model: An enhancer, already in eval mode.
        x: ``(B, 3, H, W)`` in ``[0, 1]``.
        capabilities: The model's capabilities.

    Returns:
        ``(B, 3, scale·H, scale·W)``.
    """
    margin = edge_margin(capabilities)
    y = forward_padded(model, pad_edges(x, margin), capabilities)
    return crop_edges(y, margin, capabilities.scale)
