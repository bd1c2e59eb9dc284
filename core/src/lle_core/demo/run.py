"""``lle demo``: synthesise pairs, train a small model, evaluate it against baselines, report.

Everything runs offline on the CPU in a few minutes: clean photos shipped by scikit-image
(or procedural images) are darkened with :func:`lle_core.data.synthesis.synthesize`, a model
(default ``core.unet_small``) is trained by the engine's loop for a bounded time, and the
report folder gets the metrics (Markdown + JSON), the loss curve, a comparison grid and the
trained checkpoint.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lle_core.errors import ConfigError, DatasetError
from lle_core.files import atomic_write

#: File whose presence marks a folder as a demo report (which a new demo may overwrite).
MARKER = ".lle-demo"
DEFAULT_MODEL = "core.unet_small"
BASELINE_NAMES = ("identity", "gamma", "histeq", "clahe")


@dataclass
class DemoOptions:
    """Settings of a demo run (``lle demo`` flags).

    Attributes:
        out: Report folder.
        minutes: Training time budget.
        steps: Optional step budget (whichever of ``minutes``/``steps`` comes first).
        model: Model name or spec to train.
        data: Real paired dataset folder (``low/`` + ``high/``, or ``train/`` + ``test/``
            each with them) instead of synthetic pairs.
        size: Short side of the synthetic images in pixels.
        crop: Training crop side (rounded up to the model's ``multiple_of``).
        variants: Darkened versions of each training photo.
        test_variants: Darkened versions of each test photo.
        batch_size: Training batch size.
        lr: Adam learning rate.
        seed: Seed of the synthesis and of training.
        progress: Show the engine's progress display.
        threads: Torch CPU threads (``None``: :func:`pick_threads`).
    """

    out: Path = Path("lle-demo")
    minutes: float = 2.5
    steps: int | None = None
    model: Any = DEFAULT_MODEL
    data: Path | None = None
    size: int = 192
    crop: int = 64
    variants: int = 6
    test_variants: int = 2
    batch_size: int = 8
    lr: float = 1e-3
    seed: int = 0
    progress: bool = True
    threads: int | None = None


@dataclass
class DemoResult:
    """What a demo produced.

    Attributes:
        out: Report folder.
        weights: The trained checkpoint.
        results: Evaluation of the trained model (first) and the baselines.
        files: Report files by role (``metrics_md``, ``metrics_json``, ``loss_curve``,
            ``comparison``, ``weights``, ``run``, ``data``).
        seconds: Wall time of the whole demo.
        train_seconds: Wall time of training.
        steps: Training steps done.
    """

    out: Path
    weights: Path
    results: list[Any]
    files: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0
    train_seconds: float = 0.0
    steps: int = 0


def pick_threads() -> int:
    """Torch CPU threads for the demo: one per core, or 1 on a busy machine.

    When the 1-minute load average already exceeds the core count, several threads per
    process only spin against each other (measured here: a training step took 10× longer with
    2 threads than with 1 on an oversubscribed 2-core machine), so the demo uses one.
    """
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = 0.0
    return 1 if load >= cores else max(1, torch.get_num_threads())


# ------------------------------------------------------------------------------------------
# Report folder and data
# ------------------------------------------------------------------------------------------


def prepare_out_dir(out: Path, clear: tuple[str, ...] = ("run", "data")) -> None:
    """Create the report folder; clear a previous demo's outputs there (the ``clear`` folders).

    Raises:
        ConfigError: ``out`` exists, is not empty and is not a previous demo report.
    """
    if out.exists() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ConfigError(
            [
                (
                    "--out",
                    f"{out} exists and is not an lle demo report; choose another folder with --out",
                )
            ]
        )
    out.mkdir(parents=True, exist_ok=True)
    for name in clear:
        if (out / name).exists():
            shutil.rmtree(out / name)
    (out / MARKER).write_text("written by `lle demo`; the demo may overwrite this folder\n")


def synthesize_dataset(opts: DemoOptions, root: Path) -> dict[str, Any]:
    """Write synthetic pairs to ``root/train`` and ``root/test`` (``low/`` + ``high/``).

    Returns:
        A description (photo source, names, counts, synthesis parameters per test pair).
    """
    from lle_core.data.synthesis import DEMO_NOISE, synthesize
    from lle_core.demo.images import demo_photos
    from lle_core.io import write_image

    train, test, source = demo_photos(opts.size)
    synthesis = {"pipeline": "lle_core.data.synthesis.synthesize", "noise": asdict(DEMO_NOISE)}
    info: dict[str, Any] = {"source": source, "synthesis": synthesis, "test_params": {}}
    rng = np.random.default_rng(opts.seed)
    for split, photos, variants in (
        ("train", train, opts.variants),
        ("test", test, opts.test_variants),
    ):
        for name, clean in photos:
            for v in range(variants):
                pair = synthesize(clean, rng, noise=DEMO_NOISE)
                low, params = pair.low, pair.factors
                file = f"{name}_{v}.png"
                write_image(root / split / "low" / file, low)
                write_image(root / split / "high" / file, clean)
                if split == "test":
                    info["test_params"][file] = {k: round(float(x), 4) for k, x in params.items()}
        info[f"{split}_photos"] = [n for n, _ in photos]
        info[f"{split}_pairs"] = len(photos) * variants
    return info


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.symlink(src.resolve(), dst)
    except OSError:
        shutil.copy2(src, dst)


def real_dataset(data: Path, root: Path) -> dict[str, Any]:
    """Use a real paired dataset: ``data/train`` + ``data/test``, or split ``data`` itself.

    A single ``low/`` + ``high/`` folder is split deterministically: every fifth pair (by
    sorted name, at least one) goes to the test split; files are linked (or copied) into
    ``root/train`` and ``root/test``.
    """
    from lle_core.evaluation.pairs import folder_pairs

    if (data / "train").is_dir() and (data / "test").is_dir():
        folder_pairs(data / "train")
        folder_pairs(data / "test")
        return {"source": str(data), "train_root": data / "train", "test_root": data / "test"}
    pairs = folder_pairs(data)
    if len(pairs) < 2:
        raise DatasetError(f"{data} needs at least 2 pairs (one to train, one to test)")
    for i, pair in enumerate(pairs):
        split = "test" if i % 5 == 4 or (len(pairs) < 5 and i == len(pairs) - 1) else "train"
        assert isinstance(pair.low, Path) and isinstance(pair.high, Path)
        _link_or_copy(pair.low, root / split / "low" / pair.low.name)
        _link_or_copy(pair.high, root / split / "high" / pair.high.name)
    return {"source": str(data), "train_root": root / "train", "test_root": root / "test"}


# ------------------------------------------------------------------------------------------
# Training, evaluation, report
# ------------------------------------------------------------------------------------------


def run_config(opts: DemoOptions, train_root: Path, run_dir: Path) -> dict[str, Any]:
    """The engine run config of the demo's training."""
    from lle_core.spec import parse_spec

    spec = parse_spec("model", opts.model)
    caps = spec.entry.capabilities
    if not caps.needs_weights:
        raise ConfigError(
            [
                (
                    "--model",
                    f"{spec.name} has no trainable weights (it is a baseline); choose a trainable "
                    "model, e.g. core.unet_small (see `lle list model`)",
                )
            ]
        )
    k = caps.multiple_of
    crop = max(opts.crop, caps.min_size, 16)
    crop = -(-crop // k) * k
    budget: dict[str, Any] = {"minutes": opts.minutes}
    if opts.steps is not None:
        budget["steps"] = opts.steps
    return {
        "model": spec.to_dict(),
        "trainer": "core.supervised",
        "loss": {
            "type": "core.composite",
            "terms": [{"type": "core.l1"}, {"type": "core.ssim", "weight": 0.2}],
        },
        "data": {
            "train": {
                "type": "core.paired_folder",
                "root": str(train_root),
                "crop": crop,
                "flip": True,
                "rot90": True,
                "repeat": 8,
                "seed": opts.seed,
            },
            "batch_size": opts.batch_size,
            "num_workers": 0,
        },
        "optim": {"name": "adam", "lr": opts.lr},
        "budget": budget,
        "train": {"seed": opts.seed, "log_every": 5, "device": "cpu", "grad_clip": 1.0},
        "out": str(run_dir),
    }


def loss_points(run_dir: Path) -> list[tuple[float, float]]:
    """``(step, loss)`` of every logged training step (from ``metrics.jsonl``)."""
    path = run_dir / "metrics.jsonl"
    points: list[tuple[float, float]] = []
    if not path.is_file():
        return points
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if rec.get("kind") == "train" and isinstance(rec.get("loss"), int | float):
            points.append((float(rec["step"]), float(rec["loss"])))
    return points


def write_loss_curve(run_dir: Path, path: Path) -> Path:
    """Loss per logged step and its smoothed version, as a PNG."""
    from lle_core.demo.plot import line_chart, smooth

    pts = loss_points(run_dir)
    smoothed = list(zip([p[0] for p in pts], smooth([p[1] for p in pts], 0.8), strict=True))
    return line_chart(
        [("loss", pts, (170, 190, 230)), ("smoothed", smoothed, (30, 80, 200))],
        path,
        title="training loss (L1 + 0.2 (1 - SSIM))",
        xlabel="step",
        ylabel="loss",
    )


def _markdown_report(
    opts: DemoOptions, info: dict[str, Any], results: list[Any], summary: dict[str, Any]
) -> str:
    from lle_core.evaluation import markdown_table

    lines = [
        "# lle demo report",
        "",
        f"Model: `{summary['model']}` trained for {summary['steps']} steps "
        f"({summary['train_seconds']:.0f} s on the CPU).",
        f"Data: {info.get('source')} "
        + (
            f"(synthetic pairs: DLN darkening X = β(αY)^γ + Poisson-Gaussian noise; "
            f"train photos {', '.join(info.get('train_photos', []))}; test photos "
            f"{', '.join(info.get('test_photos', []))})."
            if "synthesis" in info
            else "(real paired data)."
        ),
        "",
        markdown_table(results),
        "Files: `metrics.json`, `loss_curve.png`, `comparison.png`, "
        f"`{summary['weights_rel']}` (checkpoint), `run/` (training logs), `data/`.",
        "",
        "Run the model on your photos:",
        "",
        "```",
        summary["command"],
        "```",
        "",
    ]
    return "\n".join(lines)


def run_demo(opts: DemoOptions) -> DemoResult:
    """Run the whole demo (see the module docstring) and write the report folder."""
    start = time.perf_counter()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(opts.threads or pick_threads())
    try:
        return _run_demo(opts, start)
    finally:
        torch.set_num_threads(previous_threads)


def _run_demo(opts: DemoOptions, start: float) -> DemoResult:
    from lle_core.checkpoint import load_model
    from lle_core.engine import train
    from lle_core.evaluation import (
        comparison_rows,
        evaluate,
        evaluate_baselines,
        write_comparison_grid,
        write_json,
    )

    out = Path(opts.out)
    prepare_out_dir(out)
    data_root = out / "data"
    if opts.data is not None:
        info = real_dataset(Path(opts.data), data_root)
        train_root, test_root = Path(info["train_root"]), Path(info["test_root"])
    else:
        info = synthesize_dataset(opts, data_root)
        train_root, test_root = data_root / "train", data_root / "test"

    cfg = run_config(opts, train_root, out / "run")
    t0 = time.perf_counter()
    run = train(cfg, progress=opts.progress)
    train_seconds = time.perf_counter() - t0
    weights = run.checkpoint

    model = load_model(weights)
    common: dict[str, Any] = {"gt_mean": True, "keep_outputs": 4}
    results = [evaluate(model, test_root, **common)]
    results += evaluate_baselines(list(BASELINE_NAMES), test_root, **common)

    files = {
        "metrics_md": out / "metrics.md",
        "metrics_json": out / "metrics.json",
        "loss_curve": out / "loss_curve.png",
        "comparison": out / "comparison.png",
        "weights": weights,
        "run": out / "run",
        "data": data_root,
    }
    command = f"lle enhance YOUR_PHOTOS -o enhanced/ --weights {weights}"
    summary = {
        "model": results[0].model,
        "steps": run.steps,
        "train_seconds": round(train_seconds, 1),
        "weights": str(weights),
        "weights_rel": os.path.relpath(weights, out),
        "command": command,
        "stopped_by": run.stopped_by,
        "threads": torch.get_num_threads(),
        "seconds_total": round(time.perf_counter() - start, 1),
    }
    write_json(
        results,
        files["metrics_json"],
        demo=summary,
        data={k: (str(v) if isinstance(v, Path) else v) for k, v in info.items()},
        config=cfg,
    )
    atomic_write(files["metrics_md"], _markdown_report(opts, info, results, summary).encode())
    write_loss_curve(out / "run", files["loss_curve"])
    write_comparison_grid(comparison_rows(test_root, results, max_rows=4), files["comparison"])
    return DemoResult(
        out=out,
        weights=weights,
        results=results,
        files=files,
        seconds=time.perf_counter() - start,
        train_seconds=train_seconds,
        steps=run.steps,
    )


def psnr_gain(result: DemoResult) -> float:
    """PSNR of the trained model minus the best baseline's (dB)."""
    model = result.results[0].mean["psnr"]
    best = max((r.mean["psnr"] for r in result.results[1:]), default=-math.inf)
    return model - best
