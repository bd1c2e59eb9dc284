"""Core's own components, registered through the same plugin hook as every plugin.

Like a plugin's ``hooks.py`` this module only names the classes (lazy ``"module:Class"``
paths); each class describes itself (parameters, summary, paper, capabilities; see
:func:`lle_core.registry.describe`). Nothing here imports torch, so listing components stays
light (:mod:`lle_core.manifest`).
"""

from __future__ import annotations

from typing import Any

from lle_core.hookspecs import Backend, RegisterFn, hookimpl

LLE_PLUGIN_API = 1

#: Small model and loss used by the trainers' conformance examples.
EXAMPLE_MODEL: dict[str, Any] = {"type": "core.unet_small", "base_width": 8}
EXAMPLE_LOSS: dict[str, Any] = {"type": "core.l1"}

#: (kind, name, "module:Class", kit example or None), in listing order.
COMPONENTS: tuple[tuple[str, str, str, dict[str, Any] | None], ...] = (
    ("fusion", "add", "lle_core.fusion_ops:AddFusion", None),
    ("fusion", "mul", "lle_core.fusion_ops:MulFusion", None),
    ("fusion", "cat", "lle_core.fusion_ops:ConcatFusion", None),
    ("loss", "l1", "lle_core.losses.pixel:L1Loss", None),
    ("loss", "mse", "lle_core.losses.pixel:MSELoss", None),
    ("loss", "charbonnier", "lle_core.losses.pixel:CharbonnierLoss", None),
    ("loss", "huber", "lle_core.losses.pixel:HuberLoss", None),
    ("loss", "ssim", "lle_core.losses.ssim:SSIMLoss", None),
    ("loss", "ms_ssim", "lle_core.losses.ssim:MSSSIMLoss",
     {"padding": "same", "on_small": "fewer_scales"}),
    ("loss", "tv", "lle_core.losses.tv:TVLoss", None),
    ("loss", "color_cosine", "lle_core.losses.color:ColorCosineLoss", None),
    ("loss", "perceptual", "lle_core.losses.perceptual:PerceptualLoss",
     {"weights": "random", "layer": "relu1_2"}),
    ("loss", "composite", "lle_core.losses.composite:CompositeLoss",
     {"terms": [{"type": "core.l1"}, {"type": "core.ssim", "padding": "same", "weight": 0.5}]}),
    ("metric", "psnr", "lle_core.metrics:PSNRMetric", None),
    ("metric", "ssim", "lle_core.metrics:SSIMMetric", None),
    ("dataset", "paired_folder", "lle_core.data.folders:PairedFolderDataset",
     {"root": "{paired_dir}", "crop": 8, "flip": True, "rot90": True}),
    ("dataset", "unpaired_folder", "lle_core.data.folders:UnpairedFolderDataset",
     {"root": "{low_dir}", "crop": 8, "flip": True}),
    ("dataset", "synthetic", "lle_core.data.synthesis:SyntheticLowLight",
     {"root": "{clean_dir}", "crop": 16, "short_side": 32}),
    ("dataset", "dark_photos", "lle_core.data.dark_photos:DarkPhotosDataset",
     {"root": "{clean_dir}", "crop": 16, "flip": True}),
    ("dataset", "mixed", "lle_core.data.mixed:MixedDataset",
     {"parts": [{"type": "core.paired_folder", "root": "{paired_dir}", "crop": 8},
                {"type": "core.dark_photos", "root": "{clean_dir}", "crop": 8}]}),
    ("model", "identity", "lle_core.baselines:IdentityEnhancer", None),
    ("model", "gamma", "lle_core.baselines:GammaEnhancer", None),
    ("model", "histeq", "lle_core.baselines:HistEqEnhancer", None),
    ("model", "clahe", "lle_core.baselines:ClaheEnhancer", None),
    ("model", "unet_small", "lle_core.models.unet_small:UNetSmall", {"base_width": 4}),
    ("trainer", "supervised", "lle_core.engine.trainers:SupervisedTrainer",
     {"model": EXAMPLE_MODEL, "loss": EXAMPLE_LOSS}),
    ("trainer", "unsupervised", "lle_core.engine.trainers:UnsupervisedTrainer",
     {"model": EXAMPLE_MODEL, "loss": {"type": "core.tv", "mode": "l1"}}),
)


@hookimpl
def lle_register(register: RegisterFn) -> None:
    """Register every core component (names under ``core.``)."""
    for kind, name, path, example in COMPONENTS:
        register(kind, name, path, example=example)


@hookimpl
def lle_register_shipped(package: str, register: RegisterFn) -> None:
    """Register the weight sets ``package`` ships (``weights/*.json``), core's included."""
    from lle_core.weight_sets import register_shipped_weights

    register_shipped_weights(register, package)


@hookimpl
def lle_inference_backends() -> list[Backend]:
    """ONNX Runtime: runs a file written by ``lle export`` (needs ``lle-core[onnx]``)."""
    return [Backend(
        name="onnxruntime",
        summary="ONNX Runtime on the CPU: an .onnx file written by lle export",
        load="lle_core.export:OnnxEnhancer",
        suffixes=(".onnx",),
    )]
