"""The tiny study of ``tests/data/tiny`` and the factory of small bad-input studies.

The tiny study is a complete study (9 communes, a small road network, a handful of facilities,
two small rasters) written by ``tests/data/tiny/make_tiny.py``; every test may use it without
the shared data. Its results are computed by hand in ``tests/test_tiny_study.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geoattract import settings

#: Folder of the tiny study: its TOML files, its generator and its data folder.
TINY_DIR = Path(__file__).resolve().parents[2] / "geoattract" / "datasets" / "tiny"
TINY_TOML = TINY_DIR / "study.toml"
TINY_DATA = TINY_DIR / "data"


@pytest.fixture(scope="session")
def tiny_config():
    """The tiny study's configuration (data in ``tests/data/tiny/data``)."""
    from geoattract.config import load_study_config

    return load_study_config(TINY_TOML, data_dir=TINY_DATA)


@pytest.fixture(scope="session")
def tiny_territory(tiny_config):
    """The tiny study's territory stage: 6 study communes (99) and 3 buffer communes (98)."""
    from geoattract.territory import build_territory

    return build_territory(tiny_config)


@pytest.fixture(scope="session")
def tiny_state(tiny_config, tmp_path_factory):
    """Every stage result of the tiny study, isochrones included (the network cache in tmp)."""
    from geoattract.app.pipeline import compute_study

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(settings, "cache_folder", tmp_path_factory.mktemp("tiny-cache"))
        return compute_study(tiny_config)


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
    origin: tuple[float, float] = (0.50, 44.30),
    size: float = 0.01,
) -> Path:
    """Write a 3-commune study (dep 99 + one neighbour in dep 98) and return its TOML path.

    The communes are squares of ``size`` degrees in a row from ``origin`` (longitude,
    latitude), their town halls at the centres. Each other keyword replaces one input with the
    given content (for the bad-input tests).
    """
    lon, lat = origin
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    if communes is None:
        feats = [
            {
                "type": "Feature",
                "properties": {"code": "99001", "nom": "Alpha", "dep": "99"},
                "geometry": {"type": "Polygon", "coordinates": _square(lon + 0 * size, lat, size)},
            },
            {
                "type": "Feature",
                "properties": {"code": "99002", "nom": "Beta", "dep": "99"},
                "geometry": {"type": "Polygon", "coordinates": _square(lon + 1 * size, lat, size)},
            },
            {
                "type": "Feature",
                "properties": {"code": "98001", "nom": "Gamma", "dep": "98"},
                "geometry": {"type": "Polygon", "coordinates": _square(lon + 2 * size, lat, size)},
            },
        ]
        communes = {
            "type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
            "features": feats,
        }
    if halls is None:
        pts = [
            (code, lon + (i + 0.5) * size, lat + 0.5 * size)
            for i, code in enumerate(("99001", "99002", "98001"))
        ]
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
    """Factory: ``tiny_study(**replacements)`` → (toml path, data dir) of a 3-commune study."""

    def make(**kwargs):
        toml = write_tiny_study(tmp_path, **kwargs)
        return toml, tmp_path / "data"

    return make
