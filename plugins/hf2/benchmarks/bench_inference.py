"""Inference speed and peak memory of hf2.model at 600×400 on the CPU, against core baselines.

Measures ``hf2.model`` at the paper's full width, built with a random VGG16 backbone
(``backbone.weights: random``: pretrained weights cannot be downloaded here and the speed does
not depend on the weight values), fp32, batch 1. The input is reflect-padded to the model's
``multiple_of`` and cropped back. Each case runs in its own subprocess; the table (from
:mod:`lle_core.bench.compare`) gives the median seconds per image after a warm-up, images and
megapixels per second, CPU time, peak tensor memory, peak RSS and its growth during inference,
and time ratios against ``core.identity`` / ``core.gamma`` measured in the same run (the
machine is shared and noisy: compare ratios, not seconds).

Usage (from the repository root)::

    HF_HUB_OFFLINE=1 timeout 600 .venv/bin/python plugins/hf2/benchmarks/bench_inference.py \
        [--repeats 3] [--threads N] [--size 600x400] [--json rows.json]
"""

from __future__ import annotations

from lle_core.bench.compare import InferenceCase, run_cli

CASES = [
    InferenceCase(
        "hf2.model",
        {"type": "hf2.model", "backbone": {"type": "hf2.vgg16", "weights": "random"}},
    ),
]

if __name__ == "__main__":
    run_cli(CASES, __doc__ or "", repeats=3)
