"""DLN inference speed and peak memory on one 600×400 image on the CPU, vs core baselines.

Measures ``dln.model`` (default configuration, random weights: speed and memory do not depend
on them) in fp32 and in bf16 under ``torch.autocast``, in eval mode under
``torch.inference_mode``: one warm-up forward, then ``--repeats`` timed forwards. Each case runs
in a fresh subprocess; the table (from :mod:`lle_core.bench.compare`) gives per case:

* median seconds per image, images and megapixels per second, CPU time per image;
* peak tensor memory of one forward (live activation storages, weights and input excluded,
  measured with ``lle_core.inference.PeakMemoryTracker`` in a separate untimed forward);
* peak resident set size of the process and its growth during inference;
* the bf16 output's max difference to fp32;
* time ratios against ``core.identity`` and ``core.gamma`` measured in the same run (the
  machine is shared and noisy: compare the ratios, not the seconds).

Usage (from the repository root)::

    timeout 600 .venv/bin/python plugins/dln/benchmarks/bench_inference.py \
        [--repeats 3] [--threads N] [--size 600x400] [--json rows.json]
"""

from __future__ import annotations

from lle_core.bench.compare import precision_cases, run_cli

CASES = precision_cases("dln.model", {"type": "dln.model"})  # fp32 and bf16 autocast

if __name__ == "__main__":
    run_cli(CASES, __doc__ or "", repeats=3)
