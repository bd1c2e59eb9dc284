"""``lle bench``: train models under one budget, evaluate them next to the baselines, time them."""

from __future__ import annotations

import argparse
from typing import Any

from lle_core.errors import ConfigError


def add_parser(sub: Any) -> None:
    """Add the ``bench`` subcommand."""
    p = sub.add_parser(
        "bench",
        help="benchmark models: quality under a budget, speed, memory, a comparison grid",
        description=(
            "Either a bench YAML (--config, see docs/benchmarks.md) or a quick form: "
            "--models RECIPE... with --train/--test (real pairs) or --synthetic-train/"
            "--synthetic-test (clean photos darkened by dln.synthetic), and a budget."
        ),
    )
    p.add_argument("--config", help="bench YAML file")
    p.add_argument("--models", nargs="+", metavar="RECIPE",
                   help="run configs to compare (plugin:recipe or YAML); label = the recipe")
    p.add_argument("--train", help="paired training folder (low/ + high/)")
    p.add_argument("--test", help="paired test folder (low/ + high/)")
    p.add_argument("--synthetic-train", help="clean photos to synthesise training pairs from")
    p.add_argument("--synthetic-test", help="other clean photos for a fixed synthetic test set")
    p.add_argument("--steps", type=int, help="training budget per model, in steps")
    p.add_argument("--minutes", type=float, help="training budget per model, in minutes")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="run-config override applied to every model (e.g. data.batch_size=4)")
    p.add_argument("--only", default="quality,speed,grid",
                   help="comma-separated parts to run: quality, speed, grid")
    p.add_argument("--entries", help="comma-separated labels of the entries to run")
    p.add_argument("--out", help="report folder (default: the config's out, else bench-out)")
    p.add_argument("--no-progress", action="store_true", help="no live progress display")
    p.set_defaults(func=run)


def _quick_config(args: argparse.Namespace) -> dict[str, Any]:
    import yaml

    if not args.models:
        raise ConfigError([("--models", "give --config FILE or --models RECIPE...")])
    overrides = {}
    for item in args.set:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ConfigError([("--set", f"expected key=value, got {item!r}")])
        overrides[key.strip()] = yaml.safe_load(raw)
    return {
        "entries": [{"label": m, "config": m} for m in args.models],
        "data": {"train": args.train, "test": args.test,
                 "synthetic_train": args.synthetic_train, "synthetic_test": args.synthetic_test},
        "budget": {"steps": args.steps, "minutes": args.minutes},
        "set": overrides,
    }


def run(args: argparse.Namespace) -> int:
    """Load or assemble the bench config and run it."""
    from lle_core.bench import load_bench_config, run_bench
    from lle_core.engine.config import parse_overrides

    if args.config:
        cfg = load_bench_config(args.config)
        budget = cfg.budget.model_copy(update={
            k: v for k, v in (("steps", args.steps), ("minutes", args.minutes)) if v is not None
        })
        extra = dict(parse_overrides(args.set))
        cfg = cfg.model_copy(update={"budget": budget, "set": {**cfg.set, **extra}})
    else:
        cfg = load_bench_config(_quick_config(args))
    if args.entries:
        wanted = {e.strip() for e in args.entries.split(",")}
        unknown = wanted - {e.label for e in cfg.entries}
        if unknown:
            raise ConfigError([("--entries", f"unknown labels {sorted(unknown)}")])
        cfg = cfg.model_copy(update={"entries": [e for e in cfg.entries if e.label in wanted]})
    parts = tuple(p.strip() for p in args.only.split(",") if p.strip())
    bad = set(parts) - {"quality", "speed", "grid"}
    if bad:
        raise ConfigError([("--only", f"unknown parts {sorted(bad)}")])
    run_bench(cfg, out=args.out, parts=parts, progress=not args.no_progress)
    return 0
