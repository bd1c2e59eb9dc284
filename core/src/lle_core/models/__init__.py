"""Core's own enhancers (kind ``model``).

* ``core.unet_small`` (:class:`lle_core.models.unet_small.UNetSmall`): a small generic
  supervised U-Net, the demo's default model and the reference implementation of the
  :class:`~lle_core.interfaces.Enhancer` interface for plugin authors.

Parameter-free baselines (``core.identity``, ``core.gamma``, ...) live in
:mod:`lle_core.baselines`.
"""

from __future__ import annotations
