"""Turn the best checkpoint of a training-plan entry into a shipped weight set.

For one entry of docs/weights/lol-plan.yaml this script

1. takes the entry's final checkpoint (``best.safetensors``: selected on the held-out 10 % of
   the training pairs, never on the test set),
2. evaluates it on LOL-v1 eval15 with the project protocol (PSNR/SSIM, and GT-mean variants),
3. measures ``lle_core.enhance`` throughput at 600×400 (median of 3, default path),
4. writes ``<package>/weights/<name>.safetensors`` and ``<name>.json`` (the record that the
   plugin registers), storing float16 when asked and reporting the PSNR change that causes.

Run from the repository root after ``lle train-plan``::

    .venv/bin/python docs/weights/ship.py --runs ../runs/weights --label neid \
        --package plugins/neid/src/lle_neid [--float16]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from lle_core import enhance
from lle_core.checkpoint import load_model, load_state
from lle_core.engine.plan import DONE
from lle_core.evaluation import evaluate
from lle_core.weight_sets import export_weight_set

TEST = "../shared/data/lol/test"


def _metrics(model: torch.nn.Module, test: str) -> dict[str, float]:
    result = evaluate(model, test, gt_mean=True)
    m = result.mean
    return {"psnr": round(m["psnr"], 3), "ssim": round(m["ssim"], 4),
            "psnr_gt_mean": round(m["psnr_gtmean"], 3),
            "ssim_gt_mean": round(m["ssim_gtmean"], 4)}


def _mp_per_s(model: torch.nn.Module) -> float:
    x = torch.rand(3, 400, 600) * 0.3
    enhance(model, x)  # warm-up
    times = []
    for _ in range(3):
        t = time.perf_counter()
        enhance(model, x)
        times.append(time.perf_counter() - t)
    return round(0.24 / statistics.median(times), 3)


def _stages(run_root: Path, label: str) -> list[dict[str, Any]]:
    out = []
    for stage_dir in sorted((run_root / label).iterdir()):
        done = stage_dir / DONE
        record: dict[str, Any] = json.loads(done.read_text()) if done.is_file() else {}
        lines = [json.loads(x) for x in (stage_dir / "metrics.jsonl").read_text().splitlines()
                 if x.strip()]
        steps = [r for r in lines if r.get("kind") == "train"]
        vals = [r for r in lines if r.get("kind") == "val"]
        state = load_state(stage_dir / "latest.state.pt")
        record.update({
            "stage": stage_dir.name,
            "steps": int(state.get("step", steps[-1]["step"] if steps else 0)),
            "minutes": round(float(state.get("elapsed", 0.0)) / 60, 1),
            "best_holdout_psnr": max((v["psnr"] for v in vals), default=None),
        })
        out.append(record)
    return out


def _curves(run_root: Path, label: str, path: Path) -> None:
    """Smoothed training loss and held-out PSNR of every stage, against cumulative steps."""
    from lle_core.demo.plot import line_chart, smooth

    loss: list[tuple[float, float]] = []
    psnr: list[tuple[float, float]] = []
    offset = 0
    for stage_dir in sorted((run_root / label).iterdir()):
        lines = [json.loads(x) for x in (stage_dir / "metrics.jsonl").read_text().splitlines()
                 if x.strip()]
        train = [r for r in lines if r.get("kind") == "train"]
        values = smooth([r["loss"] for r in train])
        loss += [(offset + r["step"], v) for r, v in zip(train, values, strict=True)]
        psnr += [(offset + r["step"], r["psnr"]) for r in lines if r.get("kind") == "val"]
        offset += train[-1]["step"] if train else 0
    path.parent.mkdir(parents=True, exist_ok=True)
    line_chart([("training loss (smoothed)", loss, (200, 60, 40))], path.with_name(
        f"{label}-loss.png"), title=f"{label}: training loss", xlabel="step", ylabel="loss",
        log_y=True, size=(560, 300))
    if psnr:
        line_chart([("held-out PSNR", psnr, (40, 90, 200))], path, title=(
            f"{label}: PSNR on the held-out training pairs"), xlabel="step", ylabel="dB",
            size=(560, 300))


def main() -> None:
    """Evaluate, measure and export one entry (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", required=True, type=Path, help="the plan's --out folder")
    ap.add_argument("--label", required=True, help="plan entry (neid, dln, ...)")
    ap.add_argument("--package", required=True, type=Path, help="the plugin's package folder")
    ap.add_argument("--name", default="lol", help="weight-set name (default: lol)")
    ap.add_argument("--float16", action="store_true", help="store the tensors as float16")
    ap.add_argument("--test", default=TEST, help="LOL-v1 eval15 folder")
    ap.add_argument("--recipe", required=True, help="how the weights were trained (text)")
    ap.add_argument("--data", required=True, help="what they were trained on (text)")
    ap.add_argument("--notes", default="", help="deviations and caveats (text)")
    ap.add_argument("--curves", type=Path, help="write <label>.png training curves here")
    args = ap.parse_args()
    if args.curves is not None:
        _curves(args.runs, args.label, args.curves / f"{args.label}.png")

    stages = _stages(args.runs, args.label)
    final = sorted((args.runs / args.label).iterdir())[-1]
    checkpoint = final / ("best.safetensors" if (final / "best.safetensors").is_file()
                          else "latest.safetensors")
    model = load_model(checkpoint)
    metrics = _metrics(model, args.test)
    speed = _mp_per_s(model)
    budget = (
        "; ".join(f"{s['stage']}: {s['steps']} steps, {s['minutes']} min"
                  for s in stages)
        + f"; {platform.machine()} CPU, 2 cores (one thread per run, two runs in parallel)"
    )
    storage = "float16" if args.float16 else "float32"
    record = export_weight_set(
        checkpoint, args.package, args.name, storage=storage, data=args.data,
        recipe=args.recipe, budget=budget, metrics=metrics, mp_per_s=speed, notes=args.notes,
    )
    if args.float16:  # what the float16 storage costs, on the same test set
        from lle_core.weight_sets import WeightSet

        shipped = WeightSet.from_record({**record.__dict__, "file": str(
            args.package / record.file)})
        half = _metrics(shipped.load(), args.test)
        delta = round(half["psnr"] - metrics["psnr"], 4)
        export_weight_set(
            checkpoint, args.package, args.name, storage=storage, data=args.data,
            recipe=args.recipe, budget=budget, metrics={**half, "psnr_float32": metrics["psnr"],
                                                       "float16_psnr_change": delta},
            mp_per_s=speed, notes=args.notes,
        )
        metrics = half
    print(json.dumps({"label": args.label, "checkpoint": str(checkpoint), "metrics": metrics,
                      "mp_per_s": speed, "budget": budget, "stages": stages}, indent=2))


if __name__ == "__main__":
    main()
