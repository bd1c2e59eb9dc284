"""lle-neid works with lle-core alone and imports no other plugin."""

from __future__ import annotations

import json
import os
import subprocess
import sys

IMPORT_ONLY = r"""
import json, sys
import lle_neid, lle_neid.hooks, lle_neid.model, lle_neid.scheme, lle_neid.losses
import lle_neid.fusion, lle_neid.blocks, lle_neid.params, lle_neid.resize
mods = sorted({m.split(".")[0] for m in sys.modules if m.startswith("lle_")})
print(json.dumps(mods))
"""

CORE_AND_NEID_ONLY = r"""
import json, sys
import torch
import lle_core
from lle_core import create
from lle_core.plugins import loaded_plugin_ids
from lle_neid.hooks import paper_loss

PAPER_LOSS = paper_loss()

torch.manual_seed(0)
torch.set_num_threads(1)
report = {"plugins": sorted(loaded_plugin_ids())}
for fusion in ("neid.channel_ff", "core.add"):
    model = create("model", {"type": "neid.model", "widths": [4, 4, 8, 8, 8], "fusion": fusion})
    scheme = create("trainer", "neid.two_stream",
                    runtime={"model": model, "loss": create("loss", PAPER_LOSS)})
    scheme.train(True)
    high = torch.rand(2, 3, 32, 32)
    result = scheme.training_step({"low": 0.2 * high, "high": high})
    result.loss.backward()
    torch.optim.Adam(scheme.parameters(), lr=1e-3).step()
    out = lle_core.enhance(scheme.inference_model(), torch.rand(1, 3, 21, 19))
    report[fusion] = {"loss": float(result.loss), "shape": list(out.shape),
                      "min": float(out.min()), "max": float(out.max())}
report["modules"] = sorted({m.split(".")[0] for m in sys.modules if m.startswith("lle_")})
print(json.dumps(report))
"""


def run(code: str, **env: str) -> dict | list:
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **env}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full_env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_importing_lle_neid_pulls_in_no_other_plugin():
    assert set(run(IMPORT_ONLY)) <= {"lle_core", "lle_neid"}


def test_builds_trains_and_enhances_with_core_and_neid_only():
    report = run(CORE_AND_NEID_ONLY, LLE_PLUGINS="neid")
    assert report["plugins"] == ["core", "neid"]
    assert set(report["modules"]) <= {"lle_core", "lle_neid"}
    for fusion in ("neid.channel_ff", "core.add"):
        r = report[fusion]
        assert r["shape"] == [1, 3, 21, 19]  # protocol mode: the input size comes back
        assert r["loss"] == r["loss"] and r["loss"] > 0  # finite, positive
        assert 0.0 <= r["min"] <= r["max"] <= 1.0
