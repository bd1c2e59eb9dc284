"""Isolation: the plugin imports no other plugin and works with only lle-core loaded."""

from lle_core.testing import check_isolation


def test_needs_only_core() -> None:
    check_isolation("template")
