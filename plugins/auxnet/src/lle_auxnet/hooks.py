"""Plugin hook of lle-auxnet: registers AuxNet's parts (lazily: nothing heavy is imported here)."""

from __future__ import annotations

from lle_core.hookspecs import RegisterFn, hookimpl
from lle_core.weights import register_shipped_weights

LLE_PLUGIN_API = 1

PAPER = "Jin, Chen, Liang, A lightweight low-light image enhancement network, ICAROB 2023"

#: Small loss used by the trainer's conformance example (no VGG download needed).
_EXAMPLE_LOSS = {
    "type": "core.composite",
    "terms": [
        {"type": "auxnet.fidelity", "weight": 0.8},
        {"type": "auxnet.smoothness", "weight": 0.65},
    ],
}


@hookimpl
def lle_register(register: RegisterFn) -> None:
    """Register the stem, H_θ, K_ξ, the model, the two losses and the training scheme."""
    register(
        "block", "inception_stem", "lle_auxnet.blocks:InceptionDilatedStem",
        params="lle_auxnet.blocks:InceptionStemParams",
        summary="Improved Inception-v2 stem: parallel dilated 3x3 branches, concatenated",
        paper=f"{PAPER}, Sec. 2.1, Fig. 2",
    )
    register(
        "block", "illumination", "lle_auxnet.blocks:IlluminationEstimator",
        params="lle_auxnet.blocks:IlluminationParams",
        summary="H_theta: three 3x3 convs (BN in the middle), sigmoid residual u",
        paper=f"{PAPER}, Sec. 2.2, Eq. 2, Fig. 3",
        example={"in_channels": 3},
    )
    register(
        "block", "calibrator", "lle_auxnet.blocks:SelfCalibrator",
        params="lle_auxnet.blocks:CalibratorParams",
        summary="K_xi self-calibrator (SCI CalibrateNetwork): E = R - sigmoid(f(R)); training only",
        paper=f"{PAPER}, Sec. 2.2, Eq. 3 (SCI, Ma et al. CVPR 2022)",
        example={"width": 4, "repeats": 1},
    )
    register(
        "model", "model", "lle_auxnet.model:AuxNet",
        params="lle_auxnet.model:AuxNetParams",
        summary="AuxNet: 1,295-parameter Retinex enhancer, T shared stages + auxiliary blocks "
                "in training, one block at inference",
        paper=PAPER,
        capabilities={
            "multiple_of": 1, "min_size": 1, "tiling": "tile", "receptive_field": 8,
            "dtypes": ("float32", "bfloat16"), "needs_ground_truth": False,
            "needs_weights": True,
        },
        example={"stages": 2, "calibrator_width": 4, "calibrator_repeats": 1},
    )
    register(
        "loss", "fidelity", "lle_auxnet.losses:StageFidelityLoss",
        params="lle_auxnet.losses:FidelityParams",
        summary="Stage fidelity sum_t MSE(L^t, V^(t-1)) (no ground truth)",
        paper=f"{PAPER}, Eq. 5",
    )
    register(
        "loss", "smoothness", "lle_auxnet.losses:StageSmoothnessLoss",
        params="lle_auxnet.losses:SmoothnessParams",
        summary="Illumination smoothness per stage: isotropic TV (default) or SCI weighted 5x5",
        paper=f"{PAPER}, Eq. 6",
    )
    register(
        "trainer", "staged", "lle_auxnet.scheme:StagedScheme",
        params="lle_auxnet.scheme:StagedParams",
        summary="No-reference weight-shared cascade; low-light images only, one stage exported",
        paper=f"{PAPER}, Sec. 2.3, Eq. 4",
        example={
            "model": {"type": "auxnet.model", "stages": 2, "calibrator_width": 4,
                      "calibrator_repeats": 1},
            "loss": _EXAMPLE_LOSS,
        },
    )
    register_shipped_weights(register, "lle_auxnet")  # weights/*.json: trained sets
