"""The one territory check and the study-département lookup every stage uses."""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import pyproj
import shapely

from geoattract._util.io import require_columns
from geoattract.errors import DataError, format_values

#: Columns every stage may rely on in a territory.
CORE_COLUMNS: tuple[str, ...] = ("code", "geometry")


def check_territory(
    territory: gpd.GeoDataFrame,
    columns: Iterable[str] = (),
    *,
    town_halls: bool = False,
    study: bool = True,
    what: str = "territory",
) -> gpd.GeoDataFrame:
    """Check a territory GeoDataFrame before a stage uses it.

    Parameters
    ----------
    territory : GeoDataFrame
        From :func:`geoattract.territory.load_territory` (study and buffer communes).
    columns : iterable of str
        Columns the caller needs besides :data:`CORE_COLUMNS`.
    town_halls : bool
        Require a town-hall point for every commune.
    study : bool
        Require an ``in_study`` column with at least one study commune.
    what : str
        Name used in messages (the caller's function).

    Returns
    -------
    GeoDataFrame
        The same object, checked.

    Raises
    ------
    DataError
        Not a GeoDataFrame, missing columns, no or a geographic CRS, duplicate codes, no study
        commune, communes without a town hall when required.
    """
    if not isinstance(territory, gpd.GeoDataFrame):
        raise DataError(
            f"{what}: the territory must be a GeoDataFrame (from load_territory), got "
            f"{type(territory).__name__}"
        )
    needed = list(CORE_COLUMNS) + list(columns)
    needed += (["town_hall"] if town_halls else []) + (["in_study"] if study else [])
    require_columns(territory, dict.fromkeys(needed), what)
    if territory.crs is None or pyproj.CRS(territory.crs).is_geographic:
        raise DataError(
            f"{what}: the territory needs a projected CRS in metres; got {territory.crs}"
        )
    if len(territory) == 0:
        raise DataError(f"{what}: the territory has no commune")
    if study and not territory["in_study"].astype(bool).any():
        raise DataError(f"{what}: the territory has no study commune (in_study = True)")
    dup = territory["code"][territory["code"].duplicated()]
    if len(dup):
        raise DataError(f"{what}: duplicate commune code(s) {format_values(sorted(set(dup)))}")
    if town_halls:
        halls = territory["town_hall"]
        bad = territory["code"][halls.isna() | shapely.is_empty(halls.to_numpy())]
        if len(bad):
            raise DataError(f"{what}: commune(s) without a town hall point: {format_values(bad)}")
    return territory


def study_rows(territory: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The study communes of a territory (``in_study``), in order."""
    return territory[territory["in_study"].astype(bool)]


def study_departements(territory: gpd.GeoDataFrame) -> tuple[str, ...]:
    """Codes of the départements of the study communes, sorted.

    Read from the ``dep`` column when present, else from the first two characters of the
    commune codes (``2A``/``2B`` for Corsica, ``97x`` not handled: metropolitan France only).
    """
    study = study_rows(territory)
    if "dep" in study.columns:
        deps = study["dep"].astype(str)
    else:
        deps = study["code"].astype(str).str[:2]
    return tuple(sorted(set(deps)))
