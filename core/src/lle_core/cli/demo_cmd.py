"""``lle demo``: train a small model on built-in data and report how it does."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    """Add the ``demo`` subcommand."""
    p = sub.add_parser(
        "demo",
        help="end-to-end demo on built-in data: synthesise, train, evaluate, report",
        description=(
            "Build low-light pairs from photos shipped with scikit-image (no download), train "
            "a small model on the CPU for a few minutes, evaluate it next to the baselines and "
            "write a report folder (metrics, loss curve, comparison grid, checkpoint)."
        ),
    )
    p.add_argument(
        "--out",
        "-o",
        type=Path,
        default=Path("lle-demo"),
        metavar="DIR",
        help="report folder (default ./lle-demo)",
    )
    p.add_argument(
        "--minutes",
        type=float,
        default=2.5,
        metavar="M",
        help="training time budget in minutes (default 2.5)",
    )
    p.add_argument("--steps", type=int, metavar="N", help="training step budget")
    p.add_argument(
        "--model",
        "-m",
        default="core.unet_small",
        metavar="NAME",
        help="model to train (default core.unet_small; see `lle list model`)",
    )
    p.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="real paired data (low/ + high/, or train/ + test/) instead of synthetic pairs",
    )
    p.add_argument(
        "--size",
        type=int,
        default=192,
        metavar="PX",
        help="short side of the synthetic images (default 192)",
    )
    p.add_argument("--crop", type=int, default=64, metavar="PX", help="training crop (default 64)")
    p.add_argument("--batch-size", type=int, default=8, metavar="N")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument(
        "--variants",
        type=int,
        default=6,
        metavar="N",
        help="darkened versions of each training photo (default 6)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="torch CPU threads (default: one per core, 1 on a busy machine)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    p.set_defaults(func=run_demo_cmd)


def run_demo_cmd(args: argparse.Namespace) -> int:
    """Run the demo and print the results, where they are and how to use the model."""
    import os

    from rich.console import Console

    from lle_core.demo.run import DemoOptions, psnr_gain, run_demo
    from lle_core.evaluation import summary_table

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    console = Console()
    console.rule("lle demo")
    opts = DemoOptions(
        out=args.out,
        minutes=args.minutes,
        steps=args.steps,
        model=args.model,
        data=args.data,
        size=args.size,
        crop=args.crop,
        batch_size=args.batch_size,
        lr=args.lr,
        variants=args.variants,
        seed=args.seed,
        threads=args.threads,
        progress=not args.no_progress,
    )
    result = run_demo(opts)
    console.print(summary_table(result.results, title="demo: test pairs"))
    gain = psnr_gain(result)
    console.print(
        f"trained {result.results[0].model} for {result.steps} steps "
        f"({result.train_seconds:.0f} s); PSNR {gain:+.2f} dB vs the best baseline; "
        f"demo took {result.seconds:.0f} s"
    )
    console.print("report:")
    for role in ("metrics_md", "metrics_json", "loss_curve", "comparison", "weights"):
        console.print(f"  {role:<13} {result.files[role]}")
    console.print("enhance your own photos with the model just trained:")
    # plain print: the command must stay on one line to be copied
    print(f"  lle enhance YOUR_PHOTOS -o enhanced/ --weights {result.weights}", flush=True)
    return 0
