"""The calibrated edge rule's inputs: what a calibration and a line layer give it.

:func:`edge_delays_of` reads the edge rule of a calibration (winding pace, junction delays by
class, urban pace, route speeds); :func:`route_metres` sums the geometry of each road number of
a layer (the route speeds' tiers); :func:`settlements_from` and :func:`built_up_areas` draw the
built-up discs around town halls whose metres cost the urban pace. The rule itself is
:func:`geoattract.network.line_model.edge_speeds` and ``edge_delays``, applied by the build.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geoattract import settings
from geoattract.errors import DataError, DataNotFoundError
from geoattract.network import cache as _cache
from geoattract.network.line_build import EdgeDelays, Settlements, column_map
from geoattract.network.line_model import (
    BUILT_UP_DENSITY_KEY,
    JUNCTION_DELAY_KEY,
    ROUTE_SPEEDS_KEY,
    URBAN_PACE_KEY,
    WINDING_PACE_KEY,
    built_up_radii,
    route_lengths,
)
from geoattract.network.presets import LinePreset
from geoattract.network.split import points_digest

logger = logging.getLogger(__name__)


def in_default_crs(frame: gpd.GeoSeries | gpd.GeoDataFrame) -> gpd.GeoSeries:
    """The geometry of a GeoSeries or GeoDataFrame in EPSG:2154 (as is without a CRS)."""
    series = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    if series.crs is not None and pyproj.CRS(series.crs) != pyproj.CRS(settings.default_crs):
        series = series.to_crs(settings.default_crs)
    return series


def edge_delays_of(calibration: Mapping[str, Any] | None) -> EdgeDelays:
    """The edge rule of a calibration (0 or none where absent).

    Winding pace, junction delays (one value or a table by class), urban pace, route speeds.
    """
    calibration = calibration or {}
    junction = calibration.get(JUNCTION_DELAY_KEY, 0.0)
    routes = calibration.get(ROUTE_SPEEDS_KEY) or {}
    if not isinstance(routes, Mapping) or not all(isinstance(t, Mapping) for t in routes.values()):
        raise DataError(
            f"calibration: {ROUTE_SPEEDS_KEY} must be a table of tables; got {routes!r}"
        )
    return EdgeDelays(
        winding_pace_s_per_m=float(calibration.get(WINDING_PACE_KEY, 0.0)),
        junction_delay_s=(
            {str(k): float(v) for k, v in junction.items()}
            if isinstance(junction, Mapping)
            else float(junction)
        ),
        urban_pace_s_per_m=float(calibration.get(URBAN_PACE_KEY, 0.0)),
        route_speeds_kph={
            str(c): {str(k): float(v) for k, v in t.items()} for c, t in routes.items()
        },
    )


def settlements_from(
    points: gpd.GeoDataFrame | None, density_per_km2: float
) -> tuple[Settlements, str]:
    """Built-up discs of communes (a point and a ``population`` each) and their digest.

    ``points`` default: every located commune of the national commune file
    (:func:`geoattract.territory.national.read_national_communes`). The disc of a commune
    holds its population at ``density_per_km2``.
    """
    if points is None:
        from geoattract.territory.national import read_national_communes

        points = read_national_communes().table
    if "population" not in points:
        raise DataError("settlements: a table of points with a 'population' column is needed")
    geoms = in_default_crs(points).to_numpy()
    ok = ~pd.isna(geoms)
    ok[ok] = ~shapely.is_empty(geoms[ok])
    xy = shapely.get_coordinates(geoms[ok])
    radius = built_up_radii(points["population"].to_numpy(dtype=float)[ok], density_per_km2)
    digest = points_digest(np.c_[xy[:, 0] + 1e-3 * np.round(radius), xy[:, 1]])
    return Settlements(xy, radius), str(digest)


def route_metres(spec: LinePreset, gdf: gpd.GeoDataFrame) -> dict[str, float] | None:
    """Geometry metres of every road number (the preset's name column) of a layer."""
    if spec.name_column is None:
        return None
    cols = column_map(c for c in gdf.columns if c != gdf.geometry.name)
    actual = cols.get(spec.name_column.lower())
    if actual is None:
        return None
    names = gdf[actual].astype(object).where(gdf[actual].notna()).to_numpy()
    total = route_lengths(names, shapely.length(gdf.geometry.to_numpy()))
    keep = ~np.isnan(total)
    return dict(zip(names[keep].astype(str), total[keep].tolist(), strict=True))


def built_up_areas(
    calib: Mapping[str, Any] | None,
    delays: EdgeDelays,
    settlements: gpd.GeoDataFrame | None,
    density_per_km2: float | None,
) -> tuple[float, Any, Callable[[], Settlements | None]]:
    """Density of the built-up discs (0: none), their cache-key part, and their loader.

    Discs are measured when the calibration has an urban pace (at its density) or a
    density is given. Default settlements: the national commune file, read only when the
    network is built (its identity keys the cache).
    """
    density = float((calib or {}).get(BUILT_UP_DENSITY_KEY, 0.0))
    if density_per_km2 is not None:
        density = float(density_per_km2)
    elif delays.urban_pace_s_per_m > 0 and not density > 0:
        raise DataError(f"calibration: an urban pace needs {BUILT_UP_DENSITY_KEY} > 0")
    if not (density > 0 and (delays.urban_pace_s_per_m > 0 or density_per_km2)):
        return 0.0, None, lambda: None
    if settlements is not None:
        given, digest = settlements_from(settlements, density)
        return density, digest, lambda: given
    from geoattract.territory.national import default_national_communes_path

    try:
        path = default_national_communes_path()
    except DataNotFoundError:  # a line layer used without the shared data folder
        logger.warning(
            "urban pace not applied: the national commune file that locates built-up areas "
            "was not found; pass settlements= or set GEOATTRACT_DATA_DIR to apply it"
        )
        return 0.0, None, lambda: None
    identity = _cache.file_identity(path)
    return density, identity, lambda: settlements_from(None, density)[0]
