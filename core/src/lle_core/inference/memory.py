"""Memory estimates for inference: bytes per input pixel, measured once per model.

The estimate is the *peak of live tensor memory* during one forward pass on a small probe
image, divided by the probe's pixel count. Live memory is tracked exactly at the level of
PyTorch operators (a ``TorchDispatchMode`` adds the bytes of every new storage an operator
returns and subtracts them when the last tensor using that storage is freed), so the figure
includes activations, skip connections kept alive by a U-Net and the output, but not the
weights or the input, which exist anyway. Convolutional enhancers scale linearly with the
pixel count, so ``bytes_per_pixel × B × H × W`` predicts the peak of a full-size run.

A model can skip the probe by defining ``inference_bytes_per_pixel`` (a float attribute).
When the probe fails, :data:`FALLBACK_BYTES_PER_PIXEL` is used (documented heuristic: 64
float32 feature maps alive at full resolution).
"""

from __future__ import annotations

import os
import weakref
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from lle_core.options import DEFAULT_MAX_MEMORY_MB as DEFAULT_MAX_MEMORY_MB  # re-exported
from lle_core.registry import Capabilities

#: Used when the probe cannot run: 64 float32 channels alive per pixel.
FALLBACK_BYTES_PER_PIXEL = 64 * 4

#: Side of the square probe image (rounded up to the model's ``multiple_of``/``min_size``).
PROBE_SIDE = 64

_CACHE: weakref.WeakKeyDictionary[nn.Module, dict[tuple[str, str], float]] = (
    weakref.WeakKeyDictionary()
)


class PeakMemoryTracker(TorchDispatchMode):
    """Track the peak bytes of live tensor storages created inside the ``with`` block.

    Storages that existed before (weights, inputs) are ignored when passed in ``ignore``.

    Attributes:
        current: Bytes currently alive.
        peak: Highest value of :attr:`current` seen.
    """

    def __init__(self, ignore: set[int] | None = None) -> None:
        """Args: ignore: ``data_ptr`` of storages not to count (weights, inputs)."""
        super().__init__()
        self.current = 0
        self.peak = 0
        self._live: dict[int, list[int]] = {}
        self._ignore = ignore or set()

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        """Run the operator and account for the storages it returns."""
        out = func(*args, **(kwargs or {}))
        for leaf in tree_leaves(out):
            if isinstance(leaf, Tensor):
                self._track(leaf)
        return out

    def _track(self, t: Tensor) -> None:
        try:
            storage = t.untyped_storage()
        except (RuntimeError, NotImplementedError):
            return
        ptr, nbytes = storage.data_ptr(), storage.nbytes()
        if ptr == 0 or nbytes == 0 or ptr in self._ignore:
            return
        record = self._live.get(ptr)
        if record is None:
            record = self._live[ptr] = [0, nbytes]
            self.current += nbytes
            self.peak = max(self.peak, self.current)
        record[0] += 1
        weakref.finalize(t, self._release, ptr)

    def _release(self, ptr: int) -> None:
        record = self._live.get(ptr)
        if record is None:
            return
        record[0] -= 1
        if record[0] <= 0:
            self.current -= record[1]
            del self._live[ptr]


def _storage_ptrs(tensors: Any) -> set[int]:
    ptrs = set()
    for t in tensors:
        try:
            ptrs.add(t.untyped_storage().data_ptr())
        except (RuntimeError, NotImplementedError):
            continue
    return ptrs


def measure_bytes_per_pixel(
    model: nn.Module,
    capabilities: Capabilities,
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype | None = None,
) -> float:
    """Peak live bytes per input pixel of one inference forward pass (batch of one).

    Args:
        model: The enhancer (in eval mode).
        capabilities: Its capabilities (probe size is a valid input size).
        device: Device to probe on.
        dtype: Autocast dtype, or ``None`` for float32.

    Returns:
        Bytes per input pixel (cached per model, device and dtype).
    """
    override = getattr(model, "inference_bytes_per_pixel", None)
    if isinstance(override, int | float) and override > 0:
        return float(override)
    key = (str(device), str(dtype))
    cached = _CACHE.get(model, {}).get(key)
    if cached is not None:
        return cached
    k = capabilities.multiple_of
    side = max(PROBE_SIDE, capabilities.min_size)
    side = -(-side // k) * k
    x = torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(0)).to(device)
    ignore = _storage_ptrs([*model.parameters(), *model.buffers(), x])
    try:
        with torch.no_grad(), autocast_context(device, dtype), PeakMemoryTracker(ignore) as tracker:
            model(x)
        bpp = max(float(tracker.peak) / (side * side), 12.0)
    except Exception:
        bpp = float(FALLBACK_BYTES_PER_PIXEL)
    _CACHE.setdefault(model, {})[key] = bpp
    return bpp


def return_freed_memory(threshold_bytes: int = 2**20) -> bool:
    """Make glibc give freed blocks of ``threshold_bytes`` or more back to the system at once.

    glibc raises its mmap threshold to the size of every large block freed (up to 32 MiB), so
    later tensors of that size come from the heap and are kept after being freed: the peak
    resident memory of a tiled run grows by the allocator's slack (measured at 1080p with
    ``--max-memory-mb 512``: HF2 1.58 -> 1.41 GiB, NEID 1.35 -> 1.28 GiB). A fixed threshold
    (what ``MALLOC_MMAP_THRESHOLD_`` sets) keeps large tensors in their own mappings. Process-wide,
    so only ``lle enhance`` calls it; a threshold the user set in the environment is kept.

    Returns:
        Whether the setting was applied (glibc on Linux only).
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-3, int(threshold_bytes)))  # -3: M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return False


def autocast_context(device: torch.device | str, dtype: torch.dtype | None) -> Any:
    """``torch.autocast`` for ``dtype`` on ``device``'s type; disabled for ``None``/float32."""
    device_type = torch.device(device).type
    if dtype is None or dtype == torch.float32:
        return torch.autocast(device_type, enabled=False)
    return torch.autocast(device_type, dtype=dtype)
