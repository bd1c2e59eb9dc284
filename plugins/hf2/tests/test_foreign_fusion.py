"""Swapping in another paper's fusion (neid.channel_ff) by configuration only."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from lle_core import ConfigError, create, plugins, registries

FOREIGN = "neid.channel_ff"
SPEC = {
    "type": "hf2.model",
    "base_width": 8,
    "backbone": {"type": "hf2.vgg16", "weights": "random"},
    "fusion": FOREIGN,
}


def _neid_available() -> bool:
    return importlib.util.find_spec("lle_neid") is not None and FOREIGN in registries()["fusion"]


def test_foreign_fusion_works_when_installed() -> None:
    # The repository installs every plugin: a missing lle-neid is a failure, not a skip.
    assert _neid_available(), "lle-neid is not installed or failed to load"
    model = create("model", SPEC).eval()
    assert all(f.lle_spec.name == FOREIGN for f in model.skip_fusions)
    x = torch.rand(1, 3, 32, 40)
    with torch.no_grad():
        y = model(x)
    assert y.shape == x.shape and y.min() >= 0.0 and y.max() <= 1.0


def test_missing_plugin_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulate a machine without lle-neid: no neid entries and no record of the plugin.
    loaded = plugins.loaded_plugin_ids() - {"neid"}
    disabled = plugins.disabled_plugin_ids() - {"neid"}
    errors = {k: v for k, v in plugins.load_errors().items() if k != "neid"}
    monkeypatch.setattr(plugins, "loaded_plugin_ids", lambda: loaded)
    monkeypatch.setattr(plugins, "disabled_plugin_ids", lambda: disabled)
    monkeypatch.setattr(plugins, "load_errors", lambda: errors)
    reg = registries()["fusion"]
    with reg.temporary():
        for name in reg.names():
            if name.startswith("neid."):
                reg.remove(name)
        with pytest.raises(ConfigError) as info:
            create("model", SPEC)
    message = str(info.value)
    assert "fusion" in message and FOREIGN in message
    assert "pip install lle-neid" in message


def test_hf2_only_process_refuses_foreign_fusion_clearly() -> None:
    code = textwrap.dedent(
        f"""
        import sys
        from lle_core import ConfigError, create
        try:
            create("model", {SPEC!r})
        except ConfigError as err:
            print(err)
            sys.exit(0)
        sys.exit("no error")
        """
    )
    env = {**os.environ, "LLE_PLUGINS": "hf2", "HF_HUB_OFFLINE": "1"}
    env.pop("LLE_DISABLE_PLUGIN_AUTOLOAD", None)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert FOREIGN in proc.stdout
    if importlib.util.find_spec("lle_neid") is None:
        assert "pip install lle-neid" in proc.stdout
    else:  # installed but excluded by LLE_PLUGINS: the message says so
        assert "disabled" in proc.stdout and "LLE_PLUGINS" in proc.stdout
