"""``lle export``: write a model as an ONNX file (dynamic batch, height and width)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lle_core.cli.enhance_cmd import add_model_arguments, model_from_args


def add_parser(sub: Any) -> None:
    """Register ``lle export``."""
    p = sub.add_parser(
        "export",
        help="export a model to ONNX (needs lle-core[onnx])",
        description="Export a model (shipped weights, a checkpoint or a parameter-free model) "
        "to ONNX with dynamic height and width; run it with `lle enhance --backend "
        "onnxruntime --onnx FILE`. NEID's default protocol mode does not export (its "
        "antialiased bicubic resize has no ONNX conversion).",
    )
    add_model_arguments(p)
    p.add_argument("-o", "--out", required=True, metavar="FILE", help="output .onnx file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the model like ``lle enhance`` does and export it."""
    from lle_core.export import export_onnx

    model = model_from_args(args)
    path = export_onnx(model, args.out)
    print(f"wrote {path}", file=sys.stderr)
    return 0
