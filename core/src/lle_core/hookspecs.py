"""The plugin API: every hook a plugin can implement, in one module.

A plugin is a distribution that declares an entry point in the group ``lle.plugins``.
The entry-point *name* is the plugin id (``neid``); its target is a small module of hook
implementations that imports nothing heavy at load time::

    # pyproject.toml of the plugin
    [project.entry-points."lle.plugins"]
    myplugin = "lle_myplugin.hooks"

    # lle_myplugin/hooks.py
    from lle_core.hookspecs import hookimpl

    LLE_PLUGIN_API = 1  # the plugin API version this plugin targets

    @hookimpl
    def lle_register(register):
        register("fusion", "gated", "lle_myplugin.fusion:GatedFusion")

    # lle_myplugin/fusion.py: the class describes itself
    class GatedFusion(FusionOp):
        '''Sigmoid-gated sum of a and b.'''   # the summary `lle list` shows

        Params = GatedParams                   # pydantic model of the parameters
        paper = "Doe et al. 2024, Sec. 3, Eq. 2"

Besides components a plugin can add ``lle`` subcommands (:func:`lle_commands`, returning
:class:`Command` records) and inference backends (:func:`lle_inference_backends`, returning
:class:`Backend` records); core's ONNX Runtime backend comes through the same hook. Core calls
every hook through pluggy, one plugin at a time, so that one plugin's failure is its own.

Core loads each plugin in isolation: a plugin that fails to import, targets another API
version or raises inside its hook is recorded with its error (``lle plugins`` shows it) and
every other plugin keeps working. Core's own components register through this same hook.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pluggy

#: Version of the plugin API. A plugin module states the version it targets in the
#: module attribute ``LLE_PLUGIN_API``; core refuses plugins that target another one.
PLUGIN_API_VERSION = 1

PROJECT = "lle"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class RegisterFn(Protocol):
    """The ``register`` callback handed to :func:`lle_register`."""

    def __call__(
        self,
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
        """Register one component; its description is read from its class.

        A component class carries its own description (see
        :func:`lle_core.registry.describe`): ``Params`` (pydantic parameter model), the first
        docstring line (or ``summary``), ``paper`` and ``default_capabilities``. The hook only
        names it.

        Args:
            kind: One of :data:`lle_core.registry.KINDS`.
            name: Component name. The plugin id is prefixed automatically (``"channel_ff"``
                becomes ``"neid.channel_ff"``); an explicit prefix must be the plugin's own id.
            factory: The class as a lazy ``"module:Class"`` path (imported on first build;
                listing reads its description from :mod:`lle_core.manifest`), or the class
                or callable itself.
            example: Small parameters for the conformance kit (see
                :attr:`lle_core.registry.Entry.example`).
            params: Only for factories that are not self-describing classes (records such as
                weight sets, functions in tests): overrides the description's parameter model.
            summary: Same, for the one-line summary.
            paper: Same, for the paper reference.
            capabilities: Same, for the :class:`lle_core.registry.Capabilities` (or a dict).
        """


@hookspec
def lle_register(register: RegisterFn) -> None:
    """Register the plugin's components by calling ``register(...)`` once per component."""


@hookspec
def lle_register_shipped(package: str, register: RegisterFn) -> None:
    """Register what ``package`` ships as data files, by convention (core implements it).

    Core calls its own implementation for every plugin's top-level package right after that
    plugin's :func:`lle_register`, with ``register`` namespaced to the plugin: each
    ``<package>/weights/<name>.json`` record (:mod:`lle_core.weight_sets`) becomes the weight set
    ``<plugin>.<name>``. A plugin ships the files and registers nothing by hand.
    """


@dataclass(frozen=True)
class Command:
    """An ``lle`` subcommand added by a plugin (see :func:`lle_commands`).

    Callables may be given as lazy ``"module:function"`` paths: ``add_arguments`` is imported
    when the parser is built (keep that module light), ``run`` only when the command runs.

    Attributes:
        name: The subcommand (``lle <name>``); a name core or another plugin already uses is
            refused (the command is left out and ``lle`` says so).
        help: One line shown by ``lle --help``.
        run: ``run(args) -> exit code`` with the parsed ``argparse.Namespace``.
        add_arguments: ``add_arguments(parser)`` adds the command's options.
        description: Longer text for ``lle <name> --help`` (default: ``help``).
    """

    name: str
    help: str
    run: str | Callable[[argparse.Namespace], int]
    add_arguments: str | Callable[[argparse.ArgumentParser], None] | None = None
    description: str | None = None


@dataclass(frozen=True)
class Backend:
    """An inference backend: runs a model file through :func:`lle_core.inference.enhance`.

    ``load(path)`` returns an enhancer: a callable ``(B, 3, H, W)`` float32 in ``[0, 1]`` ->
    ``(B, 3, s·H, s·W)`` (an ``nn.Module``) with a ``capabilities`` property
    (:class:`lle_core.registry.Capabilities`); ``enhance`` pads, tiles and checks its
    output exactly as for a PyTorch model.

    Attributes:
        name: What ``lle enhance --backend NAME`` and
            :func:`lle_core.inference.backends.load_backend` take (``torch`` is reserved).
        summary: One line saying what it runs (for listings and messages).
        load: ``load(path) -> enhancer``, or its lazy ``"module:function"`` path.
        suffixes: Model-file suffixes it reads (``(".onnx",)``), for messages.
    """

    name: str
    summary: str
    load: str | Callable[[str | Path], Any]
    suffixes: tuple[str, ...] = ()


@hookspec
def lle_commands() -> Sequence[Command]:
    """Return the ``lle`` subcommands this plugin adds (:class:`Command` records)."""
    return ()


@hookspec
def lle_inference_backends() -> Sequence[Backend]:
    """Return the inference backends this plugin provides (:class:`Backend` records)."""
    return ()
