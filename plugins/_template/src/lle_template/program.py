"""TemplateNet as a ``torch.export`` program file (``.pt2``), and the backend that runs one.

:func:`export_program` writes the model's inference ``forward`` (``(B, 3, H, W)`` in ``[0, 1]``
-> ``(B, 3, H, W)``, batch, height and width dynamic) with its capabilities in the file;
:class:`ProgramEnhancer` loads it for :func:`lle_core.inference.enhance`, which pads and tiles
it like the PyTorch model. ``lle template-export`` and ``lle enhance --backend
template-program`` are the command-line side (see ``hooks.py``).
"""

from __future__ import annotations

import io
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.export import Dim

from lle_core.checkpoint import mark_weights
from lle_core.files import atomic_write
from lle_core.inference import model_capabilities
from lle_core.registry import Capabilities

#: Name of the extra file holding the model's capabilities (JSON) inside the program.
CAPABILITIES_FILE = "lle.capabilities"


def export_program(model: nn.Module, path: str | Path) -> Path:
    """Export ``model`` (eval mode, float32, CPU) to a ``.pt2`` program, written atomically."""
    model = model.to("cpu").float().eval()
    sample = torch.rand(2, 3, 16, 17, generator=torch.Generator().manual_seed(0))
    dims = {0: Dim("batch"), 2: Dim("height", min=2), 3: Dim("width", min=2)}
    program = torch.export.export(model, (sample,), dynamic_shapes=(dims,))
    buf = io.BytesIO()
    caps = model_capabilities(model).model_dump_json()
    torch.export.save(program, buf, extra_files={CAPABILITIES_FILE: caps})
    return atomic_write(path, buf.getvalue())


class ProgramEnhancer(nn.Module):
    """A ``.pt2`` program written by :func:`export_program`, usable wherever an enhancer is.

    ``forward(low)``: ``(B, 3, H, W)`` float32 in ``[0, 1]`` -> ``(B, 3, H, W)``, on the CPU.
    The program is held outside the module tree: exported programs cannot switch to eval mode
    (they are exported in it) or be copied by the fast path (``fast_path`` is emptied).
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        extra = {CAPABILITIES_FILE: ""}
        self._program = [torch.export.load(str(path), extra_files=extra).module()]
        caps = (Capabilities.model_validate_json(extra[CAPABILITIES_FILE])
                if extra[CAPABILITIES_FILE] else Capabilities())
        self._caps = caps.model_copy(update={"fast_path": ()})
        self.name = Path(path).stem
        mark_weights(self, str(path))  # the file holds the weights: never "random"

    @property
    def capabilities(self) -> Capabilities:
        """The capabilities recorded at export time."""
        return self._caps

    def forward(self, low: Tensor) -> Tensor:
        """Run the program on ``low`` (float32, CPU); the result is on ``low``'s device."""
        out: Tensor = self._program[0](low.detach().float().cpu())
        return out.to(low.device)
