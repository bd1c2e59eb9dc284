"""Root pytest configuration shared by core, plugin and cross-plugin tests."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# torch on a 2-core CPU is far slower than hypothesis' default 200 ms deadline.
settings.register_profile(
    "dev", max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci",
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# Tests never reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
