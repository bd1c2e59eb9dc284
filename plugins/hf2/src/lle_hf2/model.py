"""The classification-driven enhancement network of HF2 (Tang et al., Sec. 2.1, Fig. 2a).

A U-Net whose encoder mirrors the five VGG16 stages. At each level ``k`` the encoder feature
``E_k`` is fused with the frozen VGG16 feature ``V_k`` (``F_k = HF2_enc,k(E_k, V_k)``) and
``F_k`` feeds both the next stage and the skip connection; in the decoder the up-sampled
feature ``U_k`` is fused with the skip (``G_k = HF2_dec,k(F_k, U_k)``). The topology is
our reading of HF2 Sec. 2.1–2.2 (the paper's Fig. 2 gives no layer list); every inferred choice is
an option here and in the model card.

The backbone and both fusions are registry specs, so another backbone (with matching levels) or
another paper's fusion (``neid.channel_ff``) can be swapped in by configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from lle_core.errors import ConfigError, ShapeError
from lle_core.interfaces import Enhancer
from lle_core.ops import pad_to_multiple
from lle_core.registry import Capabilities, Params
from lle_core.spec import ComponentSpec, SpecOf, build_component, parse_spec
from lle_hf2 import PAPER

#: Number of U-Net levels (one per VGG16 stage).
LEVELS = 5
#: Width multipliers of the levels relative to ``base_width`` (VGG16: 64, 128, 256, 512, 512).
WIDTH_MULTIPLIERS: tuple[int, ...] = (1, 2, 4, 8, 8)
#: Spatial reduction of each level relative to the input.
LEVEL_REDUCTIONS: tuple[int, ...] = (1, 2, 4, 8, 16)

FusionLike = str | Mapping[str, Any] | ComponentSpec | Callable[[int], nn.Module]


class HF2ModelParams(Params):
    """Parameters of ``hf2.model``.

    Attributes:
        backbone: The prior ("classification") network; must give 5 levels at reductions
            1, 2, 4, 8, 16. Default: frozen ImageNet VGG16.
        fusion: Fusion op used at every level unless overridden below (paper: HF2 with ``mul``).
            Table 3: M0 ``core.cat``, M1 ``{type: hf2.hf2, op: add}``, M2 ``op: cat``, M3 ``mul``.
        encoder_fusion: Override for the encoder/VGG fusions (``None``: use ``fusion``).
        skip_fusion: Override for the encoder/decoder skip fusions (``None``: use ``fusion``).
        base_width: Width of level 1; levels are ``(1, 2, 4, 8, 8) × base_width`` (paper: 64).
        use_prior: ``False`` drops the backbone and the encoder fusions (a plain U-Net with
            fused skips; the "without VGG" case of the paper's Fig. 7).
        prior_adapter: ``"auto"`` inserts a trainable 1×1 convolution where the backbone's
            channels differ from the encoder width (narrow models); ``"none"`` requires an exact
            match and fails at build time otherwise.
        prior_input: What the backbone sees: ``"raw"`` dark input (default) or ``"gamma"``,
            the input brightened by ``x ** (1 / prior_gamma)``.
        prior_gamma: Exponent for ``prior_input="gamma"``.
        skip_source: Skip feature: ``"fused"`` ``F_k`` (default) or the pre-fusion ``"encoder"``
            feature ``E_k``.
        norm: ``"none"`` (VGG style, default) or ``"batch"`` after each U-Net convolution.
        output: ``"sigmoid"`` (default) or ``"clamp"`` to ``[0, 1]``.
        init: ``"kaiming"`` (default): He-normal weights (fan-in, ReLU gain) and zero biases
            for the U-Net's own convolutions; ``"pytorch"``: PyTorch's default, whose ~0.58×
            gain per layer leaves the output of the 18-convolution U-Net nearly constant at
            init (per-channel std 0.003× the input's with ``base_width: 8``, against 0.2×
            with He init). The paper does not state its init.
    """

    backbone: SpecOf("backbone") = "hf2.vgg16"  # type: ignore[valid-type]
    fusion: SpecOf("fusion") = "hf2.hf2"  # type: ignore[valid-type]
    encoder_fusion: SpecOf("fusion") | None = None  # type: ignore[valid-type]
    skip_fusion: SpecOf("fusion") | None = None  # type: ignore[valid-type]
    base_width: int = Field(64, ge=1)
    use_prior: bool = True
    prior_adapter: Literal["auto", "none"] = "auto"
    prior_input: Literal["raw", "gamma"] = "raw"
    prior_gamma: float = Field(2.2, gt=0.0)
    skip_source: Literal["fused", "encoder"] = "fused"
    norm: Literal["none", "batch"] = "none"
    output: Literal["sigmoid", "clamp"] = "sigmoid"
    init: Literal["kaiming", "pytorch"] = "kaiming"


def _conv_block(cin: int, cout: int, norm: str) -> nn.Sequential:
    """Two ``Conv3×3 (+BN) + ReLU`` layers, ``(B, cin, H, W) -> (B, cout, H, W)``."""
    layers: list[nn.Module] = []
    for c_in in (cin, cout):
        layers.append(nn.Conv2d(c_in, cout, kernel_size=3, padding=1))
        if norm == "batch":
            layers.append(nn.BatchNorm2d(cout))
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def _he_init(module: nn.Module) -> None:
    """He-normal weights (fan-in, ReLU gain) and zero biases for every conv of ``module``."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def _fusion_builder(value: FusionLike, path: str) -> Callable[[int], nn.Module]:
    """Turn a fusion spec (or a ``channels -> module`` callable) into a per-level builder."""
    if isinstance(value, nn.Module):
        raise TypeError(
            f"{path}: pass a fusion spec (name, mapping or ComponentSpec) or a callable "
            "channels -> module, not a built module: each level needs its own instance"
        )
    if isinstance(value, str | Mapping | ComponentSpec):
        spec = parse_spec("fusion", value, path=path)
        return lambda channels: build_component("fusion", spec, channels=channels)
    if callable(value):
        return value
    raise TypeError(f"{path}: expected a fusion spec or a callable, got {type(value).__name__}")


class HF2UNet(Enhancer):
    """Classification-driven U-Net with heterogeneous feature fusion.

    ``forward(low)``: ``(B, 3, H, W)`` in ``[0, 1]`` → ``(B, 3, H, W)`` in ``[0, 1]``. Any size
    works: the input is reflect-padded to a multiple of 16 (at least 32 px) and the output
    cropped back. Arguments are those of :class:`HF2ModelParams`; ``backbone`` may also be a
    built :class:`~lle_core.interfaces.Backbone` and the fusions a ``channels -> module``
    callable.
    """

    Params = HF2ModelParams
    summary = "Classification-driven U-Net: frozen VGG16 features fused by HF2"
    paper = f"{PAPER}, Sec. 2.1-2.2, Fig. 2"

    default_capabilities: ClassVar[Capabilities] = Capabilities(
        multiple_of=16,
        min_size=32,
        min_input=2,  # smaller: wrong even with edge padding (docs/reliability.md)
        scale=1,
        # CBAM channel attention pools over the whole image (GlobalPool layers). Streaming
        # them exactly takes 9 passes (each fusion pools features re-weighted by the previous
        # level's); a downscaled whole-image pass refined by one streamed pass (exact for the
        # first wave) gives them at ~1/4 of that cost (docs/inference.md).
        tiling="tile",
        global_stats="downscale",
        receptive_field=196,  # VGG16 relu5_3
        # bf16 autocast trains the shipped weights (hf2:lol); enhance(dtype=) accepts these
        dtypes=("float32", "bfloat16"),
        # measured to pay on CPUs (docs/benchmarks.md, "Fast default paths")
        fast_path=("fold", "channels_last", "bfloat16"),
        needs_ground_truth=True,
        needs_weights=True,
    )

    def __init__(
        self,
        backbone: str | Mapping[str, Any] | ComponentSpec | nn.Module = "hf2.vgg16",
        fusion: FusionLike = "hf2.hf2",
        encoder_fusion: FusionLike | None = None,
        skip_fusion: FusionLike | None = None,
        base_width: int = 64,
        use_prior: bool = True,
        prior_adapter: str = "auto",
        prior_input: str = "raw",
        prior_gamma: float = 2.2,
        skip_source: str = "fused",
        norm: str = "none",
        output: str = "sigmoid",
        init: str = "kaiming",
    ) -> None:
        super().__init__()
        self.widths = tuple(m * base_width for m in WIDTH_MULTIPLIERS)
        self.use_prior = use_prior
        self.prior_input = prior_input
        self.prior_gamma = float(prior_gamma)
        self.skip_source = skip_source
        self.output = output

        enc_build = _fusion_builder(
            encoder_fusion if encoder_fusion is not None else fusion, "encoder_fusion"
        )
        skip_build = _fusion_builder(
            skip_fusion if skip_fusion is not None else fusion, "skip_fusion"
        )

        self.backbone: nn.Module | None = None
        self.adapters = nn.ModuleList()
        self.encoder_fusions = nn.ModuleList()
        if use_prior:
            self.backbone = build_component("backbone", backbone)
            self.adapters.extend(self._make_adapters(self.backbone, prior_adapter))
            self.encoder_fusions.extend(enc_build(c) for c in self.widths)

        cins = (3, *self.widths[:-1])
        self.encoder = nn.ModuleList(
            _conv_block(ci, co, norm) for ci, co in zip(cins, self.widths, strict=True)
        )
        # Decoder levels 1..4 (index 0..3): up-conv from level k+1, skip fusion, two convs.
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(self.widths[k + 1], self.widths[k], kernel_size=2, stride=2)
            for k in range(LEVELS - 1)
        )
        self.skip_fusions = nn.ModuleList(skip_build(self.widths[k]) for k in range(LEVELS - 1))
        self.decoder = nn.ModuleList(
            _conv_block(self.widths[k], self.widths[k], norm) for k in range(LEVELS - 1)
        )
        self.head = nn.Conv2d(self.widths[0], 3, kernel_size=1)
        if init == "kaiming":
            for part in (self.encoder, self.up, self.decoder):
                _he_init(part)

    # -- construction helpers ---------------------------------------------------------------
    def _make_adapters(self, backbone: nn.Module, mode: str) -> list[nn.Module]:
        """Check the backbone's levels against the encoder's; 1×1 adapters where allowed.

        Raises:
            ConfigError: Wrong number of levels, a reduction that differs from the encoder
                level's, or a channel mismatch with ``prior_adapter="none"``; names the levels.
        """
        name = type(backbone).__name__
        channels = tuple(getattr(backbone, "channels", ()))
        reductions = tuple(getattr(backbone, "reductions", ()))
        if len(channels) != LEVELS or len(reductions) != LEVELS:
            raise ConfigError([(
                "backbone",
                f"{name} gives {len(channels)} feature levels (channels={channels}, "
                f"reductions={reductions}) but hf2.model fuses one prior feature into each of its "
                f"{LEVELS} encoder levels at reductions {LEVEL_REDUCTIONS}",
            )])
        problems = [
            (
                "backbone",
                f"level {k + 1}: {name} reduces by {r} but encoder level {k + 1} works at 1/{e}",
            )
            for k, (r, e) in enumerate(zip(reductions, LEVEL_REDUCTIONS, strict=True))
            if r != e
        ]
        if problems:
            raise ConfigError(problems)
        if mode == "none":
            problems = [
                (
                    "backbone",
                    f"level {k + 1}: {name} gives {c} channels but encoder level {k + 1} has "
                    f"{w} (use prior_adapter: auto, or base_width: 64 with VGG16)",
                )
                for k, (c, w) in enumerate(zip(channels, self.widths, strict=True))
                if c != w
            ]
            if problems:
                raise ConfigError(problems)
        return [
            nn.Identity() if c == w else nn.Conv2d(c, w, kernel_size=1)
            for c, w in zip(channels, self.widths, strict=True)
        ]

    # -- capabilities -----------------------------------------------------------------------
    @property
    def capabilities(self) -> Capabilities:
        """Same as :attr:`default_capabilities` (padding is also done inside ``forward``)."""
        return self.default_capabilities

    # -- forward ----------------------------------------------------------------------------
    def priors(self, x: Tensor) -> list[Tensor] | None:
        """Backbone features adapted to the encoder widths, finest first (``None`` if unused).

        Args:
            x: Padded input ``(B, 3, H, W)`` in ``[0, 1]``, H and W multiples of 16.
        """
        if self.backbone is None:
            return None
        inp = x.clamp(0.0, 1.0) ** (1.0 / self.prior_gamma) if self.prior_input == "gamma" else x
        feats = self.backbone(inp)
        return [adapt(f) for adapt, f in zip(self.adapters, feats, strict=True)]

    def forward(self, low: Tensor) -> Tensor:
        """Enhance ``low`` ``(B, 3, H, W)`` in ``[0, 1]``; returns the same shape in ``[0, 1]``."""
        if low.dim() != 4 or low.shape[1] != 3:
            raise ShapeError(f"hf2.model expects (B, 3, H, W) images, got {tuple(low.shape)}")
        x, (h, w) = pad_to_multiple(
            low, self.default_capabilities.multiple_of, self.default_capabilities.min_size
        )
        priors = self.priors(x)
        skips: list[Tensor] = []
        feat = x
        for k, stage in enumerate(self.encoder):
            if k > 0:
                feat = F.max_pool2d(feat, kernel_size=2, stride=2)
            enc = stage(feat)
            feat = self.encoder_fusions[k](enc, priors[k]) if priors is not None else enc
            skips.append(feat if self.skip_source == "fused" else enc)
        dec = feat
        for k in reversed(range(LEVELS - 1)):
            up = self.up[k](dec)
            dec = self.decoder[k](self.skip_fusions[k](skips[k], up))
        out = self.head(dec)
        out = torch.sigmoid(out) if self.output == "sigmoid" else out.clamp(0.0, 1.0)
        return out[..., :h, :w]


def count_parameters(model: nn.Module) -> dict[str, int]:
    """Unique parameter counts: ``{"trainable": …, "frozen": …, "total": …}``."""
    seen: set[int] = set()
    trainable = frozen = 0
    for p in model.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        if p.requires_grad:
            trainable += p.numel()
        else:
            frozen += p.numel()
    return {"trainable": trainable, "frozen": frozen, "total": trainable + frozen}


__all__ = ["HF2ModelParams", "HF2UNet", "count_parameters"]
