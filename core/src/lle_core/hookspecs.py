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
        register("fusion", "gated", "lle_myplugin.fusion:GatedFusion",
                 params="lle_myplugin.fusion:GatedParams", summary="Sigmoid-gated sum")

Core loads each plugin in isolation: a plugin that fails to import, targets another API
version or raises inside its hook is recorded with its error (``lle plugins`` shows it) and
every other plugin keeps working. Core's own components register through this same hook.
"""

from __future__ import annotations

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
        params: Any = None,
        summary: str = "",
        paper: str | None = None,
        capabilities: Any = None,
        example: dict[str, Any] | None = None,
    ) -> None:
        """Register one component.

        Args:
            kind: One of ``backbone, block, fusion, loss, dataset, trainer, model, metric``.
            name: Component name. The plugin id is prefixed automatically (``"channel_ff"``
                becomes ``"neid.channel_ff"``); an explicit prefix must be the plugin's own id.
            factory: A callable taking the validated parameters as keyword arguments, or a
                lazy ``"module:attribute"`` path imported on first build.
            params: Pydantic model class (or ``"module:attribute"`` path to one) that
                validates the parameters; ``None`` for a component without parameters.
            summary: One line saying what the component is.
            paper: Paper reference, e.g. ``"Jiang et al. 2021, Sec. 3.2, Eq. (4)"``.
            capabilities: :class:`lle_core.registry.Capabilities` or a dict of its fields;
                ``None`` takes ``factory.default_capabilities`` when the factory has one.
            example: Small parameters for the conformance kit (see
                :attr:`lle_core.registry.Entry.example`).
        """


@hookspec
def lle_register(register: RegisterFn) -> None:
    """Register the plugin's components by calling ``register(...)`` once per component."""
