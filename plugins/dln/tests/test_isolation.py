"""Isolation: lle_dln imports no other plugin; with LLE_PLUGINS=dln the model trains and runs."""

import json
import os
import subprocess
import sys
import textwrap

OTHER_PLUGINS = ("lle_hf2", "lle_neid", "lle_frlie", "lle_auxnet")


def _run(code: str, **env: str) -> dict:
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", **env}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=full_env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_pulls_in_no_other_plugin():
    out = _run("""
        import json, sys
        import lle_dln, lle_dln.hooks, lle_dln.blocks, lle_dln.model, lle_dln.losses
        import lle_dln.synthetic, lle_dln.circle
        print(json.dumps(sorted(m for m in sys.modules if m.startswith("lle_"))))
    """)
    assert not [m for m in out if m.split(".")[0] in OTHER_PLUGINS], out


def test_builds_trains_and_enhances_with_only_dln_enabled():
    out = _run("""
        import json, sys
        import torch
        import lle_core
        from lle_core import create, list_components
        model = create("model", {"type": "dln.model", "dim": 8})
        loss = create("loss", "dln.loss_dif")
        scheme = create("trainer", "dln.circle", runtime={"model": model, "loss": loss})
        optim = torch.optim.Adam(scheme.parameters(), lr=1e-3)
        high = torch.rand(2, 3, 24, 24) * 0.5 + 0.4
        scheme.train(True)
        result = scheme.training_step({"low": high * 0.2, "high": high})
        optim.zero_grad(); result.loss.backward(); optim.step()
        out = lle_core.enhance(scheme.inference_model(), torch.rand(3, 21, 17) * 0.2)
        plugins = sorted({e.plugin for e in list_components()})
        print(json.dumps({"loss": result.loss.item(), "shape": list(out.shape),
                          "min": out.min().item(), "max": out.max().item(),
                          "plugins": plugins,
                          "others": [m for m in sys.modules if m.split(".")[0] in OTHERS]}))
    """.replace("OTHERS", repr(OTHER_PLUGINS)), LLE_PLUGINS="dln")
    assert out["plugins"] == ["core", "dln"]
    assert out["others"] == []
    assert out["shape"][-2:] == [21, 17]
    assert 0.0 <= out["min"] <= out["max"] <= 1.0
    assert out["loss"] == out["loss"]  # finite, not NaN
