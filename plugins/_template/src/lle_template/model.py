"""TemplateNet: a residual CNN, ``y = clamp(x + f(x), 0, 1)`` (Doe et al., Sec. 3, Eq. 1).

``f`` is ``depth`` 3×3 convolutions with ReLUs between them, the last one mapping to 3
channels. The class carries everything the registry shows about it: its parameter model
(``Params``), a one-line ``summary``, the ``paper`` reference and its ``default_capabilities``
(the receptive field of an instance is computed from its depth).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from torch import Tensor, nn

from lle_core.interfaces import Enhancer
from lle_core.registry import Capabilities, Params
from lle_template import PAPER


class TemplateNetParams(Params):
    """Parameters of ``template.model`` (shown by ``lle show model:template.model``).

    Attributes:
        width: Feature channels of the hidden convolutions.
        depth: Number of 3×3 convolutions (at least 2).
    """

    width: int = Field(32, ge=1, description="feature channels of the hidden convolutions")
    depth: int = Field(4, ge=2, description="number of 3x3 convolutions")


class TemplateNet(Enhancer):
    """Residual CNN: ``(B, 3, H, W)`` in ``[0, 1]`` -> ``(B, 3, H, W)``, clamped in eval mode.

    Args:
        width: Feature channels of the hidden convolutions.
        depth: Number of 3×3 convolutions.
    """

    Params = TemplateNetParams
    summary = "TemplateNet: residual CNN y = clamp(x + f(x))"
    paper = f"{PAPER}, Sec. 3, Eq. 1"
    default_capabilities: ClassVar[Capabilities] = Capabilities(
        tiling="tile",  # a local model: overlapping tiles give the untiled result
        receptive_field=4,  # one pixel per 3x3 convolution at the default depth
        dtypes=("float32", "bfloat16"),
        needs_ground_truth=True,
        needs_weights=True,
    )

    def __init__(self, width: int = 32, depth: int = 4) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, width, 3, padding=1)]
        for _ in range(depth - 2):
            layers += [nn.ReLU(), nn.Conv2d(width, width, 3, padding=1)]
        layers += [nn.ReLU(), nn.Conv2d(width, 3, 3, padding=1)]
        self.body = nn.Sequential(*layers)
        self.depth = depth

    @property
    def capabilities(self) -> Capabilities:
        """Capabilities with the receptive field of this depth (one pixel per convolution)."""
        return self.default_capabilities.model_copy(update={"receptive_field": self.depth})

    def forward_train(self, low: Tensor) -> dict[str, Tensor]:
        """``{"pred": x + f(x)}``, unclamped (the loss sees the raw prediction)."""
        return {"pred": low + self.body(low)}

    def forward(self, low: Tensor) -> Tensor:
        """Enhance ``low``; the output is clamped to ``[0, 1]`` in eval mode."""
        pred = low + self.body(low)
        return pred if self.training else pred.clamp(0.0, 1.0)
