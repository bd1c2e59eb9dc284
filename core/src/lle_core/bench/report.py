"""Bench reports: a rich table on screen, JSON for machines, Markdown for people."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from lle_core.bench.quality import EntryResult
from lle_core.files import atomic_write


@dataclass
class BenchReport:
    """Everything a bench run measured (see :func:`run_bench`)."""

    config: dict[str, Any]
    machine: dict[str, Any]
    entries: list[EntryResult] = field(default_factory=list)
    baselines: list[Any] = field(default_factory=list)
    speed: list[dict[str, Any]] = field(default_factory=list)
    grid: str | None = None
    seconds: float = 0.0
    photo_panel: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)


def _f(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def quality_rows(report: BenchReport) -> list[dict[str, Any]]:
    """One row per trained entry, then one per baseline."""
    rows = []
    for r in report.entries:
        mean = r.evaluation.mean if r.evaluation is not None else {}
        rows.append({
            "model": r.label, "params": r.params, "steps": r.steps,
            "train_min": r.train_seconds / 60, **mean, "error": r.error,
        })
    for b in report.baselines:
        rows.append({"model": b.model, "params": 0, "steps": 0, "train_min": 0.0, **b.mean,
                     "error": None})
    return rows


QUALITY_COLUMNS = [
    ("model", "model", 0), ("params", "params", 0), ("steps", "steps", 0),
    ("train_min", "train min", 1), ("psnr", "PSNR", 2), ("ssim", "SSIM", 3),
    ("psnr_gtmean", "PSNR GT-mean", 2), ("ssim_gtmean", "SSIM GT-mean", 3),
]


def speed_rows(report: BenchReport) -> list[dict[str, Any]]:
    """One row per model with throughput, memory, FLOPs and train-step time."""
    sizes = [f"{w}x{h}" for w, h in report.config["speed"]["sizes"]]
    ref = None
    for row in report.speed:
        if row["model"] in ("core.gamma",):
            ref = (row.get(sizes[0]) or {}).get("seconds")
    rows = []
    for row in report.speed:
        out: dict[str, Any] = {"model": row["model"]}
        for size in sizes:
            res = row.get(size) or {}
            out[f"mpix_{size}"] = res.get("mpix_per_s")
            out[f"peak_{size}"] = res.get("peak_mb")
            out[f"error_{size}"] = res.get("error")
        first = row.get(sizes[0]) or {}
        out["x_gamma"] = (first["seconds"] / ref) if ref and first.get("seconds") else None
        out["gflops_per_mpix"] = (row.get("flops") or {}).get("gflops_per_mpix")
        train = row.get("train") or {}
        out["train_step_s"] = train.get("train_step_s")
        out["train_at"] = (f"b{train['batch']}@{train['crop'][0]}x{train['crop'][1]}"
                           if "batch" in train else train.get("error"))
        rows.append(out)
    return rows


def print_report(report: BenchReport, console: Console | None = None) -> None:
    """Print the quality and speed tables."""
    console = console or Console()
    if report.entries or report.baselines:
        table = Table(title="quality (test set; protocol in report.md)")
        for _, title, _ in QUALITY_COLUMNS:
            table.add_column(title, justify="right" if title != "model" else "left")
        for row in quality_rows(report):
            table.add_row(*[(_f(row.get(k), d) if k != "model" else str(row[k]))
                            for k, _, d in QUALITY_COLUMNS])
        console.print(table)
    if report.speed:
        rows = speed_rows(report)
        sizes = [f"{w}x{h}" for w, h in report.config["speed"]["sizes"]]
        table = Table(title="speed (CPU, one process per measurement)")
        table.add_column("model")
        for size in sizes:
            table.add_column(f"MP/s {size}", justify="right")
            table.add_column(f"peak MB {size}", justify="right")
        for col in ("time × gamma", "GFLOP/MP", "train step s", "at"):
            table.add_column(col, justify="right")
        for row in rows:
            cells = [row["model"]]
            for size in sizes:
                cells += [_f(row[f"mpix_{size}"], 3), _f(row[f"peak_{size}"], 0)]
            cells += [_f(row["x_gamma"], 1), _f(row["gflops_per_mpix"], 1),
                      _f(row["train_step_s"], 2), _f(row["train_at"])]
            table.add_row(*cells)
        console.print(table)


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def markdown(report: BenchReport) -> str:
    """The report as Markdown (tables, protocol, machine, budgets, per-stage facts)."""
    from lle_core.evaluation import PROTOCOL

    parts = ["## Quality", "", f"Protocol: {PROTOCOL}", ""]
    rows = []
    for row in quality_rows(report):
        cells = [str(row["model"])] + [_f(row.get(k), d) for k, _, d in QUALITY_COLUMNS[1:]]
        if row.get("error"):
            cells[-1] += f" (failed: {row['error']})"
        rows.append(cells)
    parts.append(_md_table([t for _, t, _ in QUALITY_COLUMNS], rows))
    parts += ["", "Training stages:", ""]
    for r in report.entries:
        for s in r.stages:
            parts.append(f"- {r.label}: `{s['config']}` overrides `{s['set']}`, budget "
                         f"{s['budget']}, {s['steps']} steps in {s['seconds']:.0f} s "
                         f"(stopped by {s['stopped_by']})")
    if report.speed:
        sizes = [f"{w}x{h}" for w, h in report.config["speed"]["sizes"]]
        headers = ["model"]
        for size in sizes:
            headers += [f"MP/s {size}", f"peak MB {size}"]
        headers += ["time × gamma", "GFLOP/MP", "train step s", "at"]
        srows = []
        for row in speed_rows(report):
            cells = [row["model"]]
            for size in sizes:
                err = row[f"error_{size}"]
                cells += [_f(row[f"mpix_{size}"], 3) if not err else f"failed: {err}",
                          _f(row[f"peak_{size}"], 0)]
            cells += [_f(row["x_gamma"], 1), _f(row["gflops_per_mpix"], 1),
                      _f(row["train_step_s"], 2), _f(row["train_at"])]
            srows.append(cells)
        parts += ["", "## Speed", "", _md_table(headers, srows)]
    parts += photo_markdown(report.photo_panel)
    m = report.machine
    parts += ["", f"Machine: {m['cpu']}, {m['cores']} cores ({m['threads']} torch threads), "
              f"CUDA {m['cuda']}, Python {m['python']}, torch {m['torch']}. "
              f"Bench wall time {report.seconds / 60:.1f} min."]
    if report.grid:
        parts += ["", f"Grid: `{Path(report.grid).name}`"]
    return "\n".join(parts) + "\n"


def photo_markdown(panel: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """The real-photo panel section of the report (empty without a panel).

    One row per model, one ``figure folder`` column per measured figure.
    """
    if not panel:
        return []
    columns = sorted({(folder, fig) for rec in panel.values() for folder, figs in rec.items()
                      for fig in figs})
    rows = [[label] + [_f(rec.get(folder, {}).get(fig), 3) for folder, fig in columns]
            for label, rec in panel.items()]
    return ["", "## Real photos", "", "Figures: lle_core.evaluation.photo_panel "
            "(docs/weights.md, 'The sets').", "",
            _md_table(["model"] + [f"{fig} {folder}" for folder, fig in columns], rows)]


def write_markdown(report: BenchReport, path: Path) -> Path:
    """Write :func:`markdown` atomically."""
    return atomic_write(path, markdown(report).encode())


def write_json(report: BenchReport, path: Path) -> Path:
    """Write every figure as JSON atomically."""
    data = {
        "config": report.config,
        "machine": report.machine,
        "entries": [
            {"label": r.label, "stages": r.stages, "steps": r.steps,
             "train_seconds": round(r.train_seconds, 1), "params": r.params,
             "checkpoint": r.checkpoint, "error": r.error,
             "evaluation": r.evaluation.to_dict() if r.evaluation is not None else None}
            for r in report.entries
        ],
        "baselines": [b.to_dict() for b in report.baselines],
        "speed": report.speed,
        "grid": report.grid,
        "photo_panel": report.photo_panel,
        "seconds": round(report.seconds, 1),
    }
    return atomic_write(path, json.dumps(data, indent=2, default=str).encode())
