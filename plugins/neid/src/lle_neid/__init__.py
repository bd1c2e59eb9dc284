"""lle-neid: NEID (Jiang, Liu et al.), two-stream light enhancement and detail refinement.

Components (registered under ``neid.*`` through the ``lle.plugins`` entry point):
``neid.unet_encoder``, ``neid.unet_decoder``, ``neid.subpixel_head`` (blocks),
``neid.channel_ff`` (fusion), ``neid.model`` (model), ``neid.hsv_color`` (loss) and
``neid.two_stream`` (training scheme). The paper recipe is ``neid:paper``.

Importing this package is cheap: the torch modules load on first attribute access.
"""

from __future__ import annotations

from lle_core.lazy import lazy_exports

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "NEID": "lle_neid.model:NEID",
    "UNetEncoder": "lle_neid.blocks:UNetEncoder",
    "UNetDecoder": "lle_neid.blocks:UNetDecoder",
    "SubPixelHead": "lle_neid.blocks:SubPixelHead",
    "ChannelFeatureFusion": "lle_neid.fusion:ChannelFeatureFusion",
    "HSVColorLoss": "lle_neid.losses:HSVColorLoss",
    "hsv_color_loss": "lle_neid.losses:hsv_color_loss",
    "TwoStreamScheme": "lle_neid.scheme:TwoStreamScheme",
    "bicubic_downsample": "lle_neid.resize:bicubic_downsample",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


__all__ = ["__version__", *_LAZY]
