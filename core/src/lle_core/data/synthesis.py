"""Synthetic low-light pairs from normal-light photos: core's one synthesis pipeline.

The simulation of DLN (Wang, Liu, Siu, Lun, "Deep Lightening Network for Low-Light Image
Enhancement", slides, "Experiments": the simulation equation; journal version "Lightening
Network for Low-light Image Enhancement", TIP 2020) makes a low-light (LL) image from a
normal-light (NL) image ``Y`` in ``[0, 1]``:

    ``X = β·(α·Y)^γ``,  ``α ~ U(0.9, 1)``, ``β ~ U(0.5, 1)``, ``γ ~ U(1.5, 5)``.

DLN's official code (journal version) adds a pipeline around it, reproduced here:

1. resize so that the short side is ``short_side`` (384), Lanczos (antialiased): target ``Y``;
2. dim a copy of ``Y``: saturation factor ``U(0.7, 1)`` (PIL ``ImageEnhance.Color``: blend with
   the grey image), then contrast factor ``U(0.7, 1)`` (PIL ``ImageEnhance.Contrast``: blend
   with the mean grey level); quantise to uint8 -> ``Y'``;
3. ``X = β·(α·Y')^γ`` with one draw per image (the code) or per channel (the paper's index
   ``i`` over R, G, B; option ``per_channel``); quantise to uint8;
4. aligned random crop (128) and augmentation: vertical flip, horizontal flip and 180° rotation,
   each with probability 0.5.

Optional extension (off by default, not in the paper or the code): Poisson–Gaussian sensor
noise in linear light, ``x_lin + sqrt(a·x_lin + b²)·N(0, 1)`` (the Gaussian approximation of
shot noise ``Poisson(x_lin/a)·a`` plus read noise of standard deviation ``b``), with per-image
``a`` (shot) and ``b`` (read) drawn log-uniformly.

Every random draw comes from a NumPy generator passed in, so a pair is a pure function of the
image and the generator state. :class:`SyntheticLowLight` (``core.synthetic``; DLN registers
the same dataset as ``dln.synthetic``) derives one generator per item from
``(seed, epoch, index)``, so an item is identical across runs and DataLoader workers.
``lle demo`` synthesises its pairs with :func:`synthesize` and :data:`DEMO_NOISE`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from PIL import Image, ImageEnhance
from pydantic import Field, field_validator
from torch import Tensor

from lle_core.errors import DatasetError
from lle_core.interfaces import LLEDataset
from lle_core.registry import Params

Range = tuple[float, float]
#: The paper the simulation comes from.
PAPER = (
    'Wang, Liu, Siu, Lun, "Deep Lightening Network for Low-Light Image Enhancement" (slides), '
    '"Experiments" (simulation equation); journal: "Lightening Network for Low-light Image '
    'Enhancement", TIP 2020'
)
#: A factor given as one value (all channels) or one value per channel (R, G, B).
Factor = float | tuple[float, float, float]


# ------------------------------------------------------------------------------------------
# Configuration
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticRanges:
    """Sampling ranges (uniform, inclusive) of the synthesis factors.

    Attributes:
        alpha: ``α`` of ``X = β(αY)^γ`` (paper: 0.9–1).
        beta: ``β`` (paper: 0.5–1).
        gamma: ``γ`` (paper: 1.5–5).
        saturation: PIL ``ImageEnhance.Color`` factor (code: 0.7–1; 1 = unchanged).
        contrast: PIL ``ImageEnhance.Contrast`` factor (code: 0.7–1; 1 = unchanged).
    """

    alpha: Range = (0.9, 1.0)
    beta: Range = (0.5, 1.0)
    gamma: Range = (1.5, 5.0)
    saturation: Range = (0.7, 1.0)
    contrast: Range = (0.7, 1.0)


@dataclass(frozen=True)
class SensorNoise:
    """Poisson–Gaussian noise in linear light (extension; log-uniform ranges).

    Attributes:
        shot: Range of ``a`` in ``var = a·x_lin + b²`` (signal-dependent part).
        read: Range of ``b`` (signal-independent standard deviation).
    """

    shot: Range = (1e-4, 4e-3)
    read: Range = (1e-3, 1e-2)


@dataclass(frozen=True)
class PairConfig:
    """Everything :func:`make_pair` needs besides the image and the generator."""

    ranges: SyntheticRanges = field(default_factory=SyntheticRanges)
    per_channel: bool = False
    noise: SensorNoise | None = None
    short_side: int | None = 384
    crop: int | None = 128
    flip: bool = True
    rot180: bool = True


#: Sensor noise of ``lle demo``'s pairs: full-scale counts of 300–3000 photo-electrons
#: (``a = 1/k``) and read noise of 0.0005–0.003 (linear units).
DEMO_NOISE = SensorNoise(shot=(1.0 / 3000.0, 1.0 / 300.0), read=(5e-4, 3e-3))


@dataclass
class SyntheticPair:
    """Result of :func:`synthesize`.

    Attributes:
        low: ``(3, H, W)`` float32 in ``[0, 1]``, on the uint8 grid.
        high: ``(3, H, W)`` float32 in ``[0, 1]``: the (quantised) clean input.
        factors: The factors used (``alpha``, ``beta``, ``gamma``, ``saturation``,
            ``contrast`` and, with noise, ``shot``/``read``).
    """

    low: Tensor
    high: Tensor
    factors: dict[str, Any]


# ------------------------------------------------------------------------------------------
# Pure pieces
# ------------------------------------------------------------------------------------------


def quantize(x: Tensor) -> Tensor:
    """Round ``[0, 1]`` values to the uint8 grid (``round(255·x) / 255``, clamped)."""
    return torch.round(x.clamp(0.0, 1.0) * 255.0) / 255.0


def to_pil(x: Tensor) -> Image.Image:
    """``(3, H, W)`` float in ``[0, 1]`` -> RGB uint8 PIL image (rounded)."""
    arr = torch.round(x.detach().clamp(0, 1) * 255.0).to(torch.uint8).permute(1, 2, 0)
    return Image.fromarray(arr.cpu().numpy())


def from_pil(img: Image.Image) -> Tensor:
    """RGB uint8 PIL image -> ``(3, H, W)`` float32 in ``[0, 1]``."""
    arr = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).contiguous()


def resize_short_side(img: Image.Image, short_side: int) -> Image.Image:
    """Resize (Lanczos, antialiased) so that the shorter side equals ``short_side``."""
    w, h = img.size
    scale = short_side / min(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return img if size == img.size else img.resize(size, Image.Resampling.LANCZOS)


def dim_colours(img: Image.Image, saturation: float, contrast: float) -> Image.Image:
    """Reduce saturation then contrast with PIL ``ImageEnhance`` semantics (uint8 result).

    ``Color(f)`` blends with the luma (ITU-R 601) grey image, ``Contrast(f)`` with a constant
    image at the rounded mean luma; ``f = 1`` leaves the image unchanged.
    """
    out = img if saturation == 1.0 else ImageEnhance.Color(img).enhance(saturation)
    return out if contrast == 1.0 else ImageEnhance.Contrast(out).enhance(contrast)


def _as_channels(value: Factor, like: Tensor) -> Tensor:
    t = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    if t.dim() == 0:
        return t
    if t.shape != (3,):
        raise ValueError(f"a per-channel factor needs 3 values (R, G, B), got {tuple(t.shape)}")
    return t.view(3, 1, 1)


def darken(y: Tensor, alpha: Factor, beta: Factor, gamma: Factor) -> Tensor:
    """The slides' simulation ``X = β·(α·Y)^γ`` (no quantisation).

    Args:
        y: ``(3, H, W)`` in ``[0, 1]``.
        alpha: ``α``, a scalar or a 3-tuple (one per channel).
        beta: ``β``, same form.
        gamma: ``γ``, same form.

    Returns:
        ``(3, H, W)`` in ``[0, 1]`` when the factors are in their paper ranges.
    """
    a, b, g = (_as_channels(v, y) for v in (alpha, beta, gamma))
    return b * (a * y.clamp(0.0, 1.0)).pow(g)


def srgb_to_linear(x: Tensor) -> Tensor:
    """sRGB-encoded ``[0, 1]`` -> linear light (IEC 61966-2-1)."""
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055).pow(2.4))


def linear_to_srgb(x: Tensor) -> Tensor:
    """Linear light ``[0, 1]`` -> sRGB-encoded (IEC 61966-2-1)."""
    x = x.clamp(0.0, 1.0)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.pow(1.0 / 2.4) - 0.055)


def add_sensor_noise(x: Tensor, shot: float, read: float, rng: np.random.Generator) -> Tensor:
    """Poisson–Gaussian noise in linear light: ``x_lin + sqrt(shot·x_lin + read²)·N(0, 1)``.

    Args:
        x: ``(3, H, W)`` sRGB in ``[0, 1]``.
        shot: Signal-dependent variance factor ``a``.
        read: Signal-independent standard deviation ``b``.
        rng: Source of the Gaussian draws.

    Returns:
        Noisy image, sRGB, clamped to ``[0, 1]``.
    """
    lin = srgb_to_linear(x)
    normal = torch.from_numpy(rng.standard_normal(tuple(x.shape)).astype(np.float32))
    noisy = lin + torch.sqrt(shot * lin + read**2) * normal.to(x)
    return linear_to_srgb(noisy)


def _uniform(rng: np.random.Generator, bounds: Range, n: int | None) -> Factor:
    lo, hi = bounds
    if n is None:
        return float(rng.uniform(lo, hi))
    vals = rng.uniform(lo, hi, size=n)
    return (float(vals[0]), float(vals[1]), float(vals[2]))


def _log_uniform(rng: np.random.Generator, bounds: Range) -> float:
    lo, hi = bounds
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def synthesize(
    clean: Tensor,
    rng: np.random.Generator | None = None,
    *,
    ranges: SyntheticRanges | None = None,
    per_channel: bool = False,
    noise: SensorNoise | None = None,
    **factors: Any,
) -> SyntheticPair:
    """Make a low-light image from a clean one (steps 2–3 of the module docstring).

    Args:
        clean: ``(3, H, W)`` in ``[0, 1]``: the normal-light target (already resized).
        rng: NumPy generator for the factors not given in ``factors`` (and the noise).
        ranges: Sampling ranges (paper/code defaults).
        per_channel: Draw ``α, β, γ`` per channel instead of once per image.
        noise: Optional sensor noise model (extension; ``None`` = the paper).
        **factors: Fixed values for ``alpha``, ``beta``, ``gamma`` (scalars or 3-tuples),
            ``saturation``, ``contrast``, ``shot``, ``read``; the rest is sampled.

    Returns:
        :class:`SyntheticPair` with ``low = Q(β(α·Q(dim(Q(clean))))^γ)`` (``Q`` = uint8
        quantisation), ``high = Q(clean)``.

    Raises:
        ValueError: Unknown factor names, a wrong ``clean`` shape, or a factor that must be
            sampled without a generator.
    """
    allowed = {"alpha", "beta", "gamma", "saturation", "contrast", "shot", "read"}
    unknown = set(factors) - allowed
    if unknown:
        raise ValueError(
            f"synthesize: unknown factors {sorted(unknown)}; allowed {sorted(allowed)}"
        )
    if clean.dim() != 3 or clean.shape[0] != 3:
        raise ValueError(f"synthesize expects a (3, H, W) image, got {tuple(clean.shape)}")
    ranges = ranges or SyntheticRanges()
    n = 3 if per_channel else None
    needed = ["saturation", "contrast", "beta", "alpha", "gamma"]
    if noise is not None:
        needed += ["shot", "read"]
    missing = [k for k in needed if factors.get(k) is None]
    if missing and rng is None:
        raise ValueError(f"synthesize: give a generator `rng` or fixed values for {missing}")
    if noise is not None and rng is None:
        raise ValueError("synthesize: sensor noise needs a generator `rng`")
    used: dict[str, Any] = {}
    for name in needed:  # fixed draw order keeps results reproducible
        if factors.get(name) is not None:
            used[name] = factors[name]
        elif name in ("shot", "read"):
            assert noise is not None and rng is not None
            used[name] = _log_uniform(rng, getattr(noise, name))
        else:
            assert rng is not None
            scalar_only = name in ("saturation", "contrast")
            used[name] = _uniform(rng, getattr(ranges, name), None if scalar_only else n)

    high = quantize(clean.float())
    dimmed = from_pil(dim_colours(to_pil(high), used["saturation"], used["contrast"]))
    low = darken(dimmed, used["alpha"], used["beta"], used["gamma"])
    if noise is not None and rng is not None:
        low = add_sensor_noise(low, used["shot"], used["read"], rng)
    return SyntheticPair(low=quantize(low), high=high, factors=used)


def aligned_crop(
    low: Tensor, high: Tensor, size: int, rng: np.random.Generator
) -> tuple[Tensor, Tensor]:
    """The same random ``size × size`` window of two ``(3, H, W)`` images.

    Raises:
        ValueError: The images are smaller than ``size``.
    """
    h, w = high.shape[-2:]
    if h < size or w < size:
        raise ValueError(f"image of {h}×{w} px is smaller than the crop {size}")
    top = int(rng.integers(0, h - size + 1))
    left = int(rng.integers(0, w - size + 1))
    win = (slice(None), slice(top, top + size), slice(left, left + size))
    return low[win], high[win]


def augment(low: Tensor, high: Tensor, rng: np.random.Generator, *, flip: bool = True,
            rot180: bool = True) -> tuple[Tensor, Tensor]:
    """Code augmentation: vertical flip, horizontal flip, 180° rotation, each with p = 0.5."""
    draws = rng.random(3)  # always drawn: the stream does not depend on the options
    dims: list[int] = []
    if flip and draws[0] < 0.5:
        dims.append(-2)
    if flip and draws[1] < 0.5:
        dims.append(-1)
    if rot180 and draws[2] < 0.5:
        dims += [-2, -1]
    # a dimension flipped twice is unchanged: keep the ones flipped an odd number of times
    odd = [d for d in (-2, -1) if dims.count(d) % 2 == 1]
    if not odd:
        return low, high
    return low.flip(odd), high.flip(odd)


def make_pair(image: Tensor, rng: np.random.Generator, config: PairConfig) -> SyntheticPair:
    """Full training pipeline on one photo: resize, synthesise, aligned crop, augment.

    Args:
        image: ``(3, H, W)`` in ``[0, 1]``, any size.
        rng: The item's generator.
        config: Pipeline options.

    Returns:
        A :class:`SyntheticPair` of ``crop × crop`` images (full size when ``crop`` is None).
    """
    if config.short_side:
        image = from_pil(resize_short_side(to_pil(image), config.short_side))
    pair = synthesize(image, rng, ranges=config.ranges, per_channel=config.per_channel,
                      noise=config.noise)
    low, high = pair.low, pair.high
    if config.crop:
        low, high = aligned_crop(low, high, config.crop, rng)
    low, high = augment(low, high, rng, flip=config.flip, rot180=config.rot180)
    return SyntheticPair(low.contiguous(), high.contiguous(), pair.factors)


# ------------------------------------------------------------------------------------------
# Dataset (registered as ``core.synthetic`` and, by DLN, ``dln.synthetic``)
# ------------------------------------------------------------------------------------------


def _check_range(value: Range, name: str, low: float = 0.0) -> Range:
    lo, hi = value
    if not (low <= lo <= hi):
        raise ValueError(f"{name} range must satisfy {low} <= low <= high, got {value}")
    return value


class SyntheticParams(Params):
    """Parameters of ``core.synthetic`` / ``dln.synthetic`` (defaults = the DLN code).

    Attributes:
        root: Folder of normal-light images (any photos; searched non-recursively).
        crop: Side of the aligned random crop (``None``: whole resized image, batch size 1).
        short_side: Resize the short side to this (``None``: keep the size).
        alpha, beta, gamma, saturation, contrast: Uniform sampling ranges.
        per_channel: Draw α, β, γ per RGB channel (slides) instead of per image (code).
        noise: Add Poisson–Gaussian sensor noise (extension, off in the paper).
        shot_noise, read_noise: Log-uniform ranges of the noise parameters.
        flip: Random vertical and horizontal flips. rot180: random 180° rotation.
        seed: Base seed; item ``i`` in epoch ``e`` uses the generator seeded by
            ``(seed, e, i)``.
        length: Items per epoch (default: number of images × ``repeat``).
        repeat: Passes over the folder per epoch (with different random draws).
    """

    root: str
    crop: int | None = Field(128, ge=1)
    short_side: int | None = Field(384, ge=1)
    alpha: Range = (0.9, 1.0)
    beta: Range = (0.5, 1.0)
    gamma: Range = (1.5, 5.0)
    saturation: Range = (0.7, 1.0)
    contrast: Range = (0.7, 1.0)
    per_channel: bool = False
    noise: bool = False
    shot_noise: Range = (1e-4, 4e-3)
    read_noise: Range = (1e-3, 1e-2)
    flip: bool = True
    rot180: bool = True
    seed: int = 0
    length: int | None = Field(None, ge=1)
    repeat: int = Field(1, ge=1)

    @field_validator("alpha", "beta", "gamma", "saturation", "contrast")
    @classmethod
    def _non_negative(cls, value: Range, info: Any) -> Range:
        return _check_range(value, info.field_name)

    @field_validator("shot_noise", "read_noise")
    @classmethod
    def _positive(cls, value: Range, info: Any) -> Range:
        return _check_range(value, info.field_name, low=1e-12)


class SyntheticLowLight(LLEDataset):
    """Any folder of normal-light photos as a paired low-light dataset (DLN synthesis).

    Items: ``{"low": (3, crop, crop), "high": (3, crop, crop), "name": str}``, float32 in
    ``[0, 1]``. Item ``i`` is a pure function of ``(seed, epoch, i)`` and the image file.
    """

    Params = SyntheticParams
    summary = "Synthetic low-light pairs X = β(αY)^γ from any folder of clean photos"
    paper = PAPER

    paired = True
    #: Registry name used in error messages (a plugin registering a subclass sets its own).
    dataset_name: ClassVar[str] = "core.synthetic"

    def __init__(self, root: str | Path, *, crop: int | None = 128, short_side: int | None = 384,
                 alpha: Range = (0.9, 1.0), beta: Range = (0.5, 1.0), gamma: Range = (1.5, 5.0),
                 saturation: Range = (0.7, 1.0), contrast: Range = (0.7, 1.0),
                 per_channel: bool = False, noise: bool = False,
                 shot_noise: Range = (1e-4, 4e-3), read_noise: Range = (1e-3, 1e-2),
                 flip: bool = True, rot180: bool = True, seed: int = 0,
                 length: int | None = None, repeat: int = 1) -> None:
        """Args: see :class:`SyntheticParams`.

        Raises:
            DatasetError: ``root`` is not a folder or holds no images.
        """
        from lle_core.io import list_images

        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"{self.dataset_name}: root {str(self.root)!r} is not a folder")
        self.files = list(list_images(self.root))
        if not self.files:
            raise DatasetError(f"{self.dataset_name}: no images found in {str(self.root)!r}")
        self.config = PairConfig(
            ranges=SyntheticRanges(tuple(alpha), tuple(beta), tuple(gamma),  # type: ignore[arg-type]
                                   tuple(saturation), tuple(contrast)),  # type: ignore[arg-type]
            per_channel=per_channel,
            noise=SensorNoise(tuple(shot_noise), tuple(read_noise)) if noise else None,  # type: ignore[arg-type]
            short_side=short_side,
            crop=crop,
            flip=flip,
            rot180=rot180,
        )
        self.seed = seed
        self.epoch = 0
        self.length = length if length is not None else len(self.files) * repeat

    def __len__(self) -> int:
        """Items per epoch."""
        return self.length

    def set_epoch(self, epoch: int) -> None:
        """Use the draws of ``epoch`` from now on."""
        self.epoch = int(epoch)

    def generator(self, index: int) -> np.random.Generator:
        """The generator of item ``index`` in the current epoch."""
        return np.random.default_rng([self.seed, self.epoch, index])

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Read photo ``index mod n`` and synthesise its low-light pair."""
        from lle_core.io import read_image

        if not 0 <= index < self.length:
            raise IndexError(f"{self.dataset_name} index {index} out of range [0, {self.length})")
        path = self.files[index % len(self.files)]
        try:
            pair = make_pair(read_image(path), self.generator(index), self.config)
        except ValueError as err:
            raise DatasetError(f"{self.dataset_name}: {path}: {err}") from err
        return {"low": pair.low, "high": pair.high, "name": path.stem}
