"""AuxNet's no-reference losses: stage fidelity (Eq. 5) and illumination smoothness (Eq. 6).

Both read the stage tensors of :meth:`lle_auxnet.model.AuxNet.forward_train`:
``illuminations`` ``L^1..L^T`` and ``stage_inputs`` ``V^0..V^{T−1}``, each ``(B, T, 3, H, W)``
(a ``(B, 3, H, W)`` tensor counts as one stage). Neither uses ground truth. The perceptual
term (Eq. 7) is core's ``core.perceptual`` applied to ``illumination`` (L^T) and
``calibrated_input`` (V^T = S + E^T), configured in the recipe.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
from pydantic import Field
from torch import Tensor

from lle_auxnet import PAPER
from lle_core.errors import ShapeError
from lle_core.interfaces import LossParams, LossTerm


def as_stages(x: Tensor, name: str) -> Tensor:
    """View stage tensors as ``(B, T, C, H, W)``; a ``(B, C, H, W)`` tensor is one stage.

    Raises:
        ShapeError: ``x`` is neither 4-D nor 5-D (the message names the argument).
    """
    if x.dim() == 4:
        return x.unsqueeze(1)
    if x.dim() == 5:
        return x
    raise ShapeError(f"{name} must be (B, T, C, H, W) or (B, C, H, W), got {tuple(x.shape)}")


def _check_same(a: Tensor, b: Tensor, term: str) -> None:
    if a.shape != b.shape:
        raise ShapeError(
            f"{term}: illuminations {tuple(a.shape)} and stage_inputs {tuple(b.shape)} must have "
            "the same (B, T, C, H, W) shape"
        )


# ------------------------------------------------------------------------------------------
# Fidelity (Eq. 5)
# ------------------------------------------------------------------------------------------


def stage_fidelity(illuminations: Tensor, stage_inputs: Tensor) -> Tensor:
    """``L_f = Σ_t mean((L^t − V^{t−1})²)``, with ``V^{t−1} = S + E^{t−1}`` (paper Eq. 5).

    Args:
        illuminations: ``(B, T, C, H, W)``.
        stage_inputs: Same shape.

    Returns:
        Scalar: per-stage MSE (mean over batch, channels and pixels), summed over stages.
    """
    per_stage = (illuminations - stage_inputs).pow(2).mean(dim=(0, 2, 3, 4))
    return per_stage.sum()


class FidelityParams(LossParams):
    """Parameters of :class:`StageFidelityLoss` (only the common ``weight``/``name``/``keys``)."""


class _StageLossTerm(LossTerm):
    """A loss over stage tensors, logged as ``l_<default_name>`` unless ``name`` is given."""

    inputs: ClassVar[tuple[str, ...]] = ("illuminations", "stage_inputs")
    default_name: ClassVar[str] = "stage"

    def __init__(self, *, name: str | None = None, **common: Any) -> None:
        """Args: ``weight``, ``name``, ``keys`` (see :class:`lle_core.interfaces.LossParams`)."""
        super().__init__(name=name or self.default_name, **common)


class StageFidelityLoss(_StageLossTerm):
    """Stage fidelity ``Σ_t ||L^t − (S + E^{t−1})||²`` (paper Eq. 5, per-stage mean as in SCI).

    Inputs: ``illuminations`` and ``stage_inputs``, ``(B, T, 3, H, W)`` or ``(B, 3, H, W)``.
    Logged as ``l_fidelity``.
    """

    Params = FidelityParams
    summary = "Stage fidelity sum_t MSE(L^t, V^(t-1)) (no ground truth)"
    paper = f"{PAPER}, Eq. 5"

    default_name: ClassVar[str] = "fidelity"

    def compute(self, illuminations: Tensor, stage_inputs: Tensor) -> Tensor:  # type: ignore[override]
        """Return the unweighted fidelity (a non-negative scalar)."""
        a = as_stages(illuminations, "illuminations")
        b = as_stages(stage_inputs, "stage_inputs")
        _check_same(a, b, "auxnet.fidelity")
        return stage_fidelity(a, b)


# ------------------------------------------------------------------------------------------
# Smoothness (Eq. 6)
# ------------------------------------------------------------------------------------------

#: BT.601 RGB -> YCbCr for values in [0, 1] (studio range: offsets 16/255 and 128/255).
_YCBCR_MATRIX = (
    (65.481 / 255, 128.553 / 255, 24.966 / 255),
    (-37.797 / 255, -74.203 / 255, 112.0 / 255),
    (112.0 / 255, -93.786 / 255, -18.214 / 255),
)
_YCBCR_OFFSET = (16 / 255, 128 / 255, 128 / 255)


def rgb_to_ycbcr(x: Tensor) -> Tensor:
    """Per-pixel BT.601 YCbCr of an RGB ``(B, 3, H, W)`` tensor in ``[0, 1]`` (same shape)."""
    matrix = x.new_tensor(_YCBCR_MATRIX)
    offset = x.new_tensor(_YCBCR_OFFSET).view(1, 3, 1, 1)
    return torch.einsum("oc,bchw->bohw", matrix, x) + offset


def _window_offsets(radius: int) -> list[tuple[int, int]]:
    """The distinct neighbour offsets of a ``(2r+1)²`` window (one of each ± pair)."""
    return [
        (dy, dx)
        for dy in range(0, radius + 1)
        for dx in range(-radius, radius + 1)
        if (dy, dx) > (0, 0)
    ]


def _shifted_pair(x: Tensor, dy: int, dx: int) -> tuple[Tensor, Tensor]:
    """``x[p]`` and ``x[p + (dy, dx)]`` over the region where both exist (dy >= 0)."""
    h, w = x.shape[-2:]
    x0, x1 = max(0, -dx), min(w, w - dx)
    return x[..., : h - dy, x0:x1], x[..., dy:, x0 + dx : x1 + dx]


def sci_weighted_smoothness(
    illumination: Tensor, guide: Tensor, *, sigma: float = 10.0, radius: int = 2
) -> Tensor:
    """SCI-style edge-aware smoothness of one illumination map.

    For every neighbour offset ``d`` of a ``(2r+1)²`` window (24 for ``r = 2``: the 12 distinct
    offsets counted twice, as in SCI), the weight ``w = exp(−||ΔYCbCr(guide)||² / (2σ²))``
    multiplies the L1 norm over channels of ``Δ illumination``; each term is averaged over the
    valid pixels and the terms are summed. Colour conversion is per pixel (a clean port that
    leaves out the SCI code's quirks).

    Args:
        illumination: ``(B, 3, H, W)``.
        guide: The stage input ``(B, 3, H, W)`` the weights are computed from.
        sigma: Colour bandwidth (SCI code: 10, which makes ``w ≈ 1``).
        radius: Window radius (2 = 5×5).

    Returns:
        Non-negative scalar; zero for a constant illumination. Finite for any finite input.
    """
    ycc = rgb_to_ycbcr(guide)
    coeff = -1.0 / (2.0 * sigma * sigma)
    total = illumination.new_zeros(())
    for dy, dx in _window_offsets(radius):
        if dy >= illumination.shape[-2] or abs(dx) >= illumination.shape[-1]:
            continue
        g0, g1 = _shifted_pair(ycc, dy, dx)
        i0, i1 = _shifted_pair(illumination, dy, dx)
        weight = torch.exp(coeff * (g0 - g1).pow(2).sum(dim=1, keepdim=True))
        total = total + 2.0 * (weight * (i0 - i1).abs().sum(dim=1, keepdim=True)).mean()
    return total


def isotropic_tv(x: Tensor) -> Tensor:
    """Isotropic TV of ``(B, C, H, W)`` via core: ``mean(sqrt(Δv² + Δh² + eps))``."""
    from lle_core.losses import total_variation

    return total_variation(x, mode="isotropic")


class SmoothnessParams(LossParams):
    """Parameters of :class:`StageSmoothnessLoss`.

    Attributes:
        mode: ``"isotropic"`` (default): core's isotropic TV on each L^t (the well-defined
            reading of the paper's sqrt-of-product formula, AuxNet Eq. 6);
            ``"sci_weighted"``: SCI's edge-aware 5×5 weighted L1 guided by V^{t−1}.
        sigma: Colour bandwidth of ``sci_weighted`` (10 as in the SCI code; the SCI paper
            may state 0.1, see the model card).
        radius: Window radius of ``sci_weighted`` (2 = 5×5).
    """

    mode: Literal["isotropic", "sci_weighted"] = "isotropic"
    sigma: float = Field(10.0, gt=0.0)
    radius: int = Field(2, ge=1)


class StageSmoothnessLoss(_StageLossTerm):
    """Illumination smoothness ``L_s`` (paper Eq. 6) on every stage's ``L^t``, summed over stages.

    Inputs: ``illuminations`` and ``stage_inputs`` (the guide of ``sci_weighted``; unused by
    ``isotropic``), ``(B, T, 3, H, W)`` or ``(B, 3, H, W)``. Never NaN (no sqrt of a product).
    Logged as ``l_smoothness``.
    """

    Params = SmoothnessParams
    summary = "Illumination smoothness per stage: isotropic TV (default) or SCI weighted 5x5"
    paper = f"{PAPER}, Eq. 6"

    default_name: ClassVar[str] = "smoothness"
    zero_for_identical: ClassVar[bool] = False
    invariants = ("zero_on_constant", "offset")  # TV of the illumination (kit-checked)

    def __init__(
        self,
        *,
        mode: Literal["isotropic", "sci_weighted"] = "isotropic",
        sigma: float = 10.0,
        radius: int = 2,
        **common: Any,
    ) -> None:
        """Args: see :class:`SmoothnessParams` (plus ``weight``, ``name``, ``keys``)."""
        super().__init__(**common)
        if mode not in ("isotropic", "sci_weighted"):
            raise ValueError(
                f"auxnet.smoothness: mode must be isotropic|sci_weighted, got {mode!r}"
            )
        self.mode = mode
        self.sigma = float(sigma)
        self.radius = int(radius)
        # The isotropic mode never reads the guide (declared for the conformance kit).
        self.unused_inputs = ("stage_inputs",) if mode == "isotropic" else ()

    def compute(self, illuminations: Tensor, stage_inputs: Tensor) -> Tensor:  # type: ignore[override]
        """Return the unweighted smoothness summed over stages (a non-negative scalar)."""
        a = as_stages(illuminations, "illuminations")
        b = as_stages(stage_inputs, "stage_inputs")
        _check_same(a, b, "auxnet.smoothness")
        total = 0.0 * a.sum()  # in the graph even when a 1-pixel image has no neighbours
        for t in range(a.shape[1]):
            if self.mode == "isotropic":
                total = total + isotropic_tv(a[:, t])
            else:
                total = total + sci_weighted_smoothness(
                    a[:, t], b[:, t], sigma=self.sigma, radius=self.radius
                )
        return total

