"""``lle enhance``: run a model on image files, folders and globs."""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lle_core.errors import ConfigError, LLEError
from lle_core.options import check_environment, exposure_option, memory_mb_option, tile_option

if TYPE_CHECKING:
    from lle_core.inference import EnhanceReport, FileProgress, Shard


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """``--model``, ``--weights``, ``--config`` (shared by ``enhance`` and ``eval``)."""
    p.add_argument(
        "--model",
        "-m",
        metavar="NAME",
        help="model to run: a plugin id or model name with shipped weights (neid, "
        "neid.model, neid.lol; see `lle weights`), or a parameter-free model (core.gamma). "
        "Default: the best shipped weight set fast enough for large photos",
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
        "--ext",
        default=None,
        metavar="EXT",
        help="output format for folder outputs: png, jpg, bmp, tif, webp, ppm (default: png)",
    )
    p.add_argument(
        "--backend",
        default="torch",
        metavar="NAME",
        help="torch (default: the PyTorch model), or an installed inference backend that runs "
        "the --backend-file with the same padding and tiling: onnxruntime (an .onnx file "
        "written by lle export) or one a plugin adds",
    )
    p.add_argument(
        "--backend-file",
        "--onnx",
        dest="backend_file",
        metavar="FILE",
        help="the model file a --backend other than torch runs (--onnx: the same)",
    )
    p.add_argument(
        "--exposure",
        metavar="EV",
        help="make the result EV stops brighter (e.g. 1) or darker (-0.5) than the model's own "
        "(through the model where it can, DLN's brightness gamma; otherwise a tone step that "
        "keeps colours and rolls off highlights); default: as the model learned",
    )
    p.add_argument(
        "--plain",
        action="store_true",
        help="run the plain eager float32 model, without the fast path its capabilities "
        "declare (folded layers, channels_last, bfloat16, compile); also LLE_PLAIN=1",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="allow an output to replace its own input (enhance in place); without it an "
        "output that is an input is refused. Outputs never replace another input, and "
        "existing non-input files are replaced atomically",
    )
    p.set_defaults(func=run_enhance)


def check_runtime_arguments(model: Any, args: argparse.Namespace) -> None:
    """Check ``--device``, ``--dtype`` and ``--overlap`` before any image is processed.

    Raises:
        ConfigError: The option is unusable (the message names it).
    """
    from lle_core.inference import check_options

    with cli_option_names():
        check_options(model, device=args.device, dtype=args.dtype, overlap=args.overlap)


def model_from_args(args: argparse.Namespace) -> Any:
    """Build the model named by ``--model`` / ``--config`` / ``--weights``.

    Raises:
        ConfigError: Nothing names a model.
        WeightsError: The model needs weights and none were given.
    """
    from lle_core.checkpoint import load_model
    from lle_core.engine.config import parse_overrides
    from lle_core.inference import model_for_inference
    from lle_core.spec import load_config_file

    sets = dict(parse_overrides(getattr(args, "set", None) or []))
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
            return load_model(args.weights, overrides=sets or None)
        return _default_pretrained(sets)
    if isinstance(args.model, str) and not args.weights and not args.config:
        pretrained = _named_pretrained(args.model, sets)
        if pretrained is not None:
            return pretrained
    return model_for_inference(spec, args.weights)


def _named_pretrained(name: str, sets: dict[str, Any]) -> Any:
    """The shipped weights that ``--model NAME`` means, or ``None`` (NAME is another model).

    A plugin id (``neid``), a model name (``neid.model``) or a weight-set name (``neid.lol``)
    with a shipped set loads it; a model without shipped weights (a baseline) returns ``None``.
    """
    from lle_core.errors import ComponentNotFoundError, WeightsError
    from lle_core.registry import registries
    from lle_core.weight_sets import find_weight_set

    try:
        set_name, ws = find_weight_set(name)
    except WeightsError:
        return None
    try:  # a model that runs without weights (baselines) is never replaced by a weight set
        entry = registries()["model"].get(name)
        if not entry.capabilities.needs_weights:
            return None
    except ComponentNotFoundError:
        pass
    print(f"using shipped weights {set_name}: {ws.summary()}", file=sys.stderr)
    return ws.load(sets)


def _default_pretrained(sets: dict[str, Any]) -> Any:
    """The default shipped weight set (see :func:`lle_core.weight_sets.default_weight_set`)."""
    from lle_core.weight_sets import default_weight_set

    set_name, ws = default_weight_set()
    print(f"using the default shipped weights {set_name}: {ws.summary()} "
          "(choose another with --model, see `lle weights`)", file=sys.stderr)
    return ws.load(sets)


def backend_model(args: argparse.Namespace) -> Any:
    """The model for ``--backend``: the torch model, or the ``--backend-file`` it loads.

    Raises:
        ConfigError: An unknown backend, a backend without ``--backend-file``, or one given
            model options (``--model``/``--weights``/``--config``).
    """
    from lle_core.inference.backends import TORCH, load_backend

    backend = getattr(args, "backend", TORCH) or TORCH
    if backend == TORCH:
        return model_from_args(args)
    if not args.backend_file:
        raise ConfigError([(
            "--backend-file", f"--backend {backend} needs the model file it runs "
            "(--backend-file FILE; for onnxruntime a file written by lle export)"
        )])
    if args.model or args.weights or args.config:
        raise ConfigError([(
            "--backend", f"with {backend} the model is the --backend-file; drop "
            "--model/--weights/--config"
        )])
    with cli_option_names():
        return load_backend(backend, args.backend_file)


#: ``lle enhance`` option of each library keyword named in a :class:`ConfigError`.
CLI_OPTION_NAMES = {
    "out": "--out", "outputs": "--out", "ext": "--ext", "overlap": "--overlap",
    "device": "--device", "dtype": "--dtype", "tile": "--tile", "max_memory_mb": "--max-memory-mb",
    "backend": "--backend", "onnx": "--backend-file", "exposure": "--exposure",
}


@contextlib.contextmanager
def cli_option_names() -> Iterator[None]:
    """Re-raise a library :class:`ConfigError` with its keys renamed to ``lle`` options."""
    try:
        yield
    except ConfigError as err:
        problems = [(CLI_OPTION_NAMES.get(key, key), msg) for key, msg in err.problems]
        raise ConfigError(problems, err.source) from None


class _ProgressBar:
    """The rich progress bar of ``lle enhance``: files, the rate, and a large image's tiles."""

    def __init__(self, console: Any, name: str, total: int, *, disable: bool = False) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        self.name = name
        self.bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TaskProgressColumn(show_speed=True), TimeRemainingColumn(), console=console,
            transient=False, disable=disable,
        )
        self.files = self.bar.add_task(f"enhancing with {name}", total=total)
        self.tiles = self.bar.add_task("tiles", total=1, visible=False)

    def __enter__(self) -> _ProgressBar:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)

    def update(self, p: FileProgress) -> None:
        """Show one :class:`~lle_core.inference.FileProgress` report."""
        if p.current is not None:
            self.bar.update(self.files, description=f"{self.name}: {p.current.name}")
        self.bar.update(self.files, completed=p.done)
        if p.tiles_total > 1:  # only large images are tiled: show their tile progress
            self.bar.update(
                self.tiles, completed=p.tiles_done, total=p.tiles_total,
                visible=p.tiles_done < p.tiles_total,
            )


def run_enhance(args: argparse.Namespace) -> int:
    """Enhance every input (:func:`lle_core.inference.enhance_files`) with a progress bar.

    Prints where the results are and a summary; inputs that could not be read or enhanced
    are listed at the end (exit code 1). Returns the exit code.
    """
    from rich.console import Console

    from lle_core.inference import enhance_files, paths
    from lle_core.inference.memory import return_freed_memory

    return_freed_memory()  # lower peak RSS of tiled runs (see its docstring)
    console = Console(stderr=True)
    with cli_option_names():
        tile = tile_option(args.tile)
        memory_mb_option(args.max_memory_mb)  # NaN, 0, negative or a bad LLE_MAX_MEMORY_MB
        exposure_option(getattr(args, "exposure", None))
        check_environment()
        inputs = paths.expand_inputs(args.inputs)
        targets = paths.output_paths(inputs, Path(args.out), args.ext)
        paths.check_overwrites(inputs, targets, overwrite=args.overwrite)
        paths.check_output_folder(inputs, targets, Path(args.out), overwrite=args.overwrite)
        model = backend_model(args)
        name = str(getattr(model, "name", None) or getattr(
            getattr(model, "lle_spec", None), "name", type(model).__name__
        ))
        from lle_core.cli.enhance_ranks import rank_device
        from lle_core.inference.shard import current_shard

        shard = current_shard()  # under torchrun: this process' part of the inputs
        where = targets[0] if len(targets) == 1 else Path(args.out)
        traceback = getattr(args, "traceback", False)
        with _ProgressBar(console, name, len(shard.take(inputs)),
                          disable=not shard.is_main) as bar:
            run = functools.partial(
                enhance_files, inputs, targets, model=model, overwrite=args.overwrite,
                device=rank_device(args.device, shard), tile=tile, overlap=args.overlap,
                max_memory_mb=args.max_memory_mb, dtype=args.dtype,
                plain=True if getattr(args, "plain", False) else None, on_progress=bar.update,
                shard=shard, exposure=getattr(args, "exposure", None),
            )
            if shard.world_size == 1:
                report = run()
            else:
                merged, ok = _run_on_ranks(run, shard)
    if shard.world_size == 1:
        return _print_summary(console, report, where, traceback=traceback)
    if merged is None:  # not rank 0: rank 0 reports for every process
        return 0 if ok else 1
    total, counts = merged
    console.print(f"{shard.world_size} processes: " + ", ".join(
        f"rank {r} wrote {n}" for r, n in enumerate(counts)), soft_wrap=True)
    return _print_summary(console, total, where, traceback=False)


def _run_on_ranks(
    run: Callable[[], EnhanceReport], shard: Shard
) -> tuple[tuple[EnhanceReport, list[int]] | None, bool]:
    """One process of a ``torchrun`` launch: its shard, then every report gathered.

    Returns:
        The merged report and the images each rank wrote (rank 0; ``None`` elsewhere), and
        whether this process' own part succeeded.
    """
    from lle_core.cli.enhance_ranks import gather_reports, join_ranks, leave_ranks

    created = join_ranks(shard)
    try:
        report: EnhanceReport | None = None
        error: BaseException | None = None
        try:
            report = run()
        except Exception as err:  # reported by rank 0 once every process has finished
            error = err
        merged = gather_reports(report, error, shard)
    finally:
        leave_ranks(created)
    return merged, error is None and report is not None and not report.failed


def _print_summary(console: Any, report: EnhanceReport, where: Path, *, traceback: bool) -> int:
    """Print what was written and each failed input (one line each); return the exit code."""
    from lle_core.cli.main import error_message

    n, failed = len(report.inputs), report.failed
    console.print(f"wrote {len(report.written)} image(s) to {where}", soft_wrap=True)
    console.print(
        f"{n} image(s), {len(failed)} failed, {report.seconds:.1f} s, "
        f"{report.images_per_second:.3g} images/s",
        soft_wrap=True,
    )
    if not failed:
        return 0
    console.print(f"[red]{len(failed)} of {n} input(s) failed:[/]")
    for src, err in failed:  # one line per file (soft_wrap: never broken inside a path)
        if traceback:
            from rich.traceback import Traceback

            console.print(Traceback.from_exception(type(err), err, err.__traceback__))
        detail = error_message(err)
        if not isinstance(err, LLEError | OSError | MemoryError):
            detail = f"{type(err).__name__}: {detail}"
        line = detail if str(src) in detail else f"{src}: {detail}"  # name it once
        console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    return 1
