"""Parameter-free baseline enhancers: identity, gamma, histogram equalisation and CLAHE.

They need no weights and no ground truth; use them as reference points in benchmarks
(``core.identity`` is "do nothing", the floor every method must beat). All take and return
``(B, 3, H, W)`` RGB in ``[0, 1]`` and work image by image inside a batch.

Luminance handling shared by ``core.histeq`` and ``core.clahe`` (``channel`` parameter):

* ``"v"`` (default): equalise the HSV value ``V = max(R, G, B)`` and rescale the colour so that
  hue and saturation are kept: ``rgb' = V' · (rgb + ε) / (V + ε)`` (ε = 1e-4; black pixels
  become grey ``V'``). Never leaves the gamut.
* ``"y"``: equalise the BT.601 luma ``Y = 0.299 R + 0.587 G + 0.114 B`` and add the change to
  every channel, ``rgb' = rgb + (Y' − Y)``, which keeps the chroma (Cb, Cr); clamped to
  ``[0, 1]``.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import Field, field_validator
from torch import Tensor

from lle_core.interfaces import Enhancer
from lle_core.registry import Capabilities, Params

Channel = Literal["v", "y"]

_BASELINE_CAPS = Capabilities(
    needs_weights=False, needs_ground_truth=False, receptive_field=0, tiling="tile"
)
_GLOBAL_CAPS = Capabilities(
    needs_weights=False, needs_ground_truth=False, receptive_field=0, tiling="whole"
)
_RATIO_EPS = 1e-4


def _luminance(x: Tensor, channel: Channel) -> Tensor:
    """``(B, 3, H, W)`` -> ``(B, 1, H, W)`` V (max) or Y (BT.601 luma)."""
    if channel == "v":
        return x.amax(dim=1, keepdim=True)
    from kornia.color import rgb_to_grayscale  # BT.601 weights by default; lazy import

    return rgb_to_grayscale(x)


def _replace_luminance(x: Tensor, old: Tensor, new: Tensor, channel: Channel) -> Tensor:
    """Put a new V or Y channel into ``x`` keeping its colour (see the module docstring)."""
    out = new * (x + _RATIO_EPS) / (old + _RATIO_EPS) if channel == "v" else x + (new - old)
    return out.clamp(0.0, 1.0)


def _check_channel(channel: str) -> Channel:
    if channel not in ("v", "y"):
        raise ValueError(f"channel must be 'v' or 'y', got {channel!r}")
    return channel  # type: ignore[return-value]


class IdentityEnhancer(Enhancer):
    """``core.identity``: returns the input (clamped to ``[0, 1]``)."""

    summary = "Identity baseline (returns the low-light input)"

    default_capabilities: ClassVar[Capabilities] = _BASELINE_CAPS

    def forward(self, low: Tensor) -> Tensor:
        """``(B, 3, H, W)`` -> the same image."""
        return low.clamp(0.0, 1.0)


class GammaParams(Params):
    """Parameters of ``core.gamma``.

    Attributes:
        gamma: Exponent ``γ`` of ``out = in^γ`` (``< 1`` brightens; default 1/2.2), or
            ``"auto"``.
        target_mean: With ``"auto"``, the value the image mean is mapped to.
    """

    gamma: float | Literal["auto"] = 1 / 2.2
    target_mean: float = Field(0.5, gt=0.0, lt=1.0)

    @field_validator("gamma")
    @classmethod
    def _positive(cls, value: float | str) -> float | str:
        if isinstance(value, float | int) and value <= 0:
            raise ValueError("gamma must be > 0 or 'auto'")
        return value


class GammaEnhancer(Enhancer):
    """``core.gamma``: gamma curve ``out = in^γ`` per pixel.

    ``gamma="auto"`` picks, per image, ``γ = log(target_mean) / log(mean)`` where ``mean`` is
    the mean of all pixel values of the input (clamped to ``[1e-4, 1 − 1e-4]``), so that a
    pixel at the mean maps to ``target_mean`` (0.5); ``γ`` is clamped to ``[0.05, 20]``. The
    output mean is then close to, but not exactly, ``target_mean`` (the curve is not linear).
    """

    Params = GammaParams
    summary = "Gamma curve in^γ (γ = 1/2.2, or 'auto': mean -> 0.5)"

    default_capabilities: ClassVar[Capabilities] = _BASELINE_CAPS

    def __init__(self, gamma: float | Literal["auto"] = 1 / 2.2, target_mean: float = 0.5) -> None:
        """See :class:`GammaParams`."""
        super().__init__()
        if gamma != "auto" and (isinstance(gamma, str) or gamma <= 0):
            raise ValueError(f"gamma must be > 0 or 'auto', got {gamma!r}")
        if not 0 < target_mean < 1:
            raise ValueError(f"target_mean must be in (0, 1), got {target_mean}")
        self.gamma = gamma
        self.target_mean = float(target_mean)

    @property
    def capabilities(self) -> Capabilities:
        """The automatic gamma depends on the whole image's mean (no tiling)."""
        return _GLOBAL_CAPS if self.gamma == "auto" else _BASELINE_CAPS

    def gammas(self, low: Tensor) -> Tensor:
        """Per-image exponents ``(B, 1, 1, 1)``."""
        if self.gamma != "auto":
            return torch.full((low.shape[0], 1, 1, 1), float(self.gamma), dtype=low.dtype,
                              device=low.device)
        mean = low.clamp(0.0, 1.0).flatten(1).mean(dim=1).clamp(1e-4, 1 - 1e-4)
        g = math.log(self.target_mean) / torch.log(mean)
        return g.clamp(0.05, 20.0).view(-1, 1, 1, 1)

    def forward(self, low: Tensor) -> Tensor:
        """``(B, 3, H, W)`` in ``[0, 1]`` -> ``low^γ`` in ``[0, 1]`` (0 stays 0)."""
        x = low.clamp(0.0, 1.0)
        g = self.gammas(x)
        return torch.where(x > 0, x.clamp_min(1e-6) ** g, torch.zeros_like(x))


def equalize_histogram(channel: Tensor, levels: int = 256) -> Tensor:
    """Global histogram equalisation of a ``(B, 1, H, W)`` channel in ``[0, 1]``, per image.

    Returns values on the grid ``k / (levels − 1)``; see :class:`HistEqEnhancer`.
    """
    b = channel.shape[0]
    q = torch.round(channel.detach().clamp(0.0, 1.0) * (levels - 1)).long().flatten(1)
    hist = torch.zeros(b, levels, dtype=torch.float64, device=channel.device)
    hist.scatter_add_(1, q, torch.ones_like(q, dtype=torch.float64))
    cdf = hist.cumsum(dim=1)
    n = cdf[:, -1:]
    cdf_min = torch.gather(cdf, 1, q.min(dim=1, keepdim=True).values)
    denom = n - cdf_min
    lut = ((cdf - cdf_min) / denom.clamp_min(1.0)).clamp(0.0, 1.0)
    mapped = torch.gather(lut, 1, q).to(channel.dtype).view_as(channel)
    constant = (denom == 0).view(b, 1, 1, 1)
    return torch.where(constant, channel, mapped)


class HistEqParams(Params):
    """Parameters of ``core.histeq``: ``channel`` equalised (``v`` or ``y``)."""

    channel: Channel = "v"


class HistEqEnhancer(Enhancer):
    """``core.histeq``: global histogram equalisation of the V or Y channel of each image.

    The channel is quantised to 256 levels and mapped through its normalised cumulative
    histogram, ``l -> (cdf(l) − cdf_min) / (N − cdf_min)`` (the textbook mapping; the darkest
    level goes to 0, the brightest to 1). A constant channel is left unchanged.
    ``kornia.enhance.equalize`` is not used: it follows PIL's integer step rule, which leaves
    small images (fewer than about 255 pixels per occupied level) unchanged.
    """

    Params = HistEqParams
    summary = "Global histogram equalisation of V (or Y), colour kept"

    default_capabilities: ClassVar[Capabilities] = _GLOBAL_CAPS

    def __init__(self, channel: Channel = "v") -> None:
        """See :class:`HistEqParams`."""
        super().__init__()
        self.channel = _check_channel(channel)

    def forward(self, low: Tensor) -> Tensor:
        """``(B, 3, H, W)`` -> equalised ``(B, 3, H, W)`` in ``[0, 1]``."""
        x = low.clamp(0.0, 1.0)
        lum = _luminance(x, self.channel)
        return _replace_luminance(x, lum, equalize_histogram(lum), self.channel)


class ClaheParams(Params):
    """Parameters of ``core.clahe``.

    Attributes:
        clip_limit: Contrast limit (OpenCV/kornia convention; 2.0 is mild, 40 is kornia's
            default).
        grid_size: Number of tiles ``(rows, cols)``.
        channel: Luminance channel equalised (``v`` or ``y``).
    """

    clip_limit: float = Field(2.0, gt=0.0)
    grid_size: tuple[int, int] = (8, 8)
    channel: Channel = "v"

    @field_validator("grid_size")
    @classmethod
    def _grid_positive(cls, value: tuple[int, int]) -> tuple[int, int]:
        if min(value) < 1:
            raise ValueError("grid_size entries must be >= 1")
        return value


class ClaheEnhancer(Enhancer):
    """``core.clahe``: CLAHE of the luminance with ``kornia.enhance.equalize_clahe``.

    kornia needs images of at least ``grid + 1`` pixels per side; smaller images are
    replicate-padded to that size and cropped back.
    """

    Params = ClaheParams
    summary = "CLAHE (kornia) on V (or Y), colour kept"
    paper = "Zuiderveld 1994, Contrast limited adaptive histogram equalization"

    default_capabilities: ClassVar[Capabilities] = _GLOBAL_CAPS

    def __init__(
        self, clip_limit: float = 2.0, grid_size: tuple[int, int] = (8, 8), channel: Channel = "v"
    ) -> None:
        """See :class:`ClaheParams`."""
        super().__init__()
        if clip_limit <= 0:
            raise ValueError(f"clip_limit must be > 0, got {clip_limit}")
        if len(grid_size) != 2 or min(grid_size) < 1:
            raise ValueError(f"grid_size must be two positive ints, got {grid_size}")
        self.clip_limit = float(clip_limit)
        self.grid_size = (int(grid_size[0]), int(grid_size[1]))
        self.channel = _check_channel(channel)

    def forward(self, low: Tensor) -> Tensor:
        """``(B, 3, H, W)`` -> CLAHE-enhanced ``(B, 3, H, W)`` in ``[0, 1]``."""
        from kornia.enhance import equalize_clahe

        x = low.clamp(0.0, 1.0)
        lum = _luminance(x, self.channel)
        h, w = lum.shape[-2:]
        ph = max(0, self.grid_size[0] + 1 - h)
        pw = max(0, self.grid_size[1] + 1 - w)
        padded = F.pad(lum, (0, pw, 0, ph), mode="replicate") if ph or pw else lum
        new = equalize_clahe(padded, clip_limit=self.clip_limit, grid_size=self.grid_size)
        return _replace_luminance(x, lum, new[..., :h, :w], self.channel)
