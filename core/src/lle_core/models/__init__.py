"""Core's own enhancers (kind ``model``).

* ``core.unet_small`` (:class:`lle_core.models.unet_small.UNetSmall`): a small generic
  supervised U-Net, the demo's default model and the reference implementation of the
  :class:`~lle_core.interfaces.Enhancer` interface for plugin authors.

Parameter-free baselines (``core.identity``, ``core.gamma``, ...) live in
:mod:`lle_core.baselines`.
"""

from __future__ import annotations

from lle_core.hookspecs import RegisterFn
from lle_core.registry import Capabilities

#: Capabilities of ``core.unet_small`` (kept here so registration does not import torch).
#: The receptive field is the exact context radius of one output pixel (convolutions and
#: poolings of the three levels; checked by a test that perturbs one pixel).
UNET_SMALL_CAPABILITIES = Capabilities(
    multiple_of=4,
    min_size=4,
    scale=1,
    tiling="tile",
    receptive_field=24,
    dtypes=("float32", "bfloat16"),
    needs_ground_truth=True,
    needs_weights=True,
)


def register_components(register: RegisterFn) -> None:
    """Register core's trainable models (called by :mod:`lle_core.builtins`)."""
    register(
        "model",
        "unet_small",
        "lle_core.models.unet_small:UNetSmall",
        params="lle_core.models.unet_small:UNetSmallParams",
        summary="Small 3-level U-Net (residual output), the reference Enhancer and demo model",
        paper=None,
        capabilities=UNET_SMALL_CAPABILITIES,
        example={"base_width": 4},
    )
