"""``lle eval``: PSNR / SSIM of a model on a paired folder, next to the baselines."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from lle_core.cli.enhance_cmd import (
    add_model_arguments,
    add_runtime_arguments,
    check_runtime_arguments,
    model_from_args,
)
from lle_core.errors import OutputError
from lle_core.options import check_environment, memory_mb_option, tile_option


def add_parser(sub: Any) -> None:
    """Add the ``eval`` subcommand."""
    p = sub.add_parser(
        "eval",
        help="PSNR/SSIM of a model on paired data (low/ + high/), next to baselines",
        description=(
            "Evaluate on a paired folder DIR with low/ and high/ (matching file names). "
            "Example: lle eval --data ../lol/test --weights run/best.safetensors --gt-mean"
        ),
    )
    p.add_argument("--data", "-d", required=True, metavar="DIR", help="paired folder")
    add_model_arguments(p)
    p.add_argument(
        "--baselines",
        "-b",
        default="all",
        metavar="LIST",
        help="comma-separated baselines shown alongside: identity,gamma,histeq,clahe "
        "(default: all; 'none' for none)",
    )
    p.add_argument("--gt-mean", action="store_true", help="also report GT-mean PSNR/SSIM")
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument("--grid", metavar="FILE", help="write a comparison grid PNG")
    p.add_argument(
        "--grid-images",
        type=int,
        default=4,
        metavar="N",
        help="rows of the comparison grid (default 4)",
    )
    p.add_argument("--max-images", type=int, metavar="N", help="evaluate the first N pairs")
    p.add_argument("--no-per-image", action="store_true", help="only the averaged table")
    add_runtime_arguments(p)
    p.set_defaults(func=run_eval)


def check_output_file(path: str | None, flag: str) -> None:
    """Fail before any work when ``path`` (``--json``/``--grid``) cannot be written.

    Raises:
        OutputError: Its folder cannot be created, a parent is a file, it is a folder, or the
            folder is not writable (the message names the flag and the path).
    """
    if path is None:
        return
    target = Path(path)
    if target.is_dir():
        raise OutputError(f"{flag} {target} is a folder, not a file")
    blocker = next((a for a in target.parents if a.exists() and not a.is_dir()), None)
    if blocker is not None:
        raise OutputError(f"{flag} {target}: {blocker} is a file, not a folder")
    existing = next(a for a in (*target.parents, Path(".")) if a.exists())
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{flag} {target}: {existing} is not writable")


def run_eval(args: argparse.Namespace) -> int:
    """Evaluate the model and the baselines; print tables; write JSON / grid if asked.

    Pairs that cannot be evaluated are skipped and listed at the end (exit code 1).
    """
    from rich.console import Console

    from lle_core.evaluation import (
        comparison_rows,
        evaluate,
        evaluate_baselines,
        parse_baselines,
        print_results,
        write_comparison_grid,
        write_json,
    )
    from lle_core.evaluation.pairs import folder_pairs

    tile = tile_option(args.tile, "--tile")
    memory_mb_option(args.max_memory_mb, "--max-memory-mb")
    check_environment()
    check_output_file(args.json, "--json")
    check_output_file(args.grid, "--grid")
    console = Console()
    pairs = folder_pairs(args.data)
    keep = args.grid_images if args.grid else 0
    common: dict[str, Any] = {
        "gt_mean": args.gt_mean,
        "device": args.device,
        "tile": tile,
        "overlap": args.overlap,
        "max_memory_mb": args.max_memory_mb,
        "max_images": args.max_images,
        "keep_outputs": keep,
        "on_error": "skip",
    }
    results = []
    has_model = args.model or args.weights or args.config
    with console.status("evaluating...") as status:
        if has_model:
            model = model_from_args(args)
            check_runtime_arguments(model, args)
            name = getattr(getattr(model, "lle_spec", None), "name", type(model).__name__)
            status.update(f"evaluating {name}")
            results.append(evaluate(model, pairs, weights=None, **common))
            if args.weights:
                results[0].weights = str(args.weights)
        for name in parse_baselines(args.baselines):
            status.update(f"evaluating baseline {name}")
            results.extend(evaluate_baselines([name], pairs, **common))
    if not results:
        console.print("nothing to evaluate: give --model/--weights or --baselines")
        return 2
    print_results(results, console=console, per_image=not args.no_per_image)
    failed = {f["name"]: f["error"] for r in results for f in r.failed}
    if args.json:
        try:
            path = write_json(results, args.json, data=str(args.data))
        except OSError as err:  # the tables above hold the results
            raise OutputError(
                f"cannot write --json {args.json}: {err.strerror or err} (the results are "
                "printed above)"
            ) from None
        console.print(f"JSON: {path}")
    if args.grid:
        rows = comparison_rows(pairs, results, max_rows=args.grid_images)
        if rows:
            path = write_comparison_grid(rows, Path(args.grid))
            console.print(f"comparison grid: {path}")
    if failed:
        err_console = Console(stderr=True)
        err_console.print(f"[red]{len(failed)} of {len(pairs)} pair(s) failed:[/]")
        for detail in failed.values():
            err_console.print(f"  {detail}", markup=False, highlight=False, soft_wrap=True)
        return 1
    return 0
