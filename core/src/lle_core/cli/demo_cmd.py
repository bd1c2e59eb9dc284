"""``lle demo``: the shipped weight sets on dark photos; ``--train``: train a small model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from lle_core.errors import ConfigError

#: Options of ``--train`` only, with their defaults there.
TRAIN_DEFAULTS: dict[str, Any] = {
    "minutes": 2.5, "steps": None, "model": "core.unet_small", "data": None, "crop": 64,
    "batch_size": 8, "lr": 1e-3, "variants": 6,
}


def add_parser(sub: Any) -> None:
    """Add the ``demo`` subcommand."""
    p = sub.add_parser(
        "demo",
        help="the shipped models on dark photos, in one report (--train: train one yourself)",
        description=(
            "Enhance dark photos with every shipped weight set and the gamma baseline, and "
            "write one report (report.html): built-in photos shipped with scikit-image, "
            "darkened with a fixed seed (so each has its original and a PSNR), and real dark "
            "photos from --real (default ../shared/data/unpaired when it exists); time per "
            "megapixel; which set `lle enhance` uses by default and why. No download. With "
            "--train: build low-light pairs from the built-in photos, train a small model for "
            "a few minutes, evaluate it next to the baselines (metrics, loss curve, grid, "
            "checkpoint)."
        ),
    )
    p.add_argument("--out", "-o", type=Path, default=Path("lle-demo"), metavar="DIR",
                   help="report folder (default ./lle-demo)")
    p.add_argument("--size", type=int, metavar="PX",
                   help="short side of the photos (default 256; with --train 192)")
    p.add_argument("--seed", type=int, default=0, help="seed of the darkening (and training)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="torch CPU threads (default: one per core, 1 on a busy machine)")
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    p.add_argument("--real", type=Path, metavar="DIR",
                   help="folder of real dark photos (default ../shared/data/unpaired if present)")
    p.add_argument("--no-real", action="store_true", help="built-in photos only")
    p.add_argument("--real-count", type=int, default=6, metavar="N",
                   help="how many real photos, spread over the folder's subfolders (default 6)")
    p.add_argument("--sets", metavar="A,B", help="only these weight sets (see `lle weights`)")
    t = p.add_argument_group("training (--train)")
    t.add_argument("--train", action="store_true",
                   help="train a small model on darkened built-in photos instead")
    t.add_argument("--minutes", type=float, metavar="M", help="training time budget (2.5)")
    t.add_argument("--steps", type=int, metavar="N", help="training step budget")
    t.add_argument("--model", "-m", metavar="NAME",
                   help="model to train (default core.unet_small; see `lle list model`)")
    t.add_argument("--data", type=Path, metavar="DIR",
                   help="real paired data (low/ + high/, or train/ + test/) instead of "
                   "synthetic pairs")
    t.add_argument("--crop", type=int, metavar="PX", help="training crop (default 64)")
    t.add_argument("--batch-size", type=int, metavar="N", help="batch size (default 8)")
    t.add_argument("--lr", type=float, help="Adam learning rate (default 1e-3)")
    t.add_argument("--variants", type=int, metavar="N",
                   help="darkened versions of each training photo (default 6)")
    p.set_defaults(func=run_demo_cmd)


def run_demo_cmd(args: argparse.Namespace) -> int:
    """``lle demo``: the gallery of shipped sets, or with ``--train`` the training demo."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    given = [k for k in TRAIN_DEFAULTS if getattr(args, k) is not None]
    if args.train:
        return _train_demo(args)
    if given:
        flags = ", ".join("--" + k.replace("_", "-") for k in given)
        raise ConfigError([(flags, "training options need --train (lle demo --train ...)")])
    return _gallery_demo(args)


def _gallery_demo(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from lle_core.demo.gallery import GalleryOptions, relative, run_gallery

    err = Console(stderr=True)
    show = err.is_terminal and not args.no_progress
    sets = tuple(s.strip() for s in args.sets.split(",") if s.strip()) if args.sets else None
    opts = GalleryOptions(out=args.out, size=args.size or 256, seed=args.seed, real=args.real,
                          use_real=not args.no_real, real_count=args.real_count, sets=sets,
                          threads=args.threads)
    if show:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      console=err, transient=True) as bar:
            task = bar.add_task("enhancing", total=None)

            def progress(done: int, total: int, label: str) -> None:
                bar.update(task, completed=done, total=total, description=label)

            opts.progress = progress
            result = run_gallery(opts)
    else:
        result = run_gallery(opts)
    tty = sys.stdout.isatty()
    console = Console(soft_wrap=not tty, width=None if tty else 120)
    kinds = [p.kind for p in result.photos]
    table = Table(title=f"lle demo: {kinds.count('built-in')} built-in dark photos (PSNR/SSIM "
                  f"vs their originals), {kinds.count('real')} real ones")
    for col in ("set", "model", "PSNR", "SSIM", "s/MP here", "LOL PSNR"):
        table.add_column(col)
    for c in result.columns:
        table.add_row(c.name + (" (default)" if c.name == result.default else ""), c.model,
                      f"{c.mean(c.psnr):.2f}", f"{c.mean(c.ssim):.3f}", f"{c.seconds_per_mp:.2f}",
                      f"{c.recorded['psnr']:.2f}" if "psnr" in c.recorded else "-")
    console.print(table)
    console.print(f"default: {result.default_reason}")
    console.print(f"report: {relative(result.report)} (open it in a browser); "
                  f"took {result.seconds:.0f} s")
    return 0


def _train_demo(args: argparse.Namespace) -> int:
    """Train a small model and report how it does (``lle demo --train``)."""
    from rich.console import Console

    from lle_core.demo.run import DemoOptions, psnr_gain, run_demo
    from lle_core.evaluation import summary_table

    values = {k: (getattr(args, k) if getattr(args, k) is not None else v)
              for k, v in TRAIN_DEFAULTS.items()}
    console = Console()
    console.rule("lle demo --train")
    live = console.is_terminal and Console(stderr=True).is_terminal  # piped: no step lines
    opts = DemoOptions(out=args.out, size=args.size or 192, seed=args.seed,
                       threads=args.threads, progress=live and not args.no_progress, **values)
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
