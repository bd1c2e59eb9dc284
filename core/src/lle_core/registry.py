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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from lle_core.description import Capabilities as Capabilities  # re-exported: kernel API
from lle_core.description import Description as Description
from lle_core.description import EmptyParams as EmptyParams
from lle_core.description import Params as Params
from lle_core.description import describe as describe
from lle_core.description import import_path as import_path
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
    "weights",  # shipped pretrained weight sets (lle_core.weight_sets.WeightSet)
)

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
        candidates = list(self._entries) + [e.short_name for e in self._entries.values()]
        close = difflib.get_close_matches(name, candidates, n=5, cutoff=0.6)
        suggestions: list[str] = []
        for c in close:
            full = [c] if c in self._entries else self.resolve_quiet(c)
            for f in full:
                if f not in suggestions:
                    suggestions.append(f)
        prefix = name.split(".", 1)[0] if "." in name else None
        install_hint, detail = _PLUGINS.explain_missing(prefix) if prefix else (None, None)
        if prefix is None:  # a bare plugin id (``--model neid``) whose plugin failed to load
            why = _PLUGINS.explain_missing(name)[1]
            detail = why if why and "is installed but" in why else None
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


@dataclass
class PluginConnection:
    """How the registries reach plugin loading, which sits above them in the kernel.

    :mod:`lle_core.plugins` fills this in when it is imported (``lle_core``'s package
    ``__init__`` imports it), so the registry imports nothing of plugin loading (no cycle).

    Attributes:
        ensure_loaded: Loads every plugin once; called before every lookup.
        explain_missing: ``explain_missing(prefix) -> (install hint, detail)`` for a name
            whose plugin prefix is not loaded (failed, disabled or not installed).
    """

    ensure_loaded: Callable[[], None] = lambda: None
    explain_missing: Callable[[str], tuple[str | None, str | None]] = lambda prefix: (None, None)


_PLUGINS = PluginConnection()


def connect_plugins(
    ensure_loaded: Callable[[], None],
    explain_missing: Callable[[str], tuple[str | None, str | None]],
) -> None:
    """Connect plugin loading to the process-wide registries (see :class:`PluginConnection`)."""
    _PLUGINS.ensure_loaded = ensure_loaded
    _PLUGINS.explain_missing = explain_missing


_REGISTRIES: Registries | None = None


def registries() -> Registries:
    """The process-wide registries (plugins load on first lookup)."""
    global _REGISTRIES
    if _REGISTRIES is None:
        _REGISTRIES = Registries(ensure_loaded=lambda: _PLUGINS.ensure_loaded())
    return _REGISTRIES
