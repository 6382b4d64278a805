"""The numpydoc examples of the public API run, on the installed package (``ga.datasets``)."""

from __future__ import annotations

import doctest
import importlib

import pytest

from geoattract import settings

#: Modules whose docstrings hold the public API's examples.
MODULES = (
    "geoattract.datasets",
    "geoattract.network.load",
    "geoattract.routing.matrix",
    "geoattract.routing.isochrones",
    "geoattract.accessibility.api",
    "geoattract.accessibility.unknown_offer",
    "geoattract.network.caption",
    "geoattract.app.pipeline",
    "geoattract.routing.warmup",
    "geoattract.routing.kernels",
    "geoattract.outputs.classes",
    "geoattract.config.export",
    "geoattract.outputs.console",
    "geoattract._util.progress",
    "geoattract.network.references",
    "geoattract.demography.departements",
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "cache_folder", tmp_path / "cache")
    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.IGNORE_EXCEPTION_DETAIL
    result = doctest.testmod(module, optionflags=flags, report=True)
    assert result.attempted > 0, f"{name}: no example"
    assert result.failed == 0, f"{name}: {result.failed} example(s) failed"
