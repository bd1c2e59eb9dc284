"""FRLIE inference speed and peak memory at 600×400 on the CPU, against core baselines.

Measures ``frlie.model`` (default configuration, random weights: speed and memory do not
depend on them) in fp32 and in bf16 under ``torch.autocast``, on the same random
``(1, 3, 400, 600)`` input: one warm-up forward, then ``--repeats`` timed forwards. Each case
runs in its own subprocess; the table (from :mod:`lle_core.bench.compare`) gives the median
seconds per image, images and megapixels per second, CPU time, peak tensor memory, peak RSS of
the process and its growth during inference, the bf16 output's max difference to fp32, and
time ratios against ``core.identity`` and ``core.gamma`` measured in the same run (the machine
is noisy: compare ratios, not seconds).

Usage (from the repository root)::

    timeout 600 .venv/bin/python plugins/frlie/benchmarks/bench_inference.py \
        [--repeats 5] [--threads N] [--size 600x400] [--json rows.json]
"""

from __future__ import annotations

from lle_core.bench.compare import precision_cases, run_cli

CASES = precision_cases("frlie.model", {"type": "frlie.model"})  # fp32 and bf16 autocast

if __name__ == "__main__":
    run_cli(CASES, __doc__ or "", repeats=5)
