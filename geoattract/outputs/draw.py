"""Polygons and lines on a matplotlib axes, their paths built once per geometry array.

``GeoDataFrame.plot`` builds a matplotlib patch per polygon on every call (a ``PathPatch``
and its properties, about a quarter of a millisecond each) and asks the canvas for a redraw
after every layer. A run draws the same communes and the same basemap on a dozen printed
maps, and a national map 35,000 communes. :func:`draw_polygons` and :func:`draw_lines` draw
exactly what geopandas draws (normalised geometries; per polygon its exterior then its
interior rings, each closed; missing and empty geometries left out) as one collection, with
no redraw, and keep the paths of a geometry array for the next map
(:data:`~geoattract.outputs.geometry.WEB_CACHE`: they go with the array).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from geoattract.outputs.geometry import WEB_CACHE


def _geometry_array(geoms: gpd.GeoSeries | gpd.GeoDataFrame) -> Any:
    series = geoms.geometry if isinstance(geoms, gpd.GeoDataFrame) else geoms
    return series.values


def polygon_paths(geoms: gpd.GeoSeries | gpd.GeoDataFrame) -> tuple[list[Any], np.ndarray]:
    """One closed compound path per (multi)polygon, as geopandas builds them; cached.

    Parameters
    ----------
    geoms : GeoSeries or GeoDataFrame
        Polygons and multipolygons (missing and empty ones are left out).

    Returns
    -------
    (list of matplotlib.path.Path, numpy.ndarray)
        The paths, and the position in ``geoms`` of the geometry of each path.
    """
    array = _geometry_array(geoms)
    return WEB_CACHE.get(array, "polygon_paths", lambda: _polygon_paths(array))


def _polygon_paths(array: Any) -> tuple[list[Any], np.ndarray]:
    from matplotlib.path import Path

    data = shapely.normalize(np.asarray(array, dtype=object))
    keep = np.flatnonzero(~(shapely.is_missing(data) | shapely.is_empty(data)))
    parts, part_of = shapely.get_parts(data[keep], return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    coords, coord_of = shapely.get_coordinates(rings, return_index=True)
    codes = np.full(len(coords), Path.LINETO, dtype=Path.code_type)
    starts = np.searchsorted(coord_of, np.arange(len(rings)))
    ends = np.append(starts[1:], len(coords)) - 1
    codes[starts] = Path.MOVETO
    codes[ends] = Path.CLOSEPOLY
    geom_of_coord = part_of[ring_of[coord_of]]
    bounds = np.searchsorted(geom_of_coord, np.arange(len(keep) + 1))
    paths = [Path(coords[a:b], codes[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return paths, keep


def line_segments(geoms: gpd.GeoSeries | gpd.GeoDataFrame) -> tuple[list[np.ndarray], np.ndarray]:
    """One vertex array per line part, as geopandas draws (multi)lines; cached.

    Returns
    -------
    (list of numpy.ndarray, numpy.ndarray)
        The ``(n, 2)`` vertices of each part, and the position in ``geoms`` of its geometry.
    """
    array = _geometry_array(geoms)
    return WEB_CACHE.get(array, "line_segments", lambda: _line_segments(array))


def _line_segments(array: Any) -> tuple[list[np.ndarray], np.ndarray]:
    data = shapely.normalize(np.asarray(array, dtype=object))
    keep = np.flatnonzero(~(shapely.is_missing(data) | shapely.is_empty(data)))
    parts, part_of = shapely.get_parts(data[keep], return_index=True)
    coords, coord_of = shapely.get_coordinates(parts, return_index=True)
    bounds = np.searchsorted(coord_of, np.arange(len(parts) + 1))
    segments = [coords[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return segments, keep[part_of]


def _subset(
    items: list[Any], owner: np.ndarray, n: int, rows: Any
) -> tuple[list[Any], np.ndarray, int]:
    """Items whose geometry is in ``rows`` (a boolean mask over the ``n`` geometries).

    Returns the items, the position of their geometry among the selected rows, and the
    number of selected rows.
    """
    if rows is None:
        return items, owner, n
    mask = np.asarray(rows, dtype=bool)
    if len(mask) != n:
        raise ValueError(f"rows: {len(mask)} values for {n} geometries")
    sel = mask[owner]
    position = np.cumsum(mask) - 1
    return (
        [item for item, s in zip(items, sel, strict=True) if s],
        position[owner[sel]],
        int(mask.sum()),
    )


def _per_item(value: Any, index: np.ndarray, n: int) -> Any:
    """A per-geometry style value (list or array of length ``n``) taken at ``index``."""
    if isinstance(value, str) or not isinstance(value, Sequence | np.ndarray) or len(value) != n:
        return value
    return np.take(np.asarray(value, dtype=object), index, axis=0)


def draw_polygons(
    ax: Any,
    geoms: gpd.GeoSeries | gpd.GeoDataFrame,
    *,
    color: Any,
    edgecolor: Any = None,
    linewidth: float | None = None,
    zorder: float | None = None,
    rows: Any = None,
) -> Any:
    """Fill (multi)polygons on ``ax`` as ``geoms.plot(ax=ax, color=…)`` does, in one collection.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes.
    geoms : GeoSeries or GeoDataFrame
        Polygons in the axes' coordinates.
    color : colour or sequence of colours
        Fill colour, one for all or one per geometry.
    edgecolor, linewidth : optional
        Border colour and width (points).
    zorder : float, optional
        Drawing order (default: matplotlib's collection order).
    rows : boolean array, optional
        Draw only these rows of ``geoms`` (``geoms[rows].plot(…)``; per-geometry colours
        then given for the selected rows), reusing the paths of the whole array.

    Returns
    -------
    matplotlib.collections.PathCollection
    """
    from matplotlib.collections import PathCollection

    all_paths, owner = polygon_paths(geoms)
    paths, keep, n = _subset(all_paths, owner, len(geoms), rows)
    kwargs: dict[str, Any] = {"facecolor": _per_item(color, keep, n)}
    if edgecolor is not None:
        kwargs["edgecolor"] = edgecolor
    if linewidth is not None:
        kwargs["linewidth"] = linewidth
    if zorder is not None:
        kwargs["zorder"] = zorder
    collection = PathCollection(paths, **kwargs)
    ax.add_collection(collection, autolim=True)
    ax.autoscale_view()
    return collection


def draw_lines(
    ax: Any,
    geoms: gpd.GeoSeries | gpd.GeoDataFrame,
    *,
    color: Any,
    linewidth: float,
    linestyle: Any = "solid",
    zorder: float | None = None,
    rows: Any = None,
) -> Any:
    """Draw (multi)lines on ``ax`` as ``geoms.plot(ax=ax, color=…)`` does, in one collection.

    ``rows`` (a boolean mask) draws only those rows, reusing the segments of the whole array.

    Returns
    -------
    matplotlib.collections.LineCollection
    """
    from matplotlib.collections import LineCollection

    all_segments, owner = line_segments(geoms)
    segments, _, _ = _subset(all_segments, owner, len(geoms), rows)
    kwargs: dict[str, Any] = {"color": color, "linewidth": linewidth, "linestyle": linestyle}
    if zorder is not None:
        kwargs["zorder"] = zorder
    collection = LineCollection(segments, **kwargs)
    ax.add_collection(collection, autolim=True)
    ax.autoscale_view()
    return collection
