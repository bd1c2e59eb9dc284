"""``lle enhance``: run a model on image files, folders and globs."""

from __future__ import annotations

import argparse
import glob
from pathlib import Path
from typing import Any, Literal

from lle_core.errors import ConfigError, ImageReadError


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """``--model``, ``--weights``, ``--config`` (shared by ``enhance`` and ``eval``)."""
    p.add_argument(
        "--model",
        "-m",
        metavar="NAME",
        help="registered model (e.g. core.gamma); optional with --weights",
    )
    p.add_argument(
        "--weights",
        "-w",
        metavar="FILE",
        help="checkpoint (.safetensors written by lle train, or a run folder); it "
        "records the model it was trained with",
    )
    p.add_argument(
        "--config",
        "-c",
        metavar="FILE",
        help="YAML/JSON model spec, or a run config whose 'model' key is used",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="model parameter (with --weights: an inference option of the recorded model, "
        "e.g. --set mode=field_to_command for NEID or --set post_blend=true for FRLIE)",
    )


def add_runtime_arguments(p: argparse.ArgumentParser) -> None:
    """``--tile``, ``--overlap``, ``--max-memory-mb``, ``--device``, ``--dtype``."""
    p.add_argument(
        "--tile",
        default="auto",
        metavar="auto|N|off",
        help="tiled inference: auto (when over the memory budget), a tile side in "
        "pixels, or off (default: auto)",
    )
    p.add_argument(
        "--overlap",
        type=int,
        metavar="N",
        help="pixels shared by neighbouring tiles (default: from the model)",
    )
    p.add_argument(
        "--max-memory-mb",
        type=float,
        metavar="MB",
        help="memory budget of one forward pass (default 1024 or LLE_MAX_MEMORY_MB)",
    )
    p.add_argument("--device", metavar="DEV", help="cpu, cuda, cuda:1 (default: cpu)")
    p.add_argument(
        "--dtype",
        choices=("float32", "bfloat16", "float16"),
        help="autocast dtype (only if the model supports it)",
    )


def add_parser(sub: Any) -> None:
    """Add the ``enhance`` subcommand."""
    p = sub.add_parser(
        "enhance",
        help="enhance images (files, folders, globs) with a model",
        description=(
            "Enhance images. One input and '-o out.png' writes that file; otherwise -o is a "
            "folder. Example: lle enhance photos/ -o out/ --weights run/best.safetensors"
        ),
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders or globs")
    p.add_argument("--out", "-o", required=True, metavar="OUT", help="output file or folder")
    add_model_arguments(p)
    add_runtime_arguments(p)
    p.add_argument(
        "--ext", default=None, metavar="EXT", help="output format for folder outputs (default: png)"
    )
    p.set_defaults(func=run_enhance)


def parse_tile(value: str | None) -> int | Literal["auto", "off"]:
    """``auto`` / ``off`` / a positive integer."""
    if value is None:
        return "auto"
    v = value.strip().lower()
    if v == "auto":
        return "auto"
    if v == "off":
        return "off"
    try:
        n = int(v)
    except ValueError:
        raise ConfigError([("--tile", f"expected auto, off or a number, got {value!r}")]) from None
    if n <= 0:
        return "off"
    return n


def model_from_args(args: argparse.Namespace) -> Any:
    """Build the model named by ``--model`` / ``--config`` / ``--weights``.

    Raises:
        ConfigError: Nothing names a model.
        WeightsError: The model needs weights and none were given.
    """
    from lle_core.engine.config import _parse_overrides
    from lle_core.inference import load_weights_file, resolve_model
    from lle_core.spec import load_config_file

    sets = dict(_parse_overrides(getattr(args, "set", None) or []))
    spec: Any = args.model
    if args.config:
        data = load_config_file(args.config)
        config_spec = data.get("model", data)
        if spec is None:
            spec = config_spec
        elif isinstance(config_spec, dict):
            spec = {**config_spec, "type": spec}
    if spec is not None and sets:
        spec = {**({"type": spec} if isinstance(spec, str) else dict(spec)), **sets}
    if spec is None:
        if args.weights:
            if sets:
                from lle_core.engine.checkpoint import load_model

                return load_model(args.weights, overrides=sets)
            return load_weights_file(args.weights)
        raise ConfigError(
            [
                (
                    "--model",
                    "say which model to run: --weights run/best.safetensors (a trained "
                    "checkpoint, e.g. from `lle demo` or `lle train`) or --model NAME (a "
                    "parameter-free baseline such as core.gamma runs without weights; see "
                    "`lle list model`)",
                )
            ]
        )
    return resolve_model(spec, args.weights)


def expand_inputs(inputs: list[str]) -> list[Path]:
    """Image files named by files, folders (their images) and glob patterns, in order.

    Raises:
        ImageReadError: An input matches nothing.
    """
    from lle_core.io import is_image_file, list_images

    found: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            matches = list_images(p)
        elif p.is_file():
            matches = [p]
        elif any(c in item for c in "*?["):
            matches = [Path(m) for m in sorted(glob.glob(item, recursive=True))]
            matches = [m for m in matches if m.is_file() and is_image_file(m)]
        else:
            raise ImageReadError(f"input not found: {item}")
        if not matches:
            raise ImageReadError(f"no images in {item}")
        found.extend(m for m in matches if m not in found)
    return found


def output_paths(inputs: list[Path], out: Path, ext: str | None) -> list[Path]:
    """Where each result goes.

    ``out`` itself for one input and a file-like ``out``, else ``out/<stem>.<ext>``
    (``<parent>_<stem>`` when two inputs share a stem).
    """
    from lle_core.io import is_image_file

    if len(inputs) == 1 and is_image_file(out) and not out.is_dir():
        return [out]
    if is_image_file(out) and not out.is_dir():
        raise ConfigError([("--out", f"{len(inputs)} inputs need an output folder, not {out}")])
    suffix = "." + (ext or "png").lstrip(".")
    stems = [p.stem for p in inputs]
    paths = []
    for p in inputs:
        name = p.stem if stems.count(p.stem) == 1 else f"{p.parent.name}_{p.stem}"
        paths.append(out / f"{name}{suffix}")
    return paths


def run_enhance(args: argparse.Namespace) -> int:
    """Enhance every input with a progress bar; print where the results are."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from lle_core.inference import enhance
    from lle_core.io import write_image

    console = Console(stderr=True)
    inputs = expand_inputs(args.inputs)
    targets = output_paths(inputs, Path(args.out), args.ext)
    model = model_from_args(args)
    name = getattr(getattr(model, "lle_spec", None), "name", type(model).__name__)
    tile = parse_tile(args.tile)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(f"enhancing with {name}", total=len(inputs))
        tiles = bar.add_task("tiles", total=1, visible=False)

        def on_tile(done: int, total: int) -> None:
            if total > 1:  # only large images are tiled: show their tile progress
                bar.update(tiles, completed=done, total=total, visible=done < total)

        for src, dst in zip(inputs, targets, strict=True):
            bar.update(task, description=f"{name}: {src.name}")
            out = enhance(
                model,
                src,
                device=args.device,
                tile=tile,
                overlap=args.overlap,
                max_memory_mb=args.max_memory_mb,
                dtype=args.dtype,
                progress=on_tile,
            )
            dst.parent.mkdir(parents=True, exist_ok=True)
            write_image(dst, out[0])
            bar.advance(task)
    where = targets[0] if len(targets) == 1 else Path(args.out)
    console.print(f"wrote {len(targets)} image(s) to {where}")
    return 0
