"""The NEID model (Jiang, Liu et al. 2021, "Bridge the vision gap from field to command").

Two streams share one U-Net encoder (paper Sec. 2.2, Fig. 3)::

    low_lr ─ encoder ─┬─ DR decoder ─ R_1..R_4 ─ DR head (training only) ─> dr  (2× size)
                      │                 │ FF_k(S_k, R_k)
                      └────────── LE decoder (fused skips) ─ LE head ─────> pred (2× size)

* Light Enhancement (LE): U-Net decoder + sub-pixel ×2 head, output twice the input size.
* Detail Refinement (DR): a second decoder with its own weights and a sub-pixel head that
  reconstructs the high-resolution low-light image; the head is used only by the training loss
  and is absent from :meth:`NEID.export_state_dict`.
* Feature Fusing (FF): any registered fusion op (default ``neid.channel_ff``) applied at each
  skip, ``a`` = encoder skip ``S_k`` and ``b`` = DR feature ``R_k``.

Two ways to run it (``mode``):

* ``"protocol"`` (default, what ``lle enhance`` does): the paper's test protocol. The input is
  bicubic-downsampled ×2, enhanced, and the ×2 sub-pixel head brings it back to exactly the input
  size. Odd sizes are reflect-padded by one row/column before the ↓2 and the output is cropped,
  so the output always has the input's size.
* ``"field_to_command"``: the input is the (already small) transmitted image; the output is
  enhanced and twice its size (``capabilities.scale == 2``).

Any size works in both modes: the low-resolution input is reflect-padded to a multiple of
``2**(L-1)`` (16 with five levels) inside the model and the output is cropped back.

Table 2 ablations by config: ``dr_branch: false, feature_fusion: false`` (LE), ``dr_branch:
true, feature_fusion: false`` (LE + DR), both true (LE + DR + FF, the full model).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal

from torch import Tensor, nn

from lle_core.interfaces import Enhancer
from lle_core.ops import crop_to, pad_to_multiple
from lle_core.registry import Capabilities
from lle_core.spec import ComponentSpec, build_component
from lle_neid import PAPER
from lle_neid.blocks import SubPixelHead, UNetDecoder, UNetEncoder, init_normal_
from lle_neid.params import SID_WIDTHS, NEIDParams
from lle_neid.resize import bicubic_downsample

#: Spatial factor of NEID's sub-pixel heads and of the test-protocol downsampling.
SCALE = 2

FusionLike = str | Mapping[str, Any] | ComponentSpec | Callable[[int], nn.Module]


def receptive_radius(levels: int) -> int:
    """Approximate receptive-field radius, in low-resolution pixels, of an ``levels``-level U-Net.

    Two 3×3 convs per encoder and decoder level at their strides, plus the pooling and
    transposed-convolution offsets; 122 for five levels.
    """
    return 2 * (2**levels - 1) + 4 * (2 ** (levels - 1) - 1)


def _capabilities(levels: int, mode: str, feature_fusion: bool) -> Capabilities:
    lowres = receptive_radius(levels)
    return Capabilities(
        multiple_of=1,  # padding to 2**(L-1) (and to even sizes) happens inside the model
        min_size=1,
        min_input=12,  # smaller: wrong even with edge padding (docs/reliability.md)
        scale=SCALE if mode == "field_to_command" else 1,
        # The FF gates pool globally (GlobalPool): tiled inference streams them over the tiles
        # (one pass: every gate pools a DR feature that no gate depends on), then blends.
        tiling="tile",
        global_stats="stream",
        # The model pads its half-resolution input to 2**(L-1): tiles start on that grid.
        tile_align=2 ** (levels - 1) * (SCALE if mode == "protocol" else 1),
        receptive_field=lowres * SCALE if mode == "protocol" else lowres,
        dtypes=("float32", "bfloat16"),
        # measured to pay on CPUs (docs/benchmarks.md, "Fast default paths")
        fast_path=("fold", "channels_last", "bfloat16"),
        needs_ground_truth=True,
        needs_weights=True,
    )


#: Capabilities of the default configuration (registered with ``neid.model``).
DEFAULT_CAPABILITIES = _capabilities(len(SID_WIDTHS), "protocol", True)


class NEID(Enhancer):
    """NEID enhancer; see the module docstring.

    ``forward(low)``: ``(B, 3, H, W)`` in ``[0, 1]`` -> ``(B, 3, H, W)`` (protocol mode) or
    ``(B, 3, 2H, 2W)`` (field-to-command mode), clamped to ``[0, 1]``.

    ``forward_train(low_lr)``: ``(B, 3, h, w)`` low-resolution input -> ``{"pred": (B, 3, 2h,
    2w), "dr": (B, 3, 2h, 2w)}`` (``"dr"`` only with ``dr_branch``); both linear (unclamped).
    """

    Params = NEIDParams
    summary = "NEID: shared U-Net encoder, DR + LE decoders, Feature Fusing, sub-pixel x2"
    paper = PAPER

    default_capabilities = DEFAULT_CAPABILITIES
    training_only_prefixes: ClassVar[tuple[str, ...]] = ("dr_head.",)

    def __init__(
        self,
        *,
        widths: Sequence[int] = SID_WIDTHS,
        negative_slope: float = 0.2,
        dr_branch: bool = True,
        feature_fusion: bool = True,
        fusion: FusionLike = "neid.channel_ff",
        ff_site: Literal["skip", "decoder"] = "skip",
        mode: Literal["protocol", "field_to_command"] = "protocol",
        downsample_antialias: bool = True,
        init_std: float | None = None,
    ) -> None:
        """Args: see :class:`lle_neid.params.NEIDParams`, which validates them (a spec)."""
        super().__init__()
        self.widths = tuple(int(w) for w in widths)
        self.dr_branch = dr_branch
        self.feature_fusion = feature_fusion
        self.ff_site = ff_site
        self.mode = mode
        self.downsample_antialias = downsample_antialias

        self.encoder = UNetEncoder(widths=self.widths, negative_slope=negative_slope)
        self.le_decoder = UNetDecoder(widths=self.widths, negative_slope=negative_slope)
        self.le_head = SubPixelHead(in_channels=self.widths[0], scale=SCALE)
        self.dr_decoder: UNetDecoder | None = None
        self.dr_head: SubPixelHead | None = None
        self.fusions: nn.ModuleList | None = None
        if dr_branch:
            self.dr_decoder = UNetDecoder(widths=self.widths, negative_slope=negative_slope)
            self.dr_head = SubPixelHead(in_channels=self.widths[0], scale=SCALE)
        if feature_fusion:
            self.fusions = nn.ModuleList(_build_fusion(fusion, w) for w in self.widths[:-1])
        if init_std is not None:
            init_normal_(self, std=init_std)
        # Without FF the DR decoder never reaches the LE output: it is training-only too.
        only_train = ["dr_head."] + (["dr_decoder."] if dr_branch and not feature_fusion else [])
        self.training_only_prefixes = tuple(only_train)  # type: ignore[misc]

    # -- configuration-dependent facts -----------------------------------------------------
    @property
    def capabilities(self) -> Capabilities:
        """Capabilities of this configuration (``scale`` is 2 in field-to-command mode)."""
        return _capabilities(len(self.widths), self.mode, self.feature_fusion)

    @property
    def multiple_of(self) -> int:
        """Internal padding multiple of the low-resolution input (``2**(L-1)``)."""
        return self.encoder.multiple_of

    # -- forward passes ---------------------------------------------------------------------
    def forward(self, low: Tensor) -> Tensor:
        """Enhance ``low`` ``(B, 3, H, W)`` in ``[0, 1]``; see the class docstring for sizes."""
        if self.mode == "protocol":
            even, size = pad_to_multiple(low, SCALE)
            small = bicubic_downsample(even, SCALE, antialias=self.downsample_antialias)
            out = crop_to(self.enhance_lowres(small)["pred"], size)
        else:
            out = self.enhance_lowres(low)["pred"]
        return out.clamp(0.0, 1.0)

    def forward_train(self, low: Tensor) -> dict[str, Tensor]:
        """Training pass on the low-resolution input (the two-stream trainer downsamples).

        Args:
            low: ``(B, 3, h, w)`` low-resolution low-light input in ``[0, 1]``.

        Returns:
            ``"pred"``: LE output ``(B, 3, 2h, 2w)``, linear; ``"dr"``: DR reconstruction of
            the high-resolution low-light image ``(B, 3, 2h, 2w)``, linear (with ``dr_branch``).
        """
        return self.enhance_lowres(low, with_dr=True)

    def enhance_lowres(self, x: Tensor, *, with_dr: bool = False) -> dict[str, Tensor]:
        """Run the network at ×2 on any size: reflect-pad to :attr:`multiple_of`, crop back.

        Args:
            x: ``(B, 3, h, w)`` in ``[0, 1]``.
            with_dr: Also run the DR head (training only).

        Returns:
            ``{"pred": (B, 3, 2h, 2w)}`` plus ``"dr"`` when asked and available; linear.
        """
        padded, size = pad_to_multiple(x, self.multiple_of)
        out = self._network(padded, with_dr=with_dr)
        return {k: crop_to(v, size, scale=SCALE) for k, v in out.items()}

    def _network(self, x: Tensor, *, with_dr: bool) -> dict[str, Tensor]:
        feats = self.encoder(x)
        need_dr = self.dr_decoder is not None and (self.fusions is not None or with_dr)
        guides = self.dr_decoder(feats) if need_dr and self.dr_decoder is not None else None
        fusions = self.fusions
        if fusions is None or guides is None:
            le = self.le_decoder(feats)
        elif self.ff_site == "skip":
            fused = [f(s, r) for f, s, r in zip(fusions, feats[:-1], guides, strict=True)]
            le = self.le_decoder([*fused, feats[-1]])
        else:
            le = self.le_decoder(feats, post=lambda k, h: fusions[k](h, guides[k]))
        out = {"pred": self.le_head(le[0])}
        if with_dr and guides is not None and self.dr_head is not None:
            out["dr"] = self.dr_head(guides[0])
        return out


def _build_fusion(fusion: FusionLike, channels: int) -> nn.Module:
    if isinstance(fusion, nn.Module):
        raise TypeError(
            "NEID builds one fusion op per level with its own channel count: pass a fusion "
            "name or spec (e.g. 'core.add', {'type': 'neid.channel_ff', 'gate': 'residual'}) "
            f"or a callable channels -> module, not the module {type(fusion).__name__}"
        )
    if callable(fusion) and not isinstance(fusion, str | Mapping | ComponentSpec):
        return fusion(channels)
    module = build_component("fusion", fusion, channels=channels)
    if not isinstance(module, nn.Module):
        raise TypeError(f"fusion spec {fusion!r} built a {type(module).__name__}, not a module")
    return module
