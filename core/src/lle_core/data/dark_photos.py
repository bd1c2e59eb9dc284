"""Camera-like low-light pairs from clean photos (``core.dark_photos``).

DLN's simulation (:mod:`lle_core.data.synthesis`) darkens the *encoded* image with a power
law. A photo taken in low light is darker in *linear light* and carries the sensor's noise
there, and it is then tone-mapped, quantised and often JPEG-compressed. This module builds
pairs the second way, so that models trained on them see the degradations of people's photos
(our choice; none of the five papers trains on it). The clean photo ``y`` (sRGB, ``[0, 1]``)
is the target, and the low-light input is:

1. linear light ``l = srgb_to_linear(y)``;
2. colour cast and exposure: ``l_c · g_c · k`` with per-channel gains ``g_c ~ U(1 − c, 1 + c)``
   normalised to mean 1, and an exposure ``k`` drawn log-uniformly (``1/50–1/4`` by default;
   LOL-v1's low images are about ``1/35`` of their references in linear light);
3. Poisson–Gaussian sensor noise in linear light, ``x + sqrt(a·x + b²)·N(0, 1)``
   (:func:`lle_core.data.synthesis.add_sensor_noise`), ``a`` and ``b`` log-uniform;
4. sRGB encoding followed by a random power ``t ~ U(tone)`` (cameras' tone curves differ);
5. 8-bit quantisation, then, with probability ``jpeg_p``, JPEG at quality ``U(jpeg)``.

Crops, flips and rescaling happen on the clean photo before the degradation (so noise keeps
its pixel scale). Item ``i`` of epoch ``e`` is a pure function of ``(seed, e, i)`` when
``seed`` is set; otherwise its draws come from torch's global RNG, which the engine seeds.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image
from pydantic import Field, model_validator
from torch import Tensor

from lle_core.data.folders import FolderBase, FolderParams, images_in, mix_seed, split_items
from lle_core.data.synthesis import (
    add_sensor_noise,
    from_pil,
    linear_to_srgb,
    quantize,
    srgb_to_linear,
    to_pil,
)

Range = tuple[float, float]


@dataclass(frozen=True)
class Darkening:
    """Sampling ranges of :func:`darken_like_camera`.

    ``exposure``, ``shot`` and ``read`` are drawn log-uniformly, the others uniformly.

    Attributes:
        exposure: Linear-light gain ``k`` (``< 1`` darkens).
        cast: Half-width ``c`` of the per-channel gain range ``[1 − c, 1 + c]``.
        shot: Signal-dependent noise variance factor ``a`` (linear light).
        read: Signal-independent noise standard deviation ``b`` (linear light).
        tone: Power applied to the sRGB-encoded image (``1`` = plain sRGB).
        jpeg: JPEG quality range.
        jpeg_p: Probability of JPEG compression.
    """

    exposure: Range = (0.02, 0.25)
    cast: float = 0.1
    shot: Range = (1.0 / 3000.0, 1.0 / 300.0)
    read: Range = (5e-4, 3e-3)
    tone: Range = (0.8, 1.25)
    jpeg: Range = (60.0, 95.0)
    jpeg_p: float = 0.5


def _log_uniform(rng: np.random.Generator, bounds: Range) -> float:
    lo, hi = bounds
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def jpeg_roundtrip(x: Tensor, quality: int) -> Tensor:
    """Encode ``(3, H, W)`` ``[0, 1]`` as JPEG (4:2:0, PIL) at ``quality`` and decode it."""
    buffer = io.BytesIO()
    to_pil(x).save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    with Image.open(buffer) as img:
        return from_pil(img)


def darken_like_camera(
    clean: Tensor, rng: np.random.Generator, ranges: Darkening | None = None
) -> tuple[Tensor, dict[str, Any]]:
    """The low-light input of a clean photo (steps 1–5 of the module docstring).

    Args:
        clean: ``(3, H, W)`` sRGB in ``[0, 1]``.
        rng: Source of every draw (fixed order, so a seeded generator reproduces the image).
        ranges: Sampling ranges (defaults: :class:`Darkening`).

    Returns:
        ``(low, factors)``: ``low`` is ``(3, H, W)`` float32 in ``[0, 1]`` on the uint8 grid;
        ``factors`` holds the values drawn.
    """
    r = ranges or Darkening()
    gains = rng.uniform(1.0 - r.cast, 1.0 + r.cast, size=3)
    gains = gains / gains.mean()
    factors: dict[str, Any] = {
        "exposure": _log_uniform(rng, r.exposure),
        "cast": tuple(float(g) for g in gains),
        "shot": _log_uniform(rng, r.shot),
        "read": _log_uniform(rng, r.read),
        "tone": float(rng.uniform(*r.tone)),
        "jpeg": round(rng.uniform(*r.jpeg)) if rng.random() < r.jpeg_p else None,
    }
    gain = torch.tensor(gains, dtype=torch.float32).view(3, 1, 1) * factors["exposure"]
    dark = linear_to_srgb(srgb_to_linear(clean.float().clamp(0.0, 1.0)) * gain)
    noisy = add_sensor_noise(dark, factors["shot"], factors["read"], rng)
    low = quantize(noisy.pow(factors["tone"]))
    if factors["jpeg"] is not None:
        low = jpeg_roundtrip(low, factors["jpeg"])
    return low, factors


class DarkPhotosParams(FolderParams):
    """Parameters of ``core.dark_photos``.

    Attributes:
        root: Folder of clean photos, or a list of folders (searched non-recursively).
        crop, flip, rot90, scale, repeat, cache, holdout_every, part: As for
            ``core.paired_folder`` (applied to the clean photo before darkening).
        seed: ``None`` draws from torch's global RNG; an int makes item ``i`` of epoch ``e``
            a pure function of ``(seed, e, i)`` (use one for validation sets).
        exposure, cast, shot, read, tone, jpeg, jpeg_p: Ranges of :class:`Darkening`.
    """

    root: str | list[str]  # type: ignore[assignment]
    exposure: Range = (0.02, 0.25)
    cast: float = Field(0.1, ge=0.0, lt=1.0)
    shot: Range = (1.0 / 3000.0, 1.0 / 300.0)
    read: Range = (5e-4, 3e-3)
    tone: Range = (0.8, 1.25)
    jpeg: Range = (60.0, 95.0)
    jpeg_p: float = Field(0.5, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ranges(self) -> DarkPhotosParams:
        for name in ("exposure", "shot", "read", "tone"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"{name} must be (low, high) with 0 < low <= high, got "
                                 f"({lo}, {hi})")
        lo, hi = self.jpeg
        if not 1 <= lo <= hi <= 100:
            raise ValueError(f"jpeg quality must satisfy 1 <= low <= high <= 100, got ({lo}, {hi})")
        return self


class DarkPhotosDataset(FolderBase):
    """Clean photos paired with camera-like low-light versions (``core.dark_photos``).

    Items: ``{"low": (3, h, w), "high": (3, h, w), "name": stem}``, float32 in ``[0, 1]``.
    """

    Params = DarkPhotosParams
    summary = "Clean photos darkened like a camera in low light (linear exposure, noise, JPEG)"

    paired = True
    keys = ("low", "high", "name")

    def __init__(
        self,
        root: str | Path | Sequence[str | Path],
        crop: int | None = None,
        flip: bool = False,
        rot90: bool = False,
        scale: tuple[float, float] | None = None,
        repeat: int = 1,
        seed: int | None = None,
        cache: bool = False,
        holdout_every: int | None = None,
        part: Literal["train", "holdout"] = "train",
        exposure: Range = (0.02, 0.25),
        cast: float = 0.1,
        shot: Range = (1.0 / 3000.0, 1.0 / 300.0),
        read: Range = (5e-4, 3e-3),
        tone: Range = (0.8, 1.25),
        jpeg: Range = (60.0, 95.0),
        jpeg_p: float = 0.5,
    ) -> None:
        """See :class:`DarkPhotosParams`.

        Raises:
            DatasetError: A root is missing or holds no images (the message names it).
        """
        super().__init__(crop=crop, flip=flip, rot90=rot90, repeat=repeat, seed=seed,
                         scale=scale, cache=cache)
        roots = [root] if isinstance(root, (str, Path)) else list(root)
        files = [f for r in roots for f in images_in(Path(r), "clean")]
        self.files = split_items(sorted(files, key=lambda f: (f.stem, str(f))), holdout_every, part,
                            roots)
        self.ranges = Darkening(tuple(exposure), cast, tuple(shot),  # type: ignore[arg-type]
                                tuple(read), tuple(tone), tuple(jpeg), jpeg_p)  # type: ignore[arg-type]

    def _source_count(self) -> int:
        return len(self.files)

    def _rng(self, index: int) -> np.random.Generator:
        if self.seed is None:
            return np.random.default_rng(int(torch.randint(2**62, (1,)).item()))
        return np.random.default_rng(mix_seed(self.seed, self.epoch, index))

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Read, augment and darken one photo."""
        index = self._item_index(index)
        path = self.files[index % len(self.files)]
        (high,) = self.augment([self._read(path)], generator=self._generator(index),
                               name=str(path))
        low, _ = darken_like_camera(high, self._rng(index), self.ranges)
        return {"low": low, "high": high, "name": path.stem}
