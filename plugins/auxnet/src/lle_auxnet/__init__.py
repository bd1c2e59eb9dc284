"""lle-auxnet: AuxNet (Jin, Chen, Liang, ICAROB 2023) as a plugin of the ``lle`` toolkit.

Registered names: ``auxnet.model``, ``auxnet.fidelity``, ``auxnet.smoothness``,
``auxnet.staged`` and the recipe ``auxnet:paper``. Classes are importable from here (loaded on
first access).
"""

from __future__ import annotations

from lle_core.lazy import lazy_exports

__version__ = "0.1.0"

#: The paper every component of this plugin cites (sections and equations are added per class).
PAPER = (
    "Jin, Chen, Liang, A lightweight low-light image enhancement network, ICAROB 2023"
)

# Names imported from their module on first access (keeps the import light).
__getattr__, __dir__, _LAZY_NAMES = lazy_exports(__name__, {
    "lle_auxnet.model": ("AuxNet", "AuxNetParams"),
    "lle_auxnet.blocks": ("InceptionDilatedStem", "IlluminationEstimator", "SelfCalibrator"),
    "lle_auxnet.losses": ("StageFidelityLoss", "StageSmoothnessLoss"),
    "lle_auxnet.trainer": ("StagedTrainer",),
})


__all__ = ["__version__", *_LAZY_NAMES]
