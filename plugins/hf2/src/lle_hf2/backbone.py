"""The frozen ImageNet VGG16 "classification network" of HF2 (Tang et al., Sec. 2.1).

The paper injects features of a pretrained VGG16 into the encoder of its U-Net and never
retrains VGG16 (LLIE pairs have no class labels). This backbone returns the ReLU outputs at the
requested taps (default: the last ReLU of each of the five stages, ``relu1_2 … relu5_3``), with
the ImageNet normalisation done inside. Its weights are frozen and it stays in eval mode even
when its parent module is put in training mode.
"""

from __future__ import annotations

import torch
from pydantic import Field, field_validator
from torch import Tensor, nn

from lle_core.errors import ShapeError
from lle_core.interfaces import Backbone
from lle_core.registry import Capabilities, Params
from lle_hf2 import PAPER

#: VGG16 stage widths (conv1_x … conv5_x).
STAGE_CHANNELS: tuple[int, ...] = (64, 128, 256, 512, 512)
#: Convolutions per stage in VGG16.
STAGE_CONVS: tuple[int, ...] = (2, 2, 3, 3, 3)
#: The paper-aligned taps: last ReLU of each stage.
DEFAULT_TAPS: tuple[str, ...] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")


def _tap_table() -> dict[str, tuple[int, int, int]]:
    """Map ``relu<s>_<k>`` to ``(index in vgg16.features, channels, reduction)``.

    The layout of ``features`` is conv, relu per convolution and one max-pool after each stage
    (the torchvision/timm VGG16 ordering).
    """
    table: dict[str, tuple[int, int, int]] = {}
    index = 0
    for stage, (width, convs) in enumerate(zip(STAGE_CHANNELS, STAGE_CONVS, strict=True)):
        for k in range(convs):
            table[f"relu{stage + 1}_{k + 1}"] = (index + 1, width, 2**stage)
            index += 2
        index += 1  # max-pool
    return table


TAPS: dict[str, tuple[int, int, int]] = _tap_table()


class VGG16Params(Params):
    """Parameters of the backbone ``hf2.vgg16``.

    Attributes:
        weights: ``"imagenet"`` (hub, or the file named by the env variable
            ``LLE_VGG16_WEIGHTS``), a path to a local weights file, or ``"random"`` (explicit
            random initialisation, for tests and for models whose VGG weights come from a
            checkpoint).
        allow_random_fallback: If the ImageNet weights cannot be had, warn and use random
            weights instead of raising.
        taps: Names ``relu<stage>_<k>`` of the returned feature maps, finest first.
        normalize: Apply the ImageNet mean/std normalisation to the ``[0, 1]`` input.
    """

    weights: str = "imagenet"
    allow_random_fallback: bool = False
    taps: tuple[str, ...] = Field(DEFAULT_TAPS, min_length=1)
    normalize: bool = True

    @field_validator("taps")
    @classmethod
    def _known_taps(cls, taps: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [t for t in taps if t not in TAPS]
        if unknown:
            raise ValueError(f"unknown VGG16 taps {unknown}; choose from {list(TAPS)}")
        order = [TAPS[t][0] for t in taps]
        if order != sorted(set(order)):
            raise ValueError(f"taps must be distinct and ordered from shallow to deep, got {taps}")
        return taps


class FrozenVGG16(Backbone):
    """Frozen VGG16 multi-scale features.

    ``forward(x)`` takes ``(B, 3, H, W)`` in ``[0, 1]`` and returns, for each tap ``i``, a
    ``(B, channels[i], H / reductions[i], W / reductions[i])`` map (H, W multiples of the largest
    reduction, 16 for ``relu5_3``). Gradients flow to the input only when the input requires
    them (so the same module can serve a perceptual loss); the weights never train.

    Args:
        weights: See :class:`VGG16Params`.
        allow_random_fallback: See :class:`VGG16Params`.
        taps: See :class:`VGG16Params`.
        normalize: See :class:`VGG16Params`.
    """

    Params = VGG16Params
    summary = "Frozen ImageNet VGG16, taps relu1_2..relu5_3, normalisation inside"
    paper = f"{PAPER}, Sec. 2.1 (classification network)"
    default_capabilities = Capabilities(multiple_of=16, needs_weights=True)

    mean: Tensor
    std: Tensor

    def __init__(
        self,
        weights: str = "imagenet",
        allow_random_fallback: bool = False,
        taps: tuple[str, ...] | list[str] = DEFAULT_TAPS,
        normalize: bool = True,
    ) -> None:
        super().__init__()
        taps = tuple(VGG16Params(taps=tuple(taps)).taps)
        from lle_core.pretrained import IMAGENET_MEAN, IMAGENET_STD, vgg16_features

        features = vgg16_features(weights, allow_random_fallback=allow_random_fallback)
        last = TAPS[taps[-1]][0]
        self.features = nn.Sequential(*list(features.children())[: last + 1])
        for p in self.features.parameters():
            p.requires_grad_(False)
        self.taps = taps
        self.tap_indices = tuple(TAPS[t][0] for t in taps)
        self.channels = tuple(TAPS[t][1] for t in taps)
        self.reductions = tuple(TAPS[t][2] for t in taps)
        self.normalize = normalize
        self.register_buffer(
            "mean", torch.tensor(IMAGENET_MEAN, dtype=torch.float32).view(1, 3, 1, 1),
            persistent=False,
        )
        self.register_buffer(
            "std", torch.tensor(IMAGENET_STD, dtype=torch.float32).view(1, 3, 1, 1),
            persistent=False,
        )
        super().train(False)

    def train(self, mode: bool = True) -> FrozenVGG16:
        """Ignore ``mode``: the classification network always runs in eval mode (paper §2.1)."""
        return super().train(False)

    def forward(self, x: Tensor) -> list[Tensor]:
        """Return the tapped ReLU maps, finest first (see the class docstring for shapes)."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise ShapeError(f"hf2.vgg16 expects (B, 3, H, W) images, got {tuple(x.shape)}")
        with torch.set_grad_enabled(torch.is_grad_enabled() and x.requires_grad):
            h = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype) if self.normalize else x
            outs: list[Tensor] = []
            wanted = set(self.tap_indices)
            for i, layer in enumerate(self.features):
                h = layer(h)
                if i in wanted:  # the layer after a tap is a conv or a pool, never in-place
                    outs.append(h)
            return outs

    def extra_repr(self) -> str:
        """Taps and normalisation, shown by ``print(module)``."""
        return f"taps={self.taps}, normalize={self.normalize}"

