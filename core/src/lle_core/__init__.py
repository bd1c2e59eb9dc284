"""lle-core: the core of the `lle` low-light image enhancement toolkit.

Quick start::

    import lle_core
    lle_core.list_components("model")            # what is installed
    model = lle_core.create("model", "auxnet.model")
    out = lle_core.enhance(model, "photo.jpg")   # (1, 3, H, W) in [0, 1]

Importing this package is cheap: torch-heavy parts load on first use.
"""

from __future__ import annotations

from lle_core import plugins as _plugins  # noqa: F401 - connects plugin loading to the registry
from lle_core.errors import (
    AmbiguousNameError,
    CheckpointError,
    ComponentNotFoundError,
    ConfigError,
    DatasetError,
    DuplicateComponentError,
    ImageReadError,
    LLEError,
    PluginLoadError,
    ShapeError,
    TensorError,
    WeightsError,
)
from lle_core.factory import create
from lle_core.lazy import lazy_exports
from lle_core.registry import KINDS, Capabilities, Entry, Params, registries
from lle_core.spec import (
    ComponentSpec,
    SpecOf,
    build_component,
    list_components,
    load_config_file,
    parse_spec,
)

__version__ = "0.1.0"

# Names imported from their module on first access (keeps the import light).
__getattr__, __dir__, _LAZY_NAMES = lazy_exports(__name__, {
    "lle_core.interfaces": (
        "Enhancer", "Backbone", "FusionOp", "LossTerm", "LossParams", "LLEDataset",
        "Trainer", "StepResult", "Metric",
    ),
    "lle_core.inference": ("enhance",),
    "lle_core.engine": ("train",),
    "lle_core.evaluation": ("evaluate",),
})


__all__ = [
    "KINDS",
    "AmbiguousNameError",
    "Capabilities",
    "CheckpointError",
    "ComponentNotFoundError",
    "ComponentSpec",
    "ConfigError",
    "DatasetError",
    "DuplicateComponentError",
    "Entry",
    "ImageReadError",
    "Params",
    "LLEError",
    "PluginLoadError",
    "ShapeError",
    "SpecOf",
    "TensorError",
    "WeightsError",
    "build_component",
    "create",
    "list_components",
    "load_config_file",
    "parse_spec",
    "registries",
    *_LAZY_NAMES,
]
