"""The real-photo panel: how an enhancer treats people's photos, next to its LOL score.

Two parts (protocol and targets in ``docs/weights.md``):

* **No-reference figures** on real low-light photos without ground truth (DICM, LIME, MEF;
  up to ``per`` photos per folder, every ``len // per``-th in name order, upright by EXIF, long
  side reduced to ``side`` px with bicubic resampling). The output is rounded to 8 bits, then
  compared with the *gained input* ``g = x · mean_luma(out) / mean_luma(x)`` (a pure gain keeps
  every pixel's chromaticity):

  - ``color_ratio``: colourfulness (Hasler & Süsstrunk 2003, on 0–255 values) of the output
    over that of ``g``; below 1 the colours are washed out, above 1 over-saturated;
  - ``clipping``: percentage of pixels whose smallest channel is ≥ 250/255 in the output,
    minus the same in ``g`` (highlights pushed to white);
  - ``black_level``: 1st percentile of the output's luma (a lifted veil over black shows here);
  - ``border``: mean luma of the outer 2-px frame over that of the 2-px band inside it.

* **Darkened clean photos** (Kodak, McMaster): each photo darkened by
  :func:`lle_core.data.dark_photos.darken_like_camera` with a fixed seed per photo, so PSNR and
  SSIM against the original apply. These photos are never trained on.

Luma is BT.601 (``0.299 R + 0.587 G + 0.114 B``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from kornia.color import rgb_to_grayscale
from PIL import Image, ImageOps
from torch import Tensor

from lle_core.data.dark_photos import darken_like_camera
from lle_core.evaluation.evaluate import score_pair
from lle_core.io import list_images, read_image

#: ``(B, 3, H, W)`` in ``[0, 1]`` -> same shape in ``[0, 1]``.
EnhanceFn = Callable[[Tensor], Tensor]

#: The no-reference figures, in display order.
NO_REFERENCE = ("color_ratio", "clipping", "black_level", "border")

def luma(x: Tensor) -> Tensor:
    """``(B, 3, H, W)`` -> ``(B, H, W)`` BT.601 luma (kornia's ``rgb_to_grayscale``)."""
    return rgb_to_grayscale(x)[:, 0]


def colourfulness(x: Tensor) -> float:
    """Hasler–Süsstrunk colourfulness of the first image of ``(B, 3, H, W)`` in ``[0, 1]``.

    ``sqrt(σ_rg² + σ_yb²) + 0.3·sqrt(μ_rg² + μ_yb²)`` with ``rg = R − G`` and
    ``yb = (R + G)/2 − B`` on 0–255 values (standard deviations with Bessel's correction).
    """
    r, g, b = (x[0, c].double() * 255.0 for c in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    spread = torch.sqrt(rg.std() ** 2 + yb.std() ** 2)
    mean = torch.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    return float(spread + 0.3 * mean)


def _clipped_percent(x: Tensor) -> float:
    return float((x.amin(dim=1) >= 250.0 / 255.0).float().mean()) * 100.0


def border_ratio(out: Tensor) -> float:
    """Mean luma of the outer 2-px frame over that of the 2-px band inside it (first image)."""
    y = luma(out)[0]
    outer = torch.cat([y[:2].flatten(), y[-2:].flatten(), y[:, :2].flatten(),
                       y[:, -2:].flatten()])
    inner = torch.cat([y[2:4, 2:-2].flatten(), y[-4:-2, 2:-2].flatten(),
                       y[2:-2, 2:4].flatten(), y[2:-2, -4:-2].flatten()])
    return float(outer.mean() / inner.mean().clamp_min(1e-4))


def no_reference_figures(x: Tensor, out: Tensor) -> dict[str, float]:
    """The four figures of one photo (module docstring).

    Args:
        x: ``(1, 3, H, W)`` input in ``[0, 1]``.
        out: ``(1, 3, H, W)`` output in ``[0, 1]`` (rounded to 8 bits here).

    Returns:
        ``{"color_ratio", "clipping" (percentage points), "black_level", "border"}``.
    """
    out = torch.round(out.float().clamp(0.0, 1.0) * 255.0) / 255.0
    x = x.float()
    gain = luma(out).mean() / luma(x).mean().clamp_min(1e-4)
    gained = (x * gain).clamp(0.0, 1.0)
    return {
        "color_ratio": colourfulness(out) / max(colourfulness(gained), 1e-6),
        "clipping": _clipped_percent(out) - _clipped_percent(gained),
        "black_level": float(torch.quantile(luma(out).flatten(), 0.01)),
        "border": border_ratio(out),
    }


def panel_photos(folder: str | Path, *, per: int = 8, side: int = 512) -> list[Tensor]:
    """The panel's photos of one folder as ``(1, 3, h, w)`` float32 tensors in ``[0, 1]``.

    Every ``len // per``-th image in name order, at most ``per``; upright by EXIF; the long
    side reduced (never enlarged) to ``side`` with bicubic resampling on 8-bit values.
    """
    files = list_images(Path(folder))
    step = max(1, len(files) // per)
    photos = []
    for path in files[::step][:per]:
        with Image.open(path) as img:
            upright = ImageOps.exif_transpose(img).convert("RGB")
        upright.thumbnail((side, side), Image.Resampling.BICUBIC)
        arr = np.asarray(upright, dtype=np.float32) / 255.0
        photos.append(torch.from_numpy(arr.copy()).permute(2, 0, 1)[None])
    return photos


def darkened_pairs(folder: str | Path, *, seed: int = 2026) -> list[tuple[Tensor, Tensor]]:
    """``(low, clean)`` pairs, ``(1, 3, H, W)`` each, of every photo in ``folder``.

    Photo ``i`` (name order) is darkened with the generator seeded by ``(seed, i)``.
    """
    pairs = []
    for i, path in enumerate(list_images(Path(folder))):
        clean = read_image(path)
        low, _ = darken_like_camera(clean, np.random.default_rng([seed, i]))
        pairs.append((low[None], clean[None]))
    return pairs


def _shrink(image: Tensor, side: int) -> Tensor:
    h, w = image.shape[-2:]
    s = side / max(h, w)
    if s >= 1:
        return image
    size = (round(h * s), round(w * s))
    return torch.nn.functional.interpolate(image, size=size, mode="bilinear", antialias=True,
                                           align_corners=False).clamp(0, 1)


def panel_inputs(
    unpaired: str | Path | None, clean: Sequence[str | Path] = (), *, side: int = 512
) -> tuple[dict[str, list[Tensor]], dict[str, list[tuple[Tensor, Tensor]]]]:
    """The panel's inputs: ``(photos, pairs)`` for :func:`run_panel`.

    Args:
        unpaired: Folder whose sub-folders hold real low-light photos (each sub-folder one
            panel column, e.g. ``../shared/data/unpaired`` with ``dicm``, ``lime``, ``mef``),
            or ``None``.
        clean: Folders of clean photos, darkened at full size by :func:`darkened_pairs`, then
            both images reduced to a ``side``-px long side.
        side: Long side of every panel image.
    """
    photos: dict[str, list[Tensor]] = {}
    if unpaired is not None:
        for folder in sorted(p for p in Path(unpaired).iterdir() if p.is_dir()):
            photos[folder.name] = panel_photos(folder, side=side)
    pairs = {Path(c).name: [(_shrink(lo, side), _shrink(hi, side))
                            for lo, hi in darkened_pairs(c)] for c in clean}
    return photos, pairs


@dataclass
class PanelResult:
    """Panel figures of one enhancer.

    Attributes:
        label: Who produced the outputs.
        photos: ``{folder: {figure: mean over its photos}}`` for the no-reference folders.
        clean: ``{folder: {"psnr", "ssim"}}`` means on the darkened clean photos.
        counts: Photos measured per folder.
    """

    label: str
    photos: dict[str, dict[str, float]] = field(default_factory=dict)
    clean: dict[str, dict[str, float]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def as_record(self, digits: int = 4) -> dict[str, dict[str, float]]:
        """``{folder: {figure: value}}`` for both parts, rounded (what weight records keep)."""
        both = {**self.photos, **self.clean}
        return {k: {f: round(v, digits) for f, v in figs.items()} for k, figs in both.items()}


def run_panel(
    label: str,
    enhance: EnhanceFn,
    photos: Mapping[str, Sequence[Tensor]],
    clean: Mapping[str, Sequence[tuple[Tensor, Tensor]]],
) -> PanelResult:
    """Measure one enhancer on the panel.

    Args:
        label: Name for the result.
        enhance: Maps a ``(1, 3, H, W)`` input to its output.
        photos: ``{folder: photos}`` from :func:`panel_photos`.
        clean: ``{folder: pairs}`` from :func:`darkened_pairs`.
    """
    result = PanelResult(label)
    with torch.no_grad():
        for name, xs in photos.items():
            rows = [no_reference_figures(x, enhance(x)) for x in xs]
            result.photos[name] = {f: float(np.mean([r[f] for r in rows])) for f in NO_REFERENCE}
            result.counts[name] = len(rows)
        for name, pairs in clean.items():
            scores = [score_pair(enhance(low).clamp(0, 1), high) for low, high in pairs]
            result.clean[name] = {m: float(np.mean([s[m] for s in scores]))
                                  for m in ("psnr", "ssim")}
            result.counts[name] = len(scores)
    return result
