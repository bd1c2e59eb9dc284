"""CPU inference speed and peak memory of AuxNet vs the core identity/gamma baselines.

Sizes 600×400 (LOL) and 1920×1080 (full HD) by default. Every (case, size) pair runs in a
fresh subprocess so that peak-RSS figures do not leak between measurements. Batch 1,
``torch.inference_mode``, random weights (speed does not depend on the values), two warm-up
runs. Cases:

* ``auxnet.model`` - the default: fp32, channels-last convolutions, BN folded at inference;
* ``auxnet.model NCHW`` - the same with ``channels_last: false`` (the plain eager layout);
* ``auxnet.model bf16`` - the default model and input cast to bfloat16 (the max |Δ| vs fp32 is
  reported; opt-in only, results change slightly).

The tables (from :mod:`lle_core.bench.compare`, one per size) give the median wall-clock
seconds per image, the median process CPU time per image (summed over threads; much less
sensitive than wall-clock time to other jobs on a shared machine), images and megapixels per
second, peak tensor memory, peak RSS and the forward pass's share of it, and wall-clock and CPU
time ratios against ``core.identity`` / ``core.gamma`` of the same run. Parameters are the
inference-time count (BN folded). The machine is shared and noisy: compare ratios inside one
run, not absolute times across runs.

Usage (from the repository root)::

    timeout 600 .venv/bin/python plugins/auxnet/benchmarks/bench_inference.py \
        [--repeats 5] [--threads 2] [--size 600x400 --size 1920x1080] [--only auxnet.model] \
        [--json rows.json]
"""

from __future__ import annotations

from lle_core.bench.compare import InferenceCase, run_cli

CASES = [
    InferenceCase("auxnet.model", {"type": "auxnet.model"}),
    InferenceCase("auxnet.model NCHW", {"type": "auxnet.model", "channels_last": False}),
    InferenceCase("auxnet.model bf16", {"type": "auxnet.model"}, precision="bf16",
                  autocast=False),
]

if __name__ == "__main__":
    run_cli(CASES, __doc__ or "", sizes=((600, 400), (1920, 1080)), repeats=5, warmup=2)
