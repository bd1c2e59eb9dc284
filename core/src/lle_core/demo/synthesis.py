"""Synthetic low-light pairs: DLN darkening plus Poisson-Gaussian sensor noise.

Given a clean image ``Y`` (the ground truth), :func:`darken` produces its low-light
counterpart ``X`` in four steps:

1. **Colour and contrast dimming** (DLN, spec §5.3 steps 2–3): saturation factor
   ``s ~ U(0.7, 1)`` (blend with the grey image, PIL ``ImageEnhance.Color`` semantics), then
   contrast factor ``c ~ U(0.7, 1)`` (blend with the mean grey level, PIL
   ``ImageEnhance.Contrast`` semantics), quantised to 8 bits: ``Y'``.
2. **Darkening** (DLN, Wang et al., spec §5.3 step 4): ``X = β·(α·Y')^γ`` with one draw per
   image (shared by R, G, B) of ``β ~ U(0.5, 1)``, ``α ~ U(0.9, 1)``, ``γ ~ U(1.5, 5)``.
3. **Sensor noise** (not in DLN, whose code adds none; added here because real low-light
   photos are noisy): in *linear* light (inverse sRGB transfer), photon shot noise
   ``Poisson(k·x)/k`` with a full-scale count ``k`` drawn log-uniformly in
   ``[300, 3000]`` photo-electrons, plus Gaussian read noise of standard deviation
   ``σ_r`` drawn log-uniformly in ``[5e-4, 3e-3]``; converted back with the sRGB transfer.
4. **Quantisation** to 8-bit levels (what a camera file stores).

The target stays the undimmed ``Y``. Everything is drawn from a ``torch.Generator``, so a
seed reproduces a pair exactly. The DLN plugin registers its own paper-faithful
``dln.synthetic`` dataset (no noise); this generator is core's reusable, noisy variant.

Example:
    >>> import torch
    >>> clean = torch.rand(3, 32, 32)
    >>> low, params = darken(clean, seed=0)
    >>> bool(low.mean() < clean.mean())
    True
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor

Range = tuple[float, float]


@dataclass(frozen=True)
class SynthesisConfig:
    """Ranges of the random factors (uniform unless stated).

    Attributes:
        beta: ``β`` of ``X = β(αY)^γ``.
        alpha: ``α``.
        gamma: ``γ``.
        saturation: Saturation factor of the colour dimming.
        contrast: Contrast factor of the contrast dimming.
        noise: Add Poisson-Gaussian sensor noise.
        photons: Full-scale photo-electron count ``k`` (log-uniform).
        read_noise: Read-noise standard deviation in linear units (log-uniform).
        quantize: Round the result to 8-bit levels.
    """

    beta: Range = (0.5, 1.0)
    alpha: Range = (0.9, 1.0)
    gamma: Range = (1.5, 5.0)
    saturation: Range = (0.7, 1.0)
    contrast: Range = (0.7, 1.0)
    noise: bool = True
    photons: Range = (300.0, 3000.0)
    read_noise: Range = (5e-4, 3e-3)
    quantize: bool = True


def _uniform(lo_hi: Range, g: torch.Generator) -> float:
    lo, hi = lo_hi
    return lo + (hi - lo) * float(torch.rand((), generator=g))


def _log_uniform(lo_hi: Range, g: torch.Generator) -> float:
    lo, hi = lo_hi
    return math.exp(_uniform((math.log(lo), math.log(hi)), g))


def quantize8(x: Tensor) -> Tensor:
    """Round ``[0, 1]`` values to the nearest of the 256 8-bit levels."""
    return torch.round(x.clamp(0.0, 1.0) * 255.0) / 255.0


def grey(x: Tensor) -> Tensor:
    """ITU-R 601 luma ``0.299 R + 0.587 G + 0.114 B`` (PIL's ``L``): ``(..., 1, H, W)``."""
    w = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype, device=x.device).view(3, 1, 1)
    return (x * w).sum(dim=-3, keepdim=True)


def dim_colour(y: Tensor, saturation: float, contrast: float) -> Tensor:
    """Reduce saturation then contrast (PIL ``ImageEnhance`` semantics), 8-bit quantised.

    Args:
        y: ``(3, H, W)`` in ``[0, 1]``.
        saturation: ``1`` keeps the colours, ``0`` gives grey.
        contrast: ``1`` keeps the contrast, ``0`` gives the mean grey level.
    """
    g = grey(y)
    x = (g + saturation * (y - g)).clamp(0.0, 1.0)
    mean = grey(x).mean()
    x = (mean + contrast * (x - mean)).clamp(0.0, 1.0)
    return quantize8(x)


def srgb_to_linear(x: Tensor) -> Tensor:
    """Inverse sRGB transfer function (IEC 61966-2-1), ``[0, 1] -> [0, 1]``."""
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055).clamp_min(0) ** 2.4)


def linear_to_srgb(x: Tensor) -> Tensor:
    """The sRGB transfer function (linear -> encoded), ``[0, 1] -> [0, 1]``."""
    x = x.clamp(0.0, 1.0)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(1e-12) ** (1 / 2.4) - 0.055)


def add_sensor_noise(
    x: Tensor, photons: float, read_noise: float, generator: torch.Generator
) -> Tensor:
    """Poisson-Gaussian noise applied in linear light.

    Args:
        x: ``(3, H, W)`` sRGB-encoded in ``[0, 1]``.
        photons: Photo-electrons at full scale (shot noise ``Poisson(k·x)/k``).
        read_noise: Gaussian read-noise std in linear units.
        generator: Source of randomness.

    Returns:
        Noisy ``(3, H, W)`` sRGB-encoded in ``[0, 1]``.
    """
    lin = srgb_to_linear(x).double()
    shot = torch.poisson(lin * photons, generator=generator) / photons
    read = torch.randn(lin.shape, generator=generator, dtype=lin.dtype) * read_noise
    return linear_to_srgb((shot + read).float())


def darken(
    clean: Tensor,
    *,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    config: SynthesisConfig | None = None,
) -> tuple[Tensor, dict[str, float]]:
    """Make a low-light version of a clean image (see the module docstring).

    Args:
        clean: ``(3, H, W)`` in ``[0, 1]`` (the target ``Y``).
        seed: Seed of a fresh generator (ignored when ``generator`` is given).
        generator: Random source (CPU).
        config: Ranges of the random factors.

    Returns:
        ``(low, params)``: ``low`` is ``(3, H, W)`` float32 in ``[0, 1]`` (8-bit levels when
        ``config.quantize``); ``params`` records the drawn factors.
    """
    if clean.dim() != 3 or clean.shape[0] != 3:
        raise ValueError(f"darken expects a (3, H, W) image, got {tuple(clean.shape)}")
    cfg = config or SynthesisConfig()
    g = generator or torch.Generator().manual_seed(0 if seed is None else int(seed))
    y = clean.detach().float().cpu().clamp(0.0, 1.0)
    params = {
        "saturation": _uniform(cfg.saturation, g),
        "contrast": _uniform(cfg.contrast, g),
        "beta": _uniform(cfg.beta, g),
        "alpha": _uniform(cfg.alpha, g),
        "gamma": _uniform(cfg.gamma, g),
    }
    dimmed = dim_colour(y, params["saturation"], params["contrast"])
    x = params["beta"] * (params["alpha"] * dimmed) ** params["gamma"]
    if cfg.noise:
        params["photons"] = _log_uniform(cfg.photons, g)
        params["read_noise"] = _log_uniform(cfg.read_noise, g)
        x = add_sensor_noise(x, params["photons"], params["read_noise"], g)
    x = quantize8(x) if cfg.quantize else x.clamp(0.0, 1.0)
    return x, params


def config_dict(config: SynthesisConfig | None = None) -> dict[str, object]:
    """The synthesis configuration as plain data (for reports)."""
    return asdict(config or SynthesisConfig())
