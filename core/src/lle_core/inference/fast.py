"""The fast inference path: per-model optimisations declared in ``capabilities.fast_path``.

:func:`enhance <lle_core.inference.api.enhance>` runs a *fast copy* of the model unless the
plain path is asked for (``plain=True``, ``lle enhance --plain`` or ``LLE_PLAIN=1``: the model's
own eager float32 forward). The copy is built once per model and weights (cached, so its cost
is amortised over the images of a run) and never changes the model itself: training, the
checkpoint and the plain output stay what they are.

Options (a model declares those that were measured to pay for it, ``docs/benchmarks.md``):

* ``fold``: batch norms folded into the preceding convolution (generic for ``Conv2d`` →
  ``BatchNorm2d`` pairs inside ``nn.Sequential``; a model may fold more itself, see below).
* ``native``: the model's own C kernel for CPUs, compiled once per machine with the system C
  compiler and cached (:mod:`lle_core.native`; ``LLE_NATIVE=0`` turns it off). Only a model
  that builds its own copy (below) can use it; without a compiler it falls back to the other
  options.
* ``channels_last``: weights and activations in channels-last layout (oneDNN's fast layout
  on CPUs).
* ``bfloat16``: bfloat16 compute where the machine has native bfloat16 arithmetic
  (AVX512-BF16/AMX CPUs, CUDA GPUs that support it); skipped elsewhere, where it is slower.
  Only declared for models whose output stays >= 45 dB from float32 (tested per shipped set)
  and within 0.05 dB of the plain path on LOL eval15 (``docs/benchmarks.md``).
* ``compile``: ``torch.compile`` (inductor) of the copy, compiled on first use and reused by
  every later image of the process. Inductor loads the libraries it compiles from its cache
  folder (by default ``<tmp>/torchinductor_<user>``, which another user can create first);
  unless ``TORCHINDUCTOR_CACHE_DIR`` is set, lle points it at ``inductor`` in lle's private
  cache folder (:func:`lle_core.cache.private_folder`) and skips ``compile`` when that folder
  is refused.

A model can build its own fast copy by defining ``fast_inference(options) -> nn.Module`` (AuxNet
fuses its whole inference block that way); otherwise the generic transformations above apply.
"""

from __future__ import annotations

import copy
import itertools
import logging
import os
import weakref
from collections.abc import Iterable
from typing import Any, cast

import torch
from torch import Tensor, nn

from lle_core.cache import private_folder
from lle_core.errors import UnsafeCacheError
from lle_core.native import native_enabled
from lle_core.registry import Capabilities

#: Environment variable that turns the fast path off (``1``/``true``/``yes``).
PLAIN_ENV = "LLE_PLAIN"

_CACHE: weakref.WeakKeyDictionary[nn.Module, tuple[Any, nn.Module]] = weakref.WeakKeyDictionary()
#: Environment variable naming inductor's cache folder (PyTorch's).
INDUCTOR_CACHE_ENV = "TORCHINDUCTOR_CACHE_DIR"
_log = logging.getLogger(__name__)


def private_compiler_cache() -> bool:
    """Give ``torch.compile`` a private cache folder; ``False`` when there is none to give.

    Inductor ``dlopen``s what it finds in its cache folder, so lle sets
    ``TORCHINDUCTOR_CACHE_DIR`` to ``inductor`` in its own cache folder (``0700``, the
    user's) unless the user set it.
    """
    if os.environ.get(INDUCTOR_CACHE_ENV):
        return True  # the user's choice
    try:
        folder = private_folder("inductor", tighten=True)
    except UnsafeCacheError as err:
        _log.warning("%s (torch.compile is skipped)", err)
        return False
    os.environ[INDUCTOR_CACHE_ENV] = str(folder)
    return True


def plain_from_env() -> bool:
    """Whether ``LLE_PLAIN`` asks for the plain path."""
    return os.environ.get(PLAIN_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def native_bfloat16(device: torch.device) -> bool:
    """Whether ``device`` computes in bfloat16 natively (otherwise it is emulated and slower)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        cpu: Any = torch.cpu
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(bool(getattr(cpu, c, lambda: False)()) for c in checks)
    return False


def usable_options(options: Iterable[str], device: torch.device) -> tuple[str, ...]:
    """The declared options that apply on ``device``.

    ``bfloat16`` needs native support there, ``native`` (compiled CPU kernels) a CPU and
    ``LLE_NATIVE`` not turned off.
    """
    usable = []
    for option in options:
        if option == "bfloat16" and not native_bfloat16(device):
            continue
        if option == "native" and (device.type != "cpu" or not native_enabled()):
            continue
        usable.append(option)
    return tuple(usable)


def fold_batch_norm(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[Tensor, Tensor]:
    """Weight and bias of the one convolution equal to ``bn(conv(x))`` with BN in eval mode.

    Raises:
        ValueError: ``bn`` keeps no running statistics.
    """
    mean, var = bn.running_mean, bn.running_var
    if mean is None or var is None:
        raise ValueError("folding needs a BatchNorm2d that tracks running statistics")
    scale = var.add(bn.eps).rsqrt()
    if bn.weight is not None:
        scale = scale * bn.weight
    bias = conv.bias if conv.bias is not None else torch.zeros_like(mean)
    shift = bn.bias if bn.bias is not None else torch.zeros_like(mean)
    return conv.weight * scale.view(-1, 1, 1, 1), (bias - mean) * scale + shift


def fold_sequential_batch_norms(model: nn.Module) -> int:
    """Fold every ``Conv2d`` → ``BatchNorm2d`` pair of the ``nn.Sequential`` blocks in place.

    The convolution gets the folded weights and a bias; the batch norm becomes ``Identity``.
    Only for an inference copy (the batch norm no longer trains).

    Returns:
        How many pairs were folded.
    """
    folded = 0
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        names = list(seq._modules)
        for a, b in itertools.pairwise(names):
            conv, bn = seq._modules[a], seq._modules[b]
            if not (isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)):
                continue
            if bn.running_mean is None or conv.out_channels != bn.num_features:
                continue
            with torch.no_grad():
                weight, bias = fold_batch_norm(conv, bn)
                conv.weight.copy_(weight)
                if conv.bias is None:
                    conv.bias = nn.Parameter(bias.detach().clone())
                else:
                    conv.bias.copy_(bias)
            seq._modules[b] = nn.Identity()
            folded += 1
    return folded


class FastWrapper(nn.Module):
    """Runs ``inner`` with channels-last inputs and/or under bfloat16 autocast.

    The output is returned in float32 (the layout is left as the model makes it).
    """

    def __init__(self, inner: nn.Module, *, channels_last: bool, bfloat16: bool) -> None:
        super().__init__()
        self.inner = inner
        self.channels_last = channels_last
        self.use_bfloat16 = bfloat16

    def forward(self, x: Tensor) -> Tensor:
        """``(B, 3, H, W) -> (B, 3, sH, sW)`` float32."""
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if not self.use_bfloat16:
            return self.inner(x)
        with torch.autocast(x.device.type, dtype=torch.bfloat16):
            y = self.inner(x)
        return y.float()


def generic_fast_copy(model: nn.Module, options: tuple[str, ...]) -> nn.Module:
    """``fold`` / ``channels_last`` / ``bfloat16`` applied to a copy of ``model``."""
    fast = copy.deepcopy(model)
    if "fold" in options:
        fold_sequential_batch_norms(fast)
    cl = "channels_last" in options
    if cl:
        fast = fast.to(memory_format=torch.channels_last)
    if cl or "bfloat16" in options:
        fast = FastWrapper(fast, channels_last=cl, bfloat16="bfloat16" in options)
    return fast


def _weights_key(model: nn.Module) -> tuple[tuple[int, int], ...]:
    """Changes when any parameter or buffer is replaced or modified in place."""
    tensors = [*model.parameters(), *model.buffers()]
    return tuple((t.data_ptr(), t._version) for t in tensors)


def fast_model(
    model: nn.Module,
    capabilities: Capabilities,
    device: torch.device,
    *,
    plain: bool | None = None,
) -> nn.Module:
    """The module :func:`~lle_core.inference.api.enhance` runs: ``model`` or its fast copy.

    Args:
        model: The enhancer, on ``device`` and in eval mode.
        capabilities: Its capabilities (``fast_path`` lists the options).
        device: Where it runs (``bfloat16`` only with native support there).
        plain: ``True`` for the plain path; ``None`` reads ``LLE_PLAIN``.

    Returns:
        ``model`` itself (plain path, nothing declared or applicable), else a cached copy
        built by ``model.fast_inference(options)`` or by :func:`generic_fast_copy`.
    """
    if plain is None:
        plain = plain_from_env()
    options = () if plain else usable_options(capabilities.fast_path, device)
    if not options:
        return model
    key = (str(device), options, _weights_key(model))
    cached = _CACHE.get(model)
    if cached is not None and cached[0] == key:
        return cached[1]
    build = getattr(model, "fast_inference", None)
    base = [o for o in options if o != "compile"]
    fast = build(tuple(base)) if callable(build) else generic_fast_copy(model, tuple(base))
    fast = fast.to(device).eval()
    if "compile" in options and private_compiler_cache():
        fast = cast(nn.Module, torch.compile(fast))
    _CACHE[model] = (key, fast)
    return fast


__all__ = [
    "INDUCTOR_CACHE_ENV",
    "PLAIN_ENV",
    "FastWrapper",
    "fast_model",
    "fold_batch_norm",
    "fold_sequential_batch_norms",
    "generic_fast_copy",
    "native_bfloat16",
    "plain_from_env",
    "private_compiler_cache",
    "usable_options",
]
