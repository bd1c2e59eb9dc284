"""Inference: :func:`enhance` with automatic padding and memory-bounded tiled inference.

* :func:`enhance` — path / PIL / tensor in, enhanced ``[0, 1]`` tensor out.
* :func:`enhance_files` — image files, folders and globs in, result files out (read-ahead /
  write-behind, ``on_progress`` callbacks, an :class:`EnhanceReport` back); ``lle enhance``
  is this plus a progress bar. Under ``torchrun`` each process takes its :class:`Shard` of
  the files (:mod:`lle_core.inference.shard`).
* :func:`model_for_inference` — a name, spec or module (plus optional weights) to a model;
  refuses architectures that need weights when none are given.
* :func:`forward_padded` — reflect-pad to ``multiple_of``, run, crop back (scale-aware).
* :func:`tiled_forward`, :func:`make_plan`, :class:`TilePlan` — tiling with raised-cosine
  blending; :func:`measure_bytes_per_pixel` — the memory probe behind ``tile="auto"``.
"""

from __future__ import annotations

from lle_core.inference.api import check_options, enhance, plan_tiling
from lle_core.inference.loading import (
    HOW_TO_GET_WEIGHTS,
    as_batch,
    model_for_inference,
)
from lle_core.inference.memory import (
    DEFAULT_MAX_MEMORY_MB,
    PeakMemoryTracker,
    measure_bytes_per_pixel,
)
from lle_core.inference.padding import crop_output, forward_padded, model_capabilities
from lle_core.inference.pipeline import EnhanceReport, FileProgress, enhance_files
from lle_core.inference.shard import Shard, current_shard
from lle_core.inference.tiling import (
    TilePlan,
    axis_spans,
    axis_weights,
    default_overlap,
    make_plan,
    tiled_forward,
)

__all__ = [
    "DEFAULT_MAX_MEMORY_MB",
    "HOW_TO_GET_WEIGHTS",
    "EnhanceReport",
    "FileProgress",
    "PeakMemoryTracker",
    "Shard",
    "TilePlan",
    "as_batch",
    "axis_spans",
    "axis_weights",
    "check_options",
    "crop_output",
    "current_shard",
    "default_overlap",
    "enhance",
    "enhance_files",
    "forward_padded",
    "make_plan",
    "measure_bytes_per_pixel",
    "model_capabilities",
    "model_for_inference",
    "plan_tiling",
    "tiled_forward",
]
