"""lle-hf2: classification-driven low-light enhancement with heterogeneous feature fusion.

Tang, Ma, Shang, Fan, "Learning to fuse heterogeneous features for low-light image
enhancement". Components register under ``hf2.`` names through the ``lle.plugins`` entry point
(see :mod:`lle_hf2.hooks`); importing this package is cheap (torch-heavy modules load when a
component is first built).
"""

from __future__ import annotations

__version__ = "0.1.0"

#: The paper every component of this plugin cites (sections and equations are added per class).
PAPER = (
    "Tang, Ma, Shang, Fan: Learning to fuse heterogeneous features for LLIE"
)
