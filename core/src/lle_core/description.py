"""What a component says about itself: its parameters, summary, paper and capabilities.

The lowest part of the kernel (docs/architecture.md): :mod:`lle_core.registry` records entries
with these descriptions and :mod:`lle_core.manifest` caches them, both on top of this module,
which imports nothing else of lle.
"""

from __future__ import annotations

import functools
import importlib
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator


class Capabilities(BaseModel):
    """What a component can and cannot do; read by the engine, the CLI and the conformance kit.

    Attributes:
        multiple_of: Spatial sizes must be a multiple of this (the engine reflect-pads and
            crops back automatically).
        min_size: Smallest spatial side (after padding) the component accepts.
        min_input: Smallest image side (height and width, before padding) for which a model's
            output is meaningful; :func:`lle_core.enhance` refuses smaller images (a
            :class:`~lle_core.errors.ShapeError` naming both sizes) instead of returning a
            result that is mostly border effect. How the models' values were measured:
            ``docs/reliability.md``.
        scale: Output size / input size of a model (NEID's field-to-command mode is 2).
        tiling: ``"tile"`` when overlapping tiles give the same result as the whole image:
            local models, and models whose global statistics are
            :class:`~lle_core.global_ops.GlobalPool` layers (computed for the whole image
            before the tiles run); ``"whole"`` when nothing else is possible (e.g. histogram
            equalisation's global histogram).
        receptive_field: Pixels of context a tile needs on each side for seamless tiling.
        tile_align: Tile starts and sizes are multiples of ``lcm(multiple_of, tile_align)``;
            set by models that pad internally to a coarser grid than ``multiple_of``.
        global_stats: How tiled inference gets the whole image's ``GlobalPool`` statistics:
            ``"stream"`` (exact: accumulated tile by tile, one pass per dependency level) or
            ``"downscale"`` (approximate: one untiled pass on a downscaled copy).
        fast_path: Inference optimisations that measurably pay for this model
            (:mod:`lle_core.inference.fast`; ``enhance`` applies them unless the plain path
            is asked for): ``"fold"``, ``"native"`` (the model's own compiled CPU kernel,
            :mod:`lle_core.native`), ``"channels_last"``, ``"bfloat16"`` (only where a test
            shows a loss below 0.1 dB against float32), ``"compile"``; empty = plain eager.
        dtypes: Floating dtypes the component supports (``"float32"``, ``"bfloat16"``, ...).
        needs_ground_truth: Training needs paired ``high`` images.
        needs_weights: A model is only meaningful with trained weights (``False`` for
            parameter-free baselines).
        min_channels: Fusion ops: smallest channel count they can be built for.
        exposure: How a model's output is made brighter or darker on request
            (:mod:`lle_core.inference.exposure`): ``"tone"`` (a tone step after it) or
            ``"residual"`` (its output is ``x + γ·r``: γ is scaled, as DLN's brightness gamma).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    multiple_of: int = Field(1, ge=1)
    min_size: int = Field(1, ge=1)
    min_input: int = Field(1, ge=1)
    scale: int = Field(1, ge=1)
    tiling: Literal["tile", "whole"] = "tile"
    receptive_field: int = Field(32, ge=0)
    tile_align: int = Field(1, ge=1)
    global_stats: Literal["stream", "downscale"] = "stream"
    fast_path: tuple[Literal["fold", "native", "channels_last", "bfloat16", "compile"], ...] = ()
    dtypes: tuple[str, ...] = ("float32",)
    needs_ground_truth: bool = True
    needs_weights: bool = True
    min_channels: int = Field(1, ge=1)
    exposure: Literal["tone", "residual"] = "tone"


class Params(BaseModel):
    """Base class of parameter models: unknown keys are rejected and defaults validated.

    Subclass it for a component's parameters; nested specs are declared with
    :func:`lle_core.spec.SpecOf`.
    """

    model_config = ConfigDict(extra="forbid", validate_default=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """Refuse ``true``/``false`` where a number is wanted (pydantic would read 1/0).

        YAML ``width: true`` would otherwise build a width-1 network.
        """
        field_info = cls.model_fields.get(info.field_name or "")
        if field_info is not None and _wants_number(field_info.annotation):
            items = value if isinstance(value, list | tuple) else [value]
            if any(isinstance(v, bool) for v in items):
                raise ValueError(f"expected a number, got {value!r} (true/false is not a number)")
        return value


def _wants_number(annotation: Any) -> bool:
    """Whether a field takes int/float (alone, optional, or as list/tuple items), not bool."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if annotation in (int, float):
        return True
    if origin is typing.Annotated:
        return _wants_number(args[0])
    if origin in (list, tuple):
        return any(_wants_number(a) for a in args if a is not Ellipsis)
    if origin in (typing.Union, types.UnionType):
        return bool not in args and any(_wants_number(a) for a in args)
    return False


class EmptyParams(Params):
    """Parameter model of components that take no parameters."""


@dataclass(frozen=True)
class Description:
    """What a component says about itself (read from its class by :func:`describe`).

    Attributes:
        params_ref: Pydantic model validating the parameters (``extra="forbid"``), or its
            ``"module:Class"`` path (imported on first use of :attr:`params`).
        summary: One line saying what the component is.
        paper: Paper reference (``"Tang et al., HF2, Sec. 2.2, Eq. 1"``) or ``None``.
        capabilities: See :class:`Capabilities`.
    """

    params_ref: type[BaseModel] | str = EmptyParams
    summary: str = ""
    paper: str | None = None
    capabilities: Capabilities = field(default_factory=Capabilities)

    @functools.cached_property
    def params(self) -> type[BaseModel]:
        """The parameter model (imported when it was given as a path)."""
        if isinstance(self.params_ref, str):
            found = import_path(self.params_ref)
            if not (isinstance(found, type) and issubclass(found, BaseModel)):
                raise TypeError(f"{self.params_ref} is not a pydantic model class")
            return found
        return self.params_ref


def describe(factory: Any) -> Description:
    """Read a component's self-description from its class (or factory function).

    The convention every component follows (core's and every plugin's)::

        class GatedFusion(FusionOp):
            '''Sigmoid-gated sum of a and b.'''     # first line = summary

            Params = GatedParams                      # pydantic model of the parameters
            paper = "Doe et al. 2024, Sec. 3, Eq. 2"  # optional
            default_capabilities = Capabilities(min_channels=1)  # optional

    ``summary`` and ``paper`` are read from the class itself (not inherited); ``summary`` may be
    set explicitly when the docstring's first line is not a good one-liner. ``Params`` and
    ``default_capabilities`` are inherited like any attribute.

    Args:
        factory: A class or callable (a function may carry the same attributes).

    Returns:
        The :class:`Description`; missing attributes take the defaults.
    """
    own = getattr(factory, "__dict__", {})
    params = getattr(factory, "Params", None) or EmptyParams
    if not (isinstance(params, type) and issubclass(params, BaseModel)):
        raise TypeError(f"{factory!r}.Params must be a pydantic model class, got {params!r}")
    summary = own.get("summary")
    if not isinstance(summary, str):
        doc = own.get("__doc__") or ""
        summary = doc.strip().splitlines()[0].strip() if doc.strip() else ""
    paper = own.get("paper")
    caps = getattr(factory, "default_capabilities", None)
    if isinstance(caps, dict):
        caps = Capabilities(**caps)
    return Description(
        params_ref=params,
        summary=summary,
        paper=paper if isinstance(paper, str) else None,
        capabilities=caps if isinstance(caps, Capabilities) else Capabilities(),
    )


def import_path(path: str) -> Any:
    """Import ``"package.module:Attr.attr"`` and return the attribute."""
    module_name, _, attr = path.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj
