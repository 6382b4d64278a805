"""Sample data shipped with the package: the tiny study (r5py's sampledata, momepy's datasets).

The tiny study is a complete study small enough to check every number by hand: 6 communes of
a fictional département 99 and 3 buffer communes of 98, a Travel Mapping line layer (13 nodes,
a motorway with two interchanges), GPs, schools, EV charging points, stations, housing and
environment tables, two 3 × 3 climate rasters. Its results are worked out in the test suite
(``tests/test_tiny_study.py``). It needs no shared data: every example of the documentation
runs on it.

Examples
--------
>>> import geoattract as ga
>>> cfg = ga.datasets.tiny_config()
>>> cfg.name
'Tiny'
>>> halls = ga.datasets.tiny_town_halls()
>>> halls.index.tolist()[:4], halls.crs.to_string()
(['98001', '98002', '98003', '99001'], 'EPSG:2154')
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

#: Folder of the tiny study: its TOML files and its ``data`` folder.
TINY_DIR: Path = Path(__file__).resolve().parent / "tiny"

#: The tiny study's configuration file.
TINY_STUDY: Path = TINY_DIR / "study.toml"

#: The tiny study's data folder.
TINY_DATA: Path = TINY_DIR / "data"

__all__ = [
    "TINY_DATA",
    "TINY_DIR",
    "TINY_STUDY",
    "tiny_communes",
    "tiny_config",
    "tiny_facilities",
    "tiny_roads",
    "tiny_town_halls",
]


def tiny_config():
    """The tiny study's configuration, its data folder set.

    Returns
    -------
    StudyConfig

    Examples
    --------
    >>> import geoattract as ga
    >>> ga.datasets.tiny_config().thresholds_min
    [10, 20, 30]
    """
    from geoattract.config import load_study_config

    return load_study_config(TINY_STUDY, data_dir=TINY_DATA)


def tiny_roads() -> Path:
    """The tiny study's road layer (a Travel Mapping-like GeoPackage, EPSG:2154).

    Examples
    --------
    >>> import geoattract as ga
    >>> ga.datasets.tiny_roads().name
    'roads.gpkg'
    """
    return TINY_DATA / "roads" / "roads.gpkg"


def tiny_communes() -> gpd.GeoDataFrame:
    """The tiny study's 9 commune polygons (``code``, ``nom``, ``dep``), EPSG:2154.

    Examples
    --------
    >>> import geoattract as ga
    >>> len(ga.datasets.tiny_communes())
    9
    """
    communes = gpd.read_file(TINY_DATA / "boundaries" / "communes.geojson")
    return communes.to_crs("EPSG:2154")


def tiny_town_halls() -> gpd.GeoDataFrame:
    """The tiny study's town halls with their population, indexed by commune code, EPSG:2154.

    Examples
    --------
    >>> import geoattract as ga
    >>> halls = ga.datasets.tiny_town_halls()
    >>> int(halls["population"].sum())
    8500
    """
    from geoattract._util.io import read_csv

    halls = gpd.read_file(TINY_DATA / "boundaries" / "mairies.geojson").to_crs("EPSG:2154")
    pop = read_csv(TINY_DATA / "population" / "population.csv", code_columns=["code"])
    halls["code"] = halls["code"].astype(str)
    halls = halls.merge(pop[["code", "population"]], on="code", how="left")
    return halls.set_index("code")[["population", "geometry"]].sort_index()


def tiny_facilities() -> gpd.GeoDataFrame:
    """The tiny study's schools: points with ``name``, ``code`` and ``capacity`` 1, EPSG:2154.

    Examples
    --------
    >>> import geoattract as ga
    >>> fac = ga.datasets.tiny_facilities()
    >>> "capacity" in fac.columns
    True
    """
    schools = gpd.read_file(TINY_DATA / "facilities" / "schools.geojson").to_crs("EPSG:2154")
    schools["capacity"] = 1.0
    return schools.rename(columns={"nom_etablissement": "name", "code_commune": "code"})
