"""Shared test configuration: Hypothesis profiles and the fixture plugins by domain.

Fixtures live in ``tests/conftest_d/<domain>.py`` (registered below), never in a test module:

* ``conftest_d.study``: the real Lot-et-Garonne study (``study_config``, ``territory``,
  ``study_state``, ``study_run``, ``shared_dir``) and the ``shared_data`` marker;
* ``conftest_d.tiny``: the tiny hand-checkable study of ``tests/data/tiny`` (``tiny_config``,
  ``tiny_territory``, ``tiny_state``) and the ``tiny_study`` factory of bad-input studies;
* ``conftest_d.maps``: map inputs drawn on the real communes (``map_inputs``);
* ``conftest_d.browser``: headless Chromium with every host unreachable (``chromium``);
* ``conftest_d.atelier``: a synthetic scoring study and the real study's atelier page.
"""

from __future__ import annotations

import os

from hypothesis import settings as hypothesis_settings

pytest_plugins = [
    "conftest_d.study",
    "conftest_d.tiny",
    "conftest_d.maps",
    "conftest_d.browser",
    "conftest_d.atelier",
]

# CI replays the same examples every run (a failure there is reproducible, not a dice roll);
# local runs keep exploring new examples.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


def pytest_sessionstart(session: object) -> None:
    """Under ``.ci/run`` (``GEOATTRACT_EXPECT_WHEEL=1``), refuse to test the source tree."""
    if os.environ.get("GEOATTRACT_EXPECT_WHEEL"):
        import pathlib

        import geoattract

        where = pathlib.Path(geoattract.__file__).resolve()
        if "site-packages" not in where.parts:
            raise RuntimeError(f"tests import geoattract from {where}, not the installed wheel")
