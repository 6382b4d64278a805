"""Isochrone polygons from the road graph: reached road lines, cut exactly, buffered.

Method (one routing pass for every origin, then vectorised shapely 2):

1. :func:`geoattract.routing.engine.travel_times_within` gives, for each origin, every node reached
   within the largest threshold (origin offset, i.e. the snap access leg, included).
2. For a threshold ``T`` and a reached node ``u`` (time ``t_u <= T``), each edge ``u -> v`` of
   weight ``w`` is *fully* reached when ``t_u + w <= T``; otherwise its first
   ``(T - t_u) / w`` share is reached (constant speed along an edge), cut by linear
   interpolation along the edge geometry (the straight line between the nodes when the edge
   has none). One-way edges are only ever followed forwards.
3. The reached lines, plus the origin node, are buffered by :data:`BUFFER_M` and merged
   (shapely's buffer of a multi-part geometry is the union of the parts' buffers), then made
   valid. Areas that no reached road comes within :data:`BUFFER_M` of stay as holes.
4. Nesting is enforced: each polygon is unioned with the one of the previous threshold, so
   ``10 min ⊂ 20 min ⊂ 30 min`` holds exactly.

Population reached (:func:`isochrones_for_communes`) counts, by default, the legal population
of every commune whose *town hall* lies inside the polygon (``population_method="town_hall"``):
the population of a rural commune lives mostly in its bourg, and area weighting would spread
it over fields and forests. ``population_method="area"`` weights each commune's population by
the share of its area inside the polygon instead.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from shapely import Point

from geoattract import settings
from geoattract._util.io import require_columns
from geoattract.errors import DataError, RoutingError, format_values
from geoattract.routing.engine import (
    DEFAULT_WEIGHT,
    ReachTable,
    RoutingGraph,
    _n_threads,
    routing_graph,
    travel_times_within,
)

logger = logging.getLogger(__name__)

__all__ = [
    "BUFFER_M",
    "ISOCHRONE_COLUMNS",
    "isochrones",
    "isochrones_for_communes",
    "reached_lines",
]

#: Half-width (metres) of the band drawn around every reached road line: roughly the depth of
#: the built-up strip served from a road (houses, farms along it). Larger values fill the holes
#: between roads, smaller ones draw a thin road skeleton.
BUFFER_M = 200.0

#: Segments per quarter circle used to approximate the round buffer ends (shapely
#: ``quad_segs``); 4 keeps polygons light with at most ~2.5 % area error on isolated ends.
BUFFER_QUAD_SEGS = 4

#: Columns of :func:`isochrones_for_communes` (the geometry column comes last).
ISOCHRONE_COLUMNS = (
    "code",
    "minutes",
    "area_km2",
    "population_reached",
    "empty",
    "snap_distance_m",
    "geometry",
)


# --------------------------------------------------------------------------------------------
# Edge geometry
# --------------------------------------------------------------------------------------------


def _edge_geometries(G: nx.MultiDiGraph, rg: RoutingGraph) -> np.ndarray:
    """One LineString per forward CSR edge of ``rg``, oriented from its source to its target.

    Uses the ``geometry`` attribute of the multigraph edge kept by :func:`routing_graph`, and
    the straight line between the node coordinates when there is none.
    """
    if np.isnan(rg.x).any() or np.isnan(rg.y).any():
        bad = rg.node_ids[np.isnan(rg.x) | np.isnan(rg.y)]
        raise RoutingError(
            f"isochrones need node coordinates 'x', 'y'; missing for node(s) "
            f"{format_values(bad.tolist())}"
        )
    src = rg.edge_sources
    dst = rg.indices.astype(np.int64)
    coords = np.stack(
        [np.c_[rg.x[src], rg.y[src]], np.c_[rg.x[dst], rg.y[dst]]], axis=1
    )  # (E, 2, 2)
    lines = shapely.linestrings(coords)
    if G is None or rg.edge_keys is None:
        return lines
    ids = rg.node_ids.tolist()
    keys = rg.edge_keys.tolist()
    multi = G.is_multigraph()
    for e, (a, b) in enumerate(zip(src.tolist(), dst.tolist(), strict=True)):
        data = G[ids[a]][ids[b]][keys[e]] if multi else G[ids[a]][ids[b]]
        geom = data.get("geometry")
        if geom is not None and not geom.is_empty:
            lines[e] = geom
    # Orient: the geometry must start at the source node (osmnx does; be safe for others).
    first = shapely.get_point(lines, 0)
    last = shapely.get_point(lines, -1)
    d_first = np.hypot(shapely.get_x(first) - rg.x[src], shapely.get_y(first) - rg.y[src])
    d_last = np.hypot(shapely.get_x(last) - rg.x[src], shapely.get_y(last) - rg.y[src])
    flip = d_last < d_first
    if flip.any():
        lines[flip] = shapely.reverse(lines[flip])
    return lines


def _cut_lines(lines: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """First ``fraction`` (0..1, of the length) of each LineString, vectorised."""
    out = np.empty(lines.size, dtype=object)
    if lines.size == 0:
        return out
    coords, line_idx = shapely.get_coordinates(lines, return_index=True)
    seg = np.zeros(len(coords))
    same = line_idx[1:] == line_idx[:-1]
    seg[1:] = np.where(same, np.hypot(*(coords[1:] - coords[:-1]).T), 0.0)
    cum = np.cumsum(seg)
    starts = np.searchsorted(line_idx, np.arange(lines.size))
    cum -= cum[starts][line_idx]  # cumulative length from each line's first vertex
    total = np.bincount(line_idx, weights=seg, minlength=lines.size)
    target = np.clip(fractions, 0.0, 1.0) * total
    keep = cum < target[line_idx]
    keep[starts] = True
    # The cut point lies on the segment after the last kept vertex of each line.
    last_kept = np.maximum.reduceat(np.where(keep, np.arange(len(coords)), -1), starts)
    nxt = np.minimum(last_kept + 1, np.r_[starts[1:], len(coords)] - 1)
    seg_len = seg[nxt]
    ratio = np.divide(target - cum[last_kept], seg_len, out=np.zeros(lines.size), where=seg_len > 0)
    cut_pt = coords[last_kept] + ratio[:, None] * (coords[nxt] - coords[last_kept])
    all_coords = np.concatenate([coords[keep], cut_pt])
    all_idx = np.concatenate([line_idx[keep], np.arange(lines.size)])
    order = np.argsort(all_idx, kind="stable")
    out[:] = shapely.linestrings(all_coords[order], indices=all_idx[order])
    return out


def _lines_for_origin(
    rg: RoutingGraph,
    edge_lines: np.ndarray,
    nodes: np.ndarray,
    times: np.ndarray,
    limit_s: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reached pieces of edges for one origin and one threshold: (edge ids, fractions, lines)."""
    ok = times <= limit_s
    nodes, times = nodes[ok], times[ok]
    deg = rg.indptr[nodes + 1] - rg.indptr[nodes]
    rep_t = np.repeat(times, deg)
    first = np.repeat(rg.indptr[nodes], deg)
    offset = np.arange(deg.sum()) - np.repeat(np.cumsum(deg) - deg, deg)
    edges = first + offset
    w = rg.weights[edges]
    remaining = limit_s - rep_t
    full = remaining >= w
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(full, 1.0, remaining / w)
    keep = full | (frac > 0)
    edges, frac, full = edges[keep], frac[keep], full[keep]
    lines = edge_lines[edges].copy()
    partial = ~full
    if partial.any():
        lines[partial] = _cut_lines(lines[partial], frac[partial])
    return edges, frac, lines


def _prepare(
    G: nx.MultiDiGraph | None, rg: RoutingGraph | None, weight: str
) -> tuple[RoutingGraph, np.ndarray]:
    if rg is None:
        if G is None:
            raise RoutingError("isochrones need a road graph G or a RoutingGraph rg")
        rg = routing_graph(G, weight=weight)
    return rg, _edge_geometries(G, rg)


def _minutes(minutes: Any) -> np.ndarray:
    values = np.atleast_1d(np.asarray(minutes, dtype=np.float64))
    if values.ndim != 1 or values.size == 0 or (~np.isfinite(values) | (values <= 0)).any():
        raise RoutingError(f"minutes must be positive numbers, got {minutes!r}")
    return np.unique(values)


def _origin_groups(table: ReachTable) -> list[tuple[np.ndarray, np.ndarray]]:
    bounds = np.searchsorted(table.origin, np.arange(table.n_origins + 1))
    return [
        (table.target[a:b], table.time[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def reached_lines(
    G: nx.MultiDiGraph | None,
    origins: Sequence[Hashable],
    minutes: Sequence[float] = settings.thresholds_min,
    *,
    rg: RoutingGraph | None = None,
    origin_offsets: Sequence[float] | np.ndarray | None = None,
    weight: str = DEFAULT_WEIGHT,
) -> gpd.GeoDataFrame:
    """Road pieces reached from each origin within each threshold (before buffering).

    Parameters
    ----------
    G : networkx.MultiDiGraph or None
        Road graph (edge ``geometry`` used when present). May be None when ``rg`` is given
        (straight lines between nodes).
    origins : sequence
        Origin node identifiers.
    minutes : sequence of float
        Thresholds in minutes.
    rg : RoutingGraph, optional
        Precomputed routing structure of ``G``.
    origin_offsets : sequence of float, optional
        Seconds already spent at each origin (snap access leg).
    weight : str
        Edge weight attribute (seconds).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``origin`` (node id), ``minutes``, ``u``, ``v`` (node ids), ``fraction``
        (reached share of the edge, 1 for a full edge) and ``geometry`` (EPSG:2154).
    """
    rg, edge_lines = _prepare(G, rg, weight)
    mins = _minutes(minutes)
    table = travel_times_within(rg, origins, mins.max() * 60.0, origin_offsets=origin_offsets)
    origin_ids = list(origins)
    frames = []
    for oi, (nodes, times) in enumerate(_origin_groups(table)):
        for m in mins:
            edges, frac, lines = _lines_for_origin(rg, edge_lines, nodes, times, m * 60.0)
            frames.append(
                pd.DataFrame(
                    {
                        "origin": [origin_ids[oi]] * edges.size,
                        "minutes": m,
                        "u": rg.node_ids[rg.edge_sources[edges]],
                        "v": rg.node_ids[rg.indices[edges]],
                        "fraction": frac,
                        "geometry": lines,
                    }
                )
            )
    columns = ["origin", "minutes", "u", "v", "fraction", "geometry"]
    data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return gpd.GeoDataFrame(data[columns], geometry="geometry", crs=_crs(G))


def _crs(G: nx.MultiDiGraph | None) -> str:
    return (G.graph.get("crs") if G is not None else None) or settings.default_crs


def _twin_edges(rg: RoutingGraph) -> np.ndarray:
    """For each forward CSR edge u -> v, the id of the edge v -> u (-1 when one-way)."""
    n = np.int64(rg.n_nodes)
    src = rg.edge_sources
    dst = rg.indices.astype(np.int64)
    keys = src * n + dst  # sorted: the CSR is ordered by (u, v)
    rev = dst * n + src
    pos = np.minimum(np.searchsorted(keys, rev), max(keys.size - 1, 0))
    found = keys.size > 0 and keys[pos] == rev
    return np.where(found, pos, -1)


def _buffer_union(lines: np.ndarray, buffer_m: float) -> Any:
    """Union of the buffers of the parts: much faster in GEOS than buffering a collection."""
    if lines.size == 0:
        return shapely.Polygon()
    return shapely.union_all(shapely.buffer(lines, buffer_m, quad_segs=BUFFER_QUAD_SEGS))


def _polygons_for_origin(
    rg: RoutingGraph,
    edge_lines: np.ndarray,
    twin: np.ndarray,
    origin_pos: int,
    offset: float,
    nodes: np.ndarray,
    times: np.ndarray,
    mins: np.ndarray,
    buffer_m: float,
) -> list[Any]:
    """Nested isochrone polygons of one origin, one per threshold (increasing).

    Incremental: the polygon of a threshold is the previous polygon unioned with the buffers
    of the pieces not already *fully* reached at the previous threshold, so each edge is
    buffered about once and nesting holds by construction. Of two twin edges fully reached,
    only one is buffered.
    """
    origin_pt = shapely.points(rg.x[origin_pos], rg.y[origin_pos])
    out: list[Any] = []
    previous = shapely.Polygon()
    done_full = np.zeros(rg.n_edges, dtype=bool)
    for m in mins:
        limit = m * 60.0
        if offset > limit:
            out.append(shapely.Polygon())
            continue
        edges, frac, lines = _lines_for_origin(rg, edge_lines, nodes, times, limit)
        full = frac >= 1.0
        is_full = np.zeros(rg.n_edges, dtype=bool)
        is_full[edges[full]] = True
        t = twin[edges]
        duplicate = full & (t >= 0) & (t < edges) & is_full[np.maximum(t, 0)]
        new = ~done_full[edges] & ~duplicate
        parts = np.concatenate([lines[new], [origin_pt]])
        poly = _buffer_union(parts, buffer_m)
        if not previous.is_empty:
            poly = shapely.union(poly, previous)
        poly = shapely.make_valid(poly)
        done_full |= is_full
        out.append(poly)
        previous = poly
    return out


def isochrones(
    G: nx.MultiDiGraph | None,
    origins: Sequence[Hashable] | Sequence[Point],
    minutes: Sequence[float] = settings.thresholds_min,
    *,
    rg: RoutingGraph | None = None,
    origin_offsets: Sequence[float] | np.ndarray | None = None,
    buffer_m: float = BUFFER_M,
    weight: str = DEFAULT_WEIGHT,
    n_threads: int | None = None,
    verbose: bool = False,
) -> gpd.GeoDataFrame:
    """Isochrone polygons around origin nodes (or points, snapped to the nearest node).

    Parameters
    ----------
    G : networkx.MultiDiGraph or None
        Road graph following the graph model; None allowed when ``rg`` is given (edges drawn
        as straight lines).
    origins : sequence
        Node identifiers, or shapely Points in the graph CRS, which are snapped to their nearest
        node with :func:`geoattract.network.snapping.snap_points`; the access leg is added to
        ``origin_offsets``. A point farther than ``settings.snap_max_distance_m`` gives an
        empty row with ``empty=True``.
    minutes : sequence of float
        Thresholds in minutes.
    rg : RoutingGraph, optional
        Precomputed routing structure of ``G`` (saves rebuilding it).
    origin_offsets : sequence of float, optional
        Seconds already spent at each origin.
    buffer_m : float
        Half-width of the band around reached roads, metres (default :data:`BUFFER_M`).
    weight : str
        Edge weight attribute (seconds).
    n_threads : int, optional
        Threads for routing and geometry (shapely releases the GIL).
    verbose : bool
        Show progress bars.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per origin and threshold: ``origin`` (as given), ``node`` (snapped node id),
        ``minutes``, ``area_km2`` (NaN when empty), ``empty`` (bool) and ``geometry``.
    """
    rg, edge_lines = _prepare(G, rg, weight)
    mins = _minutes(minutes)
    if not buffer_m > 0:
        raise RoutingError(f"buffer_m must be > 0 metres, got {buffer_m!r}")
    items = list(origins)
    offsets = np.zeros(len(items)) if origin_offsets is None else np.asarray(origin_offsets, float)
    if offsets.shape != (len(items),):
        raise RoutingError(f"origin_offsets: {offsets.size} values for {len(items)} origins")
    node_of: list[Any] = list(items)
    valid = np.ones(len(items), dtype=bool)
    snap_d = np.zeros(len(items))
    if any(isinstance(o, shapely.Geometry) for o in items):
        node_of, valid, snap_d, snap_t = _snap_origins(rg, items)
        offsets = offsets + np.nan_to_num(snap_t)
    idx_valid = np.flatnonzero(valid)
    origin_pos = rg.positions([node_of[i] for i in idx_valid], what="origins")
    polys_by_origin = _isochrone_polygons(
        rg, edge_lines, origin_pos, offsets[idx_valid], mins, buffer_m, n_threads, verbose
    )
    rows = []
    empty_poly = shapely.Polygon()
    polys_iter = iter(polys_by_origin)
    for i in range(len(items)):
        polys = next(polys_iter) if valid[i] else [empty_poly] * mins.size
        for m, poly in zip(mins, polys, strict=True):
            empty = bool(poly.is_empty)
            rows.append(
                {
                    "origin": items[i],
                    "node": node_of[i],
                    "minutes": float(m),
                    "area_km2": np.nan if empty else poly.area / 1e6,
                    "empty": empty,
                    "snap_distance_m": snap_d[i],
                    "geometry": poly,
                }
            )
    columns = ["origin", "node", "minutes", "area_km2", "empty", "snap_distance_m", "geometry"]
    frame = pd.DataFrame(rows, columns=columns)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=_crs(G))


def _snap_origins(
    rg: RoutingGraph, points: list[Any]
) -> tuple[list[Any], np.ndarray, np.ndarray, np.ndarray]:
    """Snap origin points; missing, empty or too-far points are invalid (NaN distance/time)."""
    from geoattract.network.snapping import snap_points

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
    time_s = np.full(n, np.nan)
    valid = np.zeros(n, dtype=bool)
    if present.any():
        nodes_table = pd.DataFrame({"x": rg.x, "y": rg.y}, index=rg.node_ids)
        idx = np.flatnonzero(present)
        snapped = snap_points(nodes_table, [points[i] for i in idx], on_far="flag")
        far = snapped["too_far"].to_numpy(dtype=bool)
        dist[idx] = snapped["snap_distance_m"].to_numpy(dtype=float)
        time_s[idx] = snapped["snap_time_s"].to_numpy(dtype=float)
        dist[idx[far]] = np.nan
        valid[idx[~far]] = True
        for j, i in enumerate(idx):
            if not far[j]:
                nodes[i] = snapped["node"].iloc[j]
    return nodes, valid, dist, time_s


def _isochrone_polygons(
    rg: RoutingGraph,
    edge_lines: np.ndarray,
    origin_pos: np.ndarray,
    offsets: np.ndarray,
    mins: np.ndarray,
    buffer_m: float,
    n_threads: int | None,
    verbose: bool,
) -> list[list[Any]]:
    """One routing pass for all origins, then polygons per origin (threaded)."""
    if origin_pos.size == 0:
        return []
    table = travel_times_within(
        rg,
        rg.node_ids[origin_pos],
        float(mins.max()) * 60.0,
        origin_offsets=offsets,
        n_threads=n_threads,
        verbose=verbose,
    )
    groups = _origin_groups(table)
    twin = _twin_edges(rg)

    def build(i: int) -> list[Any]:
        nodes, times = groups[i]
        return _polygons_for_origin(
            rg,
            edge_lines,
            twin,
            int(origin_pos[i]),
            float(offsets[i]),
            nodes,
            times,
            mins,
            buffer_m,
        )

    threads = _n_threads(n_threads)
    indices = range(origin_pos.size)
    if threads == 1:
        iterator = map(build, indices)
        pool = None
    else:
        pool = ThreadPoolExecutor(max_workers=threads)
        iterator = pool.map(build, indices)
    try:
        if verbose:
            from tqdm.auto import tqdm

            iterator = tqdm(iterator, total=origin_pos.size, desc="isochrones", unit="origin")
        return list(iterator)
    finally:
        if pool is not None:
            pool.shutdown()


def isochrones_for_communes(
    G: nx.MultiDiGraph,
    territory: gpd.GeoDataFrame,
    minutes: Sequence[float] = settings.thresholds_min,
    population: pd.Series | None = None,
    *,
    rg: RoutingGraph | None = None,
    only_study: bool = True,
    population_method: Literal["town_hall", "area"] = "town_hall",
    buffer_m: float = BUFFER_M,
    n_threads: int | None = None,
    verbose: bool = False,
) -> gpd.GeoDataFrame:
    """Isochrones from every commune's town hall, with area and population reached.

    Town halls are snapped to the nearest graph node (:func:`geoattract.network.snapping.snap_points`,
    limit ``settings.snap_max_distance_m``); the access leg at ``settings.snap_speed_kph`` is
    the origin offset. All origins share one routing pass.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Road graph following the graph model (EPSG:2154).
    territory : geopandas.GeoDataFrame
        From :func:`geoattract.territory.load.load_territory`: ``code``, ``population``,
        ``town_hall`` (Points, EPSG:2154), polygon geometry and optionally ``in_study``.
    minutes : sequence of float
        Thresholds in minutes.
    population : pandas.Series, optional
        Population per commune aligned on ``territory``'s index (default
        ``territory["population"]``).
    rg : RoutingGraph, optional
        Precomputed routing structure of ``G``.
    only_study : bool
        Compute isochrones only for ``in_study`` communes (all communes still count in the
        population reached).
    population_method : {"town_hall", "area"}
        Population of communes whose town hall is inside (default) or area-weighted
        population (see the module documentation).
    buffer_m : float
        Half-width of the band around reached roads, metres.
    n_threads : int, optional
        Threads for routing and geometry.
    verbose : bool
        Show progress bars.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per commune and threshold (communes in territory order, then minutes):
        ``code``, ``minutes``, ``area_km2``, ``population_reached``, ``empty``,
        ``snap_distance_m`` and ``geometry`` (EPSG:2154). ``empty`` is True when the town hall
        is missing or farther than the snapping limit from any road: the polygon is then
        empty and ``area_km2``/``population_reached`` are NaN. ``population_reached`` is NaN
        too when a commune counted in it has no population.

    Raises
    ------
    DataError
        Missing columns, unknown ``population_method``, misaligned ``population``.
    """
    require_columns(territory, ["code", "town_hall", "geometry"], "territory")
    if population_method not in ("town_hall", "area"):
        raise DataError(
            f"population_method must be 'town_hall' or 'area', got {population_method!r}"
        )
    if population is None:
        require_columns(territory, ["population"], "territory")
        pop = territory["population"]
    else:
        pop = population
        if not pop.index.equals(territory.index):
            raise DataError("population must be aligned on the territory index")
    pop_values = pd.to_numeric(pop, errors="coerce").to_numpy(dtype=np.float64)
    if only_study and "in_study" in territory.columns:
        rows = territory.index[territory["in_study"].astype(bool).to_numpy()]
    else:
        rows = territory.index
    sel = territory.loc[rows]
    halls = [
        None if h is None or (isinstance(h, float) and np.isnan(h)) else h for h in sel["town_hall"]
    ]
    iso = isochrones(
        G,
        halls,
        minutes,
        rg=rg,
        buffer_m=buffer_m,
        n_threads=n_threads,
        verbose=verbose,
    )
    mins = _minutes(minutes)
    codes = np.repeat(sel["code"].astype(str).to_numpy(), mins.size)
    geoms = iso.geometry.to_numpy()
    reached = _population_reached(territory, pop_values, geoms, population_method)
    reached[iso["empty"].to_numpy()] = np.nan
    empties = iso["empty"].to_numpy()
    if empties.any():
        logger.info(
            "no isochrone (town hall missing or off the network) for commune(s) %s",
            format_values(pd.unique(codes[empties])),
        )
    frame = pd.DataFrame(
        {
            "code": codes,
            "minutes": iso["minutes"].to_numpy(),
            "area_km2": iso["area_km2"].to_numpy(),
            "population_reached": reached,
            "empty": empties,
            "snap_distance_m": iso["snap_distance_m"].to_numpy(),
            "geometry": geoms,
        }
    )
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=settings.default_crs)


def _population_reached(
    territory: gpd.GeoDataFrame, pop: np.ndarray, polygons: np.ndarray, method: str
) -> np.ndarray:
    """Population inside each polygon, NaN when a counted commune has no population."""
    n = polygons.size
    if method == "town_hall":
        halls = territory["town_hall"].to_numpy()
        has = np.array([h is not None and isinstance(h, shapely.Geometry) for h in halls])
        tree = shapely.STRtree(np.where(has, halls, None))
        poly_i, hall_i = tree.query(polygons, predicate="contains")
        share = np.ones(poly_i.size)
    else:
        communes = territory.geometry.to_numpy()
        tree = shapely.STRtree(communes)
        poly_i, hall_i = tree.query(polygons, predicate="intersects")
        inter = shapely.area(shapely.intersection(polygons[poly_i], communes[hall_i]))
        share = inter / shapely.area(communes[hall_i])
    values = pop[hall_i] * share
    missing = np.isnan(values)
    total = np.bincount(poly_i, weights=np.where(missing, 0.0, values), minlength=n)
    n_missing = np.bincount(poly_i, weights=missing.astype(float), minlength=n)
    total[n_missing > 0] = np.nan
    return total
