"""Core's own components, registered through the same plugin hook as every plugin.

Each listed module exposes ``register_components(register)``.
"""

from __future__ import annotations

import importlib

from lle_core.hookspecs import RegisterFn, hookimpl

LLE_PLUGIN_API = 1

#: Modules of lle_core that contribute components.
COMPONENT_MODULES: tuple[str, ...] = (
    "lle_core.fusion_ops",
    "lle_core.losses",
    "lle_core.metrics",
    "lle_core.data",
    "lle_core.baselines",
    "lle_core.engine",
    "lle_core.models",
)


@hookimpl
def lle_register(register: RegisterFn) -> None:
    """Register every core component (names under ``core.``)."""
    for module_name in COMPONENT_MODULES:
        importlib.import_module(module_name).register_components(register)
    from lle_core.weights import register_shipped_weights

    register_shipped_weights(register, "lle_core")  # weights/*.json: trained sets
