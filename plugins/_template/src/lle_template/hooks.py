"""Registration of the plugin's components (loaded through the ``lle.plugins`` entry point).

Each class describes itself (parameters, summary, paper, capabilities); this module only names
them, as lazy ``"module:Class"`` paths, so loading the plugin imports no torch.
"""

from __future__ import annotations

from lle_core.hookspecs import RegisterFn, hookimpl

#: The plugin API this plugin targets (core refuses a plugin written for another one).
LLE_PLUGIN_API = 1


@hookimpl
def lle_register(register: RegisterFn) -> None:
    """Register TemplateNet as ``template.model``.

    ``example`` holds small parameters the conformance kit builds the model with.
    """
    register("model", "model", "lle_template.model:TemplateNet", example={"width": 8})
