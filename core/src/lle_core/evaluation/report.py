"""Presenting evaluation results: rich tables, Markdown and JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from lle_core.evaluation.evaluate import EvalResult, results_dict

_HEADERS = {
    "psnr": "PSNR (dB)",
    "ssim": "SSIM",
    "psnr_gtmean": "PSNR GT-mean",
    "ssim_gtmean": "SSIM GT-mean",
}


def _fmt(metric: str, value: float) -> str:
    return f"{value:.2f}" if metric.startswith("psnr") else f"{value:.4f}"


def _metrics(results: list[EvalResult]) -> list[str]:
    seen: list[str] = []
    for r in results:
        for m in r.metrics:
            if m not in seen:
                seen.append(m)
    return seen


def summary_table(results: list[EvalResult], *, title: str = "evaluation") -> Table:
    """One row per model with its mean scores; the best value of each column in bold."""
    metrics = _metrics(results)
    table = Table(title=title, caption=results[0].protocol if results else None)
    table.add_column("model")
    table.add_column("images", justify="right")
    for m in metrics:
        table.add_column(_HEADERS.get(m, m), justify="right")
    best = {m: max((r.mean.get(m, float("-inf")) for r in results), default=0.0) for m in metrics}
    for r in results:
        cells = []
        for m in metrics:
            if m not in r.mean:
                cells.append("-")
                continue
            text = _fmt(m, r.mean[m])
            cells.append(f"[bold]{text}[/]" if len(results) > 1 and r.mean[m] == best[m] else text)
        table.add_row(r.model, str(len(r.images)), *cells)
    return table


def per_image_table(results: list[EvalResult], *, metric: str = "psnr") -> Table:
    """One row per image, one column per model, for one metric."""
    table = Table(title=f"per image: {_HEADERS.get(metric, metric)}")
    table.add_column("image")
    for r in results:
        table.add_column(r.model, justify="right")
    names = [row["name"] for row in results[0].images] if results else []
    lookup = [{row["name"]: row for row in r.images} for r in results]
    for name in names:
        cells = [
            _fmt(metric, rows[name][metric]) if name in rows and metric in rows[name] else "-"
            for rows in lookup
        ]
        table.add_row(name, *cells)
    return table


def print_results(
    results: list[EvalResult], *, console: Console | None = None, per_image: bool = True
) -> None:
    """Print the per-image tables (PSNR and SSIM) and the summary table."""
    out = console or Console()
    if per_image and results:
        out.print(per_image_table(results, metric="psnr"))
        out.print(per_image_table(results, metric="ssim"))
    out.print(summary_table(results))


def markdown_table(results: list[EvalResult]) -> str:
    """The summary as a Markdown table followed by the protocol line."""
    metrics = _metrics(results)
    head = ["model", "images", *(_HEADERS.get(m, m) for m in metrics)]
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|",
    ]
    for r in results:
        cells = [r.model, str(len(r.images))]
        cells += [_fmt(m, r.mean[m]) if m in r.mean else "-" for m in metrics]
        lines.append("| " + " | ".join(cells) + " |")
    if results:
        lines += ["", f"Protocol: {results[0].protocol}."]
    return "\n".join(lines) + "\n"


def write_json(results: list[EvalResult], path: str | Path, **extra: Any) -> Path:
    """Write :func:`~lle_core.evaluation.evaluate.results_dict` as indented JSON (atomically)."""
    from lle_core.files import atomic_write

    text = json.dumps(results_dict(results, **extra), indent=2) + "\n"
    return atomic_write(path, text.encode("utf-8"))
