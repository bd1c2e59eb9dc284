"""AuxNet building blocks: the dilated Inception stem, H_θ and the self-calibrator K_ξ.

Paper: Jin, Chen, Liang, "A lightweight low-light image enhancement network", ICAROB 2023,
Sec. 2.1 (feature extraction, Fig. 2) and Sec. 2.2 (H_θ, Eq. 2 and Fig. 3; auxiliary block,
Eq. 3). The paper gives no layer list beyond "four dilated branches" and "three convolutional
layers" (about 0.0013M parameters in all, Tab. 2), so the widths and dilations are our choice; the
calibrator is SCI's ``CalibrateNetwork`` (Ma et al., CVPR 2022), re-written from its
description.

Every block takes and returns ``(B, C, H, W)`` tensors at full resolution (no pooling, no
stride): the whole network keeps the input size.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from pydantic import Field, field_validator, model_validator
from torch import Tensor, nn

from lle_core.inference.fast import fold_batch_norm
from lle_core.registry import Params

# ------------------------------------------------------------------------------------------
# Initialisation (SCI's scheme, Ma et al. CVPR 2022; our choice)
# ------------------------------------------------------------------------------------------


def init_sci_(module: nn.Module, std: float = 0.02) -> None:
    """Initialise in place as SCI does: conv ``N(0, std)``, bias 0, BN weight ``N(1, std)``.

    Args:
        module: Any module; every ``Conv2d`` and ``BatchNorm2d`` inside is re-initialised.
        std: Standard deviation of the normal draws (0.02 in SCI).
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


# ------------------------------------------------------------------------------------------
# Feature extraction: improved Inception-v2 stem (paper Sec. 2.1, Fig. 2)
# ------------------------------------------------------------------------------------------


class InceptionStemParams(Params):
    """Parameters of :class:`InceptionDilatedStem`.

    Attributes:
        in_channels: Input channels (3 for RGB).
        branch_channels: Output width of each branch: one int for all, or one per branch.
        dilations: Dilation of each branch's 3×3 convolution; 0 makes a pointwise (1×1)
            branch. The number of branches is ``len(dilations)``.
        reduction_channels: ``None`` (default, 448 parameters): each branch is one dilated
            Conv3×3 + ReLU. An int ``r``: the faithful Inception-v2 form, each branch starts
            with Conv1×1(in -> r) + ReLU before its dilated 3×3.
    """

    in_channels: int = Field(3, ge=1)
    branch_channels: int | list[int] = 4
    dilations: list[int] = Field(default_factory=lambda: [1, 2, 3, 4], min_length=1)
    reduction_channels: int | None = Field(None, ge=1)

    @field_validator("dilations")
    @classmethod
    def _non_negative(cls, value: list[int]) -> list[int]:
        if any(d < 0 for d in value):
            raise ValueError(f"dilations must be >= 0 (0 = a 1x1 branch), got {value}")
        return value

    @model_validator(mode="after")
    def _widths_match(self) -> InceptionStemParams:
        widths = self.branch_channels
        if isinstance(widths, list) and len(widths) != len(self.dilations):
            raise ValueError(
                f"branch_channels has {len(widths)} entries but dilations has "
                f"{len(self.dilations)}: give one width per branch (or a single int)"
            )
        if any(w < 1 for w in ([widths] if isinstance(widths, int) else widths)):
            raise ValueError(f"branch widths must be >= 1, got {widths}")
        return self


def _branch_widths(branch_channels: int | Sequence[int], n: int) -> list[int]:
    if isinstance(branch_channels, int):
        return [branch_channels] * n
    return list(branch_channels)


class InceptionDilatedStem(nn.Module):
    """Improved Inception-v2 stem: parallel dilated 3×3 branches, concatenated (no pooling).

    Paper Sec. 2.1: the average-pooling branch of Inception-v2 is removed and each of the four
    branches uses a dilated convolution of a different size; the branch outputs are spliced
    (concatenated). Default (our choice): four branches ``Conv3×3(3 -> 4, dilation = padding
    = d) + ReLU`` with ``d = 1, 2, 3, 4``; 448 parameters, receptive-field radius 4.

    Shapes: ``(B, in_channels, H, W) -> (B, out_channels, H, W)``; ``out_channels`` is the sum
    of the branch widths (16 by default).
    """

    def __init__(
        self,
        in_channels: int = 3,
        branch_channels: int | Sequence[int] = 4,
        dilations: Sequence[int] = (1, 2, 3, 4),
        reduction_channels: int | None = None,
    ) -> None:
        """Args: see :class:`InceptionStemParams`."""
        super().__init__()
        widths = _branch_widths(branch_channels, len(dilations))
        if len(widths) != len(dilations):
            raise ValueError(
                f"InceptionDilatedStem: {len(widths)} branch widths for {len(dilations)} dilations"
            )
        self.in_channels = in_channels
        self.dilations = tuple(int(d) for d in dilations)
        self.widths = tuple(widths)
        self.out_channels = sum(widths)
        self.branches = nn.ModuleList(
            self._branch(in_channels, w, d, reduction_channels)
            for w, d in zip(widths, self.dilations, strict=True)
        )
        init_sci_(self)

    @staticmethod
    def _branch(cin: int, width: int, dilation: int, reduction: int | None) -> nn.Sequential:
        layers: list[nn.Module] = []
        if reduction is not None and dilation > 0:
            layers += [nn.Conv2d(cin, reduction, 1), nn.ReLU(inplace=True)]
            cin = reduction
        if dilation == 0:
            layers += [nn.Conv2d(cin, width, 1)]
        else:
            layers += [nn.Conv2d(cin, width, 3, padding=dilation, dilation=dilation)]
        layers.append(nn.ReLU(inplace=True))
        return nn.Sequential(*layers)

    @property
    def receptive_radius(self) -> int:
        """Pixels of context on each side one output pixel depends on."""
        return max(self.dilations)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, in_channels, H, W) -> (B, out_channels, H, W)`` (concatenated branches)."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            from lle_core.errors import ShapeError

            raise ShapeError(
                f"InceptionDilatedStem expects (B, {self.in_channels}, H, W), "
                f"got {tuple(x.shape)}"
            )
        return torch.cat([branch(x) for branch in self.branches], dim=1)


# ------------------------------------------------------------------------------------------
# H_θ: the illumination residual model (paper Eq. 2, Fig. 3: three convolutions)
# ------------------------------------------------------------------------------------------


class IlluminationParams(Params):
    """Parameters of :class:`IlluminationEstimator`.

    Attributes:
        in_channels: Channels of the features it reads (16 = the default stem's output).
        hidden_channels: Width of the two hidden convolutions (4: our choice).
        out_channels: Channels of the residual ``u`` (3, one per colour channel).
        batch_norm: BN after the middle convolution (our choice, as SCI's H_θ).
    """

    in_channels: int = Field(16, ge=1)
    hidden_channels: int = Field(4, ge=1)
    out_channels: int = Field(3, ge=1)
    batch_norm: bool = True


class IlluminationEstimator(nn.Module):
    """H_θ, three 3×3 convolutions ending in a sigmoid.

    ``Conv(in -> h) + ReLU -> Conv(h -> h) + BN + ReLU -> Conv(h -> out) + Sigmoid``.

    Paper Eq. 2: ``u^t = H_θ(·)`` is the illumination residual added to the stage input.
    Default widths 16 -> 4 -> 4 -> 3: 847 parameters (our choice).

    Shapes: ``(B, in_channels, H, W) -> u (B, out_channels, H, W)`` with values in ``(0, 1)``.
    In eval mode without autograd the BN is folded into its convolution (same maths, one
    pass fewer over memory).
    """

    def __init__(
        self,
        in_channels: int = 16,
        hidden_channels: int = 4,
        out_channels: int = 3,
        batch_norm: bool = True,
    ) -> None:
        """Args: see :class:`IlluminationParams`."""
        super().__init__()
        self.in_channels = in_channels
        self.conv_in = nn.Conv2d(in_channels, hidden_channels, 3, padding=1)
        self.conv_mid = nn.Conv2d(hidden_channels, hidden_channels, 3, padding=1)
        self.bn_mid: nn.Module = nn.BatchNorm2d(hidden_channels) if batch_norm else nn.Identity()
        self.conv_out = nn.Conv2d(hidden_channels, out_channels, 3, padding=1)
        init_sci_(self)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, in_channels, H, W) -> u (B, out_channels, H, W)`` in ``(0, 1)``."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            from lle_core.errors import ShapeError

            raise ShapeError(
                f"IlluminationEstimator expects (B, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        h = F.relu(self.conv_in(x), inplace=True)
        if not self.training and not torch.is_grad_enabled() and isinstance(
            self.bn_mid, nn.BatchNorm2d
        ):
            weight, bias = fold_batch_norm(self.conv_mid, self.bn_mid)
            h = F.conv2d(h, weight, bias, padding=1)
        else:
            h = self.bn_mid(self.conv_mid(h))
        h = F.relu(h, inplace=True)
        return torch.sigmoid(self.conv_out(h))


# ------------------------------------------------------------------------------------------
# K_ξ: the self-calibrator of the auxiliary block (paper Eq. 3; SCI's CalibrateNetwork)
# ------------------------------------------------------------------------------------------


class CalibratorParams(Params):
    """Parameters of :class:`SelfCalibrator`.

    Attributes:
        channels: Image channels in and out (3).
        width: Feature width (16 in SCI).
        repeats: How many times the shared residual block is applied (3 in SCI).
    """

    channels: int = Field(3, ge=1)
    width: int = Field(16, ge=1)
    repeats: int = Field(3, ge=1)


def _conv_bn_relu(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class SelfCalibrator(nn.Module):
    """K_ξ, the training-only self-calibrator: ``E = R − σ(g(R))`` (SCI's CalibrateNetwork).

    Layers: ``Conv3×3(3 -> w) + BN + ReLU``; a residual block ``[Conv3×3(w -> w) + BN + ReLU]
    ×2`` applied ``repeats`` times with the same weights (``f <- f + block(f)``);
    ``Conv3×3(w -> 3) + Sigmoid``. 5,619 parameters with ``w = 16``.

    Shapes: ``R (B, channels, H, W)`` in ``[0, 1]`` -> ``E (B, channels, H, W)`` in ``(-1, 1)``.
    """

    def __init__(self, channels: int = 3, width: int = 16, repeats: int = 3) -> None:
        """Args: see :class:`CalibratorParams`."""
        super().__init__()
        self.channels = channels
        self.repeats = repeats
        self.conv_in = nn.Sequential(*_conv_bn_relu(channels, width))
        self.block = nn.Sequential(*_conv_bn_relu(width, width), *_conv_bn_relu(width, width))
        self.conv_out = nn.Sequential(nn.Conv2d(width, channels, 3, padding=1), nn.Sigmoid())
        init_sci_(self)

    def forward(self, r: Tensor) -> Tensor:
        """``R (B, C, H, W) -> E = R − σ(...)`` of the same shape."""
        if r.dim() != 4 or r.shape[1] != self.channels:
            from lle_core.errors import ShapeError

            raise ShapeError(
                f"SelfCalibrator expects (B, {self.channels}, H, W), got {tuple(r.shape)}"
            )
        f = self.conv_in(r)
        for _ in range(self.repeats):
            f = f + self.block(f)
        return r - self.conv_out(f)
