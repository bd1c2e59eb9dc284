"""``lle enhance``: run a model on image files, folders and globs."""

from __future__ import annotations

import argparse
import glob
import os
import sys
from pathlib import Path
from typing import Any, Literal

from lle_core.errors import ConfigError, ImageReadError, LLEError, OutputError, WeightsError


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
        choices=("torch", "onnxruntime"),
        default="torch",
        help="torch (default) or onnxruntime: run the ONNX file given by --onnx (written by "
        "lle export) with the same padding and tiling",
    )
    p.add_argument("--onnx", metavar="FILE", help="ONNX file for --backend onnxruntime")
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
    from lle_core.inference.api import check_dtype, resolve_device
    from lle_core.inference.padding import model_capabilities

    if args.overlap is not None and args.overlap < 0:
        raise ConfigError([("--overlap", f"must be >= 0 pixels, got {args.overlap}")])
    resolve_device(model, args.device)
    name = getattr(getattr(model, "lle_spec", None), "name", type(model).__name__)
    check_dtype(args.dtype, model_capabilities(model), name)


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
    from lle_core.checkpoint import load_model
    from lle_core.engine.config import _parse_overrides
    from lle_core.inference import model_for_inference
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
    from lle_core.weights import find_weight_set

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
    """The default shipped weight set (see :func:`lle_core.weights.default_weight_set`)."""
    from lle_core.weights import default_weight_set

    set_name, ws = default_weight_set()
    print(f"using the default shipped weights {set_name}: {ws.summary()} "
          "(choose another with --model, see `lle weights`)", file=sys.stderr)
    return ws.load(sets)


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


def _output_format(suffix: str, where: str) -> str:
    """Lower-case suffix (with dot) of a format lle writes, else a ConfigError for ``where``."""
    from lle_core.io import WRITE_EXTENSIONS

    ext = "." + suffix.lower().lstrip(".")
    if ext not in WRITE_EXTENSIONS:
        raise ConfigError(
            [(where, f"lle cannot write {ext} images; use one of "
              + ", ".join(e.lstrip(".") for e in sorted(WRITE_EXTENSIONS)))]
        )
    return ext


def _names_a_file(out: Path) -> bool:
    """Whether ``-o`` names an image file (an image suffix, any format pillow knows)."""
    from PIL import Image

    from lle_core.io import WRITE_EXTENSIONS

    if out.is_dir():
        return False
    suffix = out.suffix.lower()
    return suffix in WRITE_EXTENSIONS or suffix in Image.registered_extensions()


def output_paths(inputs: list[Path], out: Path, ext: str | None) -> list[Path]:
    """Where each result goes, one distinct file per input.

    ``out`` itself for one input and an ``out`` with an image suffix, else
    ``out/<stem>.<ext>``; inputs sharing a stem get ``<parent>_<stem>``, and any name still
    taken (case-insensitively) gets ``_2``, ``_3``...

    Raises:
        ConfigError: ``--out``/``--ext`` name a format lle cannot write (``x.gif``), or
            several inputs go to one file.
    """
    if ext is not None:
        ext = _output_format(ext, "--ext")
    if _names_a_file(out):
        _output_format(out.suffix, "--out")
        if len(inputs) != 1:
            raise ConfigError([("--out", f"{len(inputs)} inputs need an output folder, not {out}")])
        return [out]
    suffix = ext or ".png"
    stems = [p.stem.lower() for p in inputs]
    taken: set[str] = set()
    paths = []
    for p in inputs:
        base = p.stem if stems.count(p.stem.lower()) == 1 else f"{p.parent.name}_{p.stem}"
        name, n = base, 1
        while f"{name}{suffix}".lower() in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(f"{name}{suffix}".lower())
        paths.append(out / f"{name}{suffix}")
    return paths


def _same_file_key(path: Path) -> str:
    return os.path.normcase(os.path.realpath(path))


def check_overwrites(inputs: list[Path], targets: list[Path], *, overwrite: bool) -> None:
    """Refuse outputs that would replace an input.

    An output may replace its *own* input only with ``overwrite`` (the input is read before
    the output is written); it never replaces another input (that one would be read after
    being overwritten).

    Raises:
        ConfigError: Names each output that is an input (the first ten).
    """
    owner = {_same_file_key(src): i for i, src in enumerate(inputs)}
    problems = []
    for i, dst in enumerate(targets):
        j = owner.get(_same_file_key(dst))
        if j is None or (j == i and overwrite):
            continue
        why = (
            "is that input; pass --overwrite to enhance in place" if j == i
            else f"is another input ({inputs[j]}), which would be read after being replaced"
        )
        problems.append(("--out", f"{dst} (the result of {inputs[i]}) {why}"))
    if problems:
        extra = len(problems) - 10
        problems = problems[:10] + ([("--out", f"... and {extra} more")] if extra > 0 else [])
        raise ConfigError(problems)


def _prepare_folder(folder: Path) -> None:
    """Create the output folder now, so that a bad ``-o`` fails before any work."""
    blocker = next((a for a in (folder, *folder.parents) if a.exists() and not a.is_dir()), None)
    if blocker is not None:
        raise OutputError(f"cannot create the output folder {folder}: {blocker} is a file")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        reason = err.strerror or str(err)
        raise OutputError(f"cannot create the output folder {folder}: {reason}") from None


def backend_model(args: argparse.Namespace) -> Any:
    """The model for ``--backend``: the torch model, or an ONNX Runtime session (``--onnx``).

    Raises:
        ConfigError: ``--backend onnxruntime`` without ``--onnx`` (or with model options).
    """
    if getattr(args, "backend", "torch") != "onnxruntime":
        return model_from_args(args)
    if not args.onnx:
        raise ConfigError([("--onnx", "--backend onnxruntime needs --onnx FILE (lle export)")])
    if args.model or args.weights or args.config:
        raise ConfigError([(
            "--backend", "with onnxruntime the model is the --onnx file; drop --model/--weights"
        )])
    from lle_core.export import OnnxEnhancer

    return OnnxEnhancer(args.onnx)


def _rate_column() -> Any:
    """A rich progress column showing images per second."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:.2f} img/s" if speed else "- img/s", style="progress.data.speed")

    return RateColumn()


#: Images decoded ahead of the one being enhanced (memory: one decoded image each).
READ_AHEAD = 1
#: Results being encoded and written in the background while the next image is enhanced.
WRITE_BEHIND = 1


def run_enhance(args: argparse.Namespace) -> int:
    """Enhance every input with a progress bar; print where the results are and a summary.

    Decoding and encoding overlap with compute: a small thread pool reads the next
    :data:`READ_AHEAD` images while one is enhanced, and a single writer thread encodes and
    writes results atomically (:func:`lle_core.io.write_image`) in the background. Inputs that
    cannot be read or enhanced are skipped and listed at the end (exit code 1); a write
    failure (full disk, permissions) stops the run (no later result is written). Returns the
    exit code.
    """
    import threading
    import time
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from lle_core.cli.main import error_message
    from lle_core.inference import as_batch, enhance
    from lle_core.inference.memory import return_freed_memory
    from lle_core.io import write_image

    return_freed_memory()  # lower peak RSS of tiled runs (see its docstring)
    console = Console(stderr=True)
    inputs = expand_inputs(args.inputs)
    out_arg = Path(args.out)
    targets = output_paths(inputs, out_arg, args.ext)
    check_overwrites(inputs, targets, overwrite=args.overwrite)
    model = backend_model(args)
    name = getattr(model, "name", None) or getattr(
        getattr(model, "lle_spec", None), "name", type(model).__name__
    )
    tile = parse_tile(args.tile)
    check_runtime_arguments(model, args)
    for folder in dict.fromkeys(t.parent for t in targets):
        _prepare_folder(folder)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _rate_column(),
        TimeRemainingColumn(),
    )
    failed: list[tuple[Path, str]] = []
    written = 0
    stop = threading.Event()  # set by the first failed write: later writes do nothing

    def write(dst: Path, image: Any) -> bool:
        if stop.is_set():
            return False
        try:
            write_image(dst, image)
        except OSError:
            stop.set()
            raise
        return True

    def collect(pending: deque[tuple[Path, Future[bool]]], keep: int) -> None:
        """Wait until at most ``keep`` writes are pending; a failed write stops the run."""
        nonlocal written
        while len(pending) > keep:
            dst, fut = pending.popleft()
            try:
                ok = fut.result()
            except OSError as err:
                raise OutputError(
                    f"cannot write {dst}: {err.strerror or err} ({written} image(s) written "
                    "before; no partial file is left)"
                ) from None
            written += int(ok)

    def skip(src: Path, err: BaseException) -> None:
        if getattr(args, "traceback", False):
            console.print_exception()
        detail = error_message(err)
        if not isinstance(err, LLEError | OSError | MemoryError):
            detail = f"{type(err).__name__}: {detail}"
        failed.append((src, detail))

    plain = True if getattr(args, "plain", False) else None
    start = time.perf_counter()
    readers = ThreadPoolExecutor(max_workers=READ_AHEAD, thread_name_prefix="lle-read")
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lle-write")
    reads: deque[Future[Any]] = deque()
    writes: deque[tuple[Path, Future[bool]]] = deque()
    try:
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task(f"enhancing with {name}", total=len(inputs))
            tiles = bar.add_task("tiles", total=1, visible=False)

            def on_tile(done: int, total: int) -> None:
                if total > 1:  # only large images are tiled: show their tile progress
                    bar.update(tiles, completed=done, total=total, visible=done < total)

            queue = iter(inputs)
            for first in inputs[:READ_AHEAD]:
                reads.append(readers.submit(as_batch, first))
                next(queue)
            for src, dst in zip(inputs, targets, strict=True):
                bar.update(task, description=f"{name}: {src.name}")
                future = reads.popleft()
                nxt = next(queue, None)
                if nxt is not None:
                    reads.append(readers.submit(as_batch, nxt))
                try:
                    batch, _ = future.result()
                    out = enhance(
                        model,
                        batch,
                        device=args.device,
                        tile=tile,
                        overlap=args.overlap,
                        max_memory_mb=args.max_memory_mb,
                        dtype=args.dtype,
                        progress=on_tile,
                        plain=plain,
                    )
                    del batch
                except (ConfigError, WeightsError):
                    raise  # the same for every file: stop at once
                except Exception as err:  # this file only: skip it, report it at the end
                    skip(src, err)
                    bar.advance(task)
                    continue
                writes.append((dst, writer.submit(write, dst, out[0])))
                del out
                collect(writes, WRITE_BEHIND)
                bar.advance(task)
            collect(writes, 0)
    finally:
        for f in [*reads, *(f for _, f in writes)]:
            f.cancel()
        if writes:  # stopped early (write failure, Ctrl-C): later results are not written
            stop.set()
        readers.shutdown(wait=True, cancel_futures=True)
        writer.shutdown(wait=True, cancel_futures=True)
    seconds = time.perf_counter() - start
    where = targets[0] if len(targets) == 1 else out_arg
    console.print(f"wrote {written} image(s) to {where}", soft_wrap=True)
    rate = len(inputs) / seconds if seconds > 0 else 0.0
    console.print(
        f"{len(inputs)} image(s), {len(failed)} failed, {seconds:.1f} s, {rate:.3g} images/s",
        soft_wrap=True,
    )
    if failed:  # one line per file (soft_wrap: never broken inside a path)
        console.print(f"[red]{len(failed)} of {len(inputs)} input(s) failed:[/]")
        for src, detail in failed:
            line = detail if str(src) in detail else f"{src}: {detail}"  # name it once
            console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
        return 1
    return 0
