"""Fixtures of the test suite by domain, registered as plugins by ``tests/conftest.py``."""
