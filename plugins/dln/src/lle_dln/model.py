"""The Deep Lightening Network (DLN) enhancer: ``Y = X + γ·E(X)``.

Slides: residual learning ``Y = X + E(X)`` with shallow features ("Conv×2"), multi-level LBPs with
dense short connections, a fusion block and the enlightening convolutions. Exact layers from the
official code of the journal version (WangLiwen1994/DLN), with ``d = dim`` (64 in the paper):

* input gate: ``x_n = 2·(x − 0.5)`` and the brightness map ``b = max_c x``; ``concat -> 4 ch``;
* shallow features: ``ConvBlock3×3(4 -> 2d)``, ``ConvBlock3×3(2d -> d) = f0``;
* dense LBPs: ``o_k = LBP(k·d -> d)([f0, o_1, …, o_{k−1}])`` for ``k = 1..n_lbp``;
* fusion + enlightening: ``ConvBlock3×3((n_lbp+1)·d -> d)``, ``Conv3×3(d -> 3)`` = residual;
* output ``ŷ = x + γ·residual`` where γ (``brightness_gamma``) is the journal's interactive
  brightness factor (1 in the released code). Kaiming-normal conv weights, zero biases.

The released code never clamps; here the output is clamped to ``[0, 1]`` in eval mode only
(training sees the raw value, as in the code, so the loss gradients are unchanged).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from lle_core.interfaces import Enhancer
from lle_core.registry import Capabilities, Params
from lle_dln import PAPER
from lle_dln.blocks import LBP, ConvBlock, check_channels


def receptive_radius(n_lbp: int) -> int:
    """Half-width (px) of the local receptive field of a DLN with ``n_lbp`` LBPs.

    One pixel per 3×3 convolution on the longest path: 2 shallow, 9 per LBP, 2 enlightening.
    """
    return 2 + 9 * n_lbp + 2


class DLNParams(Params):
    """Parameters of ``dln.model``.

    Attributes:
        dim: Feature width ``d`` (64 in the paper: 700,586 parameters).
        n_lbp: Number of densely connected LBP blocks (3 in the paper).
        reduction: SE squeeze ratio of the FA blocks (16 in the code).
        brightness_gamma: Journal γ multiplying the predicted residual (1 = the released code);
            an inference knob: > 1 brighter, < 1 closer to the input.
        residual_init: Init of the last conv (the residual head). ``kaiming`` = the code (the
            initial residual is large: std ≈ 65 at ``dim=64``); ``zero`` starts from the
            identity ``ŷ = x`` and trains much faster on short budgets (see the model card).
    """

    dim: int = Field(64, ge=2)
    n_lbp: int = Field(3, ge=1)
    reduction: int = Field(16, ge=1)
    brightness_gamma: float = Field(1.0, ge=0.0)
    residual_init: Literal["kaiming", "zero"] = "kaiming"


class DLN(Enhancer):
    """Deep Lightening Network: ``low (B, 3, H, W) in [0, 1] -> (B, 3, H, W)``.

    Output in ``[0, 1]`` in eval mode (clamped); unclamped in training mode. Any ``H, W`` work
    (all convolutions are 'same'-padded, FA uses global pooling, tiled with whole-image
    statistics by core).
    """

    Params = DLNParams
    summary = "DLN: brightness-gated input, 3 dense LBPs, residual Y = X + γ·E(X)"
    paper = PAPER

    default_capabilities: ClassVar[Capabilities] = Capabilities(
        multiple_of=1,
        min_size=1,
        # FA's global average pools are GlobalPool layers: tiled inference streams them over
        # the tiles first (3 passes, one per LBP, each stopped after its FA), then blends.
        tiling="tile",
        global_stats="stream",
        receptive_field=receptive_radius(3),
        dtypes=("float32", "bfloat16"),
        # measured to pay on CPUs (docs/benchmarks.md, "Fast default paths")
        fast_path=("fold", "channels_last", "bfloat16"),
        needs_ground_truth=True,
        needs_weights=True,
        # the output is x + γ·E(x): enhance(..., exposure=EV) scales γ (lle_core.inference.exposure)
        exposure="residual",
    )

    def __init__(
        self,
        dim: int = 64,
        n_lbp: int = 3,
        reduction: int = 16,
        brightness_gamma: float = 1.0,
        residual_init: Literal["kaiming", "zero"] = "kaiming",
    ) -> None:
        """Args: see :class:`DLNParams`."""
        super().__init__()
        self.residual_init = residual_init
        self.dim = dim
        self.n_lbp = n_lbp
        self.brightness_gamma = float(brightness_gamma)
        self.shallow = nn.Sequential(ConvBlock(4, 2 * dim, 3), ConvBlock(2 * dim, dim, 3))
        self.lbps = nn.ModuleList(
            LBP((k + 1) * dim, dim, reduction) for k in range(n_lbp)
        )
        self.fuse = ConvBlock((n_lbp + 1) * dim, dim, 3)
        self.to_residual = nn.Conv2d(dim, 3, 3, padding=1)
        self.reset_parameters()

    @property
    def capabilities(self) -> Capabilities:
        """Capabilities with the receptive field of this depth."""
        return self.default_capabilities.model_copy(
            update={"receptive_field": receptive_radius(self.n_lbp)}
        )

    def reset_parameters(self) -> None:
        """Re-initialise: Kaiming-normal conv weights and zero biases (the code's init).

        PReLU slopes go back to 0.25 and linear layers to PyTorch's default init. With
        ``residual_init="zero"`` the residual head's weights are zero (output = input).
        """
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.PReLU):
                nn.init.constant_(m.weight, 0.25)
            elif isinstance(m, nn.Linear):
                m.reset_parameters()
        if self.residual_init == "zero":
            nn.init.zeros_(self.to_residual.weight)

    @staticmethod
    def gate(x: Tensor) -> Tensor:
        """Input gate: ``concat(2·(x − 0.5), max_c x)`` -> ``(B, 4, H, W)``."""
        brightness = x.amax(dim=1, keepdim=True)
        return torch.cat([(x - 0.5) * 2.0, brightness], dim=1)

    def residual(self, x: Tensor) -> Tensor:
        """Predicted residual ``E(x)``, ``(B, 3, H, W)``, unbounded."""
        check_channels(x, 3, "dln.model")
        feats = [self.shallow(self.gate(x))]
        for lbp in self.lbps:
            feats.append(lbp(torch.cat(feats, dim=1)))
        return self.to_residual(self.fuse(torch.cat(feats, dim=1)))

    def forward_train(self, low: Tensor) -> dict[str, Tensor]:
        """``{"pred": x + γ·E(x) (unclamped), "residual": E(x)}``."""
        res = self.residual(low)
        return {"pred": low + self.brightness_gamma * res, "residual": res}

    def forward(self, low: Tensor) -> Tensor:
        """Enhance ``(B, 3, H, W)`` in ``[0, 1]``; clamped to ``[0, 1]`` in eval mode only."""
        pred = low + self.brightness_gamma * self.residual(low)
        return pred if self.training else pred.clamp(0.0, 1.0)


def count_parameters(module: nn.Module) -> int:
    """Number of unique trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
