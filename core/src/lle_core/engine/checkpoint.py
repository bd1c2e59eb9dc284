"""Moved to :mod:`lle_core.checkpoint` (the model-state layer); this name goes away soon."""

from lle_core.checkpoint import *  # noqa: F403
from lle_core.checkpoint import (  # noqa: F401
    LLE_FORMAT,
    STATE_FORMAT,
    STATE_SUFFIX,
    WEIGHTS_SUFFIX,
    checkpoint_spec,
    inference_state_dict,
    load_model,
    load_state,
    load_weights,
    read_checkpoint,
    read_metadata,
    resolve_weights_path,
    save_checkpoint,
    save_state,
    save_weights,
    weights_step,
)
