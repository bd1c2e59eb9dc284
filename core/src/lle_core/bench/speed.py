"""Speed and memory benchmark: inference throughput, peak memory, FLOPs, training step time.

Every measurement runs in a fresh Python process (``python -m lle_core.bench.speed``) so that
the peak resident memory it reports belongs to that model and that image size alone; all
models are measured in one bench run, so their ratios are meaningful on a noisy machine.

Figures:

* ``mpix_per_s`` — megapixels of input enhanced per second by :func:`lle_core.enhance`
  (padding and automatic tiling included), median over ``repeats`` after one warm-up.
* ``peak_mb`` — peak resident memory of the process during the timed calls (the kernel's
  high-water mark, reset after the warm-up) minus its resident memory just before them (the
  model and the input are already loaded): what one enhancement adds.
* ``gflops_per_mpix`` — FLOPs counted by ``torch.utils.flop_counter`` (convolutions and
  matrix products; element-wise operations are not counted) for one forward pass on a
  256×256 input, per megapixel.
* ``train_step_s`` — one optimizer step of the entry's trainer at the recipe's batch
  and crop (random data), median over ``train_repeats`` after one warm-up.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any


def rss_mb() -> float:
    """Current resident memory of this process, MiB (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _reset_peak() -> bool:
    """Reset the kernel's resident high-water mark (Linux ``clear_refs`` 5); False if refused."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_mb() -> float:
    """Peak resident memory since the last :func:`_reset_peak` (else since process start)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def measure_inference(
    spec: dict[str, Any], width: int, height: int, repeats: int
) -> dict[str, Any]:
    """Throughput and peak memory of one model at one size (call in a fresh process)."""
    import torch

    from lle_core import enhance, parse_spec

    torch.manual_seed(0)
    model = parse_spec("model", spec).build().eval()
    x = torch.rand(1, 3, height, width) * 0.3
    enhance(model, x)  # warm-up (also probes memory for tiling, loads kernels)
    _reset_peak()  # otherwise the high-water mark of imports and warm-up dominates
    before = rss_mb()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        enhance(model, x)
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    return {
        "seconds": seconds,
        "mpix_per_s": width * height / 1e6 / seconds,
        "peak_mb": peak_mb() - before,
    }


def measure_flops(spec: dict[str, Any], side: int = 256) -> float | None:
    """FLOPs per megapixel of one forward pass (conv/matmul only), or ``None`` if uncountable."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from lle_core import parse_spec
    from lle_core.inference.padding import model_capabilities
    from lle_core.ops import pad_to_multiple

    model = parse_spec("model", spec).build().eval()
    caps = model_capabilities(model)
    x, _ = pad_to_multiple(torch.rand(1, 3, side, side), caps.multiple_of, caps.min_size)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x)
    return counter.get_total_flops() / (x.shape[-1] * x.shape[-2] / 1e6)


def measure_train_step(run: dict[str, Any], repeats: int) -> dict[str, Any]:
    """Seconds per optimizer step of a run config's trainer at its batch and crop."""
    import torch

    from lle_core import parse_spec
    from lle_core.engine.training_loss import build_loss  # the loop's own loss wrapping

    torch.manual_seed(0)
    model = parse_spec("model", run["model"]).build()
    loss = build_loss(parse_spec("loss", run["loss"]) if run.get("loss") else None)
    raw_trainer = run.get("trainer") or "core.supervised"
    trainer = {"type": raw_trainer} if isinstance(raw_trainer, str) else dict(raw_trainer)
    entry = parse_spec("trainer", {"type": trainer["type"]}).entry
    if "allow_untrained_autoencoder" in entry.params.model_fields:
        trainer["allow_untrained_autoencoder"] = True  # timing only: no stage-1 weights needed
        trainer.pop("stage1_checkpoint", None)
    built = parse_spec("trainer", trainer).build(model=model, loss=loss)
    data = run.get("data", {})
    batch = int(data.get("batch_size", 8))
    train_spec = data.get("train") or {}
    crop = train_spec.get("crop") if isinstance(train_spec, dict) else None
    h, w = (crop, crop) if crop else (400, 600)
    optimizer = torch.optim.Adam(list(built.parameters()), lr=1e-5)
    high = torch.rand(batch, 3, h, w)
    batch_data = {"low": high * 0.2, "high": high, "name": [str(i) for i in range(batch)]}
    built.train(True)
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        result = built.training_step(batch_data)
        result.loss.backward()
        optimizer.step()
        if i:
            times.append(time.perf_counter() - start)
    return {"train_step_s": statistics.median(times), "batch": batch, "crop": [h, w]}


def measure_all(payload: dict[str, Any]) -> dict[str, Any]:
    """Every figure of one model in one process, smallest image first.

    Peak memory is a high-water mark, so sizes are measured in increasing order (each one's
    peak is then its own) before the FLOP count and the training step.
    """
    out: dict[str, Any] = {}
    for width, height in sorted(payload["sizes"], key=lambda s: s[0] * s[1]):
        try:
            out[f"{width}x{height}"] = measure_inference(payload["spec"], width, height,
                                                         payload["repeats"])
        except Exception as err:  # report, keep measuring the rest
            out[f"{width}x{height}"] = {"error": f"{type(err).__name__}: {err}"[:300]}
    try:
        out["flops"] = {"gflops_per_mpix": (measure_flops(payload["spec"]) or 0.0) / 1e9}
    except Exception as err:
        out["flops"] = {"error": f"{type(err).__name__}: {err}"[:300]}
    if payload.get("run") is not None:
        try:
            out["train"] = measure_train_step(payload["run"], payload["train_repeats"])
        except Exception as err:
            out["train"] = {"error": f"{type(err).__name__}: {err}"[:300]}
    return out


def run_isolated(
    task: str, payload: dict[str, Any], timeout: float = 1800, *, module: str = __name__
) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter; errors come back as ``{"error": ...}``.

    ``python -m <module> TASK JSON`` runs it: this module's :func:`main` by default, or
    another bench module's own ``main`` (:mod:`lle_core.bench.compare`).
    """
    proc = subprocess.run(
        [sys.executable, "-m", module, task, json.dumps(payload)],
        capture_output=True, text=True, timeout=timeout, check=False,
        env={**os.environ, "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1")},
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"error": tail[0][:300]}
    return dict(json.loads(lines[-1]))


def main(argv: list[str] | None = None) -> None:
    """``python -m lle_core.bench.speed TASK JSON`` (used by :func:`run_isolated`)."""
    args = sys.argv[1:] if argv is None else argv
    task, payload = args[0], json.loads(args[1])
    if task == "all":
        out = measure_all(payload)
    elif task == "inference":
        out = measure_inference(payload["spec"], payload["width"], payload["height"],
                                payload["repeats"])
    elif task == "flops":
        out = {"gflops_per_mpix": (measure_flops(payload["spec"]) or 0.0) / 1e9}
    elif task == "train_step":
        out = measure_train_step(payload["run"], payload["repeats"])
    else:
        raise SystemExit(f"unknown task {task!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
