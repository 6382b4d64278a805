"""The real Lot-et-Garonne study: its fixtures and the ``shared_data`` marker.

Whole-study tests find the data as the package does: ``GEOATTRACT_DATA_DIR`` when set, else
``../shared/data/lot-et-garonne`` beside the checkout (:func:`geoattract.load_study_config`).
Other shared files (OSM samples, the national road layer) sit beside the study's folder, in
:func:`shared_dir`, as the study's own network source ``../roads/...`` does.

A test that reads the shared data is ``shared_data``: marked so explicitly, or automatically when
it uses one of :data:`REAL_DATA_FIXTURES` (directly or through another fixture). Such a test is
also ``slow``, so the quick suite (``-m "not slow"``) runs without the shared data; it is skipped,
with the places looked at, only when the data folder is absent (CI always has it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import geoattract as ga
from geoattract.errors import DataNotFoundError

#: Fixtures that read the shared data: a test using one of them is marked ``shared_data``.
REAL_DATA_FIXTURES: frozenset[str] = frozenset(
    {"study_config", "territory", "study_state", "study_run", "shared_dir"}
)

#: Name of the marker of tests reading the shared data.
SHARED_DATA = "shared_data"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{SHARED_DATA}: reads the shared data folder (../shared/data or GEOATTRACT_DATA_DIR); "
        "also slow; skipped, with the reason, when the folder is absent (an error under CI)",
    )


def shared_data_missing() -> str | None:
    """Why the shared data cannot be used (None when the study's data folder is found)."""
    try:
        ga.load_study_config()
    except DataNotFoundError as exc:
        return f"needs the shared data: {exc}"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests reading the shared data ``shared_data`` and ``slow`` (before deselection)."""
    reason: str | None = None
    checked = False
    for item in items:
        uses_real = not REAL_DATA_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))
        if not uses_real and item.get_closest_marker(SHARED_DATA) is None:
            continue
        if item.get_closest_marker(SHARED_DATA) is None:
            item.add_marker(SHARED_DATA)
        if item.get_closest_marker("slow") is None:
            item.add_marker("slow")
        if not checked:
            reason, checked = shared_data_missing(), True
        if reason is not None:
            if os.environ.get("CI"):  # CI has the data: a skip there would check nothing
                raise pytest.UsageError(f"shared data missing under CI: {reason}")
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def study_config():
    """The shipped Lot-et-Garonne configuration, its data found as the package finds it."""
    return ga.load_study_config()


@pytest.fixture(scope="session")
def shared_dir(study_config) -> Path:
    """The shared data folder: the parent of the study's data folder."""
    return study_config.data_dir.parent


@pytest.fixture(scope="session")
def territory(study_config):
    """The real territory: 319 study communes plus the 30 km buffer."""
    return ga.load_territory(study_config)


@pytest.fixture(scope="session")
def study_run(tmp_path_factory):
    """One real `geoattract run` of the Lot-et-Garonne study, shared by the slow tests.

    Returns the output folder. Runs through the command line, as a user would, with
    ``--separate-maps`` so that every output is checked: the atelier page and the separate
    maps of each profile and pillar (the default without them is checked on the tiny study).
    """
    from geoattract.app.cli import main

    out = tmp_path_factory.mktemp("study") / "maps"
    assert main(["-q", "run", "--out", str(out), "--separate-maps"]) == 0
    return out


@pytest.fixture(scope="session")
def study_state(study_config):
    """The typed stage results of the study, in memory, without isochrones (for scenarios)."""
    from geoattract.app.pipeline import compute_study

    return compute_study(study_config, isochrones=False)
