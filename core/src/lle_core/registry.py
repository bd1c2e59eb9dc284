"""Component registries: one small registry per component kind.

An entry is a record (:class:`Entry`), not a bare class: canonical plugin-qualified name
(``neid.channel_ff``), the owning distribution and its version, the pydantic parameter model
that validates a spec before anything is built, a one-line summary, the paper reference and
the :class:`Capabilities` that matter for low-light enhancement.

Registries are plain objects. :meth:`Registry.temporary` gives a context in which entries can
be added and are removed again afterwards, so tests never leak state.

Example:
    >>> from lle_core.registry import registries
    >>> reg = registries()["fusion"]
    >>> with reg.temporary():
    ...     _ = reg.add(Entry(kind="fusion", name="demo.sum", factory=lambda channels: None,
    ...                       params=EmptyParams, summary="a + b"))
    ...     reg.resolve("sum")
    'demo.sum'
"""

from __future__ import annotations

import builtins
import difflib
import fnmatch
import functools
import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lle_core.errors import AmbiguousNameError, ComponentNotFoundError, DuplicateComponentError

#: The component kinds, each with its own registry.
KINDS: tuple[str, ...] = (
    "backbone",  # multi-scale feature extractors (lle_core.interfaces.Backbone)
    "block",  # reusable network parts (nn.Module factories) that are not a whole model
    "fusion",  # two-input fusion ops (lle_core.interfaces.FusionOp)
    "loss",  # loss terms and composite losses (lle_core.interfaces.LossTerm)
    "dataset",  # datasets yielding dicts with "low", optional "high", "name"
    "trainer",  # trainers (lle_core.interfaces.Trainer)
    "model",  # enhancers a user runs: low (B,3,H,W) in [0,1] -> enhanced in [0,1]
    "metric",  # image quality metrics
    "weights",  # shipped pretrained weight sets (lle_core.weights.WeightSet)
)

#: Plugin id -> distribution that provides it; the only "pip install ..." hints ever shown.
KNOWN_PLUGINS: dict[str, str] = {
    "core": "lle-core",
    "hf2": "lle-hf2",
    "neid": "lle-neid",
    "frlie": "lle-frlie",
    "auxnet": "lle-auxnet",
    "dln": "lle-dln",
}


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


class Params(BaseModel):
    """Base class of parameter models: unknown keys are rejected and defaults validated.

    Subclass it for a component's parameters; nested specs are declared with
    :func:`lle_core.spec.SpecOf`.
    """

    model_config = ConfigDict(extra="forbid", validate_default=True)


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


class Entry:
    """One registered component.

    Its description (parameters, summary, paper, capabilities) is read from the factory with
    :func:`describe`; explicit values given here override it (records such as weight sets that
    are not classes, and tests). A factory registered as a ``"module:Class"`` string is
    imported on first build or first use of its description; :meth:`listing` reads the
    component manifest cache (:mod:`lle_core.manifest`) instead, so that listing components
    does not import torch.

    Attributes:
        kind: Registry kind (one of :data:`KINDS`).
        name: Canonical name ``<plugin>.<component>``.
        factory: Callable building the component from validated keyword parameters (plus
            runtime keyword arguments such as ``model=`` for trainers), or a lazy
            ``"module:attribute"`` import path resolved on first build.
        plugin: Id of the plugin that registered it.
        distribution: Distribution that ships it.
        version: Version of that distribution.
        example: Small parameters the conformance kit builds the component with (e.g. a
            narrow width, ``pretrained: false``); for trainers also ``model``/``loss`` specs;
            for datasets the string ``"{paired_dir}"`` / ``"{low_dir}"`` / ``"{clean_dir}"``
            is replaced by a folder of generated images. ``None`` means the defaults.
    """

    def __init__(
        self,
        kind: str,
        name: str,
        factory: Callable[..., Any] | str,
        params: type[BaseModel] | str | None = None,
        summary: str | None = None,
        paper: str | None = None,
        capabilities: Capabilities | None = None,
        plugin: str = "unknown",
        distribution: str = "unknown",
        version: str = "0",
        example: dict[str, Any] | None = None,
    ) -> None:
        """Create an entry; ``None`` description fields are read from the factory."""
        self.kind = kind
        self.name = name
        self.factory = factory
        self.plugin = plugin
        self.distribution = distribution
        self.version = version
        self.example = example
        self._overrides: dict[str, Any] = {
            k: v
            for k, v in (("params_ref", params), ("summary", summary), ("paper", paper),
                         ("capabilities", capabilities))
            if v is not None
        }
        self._description: Description | None = None
        self._hint: Description | None = None

    def __repr__(self) -> str:
        return f"Entry({self.kind!r}, {self.name!r})"

    def description(self) -> Description:
        """The component's :class:`Description`, read from its class (explicit overrides applied).

        A lazily registered ``"module:Class"`` is imported: what lle does with a component
        (validate parameters, decide whether it needs weights, build it) never rests on the
        manifest cache, and a cached description that disagrees is corrected
        (:func:`lle_core.manifest.confirm`). Listing uses :meth:`listing` instead.
        """
        if self._description is None:
            found = describe(self.resolve_factory())
            if isinstance(self.factory, str):
                from lle_core import manifest  # local: manifest imports this module

                manifest.confirm(self.factory, found)
            self._description = self._with_overrides(found)
        return self._description

    def listing(self) -> Description:
        """What ``lle list`` shows: for a lazy class not imported yet, its cached description.

        A hint for display only (:mod:`lle_core.manifest`): it imports nothing when the
        cache or the package's shipped ``components.json`` knows the class.
        """
        if self._description is not None or not isinstance(self.factory, str):
            return self.description()
        if self._hint is None:
            from lle_core import manifest

            self._hint = self._with_overrides(manifest.describe_path(self.factory))
        return self._hint

    def _with_overrides(self, found: Description) -> Description:
        fields = {f: getattr(found, f) for f in ("params_ref", "summary", "paper",
                                                  "capabilities")}
        return Description(**{**fields, **self._overrides})

    @property
    def params(self) -> type[BaseModel]:
        """Pydantic model validating the parameters."""
        return self.description().params

    @property
    def summary(self) -> str:
        """One line saying what the component is."""
        return self.description().summary

    @property
    def paper(self) -> str | None:
        """Paper reference (sections, equations) or ``None``."""
        return self.description().paper

    @property
    def capabilities(self) -> Capabilities:
        """See :class:`Capabilities`."""
        return self.description().capabilities

    @property
    def short_name(self) -> str:
        """The name without its plugin prefix."""
        return self.name.split(".", 1)[-1]

    def resolve_factory(self) -> Callable[..., Any]:
        """Return the factory, importing it first when it was registered lazily."""
        if not isinstance(self.factory, str):
            return self.factory
        obj: Callable[..., Any] = import_path(self.factory)
        return obj

    def origin(self) -> str:
        """Human-readable origin: ``lle-neid 0.1.0 (plugin neid)``."""
        return f"{self.distribution} {self.version} (plugin {self.plugin})"


class Registry:
    """Entries of one kind, addressed by canonical or (when unique) short name."""

    def __init__(self, kind: str, ensure_loaded: Callable[[], None] | None = None) -> None:
        """Create an empty registry.

        Args:
            kind: The component kind it holds.
            ensure_loaded: Called before every lookup; loads plugins lazily.
        """
        self.kind = kind
        self._entries: dict[str, Entry] = {}
        self._ensure_loaded = ensure_loaded or (lambda: None)

    # -- mutation -------------------------------------------------------------------------
    def add(self, entry: Entry) -> Entry:
        """Add an entry.

        Raises:
            DuplicateComponentError: The canonical name is taken; names both origins.
            ValueError: The name is not plugin-qualified or the kind does not match.
        """
        if entry.kind != self.kind:
            raise ValueError(f"entry {entry.name!r} is of kind {entry.kind!r}, not {self.kind!r}")
        if "." not in entry.name or entry.name.startswith(".") or entry.name.endswith("."):
            raise ValueError(
                f"{self.kind} name {entry.name!r} must be plugin-qualified, e.g. 'myplugin.thing'"
            )
        existing = self._entries.get(entry.name)
        if existing is not None:
            raise DuplicateComponentError(
                f"{self.kind} {entry.name!r} is registered twice: by {existing.origin()} "
                f"and by {entry.origin()}"
            )
        self._entries[entry.name] = entry
        return entry

    def remove(self, name: str) -> None:
        """Remove an entry by canonical name (no error if absent)."""
        self._entries.pop(name, None)

    @contextmanager
    def temporary(self) -> Iterator[Registry]:
        """Context in which added or removed entries are restored on exit."""
        self._ensure_loaded()
        saved = dict(self._entries)
        try:
            yield self
        finally:
            self._entries = saved

    # -- lookup ---------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Sorted canonical names."""
        self._ensure_loaded()
        return sorted(self._entries)

    def entries(self) -> list[Entry]:
        """Entries sorted by canonical name."""
        self._ensure_loaded()
        return [self._entries[n] for n in sorted(self._entries)]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self.resolve(name)
        except ComponentNotFoundError:
            return False
        return True

    def __len__(self) -> int:
        self._ensure_loaded()
        return len(self._entries)

    def resolve(self, name: str) -> str:
        """Map a canonical or unique short name to the canonical name.

        Raises:
            AmbiguousNameError: A short name matches several entries.
            ComponentNotFoundError: Nothing matches; with suggestions and install hint.
        """
        self._ensure_loaded()
        if name in self._entries:
            return name
        if "." not in name:
            matches = sorted(n for n, e in self._entries.items() if e.short_name == name)
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise AmbiguousNameError(self.kind, name, matches)
        raise self._not_found(name)

    def get(self, name: str) -> Entry:
        """Return the entry for a canonical or unique short name (see :meth:`resolve`)."""
        return self._entries[self.resolve(name)]

    def list(self, pattern: str | None = None) -> builtins.list[Entry]:
        """Entries whose canonical name matches a shell-style wildcard (``"neid.*"``)."""
        entries = self.entries()
        if not pattern:
            return entries
        pat = pattern if any(c in pattern for c in "*?[") else f"*{pattern}*"
        return [e for e in entries if fnmatch.fnmatchcase(e.name, pat)]

    def _not_found(self, name: str) -> ComponentNotFoundError:
        from lle_core import plugins  # local: plugins imports this module

        candidates = list(self._entries) + [e.short_name for e in self._entries.values()]
        close = difflib.get_close_matches(name, candidates, n=5, cutoff=0.6)
        suggestions: list[str] = []
        for c in close:
            full = [c] if c in self._entries else self.resolve_quiet(c)
            for f in full:
                if f not in suggestions:
                    suggestions.append(f)
        prefix = name.split(".", 1)[0] if "." in name else None
        install_hint = None
        detail = None
        if prefix is not None and prefix not in plugins.loaded_plugin_ids():
            failure = plugins.load_errors().get(prefix)
            if failure is not None:
                detail = f"Plugin {prefix!r} is installed but failed to load: {failure.summary}"
            elif prefix in plugins.disabled_plugin_ids():
                detail = (
                    f"Plugin {prefix!r} is installed but disabled by "
                    f"{plugins.ALLOW_ENV}/{plugins.DISABLE_ENV}."
                )
            else:  # only distributions of this project are suggested: a guessed
                # ``lle-<prefix>`` is a name anyone could register on PyPI
                install_hint = KNOWN_PLUGINS.get(prefix)
                if install_hint is None:
                    detail = (
                        f"No installed plugin provides {prefix!r} (see `lle plugins`); it is "
                        "not one of the lle project's plugins."
                    )
        return ComponentNotFoundError(self.kind, name, suggestions, install_hint, detail)

    def resolve_quiet(self, short: str) -> builtins.list[str]:
        """Canonical names whose short name is ``short`` (no errors, no loading)."""
        return sorted(n for n, e in self._entries.items() if e.short_name == short)


class Registries:
    """The set of per-kind registries; plugin loading fills it lazily on first access."""

    def __init__(self, ensure_loaded: Callable[[], None] | None = None) -> None:
        """Create one empty :class:`Registry` per kind in :data:`KINDS`."""
        self._by_kind = {k: Registry(k, ensure_loaded) for k in KINDS}

    def __getitem__(self, kind: str) -> Registry:
        try:
            return self._by_kind[kind]
        except KeyError:
            raise KeyError(
                f"unknown component kind {kind!r}; kinds are: {', '.join(KINDS)}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_kind)

    def add(self, entry: Entry) -> Entry:
        """Add an entry to the registry of its kind."""
        return self[entry.kind].add(entry)

    @contextmanager
    def temporary(self) -> Iterator[Registries]:
        """Context in which all registries are restored on exit."""
        saved = {k: r._entries for k, r in self._by_kind.items()}
        for r in self._by_kind.values():
            r._ensure_loaded()
            r._entries = dict(r._entries)
        try:
            yield self
        finally:
            for k, r in self._by_kind.items():
                r._entries = saved[k]


_REGISTRIES: Registries | None = None


def registries() -> Registries:
    """The process-wide registries (plugins load on first lookup)."""
    global _REGISTRIES
    if _REGISTRIES is None:
        from lle_core import plugins

        _REGISTRIES = Registries(ensure_loaded=plugins.ensure_loaded)
    return _REGISTRIES
