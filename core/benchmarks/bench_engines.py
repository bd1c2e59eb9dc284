"""One model on several inference engines, timed in one process, interleaved (docs/benchmarks.md).

Usage::

    python core/benchmarks/bench_engines.py --model auxnet.model [--threads 2] [--repeats 20]
        [--images ../shared/data/lol/test/low] [--count 3] [--sizes 600x400 1920x1080]

Engines (each a module called on a ``(1, 3, H, W)`` float32 image through
``forward_padded``: padded to the model's multiple and cropped back, no checks or tiling):

* ``plain``: the model's own float32 forward;
* ``torch``: the generic fast copy with batch norms folded and channels-last layout;
* ``torch-bf16``: the same under bfloat16 autocast (only where the CPU has AVX512-BF16/AMX);
* ``native``/``native-bf16``: a model's own compiled kernel, when its ``fast_inference``
  builds one (AuxNet);
* ``onnxruntime``: the model exported to ONNX (``lle_core.export``) and run by ONNX Runtime
  with ``--threads`` intra-op threads (needs ``lle-core[onnx]``);
* ``default``: whatever ``lle_core.enhance`` runs by default (``fast_model``).

``core.gamma`` runs interleaved with them as the reference time. For each image size it prints
the median and best wall time per engine, its ratio to gamma and to the fastest engine, and the
PSNR of each engine's output against ``plain`` (over all images of that size).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import lle_core
from lle_core.inference.fast import fast_model, generic_fast_copy, native_bfloat16
from lle_core.inference.padding import forward_padded, model_capabilities
from lle_core.io import read_image
from lle_core.metrics import psnr as psnr_fn
from lle_core.registry import Capabilities


def build(name: str) -> nn.Module:
    """The model with shipped weights if any, else random weights (seed 0)."""
    torch.manual_seed(0)
    try:
        return lle_core.create("model", name, pretrained=True).eval()
    except Exception:
        params = {"backbone": {"type": "hf2.vgg16", "weights": "random"}} if name == "hf2.model" \
            else {}
        return lle_core.create("model", name, **params).eval()


def engines(model: nn.Module, onnx_dir: Path, threads: int) -> dict[str, nn.Module]:
    """Every engine that applies to ``model`` on this machine."""
    out: dict[str, nn.Module] = {"plain": model}
    build_own = getattr(model, "fast_inference", None)
    bf16 = native_bfloat16(torch.device("cpu"))
    if callable(build_own):
        out["torch"] = build_own(("fold", "channels_last"))
        if bf16:
            out["torch-bf16"] = build_own(("fold", "channels_last", "bfloat16"))
        native = build_own(("fold", "native"))
        if type(native).__name__ != type(out["torch"]).__name__:
            out["native"] = native
            if bf16:
                out["native-bf16"] = build_own(("fold", "native", "bfloat16"))
    else:
        out["torch"] = generic_fast_copy(model, ("fold", "channels_last"))
        if bf16:
            out["torch-bf16"] = generic_fast_copy(model, ("fold", "channels_last", "bfloat16"))
    caps: Capabilities = getattr(model, "capabilities", Capabilities())
    out["default"] = fast_model(model, caps, torch.device("cpu"))
    try:
        import onnxruntime as ort

        from lle_core.export import OnnxEnhancer, export_onnx

        path = export_onnx(model, onnx_dir / "model.onnx")
        ort_model = OnnxEnhancer(path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        ort_model.session = ort.InferenceSession(
            str(path), opts, providers=["CPUExecutionProvider"])
        out["onnxruntime"] = ort_model
    except Exception as err:  # not installed or not exportable: say so and go on
        print(f"onnxruntime: skipped ({str(err).splitlines()[0]})")
    return out


def images(folder: Path | None, count: int, size: tuple[int, int]) -> list[Tensor]:
    """``count`` images of ``folder`` resized to ``size`` (W, H), else dark random images."""
    w, h = size
    files = sorted(folder.iterdir())[:count] if folder else []
    if not files:
        gen = torch.Generator().manual_seed(0)
        return [(torch.rand(1, 3, h, w, generator=gen) * 0.3) for _ in range(count)]
    out = []
    for f in files:
        x = read_image(f)[None]
        if x.shape[-2:] != (h, w):
            x = F.interpolate(x, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)
        out.append(x.contiguous())
    return out


def main() -> None:
    """Print one table per image size."""
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="auxnet.model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--images", type=Path, default=None, help="folder of test images")
    ap.add_argument("--count", type=int, default=3, help="images per size")
    ap.add_argument("--sizes", nargs="+", default=["600x400"], help="WIDTHxHEIGHT")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = build(args.model)
    gamma = lle_core.create("model", "core.gamma").eval()
    with tempfile.TemporaryDirectory() as tmp:
        runs = {"core.gamma": gamma, **engines(model, Path(tmp), args.threads)}
        caps = model_capabilities(model)
        print(f"torch {torch.__version__}, {args.threads} thread(s), {args.model}, "
              f"{args.repeats} interleaved repeats per image")
        for size in args.sizes:
            wh = tuple(int(v) for v in size.split("x"))
            batch = images(args.images, args.count, (wh[0], wh[1]))
            report(runs, batch, args.repeats, caps)


def report(
    runs: dict[str, nn.Module], batch: list[Tensor], repeats: int, caps: Capabilities
) -> None:
    """Time every engine on every image of ``batch`` and print the table."""
    h, w = batch[0].shape[-2:]
    quality: dict[str, list[float]] = {k: [] for k in runs}
    with torch.no_grad():
        for x in batch:
            ref = forward_padded(runs["plain"], x, caps).clamp(0, 1)
            for k, m in runs.items():
                if k != "core.gamma":
                    out = forward_padded(m, x, caps).float().clamp(0, 1)
                    quality[k].append(float(psnr_fn(out, ref, quantize=False).mean()))
        walls: dict[str, list[float]] = {k: [] for k in runs}
        for _ in range(repeats):
            for x in batch:
                for k, m in runs.items():
                    call: Callable[[], object] = lambda m=m, x=x: forward_padded(  # noqa: E731
                        m, x, caps)
                    t = time.perf_counter()
                    call()
                    walls[k].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in walls.items()}
    fastest = min(v for k, v in med.items() if k != "core.gamma")
    print(f"\n{w}x{h}, {len(batch)} image(s):")
    for k in runs:
        q = f"{min(quality[k]):6.1f} dB" if quality[k] else "     –   "
        print(f"  {k:12s} median {1e3 * med[k]:9.2f} ms  best {1e3 * min(walls[k]):9.2f} ms  "
              f"{w * h / 1e6 / med[k]:8.2f} MP/s  x gamma {med[k] / med['core.gamma']:7.2f}  "
              f"x fastest {med[k] / fastest:5.2f}  vs plain (min) {q}")


if __name__ == "__main__":
    main()
