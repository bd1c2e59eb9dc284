"""``evaluate``: PSNR / SSIM (and GT-mean variants) of a model on paired data.

Protocol (stated next to every number, see :data:`PROTOCOL`): that of
:mod:`lle_core.metrics` — RGB, data range 1, both images clamped to ``[0, 1]`` and rounded
to 8-bit levels, PSNR from the MSE of each image, SSIM with an 11×11 Gaussian window
(σ = 1.5, valid positions), each computed per image on the full image (no border crop) and
then averaged over images. Models run through :func:`lle_core.enhance` (padding and tiling
as for users). GT-mean variants first scale the prediction so that its mean grey level equals
the ground truth's: they remove the overall brightness error and are shown *in addition
to*, never instead of, the plain scores.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from lle_core.errors import ConfigError, DatasetError, LLEError, ShapeError, WeightsError
from lle_core.evaluation.pairs import Pair, as_pairs
from lle_core.inference import enhance, model_for_inference
from lle_core.inference.loading import ModelLike

PROTOCOL = (
    "RGB, data range 1, images clamped to [0,1] and rounded to 8-bit levels; PSNR from the "
    "MSE of each image (max 100 dB); SSIM Gaussian 11x11 sigma 1.5, valid windows; per image "
    "on full images, mean over images; GT-mean: prediction scaled to the ground-truth mean "
    "grey level first"
)

#: Names of the parameter-free baseline models and their registry names.
BASELINES: dict[str, str] = {
    "identity": "core.identity",
    "gamma": "core.gamma",
    "histeq": "core.histeq",
    "clahe": "core.clahe",
}

GtMean = bool | Literal["both"]


@dataclass
class EvalResult:
    """Scores of one model on one dataset.

    Attributes:
        model: Label of the model (registry name, or what the caller chose).
        images: One record per image: ``name`` plus ``psnr``, ``ssim`` (and
            ``psnr_gtmean``, ``ssim_gtmean`` when asked for).
        mean: Average of every metric over the images.
        protocol: How the numbers were computed (:data:`PROTOCOL`).
        seconds: Wall time of the evaluation (inference included).
        spec: The model spec as plain data, when known.
        weights: The weights file, when one was used.
        outputs: Enhanced images of the first ``keep_outputs`` items, by name.
        failed: Items skipped with ``on_error="skip"``: ``{"name", "error"}`` records.
    """

    model: str
    images: list[dict[str, Any]]
    mean: dict[str, float]
    protocol: str = PROTOCOL
    seconds: float = 0.0
    spec: dict[str, Any] | None = None
    weights: str | None = None
    outputs: dict[str, Tensor] = field(default_factory=dict, repr=False)
    failed: list[dict[str, str]] = field(default_factory=list)

    @property
    def metrics(self) -> list[str]:
        """Metric names in display order."""
        return list(self.mean)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (without the output images)."""
        return {
            "model": self.model,
            "spec": self.spec,
            "weights": self.weights,
            "protocol": self.protocol,
            "seconds": round(self.seconds, 3),
            "mean": self.mean,
            "images": self.images,
            "failed": self.failed,
        }


def _metric_functions() -> tuple[Callable[..., Tensor], Callable[..., Tensor]]:
    from lle_core.metrics import psnr, ssim_index

    return psnr, ssim_index


def score_pair(pred: Tensor, target: Tensor, *, gt_mean: GtMean = False) -> dict[str, float]:
    """PSNR / SSIM of one prediction, plus the GT-mean variants if asked.

    Args:
        pred: ``(3, H, W)`` or ``(1, 3, H, W)`` in ``[0, 1]``.
        target: Same shape.
        gt_mean: ``False``: plain scores; ``True`` or ``"both"``: plain and GT-mean.

    Returns:
        ``{"psnr", "ssim"[, "psnr_gtmean", "ssim_gtmean"]}`` (PSNR in dB).
    """
    psnr, ssim_index = _metric_functions()
    p = pred.unsqueeze(0) if pred.dim() == 3 else pred
    t = target.unsqueeze(0) if target.dim() == 3 else target
    if p.shape != t.shape:
        from lle_core.errors import ShapeError

        raise ShapeError(
            f"prediction {tuple(p.shape)} and ground truth {tuple(t.shape)} differ in size"
        )
    for label, x in (("prediction", p), ("ground truth", t)):
        if not bool(torch.isfinite(x).all()):
            from lle_core.errors import TensorError

            raise TensorError(f"{label} of shape {tuple(x.shape)} holds NaN or infinite values")
    p, t = p.float().clamp(0, 1), t.float().clamp(0, 1)
    scores = {"psnr": float(psnr(p, t)[0]), "ssim": float(ssim_index(p, t)[0])}
    if gt_mean:
        scores["psnr_gtmean"] = float(psnr(p, t, gt_mean=True)[0])
        scores["ssim_gtmean"] = float(ssim_index(p, t, gt_mean=True)[0])
    return scores


def _label(model: Any, net: nn.Module) -> str:
    spec = getattr(net, "lle_spec", None)
    if spec is not None:
        return str(spec.name)
    if isinstance(model, str):
        return model
    return type(net).__name__


def evaluate(
    model: ModelLike | None,
    data: Any,
    *,
    weights: str | Path | None = None,
    gt_mean: GtMean = False,
    label: str | None = None,
    device: torch.device | str | None = None,
    tile: int | Literal["auto", "off"] = "auto",
    overlap: int | None = None,
    max_memory_mb: float | None = None,
    max_images: int | None = None,
    keep_outputs: int = 0,
    progress: Callable[[int, int], None] | None = None,
    on_error: Literal["raise", "skip"] = "raise",
) -> EvalResult:
    """Evaluate a model on paired data with the fixed protocol (:data:`PROTOCOL`).

    Args:
        model: Built module, registry name / spec (weights required when the model needs
            them), or ``None`` with ``weights`` (the checkpoint records its model).
        data: Paired folder (``low/`` + ``high/``), dataset of ``{"low", "high", "name"}``
            items, or a sequence of ``(low, high)`` tensors.
        weights: Checkpoint weights file / run folder.
        gt_mean: Also compute GT-mean PSNR / SSIM (``True`` or ``"both"``).
        label: Name shown in tables (default: the registry name).
        device: Inference device.
        tile: Tiling policy passed to :func:`lle_core.enhance`.
        overlap: Tile overlap passed to :func:`lle_core.enhance`.
        max_memory_mb: Memory budget passed to :func:`lle_core.enhance`.
        max_images: Evaluate only the first N items.
        keep_outputs: Keep the enhanced images of the first N items in ``result.outputs``.
        progress: ``progress(done, total)`` after each image (``total`` may be ``0`` when
            unknown).
        on_error: ``"raise"``: the first item that cannot be read or scored raises (the
            message names its files); ``"skip"``: it is recorded in ``result.failed`` and the
            others are evaluated (the mean is over the good items only).

    Returns:
        An :class:`EvalResult`.

    Raises:
        DatasetError: No item could be evaluated; or, with ``on_error="raise"``, an item that
            cannot be evaluated (unreadable image, size mismatch, NaN).
    """
    net = model_for_inference(model, weights)
    pairs = as_pairs(data)
    total = len(pairs) if isinstance(pairs, Sized) else 0
    if max_images is not None and total:
        total = min(total, max_images)
    start = time.perf_counter()
    images, failed, outputs = _score_all(
        net, pairs, total, gt_mean=gt_mean, max_images=max_images, keep_outputs=keep_outputs,
        progress=progress, on_error=on_error,
        run={"device": device, "tile": tile, "overlap": overlap, "max_memory_mb": max_memory_mb},
    )
    if not images:
        reasons = "; ".join(f["error"] for f in failed[:3])
        raise DatasetError("no images to evaluate" + (f" (every item failed: {reasons})"
                                                      if failed else ""))
    mean = {k: sum(r[k] for r in images) / len(images) for k in images[0] if k != "name"}
    spec = getattr(net, "lle_spec", None)
    return EvalResult(
        model=label or _label(model, net),
        images=images,
        mean=mean,
        seconds=time.perf_counter() - start,
        spec=spec.to_dict() if spec is not None else None,
        weights=str(weights) if weights is not None else None,
        outputs=outputs,
        failed=failed,
    )


def _score_all(
    net: nn.Module,
    pairs: Iterable[Pair],
    total: int,
    *,
    gt_mean: GtMean,
    max_images: int | None,
    keep_outputs: int,
    progress: Callable[[int, int], None] | None,
    on_error: Literal["raise", "skip"],
    run: dict[str, Any],
) -> tuple[list[dict[str, Any]], list[dict[str, str]], dict[str, Tensor]]:
    """Score each pair (see :func:`evaluate`): per-image scores, failures, kept outputs.

    ``run`` holds the keyword arguments of :func:`lle_core.enhance` (device, tiling, budget).
    """
    images: list[dict[str, Any]] = []
    failed: list[dict[str, str]] = []
    outputs: dict[str, Tensor] = {}
    for i, pair in enumerate(pairs):
        if max_images is not None and i >= max_images:
            break
        try:
            pred, scores = _score_item(net, pair, gt_mean=gt_mean, run=run)
        except (ConfigError, WeightsError):
            raise  # the same for every item
        except (LLEError, OSError) as err:
            if on_error == "raise":
                raise DatasetError(f"cannot evaluate {pair.describe()}: {err}") from err
            failed.append({"name": pair.name, "error": f"{pair.describe()}: {err}"})
        else:
            images.append({"name": pair.name, **scores})
            if i < keep_outputs:
                outputs[pair.name] = pred.cpu()
        if progress is not None:
            progress(i + 1, total)
    return images, failed, outputs


def _score_item(
    net: nn.Module,
    pair: Pair,
    *,
    gt_mean: GtMean,
    run: dict[str, Any],
) -> tuple[Tensor, dict[str, float]]:
    """Enhance one pair's low image (``enhance(**run)``) and score it against its ground truth."""
    low, high = pair.load()
    pred = enhance(net, low, **run)
    if tuple(pred.shape[-2:]) != tuple(high.shape[-2:]):
        raise ShapeError(
            f"the result is {tuple(pred.shape[-2:])} (H, W) but the ground truth is "
            f"{tuple(high.shape[-2:])}; low and high images must match in size"
        )
    return pred, score_pair(pred, high.to(pred.device), gt_mean=gt_mean)


def evaluate_baselines(
    names: list[str] | tuple[str, ...],
    data: Any,
    **kwargs: Any,
) -> list[EvalResult]:
    """Evaluate parameter-free baselines by short name (``identity``) or registry name.

    Args:
        names: Baseline names (see :data:`BASELINES`; any model name that needs no weights
            works).
        data: See :func:`evaluate`.
        **kwargs: Passed to :func:`evaluate` (``gt_mean``, ``max_images``, ...).
    """
    results = []
    for name in names:
        full = BASELINES.get(name, name)
        results.append(evaluate(full, data, label=full, **kwargs))
    return results


def parse_baselines(value: str | None) -> list[str]:
    """Parse ``"identity,gamma"`` (``"none"``/empty: no baselines; ``"all"``: every one)."""
    if value is None or value.strip().lower() in ("", "none", "off"):
        return []
    if value.strip().lower() == "all":
        return list(BASELINES)
    return [v.strip() for v in value.split(",") if v.strip()]


def results_dict(results: list[EvalResult], **extra: Any) -> dict[str, Any]:
    """Plain data of several results (the JSON report): protocol, models, extra fields."""
    return {
        "protocol": results[0].protocol if results else PROTOCOL,
        **extra,
        "models": [r.to_dict() for r in results],
    }


def comparison_rows(
    data: Any, results: list[EvalResult], *, max_rows: int = 4
) -> list[list[tuple[str, Tensor]]]:
    """Rows ``input | each model's output | ground truth`` for :func:`write_comparison_grid`.

    Uses the outputs the results kept (``evaluate(..., keep_outputs=N)``); images for which
    some result kept no output are skipped.

    Args:
        data: The evaluation data the results were computed on.
        results: Evaluation results, in column order.
        max_rows: At most this many rows (images).
    """
    rows: list[list[tuple[str, Tensor]]] = []
    for pair in as_pairs(data):
        if len(rows) >= max_rows:
            break
        if not all(pair.name in r.outputs for r in results):
            continue
        low, high = pair.load()
        row: list[tuple[str, Tensor]] = [(f"input {pair.name}", low)]
        for r in results:
            psnr_value = next((x["psnr"] for x in r.images if x["name"] == pair.name), None)
            label = r.model if psnr_value is None else f"{r.model} {psnr_value:.2f} dB"
            row.append((label, r.outputs[pair.name]))
        row.append(("ground truth", high))
        rows.append(row)
    return rows
