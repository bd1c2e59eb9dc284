"""lle-neid: NEID (Jiang, Liu et al.), two-stream light enhancement and detail refinement.

Components (registered under ``neid.*`` through the ``lle.plugins`` entry point):
``neid.channel_ff`` (fusion), ``neid.model`` (model), ``neid.hsv_color`` (loss) and
``neid.two_stream`` (trainer). The paper recipe is ``neid:paper``.

Importing this package is cheap: the torch modules load on first attribute access.
"""

from __future__ import annotations

from lle_core.lazy import lazy_exports

__version__ = "0.1.0"

#: The paper every component of this plugin cites (sections and equations are added per class).
PAPER = (
    "Jiang, Liu, Wang, Li, Men, Wang, Luo, 'Bridge the Vision Gap from Field to Command: "
    "A Deep Learning Network Enhancing Illumination and Details' (NEID), arXiv:2101.08039"
)

# Names imported from their module on first access (keeps the import light).
__getattr__, __dir__, _LAZY_NAMES = lazy_exports(__name__, {
    "lle_neid.model": ("NEID",),
    "lle_neid.blocks": ("UNetEncoder", "UNetDecoder", "SubPixelHead"),
    "lle_neid.fusion": ("ChannelFeatureFusion",),
    "lle_neid.losses": ("HSVColorLoss", "hsv_color_loss"),
    "lle_neid.trainer": ("TwoStreamTrainer",),
    "lle_neid.resize": ("bicubic_downsample",),
})


__all__ = ["__version__", *_LAZY_NAMES]
