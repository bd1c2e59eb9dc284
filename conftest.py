"""Root pytest configuration shared by core, plugin and cross-plugin tests."""

from __future__ import annotations

import os

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
