"""Training throughput of every shipped recipe on this CPU, with and without the speed levers.

float32, bfloat16 autocast, and bfloat16 + channels-last (``train.amp`` and
``train.channels_last``):

    OMP_NUM_THREADS=1 .venv/bin/python docs/weights/train_speed.py [--steps 3] [RECIPE ...]

One AdamW step = forward, the recipe's loss, backward, update; batch and crop of the recipe;
random images. The three settings are timed interleaved in this one process (median of
``--steps`` after one warm-up each), so their ratios hold even on a busy machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch

from lle_core.engine.config import load_run_config
from lle_core.engine.training_loss import build_loss

RECIPES = ("hf2:lol", "neid:lol", "dln:lol", "frlie:lol", "core:unet_small_lol", "auxnet:lol")
SETTINGS = {"float32": (None, False), "bfloat16": (torch.bfloat16, False),
            "bfloat16 + channels_last": (torch.bfloat16, True)}


def _step_fn(recipe: str, dtype: torch.dtype | None, channels_last: bool) -> Any:
    overrides: dict[str, Any] = {"data.train.root": "unused"}
    if recipe.startswith("frlie:") and "stage1" not in recipe:  # speed only: no stage-1 file
        overrides["trainer.allow_untrained_autoencoder"] = True
    cfg = load_run_config(recipe, overrides=overrides)
    torch.manual_seed(0)
    trainer = cfg.trainer.build(model=cfg.model_spec.build(), loss=build_loss(cfg.loss))
    fmt = torch.channels_last if channels_last else torch.preserve_format
    for module in trainer.modules().values():
        module.to(memory_format=fmt)
        module.train()
    opt = torch.optim.AdamW([p for p in trainer.parameters() if p.requires_grad], lr=1e-5)
    crop = getattr(cfg.data.train.params, "crop", None) or 128
    bs = cfg.data.batch_size
    g = torch.Generator().manual_seed(1)
    high = torch.rand(bs, 3, crop, crop, generator=g)
    batch = {"low": (high * 0.2).contiguous(memory_format=fmt),
             "high": high.contiguous(memory_format=fmt), "name": ["x"] * bs}

    def step() -> None:
        with torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
            result = trainer.training_step(batch)
        opt.zero_grad(set_to_none=True)
        result.loss.backward()
        opt.step()

    return step, bs, crop


def main() -> None:
    """Time every recipe under every setting and print a Markdown table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recipes", nargs="*", default=list(RECIPES))
    ap.add_argument("--steps", type=int, default=3)
    args = ap.parse_args()
    print(f"torch threads: {torch.get_num_threads()}")
    print("| recipe | batch x crop | " + " | ".join(f"{s} img/s" for s in SETTINGS)
          + " | bf16+CL / fp32 |")
    print("| --- | --- |" + " ---: |" * (len(SETTINGS) + 1))
    for recipe in args.recipes:
        fns = {name: _step_fn(recipe, *setting) for name, setting in SETTINGS.items()}
        times: dict[str, list[float]] = {name: [] for name in SETTINGS}
        for fn, _, _ in fns.values():
            fn()  # warm-up
        for _ in range(args.steps):
            for name, (fn, _, _) in fns.items():
                t = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t)
        _, bs, crop = fns["float32"]
        rate = {n: bs / statistics.median(t) for n, t in times.items()}
        cells = " | ".join(f"{rate[n]:.2f}" for n in SETTINGS)
        ratio = rate["bfloat16 + channels_last"] / rate["float32"]
        print(f"| `{recipe}` | {bs} x {crop} | {cells} | {ratio:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
