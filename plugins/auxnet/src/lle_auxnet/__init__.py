"""lle-auxnet: AuxNet (Jin, Chen, Liang, ICAROB 2023) as a plugin of the ``lle`` toolkit.

Registered names: ``auxnet.model``, ``auxnet.inception_stem``, ``auxnet.illumination``,
``auxnet.calibrator``, ``auxnet.fidelity``, ``auxnet.smoothness``, ``auxnet.staged`` and the
recipe ``auxnet:paper``. Classes are importable from here (loaded on first access).
"""

from __future__ import annotations

from lle_core.lazy import lazy_exports

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "AuxNet": "lle_auxnet.model",
    "AuxNetParams": "lle_auxnet.model",
    "InceptionDilatedStem": "lle_auxnet.blocks",
    "IlluminationEstimator": "lle_auxnet.blocks",
    "SelfCalibrator": "lle_auxnet.blocks",
    "StageFidelityLoss": "lle_auxnet.losses",
    "StageSmoothnessLoss": "lle_auxnet.losses",
    "StagedScheme": "lle_auxnet.scheme",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


__all__ = ["__version__", *_LAZY]
