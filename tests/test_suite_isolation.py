"""The test suite writes into its own cache folder, never into the user's ~/.cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CACHE_VARIABLES = ("LLE_CACHE_DIR", "XDG_CACHE_HOME", "TORCH_HOME", "HF_HOME", "MPLCONFIGDIR")


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file under ``root/lle``, plus ``root``'s entries."""
    if not root.is_dir():
        return {}
    state = {p.name: (0, 0) for p in root.iterdir()}
    lle = root / "lle"
    if lle.is_dir():
        for p in lle.rglob("*"):
            if p.is_file():
                st = p.stat()
                state[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return state


def test_every_cache_variable_points_outside_the_home_folder() -> None:
    home = Path.home().resolve()
    for variable in CACHE_VARIABLES:
        value = os.environ.get(variable)
        assert value, f"{variable} is not set for the test session"
        assert not Path(value).resolve().is_relative_to(home), f"{variable}={value}"


def test_a_caching_command_leaves_the_user_cache_untouched() -> None:
    """`lle list` writes component descriptions into lle's cache (when the shipped ones are
    stale): here, the suite's own."""
    user_cache = Path.home() / ".cache"
    before = _snapshot(user_cache)
    done = subprocess.run(
        [sys.executable, "-m", "lle_core.cli.main", "list", "model"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert _snapshot(user_cache) == before
