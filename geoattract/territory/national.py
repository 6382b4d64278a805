"""Every commune of metropolitan France with a location: the town hall, or a point inside.

The national commune file (``france/communes_2025.gpkg`` in the shared data folder) has a
``communes`` layer (code, nom, dep, region, epci, population; polygons in EPSG:2154, a few
communes merged in 2025 without one) and a ``mairies`` layer (town-hall points, a few
missing). :func:`read_national_communes` joins them into one table of points for
origin–destination matrices and calibrations, with the same rule as the study territory: a
town hall missing, or farther than ``settings.town_hall_tolerance_m`` from its commune
polygon, is replaced by a point inside the polygon. Communes without polygon keep their
town hall; a commune with neither has no location and is reported, never dropped silently.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoattract import settings
from geoattract._util.io import read_vector, resolve_data_dir
from geoattract.errors import DataError, format_values

logger = logging.getLogger(__name__)

#: Path of the national commune file inside the shared data folder.
NATIONAL_COMMUNES_FILE: str = "france/communes_2025.gpkg"

#: Layers of the national commune file.
COMMUNES_LAYER: str = "communes"
TOWN_HALLS_LAYER: str = "mairies"

#: Values of the ``location`` column of :func:`read_national_communes`.
LOCATION_TOWN_HALL: str = "town hall"
LOCATION_INSIDE: str = "inside polygon"
LOCATION_NONE: str = "none"


@dataclass(frozen=True)
class NationalCommunes:
    """The national commune table and what had to be repaired.

    Attributes
    ----------
    table : geopandas.GeoDataFrame
        Indexed by ``code``; columns ``nom``, ``dep``, ``region``, ``epci``, ``population``,
        ``area_km2`` (NaN
        without polygon), ``density`` (inhabitants per km²), ``location`` (``town hall``,
        ``inside polygon`` or ``none``) and the point geometry (None without location),
        EPSG:2154.
    no_polygon : tuple of str
        Communes without polygon.
    halls_missing : tuple of str
        Communes without town hall point (a point inside the polygon is used).
    halls_replaced : dict
        Code → distance (m) of town halls farther than the tolerance from their polygon.
    no_location : tuple of str
        Communes with neither polygon nor town hall.
    polygons : geopandas.GeoSeries or None
        The commune polygons (None without polygon), indexed like ``table``; kept only when
        asked (``keep_polygons``).
    path : Path or None
        The file read.
    """

    table: gpd.GeoDataFrame
    no_polygon: tuple[str, ...] = ()
    halls_missing: tuple[str, ...] = ()
    halls_replaced: dict[str, float] = field(default_factory=dict)
    no_location: tuple[str, ...] = ()
    polygons: gpd.GeoSeries | None = None
    path: Path | None = None

    def summary(self) -> str:
        """One paragraph for logs and reports."""
        return (
            f"{len(self.table)} communes; {len(self.no_polygon)} without polygon "
            f"({format_values(self.no_polygon)}); {len(self.halls_missing)} without town hall "
            f"(point inside the polygon); {len(self.halls_replaced)} town hall(s) more than "
            f"{settings.town_hall_tolerance_m:.0f} m from their polygon replaced; "
            f"{len(self.no_location)} without location ({format_values(self.no_location)})"
        )


def default_national_communes_path(data_dir: str | os.PathLike | None = None) -> Path:
    """``<shared data>/france/communes_2025.gpkg``, the shared data folder resolved as usual."""
    return resolve_data_dir(data_dir) / NATIONAL_COMMUNES_FILE


def read_national_communes(
    path: str | os.PathLike | None = None,
    *,
    tolerance_m: float | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    keep_polygons: bool = False,
) -> NationalCommunes:
    """Read the national communes and place each one at its town hall.

    Parameters
    ----------
    path : path-like, optional
        The GeoPackage (layers ``communes`` and ``mairies``); default
        :func:`default_national_communes_path`.
    tolerance_m : float, optional
        A town hall farther than this from its polygon is replaced by a point inside it;
        default ``settings.town_hall_tolerance_m``.
    bbox : tuple of float, optional
        Read only the communes whose polygon meets this box (EPSG:2154: xmin, ymin, xmax,
        ymax); communes without polygon are then left out.
    keep_polygons : bool
        Keep the polygons in :attr:`NationalCommunes.polygons`.

    Returns
    -------
    NationalCommunes

    Raises
    ------
    DataNotFoundError, DataError
        Missing file or layer, missing columns, duplicate codes.
    """
    p = Path(path) if path is not None else default_national_communes_path()
    tol = settings.town_hall_tolerance_m if tolerance_m is None else float(tolerance_m)
    communes = read_vector(
        p,
        columns=["code", "nom", "dep", "region", "epci", "population"],
        layer=COMMUNES_LAYER,
        id_column="code",
        null_geometries="keep",  # merged communes without a polygon: reported below
        bbox=bbox,
    )
    halls = read_vector(
        p,
        columns=["code"],
        layer=TOWN_HALLS_LAYER,
        id_column="code",
        null_geometries="drop",
        out_of_range="drop",  # a few garbage points: the commune gets a point inside it
        bbox=bbox,
    )
    communes = communes.to_crs(settings.default_crs)
    halls = halls.to_crs(settings.default_crs)
    for name, df in (("communes", communes), ("mairies", halls)):
        dup = df["code"][df["code"].duplicated(keep=False)]
        if len(dup):
            raise DataError(
                f"{p}: layer {name!r} has duplicate codes: {format_values(sorted(set(dup)))}"
            )
    communes = communes.set_index(communes["code"].astype(str)).drop(columns="code")
    hall = halls.set_index(halls["code"].astype(str)).geometry.reindex(communes.index)
    polygons = communes.geometry.to_numpy()
    no_poly = pd.isna(polygons) | shapely.is_empty(np.where(pd.isna(polygons), None, polygons))
    has_hall = hall.notna().to_numpy()
    inside = np.empty(len(communes), dtype=object)
    inside[~no_poly] = shapely.point_on_surface(polygons[~no_poly])
    dist = np.full(len(communes), np.nan)
    both = has_hall & ~no_poly
    dist[both] = shapely.distance(hall.to_numpy()[both], polygons[both])
    far = both & (dist > tol)
    use_inside = (~has_hall | far) & ~no_poly
    point = np.where(use_inside, inside, hall.to_numpy())
    location = np.where(
        use_inside, LOCATION_INSIDE, np.where(has_hall, LOCATION_TOWN_HALL, LOCATION_NONE)
    )
    area = np.full(len(communes), np.nan)
    area[~no_poly] = shapely.area(polygons[~no_poly]) / 1e6
    population = pd.to_numeric(communes["population"], errors="coerce").to_numpy(dtype=float)
    table = gpd.GeoDataFrame(
        {
            "nom": communes["nom"].astype(str).to_numpy(),
            "dep": communes["dep"].astype(str).to_numpy(),
            "region": communes["region"].astype(str).to_numpy(),
            "epci": communes["epci"].astype(object).to_numpy(),
            "population": population,
            "area_km2": area,
            "density": population / area,
            "location": location,
        },
        geometry=gpd.GeoSeries(list(point), crs=settings.default_crs),
        crs=settings.default_crs,
    )
    table.index = pd.Index(communes.index, name="code")
    result = NationalCommunes(
        table=table,
        no_polygon=tuple(sorted(communes.index[no_poly])),
        halls_missing=tuple(sorted(communes.index[~has_hall & ~no_poly])),
        halls_replaced={
            c: round(float(d), 1) for c, d in zip(communes.index[far], dist[far], strict=True)
        },
        no_location=tuple(sorted(communes.index[~has_hall & no_poly])),
        polygons=(
            gpd.GeoSeries(np.where(no_poly, None, polygons), index=table.index, crs=table.crs)
            if keep_polygons
            else None
        ),
        path=p,
    )
    logger.info("national communes from %s: %s", p, result.summary())
    if result.no_location:
        logger.warning(
            "%s: %d commune(s) have neither polygon nor town hall and no location: %s",
            p,
            len(result.no_location),
            format_values(result.no_location),
        )
    return result
