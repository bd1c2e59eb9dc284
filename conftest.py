"""Root pytest configuration shared by core, plugin and cross-plugin tests."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings

# torch on a 2-core CPU is far slower than hypothesis' default 200 ms deadline. Failures
# replay: `derandomize` makes every run draw the same examples, and the example database lives
# in the repository's .hypothesis/ folder (`print_blob` prints the reproduction decorator).
settings.register_profile(
    "dev",
    max_examples=20,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# plugins/_template is not installed (it is a folder to copy); tests/test_plugin_template.py
# checks a renamed copy of it instead.
collect_ignore = ["plugins/_template"]

# Tests never reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Tests never write into the user's caches (~/.cache/lle's component descriptions and compiled
# kernels, torch/hub folders): the session gets its own cache folder, removed at the end, and
# subprocesses inherit it. Set before anything imports lle_core.
TEST_CACHE = Path(tempfile.mkdtemp(prefix="lle-test-cache-"))
CACHE_VARIABLES = {
    "LLE_CACHE_DIR": "lle",
    "XDG_CACHE_HOME": "xdg",
    "TORCH_HOME": "torch",
    "HF_HOME": "huggingface",
    "MPLCONFIGDIR": "matplotlib",
}
for _variable, _sub in CACHE_VARIABLES.items():
    os.environ[_variable] = str(TEST_CACHE / _sub)


def pytest_unconfigure(config: object) -> None:
    """Remove the session's cache folder."""
    shutil.rmtree(TEST_CACHE, ignore_errors=True)
