"""``lle eval``: PSNR / SSIM of a model on a paired folder, next to the baselines."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lle_core.cli.enhance_cmd import (
    add_model_arguments,
    add_runtime_arguments,
    model_from_args,
    parse_tile,
)


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


def run_eval(args: argparse.Namespace) -> int:
    """Evaluate the model and the baselines; print tables; write JSON / grid if asked."""
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

    console = Console()
    pairs = folder_pairs(args.data)
    keep = args.grid_images if args.grid else 0
    common: dict[str, Any] = {
        "gt_mean": args.gt_mean,
        "device": args.device,
        "tile": parse_tile(args.tile),
        "max_images": args.max_images,
        "keep_outputs": keep,
    }
    results = []
    has_model = args.model or args.weights or args.config
    with console.status("evaluating...") as status:
        if has_model:
            model = model_from_args(args)
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
    if args.json:
        path = write_json(results, args.json, data=str(args.data))
        console.print(f"JSON: {path}")
    if args.grid:
        rows = comparison_rows(pairs, results, max_rows=args.grid_images)
        path = write_comparison_grid(rows, Path(args.grid))
        console.print(f"comparison grid: {path}")
    return 0
