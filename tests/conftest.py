"""Shared fixtures: the real Lot-et-Garonne study and a tiny hand-made study."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

import geoattract as ga

# CI replays the same examples every run (a failure there is reproducible, not a dice roll);
# local runs keep exploring new examples.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def study_config():
    """The embedded Lot-et-Garonne configuration, data found in ../shared/data."""
    return ga.load_study_config()


@pytest.fixture(scope="session")
def territory(study_config):
    """The real territory: 319 study communes plus the 30 km buffer."""
    return ga.load_territory(study_config)


def _square(x0: float, y0: float, size: float = 0.01) -> list:
    return [[[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]]


def write_tiny_study(
    root: Path,
    *,
    communes=None,
    halls=None,
    population=None,
    epci=None,
    toml_extra: str = "",
    dep: str = "99",
) -> Path:
    """Write a 3-commune study (dep 99 + one neighbour in dep 98) and return its TOML path.

    Each keyword replaces one input with the given content (for the bad-input tests).
    """
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    if communes is None:
        feats = [
            {
                "type": "Feature",
                "properties": {"code": "99001", "nom": "Alpha", "dep": "99"},
                "geometry": {"type": "Polygon", "coordinates": _square(0.50, 44.30)},
            },
            {
                "type": "Feature",
                "properties": {"code": "99002", "nom": "Beta", "dep": "99"},
                "geometry": {"type": "Polygon", "coordinates": _square(0.51, 44.30)},
            },
            {
                "type": "Feature",
                "properties": {"code": "98001", "nom": "Gamma", "dep": "98"},
                "geometry": {"type": "Polygon", "coordinates": _square(0.52, 44.30)},
            },
        ]
        communes = {
            "type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
            "features": feats,
        }
    if halls is None:
        pts = [("99001", 0.505, 44.305), ("99002", 0.515, 44.305), ("98001", 0.525, 44.305)]
        halls = {
            "type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": c},
                    "geometry": {"type": "Point", "coordinates": [x, y]},
                }
                for c, x, y in pts
            ],
        }
    if population is None:
        population = "code,nom,population\n99001,Alpha,1000\n99002,Beta,250\n98001,Gamma,40\n"
    if epci is None:
        epci = (
            "code_commune,epci_code,epci_nom,epci_type\n99001,200000001,CC Test,CC\n"
            "99002,200000001,CC Test,CC\n98001,200000002,CC Voisine,CC\n"
        )
    (data / "communes.geojson").write_text(
        communes if isinstance(communes, str) else json.dumps(communes)
    )
    (data / "halls.geojson").write_text(halls if isinstance(halls, str) else json.dumps(halls))
    (data / "population.csv").write_text(population)
    (data / "epci.csv").write_text(epci)
    toml = root / "study.toml"
    toml.write_text(f"""
[study]
name = "Tiny"
departement = "{dep}"
data_subdir = "unused"
buffer_km = 5.0

[inputs]
communes = "communes.geojson"
town_halls = "halls.geojson"
population = "population.csv"
epci = "epci.csv"
{toml_extra}
""")
    return toml


@pytest.fixture
def tiny_study(tmp_path):
    """Factory: ``tiny_study(**replacements)`` → (toml path, data dir)."""

    def make(**kwargs):
        toml = write_tiny_study(tmp_path, **kwargs)
        return toml, tmp_path / "data"

    return make


@pytest.fixture(scope="session")
def study_run(tmp_path_factory):
    """One real `geoattract run` of the Lot-et-Garonne study, shared by the slow tests.

    Returns the output folder. Runs through the command line, as a user would.
    """
    from geoattract.app.cli import main

    out = tmp_path_factory.mktemp("study") / "maps"
    assert main(["-q", "run", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def study_state(study_config):
    """The typed stage results of the study, in memory, without isochrones (for scenarios)."""
    from geoattract.app.pipeline import compute_study

    return compute_study(study_config, isochrones=False)
