"""The ``lle`` command line."""
