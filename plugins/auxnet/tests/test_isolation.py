"""Isolation: lle-auxnet needs lle-core only (run in subprocesses, tiny inputs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

OTHER_PLUGIN_MODULES = ("lle_hf2", "lle_neid", "lle_frlie", "lle_dln")


def run_python(code: str, **env: str) -> dict:
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **env}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, env=full_env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_pulls_in_no_other_plugin() -> None:
    out = run_python(
        """
        import json, sys
        import lle_auxnet, lle_auxnet.hooks, lle_auxnet.blocks, lle_auxnet.model
        import lle_auxnet.losses, lle_auxnet.scheme
        print(json.dumps(sorted(m for m in sys.modules if m.startswith("lle_"))))
        """
    )
    assert "lle_auxnet.model" in out
    assert not [m for m in out if m.split(".")[0] in OTHER_PLUGIN_MODULES]
    assert {m.split(".")[0] for m in out} <= {"lle_core", "lle_auxnet"}


def test_builds_trains_and_enhances_with_only_core_and_auxnet() -> None:
    out = run_python(
        """
        import json, sys, torch
        from lle_core import create, plugins
        torch.manual_seed(0)
        model = create("model", "auxnet.model", stages=2)
        loss = create("loss", {"type": "core.composite", "terms": [
            {"type": "auxnet.fidelity", "weight": 0.8},
            {"type": "auxnet.smoothness", "weight": 0.65}]})
        scheme = create("trainer", "auxnet.staged", runtime={"model": model, "loss": loss})
        opt = torch.optim.Adam(list(scheme.parameters()), lr=1e-3)
        result = scheme.training_step({"low": torch.rand(1, 3, 16, 20) * 0.3})
        opt.zero_grad(); result.loss.backward(); opt.step()
        model.eval()
        image = torch.rand(3, 18, 22) * 0.3
        from lle_core import enhance
        out = enhance(model, image)
        print(json.dumps({
            "loaded": sorted(plugins.loaded_plugin_ids()),
            "loss": float(result.loss),
            "shape": list(out.shape)[-3:],
            "finite": bool(torch.isfinite(out).all()),
            "modules": sorted(m for m in sys.modules if m.startswith("lle_")),
        }))
        """,
        LLE_PLUGINS="auxnet",
    )
    assert out["loaded"] == ["auxnet", "core"]
    assert out["shape"] == [3, 18, 22] and out["finite"]
    assert out["loss"] == out["loss"]  # not NaN
    assert not [m for m in out["modules"] if m.split(".")[0] in OTHER_PLUGIN_MODULES]
