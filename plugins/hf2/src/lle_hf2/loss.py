"""The HF2 training loss (Tang et al., Sec. 2.3, Eq. 2) as a configuration of core terms.

``L = λ1·(1 − MS-SSIM(ŷ, y)) + λ2·L1(ŷ, y)`` with ``λ1 = 0.8`` and ``λ2 = 0.2``. Nothing is
re-implemented here: the terms are core's ``core.ms_ssim`` (standard 5-scale MS-SSIM, 11×11
Gaussian window, σ 1.5) and ``core.l1`` (plain mean absolute error), combined by
``core.composite``. The same spec is written out in ``recipes/paper.yaml``.
"""

from __future__ import annotations

from typing import Any

#: Weights of Eq. 2.
MS_SSIM_WEIGHT = 0.8
L1_WEIGHT = 0.2


def paper_loss_spec(
    ms_ssim_weight: float = MS_SSIM_WEIGHT,
    l1_weight: float = L1_WEIGHT,
    **ms_ssim_options: Any,
) -> dict[str, Any]:
    """The ``core.composite`` spec of Eq. 2 (a fresh dict on every call).

    Args:
        ms_ssim_weight: ``λ1``.
        l1_weight: ``λ2``.
        **ms_ssim_options: Extra parameters of ``core.ms_ssim`` (e.g. ``on_small="fewer_scales"``
            to train on crops smaller than the 176 px that five scales need).

    Returns:
        ``{"type": "core.composite", "terms": [...]}``, ready for ``lle_core.create("loss", …)``.
    """
    return {
        "type": "core.composite",
        "terms": [
            {"type": "core.ms_ssim", "weight": ms_ssim_weight, **ms_ssim_options},
            {"type": "core.l1", "weight": l1_weight},
        ],
    }
