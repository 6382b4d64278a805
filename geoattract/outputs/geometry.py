"""Geometry preparation for web maps: simplification, reprojection, rounding, GeoJSON.

Polygons are simplified in the projected CRS (:data:`SIMPLIFY_TOLERANCE_M`, shared borders of
a coverage kept together) and coordinates rounded to :data:`COORD_DECIMALS` decimals in
EPSG:4326, so that each map file stays small. A run draws the same communes and basemap on
every interactive map: :func:`web_geometry` and :func:`geojson_text` keep their result for a
geometry array (:class:`ArrayCache`), so each layer is simplified, reprojected and
serialised once per run.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoattract.errors import DataError, format_values

#: Simplification tolerance of polygons drawn on web maps, in metres (EPSG:2154). 100 m is
#: invisible at the zoom levels of a département map (one pixel ≈ 150 m at zoom 10).
SIMPLIFY_TOLERANCE_M: float = 100.0

#: Decimals kept on longitude/latitude in the web maps: 5 decimals ≈ 1.1 m.
COORD_DECIMALS: int = 5

#: Number of main towns (largest population) whose isochrones and names are drawn by default.
N_MAIN_TOWNS: int = 4


class ArrayCache:
    """Results computed from a geometry array, kept while the array lives.

    Keyed by the array's identity (a GeoDataFrame's geometry column is the same array from
    one call to the next) and by the parameters of the computation; an entry goes when its
    array is garbage-collected. The arrays are never modified in place by this package.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[int, Hashable], tuple[Any, Any]] = {}

    def get(self, array: Any, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The result for ``(array, key)``, computed by ``compute()`` the first time."""
        slot = (id(array), key)
        entry = self._entries.get(slot)
        if entry is not None and entry[0]() is array:
            return entry[1]
        result = compute()
        self._entries[slot] = (weakref.ref(array), result)
        weakref.finalize(array, self._entries.pop, slot, None)
        return result


#: Web geometries and GeoJSON texts already built, by geometry array.
WEB_CACHE = ArrayCache()


def simplify(gdf: gpd.GeoDataFrame, tolerance: float, coverage: bool) -> gpd.GeoSeries:
    """Simplified geometries of ``gdf`` (in its own CRS), valid and never empty.

    Parameters
    ----------
    gdf : GeoDataFrame
        Layer in a projected CRS.
    tolerance : float
        Tolerance in CRS units; 0 or less keeps the geometries.
    coverage : bool
        Simplify shared borders together (``shapely.coverage_simplify``), falling back to
        topology-preserving simplification of each geometry.

    Returns
    -------
    GeoSeries
    """
    geoms = gdf.geometry.values
    if tolerance <= 0:
        return gdf.geometry
    out = None
    if coverage and hasattr(shapely, "coverage_simplify"):
        try:  # keeps shared borders identical: no slivers between neighbouring communes
            cand = shapely.coverage_simplify(np.asarray(geoms), tolerance)
            if shapely.is_valid(cand).all() and not shapely.is_empty(cand).any():
                out = cand
        except shapely.errors.GEOSException:
            out = None
    if out is None:
        out = shapely.simplify(np.asarray(geoms), tolerance, preserve_topology=True)
    return gpd.GeoSeries(out, index=gdf.index, crs=gdf.crs)


def to_web(
    gdf: gpd.GeoDataFrame,
    tolerance: float = SIMPLIFY_TOLERANCE_M,
    *,
    coverage: bool = False,
    decimals: int = COORD_DECIMALS,
) -> gpd.GeoDataFrame:
    """Simplify in the projected CRS, reproject to EPSG:4326 and round the coordinates.

    Parameters
    ----------
    gdf : GeoDataFrame
        Layer in a projected CRS (metres).
    tolerance : float
        Simplification tolerance in metres (0 keeps the geometry).
    coverage : bool
        The layer is a coverage (communes): simplify shared borders together.
    decimals : int
        Decimals kept on longitude and latitude.

    Returns
    -------
    GeoDataFrame
        A copy in EPSG:4326 with coordinates rounded to ``decimals`` decimals.
    """
    if gdf.crs is None:
        raise DataError("layer has no CRS; expected a projected CRS such as EPSG:2154")
    web = web_geometry(gdf.geometry, tolerance, coverage=coverage, decimals=decimals)
    out = gpd.GeoDataFrame(gdf.drop(columns=gdf.geometry.name), geometry=web, crs=web.crs)
    return out.rename_geometry(gdf.geometry.name) if gdf.geometry.name != "geometry" else out


def web_geometry(
    geoms: gpd.GeoSeries,
    tolerance: float = SIMPLIFY_TOLERANCE_M,
    *,
    coverage: bool = False,
    decimals: int = COORD_DECIMALS,
) -> gpd.GeoSeries:
    """The geometries of :func:`to_web`, computed once per geometry array (:data:`WEB_CACHE`).

    Returns
    -------
    GeoSeries
        In EPSG:4326, on the index of ``geoms``, coordinates rounded to ``decimals``.
    """
    if geoms.crs is None:
        raise DataError("layer has no CRS; expected a projected CRS such as EPSG:2154")

    def compute() -> gpd.GeoSeries:
        frame = gpd.GeoDataFrame(geometry=geoms)
        out = simplify(frame, tolerance, coverage) if geoms.crs.is_projected else geoms
        out = out.to_crs(4326)
        rounded = shapely.transform(out.values, lambda xy: np.round(xy, decimals))
        return gpd.GeoSeries(rounded, index=geoms.index, crs=out.crs)

    result = WEB_CACHE.get(geoms.values, ("web", tolerance, coverage, decimals), compute)
    return result.set_axis(geoms.index) if not result.index.equals(geoms.index) else result


def geojson_text(
    geoms: gpd.GeoSeries,
    tolerance: float = SIMPLIFY_TOLERANCE_M,
    *,
    coverage: bool = False,
    decimals: int = COORD_DECIMALS,
) -> str:
    """A FeatureCollection of the web geometries alone, serialised once per geometry array.

    For the layers every map of a run shares (neighbouring communes, roads, outline): the
    same text is embedded in each self-contained page.
    """

    def compute() -> str:
        web = web_geometry(geoms, tolerance, coverage=coverage, decimals=decimals)
        return gpd.GeoDataFrame(geometry=web).to_json(drop_id=True, separators=(",", ":"))

    return WEB_CACHE.get(geoms.values, ("json", tolerance, coverage, decimals), compute)


def geometry_dicts(
    geoms: gpd.GeoSeries,
    tolerance: float = SIMPLIFY_TOLERANCE_M,
    *,
    coverage: bool = False,
    decimals: int = COORD_DECIMALS,
) -> list[dict[str, Any]]:
    """The GeoJSON geometry of each web geometry (shared, never modified), built once."""

    def compute() -> list[dict[str, Any]]:
        text = geojson_text(geoms, tolerance, coverage=coverage, decimals=decimals)
        return [f["geometry"] for f in json.loads(text)["features"]]

    return WEB_CACHE.get(geoms.values, ("dicts", tolerance, coverage, decimals), compute)


def geojson(gdf: gpd.GeoDataFrame, properties: Sequence[str]) -> dict:
    """Return a compact GeoJSON dict with only ``properties`` (already strings)."""
    return json.loads(gdf[[*properties, "geometry"]].to_json(drop_id=True))


def check_crs_columns(gdf: Any, columns: Iterable[str], what: str) -> None:
    """Raise :class:`DataError` unless ``gdf`` is a GeoDataFrame with a CRS and ``columns``.

    Parameters
    ----------
    gdf : object
        The layer to check.
    columns : iterable of str
        Required columns.
    what : str
        Name of the layer in the message.
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise DataError(f"{what}: expected a GeoDataFrame, got {type(gdf).__name__}")
    if gdf.crs is None:
        raise DataError(f"{what}: no CRS (expected EPSG:2154)")
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise DataError(
            f"{what}: missing column(s) {format_values(missing)}; "
            f"available: {format_values(gdf.columns, limit=40)}"
        )


def main_town_codes(communes: pd.DataFrame, n: int = N_MAIN_TOWNS) -> list[str]:
    """Codes of the ``n`` most populous communes (ties broken by code)."""
    if "population" not in communes.columns:
        raise DataError(
            "communes: missing column 'population' (needed to pick the main towns); "
            "pass isochrone_codes explicitly"
        )
    ordered = communes.sort_values(["population", "code"], ascending=[False, True])
    return ordered["code"].astype(str).head(n).tolist()
