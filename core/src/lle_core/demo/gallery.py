"""``lle demo``: every shipped weight set on dark photos, in one report a person opens.

Two kinds of photos:

* **built-in**: photos shipped inside scikit-image's wheel (procedural images without it),
  darkened with :func:`lle_core.data.synthesis.synthesize` (DLN's ``β(αY)^γ`` with
  :data:`~lle_core.data.synthesis.DEMO_NOISE` sensor noise) from a fixed seed, so each keeps
  its original and gets a PSNR/SSIM (8-bit, the protocol of :mod:`lle_core.metrics`);
* **real**: a few real low-light photos from a folder (by default ``../shared/data/unpaired``
  when it exists), which have no reference.

Every installed shipped weight set and the ``core.gamma`` baseline enhance every photo the way
``lle enhance`` does (fast path, automatic tiling). Each set's time per megapixel is measured
after a warm-up pass (which builds its fast copy or compiled kernel). The report folder gets
``report.html`` (input, every set, gamma and the original side by side), ``results.json`` and
the images.
"""

from __future__ import annotations

import html
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from lle_core.errors import ConfigError
from lle_core.files import atomic_write

#: scikit-image photos the demo darkens (all bundled in its wheel).
BUILTIN_PHOTOS: tuple[str, ...] = ("astronaut", "chelsea", "coffee", "rocket")
#: Where the real dark photos are looked for when no folder is named (relative to the
#: working directory: ``make demo`` runs in the repository root).
DEFAULT_REAL = Path("../shared/data/unpaired")
#: The baseline shown beside the shipped sets.
BASELINE = "core.gamma"


@dataclass
class GalleryOptions:
    """Settings of ``lle demo`` (without ``--train``).

    Attributes:
        out: Report folder.
        size: Short side of every photo in pixels (larger photos are shrunk).
        seed: Seed of the darkening of the built-in photos.
        real: Folder of real dark photos; ``None`` uses :data:`DEFAULT_REAL` if it exists.
        use_real: ``False`` leaves real photos out.
        real_count: How many real photos (spread evenly over the folder's sorted list).
        sets: Weight sets to show (default: every installed one).
        threads: Torch CPU threads (``None``: one per core, 1 on a busy machine).
        progress: Call ``progress(done, total, label)`` after each enhanced photo.
    """

    out: Path = Path("lle-demo")
    size: int = 256
    seed: int = 0
    real: Path | None = None
    use_real: bool = True
    real_count: int = 6
    sets: tuple[str, ...] | None = None
    threads: int | None = None
    progress: Callable[[int, int, str], None] | None = None


@dataclass
class Photo:
    """One demo photo: ``low`` ``(3, H, W)`` in ``[0, 1]``, its original when it has one."""

    name: str
    kind: str  # "built-in" or "real"
    low: Tensor
    reference: Tensor | None = None
    source: str = ""

    @property
    def megapixels(self) -> float:
        """``H · W / 10⁶``."""
        return self.low.shape[-2] * self.low.shape[-1] / 1e6


@dataclass
class Column:
    """One enhancer of the report: a shipped set or the baseline, and what it did."""

    name: str
    model: str
    recorded: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    megapixels: float = 0.0
    psnr: dict[str, float] = field(default_factory=dict)
    ssim: dict[str, float] = field(default_factory=dict)

    @property
    def seconds_per_mp(self) -> float:
        """Measured wall time per megapixel (after the warm-up)."""
        return self.seconds / self.megapixels if self.megapixels else float("nan")

    def mean(self, values: dict[str, float]) -> float:
        """Mean over the built-in photos (NaN without any)."""
        return float(np.mean(list(values.values()))) if values else float("nan")


@dataclass
class GalleryResult:
    """What ``lle demo`` produced: the report, the photos, each column, the default set."""

    out: Path
    report: Path
    photos: list[Photo]
    columns: list[Column]
    default: str | None
    default_reason: str
    seconds: float


def builtin_photos(size: int, seed: int = 0) -> list[Photo]:
    """The built-in photos, darkened reproducibly (same ``seed``: the same pixels).

    Returns:
        One :class:`Photo` per available photo of :data:`BUILTIN_PHOTOS` (procedural
        images without scikit-image), with its original as ``reference``.
    """
    from lle_core.data.synthesis import DEMO_NOISE, synthesize
    from lle_core.demo.images import procedural_photo, resize_short_side, skimage_photo

    photos = []
    for i, name in enumerate(BUILTIN_PHOTOS):
        arr = skimage_photo(name)
        if arr is not None:
            clean = torch.from_numpy(arr.astype(np.float32) / 255.0).permute(2, 0, 1)
            clean, source = resize_short_side(clean, size), f"scikit-image data.{name}()"
        else:
            clean = procedural_photo(i, size, round(size * 1.25))
            name, source = f"procedural{i}", "procedural (scikit-image not installed)"
        pair = synthesize(clean, np.random.default_rng([seed, i]), noise=DEMO_NOISE)
        photos.append(Photo(name, "built-in", pair.low, pair.high, source))
    return photos


def real_photos(folder: Path, count: int, size: int) -> list[Photo]:
    """Up to ``count`` photos of ``folder`` (recursively, spread over the sorted list).

    Raises:
        ConfigError: ``folder`` holds no image.
    """
    from lle_core.demo.images import resize_short_side
    from lle_core.io import is_image_file, read_image

    files = sorted(p for p in folder.rglob("*") if p.is_file() and is_image_file(p))
    if not files:
        raise ConfigError([("--real", f"{folder} holds no image")])
    photos = []
    for path in spread(files, count):
        image = read_image(path)
        if min(image.shape[-2:]) > size:
            image = resize_short_side(image, size)
        name = "_".join(path.relative_to(folder).with_suffix("").parts)
        photos.append(Photo(name, "real", image.clamp(0, 1), None, str(path)))
    return photos


def spread(files: list[Path], count: int) -> list[Path]:
    """Up to ``count`` of ``files``, as many from each folder as possible, evenly spaced."""
    groups: dict[Path, list[Path]] = {}
    for f in files:
        groups.setdefault(f.parent, []).append(f)
    picked: list[Path] = []
    lists = sorted(groups.values(), key=len)  # small folders first: leftovers go to large ones
    for k, group in enumerate(lists):
        share = (count - len(picked)) // (len(lists) - k)  # what is left, shared fairly
        n = min(len(group), max(share, 0))
        picked += [group[round(i * (len(group) - 1) / max(n - 1, 1))] for i in range(n)]
    return sorted(picked)


def _columns(sets: tuple[str, ...] | None) -> list[tuple[Column, Callable[[], Any]]]:
    """The report's enhancers, each with a loader: the shipped sets, then the baseline."""
    import lle_core
    from lle_core.weight_sets import weight_sets

    installed = weight_sets()
    names = list(installed) if sets is None else list(sets)
    unknown = [n for n in names if n not in installed]
    if unknown:
        raise ConfigError([("--sets", f"no shipped weight set {', '.join(unknown)}; "
                            f"installed: {', '.join(installed) or 'none'}")])
    out: list[tuple[Column, Callable[[], Any]]] = []
    for n in names:
        ws = installed[n]
        recorded = {**ws.metrics, "mp_per_s": ws.mp_per_s}
        out.append((Column(n, ws.model_type, recorded), ws.load))
    out.append((Column(BASELINE, BASELINE), lambda: lle_core.create("model", BASELINE)))
    return out


def default_choice() -> tuple[str | None, str]:
    """The set ``lle enhance`` uses without ``--model``, and why (one sentence).

    The rule is :func:`lle_core.weight_sets.default_weight_set`'s; the sentence gives the
    chosen set's own figures for it (real-photo targets missed, LOL-v1 PSNR, speed).
    """
    from lle_core.errors import WeightsError
    from lle_core.weight_sets import DEFAULT_MIN_MP_PER_S, default_weight_set, weight_sets

    try:
        name, ws = default_weight_set()
    except WeightsError:
        return None, "no shipped weight set is installed"
    slow = [n for n, w in weight_sets().items()
            if w.mp_per_s is None or w.mp_per_s < DEFAULT_MIN_MP_PER_S]
    misses = ws.photo_misses()
    missed = ("its real-photo panel was not measured" if misses is None else
              f"it misses {len(misses)} real-photo target(s)"
              + (f" ({'; '.join(misses)})" if misses else ""))
    reason = (f"{name}: among the installed sets fast enough for large photos (at least "
              f"{DEFAULT_MIN_MP_PER_S} MP/s on the reference CPU"
              + (f"; {', '.join(slow)} too slow" if slow else "")
              + f"), lle enhance takes the one that misses the fewest real-photo targets "
              f"(colour, clipping, border; `lle weights`), then the best SSIM on darkened clean "
              f"photos, then the best LOL-v1 PSNR: {missed}, "
              f"LOL-v1 PSNR {ws.metrics.get('psnr', float('nan')):.2f} dB")
    return name, reason


def run_gallery(opts: GalleryOptions) -> GalleryResult:
    """Enhance the demo photos with every set and write the report (module docstring)."""
    from lle_core.demo.run import pick_threads, prepare_out_dir

    start = time.perf_counter()
    if opts.size < 32:
        raise ConfigError([("--size", f"must be at least 32 pixels, got {opts.size}")])
    real = opts.real if opts.real is not None else DEFAULT_REAL
    if opts.real is not None and not real.is_dir():
        raise ConfigError([("--real", f"{real} is not a folder")])
    previous = torch.get_num_threads()
    torch.set_num_threads(opts.threads or pick_threads())
    try:
        photos = builtin_photos(opts.size, opts.seed)
        if opts.use_real and real.is_dir():
            photos += real_photos(real, opts.real_count, opts.size)
        out = Path(opts.out)
        prepare_out_dir(out, clear=("images",))
        columns = _enhance_all(photos, _columns(opts.sets), out / "images", opts.progress)
    finally:
        torch.set_num_threads(previous)
    default, reason = default_choice()
    report = write_report(out, photos, columns, default, reason, opts)
    return GalleryResult(out, report, photos, columns, default, reason,
                         time.perf_counter() - start)


def _enhance_all(
    photos: list[Photo],
    columns: list[tuple[Column, Callable[[], Any]]],
    images: Path,
    progress: Callable[[int, int, str], None] | None,
) -> list[Column]:
    """Run every column on every photo; write inputs, outputs and originals as PNG."""
    import lle_core
    from lle_core.io import write_image
    from lle_core.metrics import psnr, ssim_index

    for photo in photos:
        write_image(images / photo.name / "input.png", photo.low)
        if photo.reference is not None:
            write_image(images / photo.name / "original.png", photo.reference)
    done, total = 0, len(photos) * len(columns)
    result = []
    for column, load in columns:
        model = load()
        lle_core.enhance(model, torch.rand(1, 3, 64, 64, generator=torch.Generator()
                                           .manual_seed(0)))  # warm-up: fast copy, kernels
        for photo in photos:
            t0 = time.perf_counter()
            y = lle_core.enhance(model, photo.low)
            column.seconds += time.perf_counter() - t0
            column.megapixels += photo.megapixels
            write_image(images / photo.name / f"{column.name}.png", y)
            if photo.reference is not None:
                pred, ref = y.unsqueeze(0), photo.reference.unsqueeze(0)
                column.psnr[photo.name] = float(psnr(pred, ref)[0])
                column.ssim[photo.name] = float(ssim_index(pred, ref)[0])
            done += 1
            if progress is not None:
                progress(done, total, f"{column.name}: {photo.name}")
        del model
        result.append(column)
    return result


def _fmt(value: Any, spec: str) -> str:
    return format(value, spec) if isinstance(value, int | float) and np.isfinite(value) else "-"


def write_report(
    out: Path,
    photos: list[Photo],
    columns: list[Column],
    default: str | None,
    reason: str,
    opts: GalleryOptions,
) -> Path:
    """Write ``report.html`` and ``results.json`` into ``out``; returns the HTML path."""
    e = html.escape
    builtin = [p for p in photos if p.kind == "built-in"]
    real = [p for p in photos if p.kind == "real"]
    rows = []
    for c in columns:
        mark = " <b>(default)</b>" if c.name == default else ""
        rows.append(
            f"<tr><td>{e(c.name)}{mark}</td><td>{e(c.model)}</td>"
            f"<td>{_fmt(c.recorded.get('psnr'), '.2f')}</td>"
            f"<td>{_fmt(c.mean(c.psnr), '.2f')}</td><td>{_fmt(c.mean(c.ssim), '.3f')}</td>"
            f"<td>{_fmt(c.seconds_per_mp, '.2f')}</td>"
            f"<td>{_fmt(c.recorded.get('mp_per_s'), '.3g')}</td></tr>"
        )
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>lle demo</title><style>",
        "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
        "figure{margin:0}figcaption{font-size:small}img{max-width:220px}",
        "</style></head><body><h1>lle demo: the shipped weight sets on dark photos</h1>",
        f"<p><b>Default</b> of <code>lle enhance</code> without <code>--model</code>: "
        f"<b>{e(default or 'none')}</b>. Why: {e(reason)}.</p>",
        "<h2>Summary</h2><table><tr><th>set</th><th>model</th><th>LOL-v1 PSNR (recorded)</th>"
        f"<th>PSNR here ({len(builtin)} built-in)</th><th>SSIM here</th>"
        "<th>s per megapixel here</th><th>MP/s recorded</th></tr>",
        *rows,
        "</table>",
        f"<p>Built-in photos: {e(', '.join(p.source for p in builtin))}, short side "
        f"{opts.size} px, darkened with <code>lle_core.data.synthesis.synthesize</code> "
        f"(DLN's β(αY)^γ plus sensor noise, seed {opts.seed}); PSNR/SSIM against the "
        "original, 8-bit, no brightness alignment. Real photos have no reference. Time per "
        f"megapixel: this machine, {torch.get_num_threads()} torch thread(s), after a "
        "warm-up; the recorded MP/s is the reference measurement of "
        "<code>lle weights</code>.</p>",
    ]
    for title, group in (("Built-in dark photos", builtin), ("Real dark photos", real)):
        if not group:
            continue
        parts.append(f"<h2>{title}</h2><table><tr><th>input</th>"
                     + "".join(f"<th>{e(c.name)}</th>" for c in columns)
                     + ("<th>original</th>" if group[0].reference is not None else "")
                     + "</tr>")
        for p in group:
            cells = [_figure(f"images/{p.name}/input.png", p.name)]
            for c in columns:
                caption = c.name
                if p.name in c.psnr:
                    caption += f" {c.psnr[p.name]:.2f} dB"
                cells.append(_figure(f"images/{p.name}/{c.name}.png", caption))
            if p.reference is not None:
                cells.append(_figure(f"images/{p.name}/original.png", "original"))
            parts.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
        parts.append("</table>")
    parts.append("<p>Enhance your own photos: <code>lle enhance PHOTOS -o enhanced/</code> "
                 "(default set) or <code>--model NAME</code>; train a model yourself: "
                 "<code>lle demo --train</code>.</p></body></html>")
    report = atomic_write(out / "report.html", "\n".join(parts).encode())
    data = {
        "default": default,
        "default_reason": reason,
        "size": opts.size,
        "seed": opts.seed,
        "threads": torch.get_num_threads(),
        "photos": [{"name": p.name, "kind": p.kind, "source": p.source,
                    "height": p.low.shape[-2], "width": p.low.shape[-1]} for p in photos],
        "columns": [{"name": c.name, "model": c.model, "recorded": c.recorded,
                     "seconds_per_mp": c.seconds_per_mp, "psnr": c.psnr, "ssim": c.ssim,
                     "mean_psnr": c.mean(c.psnr), "mean_ssim": c.mean(c.ssim)}
                    for c in columns],
    }
    atomic_write(out / "results.json", (json.dumps(data, indent=2) + "\n").encode())
    return report


def _figure(src: str, caption: str) -> str:
    src = "/".join(html.escape(part, quote=True) for part in src.split("/"))
    return (f"<figure><a href='{src}'><img src='{src}' alt='{html.escape(caption)}'></a>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def relative(path: Path) -> str:
    """``path`` relative to the working directory when it is below it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return str(path) if rel.startswith("..") else rel
