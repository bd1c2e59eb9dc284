"""CPU inference speed and peak memory of NEID at 600×400 vs the core identity/gamma baselines.

Measures ``neid.model`` in its default (paper test protocol) mode at the full paper widths,
twice: the whole network (LE + DR + FF) and the light-enhancement stream only
(``dr_branch: false``, ``feature_fusion: false``). Random weights (speed does not depend on the
values), batch 1, fp32, ``torch.inference_mode``, two warm-up runs. Each case runs in its own
fresh subprocess; the table (from :mod:`lle_core.bench.compare`) gives the median seconds per
image, images and megapixels per second, CPU time, peak tensor memory, peak RSS and the
forward pass's share of it, and ratios against the baselines of the same run: the machine is
shared and noisy, so compare ratios, not absolute times across runs.

Usage (from the repository root)::

    timeout 600 .venv/bin/python plugins/neid/benchmarks/bench_inference.py \
        [--repeats 5] [--threads 2] [--size 600x400] [--json rows.json]
"""

from __future__ import annotations

from lle_core.bench.compare import InferenceCase, run_cli

CASES = [
    InferenceCase("neid.model (LE+DR+FF, protocol)", {"type": "neid.model"}),
    InferenceCase(
        "neid.model (LE only, protocol)",
        {"type": "neid.model", "dr_branch": False, "feature_fusion": False},
    ),
]

if __name__ == "__main__":
    run_cli(CASES, __doc__ or "", repeats=5, warmup=2)
