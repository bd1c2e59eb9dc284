"""The training engine: run config, training loop, checkpoints, resume and DDP.

Quick start::

    from lle_core.engine import train, load_model
    result = train("run.yaml")                  # or a dict, or "neid:paper"
    model = load_model(result.best_checkpoint or result.latest_checkpoint)

Importing this package is cheap (it is imported when core registers its components); the
heavy modules load on first use of the names below.
"""

from __future__ import annotations

from typing import Any

from lle_core.lazy import lazy_exports

# Names imported from their module on first access (keeps the import light).
__getattr__, __dir__, _LAZY_NAMES = lazy_exports(__name__, {
    "lle_core.engine.loop": ("train", "RunResult", "Run"),
    "lle_core.engine.config": ("RunConfig", "load_run_config", "validate_run_config"),
    "lle_core.engine.checkpoint": (
        "save_checkpoint", "load_model", "load_weights", "load_state", "checkpoint_spec",
    ),
    "lle_core.engine.schemes": ("SupervisedScheme", "UnsupervisedScheme"),
})

#: Small model used by the trainers' conformance examples.
EXAMPLE_MODEL: dict[str, Any] = {"type": "core.unet_small", "base_width": 8}
EXAMPLE_LOSS: dict[str, Any] = {"type": "core.l1"}


def register_components(register: Any) -> None:
    """Register core's training schemes (kind ``trainer``)."""
    register(
        "trainer",
        "supervised",
        "lle_core.engine.schemes:SupervisedScheme",
        params="lle_core.engine.schemes:SchemeParams",
        summary="Paired training: loss(batch | model.forward_train(low)), needs ground truth",
        example={"model": EXAMPLE_MODEL, "loss": EXAMPLE_LOSS},
    )
    register(
        "trainer",
        "unsupervised",
        "lle_core.engine.schemes:UnsupervisedScheme",
        params="lle_core.engine.schemes:SchemeParams",
        summary="Unpaired training: same step, losses read only 'low' and the model outputs",
        example={"model": EXAMPLE_MODEL, "loss": {"type": "core.tv", "mode": "l1"}},
        capabilities={"needs_ground_truth": False},
    )


__all__ = ["register_components", *_LAZY_NAMES]
