"""The plugin stands alone: no other lle plugin is imported, and it works with only core."""

from __future__ import annotations

import json
import os
import subprocess
import sys

IMPORT_ALL = """
import json, sys
import lle_frlie.hooks, lle_frlie.params, lle_frlie.autoencoder, lle_frlie.blocks
import lle_frlie.model, lle_frlie.losses, lle_frlie.scheme, lle_frlie.checkpoint
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules if m.startswith('lle_')})))
"""

ONLY_CORE_AND_FRLIE = """
import json
import torch
import lle_core
from lle_core import create
from lle_core.plugins import loaded_plugin_ids

tiny = {"type": "frlie.model", "base_channels": 4, "num_blocks": 1, "context_channels": 4}
model = create("model", tiny)
scheme = create("trainer", {"type": "frlie.two_stage", "stage": 2,
                            "allow_untrained_autoencoder": True},
                runtime={"model": model, "loss": create("loss", {"type": "core.composite",
                         "terms": [{"type": "core.mse", "weight": 100.0},
                                   {"type": "frlie.feature_matching", "weight": 0.2},
                                   {"type": "frlie.hue", "weight": 0.05}]})})
opt = torch.optim.Adam(scheme.parameters(), lr=1e-3)
high = torch.rand(2, 3, 16, 16)
scheme.train(True)
result = scheme.training_step({"low": high * 0.2, "high": high})
result.loss.backward()
opt.step()
out = lle_core.enhance(model, torch.rand(3, 21, 30) * 0.2)
print(json.dumps({"plugins": sorted(loaded_plugin_ids()), "loss": float(result.loss.detach()),
                  "shape": list(out.shape), "min": float(out.min()), "max": float(out.max())}))
"""


def run(code: str, **env: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def test_import_pulls_in_no_other_plugin() -> None:
    packages = json.loads(run(IMPORT_ALL))
    assert "lle_frlie" in packages
    assert set(packages) <= {"lle_core", "lle_frlie"}, packages


def test_builds_trains_and_enhances_with_only_core() -> None:
    report = json.loads(run(ONLY_CORE_AND_FRLIE, LLE_PLUGINS="frlie"))
    assert report["plugins"] == ["core", "frlie"]
    assert report["loss"] > 0
    assert report["shape"][-2:] == [21, 30]
    assert 0.0 <= report["min"] <= report["max"] <= 1.0
