"""``enhance_files``: many image files through one model, decoding and encoding beside compute.

A small thread pool decodes the next :data:`READ_AHEAD` images while one is enhanced, and one
writer thread encodes and writes results atomically (:func:`lle_core.io.write_image`) in the
background, at most :data:`WRITE_BEHIND` behind. Memory: one decoded image per read-ahead
slot and one result per write-behind slot, beside the image being enhanced.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

import lle_core.io as image_io
from lle_core.errors import ConfigError, OutputError, WeightsError
from lle_core.inference import loading
from lle_core.inference.api import TileArg, check_options, enhance
from lle_core.inference.loading import ModelLike, model_for_inference
from lle_core.inference.paths import (
    check_output_folder,
    check_overwrites,
    expand_inputs,
    output_paths,
    prepare_output_folders,
)
from lle_core.inference.shard import Shard, current_shard
from lle_core.options import (
    check_environment,
    exposure_option,
    memory_mb_option,
    tile_option,
)

#: Images decoded ahead of the one being enhanced (memory: one decoded image each).
READ_AHEAD = 1
#: Results being encoded and written in the background while the next image is enhanced.
WRITE_BEHIND = 1

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class FileProgress:
    """Where :func:`enhance_files` is: sent before and after each file and after each tile.

    Attributes:
        done: Inputs finished (enhanced and handed to the writer, or failed), ``0..total``.
        total: Inputs in the run.
        current: The input being enhanced, ``None`` once all are done.
        tiles_done: Tiles of ``current`` finished (``0`` before its first).
        tiles_total: Tiles of ``current`` (``0`` until known, ``1`` when it is not tiled).
    """

    done: int
    total: int
    current: Path | None
    tiles_done: int = 0
    tiles_total: int = 0


@dataclass
class EnhanceReport:
    """What :func:`enhance_files` did.

    Attributes:
        inputs: The image files read, in order.
        outputs: The output file of each input (same order).
        written: The outputs written.
        failed: ``(input, error)`` of each input skipped because it could not be read or
            enhanced (its output is not written).
        seconds: Wall time of the run (decoding, compute and writing).
        shard: The part of the run this process did (``inputs`` and ``outputs`` are that
            part; ``Shard()`` when one process does everything).
    """

    inputs: list[Path]
    outputs: list[Path]
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, BaseException]] = field(default_factory=list)
    seconds: float = 0.0
    shard: Shard = field(default_factory=Shard)

    @property
    def images_per_second(self) -> float:
        """Inputs per second of wall time (``0`` for an empty or instant run)."""
        return len(self.inputs) / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class _Options:
    """The per-image options of :func:`enhance` shared by every file of a run."""

    device: torch.device | str | None
    tile: TileArg
    overlap: int | None
    max_memory_mb: float | None
    dtype: torch.dtype | str | None
    plain: bool | None
    exposure: float | None = None


def enhance_files(
    inputs: Sequence[PathLike],
    outputs: PathLike | Sequence[PathLike],
    *,
    model: ModelLike,
    weights: PathLike | None = None,
    ext: str | None = None,
    overwrite: bool = False,
    device: torch.device | str | None = None,
    tile: TileArg = "auto",
    overlap: int | None = None,
    max_memory_mb: float | None = None,
    dtype: torch.dtype | str | None = None,
    plain: bool | None = None,
    on_progress: Callable[[FileProgress], None] | None = None,
    shard: Shard | None = None,
    exposure: float | None = None,
) -> EnhanceReport:
    """Enhance image files with one model and write each result atomically.

    Every check that needs no image runs before the first one is read (inputs exist, outputs
    are writable formats replacing no input, options suit the model, output folders can be
    created); then images are read ahead and written behind (module docstring). An input
    that cannot be read or enhanced is skipped and listed in :attr:`EnhanceReport.failed`;
    an option error (:class:`ConfigError`, :class:`WeightsError`) or a write failure stops
    the run, and nothing is written after it (no partial file is ever left).

    Args:
        inputs: Image files, folders (their images) and glob patterns.
        outputs: One path per input, or one path: an image file (one input only) or a folder
            that receives ``<stem>.<ext>`` per input (see
            :func:`~lle_core.inference.paths.output_paths`).
        model: The model, as for :func:`~lle_core.inference.enhance` (built once here).
        weights: Checkpoint for ``model``, as for :func:`~lle_core.inference.enhance`.
        ext: Output format for a folder ``outputs`` (default ``png``).
        overwrite: Let an output replace its own input (never another input).
        device: As for :func:`~lle_core.inference.enhance` (and the next five).
        tile: The tile side or mode.
        overlap: Pixels shared by neighbouring tiles.
        max_memory_mb: Budget of one forward pass.
        dtype: Autocast dtype.
        plain: Run the plain eager model.
        on_progress: Called with a :class:`FileProgress` before and after each file and
            after each of its tiles (from the calling thread).
        shard: The part of the inputs this process enhances; default
            :func:`~lle_core.inference.shard.current_shard` (under ``torchrun``: every
            ``WORLD_SIZE``-th input from ``RANK``, see :mod:`lle_core.inference.shard`;
            otherwise all). Names and checks are those of the whole run on every process.
        exposure: Stops brighter or darker than the model's result (as for ``enhance``).

    Raises:
        ImageReadError: An input names nothing.
        ConfigError: An unusable option or output (the message names it).
        OutputError: An output folder cannot be created, or a result cannot be written.

    Returns:
        The :class:`EnhanceReport`; ``failed`` is empty when every input was written.

    Example:
        >>> from lle_core.inference import enhance_files
        >>> report = enhance_files(["photos/"], "out/", model="core.gamma")  # doctest: +SKIP
        >>> len(report.written), report.failed  # doctest: +SKIP
        (12, [])
    """
    options = _Options(device, tile_option(tile), overlap, memory_mb_option(max_memory_mb),
                       dtype, plain, exposure_option(exposure))  # before any work
    check_environment()  # LLE_MAX_IMAGE_PIXELS: one error now, not one per file
    sources = expand_inputs(inputs)
    targets = _targets(sources, outputs, ext, overwrite=overwrite)
    part = shard if shard is not None else current_shard()
    sources, targets = part.take(sources), part.take(targets)
    net = model_for_inference(model, None if weights is None else Path(weights))
    check_options(net, device=device, dtype=dtype, overlap=overlap)
    prepare_output_folders(targets)
    report, start = EnhanceReport(inputs=sources, outputs=targets, shard=part), time.perf_counter()
    try:
        _FilePipeline(net, options, report, on_progress).run()
    finally:
        report.seconds = time.perf_counter() - start
    return report


def _targets(
    sources: list[Path], outputs: PathLike | Sequence[PathLike], ext: str | None, *,
    overwrite: bool,
) -> list[Path]:
    """The output file of each source (see :func:`enhance_files`), checked against the inputs.

    Raises:
        ConfigError: A list of outputs whose length is not the number of inputs, an output
            folder holding inputs, or an output that would replace an input.
    """
    if isinstance(outputs, str | os.PathLike):
        targets = output_paths(sources, Path(outputs), ext)
        check_output_folder(sources, targets, Path(outputs), overwrite=overwrite)
    else:
        targets = [Path(p) for p in outputs]
        if len(targets) != len(sources):
            raise ConfigError([(
                "outputs", f"{len(targets)} output(s) for {len(sources)} input image(s)"
            )])
    check_overwrites(sources, targets, overwrite=overwrite)
    return targets


class _FilePipeline:
    """The read-ahead / enhance / write-behind loop of one :func:`enhance_files` call."""

    def __init__(
        self,
        net: nn.Module,
        options: _Options,
        report: EnhanceReport,
        on_progress: Callable[[FileProgress], None] | None,
    ) -> None:
        self.net, self.options, self.report = net, options, report
        self.notify = on_progress or (lambda _: None)
        self.stop = threading.Event()  # set by the first failed write: later writes do nothing
        self.reads: deque[Future[tuple[Tensor, bool]]] = deque()
        self.writes: deque[tuple[Path, Future[bool]]] = deque()

    def run(self) -> None:
        """Enhance every input in order; returns when the last result is written."""
        readers = ThreadPoolExecutor(max_workers=READ_AHEAD, thread_name_prefix="lle-read")
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lle-write")
        try:
            self._loop(readers, writer)
        finally:
            pending: list[Future[Any]] = [*self.reads, *(f for _, f in self.writes)]
            for f in pending:
                f.cancel()
            if self.writes:  # stopped early (write failure, Ctrl-C): later results are not written
                self.stop.set()
            readers.shutdown(wait=True, cancel_futures=True)
            writer.shutdown(wait=True, cancel_futures=True)

    def _loop(self, readers: ThreadPoolExecutor, writer: ThreadPoolExecutor) -> None:
        report, total = self.report, len(self.report.inputs)
        queue: Iterator[Path] = iter(report.inputs)
        for first in report.inputs[:READ_AHEAD]:
            self.reads.append(readers.submit(loading.as_batch, first))
            next(queue)
        for i, (src, dst) in enumerate(zip(report.inputs, report.outputs, strict=True)):
            self.notify(FileProgress(i, total, src))
            pending = [self.reads.popleft()]  # handed over: enhance() holds the only reference
            nxt = next(queue, None)
            if nxt is not None:
                self.reads.append(readers.submit(loading.as_batch, nxt))
            out = self._enhance_one(i, src, pending)
            if out is not None:
                self.writes.append((dst, writer.submit(self._write, dst, out)))
                del out
                self._collect(WRITE_BEHIND)
            self.notify(FileProgress(i + 1, total, None if i + 1 == total else src))
        self._collect(0)

    def _enhance_one(
        self, index: int, src: Path, pending: list[Future[tuple[Tensor, bool]]]
    ) -> Tensor | None:
        """The result for ``src`` (``(3, sH, sW)``), or ``None`` when it failed (recorded).

        ``pending`` holds the read of ``src`` and is emptied (see the comment below).
        """
        total = len(self.report.inputs)

        def on_tile(done: int, tiles: int) -> None:
            self.notify(FileProgress(index, total, src, done, tiles))

        o = self.options
        try:
            # the decoded image is passed on without a reference here, so that enhance() can
            # free it once padded (a full-size float copy less at the peak: 1.1 GiB at 96 MP)
            out = enhance(
                self.net, pending.pop().result()[0], device=o.device, tile=o.tile,
                overlap=o.overlap, max_memory_mb=o.max_memory_mb, dtype=o.dtype,
                progress=on_tile, plain=o.plain, exposure=o.exposure,
            )
        except (ConfigError, WeightsError):
            raise  # the same for every file: stop at once
        except Exception as err:  # this file only: skip it, report it at the end
            self.report.failed.append((src, err))
            return None
        return out[0]

    def _write(self, dst: Path, image: Any) -> bool:
        """Write one result (writer thread); ``False`` when an earlier write failed."""
        if self.stop.is_set():
            return False
        try:
            image_io.write_image(dst, image)
        except OSError:
            self.stop.set()
            raise
        return True

    def _collect(self, keep: int) -> None:
        """Wait until at most ``keep`` writes are pending; a failed write stops the run."""
        while len(self.writes) > keep:
            dst, fut = self.writes.popleft()
            try:
                ok = fut.result()
            except OSError as err:
                raise OutputError(
                    f"cannot write {dst}: {err.strerror or err} ({len(self.report.written)} "
                    "image(s) written before; no partial file is left)"
                ) from None
            if ok:
                self.report.written.append(dst)


__all__ = ["READ_AHEAD", "WRITE_BEHIND", "EnhanceReport", "FileProgress", "enhance_files"]
