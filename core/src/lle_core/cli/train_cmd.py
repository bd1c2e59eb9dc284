"""``lle train``: train a model from a run config (YAML/JSON file or ``<plugin>:<recipe>``)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    """Add the ``train`` subcommand."""
    p = sub.add_parser(
        "train",
        help="train a model from a run config or a plugin recipe",
        description=(
            "Train a model. The config is a YAML/JSON run config or a recipe shipped by a "
            "plugin, e.g. 'neid:paper'. Under torchrun the run uses every process (DDP); "
            "data.batch_size is per process."
        ),
    )
    p.add_argument("--config", "-c", required=True, metavar="FILE|PLUGIN:RECIPE",
                   help="run config file or plugin recipe")
    p.add_argument("--data", metavar="DIR", help="training data folder (data.train.root)")
    p.add_argument("--val", metavar="DIR", help="validation data folder (data.val.root)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set optim.lr=2e-4 (repeatable; YAML "
                        "values)")
    p.add_argument("--out", "-o", metavar="DIR", help="run directory (default: config 'out', "
                   "else runs/<model>-<time>)")
    p.add_argument("--resume", metavar="auto|PATH",
                   help="continue a run: 'auto' (from <out>/latest if present) or a checkpoint")
    p.add_argument("--steps", type=int, metavar="N", help="step budget (budget.steps)")
    p.add_argument("--epochs", type=int, metavar="N", help="epoch budget (budget.epochs)")
    p.add_argument("--minutes", type=float, metavar="M", help="time budget (budget.minutes)")
    p.add_argument("--device", metavar="DEV",
                   help="auto, cpu, cuda or cuda:N (train.device); with train.amp, bf16 "
                        "autocast on the CPU and on GPUs that support it, else fp16")
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    p.set_defaults(func=run_train)

    plan = sub.add_parser(
        "train-plan",
        help="train several models under one total time budget (resumable)",
        description=(
            "Train every entry of a training plan (YAML: data + entries of recipe stages, see "
            "docs/weights/lol-plan.yaml), splitting --minutes by the entries' shares. Running "
            "it again continues unfinished stages from their latest checkpoints."
        ),
    )
    plan.add_argument("plan", metavar="PLAN.yaml", help="training plan")
    plan.add_argument("--out", "-o", required=True, metavar="DIR", help="folder of the runs")
    plan.add_argument("--minutes", type=float, required=True, metavar="M",
                      help="total wall-clock budget of the plan")
    plan.add_argument("--device", metavar="DEV", help="auto, cpu, cuda or cuda:N for every stage")
    plan.add_argument("--only", action="append", default=[], metavar="LABEL",
                      help="train only this entry (repeatable)")
    plan.add_argument("--no-progress", action="store_true", help="no progress display")
    plan.set_defaults(func=run_train_plan)


def run_train_plan(args: argparse.Namespace) -> int:
    """Run a training plan and print the final checkpoint of each entry."""
    from lle_core.engine.plan import run_plan

    summary = run_plan(args.plan, out=args.out, total_minutes=args.minutes, device=args.device,
                       only=args.only, progress=not args.no_progress)
    for label, record in summary.items():
        steps = sum(int(s["steps"]) for s in record["stages"])
        print(f"{label}: {record['checkpoint']} ({steps} steps over "
              f"{len(record['stages'])} stage(s))")
    return 0


def run_train(args: argparse.Namespace) -> int:
    """Load the config, train, and print where the outputs are."""
    from lle_core.engine.config import load_run_config
    from lle_core.engine.loop import train

    overrides: list[str] = list(args.overrides)
    for key, value in (("steps", args.steps), ("epochs", args.epochs),
                       ("minutes", args.minutes)):
        if value is not None:
            overrides.append(f"budget.{key}={value}")
    if args.device is not None:
        overrides.append(f"train.device={args.device}")
    cfg = load_run_config(args.config, overrides=overrides, data_dir=args.data,
                          val_dir=args.val)
    try:
        result = train(cfg, out_dir=args.out, resume=args.resume, progress=not args.no_progress)
    except KeyboardInterrupt as err:
        print(f"interrupted: {err or 'stopped'}; continue with the same command and "
              "--resume auto", file=sys.stderr)
        return 130
    except FloatingPointError as err:  # non-finite loss: a training problem, not a bug
        print(f"error: {err}", file=sys.stderr)
        return 1
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun only rank 0 reports
        return 0
    print(f"run directory: {result.out_dir}")
    print(f"stopped by the {result.stopped_by} budget after {result.steps} steps "
          f"({result.epochs} epochs)")
    print(f"latest checkpoint: {result.latest_checkpoint}")
    if result.best_checkpoint is not None:
        print(f"best checkpoint:   {result.best_checkpoint} "
              f"(best {cfg.train.best_metric} {result.best_metric:.4f})")
    print(f"run it: lle enhance INPUT -o OUTPUT --weights {result.checkpoint}")
    return 0
