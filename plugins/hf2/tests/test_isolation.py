"""Isolation: lle_hf2 pulls in no other plugin, and works with only core and hf2 loaded."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

OTHER_PLUGINS = ("lle_neid", "lle_frlie", "lle_auxnet", "lle_dln")


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", **env}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full_env,
                          capture_output=True, text=True, timeout=500)


def test_import_pulls_in_no_other_plugin() -> None:
    proc = _run(
        f"""
        import sys
        import lle_hf2, lle_hf2.hooks, lle_hf2.model, lle_hf2.fusion, lle_hf2.backbone
        import lle_hf2.attention, lle_hf2.loss
        others = sorted(m for m in sys.modules if m.split(".")[0] in {OTHER_PLUGINS!r})
        print(others)
        sys.exit(1 if others else 0)
        """
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_core_and_hf2_only_build_train_enhance() -> None:
    proc = _run(
        f"""
        import sys
        import torch
        import lle_core
        from lle_core import create, plugins

        assert plugins.loaded_plugin_ids() == {{"core", "hf2"}}, plugins.loaded_plugin_ids()
        torch.manual_seed(0)
        model = create("model", {{"type": "hf2.model", "base_width": 8, "fusion": "core.mul",
                                 "skip_fusion": "hf2.hf2",
                                 "backbone": {{"type": "hf2.vgg16", "weights": "random"}}}})
        loss = create("loss", {{"type": "core.composite", "terms": [{{"type": "core.l1"}}]}})
        scheme = create("trainer", "core.supervised", runtime={{"model": model, "loss": loss}})
        opt = torch.optim.Adam(list(scheme.parameters()), lr=1e-3)
        low, high = torch.rand(2, 3, 32, 32) * 0.2, torch.rand(2, 3, 32, 32)
        scheme.train(True)
        result = scheme.training_step({{"low": low, "high": high}})
        opt.zero_grad(); result.loss.backward(); opt.step()
        assert torch.isfinite(result.loss)
        model.eval()
        out = lle_core.enhance(model, torch.rand(1, 3, 21, 30))
        assert tuple(out.shape[-2:]) == (21, 30), out.shape
        others = sorted(m for m in sys.modules if m.split(".")[0] in {OTHER_PLUGINS!r})
        assert not others, others
        print("ok")
        """,
        LLE_PLUGINS="hf2",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok" in proc.stdout
