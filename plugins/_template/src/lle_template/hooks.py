"""Registration of the plugin's components, commands and backends (``lle.plugins`` entry point).

Each class describes itself (parameters, summary, paper, capabilities); this module only names
them, as lazy ``"module:Class"`` paths, so loading the plugin imports no torch. The same holds
for the ``lle`` subcommand (``template-export``) and the inference backend
(``template-program``) it adds.
"""

from __future__ import annotations

from lle_core.hookspecs import Backend, Command, RegisterFn, hookimpl

#: The plugin API this plugin targets (core refuses a plugin written for another one).
LLE_PLUGIN_API = 1


@hookimpl
def lle_register(register: RegisterFn) -> None:
    """Register TemplateNet as ``template.model``.

    ``example`` holds small parameters the conformance kit builds the model with.
    """
    register("model", "model", "lle_template.model:TemplateNet", example={"width": 8})


@hookimpl
def lle_commands() -> list[Command]:
    """``lle template-export --weights W -o model.pt2``: a checkpoint to a program file."""
    return [Command(
        name="template-export",
        help="export a template.model checkpoint to a .pt2 program (--backend template-program)",
        add_arguments="lle_template.commands:add_export_arguments",
        run="lle_template.commands:run_export",
    )]


@hookimpl
def lle_inference_backends() -> list[Backend]:
    """``template-program``: runs a ``.pt2`` file written by ``lle template-export``."""
    return [Backend(
        name="template-program",
        summary="a torch.export program written by lle template-export",
        load="lle_template.program:ProgramEnhancer",
        suffixes=(".pt2",),
    )]
