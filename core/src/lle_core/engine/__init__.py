"""The training engine: run config, training loop, resume, DDP (checkpoints: lle_core.checkpoint).

Quick start::

    from lle_core.engine import train, load_model
    result = train("run.yaml")                  # or a dict, or "neid:paper"
    model = load_model(result.checkpoint)       # its best, else its latest

Importing this package is cheap; the heavy modules load on first use of the names below.
"""

from __future__ import annotations

from lle_core.lazy import lazy_exports

# Names imported from their module on first access (keeps the import light).
__getattr__, __dir__, _LAZY_NAMES = lazy_exports(__name__, {
    "lle_core.engine.loop": ("train",),
    "lle_core.engine.run": ("RunResult", "Run"),
    "lle_core.engine.config": ("RunConfig", "load_run_config", "validate_run_config"),
    "lle_core.checkpoint": (
        "save_checkpoint", "load_model", "load_weights", "read_checkpoint", "load_state",
        "checkpoint_spec",
    ),
    "lle_core.engine.trainers": ("SupervisedTrainer", "UnsupervisedTrainer"),
})

__all__ = [*_LAZY_NAMES]
