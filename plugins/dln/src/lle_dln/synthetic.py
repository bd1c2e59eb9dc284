"""DLN's synthetic training data: ``dln.synthetic``, the DLN paper's simulation of low light.

The pipeline (``X = β·(α·Y)^γ`` with DLN's colour/contrast dimming, aligned crop and
augmentation, optional Poisson–Gaussian noise) lives in core, :mod:`lle_core.data.synthesis`,
so that core's demo and benchmarks use it without depending on this plugin; this module
registers it under DLN's name with DLN's paper reference. Same parameters, same items for a
given seed as ``core.synthetic``.
"""

from __future__ import annotations

from typing import ClassVar

from lle_core.data.synthesis import SyntheticLowLight as CoreSyntheticLowLight
from lle_dln import PAPER


class SyntheticLowLight(CoreSyntheticLowLight):
    """Any folder of normal-light photos as a paired low-light dataset (DLN synthesis).

    Items: ``{"low": (3, crop, crop), "high": (3, crop, crop), "name": str}``, float32 in
    ``[0, 1]``. Item ``i`` is a pure function of ``(seed, epoch, i)`` and the image file.
    Parameters: :class:`lle_core.data.synthesis.SyntheticParams`.
    """

    paper = f"{PAPER}, Experiments (simulation equation)"
    dataset_name: ClassVar[str] = "dln.synthetic"
