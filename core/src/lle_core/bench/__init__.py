"""The benchmark harness behind ``lle bench``: quality under a budget, speed, a visual grid.

* :func:`run_bench` — run a :class:`BenchConfig` and write ``report.{md,json}`` and a grid.
* :func:`load_bench_config` — validate a bench YAML.
"""

from __future__ import annotations

from lle_core.bench.config import BenchConfig, EntrySpec, StageSpec, load_bench_config
from lle_core.bench.runner import BenchReport, run_bench

__all__ = ["BenchConfig", "BenchReport", "EntrySpec", "StageSpec", "load_bench_config", "run_bench"]
