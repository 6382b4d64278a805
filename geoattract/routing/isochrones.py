"""Isochrone polygons from the road graph: what can be reached within 10, 20, 30 minutes.

One routing pass gives, for every origin, the nodes reached within the largest threshold
(origin offset, i.e. the snap access leg, included). For a threshold ``T`` and a reached node
``u`` (time ``t_u <= T``) each edge ``u -> v`` of weight ``w`` is fully reached when
``t_u + w <= T``; otherwise its first ``(T - t_u) / w`` share is (constant speed along an edge),
cut along the edge geometry (or the straight line between the nodes). One-way edges are only
followed forwards.

Two shapes (``shape``):

- ``"area"`` (default): the **area within reach**, the land a person reaches: along the
  reached roads, and off the road from a reached point at the access-leg pace for the time
  left, no farther than the point's own nearest joinable node (the rule of every trip's
  access leg, :mod:`geoattract.routing.isoreach`). On a network
  without local streets this is what makes the town around a town hall, and the land between
  roads, part of the area; the origin always lies inside its smallest isochrone.
- ``"band"``: the reached road pieces and the origin buffered by ``buffer_m`` (default
  :data:`BUFFER_M`): the strip served from the roads. On a sparse network it looks like a
  spider web, and its area is the strip's.

Two methods (``method``) draw them:

- ``"grid"`` (default): a field on a grid of ``resolution_m``, contoured (reach times for the
  area, :mod:`geoattract.routing.isoreach`; distances to the reached pieces for the band,
  :mod:`geoattract.routing.isogrid`); cost grows with the area reached. Agreement with the
  exact method and speed are measured in ``docs/routing.md``.
- ``"exact"``: the area's reach time at every grid point through every reached segment
  (brute force, no raster scans, :mod:`geoattract.routing.isoreach`); the band's GEOS buffers
  of the pieces, merged (:mod:`geoattract.routing.isoexact`).

Both nest exactly (``10 min ⊂ 20 min ⊂ 30 min``) and give valid polygons; ``area_km2`` and
``population_reached`` are those of the shape drawn (column ``shape``).

Population reached (:func:`isochrones_for_communes`) counts, by default, the legal population
of every commune whose *town hall* lies inside the polygon (``population_method="town_hall"``):
the population of a rural commune lives mostly in its bourg, and area weighting would spread
it over fields and forests. ``population_method="area"`` weights each commune's population by
the share of its area inside the polygon instead.

Origins given as points are snapped with the study's one rule, a
:class:`geoattract.network.snapping.SnapRule`; already snapped origins (node and access
seconds, e.g. the accessibility stage's town halls) are used as they are.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from shapely import Point

from geoattract import settings
from geoattract._util.io import require_columns
from geoattract._util.parallel import map_threads, thread_count
from geoattract.errors import DataError, RoutingError, format_values
from geoattract.network import Network
from geoattract.network.snapping import SnapRule, check_same_crs
from geoattract.routing.edges import (
    EdgeLines,
    OriginReach,
    edge_lines,
    lines_for_origin,
    origin_groups,
)
from geoattract.routing.graph import (
    RoutingGraph,
    network_routing_graph,
)
from geoattract.routing.isoexact import exact_polygons
from geoattract.routing.isogrid import GRID_RESOLUTION_M, GridScratch, grid_polygons
from geoattract.routing.isoreach import (
    AREA_RESOLUTION_M,
    NodeDistance,
    area_polygons,
    area_segments,
    reach_window,
)
from geoattract.routing.queries import travel_times_within

logger = logging.getLogger(__name__)

#: Half-width (metres) of the band drawn around every reached road line: roughly the depth of
#: the built-up strip served from a road (houses, farms along it).
BUFFER_M = 200.0

#: The shapes and the methods :func:`isochrones` draws.
SHAPES = ("band", "area")
METHODS = ("grid", "exact")

#: Shape drawn by default (the filled area planners expect).
DEFAULT_SHAPE: Literal["band", "area"] = "area"

#: Columns of :func:`isochrones_for_communes` (the geometry column comes last).
ISOCHRONE_COLUMNS = (
    "code",
    "minutes",
    "shape",
    "area_km2",
    "population_reached",
    "empty",
    "snap_distance_m",
    "geometry",
)

#: Columns of :func:`isochrones`.
ORIGIN_COLUMNS = (
    "origin",
    "node",
    "minutes",
    "shape",
    "area_km2",
    "empty",
    "snap_distance_m",
    "geometry",
)


@dataclass(frozen=True)
class _Drawing:
    """Validated drawing options of one :func:`isochrones` call.

    ``pace`` is the off-road pace of the area within reach (seconds per metre of straight line:
    the access leg's detour over its speed).
    """

    shape: str
    method: str
    buffer_m: float
    resolution_m: float
    pace: float

    @classmethod
    def check(
        cls, shape: str, method: str, buffer_m: float, resolution_m: float | None, rule: SnapRule
    ) -> _Drawing:
        if shape not in SHAPES:
            raise RoutingError(f"shape must be one of {SHAPES}, got {shape!r}")
        if method not in METHODS:
            raise RoutingError(f"method must be one of {METHODS}, got {method!r}")
        if not buffer_m > 0:
            raise RoutingError(f"buffer_m must be > 0 metres, got {buffer_m!r}")
        if resolution_m is None:
            resolution_m = AREA_RESOLUTION_M if shape == "area" else GRID_RESOLUTION_M
        if not resolution_m > 0 or (shape == "band" and resolution_m > buffer_m):
            raise RoutingError(
                f"resolution_m must be > 0 (at most buffer_m, {buffer_m} m, for the band), got "
                f"{resolution_m!r}"
            )
        pace = float(rule.access_time_s(1.0))
        return cls(shape, method, float(buffer_m), float(resolution_m), pace)


@dataclass(frozen=True)
class _Origins:
    """Origins resolved to nodes: node id (None when invalid), offset, snap distance and place.

    ``xy`` holds each origin's own coordinates (NaN when only its node is known): the area
    within reach starts there at time 0.
    """

    labels: list[Any]
    nodes: list[Any]
    valid: np.ndarray
    offsets: np.ndarray
    snap_m: np.ndarray
    xy: np.ndarray


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


#: Edge geometry drawn for each routing graph (with a weak reference to the road graph it was
#: read from, None for straight edges): built once per routing graph, freed with it. A
#: planner's repeated calls on one graph reuse it.
_EDGES: weakref.WeakKeyDictionary[RoutingGraph, tuple[Any, EdgeLines]] = weakref.WeakKeyDictionary()


def _prepare(network: Network) -> tuple[RoutingGraph, EdgeLines]:
    """The network's routing graph and edge geometry (both cached with it)."""
    rg = network_routing_graph(network)
    cached = _EDGES.get(rg)
    if cached is not None and cached[0]() is network:
        return rg, cached[1]
    edges = edge_lines(network, rg)
    _EDGES[rg] = (weakref.ref(network), edges)
    return rg, edges


def _network(network: Network | nx.MultiDiGraph) -> Network:
    """The network (a bare graph of the graph model is wrapped with its kind's rule)."""
    if isinstance(network, Network):
        return network
    if isinstance(network, nx.MultiDiGraph):
        return Network.from_graph(network)
    raise RoutingError(
        f"isochrones need a Network (geoattract.load_network), got {type(network).__name__}"
    )


def clear_drawing_cache() -> None:
    """Forget the edge geometry cached with routing graphs.

    It is freed with its graph anyway; benchmarks clear it to time a first call.
    """
    _EDGES.clear()


def _minutes(minutes: Any) -> np.ndarray:
    """The thresholds in increasing order (``settings.thresholds_min`` when None)."""
    if minutes is None:
        minutes = settings.thresholds_min
    values = np.atleast_1d(np.asarray(minutes, dtype=np.float64))
    if values.ndim != 1 or values.size == 0 or (~np.isfinite(values) | (values <= 0)).any():
        raise RoutingError(f"minutes must be positive numbers, got {minutes!r}")
    return np.unique(values)


def _objects(values: list[Any]) -> np.ndarray:
    """Make a 1-D object array of the values, tuples (grid node ids) kept whole."""
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        out[i] = value
    return out


def _missing(node: Any) -> bool:
    return node is None or (not isinstance(node, (str, bytes, tuple)) and bool(pd.isna(node)))


def _offsets(origin_offsets: Any, n: int) -> np.ndarray:
    if origin_offsets is None:
        return np.zeros(n)
    offsets = np.asarray(origin_offsets, dtype=float).reshape(-1)
    if offsets.shape != (n,):
        raise RoutingError(f"origin_offsets: {offsets.size} values for {n} origins")
    return offsets


def _snap_origins(
    rg: RoutingGraph,
    points: list[Any],
    rule: SnapRule,
    offsets: np.ndarray,
    crs: Any = None,
    node_ok: np.ndarray | None = None,
) -> _Origins:
    """Snap origin points; missing, empty or too-far points are invalid (NaN distance)."""
    bad_type = [p for p in points if p is not None and not isinstance(p, Point)]
    if bad_type:
        raise RoutingError(
            "origins must be all node identifiers or all shapely Points (None for a missing "
            f"point); got {format_values(bad_type)}"
        )
    n = len(points)
    present = np.array([p is not None and not p.is_empty for p in points], dtype=bool)
    nodes: list[Any] = [None] * n
    dist = np.full(n, np.nan)
    access = np.zeros(n)
    valid = np.zeros(n, dtype=bool)
    if present.any():
        nodes_table = pd.DataFrame({"x": rg.x, "y": rg.y}, index=rg.node_ids)
        if node_ok is not None:  # a point never joins a motorway between two exits
            nodes_table["snappable"] = node_ok
        nodes_table.attrs["crs"] = crs
        idx = np.flatnonzero(present)
        snapped = rule.snap(nodes_table, [points[i] for i in idx], on_far="flag")
        far = snapped["too_far"].to_numpy(dtype=bool)
        dist[idx[~far]] = snapped["snap_distance_m"].to_numpy(dtype=float)[~far]
        access[idx[~far]] = snapped["snap_time_s"].to_numpy(dtype=float)[~far]
        valid[idx[~far]] = True
        for j, i in enumerate(idx):
            if not far[j]:
                nodes[i] = snapped["node"].iloc[j]
    return _Origins(list(points), nodes, valid, offsets + access, dist, _xy(points))


def _xy(points: list[Any]) -> np.ndarray:
    """``(n, 2)`` coordinates of points (NaN for a missing or empty one)."""
    xy = np.full((len(points), 2), np.nan)
    for i, p in enumerate(points):
        if isinstance(p, Point) and not p.is_empty:
            xy[i] = p.x, p.y
    return xy


def _node_origins(items: list[Any], offsets: np.ndarray, snap_m: np.ndarray | None) -> _Origins:
    """Origins given as node ids (None or NA: no origin, an empty row)."""
    valid = np.array([not _missing(node) for node in items], dtype=bool)
    bad = ~np.isfinite(offsets) & valid
    if bad.any():
        raise RoutingError(
            f"origin_offsets must be finite seconds for every origin; not for "
            f"{format_values([items[i] for i in np.flatnonzero(bad)])}"
        )
    nodes = [node if ok else None for node, ok in zip(items, valid, strict=True)]
    dist = np.zeros(len(items)) if snap_m is None else np.asarray(snap_m, dtype=float)
    xy = np.full((len(items), 2), np.nan)
    return _Origins(list(items), nodes, valid, np.where(valid, offsets, 0.0), dist, xy)


def _node_distance(
    rg: RoutingGraph,
    edges: EdgeLines,
    reaches: list[OriginReach],
    xy: np.ndarray,
    drawing: _Drawing,
) -> NodeDistance:
    """The longest off-road leg over the union of the origins' grids (one lattice for all).

    The grids are those of :func:`~geoattract.routing.isoreach.reach_window` (multiples of the
    step), so each origin's grid is a window of the lattice.
    """
    limit = float(reaches[0].limits[-1])
    lo = np.array([np.inf, np.inf])
    hi = -lo
    for i, reach in enumerate(reaches):
        segments = area_segments(rg, edges, reach, (float(xy[i, 0]), float(xy[i, 1])))
        x0, y0, nx, ny = reach_window(segments, limit, drawing.pace, drawing.resolution_m)
        lo = np.minimum(lo, [x0, y0])
        hi = np.maximum(hi, [x0 + (nx - 1) * drawing.resolution_m,
                             y0 + (ny - 1) * drawing.resolution_m])  # fmt: skip
    ok = np.flatnonzero(edges.node_ok)
    nodes_xy = np.column_stack([rg.x[ok], rg.y[ok]])
    bounds = (lo[0], lo[1], hi[0], hi[1])
    return NodeDistance.of_nodes(nodes_xy, ok, bounds, drawing.resolution_m)


def _polygons(
    rg: RoutingGraph,
    edges: EdgeLines,
    origin_pos: np.ndarray,
    offsets: np.ndarray,
    xy: np.ndarray,
    snap_m: np.ndarray,
    limits: np.ndarray,
    drawing: _Drawing,
    n_threads: int | None,
    verbose: bool,
) -> list[list[shapely.Geometry]]:
    """One routing pass for all origins, then nested polygons per origin on threads."""
    if origin_pos.size == 0:
        return []
    table = travel_times_within(
        rg,
        rg.node_ids[origin_pos],
        float(limits.max()),
        origin_offsets=offsets,
        n_threads=n_threads,
        verbose=verbose,
    )
    groups = origin_groups(table)
    reaches = [
        OriginReach.of(origin_pos[i], offsets[i], *groups[i], limits)
        for i in range(origin_pos.size)
    ]
    nodes = _node_distance(rg, edges, reaches, xy, drawing) if drawing.shape == "area" else None
    origin_cap = np.nan_to_num(np.asarray(snap_m, dtype=float), nan=0.0)
    scratch = threading.local()

    def build(i: int) -> list[shapely.Geometry]:
        reach = reaches[i]
        work = getattr(scratch, "work", None)
        if work is None:
            work = scratch.work = GridScratch.for_graph(rg)
        if nodes is not None:
            segments = area_segments(rg, edges, reach, (float(xy[i, 0]), float(xy[i, 1])))
            work.node_time[reach.nodes] = reach.times
            try:
                return area_polygons(
                    segments,
                    limits,
                    drawing.pace,
                    drawing.resolution_m,
                    work,
                    nodes,
                    work.node_time,
                    float(origin_cap[i]),
                    exact=drawing.method == "exact",
                )
            finally:
                work.node_time[reach.nodes] = np.inf
        if drawing.method == "exact":
            return exact_polygons(rg, edges, reach, drawing.buffer_m)
        return grid_polygons(rg, edges, reach, drawing.buffer_m, drawing.resolution_m, work)

    progress = "isochrones" if verbose else None
    return map_threads(build, range(origin_pos.size), n_threads, progress=progress, unit="origin")


def _frame(
    rg: RoutingGraph,
    edges: EdgeLines,
    origins: _Origins,
    mins: np.ndarray,
    drawing: _Drawing,
    n_threads: int | None,
    verbose: bool,
    crs: str,
) -> gpd.GeoDataFrame:
    """Polygons of resolved origins as the frame :func:`isochrones` returns."""
    idx_valid = np.flatnonzero(origins.valid)
    origin_pos = rg.positions([origins.nodes[i] for i in idx_valid], what="origins")
    polys = _polygons(
        rg,
        edges,
        origin_pos,
        origins.offsets[idx_valid],
        origins.xy[idx_valid],
        origins.snap_m[idx_valid],
        mins * 60.0,
        drawing,
        n_threads,
        verbose,
    )
    n = len(origins.labels)
    geoms = np.empty((n, mins.size), dtype=object)
    geoms[:] = shapely.Polygon()
    for row, i in enumerate(idx_valid):
        geoms[i, :] = polys[row]
    flat = geoms.reshape(-1)
    empty = shapely.is_empty(flat)
    area = np.where(empty, np.nan, shapely.area(flat) / 1e6)
    frame = pd.DataFrame(
        {
            "origin": np.repeat(_objects(origins.labels), mins.size),
            "node": np.repeat(_objects(origins.nodes), mins.size),
            "minutes": np.tile(mins, n),
            "shape": drawing.shape,
            "area_km2": area,
            "empty": empty,
            "snap_distance_m": np.repeat(origins.snap_m, mins.size),
            "geometry": flat,
        },
        columns=list(ORIGIN_COLUMNS),
    )
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=crs)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def reached_lines(
    network: Network | nx.MultiDiGraph,
    origins: Sequence[Hashable],
    minutes: Sequence[float] | None = None,
    *,
    origin_offsets: Sequence[float] | np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """Road pieces reached from each origin within each threshold (before drawing).

    Parameters
    ----------
    network : Network or networkx.MultiDiGraph
        The road network (edge geometry used when present).
    origins : sequence
        Origin node identifiers.
    minutes : sequence of float, optional
        Thresholds in minutes (default ``settings.thresholds_min``).
    origin_offsets : sequence of float, optional
        Seconds already spent at each origin (its access leg).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``origin`` (node id), ``minutes``, ``u``, ``v`` (node ids), ``fraction``
        (reached share of the edge, 1 for a full edge) and ``geometry``.
    """
    net = _network(network)
    rg, edges = _prepare(net)
    mins = _minutes(minutes)
    table = travel_times_within(rg, origins, mins.max() * 60.0, origin_offsets=origin_offsets)
    origin_ids = list(origins)
    frames = []
    for oi, (nodes, times) in enumerate(origin_groups(table)):
        for m in mins:
            ids, frac, lines = lines_for_origin(rg, edges.lines, nodes, times, m * 60.0)
            frames.append(
                pd.DataFrame(
                    {
                        "origin": [origin_ids[oi]] * ids.size,
                        "minutes": m,
                        "u": rg.node_ids[rg.edge_sources[ids]],
                        "v": rg.node_ids[rg.indices[ids]],
                        "fraction": frac,
                        "geometry": lines,
                    }
                )
            )
    columns = ["origin", "minutes", "u", "v", "fraction", "geometry"]
    data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return gpd.GeoDataFrame(data[columns], geometry="geometry", crs=net.crs)


def isochrones(
    network: Network | nx.MultiDiGraph,
    origins: gpd.GeoSeries | gpd.GeoDataFrame | Sequence[Point] | Sequence[Hashable],
    minutes: Sequence[float] | None = None,
    *,
    shape: Literal["band", "area"] = DEFAULT_SHAPE,
    method: Literal["grid", "exact"] = "grid",
    resolution_m: float | None = None,
    band_m: float = BUFFER_M,
    origin_offsets: Sequence[float] | np.ndarray | None = None,
    progress: bool = False,
) -> gpd.GeoDataFrame:
    """Isochrone polygons around points (snapped to the network) or around its nodes.

    Parameters
    ----------
    network : Network or networkx.MultiDiGraph
        The road network (:func:`~geoattract.network.load_network`); its snapping rule joins
        the points and sets the off-road pace of the area within reach.
    origins : GeoSeries, GeoDataFrame, sequence of Points, or sequence of node ids
        Points in the network's CRS (None for a missing one), snapped by the network's rule:
        the access leg is spent at the origin, and a ``delay_s`` column of a GeoDataFrame adds
        seconds there (the dense-commune delay of a calibration). Or node identifiers (None
        for a missing origin). A point beyond the rule's limit gives an empty row.
    minutes : sequence of float, optional
        Thresholds in minutes (default ``settings.thresholds_min``).
    shape : {"area", "band"}
        The area within reach (default) or the road band (see the module documentation).
    method : {"grid", "exact"}
        Fields contoured on a grid (default, fast) or GEOS geometry (exact).
    resolution_m : float, optional
        Grid step of the ``"grid"`` method, metres: default :data:`AREA_RESOLUTION_M` for the
        area, :data:`GRID_RESOLUTION_M` for the band (at most ``band_m``).
    band_m : float
        Half-width of the band around reached roads, metres (``shape="band"``).
    origin_offsets : sequence of float, optional
        Seconds already spent at each origin, before its access leg.
    progress : bool
        Show progress bars (routing, then isochrones per origin).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per origin and threshold, origins in their order: ``origin`` (as given, the
        index label for a GeoSeries), ``node`` (snapped node id), ``minutes``, ``shape``,
        ``area_km2`` (NaN when empty), ``empty`` (bool), ``snap_distance_m`` and ``geometry``.

    Raises
    ------
    RoutingError
        Unknown node, mixed origins, bad minutes, shape, method or sizes.
    DataError
        Points in another CRS than the network's.

    Examples
    --------
    >>> import geoattract as ga
    >>> net = ga.load_network(ga.datasets.tiny_roads())
    >>> halls = ga.datasets.tiny_town_halls()
    >>> iso = ga.isochrones(net, halls.loc[["99001", "99005"]], [10, 20])
    >>> iso[["origin", "minutes", "shape"]].to_numpy().tolist()[:2]
    [['99001', 10.0, 'area'], ['99001', 20.0, 'area']]
    >>> bool(iso.geometry.iloc[0].contains(halls.geometry.loc["99001"]))  # its own town hall
    True
    >>> bool(iso.geometry.iloc[1].covers(iso.geometry.iloc[0]))  # 10 min within 20 min
    True
    """
    net = _network(network)
    drawing = _Drawing.check(shape, method, band_m, resolution_m, net.snap_rule)
    delays = None
    if isinstance(origins, gpd.GeoDataFrame | gpd.GeoSeries):
        check_same_crs(origins.crs, net.crs, "isochrone origins")
        if isinstance(origins, gpd.GeoDataFrame) and "delay_s" in origins:
            delays = pd.to_numeric(origins["delay_s"], errors="coerce").fillna(0.0).to_numpy()
        labels = list(origins.index)
        origins = list(origins.geometry if isinstance(origins, gpd.GeoDataFrame) else origins)
    else:
        origins = list(origins)
        labels = None
    rg, edges = _prepare(net)
    mins = _minutes(minutes)
    offsets = _offsets(origin_offsets, len(origins))
    if delays is not None:
        offsets = offsets + delays
    if any(isinstance(o, shapely.Geometry) for o in origins):
        resolved = _snap_origins(rg, origins, net.snap_rule, offsets, net.crs, edges.node_ok)
    else:
        resolved = _node_origins(origins, offsets, None)
    if labels is not None:
        resolved = replace(resolved, labels=labels)
    return _frame(rg, edges, resolved, mins, drawing, None, progress, net.crs)


def isochrones_for_communes(
    network: Network | nx.MultiDiGraph,
    territory: gpd.GeoDataFrame,
    minutes: Sequence[float] | None = None,
    *,
    population_method: Literal["town_hall", "area"] = "town_hall",
    only_study: bool = True,
    shape: Literal["band", "area"] = DEFAULT_SHAPE,
    method: Literal["grid", "exact"] = "grid",
    resolution_m: float | None = None,
    progress: bool = False,
) -> gpd.GeoDataFrame:
    """Isochrones from every commune's town hall, with area and population reached.

    Town halls join the network by its rule, with the dense-commune delay of their commune (the
    legs of every trip of the study: the same as the accessibility stage's); all origins share
    one routing pass.

    Parameters
    ----------
    network : Network or networkx.MultiDiGraph
        The road network.
    territory : geopandas.GeoDataFrame
        From :func:`geoattract.territory.load.load_territory`: ``code``, ``population``,
        ``town_hall`` (Points, the network's CRS), polygon geometry and optionally
        ``in_study``.
    minutes : sequence of float, optional
        Thresholds in minutes (default ``settings.thresholds_min``).
    population_method : {"town_hall", "area"}
        Population of the communes whose town hall is inside (default) or area-weighted
        population (see the module documentation).
    only_study : bool
        Compute isochrones only for ``in_study`` communes (all communes still count in the
        population reached).
    shape, method, resolution_m
        As in :func:`isochrones`.
    progress : bool
        Show progress bars.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per commune and threshold (communes in territory order, then minutes), the
        columns of :data:`ISOCHRONE_COLUMNS`: ``code``, ``minutes``, ``shape``, ``area_km2``,
        ``population_reached``, ``empty``, ``snap_distance_m`` and ``geometry``. ``empty``
        is True when the town hall is missing or beyond the snapping limit: the polygon is
        then empty and ``area_km2``/``population_reached`` are NaN. ``population_reached`` is
        NaN too when a commune counted in it has no population.

    Raises
    ------
    DataError
        Missing columns, unknown ``population_method``, a territory in another CRS.
    """
    require_columns(territory, ["code", "town_hall", "geometry", "population"], "territory")
    if population_method not in ("town_hall", "area"):
        raise DataError(
            f"population_method must be 'town_hall' or 'area', got {population_method!r}"
        )
    net = _network(network)
    check_same_crs(territory.crs, net.crs, "territory")
    pop_values = pd.to_numeric(territory["population"], errors="coerce").to_numpy(np.float64)
    if only_study and "in_study" in territory.columns:
        rows = territory.index[territory["in_study"].astype(bool).to_numpy()]
    else:
        rows = territory.index
    sel = territory.loc[rows]
    halls = gpd.GeoDataFrame(
        {"delay_s": net.snap_rule.end_delay_s(sel["population"], sel.geometry.area)},
        geometry=gpd.GeoSeries(sel["town_hall"].to_numpy(), index=sel.index, crs=sel.crs),
    )
    iso = isochrones(
        net,
        halls,
        minutes,
        shape=shape,
        method=method,
        resolution_m=resolution_m,
        progress=progress,
    )
    codes = np.repeat(sel["code"].astype(str).to_numpy(), _minutes(minutes).size)
    geoms = iso.geometry.to_numpy()
    empties = iso["empty"].to_numpy()
    reached = _population_reached(territory, pop_values, geoms, population_method)
    reached[empties] = np.nan
    if empties.any():
        logger.info(
            "no isochrone (town hall missing or off the network) for commune(s) %s",
            format_values(pd.unique(codes[empties])),
        )
    frame = pd.DataFrame(
        {
            "code": codes,
            "minutes": iso["minutes"].to_numpy(),
            "shape": iso["shape"].to_numpy(),
            "area_km2": iso["area_km2"].to_numpy(),
            "population_reached": reached,
            "empty": empties,
            "snap_distance_m": iso["snap_distance_m"].to_numpy(),
            "geometry": geoms,
        },
        columns=list(ISOCHRONE_COLUMNS),
    )
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=net.crs)


def _population_reached(
    territory: gpd.GeoDataFrame,
    pop: np.ndarray,
    polygons: np.ndarray,
    method: str,
    n_threads: int | None = None,
) -> np.ndarray:
    """Sum the population inside each polygon (NaN when a counted commune has none).

    The spatial queries run on threads, a block of polygons each (GEOS releases the GIL).
    """
    n = polygons.size
    if method == "town_hall":
        halls = territory["town_hall"].to_numpy()
        has = np.array([h is not None and isinstance(h, shapely.Geometry) for h in halls])
        tree = shapely.STRtree(np.where(has, halls, None))
    else:
        communes = territory.geometry.to_numpy()
        tree = shapely.STRtree(communes)
    predicate: Literal["contains", "intersects"] = (
        "contains" if method == "town_hall" else "intersects"
    )
    blocks = np.array_split(np.arange(n), max(1, min(thread_count(n_threads), n)))
    found = map_threads(lambda b: tree.query(polygons[b], predicate=predicate), blocks, n_threads)
    poly_i = np.concatenate([b[q[0]] for b, q in zip(blocks, found, strict=True)])
    hall_i = np.concatenate([q[1] for q in found])
    if method == "town_hall":
        share = np.ones(poly_i.size)
    else:
        inter = shapely.area(shapely.intersection(polygons[poly_i], communes[hall_i]))
        share = inter / shapely.area(communes[hall_i])
    values = pop[hall_i] * share
    missing = np.isnan(values)
    total = np.bincount(poly_i, weights=np.where(missing, 0.0, values), minlength=n)
    n_missing = np.bincount(poly_i, weights=missing.astype(float), minlength=n)
    total[n_missing > 0] = np.nan
    return total
