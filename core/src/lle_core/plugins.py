"""Plugin discovery and loading (entry-point group ``lle.plugins``, hooks from pluggy).

Loading is lazy (first registry lookup) and idempotent. Each plugin loads in isolation: a
failure (import error, wrong API version, exception or duplicate inside its hook) is recorded
in :func:`plugin_records` with its traceback, its partial registrations are rolled back, and
every other plugin keeps working.

Environment variables:
    ``LLE_DISABLE_PLUGIN_AUTOLOAD=1``: load no entry-point plugin except core's built-ins.
    ``LLE_PLUGINS=neid,dln``: allow-list of plugin ids to load (core is always loaded).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any, Literal

import pluggy
from pydantic import BaseModel

from lle_core import hookspecs
from lle_core.errors import PluginLoadError
from lle_core.registry import KINDS, Capabilities, Entry, connect_plugins, registries

GROUP = "lle.plugins"
DISABLE_ENV = "LLE_DISABLE_PLUGIN_AUTOLOAD"
ALLOW_ENV = "LLE_PLUGINS"
CORE_ID = "core"


@dataclass
class PluginRecord:
    """What happened when a plugin was loaded (shown by ``lle plugins``)."""

    id: str
    module: str
    distribution: str
    version: str
    status: Literal["loaded", "failed", "disabled"]
    components: list[str] = field(default_factory=list)
    error: str | None = None
    traceback: str | None = None

    @property
    def summary(self) -> str:
        """One-line description of the error (empty when loaded)."""
        return self.error or ""


_lock = threading.RLock()
_state: dict[str, Any] = {"loaded": False, "loading": False}
_records: dict[str, PluginRecord] = {}
_manager: pluggy.PluginManager | None = None


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def _autoload_disabled() -> bool:
    return os.environ.get(DISABLE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _allow_list() -> set[str] | None:
    raw = os.environ.get(ALLOW_ENV)
    if raw is None or not raw.strip():
        return None
    return {p.strip() for p in raw.split(",") if p.strip()} | {CORE_ID}


def _is_enabled(plugin_id: str) -> bool:
    if plugin_id == CORE_ID:
        return True
    if _autoload_disabled():
        return False
    allow = _allow_list()
    return allow is None or plugin_id in allow


def ensure_loaded() -> None:
    """Load all plugins once (cheap no-op afterwards; safe to call re-entrantly).

    A second thread arriving while a (slow) plugin import runs waits for the loading to
    finish instead of seeing a half-filled registry; only the loading thread itself (a
    plugin that looks up components while it registers) returns at once.
    """
    if _state["loaded"]:
        return
    with _lock:  # an RLock: the loading thread re-enters, other threads wait here
        if _state["loaded"] or _state["loading"]:
            return
        _state["loading"] = True
        try:
            _load_all()
        finally:
            _state["loading"] = False
            _state["loaded"] = True


#: The only entry point allowed to claim the id ``core``.
CORE_MODULE = "lle_core.builtins"
CORE_DISTRIBUTION = "lle-core"


def _dist_name(ep: metadata.EntryPoint) -> str:
    return ep.dist.name if ep.dist is not None else "unknown"


def _dist_version(ep: metadata.EntryPoint) -> str:
    return ep.dist.version if ep.dist is not None else "0"


def _normalized(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _entry_points() -> list[metadata.EntryPoint]:
    """Entry points of the group, each (name, distribution, target) once, core first.

    An editable and a regular install of one distribution can list one plugin twice; those
    copies are merged. Two *different* distributions claiming one id are all returned (the
    conflict is reported by :func:`_load_all`).
    """
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for ep in metadata.entry_points(group=GROUP):
        key = (ep.name, _normalized(_dist_name(ep)), ep.value)
        if key not in seen:
            seen.add(key)
            unique.append(ep)
    return sorted(unique, key=lambda ep: (ep.name != CORE_ID, ep.name))


def _claimant(ep: metadata.EntryPoint) -> str:
    return f"{_dist_name(ep)} {_dist_version(ep)} ({ep.name} = {ep.value})"


def _is_real_core(ep: metadata.EntryPoint) -> bool:
    return ep.value == CORE_MODULE and _normalized(_dist_name(ep)) in (
        CORE_DISTRIBUTION,
        "unknown",
    )


def _load_all() -> None:
    """Load core, then every entry-point plugin; an id claimed twice loads neither claimant.

    The id ``core`` belongs to lle-core: core's built-ins always load from
    :data:`CORE_MODULE`, and any other distribution declaring ``core = ...`` is recorded as a
    failed plugin ``core!<distribution>`` that names both.
    """
    global _manager
    _manager = _new_manager()
    by_id: dict[str, list[metadata.EntryPoint]] = {}
    for ep in _entry_points():
        by_id.setdefault(ep.name, []).append(ep)
    _load_one(CORE_ID, CORE_MODULE, CORE_DISTRIBUTION, _core_version(), None)
    for impostor in (ep for ep in by_id.pop(CORE_ID, []) if not _is_real_core(ep)):
        rid = f"{CORE_ID}!{_dist_name(impostor)}"
        _records[rid] = PluginRecord(
            rid, impostor.value, _dist_name(impostor), _dist_version(impostor), "failed",
            error=(
                f"plugin id 'core' is reserved for {CORE_DISTRIBUTION} ({CORE_MODULE}) but "
                f"{_claimant(impostor)} claims it too; it is not loaded (uninstall "
                f"{_dist_name(impostor)})"
            ),
        )
    for plugin_id, eps in by_id.items():
        first = eps[0]
        dist, version = _dist_name(first), _dist_version(first)
        if len(eps) > 1:
            _records[plugin_id] = PluginRecord(
                plugin_id, ", ".join(ep.value for ep in eps),
                " + ".join(_dist_name(ep) for ep in eps), version, "failed",
                error=(
                    f"plugin id {plugin_id!r} is claimed by {len(eps)} distributions: "
                    + " and ".join(_claimant(ep) for ep in eps)
                    + "; neither is loaded: uninstall the one you do not want"
                ),
            )
            continue
        if not _is_enabled(plugin_id):
            _records[plugin_id] = PluginRecord(plugin_id, first.value, dist, version, "disabled")
            continue
        _load_one(plugin_id, first.value, dist, version, first)


def _core_version() -> str:
    try:
        return metadata.version("lle-core")
    except metadata.PackageNotFoundError:
        return "0"


def _load_one(
    plugin_id: str,
    module_path: str,
    distribution: str,
    version: str,
    ep: metadata.EntryPoint | None,
) -> None:
    ctrl_c: list[bool] | None = None
    try:
        with _watch_ctrl_c() as ctrl_c, _import_watchdog(plugin_id, distribution):
            module = ep.load() if ep is not None else importlib.import_module(module_path)
    except BaseException as exc:
        _reraise_ctrl_c(exc, ctrl_c)
        _records[plugin_id] = PluginRecord(
            plugin_id,
            module_path,
            distribution,
            version,
            "failed",
            error=f"import of {module_path!r} failed: {_describe(exc)}",
            traceback=traceback.format_exc(),
        )
        return
    register_plugin(module, plugin_id=plugin_id, distribution=distribution, version=version)


#: Seconds a plugin's import may take in the ``lle`` command before it stops with an error
#: naming the plugin (``None``: no limit, the default for library use); set by the CLI from
#: ``LLE_PLUGIN_IMPORT_TIMEOUT`` (:func:`lle_core.options.env_plugin_import_timeout`).
_import_limit: list[float | None] = [None]


def arm_import_watchdog(seconds: float | None) -> None:
    """Stop the process when a plugin import runs longer than ``seconds`` (``None``: never).

    On expiry one line naming the plugin goes to stderr and the process exits with 1. Only
    the ``lle`` command arms it: a library user's process is never ended.
    """
    _import_limit[0] = seconds


@contextmanager
def _import_watchdog(plugin_id: str, distribution: str) -> Iterator[None]:
    """Watch one plugin import (see :func:`arm_import_watchdog`)."""
    seconds = _import_limit[0]
    if seconds is None:
        yield
        return

    def fire() -> None:  # an import cannot be interrupted safely: say why, then stop
        message = (
            f"error: importing plugin {plugin_id!r} ({distribution}) has taken more than "
            f"{seconds:g} s; lle stops instead of hanging. Leave it out with "
            f"LLE_PLUGINS=<other plugin ids> or uninstall {distribution} "
            "(LLE_PLUGIN_IMPORT_TIMEOUT=N allows more seconds)\n"
        )
        with contextlib.suppress(OSError):
            os.write(2, message.encode())
        os._exit(1)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def register_plugin(
    plugin: ModuleType | object,
    *,
    plugin_id: str,
    distribution: str | None = None,
    version: str = "0",
) -> PluginRecord:
    """Register an in-process plugin object or module (tests, notebooks, private plugins).

    The object must carry ``LLE_PLUGIN_API`` and implement :func:`hookspecs.lle_register`.
    Failures are recorded like those of entry-point plugins (a second plugin with the same
    id raises :class:`PluginLoadError` instead, leaving the first one untouched).

    Args:
        plugin: Module or object with hook implementations.
        plugin_id: Prefix of its component names.
        distribution: Distribution name shown in listings (default ``lle-<id>``).
        version: Version shown in listings.

    Returns:
        The :class:`PluginRecord` describing the outcome.
    """
    ensure_loaded()
    with _lock:
        if _manager is not None and _manager.has_plugin(plugin_id):
            raise PluginLoadError(
                f"a plugin with id {plugin_id!r} is already registered "
                f"({_records[plugin_id].module}); unregister it first"
            )
        record = PluginRecord(
            plugin_id,
            getattr(plugin, "__name__", type(plugin).__name__),
            distribution or f"lle-{plugin_id}",
            version,
            "loaded",
        )
        _records[plugin_id] = record
        ctrl_c: list[bool] | None = None
        try:
            api = getattr(plugin, "LLE_PLUGIN_API", None)
            if api != hookspecs.PLUGIN_API_VERSION:
                raise PluginLoadError(
                    f"plugin {plugin_id!r} targets plugin API {api!r}, core provides "
                    f"{hookspecs.PLUGIN_API_VERSION} (set LLE_PLUGIN_API = "
                    f"{hookspecs.PLUGIN_API_VERSION} in {record.module})"
                )
            assert _manager is not None
            _manager.register(plugin, name=plugin_id)
            if not any(
                i.plugin_name == plugin_id for i in _manager.hook.lle_register.get_hookimpls()
            ):
                raise PluginLoadError(f"plugin {plugin_id!r} implements no lle_register hook")
            pending: list[Entry] = []
            callback = _make_register(plugin_id, record, pending)
            with _watch_ctrl_c() as ctrl_c:
                hook_of(plugin_id, "lle_register")(register=callback)
                package = _package_of(plugin)
                if package is not None and _manager.has_plugin(CORE_ID):
                    # by convention, through core's implementation: weights/*.json records
                    hook_of(CORE_ID, "lle_register_shipped")(package=package, register=callback)
            _commit(pending, record)
        except BaseException as exc:
            _reraise_ctrl_c(exc, ctrl_c)
            if _manager is not None and _manager.has_plugin(plugin_id):
                _manager.unregister(name=plugin_id)
            record.status = "failed"
            record.components = []
            record.error = _describe(exc)
            record.traceback = traceback.format_exc()
        return record


def _package_of(plugin: ModuleType | object) -> str | None:
    """The top-level package of a plugin module, whose data files follow lle's conventions.

    ``None`` for an in-process object or a module outside a package (nothing is looked up).
    """
    if not isinstance(plugin, ModuleType):
        return None
    top = plugin.__name__.partition(".")[0]
    module = sys.modules.get(top)
    return top if module is not None and hasattr(module, "__path__") else None


def hook_of(plugin_id: str, hook: str) -> Any:
    """The pluggy caller of ``hook`` restricted to one registered plugin.

    Core calls every hook one plugin at a time through this (pluggy's own calling, not the
    implementation by hand), so that an exception is attributed to its plugin and contained.
    """
    assert _manager is not None
    others = [p for name, p in _manager.list_name_plugin() if name != plugin_id]
    return _manager.subset_hook_caller(hook, remove_plugins=others)


@dataclass
class HookResults:
    """What one hook returned, plugin by plugin (see :func:`call_hook`).

    Attributes:
        results: ``(plugin id, item)`` for each item of each plugin's returned sequence,
            core first, then plugins by id.
        errors: ``(plugin id, one-line error)`` of each plugin whose implementation raised
            or returned something other than a sequence; its items are left out.
    """

    results: list[tuple[str, Any]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


def call_hook(hook: str) -> HookResults:
    """Call a sequence-returning hook (``lle_commands``...) of every loaded plugin.

    Each plugin is called on its own through :func:`hook_of`; one that raises (or returns
    something that is not a list/tuple) is recorded in :attr:`HookResults.errors` and the
    others still count. A real Ctrl-C is re-raised.
    """
    ensure_loaded()
    out = HookResults()
    with _lock:
        ids = sorted(loaded_plugin_ids(), key=lambda r: (r != CORE_ID, r))
        for plugin_id in ids:
            ctrl_c: list[bool] | None = None
            try:
                with _watch_ctrl_c() as ctrl_c:
                    returned = hook_of(plugin_id, hook)()
                for items in returned:  # pluggy: one result per implementation
                    if not isinstance(items, list | tuple):
                        raise PluginLoadError(
                            f"{hook} must return a list, got {type(items).__name__}"
                        )
                    out.results.extend((plugin_id, item) for item in items)
            except BaseException as exc:
                _reraise_ctrl_c(exc, ctrl_c)
                out.errors.append((plugin_id, f"{hook}: {_describe(exc)}"))
    return out


def _describe(exc: BaseException) -> str:
    """One line for a plugin failure (``sys.exit`` and interrupts named as such)."""
    if isinstance(exc, SystemExit):
        return f"the plugin called sys.exit({exc.code!r}); lle contains it and goes on"
    if isinstance(exc, KeyboardInterrupt):
        return "the plugin raised KeyboardInterrupt itself (no Ctrl-C was pressed)"
    return f"{type(exc).__name__}: {exc}"


@contextmanager
def _watch_ctrl_c() -> Iterator[list[bool]]:
    """Run plugin code: its ``print`` output goes to stderr; note whether a real Ctrl-C arrives.

    ``sys.stdout`` points at ``sys.stderr`` meanwhile, so that a plugin printing at import or
    registration never corrupts what ``lle`` prints on stdout (``lle list | cut``, JSON).
    Yields a one-item list that becomes ``[True]`` on SIGINT. Plugin code may raise
    ``SystemExit`` or ``KeyboardInterrupt`` itself; only an interrupt the user actually
    sent must stop ``lle``. Outside the main thread signals cannot be watched, and every
    ``KeyboardInterrupt`` counts as Ctrl-C.
    """
    with contextlib.redirect_stdout(sys.stderr):
        yield from _watch_sigint()


def _watch_sigint() -> Iterator[list[bool]]:
    """The Ctrl-C part of :func:`_watch_ctrl_c`."""
    seen = [False]
    if threading.current_thread() is not threading.main_thread():
        seen[0] = True
        yield seen
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        seen[0] = True
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)


def _reraise_ctrl_c(exc: BaseException, ctrl_c: list[bool] | None) -> None:
    """Re-raise a Ctrl-C the user sent; everything else a plugin raises is contained."""
    if isinstance(exc, KeyboardInterrupt) and (ctrl_c is None or ctrl_c[0]):
        raise exc


def _commit(pending: list[Entry], record: PluginRecord) -> None:
    """Add a plugin's entries all together, or none of them."""
    regs = registries()
    added: list[Entry] = []
    try:
        for entry in pending:
            regs.add(entry)
            added.append(entry)
    except BaseException:
        for entry in added:
            regs[entry.kind].remove(entry.name)
        raise
    record.components = [f"{e.kind}:{e.name}" for e in pending]


def _make_register(
    plugin_id: str, record: PluginRecord, pending: list[Entry]
) -> Callable[..., None]:
    def register(
        kind: str,
        name: str,
        factory: Any,
        *,
        example: dict[str, Any] | None = None,
        params: Any = None,
        summary: str | None = None,
        paper: str | None = None,
        capabilities: Any = None,
    ) -> None:
        if kind not in KINDS:
            raise PluginLoadError(
                f"plugin {plugin_id!r} registers {name!r} under unknown kind {kind!r}; "
                f"kinds are: {', '.join(KINDS)}"
            )
        if "." in name:
            prefix, _, short = name.partition(".")
            if prefix != plugin_id:
                raise PluginLoadError(
                    f"plugin {plugin_id!r} may only register names under '{plugin_id}.', "
                    f"not {name!r}"
                )
            name = short
        if not (callable(factory) or (isinstance(factory, str) and ":" in factory)):
            raise PluginLoadError(
                f"factory of {plugin_id}.{name} must be a class, a callable or a "
                f"'module:Class' path, got {factory!r}"
            )
        if params is not None and not (
            isinstance(params, str) or (isinstance(params, type) and issubclass(params, BaseModel))
        ):
            raise PluginLoadError(f"params of {plugin_id}.{name} must be a pydantic model class")
        if capabilities is not None and not isinstance(capabilities, Capabilities):
            capabilities = Capabilities(**dict(capabilities))
        pending.append(
            Entry(
                kind=kind,
                name=f"{plugin_id}.{name}",
                factory=factory,
                params=params,
                summary=summary,
                paper=paper,
                capabilities=capabilities,
                plugin=plugin_id,
                distribution=record.distribution,
                version=record.version,
                example=dict(example) if example is not None else None,
            )
        )

    return register


def plugin_records() -> list[PluginRecord]:
    """Records of every plugin seen (loaded, failed or disabled), core first."""
    ensure_loaded()
    return sorted(_records.values(), key=lambda r: (r.id != CORE_ID, r.id))


def loaded_plugin_ids() -> set[str]:
    """Ids of plugins that loaded successfully."""
    ensure_loaded()
    return {r.id for r in _records.values() if r.status == "loaded"}


def load_errors() -> dict[str, PluginRecord]:
    """Plugins that failed to load, by id."""
    ensure_loaded()
    return {r.id: r for r in _records.values() if r.status == "failed"}


def disabled_plugin_ids() -> set[str]:
    """Installed plugins skipped because of the environment variables."""
    ensure_loaded()
    return {r.id for r in _records.values() if r.status == "disabled"}


def unregister_plugin(plugin_id: str) -> None:
    """Remove a plugin and all its components (used by tests and notebooks)."""
    with _lock:
        record = _records.pop(plugin_id, None)
        if record is not None:
            for item in record.components:
                kind, _, name = item.partition(":")
                registries()[kind].remove(name)
        if _manager is not None and _manager.has_plugin(plugin_id):
            _manager.unregister(name=plugin_id)


def reload_plugins() -> None:
    """Forget every registration and load the plugins again (honours the env variables)."""
    with _lock:
        for r in list(_records):
            unregister_plugin(r)
        regs = registries()
        for kind in regs:
            regs[kind]._entries.clear()
        _state["loaded"] = False
    ensure_loaded()


@contextmanager
def temporary_plugin(
    plugin: ModuleType | object, *, plugin_id: str, version: str = "0"
) -> Iterator[PluginRecord]:
    """Register an in-process plugin for the duration of a ``with`` block (tests, notebooks).

    Example:
        >>> with temporary_plugin(MyHooks(), plugin_id="mine") as record:  # doctest: +SKIP
        ...     assert record.status == "loaded", record.error
    """
    record = register_plugin(plugin, plugin_id=plugin_id, version=version)
    try:
        yield record
    finally:
        unregister_plugin(plugin_id)


def explain_missing(prefix: str) -> tuple[str | None, str | None]:
    """Why no component is found under plugin id ``prefix``: ``(install hint, detail)``.

    A loaded plugin explains nothing; a failed or disabled one says so; an unknown one gets a
    ``pip install`` hint only when an installed plugin names its distribution
    (:func:`declared_sources`).
    """
    if prefix in loaded_plugin_ids():
        return None, None
    failure = load_errors().get(prefix)
    if failure is not None:
        return None, f"Plugin {prefix!r} is installed but failed to load: {failure.summary}"
    if prefix in disabled_plugin_ids():
        return None, (f"Plugin {prefix!r} is installed but disabled by "
                      f"{ALLOW_ENV}/{DISABLE_ENV}.")
    # only a distribution an installed plugin names is suggested: a guessed ``lle-<prefix>``
    # is a name anyone could register on PyPI
    install_hint = declared_sources().get(_normalized(prefix))
    if install_hint is None:
        return None, (f"No installed plugin provides {prefix!r} (see `lle plugins`), and none "
                      "names the distribution that does.")
    return install_hint, None


def declared_sources() -> dict[str, str]:
    """Plugin id -> distribution, as installed plugins declare them for the plugins they use.

    A plugin whose components refer to another plugin's (HF2 configs may use NEID's fusion)
    names it as an optional extra ``plugin-<id>``, e.g. in lle-hf2's ``pyproject.toml``:
    ``[project.optional-dependencies] plugin-neid = ["lle-neid"]``. Core itself names no
    plugin.
    """
    found: dict[str, str] = {}
    head = 'extra=="plugin-'
    for dist in metadata.distributions():
        if not any(ep.group == GROUP for ep in dist.entry_points):
            continue
        for req in dist.requires or []:
            spec, _, marker = req.partition(";")
            extra = marker.replace("'", '"').replace(" ", "")
            if extra.startswith(head) and extra.endswith('"'):
                name = spec.strip().split("[")[0]
                for stop in "<>=!~ (":
                    name = name.split(stop)[0]
                found.setdefault(_normalized(extra[len(head):-1]), name.strip())
    return found


connect_plugins(ensure_loaded, explain_missing)
