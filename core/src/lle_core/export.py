"""ONNX export of an enhancer, and an ONNX Runtime model that runs through :func:`enhance`.

The exported graph is the model's inference ``forward``: ``low`` ``(B, 3, H, W)`` float32 in
``[0, 1]`` -> ``enhanced`` ``(B, 3, s·H, s·W)``, with dynamic batch, height and width. ``H`` and
``W`` must satisfy the model's ``multiple_of`` / ``min_size`` (recorded in the file's metadata
as ``lle.capabilities``); :class:`OnnxEnhancer` pads and crops exactly like ``enhance``.

Needs the optional extra ``lle-core[onnx]`` (``onnx`` and ``onnxruntime``). Exporter: PyTorch's
TorchScript-based exporter (``dynamo=False``, opset 17), which needs no extra package.
Exported and tested against PyTorch (max abs difference < 1e-3 on odd sizes):
``core.unet_small``, AuxNet, FRLIE, DLN, HF2. Not exportable: NEID — in its default
``protocol`` mode its antialiased bicubic ↓2 (``aten::_upsample_bicubic2d_aa``) has no ONNX
conversion in that exporter; in ``field_to_command`` mode its internal pad-to-16 and crop are
traced with the sample's sizes, so other sizes give wrong shapes.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from lle_core.checkpoint import mark_weights
from lle_core.errors import ConfigError, ShapeError
from lle_core.files import atomic_write
from lle_core.global_ops import has_global_ops
from lle_core.inference.memory import FALLBACK_BYTES_PER_PIXEL, measure_bytes_per_pixel
from lle_core.inference.padding import model_capabilities
from lle_core.registry import Capabilities

#: ONNX opset of exported files.
OPSET = 17


def _need_onnx() -> Any:
    try:
        import onnx
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ConfigError([(
            "onnx",
            "ONNX export/runtime needs the optional extra: pip install 'lle-core[onnx]'",
        )]) from None
    return onnx


@contextlib.contextmanager
def exporter_quiet() -> Iterator[None]:
    """Silence what the TorchScript exporter prints: only lle's own error line should show.

    Its tracer warnings (size checks traced as constants; the exported graph is tested on
    other sizes) are ignored, and the graph dump PyTorch's C++ logger writes to file
    descriptor 1 when a conversion fails (hundreds of lines) goes to the null device.
    """
    sys.stdout.flush()
    fd = 1  # the C++ logger's std::cout, whatever sys.stdout is now
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx")
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"lle_core")
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def export_onnx(model: nn.Module, path: str | Path, *, opset: int = OPSET) -> Path:
    """Export ``model`` (eval mode, float32, CPU) to an ONNX file, written atomically.

    Args:
        model: An enhancer (its ``capabilities`` are stored in the file's metadata).
        path: Output ``.onnx`` file.
        opset: ONNX opset.

    Returns:
        The written path.

    Raises:
        ConfigError: ``onnx`` is not installed, or the model uses an operator the exporter
            cannot convert (the message names the operator).
    """
    onnx = _need_onnx()
    caps = model_capabilities(model)
    name = getattr(getattr(model, "lle_spec", None), "name", type(model).__name__)
    model = model.to("cpu").float().eval()
    k = caps.multiple_of
    side = -(-max(64, caps.min_size) // k) * k
    sample = torch.rand(1, 3, side, side + k, generator=torch.Generator().manual_seed(0))
    axes = {0: "batch", 2: "height", 3: "width"}
    buf = io.BytesIO()
    try:
        # Traced with grad mode on: some models (AuxNet) take in-place ``out=`` shortcuts
        # under no_grad that the exporter cannot convert; the grad-mode ops are the same maths.
        with torch.enable_grad(), exporter_quiet():
            torch.onnx.export(
                model, (sample,), buf,  # type: ignore[arg-type]  # a BytesIO is accepted
                dynamo=False, opset_version=opset,
                input_names=["low"], output_names=["enhanced"],
                dynamic_axes={"low": axes, "enhanced": axes},
            )
    except Exception as err:  # the exporter raises many types; name the model and the cause
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError([("model", f"{name} cannot be exported to ONNX: {first}")]) from None
    proto = onnx.load_from_string(buf.getvalue())
    entry = proto.metadata_props.add()
    entry.key, entry.value = "lle.capabilities", caps.model_dump_json()
    entry = proto.metadata_props.add()
    entry.key, entry.value = "lle.model", name
    entry = proto.metadata_props.add()
    entry.key, entry.value = "lle.global", "1" if has_global_ops(model) else "0"
    entry = proto.metadata_props.add()  # the torch model's live bytes per pixel (tiling)
    entry.key, entry.value = "lle.bytes_per_pixel", f"{measure_bytes_per_pixel(model, caps):.1f}"
    return atomic_write(path, proto.SerializeToString())


#: Margin on the torch model's live bytes per pixel when a session plans its tiles: ONNX
#: Runtime's own buffers (arena, fused kernels) are invisible to the torch probe; a chosen
#: safety factor, not measured per model (docs/inference.md, "Export to ONNX").
ORT_MEMORY_FACTOR = 2.0


class OnnxEnhancer(nn.Module):
    """An exported model run by ONNX Runtime, usable wherever an enhancer is (``enhance``).

    ``forward(low)``: ``(B, 3, H, W)`` float32 -> ``(B, 3, s·H, s·W)`` float32 on the input's
    device (the session runs on the CPU). No parameters; ``capabilities`` come from the file.
    A model with global statistics cannot be tiled this way (its pools are inside the graph):
    its capabilities say ``tiling: whole``.
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        onnx = _need_onnx()
        import onnxruntime as ort

        path = Path(path)
        self.path = path
        if not path.is_file():
            raise ConfigError([("onnx", f"{path}: no such ONNX file")])
        try:  # empty, text or damaged files: the user's file, named, not "a bug in lle"
            proto = onnx.load(str(path), load_external_data=False)
            meta = {p.key: p.value for p in proto.metadata_props}
            caps = Capabilities(**json.loads(meta["lle.capabilities"])) if (
                "lle.capabilities" in meta) else Capabilities()
            self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as err:  # onnx and onnxruntime raise many types for a bad file
            first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
            raise ConfigError([(
                "onnx", f"{path} is not a usable ONNX model (written by lle export?): {first}"
            )]) from None
        if meta.get("lle.global") == "1":
            caps = caps.model_copy(update={"tiling": "whole"})
        # The graph runs as exported: PyTorch's fast-path options (folding, native kernels,
        # channels_last...) do not apply to a session, and copying one is impossible.
        self._caps = caps.model_copy(update={"fast_path": ()})
        self.name = meta.get("lle.model", path.stem)
        # Tiling decisions (plan_tiling) need the session's memory per pixel, which the torch
        # probe cannot see: the exported model's torch figure times ORT_MEMORY_FACTOR, or a
        # conservative default for files without it.
        recorded = float(meta.get("lle.bytes_per_pixel", 0) or 0)
        self.inference_bytes_per_pixel = ORT_MEMORY_FACTOR * (
            recorded if recorded > 0 else FALLBACK_BYTES_PER_PIXEL)
        mark_weights(self, str(path))  # the file holds the exported weights: never "random"

    @property
    def capabilities(self) -> Capabilities:
        """The capabilities recorded at export time."""
        return self._caps

    def forward(self, low: Tensor) -> Tensor:
        """Run the session on ``low`` (float32).

        Raises:
            ShapeError: The graph's output is not ``(B, 3, H', W')`` (the file is named).
        """
        out = self.session.run(None, {"low": low.detach().float().cpu().numpy()})[0]
        shape = tuple(getattr(out, "shape", ()))
        if len(shape) != 4 or shape[0] != low.shape[0] or shape[1] != 3:
            raise ShapeError(
                f"ONNX model {self.path} returned shape {shape} for input "
                f"{tuple(low.shape)}; an enhancer returns (B, 3, H, W)"
            )
        return torch.from_numpy(out).to(low.device)


__all__ = ["OPSET", "OnnxEnhancer", "export_onnx", "exporter_quiet"]
