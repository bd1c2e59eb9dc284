"""Every component the plugin registers passes the conformance kit."""

from lle_core.testing import conformance_tests

test_conformance = conformance_tests(plugin="template")
