"""Pretrained VGG16 features (timm ``vgg16``) for perceptual losses and VGG-based backbones.

Weights cannot be downloaded on every machine, so :func:`vgg16_features` takes them from,
in this order of preference for ``weights="imagenet"``:

1. the file named by the environment variable ``LLE_VGG16_WEIGHTS`` when it is set;
2. the Hugging Face hub through ``timm.create_model("vgg16", pretrained=True)`` (ImageNet
   weights ``timm/vgg16.tv_in1k``; works offline once they are in the local HF cache).

``weights=<path>`` reads a local file and ``weights="random"`` gives an explicitly random
initialisation (with a :class:`RandomWeightsWarning`). When the hub is unreachable and no file
is given, :class:`~lle_core.errors.WeightsError` says how to provide the weights; a fallback to
random weights happens only with ``allow_random_fallback=True``, again with a warning.

Local files are read directly rather than through timm's
``pretrained_cfg_overlay=dict(file=PATH)``: that route builds the whole classifier
(~124 M parameters, several seconds on a CPU) only to drop it, and rejects files holding only
the convolutional part. The files it accepts are accepted here too: a timm or torchvision
``vgg16`` state dict (``.pth``/``.pt``/``.bin`` via ``torch.load(weights_only=True)``, or
``.safetensors``), a ``features``-only state dict, or a checkpoint with the state dict under
``"state_dict"``/``"model"``. The layer layout of timm's and torchvision's ``features`` is the
same, so either loads.

The returned ``nn.Sequential`` is frozen (``requires_grad=False``) and in eval mode. Layer
names (``relu3_3``, ``conv4_1``, ``pool2``) map to indices with :func:`vgg16_layer_index`.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import os
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import torch
from torch import Tensor, nn

from lle_core.errors import RandomWeightsWarning, WeightsError

#: ImageNet channel means (RGB) of the VGG training data.
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
#: ImageNet channel standard deviations (RGB).
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)

#: Environment variable naming a local VGG16 weights file used for ``weights="imagenet"``.
WEIGHTS_ENV = "LLE_VGG16_WEIGHTS"
#: Hub repository of timm's ImageNet VGG16 weights.
HUB_ID = "timm/vgg16.tv_in1k"

_VGG16_CFG: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"
)


def _layer_names() -> tuple[str, ...]:
    names: list[str] = []
    block, conv = 1, 1
    for item in _VGG16_CFG:
        if item == "M":
            names.append(f"pool{block}")
            block, conv = block + 1, 1
        else:
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
            conv += 1
    return tuple(names)


#: Name of every module of the VGG16 ``features`` Sequential, by index
#: (``conv1_1, relu1_1, conv1_2, relu1_2, pool1, conv2_1, ...``; 31 entries).
VGG16_LAYER_NAMES: tuple[str, ...] = _layer_names()


def vgg16_layer_index(layer: str | int) -> int:
    """Index in the VGG16 ``features`` Sequential of a named layer.

    Args:
        layer: ``"relu1_2"``, ``"relu2_2"``, ``"relu3_3"``, ``"relu4_3"``, ``"relu5_3"``, any
            ``conv<b>_<i>``/``relu<b>_<i>``/``pool<b>`` name, or an index (int or digit string).

    Returns:
        The index ``i`` such that ``features[: i + 1]`` ends with that layer
        (e.g. ``relu3_3`` -> 15).

    Raises:
        KeyError: Unknown name (the message lists the valid ones).
    """
    if isinstance(layer, int) or (isinstance(layer, str) and layer.isdigit()):
        index = int(layer)
        if not 0 <= index < len(VGG16_LAYER_NAMES):
            last = len(VGG16_LAYER_NAMES) - 1
            raise KeyError(f"VGG16 feature index {index} is outside 0..{last}")
        return index
    try:
        return VGG16_LAYER_NAMES.index(layer.lower())
    except ValueError:
        raise KeyError(
            f"unknown VGG16 layer {layer!r}; valid names: {', '.join(VGG16_LAYER_NAMES)}"
        ) from None


def imagenet_normalize(x: Tensor) -> Tensor:
    """Normalise RGB ``(B, 3, H, W)`` in ``[0, 1]`` with :data:`IMAGENET_MEAN`/``STD``."""
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def _empty_features() -> nn.Sequential:
    """The VGG16 ``features`` with uninitialised CPU storage (built on the meta device)."""
    import timm

    with torch.device("meta"):
        model = timm.create_model("vgg16", pretrained=False)
    features = model.features
    assert isinstance(features, nn.Sequential)
    return features.to_empty(device="cpu")


def _random_init(features: nn.Sequential) -> nn.Sequential:
    """The initialisation timm uses for VGG convolutions (Kaiming normal, fan-out, zero bias)."""
    for m in features.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return features


def _freeze(features: nn.Sequential) -> nn.Sequential:
    for p in features.parameters():
        p.requires_grad_(False)
    return features.eval()


def _read_state_dict(path: Path) -> Mapping[str, Tensor]:
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            data: Any = load_file(str(path))
        else:
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise WeightsError(f"cannot read VGG16 weights file {path}: {err}") from None
    for key in ("state_dict", "model"):
        if isinstance(data, Mapping) and isinstance(data.get(key), Mapping):
            data = data[key]
    if not isinstance(data, Mapping):
        raise WeightsError(f"VGG16 weights file {path} does not hold a state dict")
    return data


def _features_state(state: Mapping[str, Tensor], path: Path) -> dict[str, Tensor]:
    """Keep the ``features.*`` entries (prefix removed) or accept a features-only dict."""
    stripped = {}
    for key, value in state.items():
        k = key.removeprefix("module.")
        if k.startswith("features."):
            stripped[k.removeprefix("features.")] = value
    if stripped:
        return stripped
    if all(k.split(".")[0].isdigit() for k in state):
        return dict(state)
    raise WeightsError(
        f"{path} does not look like VGG16 weights: no 'features.*' keys (first keys: "
        f"{list(state)[:4]})"
    )


_FILE_CACHE: dict[tuple[str, float], nn.Sequential] = {}


def _load_file(path: str | os.PathLike[str], source: str) -> nn.Sequential:
    p = Path(path).expanduser()
    if not p.is_file():
        raise WeightsError(f"VGG16 weights file not found: {p} ({source})")
    key = (str(p.resolve()), p.stat().st_mtime)
    cached = _FILE_CACHE.get(key)
    if cached is None:
        state = _features_state(_read_state_dict(p), p)
        features = _empty_features()
        try:
            features.load_state_dict(state, strict=True)
        except RuntimeError as err:
            raise WeightsError(f"VGG16 weights in {p} do not fit timm's vgg16: {err}") from None
        cached = _freeze(features)
        _FILE_CACHE[key] = cached
    return copy.deepcopy(cached)


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _hub_cached() -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - timm depends on huggingface_hub
        return False
    for filename in ("model.safetensors", "pytorch_model.bin"):
        found = try_to_load_from_cache(HUB_ID, filename)
        if isinstance(found, str):
            return True
    return False


def _instructions(reason: str) -> str:
    return (
        f"VGG16 ImageNet weights are not available: {reason}.\n"
        "Provide them in one of these ways:\n"
        f"  1. set {WEIGHTS_ENV}=/path/to/vgg16 weights (timm '{HUB_ID}' model.safetensors, or "
        "torchvision's vgg16-397923af.pth, or a state dict of the features only);\n"
        "  2. pass the path directly (e.g. `weights: /path/to/vgg16.safetensors` in the config);\n"
        "  3. on a machine with internet, run once\n"
        "       python -c \"import timm; timm.create_model('vgg16', pretrained=True)\"\n"
        "     to fill the Hugging Face cache (HF_HOME), then copy that cache here.\n"
        "For tests and smoke runs only, weights='random' (or allow_random_fallback=True) uses "
        "a randomly initialised VGG16."
    )


_HUB_CACHE: list[nn.Sequential] = []


def _load_hub() -> nn.Sequential:
    if _HUB_CACHE:
        return copy.deepcopy(_HUB_CACHE[0])
    if _offline() and not _hub_cached():
        raise WeightsError(_instructions(f"HF_HUB_OFFLINE is set and {HUB_ID} is not cached"))
    import timm

    try:
        model = timm.create_model("vgg16", pretrained=True)
    except Exception as err:
        raise WeightsError(_instructions(f"{type(err).__name__}: {err}")) from None
    features = _freeze(cast(nn.Sequential, model.features))
    _HUB_CACHE.append(features)
    return copy.deepcopy(features)


def random_vgg16_features() -> nn.Sequential:
    """A frozen VGG16 ``features`` with timm's random initialisation (no warning)."""
    return _freeze(_random_init(_empty_features()))


_RESTORING: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "lle_restoring_checkpoint", default=False
)


@contextlib.contextmanager
def restoring_from_checkpoint() -> Iterator[None]:
    """Within this block pretrained loaders skip their download and initialise randomly.

    Used when a model is rebuilt to receive a checkpoint that holds all of its weights (the
    frozen pretrained ones included); the strict load that follows fails loudly if the
    checkpoint lacks any of them, so nothing random survives silently.
    """
    token = _RESTORING.set(True)
    try:
        yield
    finally:
        _RESTORING.reset(token)


def vgg16_features(
    weights: str | os.PathLike[str] = "imagenet", *, allow_random_fallback: bool = False
) -> nn.Sequential:
    """The 31-module ``features`` Sequential of timm's ``vgg16``, frozen and in eval mode.

    Input: ImageNet-normalised RGB ``(B, 3, H, W)`` (see :func:`imagenet_normalize`).

    Args:
        weights: ``"imagenet"`` (the file in ``$LLE_VGG16_WEIGHTS`` if set, else the hub),
            a path to a local weights file, or ``"random"`` (explicit random init, warned).
        allow_random_fallback: When ImageNet weights cannot be obtained from the hub (and
            ``$LLE_VGG16_WEIGHTS`` is not set), return a random VGG16 with a
            :class:`RandomWeightsWarning` instead of raising. A missing or broken *file* is
            always an error (it is a configuration mistake, not an offline machine).

    Returns:
        A fresh copy (callers may move or modify it).

    Raises:
        WeightsError: The weights cannot be obtained (the message says how to provide them),
            the file is unreadable, or it does not fit the architecture.
    """
    source = os.fspath(weights)
    if _RESTORING.get():
        # A checkpoint is about to overwrite every weight (strictly checked): skip the hub.
        return random_vgg16_features()
    if source == "random":
        warnings.warn(
            "using a randomly initialised VGG16 (weights='random'): its features have no "
            "perceptual meaning; fine for tests, not for training",
            RandomWeightsWarning,
            stacklevel=2,
        )
        return random_vgg16_features()
    if source != "imagenet":
        return _load_file(source, "weights=<path>")
    env_file = os.environ.get(WEIGHTS_ENV)
    if env_file:
        return _load_file(env_file, f"from ${WEIGHTS_ENV}")
    try:
        return _load_hub()
    except WeightsError as err:
        if not allow_random_fallback:
            raise
        warnings.warn(
            f"falling back to a randomly initialised VGG16 (allow_random_fallback=True): {err}",
            RandomWeightsWarning,
            stacklevel=2,
        )
        return random_vgg16_features()
