"""Inference speed and memory of a few model configurations against core baselines.

The machinery behind the plugins' ``benchmarks/bench_inference.py`` scripts: each script lists
its :class:`InferenceCase` configurations and calls :func:`run_cli`.

Every case runs in a fresh Python process (:func:`lle_core.bench.speed.run_isolated`, task
``case``) so that its peak resident memory is its own. A case builds its model from a spec with
random weights (``torch.manual_seed(0)``; speed and memory do not depend on the values), makes
one ``(1, 3, H, W)`` input in ``[0, 0.3]``, reflect-pads it to the model's ``multiple_of`` /
``min_size`` and crops the output back (no tiling), all under ``torch.inference_mode``. Figures
per case:

* ``seconds`` (median wall-clock seconds per image over ``repeats`` timed forwards after
  ``warmup`` untimed ones), ``seconds_min``, ``img_per_s``, ``mpix_per_s``;
* ``cpu_seconds``: median process CPU time per image (summed over threads; less sensitive than
  wall-clock time to other jobs on a shared machine);
* ``tensor_peak_mb``: peak bytes of live tensor storages during one extra untimed forward
  (weights and input excluded), from :class:`lle_core.inference.PeakMemoryTracker`;
* ``peak_rss_mb`` and ``rss_growth_mb``: peak resident memory of the process, and its growth
  over the resident memory right before the first forward (activations and workspace);
* ``max_abs_diff_vs_fp32`` for bf16 cases: largest absolute output difference to the same
  model in fp32;
* ``ratios`` / ``cpu_ratios``: wall-clock / CPU time relative to each baseline
  (``core.identity``, ``core.gamma``) measured in the same run. The machine is shared and
  noisy: compare ratios inside one run, not seconds across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from lle_core.bench.speed import peak_mb, rss_mb, run_isolated

#: Baselines every comparison measures and divides by.
BASELINES: tuple[str, ...] = ("core.identity", "core.gamma")


@dataclass(frozen=True)
class InferenceCase:
    """One model configuration to time.

    Attributes:
        label: Row name in the table (unique within a comparison).
        spec: Model spec mapping, e.g. ``{"type": "auxnet.model", "channels_last": False}``.
        precision: ``"fp32"`` or ``"bf16"``.
        channels_last: Convert the model and the input to ``torch.channels_last`` memory format.
        autocast: For bf16 only: ``True`` runs the fp32 model under ``torch.autocast``;
            ``False`` casts the weights and the input to ``bfloat16``.
    """

    label: str
    spec: dict[str, Any]
    precision: Literal["fp32", "bf16"] = "fp32"
    channels_last: bool = False
    autocast: bool = True

    def __post_init__(self) -> None:
        """Check the precision and that the spec names a model type."""
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"case {self.label!r}: precision must be fp32 or bf16, "
                             f"got {self.precision!r}")
        if "type" not in self.spec:
            raise ValueError(f"case {self.label!r}: spec has no 'type' key: {self.spec!r}")

    @property
    def mode(self) -> str:
        """Short description of precision and layout, e.g. ``"bf16 cast, channels_last"``."""
        text: str = self.precision
        if self.precision == "bf16":
            text += " autocast" if self.autocast else " cast"
        return text + (", channels_last" if self.channels_last else "")


def precision_cases(
    label: str, spec: dict[str, Any], *, autocast: bool = True, channels_last: bool = False
) -> list[InferenceCase]:
    """The same model in fp32 (labelled ``label``) and bf16 (labelled ``"<label> bf16"``).

    Args:
        label: Row name of the fp32 case.
        spec: Model spec mapping.
        autocast: bf16 under ``torch.autocast`` (``True``) or with cast weights and input.
        channels_last: Convert the model and the input to channels-last memory format.
    """
    return [
        InferenceCase(label, spec, "fp32", channels_last=channels_last),
        InferenceCase(f"{label} bf16", spec, "bf16", channels_last=channels_last,
                      autocast=autocast),
    ]


def baseline_case(name: str) -> InferenceCase:
    """The fp32 case of a registered baseline model, labelled by its name."""
    return InferenceCase(name, {"type": name})


def measure_case(payload: dict[str, Any]) -> dict[str, Any]:
    """Measure one case in this process (called by ``python -m lle_core.bench.speed case``).

    Args:
        payload: ``{"case": asdict(InferenceCase), "height", "width", "repeats", "warmup",
            "threads"}``.

    Returns:
        The figures listed in the module docstring plus ``params``, ``threads``,
        ``out_shape`` and ``times`` (every timed wall-clock duration).
    """
    import torch

    from lle_core import parse_spec
    from lle_core.inference import PeakMemoryTracker, forward_padded, model_capabilities

    case = InferenceCase(**payload["case"])
    height, width = int(payload["height"]), int(payload["width"])
    if payload.get("threads"):
        torch.set_num_threads(int(payload["threads"]))
    torch.manual_seed(0)
    model = parse_spec("model", case.spec).build().eval()
    caps = model_capabilities(model)
    params = _parameter_count(model)
    x = torch.rand(1, 3, height, width) * 0.3
    fp32_state: dict[str, torch.Tensor] | None = None
    if case.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    if case.precision == "bf16" and not case.autocast:
        fp32_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model = model.to(torch.bfloat16)
        x = x.to(torch.bfloat16)

    def forward(inp: torch.Tensor, *, bf16_autocast: bool) -> torch.Tensor:
        context: AbstractContextManager[Any] = (
            torch.autocast("cpu", dtype=torch.bfloat16) if bf16_autocast else nullcontext()
        )
        with torch.inference_mode(), context:
            return forward_padded(model, inp, caps)

    use_autocast = case.precision == "bf16" and case.autocast
    rss_before = rss_mb()
    times, cpu_times = _time_calls(
        lambda: forward(x, bf16_autocast=use_autocast), (1, 3, height * caps.scale,
        width * caps.scale), case.label, warmup=payload.get("warmup", 1),
        repeats=payload["repeats"],
    )
    peak_rss = peak_mb()
    known = {t.untyped_storage().data_ptr() for t in [x, *model.parameters(), *model.buffers()]}
    tracker = PeakMemoryTracker(ignore=known)
    with tracker:
        out = forward(x, bf16_autocast=use_autocast)

    max_diff = None
    if case.precision == "bf16":
        if fp32_state is not None:  # weights were cast: restore the exact fp32 ones
            model = model.float()
            model.load_state_dict(fp32_state)
            x = x.float()
        reference = forward(x, bf16_autocast=False)
        max_diff = float((out.float() - reference.float()).abs().max())

    seconds = statistics.median(times)
    return {
        "params": params,
        "out_shape": list(out.shape),
        "seconds": seconds,
        "seconds_min": min(times),
        "times": times,
        "img_per_s": 1.0 / seconds if seconds > 0 else float("inf"),
        "mpix_per_s": height * width / 1e6 / seconds if seconds > 0 else float("inf"),
        "cpu_seconds": statistics.median(cpu_times),
        "tensor_peak_mb": tracker.peak / 2**20,
        "peak_rss_mb": peak_rss,
        "rss_growth_mb": max(peak_rss - rss_before, 0.0),
        "max_abs_diff_vs_fp32": max_diff,
        "threads": torch.get_num_threads(),
    }


def _parameter_count(model: Any) -> int:
    """Parameters the model runs with (``inference_parameter_count()`` when it defines one)."""
    count = getattr(model, "inference_parameter_count", None)
    return int(count()) if callable(count) else sum(p.numel() for p in model.parameters())


def _time_calls(
    run: Callable[[], Any], expected: tuple[int, ...], label: str, *, warmup: int, repeats: int
) -> tuple[list[float], list[float]]:
    """Warm ``run`` up (at least once; its output must have shape ``expected``), then time it.

    Returns:
        Wall-clock and CPU seconds of each of the ``repeats`` timed calls.

    Raises:
        RuntimeError: The output shape is not ``expected`` (the message names ``label``).
    """
    for _ in range(max(warmup, 1)):
        out = run()
    if tuple(out.shape) != expected:
        raise RuntimeError(f"{label}: output shape {tuple(out.shape)}, expected {expected}")
    del out
    times, cpu_times = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        run()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    return times, cpu_times


def add_ratios(rows: list[dict[str, Any]], baselines: Sequence[str] = BASELINES) -> None:
    """Set ``ratios`` / ``cpu_ratios`` of every row against the baseline rows of the same list.

    A ratio is ``None`` when the baseline row is missing or failed.
    """
    ref = {r["label"]: r for r in rows if r["label"] in baselines and "error" not in r}
    for row in rows:
        if "error" in row:
            continue
        for key, ratio_key in (("seconds", "ratios"), ("cpu_seconds", "cpu_ratios")):
            row[ratio_key] = {
                b: (row[key] / ref[b][key] if b in ref and ref[b][key] > 0 else None)
                for b in baselines
            }


def compare_inference(
    cases: Sequence[InferenceCase],
    *,
    height: int = 400,
    width: int = 600,
    repeats: int = 3,
    warmup: int = 1,
    threads: int | None = None,
    baselines: Sequence[str] = BASELINES,
    timeout: float = 1800,
) -> list[dict[str, Any]]:
    """Measure every case in its own subprocess, baselines included, and add the ratios.

    Baselines missing from ``cases`` are measured first (fp32, labelled by their name).

    Args:
        cases: Configurations to measure (labels must be unique).
        height: Input height ``H`` of the ``(1, 3, H, W)`` image.
        width: Input width ``W``.
        repeats: Timed forwards per case (the median is reported).
        warmup: Untimed forwards before timing.
        threads: ``torch.set_num_threads`` in each worker (``None``: torch's default).
        baselines: Labels of the rows every time is divided by.
        timeout: Seconds one case may take.

    Returns:
        One dict per case, in order: ``label``, ``mode``, ``spec``, ``precision``,
        ``channels_last``, ``autocast``, ``width``, ``height``, ``repeats``, ``warmup`` and
        either the figures of :func:`measure_case` with ``ratios`` / ``cpu_ratios`` (baseline
        label -> ratio or ``None``) or ``error`` (a message) when the case failed.
    """
    labels = [c.label for c in cases]
    if len(set(labels)) != len(labels):
        raise ValueError(f"case labels must be unique, got {labels}")
    todo = [baseline_case(b) for b in baselines if b not in labels] + list(cases)
    rows = []
    for case in todo:
        payload = {"case": asdict(case), "height": height, "width": width,
                   "repeats": repeats, "warmup": warmup, "threads": threads}
        result = run_isolated("case", payload, timeout=timeout, module=__name__)
        rows.append({"label": case.label, "mode": case.mode, **asdict(case), "width": width,
                     "height": height, "repeats": repeats, "warmup": warmup, **result})
    add_ratios(rows, baselines)
    return rows


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _by_size(rows: Sequence[dict[str, Any]]) -> Iterator[tuple[tuple[int, int], list[dict]]]:
    sizes: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for row in rows:
        sizes.setdefault((row["width"], row["height"]), []).append(row)
    yield from sizes.items()


def print_comparison(rows: Sequence[dict[str, Any]], baselines: Sequence[str] = BASELINES) -> None:
    """Print one rich table per input size: times, throughput, memory, ratios to baselines."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 220)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    show_diff = any(r.get("max_abs_diff_vs_fp32") is not None for r in rows)
    for (width, height), group in _by_size(rows):
        ok = [r for r in group if "error" not in r]
        threads = ok[0]["threads"] if ok else "?"
        table = Table(title=(
            f"{width}x{height} ({width * height / 1e6:.2f} MP), batch 1, CPU "
            f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores), torch "
            f"threads {threads}, median of {group[0]['repeats']} after {group[0]['warmup']} "
            f"warm-up, load average {load}"
        ))
        columns = ["model", "mode", "params", "s/img", "img/s", "MP/s", "CPU s/img",
                   "tensor peak MB", "peak RSS MB", "RSS growth MB"]
        columns += [f"× {b.removeprefix('core.')}" for b in baselines]
        columns += [f"CPU × {b.removeprefix('core.')}" for b in baselines]
        columns += ["max|Δ| vs fp32"] if show_diff else []
        for i, name in enumerate(columns):
            table.add_column(name, justify="left" if i < 2 else "right")
        for r in group:
            if "error" in r:
                table.add_row(r["label"], r["mode"], f"[red]failed: {r['error']}[/red]")
                continue
            cells = [r["label"], r["mode"], f"{r['params']:,}", f"{r['seconds']:.4g}",
                     f"{r['img_per_s']:.2f}", f"{r['mpix_per_s']:.2f}",
                     f"{r['cpu_seconds']:.4g}", f"{r['tensor_peak_mb']:.1f}",
                     f"{r['peak_rss_mb']:.0f}", f"{r['rss_growth_mb']:.0f}"]
            cells += [_fmt(r["ratios"][b], ".2f") for b in baselines]
            cells += [_fmt(r["cpu_ratios"][b], ".2f") for b in baselines]
            cells += [_fmt(r["max_abs_diff_vs_fp32"], ".4f")] if show_diff else []
            table.add_row(*cells)
        console.print(table)


def _parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, got {text!r}") from None
    return width, height


def run_cli(
    cases: Sequence[InferenceCase],
    description: str,
    *,
    sizes: Sequence[tuple[int, int]] = ((600, 400),),
    repeats: int = 3,
    warmup: int = 1,
    argv: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Command line of a benchmark script: measure ``cases`` at each size and print tables.

    Options: ``--size WxH`` (repeatable; default ``sizes``), ``--repeats``, ``--warmup``,
    ``--threads``, ``--only LABEL`` (repeatable: measure only these cases, baselines are
    always measured) and ``--json PATH`` (write every row as JSON).

    Args:
        cases: Configurations to measure; the baselines are added when missing.
        description: First line of the help text (usually the script docstring).
        sizes: Default ``(width, height)`` input sizes.
        repeats: Default number of timed forwards per case.
        warmup: Default number of untimed forwards per case.
        argv: Arguments (default ``sys.argv[1:]``).

    Returns:
        The rows of every size, in order.
    """
    parser = argparse.ArgumentParser(description=description.strip().splitlines()[0])
    parser.add_argument("--size", type=_parse_size, action="append", metavar="WxH",
                        help="input size, repeatable (default: "
                             + " ".join(f"{w}x{h}" for w, h in sizes) + ")")
    parser.add_argument("--repeats", type=int, default=repeats, help="timed forwards per case")
    parser.add_argument("--warmup", type=int, default=warmup, help="untimed forwards first")
    parser.add_argument("--only", action="append", metavar="LABEL",
                        choices=[c.label for c in cases], help="measure only this case")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads per case (default: torch's default)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the rows here")
    args = parser.parse_args(None if argv is None else list(argv))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    chosen = [c for c in cases if not args.only or c.label in args.only]
    rows: list[dict[str, Any]] = []
    for width, height in args.size or sizes:
        size_rows = compare_inference(chosen, height=height, width=width, repeats=args.repeats,
                                      warmup=args.warmup, threads=args.threads)
        print_comparison(size_rows)
        rows += size_rows
    if args.json:
        from lle_core.files import atomic_write

        atomic_write(args.json, json.dumps(rows, indent=2).encode())
    return rows


__all__ = [
    "BASELINES",
    "InferenceCase",
    "add_ratios",
    "baseline_case",
    "compare_inference",
    "measure_case",
    "precision_cases",
    "print_comparison",
    "run_cli",
]


def main(argv: list[str] | None = None) -> None:
    """``python -m lle_core.bench.compare case JSON``: one case, its figures as JSON on stdout."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] != ["case"]:
        raise SystemExit(f"unknown task {args[:1]!r}; this module runs 'case'")
    print(json.dumps(measure_case(json.loads(args[1]))))


if __name__ == "__main__":
    main()
