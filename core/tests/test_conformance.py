"""Core's own components pass the conformance kit (every kind, every entry)."""

from lle_core.testing import conformance_tests

test_conformance = conformance_tests(plugin="core")
