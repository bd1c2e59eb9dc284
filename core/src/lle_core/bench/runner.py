"""``lle bench``: quality, speed and a visual grid, written as a table, JSON and Markdown."""

from __future__ import annotations

import platform
import time
import traceback
from pathlib import Path
from typing import Any

from rich.console import Console

from lle_core.bench.config import BenchConfig, EntrySpec
from lle_core.bench.quality import (
    DataPlan,
    EntryResult,
    _slug,
    evaluate_baselines,
    evaluate_entry,
    photo_panels,
    plan_data,
    stage_config,
    train_entry,
)
from lle_core.bench.report import BenchReport, print_report, write_json, write_markdown
from lle_core.bench.speed import run_isolated
from lle_core.engine.plan import PREVIOUS


def machine_info() -> dict[str, Any]:
    """Where the numbers were measured."""
    import os

    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
    }


def inference_spec(entry: EntrySpec, cfg: BenchConfig, plan: DataPlan, out: Path) -> dict:
    """The model spec of an entry's last stage (bench overrides applied)."""
    stage = entry.stages[-1]
    data = stage_config(stage, plan, budget={"steps": 1}, overrides=cfg.set,
                        previous="<previous>", out_dir=out)
    model = data["model"]
    return {"type": model} if isinstance(model, str) else dict(model)


def paper_run(entry: EntrySpec, cfg: BenchConfig, plan: DataPlan, out: Path) -> dict:
    """The entry's last-stage run config at the recipe's own batch and crop.

    Bench overrides of the data, budget and loop are dropped; those of the model, the loss and
    the trainer are kept, so the timed step is the one that was trained.
    """
    stage = entry.stages[-1]
    kept = ("model", "loss", "trainer")
    overrides = {k: v for k, v in {**cfg.set, **stage.set}.items()
                 if k.split(".", 1)[0] in kept and not (isinstance(v, str) and PREVIOUS in v)}
    stage = stage.model_copy(update={"set": overrides})
    return stage_config(stage, plan, budget={"steps": 1}, overrides={}, previous="<previous>",
                        out_dir=out)


def run_speed(cfg: BenchConfig, plan: DataPlan, out: Path, console: Console) -> list[dict]:
    """Speed rows for the baselines and every entry, each measured in a fresh process."""
    rows: list[dict[str, Any]] = []
    targets: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = [
        (name, {"type": name}, None) for name in cfg.baselines
    ]
    for entry in cfg.entries:
        targets.append((entry.label, inference_spec(entry, cfg, plan, out),
                        paper_run(entry, cfg, plan, out) if cfg.speed.train_step else None))
    for label, spec, run in targets:
        console.print(f"[bold]speed[/] {label}")
        payload = {"spec": spec, "sizes": [list(sz) for sz in cfg.speed.sizes],
                   "repeats": cfg.speed.repeats, "run": run,
                   "train_repeats": cfg.speed.train_repeats}
        row: dict[str, Any] = {"model": label, "spec": spec, **run_isolated("all", payload)}
        rows.append(row)
    return rows


def grid_images(cfg: BenchConfig) -> list[tuple[Path, Path | None]]:
    """``(low image, ground truth or None)`` for the visual grid, in a fixed order."""
    from lle_core.io import list_images

    picked: list[tuple[Path, Path | None]] = []
    for source in cfg.data.grid:
        path = Path(source)
        files = [path] if path.is_file() else list_images(path)
        for f in files:
            gt = f.parent.parent / "high" / f.name if f.parent.name == "low" else None
            picked.append((f, gt if gt is not None and gt.is_file() else None))
    return picked[: cfg.data.grid_max]


def write_grid(
    cfg: BenchConfig, report: BenchReport, out: Path, max_side: int = 400
) -> Path | None:
    """Comparison grid: input | each trained entry | gamma, CLAHE | ground truth."""
    import torch.nn.functional as F

    from lle_core import enhance, parse_spec
    from lle_core.checkpoint import load_model
    from lle_core.evaluation import write_comparison_grid
    from lle_core.io import read_image

    images = grid_images(cfg)
    if not images:
        return None
    models: list[tuple[str, Any]] = []
    for result in report.entries:
        if result.checkpoint:
            models.append((result.label, load_model(result.checkpoint)))
    for name in ("core.gamma", "core.clahe"):
        if name in cfg.baselines:
            models.append((name.split(".", 1)[1], parse_spec("model", name).build()))
    rows = []
    for low_path, gt_path in images:
        low = read_image(low_path)
        scale = max_side / max(low.shape[-2:])
        if scale < 1:
            size = (round(low.shape[-2] * scale), round(low.shape[-1] * scale))
            low = F.interpolate(low[None], size=size, mode="area")[0]
        row = [(f"input {low_path.name}", low)]
        for label, model in models:
            row.append((label, enhance(model, low[None])[0]))
        if gt_path is not None:
            high = read_image(gt_path)
            row.append(("ground truth", F.interpolate(high[None], size=low.shape[-2:],
                                                      mode="area")[0]))
        rows.append(row)
    path = write_comparison_grid(rows, out / "grid.png", max_side=180)
    from PIL import Image

    Image.open(path).convert("RGB").save(out / "grid.jpg", quality=82, optimize=True)
    return out / "grid.jpg"


def validate_entries(cfg: BenchConfig, plan: DataPlan, out: Path) -> None:
    """Validate every stage's run config before any training starts (fail fast, all at once).

    Raises:
        ConfigError: Every problem, prefixed with the entry label and stage number.
    """
    from lle_core.engine.config import validate_run_config
    from lle_core.errors import ConfigError

    problems: list[tuple[str, str]] = []
    for entry in cfg.entries:
        for i, stage in enumerate(entry.stages):
            where = f"{entry.label} stage {i + 1} ({stage.config})"
            try:
                data = stage_config(stage, plan, budget={"steps": 1}, overrides=cfg.set,
                                    previous="<previous stage checkpoint>", out_dir=out)
                validate_run_config(data)
            except ConfigError as err:
                problems += [(f"{where}: {path}", msg) for path, msg in err.problems]
            except KeyError as err:  # unknown component / plugin not installed
                problems.append((where, str(err)))
    if problems:
        raise ConfigError(problems, source="bench config")


def run_bench(
    cfg: BenchConfig,
    *,
    out: str | Path | None = None,
    parts: tuple[str, ...] = ("quality", "speed", "grid"),
    progress: bool = True,
) -> BenchReport:
    """Run the benchmark and write ``report.json`` and ``report.md`` into ``out``."""
    console = Console()
    folder = Path(out or cfg.out)
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    plan = plan_data(cfg, folder)
    if "quality" in parts:
        validate_entries(cfg, plan, folder)
    report = BenchReport(config=cfg.model_dump(mode="json"), machine=machine_info())
    if "quality" in parts:
        for entry in cfg.entries:
            console.rule(f"[bold]{entry.label}")
            try:
                result = train_entry(entry, cfg, plan, folder, progress=progress)
                evaluate_entry(result, plan, cfg)
            except Exception as err:  # one failing entry must not sink the rest
                result = EntryResult(entry.label, error=f"{type(err).__name__}: {err}")
                console.print(f"[red]{entry.label} failed:[/] {err}")
                (folder / f"{_slug(entry.label)}-error.txt").write_text(traceback.format_exc())
            report.entries.append(result)
        report.baselines = evaluate_baselines(cfg, plan)
        report.photo_panel = photo_panels(cfg, report.entries)
    if "speed" in parts:
        report.speed = run_speed(cfg, plan, folder, console)
    if "grid" in parts and "quality" in parts:
        grid = write_grid(cfg, report, folder)
        report.grid = str(grid) if grid else None
    report.seconds = time.perf_counter() - start
    write_json(report, folder / "report.json")
    write_markdown(report, folder / "report.md")
    print_report(report, console)
    console.print(f"report: {folder / 'report.md'} (JSON: {folder / 'report.json'})")
    return report

