"""Run logging: console progress, ``train.log`` and ``metrics.jsonl`` in the run directory.

The console shows a rich progress bar on a terminal and plain lines otherwise. Only rank 0 logs.
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e4):
            return f"{value:.3e}"
        return f"{value:.4f}"
    return str(value)


def drop_records_after(path: Path, step: int) -> None:
    """Keep only the ``metrics.jsonl`` records of steps ``<= step`` (and no torn last line).

    A session starting at ``step`` (0 for a fresh run, the checkpoint's step on resume) logs
    every later step again: the records a crashed session wrote after its last checkpoint
    would otherwise appear twice. The file is rewritten atomically, only when needed.
    """
    if not path.is_file():
        return
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    keep = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line torn by a crash mid-write
        at = record.get("step", 0) if isinstance(record, dict) else None
        if line.endswith("\n") and isinstance(at, int | float) and at <= step:
            keep.append(line)
    if keep != lines:
        from lle_core.files import atomic_write

        atomic_write(path, "".join(keep).encode("utf-8"))


class RunLogger:
    """Logger of one run.

    Writes one JSON object per logged step / validation to ``metrics.jsonl``, readable
    lines to ``train.log`` and shows progress on the console. Records of steps after
    ``start_step`` left by an earlier session are dropped first (:func:`drop_records_after`).

    Args:
        out_dir: Run directory.
        enabled: ``False`` on ranks other than 0 (everything becomes a no-op).
        progress: Show progress on the console (rich bar on a terminal, plain lines otherwise).
        total_steps: Expected number of steps (for the bar and ETA), if known.
        start_step: First step of this session (resumed runs).
    """

    def __init__(
        self,
        out_dir: Path,
        *,
        enabled: bool = True,
        progress: bool = True,
        total_steps: int | None = None,
        start_step: int = 0,
    ) -> None:
        self.enabled = enabled
        self.history: list[dict[str, Any]] = []
        self._log: IO[str] | None = None
        self._jsonl: IO[str] | None = None
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._plain = False
        self._t0 = time.monotonic()
        self._recent: deque[tuple[float, int]] = deque(maxlen=50)
        self._start_step = start_step
        self.total_steps = total_steps
        if not enabled:
            return
        out_dir.mkdir(parents=True, exist_ok=True)
        drop_records_after(out_dir / "metrics.jsonl", start_step)
        self._log = open(out_dir / "train.log", "a", encoding="utf-8")  # noqa: SIM115
        self._jsonl = open(out_dir / "metrics.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        if progress:
            console = Console(stderr=False)
            if console.is_terminal:
                self._progress = Progress(
                    TextColumn("[bold]train"),
                    BarColumn(bar_width=20),
                    MofNCompleteColumn(),
                    TextColumn("ep {task.fields[epoch]}"),
                    TimeElapsedColumn(),
                    TextColumn("eta"),
                    TimeRemainingColumn(),
                    TextColumn("{task.fields[info]}"),
                    console=console,
                    transient=False,
                )
                self._progress.start()
                self._task = self._progress.add_task(
                    "train", total=total_steps, completed=start_step, epoch=0, info=""
                )
            else:
                self._plain = True

    # -- plain messages --------------------------------------------------------------------
    def info(self, message: str) -> None:
        """A line for ``train.log`` and the console."""
        if not self.enabled:
            return
        assert self._log is not None
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        self._log.write(f"{stamp} {message}\n")
        self._log.flush()
        if self._progress is not None:
            self._progress.console.print(message, markup=False, highlight=False)
        elif self._plain:
            print(message, flush=True)

    def _record(self, record: dict[str, Any]) -> None:
        self.history.append(record)
        assert self._jsonl is not None
        self._jsonl.write(json.dumps(record) + "\n")
        self._jsonl.flush()

    # -- steps and validation --------------------------------------------------------------
    def step(
        self, step: int, epoch: int, logs: dict[str, float], lr: float, *, write: bool
    ) -> None:
        """Advance the progress display; when ``write``, record the step's values."""
        if not self.enabled:
            return
        now = time.monotonic()
        self._recent.append((now, step))
        first_t, first_step = self._recent[0]
        if len(self._recent) > 1:  # rate over the last steps (setup time left out)
            its = (step - first_step) / max(now - first_t, 1e-9)
        else:
            its = (step - self._start_step) / max(now - self._t0, 1e-9)
        if self._progress is not None and self._task is not None:
            info = " ".join(f"{k}={v:.4g}" for k, v in logs.items())
            self._progress.update(
                self._task, completed=step, epoch=epoch, info=f"{info} lr={lr:.2g} {its:.2f}it/s"
            )
        if not write:
            return
        record = {"kind": "train", "step": step, "epoch": epoch, **logs, "lr": lr, "it_s": its}
        self._record(record)
        eta = ""
        if self.total_steps and its > 0:
            eta = f" eta {math.ceil((self.total_steps - step) / its)}s"
        line = (
            f"step {step}{f'/{self.total_steps}' if self.total_steps else ''} epoch {epoch} "
            + " ".join(f"{k}={_fmt(v)}" for k, v in logs.items())
            + f" lr={lr:.3e} {its:.2f}it/s{eta}"
        )
        assert self._log is not None
        self._log.write(time.strftime("%Y-%m-%d %H:%M:%S ") + line + "\n")
        self._log.flush()
        if self._plain:
            print(line, flush=True)

    def validation(self, step: int, epoch: int, metrics: dict[str, float]) -> None:
        """Record a validation result."""
        if not self.enabled:
            return
        self._record({"kind": "val", "step": step, "epoch": epoch, **metrics})
        self.info(
            f"validation at step {step}: " + " ".join(f"{k}={_fmt(v)}" for k, v in metrics.items())
        )

    def close(self) -> None:
        """Stop the display and close the files."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        for handle in (self._log, self._jsonl):
            if handle is not None:
                handle.close()
        self._log = self._jsonl = None


