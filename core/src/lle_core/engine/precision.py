"""Mixed precision: which autocast dtype a run uses, refused when the model does not declare it.

bf16 needs no loss scaling and is used on the CPU and on GPUs that support it (Ampere and
later); other GPUs use float16 with a gradient scaler (see :mod:`lle_core.engine.setup`).
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import nn

from lle_core.engine.config import RunConfig
from lle_core.errors import ConfigError
from lle_core.inference.padding import model_capabilities


def autocast_dtype(cfg: RunConfig, model: nn.Module, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of a run (``None`` without ``train.amp``).

    Raises:
        ConfigError: ``train.amp`` is on but the model's ``capabilities.dtypes`` lacks the
            dtype this device would use.
    """
    if not cfg.train.amp:
        return None
    dtypes = model_capabilities(model).dtypes
    bf16_gpu = device.type == "cuda" and torch.cuda.is_bf16_supported()
    wanted = "float16" if device.type == "cuda" and not bf16_gpu else "bfloat16"
    if wanted not in dtypes:
        raise ConfigError(
            [(
                "train.amp",
                f"mixed precision on {device.type} uses {wanted}, but model "
                f"{cfg.model_spec.name} declares only {list(dtypes)} in capabilities.dtypes; "
                "set train.amp: false",
            )]
        )
    return torch.float16 if wanted == "float16" else torch.bfloat16


def autocast(device: torch.device, dtype: torch.dtype | None) -> Any:
    """``torch.autocast`` for ``dtype`` on ``device``; a no-op context when ``dtype`` is None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)
