"""The end-to-end demo (``lle demo`` / ``make demo``) and its synthetic-pair generator.

* :mod:`lle_core.demo.synthesis` — :func:`darken`: DLN darkening ``X = β(αY)^γ`` with colour
  and contrast dimming plus Poisson-Gaussian sensor noise in linear light, seeded.
* :mod:`lle_core.demo.images` — clean photos without download (scikit-image's bundled photos
  or procedural images).
* :mod:`lle_core.demo.run` — :func:`run_demo`: synthesise, train, evaluate, report.
"""

from __future__ import annotations

from lle_core.demo.synthesis import SynthesisConfig, add_sensor_noise, darken

__all__ = ["SynthesisConfig", "add_sensor_noise", "darken"]
