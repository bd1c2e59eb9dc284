"""Evaluation: PSNR / SSIM with a fixed, stated protocol, baselines, tables and grids.

* :func:`evaluate` — one model on paired data -> :class:`EvalResult` (per image + means).
* :func:`evaluate_baselines` — ``core.identity``, ``core.gamma``, ``core.histeq``,
  ``core.clahe`` (parameter-free) so numbers always appear next to a reference.
* :func:`print_results`, :func:`markdown_table`, :func:`write_json` — reports.
* :func:`write_comparison_grid` — ``input | outputs... | ground truth`` PNG with labels.
"""

from __future__ import annotations

from lle_core.evaluation.evaluate import (
    BASELINES,
    PROTOCOL,
    EvalResult,
    comparison_rows,
    evaluate,
    evaluate_baselines,
    parse_baselines,
    results_dict,
    score_pair,
)
from lle_core.evaluation.grid import grid_size, write_comparison_grid
from lle_core.evaluation.pairs import Pair, as_pairs, folder_pairs
from lle_core.evaluation.report import (
    markdown_table,
    per_image_table,
    print_results,
    summary_table,
    write_json,
)

__all__ = [
    "BASELINES",
    "PROTOCOL",
    "EvalResult",
    "Pair",
    "as_pairs",
    "comparison_rows",
    "evaluate",
    "evaluate_baselines",
    "folder_pairs",
    "grid_size",
    "markdown_table",
    "parse_baselines",
    "per_image_table",
    "print_results",
    "results_dict",
    "score_pair",
    "summary_table",
    "write_comparison_grid",
    "write_json",
]
