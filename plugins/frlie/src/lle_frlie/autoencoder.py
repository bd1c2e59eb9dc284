"""Image reconstructor of FRLIE: encoder E and decoder D (FRLIE Sec. 2.1).

Layer lists follow the released code (YaN9-Y/FRLIE ``src/networks.py``) so that the state-dict
layout matches the shipped reconstructor checkpoint: with ``c = 32`` the encoder has 132,224
parameters and the bilinear decoder 130,371 (262,595 in total); the paper's pixel-shuffle
decoder has 407,139.
"""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn

Upsample = Literal["bilinear", "pixelshuffle"]


def _conv_bn_relu(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    """Reflection-pad 1 → Conv3×3 → BN → ReLU, as a list of layers."""
    return [
        nn.ReflectionPad2d(1),
        nn.Conv2d(c_in, c_out, 3, stride=stride),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


def _up_block(c_in: int, c_out: int, upsample: Upsample) -> nn.Sequential:
    """×2 upsampling block of the decoder.

    ``bilinear`` (released code): bilinear ×2 (``align_corners=True``) → pad → Conv3×3 →
    BN → ReLU. ``pixelshuffle`` (paper text): pad → Conv3×3(``c_in → 4·c_out``) →
    PixelShuffle(2) → BN → ReLU.
    """
    if upsample == "bilinear":
        return nn.Sequential(nn.UpsamplingBilinear2d(scale_factor=2), *_conv_bn_relu(c_in, c_out))
    if upsample == "pixelshuffle":
        return nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(c_in, 4 * c_out, 3),
            nn.PixelShuffle(2),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        )
    raise ValueError(f"upsample must be 'bilinear' or 'pixelshuffle', got {upsample!r}")


def init_autoencoder_weights(module: nn.Module) -> None:
    """Initialise as the official code does for E and D (YaN9-Y/FRLIE).

    Convolutions: Kaiming-normal (fan-in, ReLU gain) weights and zero biases; batch norm:
    weight ~ N(1, 0.02) and zero bias.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, a=0.0, mode="fan_in")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class Encoder(nn.Module):
    """E: ``(B, 3, H, W)`` in [0, 1] → ``(B, 4c, H/4, W/4)`` features (H, W multiples of 4).

    conv1: pad 2 → Conv5×5(3→c) (no norm/activation); conv2: Conv3×3(c→2c, stride 2) + BN +
    ReLU; conv3: Conv3×3(2c→2c) + BN + ReLU; conv4: Conv3×3(2c→4c, stride 2) + BN + ReLU.
    """

    def __init__(self, base_channels: int = 32) -> None:
        """Args: base_channels: ``c``."""
        super().__init__()
        c = base_channels
        self.out_channels = 4 * c
        self.conv1 = nn.Sequential(nn.ReflectionPad2d(2), nn.Conv2d(3, c, 5))
        self.conv2 = nn.Sequential(*_conv_bn_relu(c, 2 * c, stride=2))
        self.conv3 = nn.Sequential(*_conv_bn_relu(2 * c, 2 * c))
        self.conv4 = nn.Sequential(*_conv_bn_relu(2 * c, 4 * c, stride=2))

    def forward(self, x: Tensor) -> Tensor:
        """Encode an image batch (see the class docstring for shapes)."""
        return self.conv4(self.conv3(self.conv2(self.conv1(x))))


class Decoder(nn.Module):
    """D: ``(B, 4c, h, w)`` features → ``(B, 3, 4h, 4w)`` image in [0, 1].

    up1: ×2 to 2c channels; conv1: Conv3×3(2c→2c) + BN + ReLU; up2: ×2 to c channels;
    conv2: Conv3×3(c→3); output ``(tanh(z) + 1) / 2``.
    """

    def __init__(self, base_channels: int = 32, upsample: Upsample = "bilinear") -> None:
        """Args: base_channels: ``c``; upsample: ``"bilinear"`` or ``"pixelshuffle"``."""
        super().__init__()
        c = base_channels
        self.in_channels = 4 * c
        self.upsample = upsample
        self.up1 = _up_block(4 * c, 2 * c, upsample)
        self.conv1 = nn.Sequential(*_conv_bn_relu(2 * c, 2 * c))
        self.up2 = _up_block(2 * c, c, upsample)
        self.conv2 = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c, 3, 3))

    def forward(self, features: Tensor) -> Tensor:
        """Decode features to an image (see the class docstring for shapes)."""
        z = self.conv2(self.up2(self.conv1(self.up1(features))))
        return (z.tanh() + 1.0) / 2.0


class AutoEncoder(nn.Module):
    """The stage-1 reconstructor ``D(E(x))`` (paper Eq. 1), a reusable block.

    ``forward`` maps ``(B, 3, H, W)`` in [0, 1] (H, W multiples of 4) to its reconstruction of
    the same shape in [0, 1]; :meth:`encode` / :meth:`decode` expose the two halves.
    """

    def __init__(self, base_channels: int = 32, upsample: Upsample = "bilinear") -> None:
        """Args: base_channels: ``c``; upsample: decoder upsampling mode."""
        super().__init__()
        self.encoder = Encoder(base_channels)
        self.decoder = Decoder(base_channels, upsample)
        init_autoencoder_weights(self)

    def encode(self, x: Tensor) -> Tensor:
        """E(x): ``(B, 3, H, W)`` → ``(B, 4c, H/4, W/4)``."""
        return self.encoder(x)

    def decode(self, features: Tensor) -> Tensor:
        """D(F): ``(B, 4c, h, w)`` → ``(B, 3, 4h, 4w)`` in [0, 1]."""
        return self.decoder(features)

    def forward(self, x: Tensor) -> Tensor:
        """Reconstruct ``x``: ``D(E(x))``."""
        return self.decode(self.encode(x))
