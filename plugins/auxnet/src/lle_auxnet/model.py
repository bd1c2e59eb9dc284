"""AuxNet: T weight-shared stages with auxiliary blocks in training, one basic block at inference.

Paper: Jin, Chen, Liang, ICAROB 2023, Sec. 2 (Fig. 1, Eqs. 2-3); mapped onto SCI (Ma et al.,
CVPR 2022), the basis the paper names (AuxNet Sec. 2). Symbols (AuxNet -> SCI): S -> y, L^t -> x^t,
R^t -> z^t, K_ξ -> K_ϑ, E^t -> s^t, V^t -> v^t.

One training stage t = 1..T (FE, H_θ and K_ξ shared by all stages; ``V^0 = S``):

* illumination block: ``u = H_θ(FE(V^{t−1}))``, ``L^t = clamp(V^{t−1} + u, 1e-4, 1)``;
* auxiliary block: ``R^t = clamp(S / L^t, 0, 1)``, ``E^t = K_ξ(R^t)``, ``V^t = S + E^t``.

Inference runs the first stage's illumination block only and returns ``clamp(S / L^1, 0, 1)``
(the Retinex output; our choice), so ``forward(S) == forward_train(S)["pred"]``.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import torch
from pydantic import Field, model_validator
from torch import Tensor, nn

from lle_auxnet import PAPER
from lle_auxnet.blocks import IlluminationEstimator, InceptionDilatedStem, SelfCalibrator
from lle_core.interfaces import Enhancer
from lle_core.registry import Capabilities, Params

#: Smallest illumination value: the guard of the Retinex division ``S / L`` (SCI's value).
ILLUMINATION_FLOOR = 1e-4


class AuxNetParams(Params):
    """Parameters of :class:`AuxNet` (defaults = our 1,295-parameter inference model).

    Attributes:
        stages: T, the number of weight-shared training stages (3 in the paper).
        fe_wiring: ``"per_stage"`` (default): the stem reads each stage input V^{t−1};
            ``"once"``: the stem runs once on S and its features are concatenated with V^{t−1}
            at every stage (H_θ then reads ``stem width + 3`` channels). Both fit the paper's
            "spliced and transmitted to the middle module" (Sec. 2); the choice is ours.
        branch_channels: Stem branch width(s) (see :class:`lle_auxnet.blocks.InceptionDilatedStem`).
        dilations: Stem branch dilations (0 = a 1×1 branch).
        reduction_channels: 1×1 reduction before each dilated branch (``None`` = none).
        hidden_channels: Width of H_θ's two hidden convolutions.
        calibrator_width: Feature width of the training-only K_ξ.
        calibrator_repeats: Applications of K_ξ's shared residual block.
        illumination_floor: Lower clamp of L (guards ``S / L``).
        channels_last: Run the convolutions in channels-last layout (same results, about 2×
            faster on CPU for these 3-16-channel maps; outputs are returned contiguous).
    """

    stages: int = Field(3, ge=1)
    fe_wiring: Literal["per_stage", "once"] = "per_stage"
    branch_channels: int | list[int] = 4
    dilations: list[Annotated[int, Field(ge=0)]] = Field(  # 0: a 1x1 branch
        default_factory=lambda: [1, 2, 3, 4], min_length=1
    )
    reduction_channels: int | None = Field(None, ge=1)
    hidden_channels: int = Field(4, ge=1)
    calibrator_width: int = Field(16, ge=1)
    calibrator_repeats: int = Field(3, ge=1)
    illumination_floor: float = Field(ILLUMINATION_FLOOR, gt=0.0, lt=1.0)
    channels_last: bool = True

    @model_validator(mode="after")
    def _widths_match(self) -> AuxNetParams:
        widths = self.branch_channels
        if isinstance(widths, list) and len(widths) != len(self.dilations):
            raise ValueError(
                f"branch_channels has {len(widths)} entries but dilations has "
                f"{len(self.dilations)}"
            )
        return self


class AuxNet(Enhancer):
    """AuxNet enhancer: ``low S (B, 3, H, W) in [0, 1] -> clamp(S / L, 0, 1)`` of the same shape.

    Training (:meth:`forward_train`) unrolls T weight-shared stages with the auxiliary block;
    inference (:meth:`forward`) runs one basic block. The calibrator ``calibrator.*`` is
    training-only and left out of :meth:`export_state_dict`.
    """

    Params = AuxNetParams
    summary = ("AuxNet: 1,295-parameter Retinex enhancer, T shared stages + auxiliary blocks "
               "in training, one block at inference")
    paper = PAPER

    default_capabilities: ClassVar[Capabilities] = Capabilities(
        multiple_of=1,
        min_size=1,
        tiling="tile",
        receptive_field=8,
        dtypes=("float32", "bfloat16"),
        needs_ground_truth=False,
        needs_weights=True,
        fast_path=("fold", "native", "channels_last", "bfloat16"),
    )
    training_only_prefixes: ClassVar[tuple[str, ...]] = ("calibrator.",)

    def __init__(
        self,
        stages: int = 3,
        fe_wiring: Literal["per_stage", "once"] = "per_stage",
        branch_channels: int | list[int] = 4,
        dilations: list[int] | tuple[int, ...] = (1, 2, 3, 4),
        reduction_channels: int | None = None,
        hidden_channels: int = 4,
        calibrator_width: int = 16,
        calibrator_repeats: int = 3,
        illumination_floor: float = ILLUMINATION_FLOOR,
        channels_last: bool = True,
    ) -> None:
        """Args: see :class:`AuxNetParams`."""
        super().__init__()
        self.stages = stages
        self.fe_wiring = fe_wiring
        self.floor = float(illumination_floor)
        self.channels_last = bool(channels_last)
        self.stem = InceptionDilatedStem(3, branch_channels, dilations, reduction_channels)
        extra = 3 if fe_wiring == "once" else 0
        self.illumination = IlluminationEstimator(
            self.stem.out_channels + extra, hidden_channels, 3
        )
        self.calibrator = SelfCalibrator(3, calibrator_width, calibrator_repeats)

    @property
    def capabilities(self) -> Capabilities:
        """Receptive field follows the stem's largest dilation (+3 for H_θ's three 3×3 convs)."""
        return self.default_capabilities.model_copy(
            update={"receptive_field": self.stem.receptive_radius + 4}
        )

    # -- the two blocks of one stage ----------------------------------------------------
    def illumination_step(self, v: Tensor, features: Tensor | None = None) -> Tensor:
        """Illumination block (Eq. 2): ``L = clamp(V + H_θ(FE(V)), floor, 1)``.

        Args:
            v: Stage input ``V^{t−1}`` ``(B, 3, H, W)``.
            features: Stem features of S for ``fe_wiring="once"`` (``None`` otherwise).

        Returns:
            ``L^t`` ``(B, 3, H, W)`` in ``[floor, 1]``.
        """
        feats = self.stem(v) if features is None else torch.cat([features, v], dim=1)
        u = self.illumination(feats)
        if torch.is_grad_enabled():
            return torch.clamp(v + u, self.floor, 1.0)
        return u.add_(v).clamp_(self.floor, 1.0)  # inference: reuse u's memory

    @staticmethod
    def retinex_output(low: Tensor, illumination: Tensor) -> Tensor:
        """``clamp(S / L, 0, 1)`` with ``L >= floor > 0`` (division guarded, finite)."""
        if torch.is_grad_enabled():
            return torch.clamp(low / illumination, 0.0, 1.0)
        return torch.div(low, illumination, out=illumination).clamp_(0.0, 1.0)

    def _layout(self, x: Tensor) -> Tensor:
        if self.channels_last and x.dim() == 4:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def _stem_once(self, low: Tensor) -> Tensor | None:
        return self.stem(low) if self.fe_wiring == "once" else None

    # -- inference ------------------------------------------------------------------------
    def forward(self, low: Tensor) -> Tensor:
        """One basic block: ``(B, 3, H, W) in [0, 1] -> clamp(S / L^1, 0, 1)`` same shape."""
        low = self._layout(low)
        illumination = self.illumination_step(low, self._stem_once(low))
        return self.retinex_output(low, illumination).contiguous()

    # -- training -------------------------------------------------------------------------
    def forward_train(self, low: Tensor) -> dict[str, Tensor]:
        """Unroll the T weight-shared stages with the auxiliary block (Eqs. 2-3).

        Args:
            low: S, ``(B, 3, H, W)`` in ``[0, 1]``.

        Returns:
            A dict of tensors (stage tensors stacked on dim 1, batch first):

            * ``pred``: first stage's output ``clamp(S / L^1, 0, 1)`` ``(B, 3, H, W)``
              (= :meth:`forward` for the same weights and mode);
            * ``illuminations``: ``L^1..L^T`` ``(B, T, 3, H, W)`` in ``[floor, 1]``;
            * ``stage_inputs``: ``V^0 = S, V^1..V^{T−1}`` ``(B, T, 3, H, W)``;
            * ``reflectances``: ``R^1..R^T`` ``(B, T, 3, H, W)`` in ``[0, 1]``;
            * ``illumination``: ``L^T`` ``(B, 3, H, W)`` (last stage);
            * ``calibrated_input``: ``V^T = S + E^T`` ``(B, 3, H, W)`` (the perceptual loss
              compares it with ``L^T``, Eq. 7).
        """
        low = self._layout(low)
        features = self._stem_once(low)
        v = low
        illuminations, inputs, reflectances = [], [], []
        for _ in range(self.stages):
            inputs.append(v)
            illum = self.illumination_step(v, features)
            r = torch.clamp(low / illum, 0.0, 1.0)
            v = low + self.calibrator(r)
            illuminations.append(illum)
            reflectances.append(r)
        return {
            "pred": reflectances[0].contiguous(),
            "illuminations": torch.stack(illuminations, dim=1),
            "stage_inputs": torch.stack(inputs, dim=1),
            "reflectances": torch.stack(reflectances, dim=1),
            "illumination": illuminations[-1],
            "calibrated_input": v,
        }

    # -- fast inference copy (lle_core.inference.fast) ----------------------------------
    def fast_inference(self, options: tuple[str, ...]) -> nn.Module:
        """A fused inference-only copy; ``self`` is unchanged.

        Args:
            options: The usable ``fast_path`` options. ``fold`` is always applied here;
                ``native`` runs the compiled CPU kernel (:mod:`lle_auxnet.cpu_kernel`) where a
                C compiler is available and the configuration is the one it computes
                (convolutions in bfloat16 when ``bfloat16`` is given too); otherwise (and for
                inputs it does not take) :class:`lle_auxnet.fast.FastAuxNet` runs, with
                ``channels_last`` / ``bfloat16`` if given.
        """
        from lle_auxnet.fast import FastAuxNet
        from lle_core.inference.fast import fold_batch_norm

        stem = []
        for branch in self.stem.branches:
            convs = [m for m in branch.modules() if isinstance(m, nn.Conv2d)]
            stem.append([(c.weight, c.bias, int(c.padding[0]), c.dilation[0]) for c in convs])
        est = self.illumination
        mid_w, mid_b = est.conv_mid.weight, est.conv_mid.bias
        if isinstance(est.bn_mid, nn.BatchNorm2d):
            mid_w, mid_b = fold_batch_norm(est.conv_mid, est.bn_mid)
        convs3 = [(est.conv_in.weight, est.conv_in.bias), (mid_w, mid_b),
                  (est.conv_out.weight, est.conv_out.bias)]
        fast = FastAuxNet(
            stem,
            convs3,
            floor=self.floor,
            stem_once=self.fe_wiring == "once",
            channels_last="channels_last" in options,
            bfloat16="bfloat16" in options,
        )
        if "native" not in options or not self._kernel_computes_this():
            return fast
        from lle_auxnet.cpu_kernel import CpuKernelAuxNet, load_library

        lib = load_library()
        if lib is None:
            return fast
        kernel_stem = [(w, b, int(d)) for ((w, b, _, d),) in stem]
        bfloat16 = "bfloat16" in options and bool(lib.auxnet_bf16())
        return CpuKernelAuxNet(lib, kernel_stem, convs3, floor=self.floor, bfloat16=bfloat16,
                               fallback=fast)

    def _kernel_computes_this(self) -> bool:
        """Whether this configuration is the one :mod:`lle_auxnet.cpu_kernel` computes."""
        if self.fe_wiring != "per_stage" or not 1 <= len(self.stem.branches) <= 8:
            return False
        for branch in self.stem.branches:
            convs = [m for m in branch.modules() if isinstance(m, nn.Conv2d)]
            if len(convs) != 1:
                return False
            c = convs[0]
            if (c.in_channels, c.out_channels, c.kernel_size, c.bias is None) != (
                3, 4, (3, 3), False
            ) or not (c.padding[0] == c.padding[1] == c.dilation[0] == c.dilation[1] <= 8):
                return False
        est = self.illumination
        shapes = [(m.in_channels, m.out_channels) for m in (est.conv_in, est.conv_mid,
                                                           est.conv_out)]
        return shapes == [(4 * len(self.stem.branches), 4), (4, 4), (4, 3)] and all(
            m.bias is not None for m in (est.conv_in, est.conv_mid, est.conv_out)
        )

    # -- bookkeeping ----------------------------------------------------------------------
    def inference_parameter_count(self) -> int:
        """Parameters of the exported inference model (calibrator excluded)."""
        return sum(
            p.numel()
            for name, p in self.named_parameters()
            if not name.startswith(self.training_only_prefixes)
        )
