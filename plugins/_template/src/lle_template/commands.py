"""``lle template-export``: write a trained TemplateNet as a ``.pt2`` program file.

Registered by ``hooks.py`` (``lle_commands``); this module is imported only when the command
runs, so ``lle --help`` stays light.
"""

from __future__ import annotations

import argparse


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """``--weights`` (the checkpoint) and ``-o`` (the ``.pt2`` file)."""
    parser.add_argument("--weights", "-w", required=True, metavar="FILE",
                        help="checkpoint of template.model (written by lle train)")
    parser.add_argument("--out", "-o", required=True, metavar="FILE", help="output .pt2 file")


def run_export(args: argparse.Namespace) -> int:
    """Export the checkpoint's model; ``lle enhance --backend template-program`` runs it."""
    from lle_core.inference import model_for_inference
    from lle_template.program import export_program

    path = export_program(model_for_inference(None, args.weights), args.out)
    print(f"wrote {path}; run it with: lle enhance IMAGES -o OUT --backend template-program "
          f"--backend-file {path}")
    return 0
