"""Road pieces of a routing graph: edge geometries, exact cuts at a remaining time, twins.

Shared by both isochrone methods. Each forward CSR edge of a :class:`RoutingGraph` gets a
LineString oriented from its source node to its target (the edge ``geometry`` when the graph
has one, the straight line between the nodes otherwise). A reached node ``u`` at time ``t_u``
reaches the first ``(T - t_u) / w`` share of each edge ``u -> v`` of weight ``w`` by time
``T`` (constant speed along an edge), cut by linear interpolation along the geometry.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import networkx as nx
import numpy as np
import shapely

from geoattract.errors import RoutingError, format_values
from geoattract.routing.graph import ReachTable, RoutingGraph


@dataclass(frozen=True, eq=False)
class EdgeLines:
    """Geometry of every forward CSR edge of a routing graph, as flat arrays.

    Attributes
    ----------
    twin : numpy.ndarray
        For each edge ``u -> v`` the edge ``v -> u`` (-1 when one-way).
    ptr : numpy.ndarray
        Vertices of edge ``e`` are ``coords[ptr[e]:ptr[e + 1]]`` (int64).
    coords : numpy.ndarray
        ``(n, 2)`` float64 vertex coordinates of all edges, edge after edge, each from its
        source node to its target.
    along : numpy.ndarray
        Length along its edge from the edge's first vertex to each vertex (metres).
    """

    twin: np.ndarray
    ptr: np.ndarray
    coords: np.ndarray
    along: np.ndarray

    @cached_property
    def lines(self) -> np.ndarray:
        """One LineString per edge (built on first use)."""
        index = np.repeat(np.arange(self.ptr.size - 1), np.diff(self.ptr))
        return np.asarray(shapely.linestrings(self.coords, indices=index), dtype=object)


def edge_lines(G: nx.MultiDiGraph | None, rg: RoutingGraph) -> EdgeLines:
    """Edge geometries of ``rg`` (see :class:`EdgeLines`), from ``G`` when given.

    Parameters
    ----------
    G : networkx.MultiDiGraph or None
        The road graph ``rg`` was built from (its edge ``geometry`` is used when present);
        None draws every edge as a straight line, without building shapely objects.
    rg : RoutingGraph
        The routing structure.

    Returns
    -------
    EdgeLines
    """
    _check_coordinates(rg)
    if G is None or rg.edge_keys is None:
        src = rg.edge_sources
        dst = rg.indices.astype(np.int64)
        coords = np.empty((2 * src.size, 2))
        coords[0::2, 0], coords[0::2, 1] = rg.x[src], rg.y[src]
        coords[1::2, 0], coords[1::2, 1] = rg.x[dst], rg.y[dst]
        ptr = np.arange(0, 2 * src.size + 1, 2, dtype=np.int64)
        along = np.zeros(2 * src.size)
        along[1::2] = np.hypot(coords[1::2, 0] - coords[0::2, 0], coords[1::2, 1] - coords[0::2, 1])
        return EdgeLines(twin=twin_edges(rg), ptr=ptr, coords=coords, along=along)
    lines = edge_geometries(G, rg)
    coords, index = shapely.get_coordinates(lines, return_index=True)
    ptr = np.zeros(lines.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(index, minlength=lines.size), out=ptr[1:])
    step = np.zeros(len(coords))
    same = index[1:] == index[:-1]
    step[1:] = np.where(same, np.hypot(*(coords[1:] - coords[:-1]).T), 0.0)
    along = np.cumsum(step)
    along -= along[ptr[:-1]][index]
    edges = EdgeLines(twin=twin_edges(rg), ptr=ptr, coords=coords, along=along)
    edges.__dict__["lines"] = lines  # already built: keep them for cached_property
    return edges


def _check_coordinates(rg: RoutingGraph) -> None:
    if np.isnan(rg.x).any() or np.isnan(rg.y).any():
        bad = rg.node_ids[np.isnan(rg.x) | np.isnan(rg.y)]
        raise RoutingError(
            f"isochrones need node coordinates 'x', 'y'; missing for node(s) "
            f"{format_values(bad.tolist())}"
        )


def edge_geometries(G: nx.MultiDiGraph, rg: RoutingGraph) -> np.ndarray:
    """One LineString per forward CSR edge of ``rg``, oriented from its source to its target.

    Uses the ``geometry`` attribute of the multigraph edge kept by :func:`routing_graph`, and
    the straight line between the node coordinates when there is none.
    """
    _check_coordinates(rg)
    src = rg.edge_sources
    dst = rg.indices.astype(np.int64)
    coords = np.stack(
        [np.c_[rg.x[src], rg.y[src]], np.c_[rg.x[dst], rg.y[dst]]], axis=1
    )  # (E, 2, 2)
    lines = np.asarray(shapely.linestrings(coords), dtype=object)
    if G is None or rg.edge_keys is None:
        return lines
    ids = rg.node_ids.tolist()
    keys = rg.edge_keys.tolist()
    # one pass over the adjacency (indexing G edge by edge, or its edge views, costs 2-3x more)
    if G.is_multigraph():
        stored = {
            (u, v, k): d.get("geometry")
            for u, nbrs in G.adjacency()
            for v, keyed in nbrs.items()
            for k, d in keyed.items()
        }
        wanted = zip(src.tolist(), dst.tolist(), keys, strict=True)
        found = [stored.get((ids[a], ids[b], k)) for a, b, k in wanted]
    else:
        plain = {(u, v): d.get("geometry") for u, nbrs in G.adjacency() for v, d in nbrs.items()}
        found = [
            plain.get((ids[a], ids[b])) for a, b in zip(src.tolist(), dst.tolist(), strict=True)
        ]
    geoms = np.empty(len(found), dtype=object)
    geoms[:] = found
    has = np.array([g is not None for g in found], dtype=bool)
    has[has] = ~shapely.is_empty(geoms[has])
    lines[has] = geoms[has]
    # Orient: the geometry must start at the source node (osmnx does; be safe for others).
    first = shapely.get_point(lines, 0)
    last = shapely.get_point(lines, -1)
    d_first = np.hypot(shapely.get_x(first) - rg.x[src], shapely.get_y(first) - rg.y[src])
    d_last = np.hypot(shapely.get_x(last) - rg.x[src], shapely.get_y(last) - rg.y[src])
    flip = d_last < d_first
    if flip.any():
        lines[flip] = shapely.reverse(lines[flip])
    return lines


def cut_lines(lines: np.ndarray, fractions: np.ndarray) -> np.ndarray:
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


def lines_for_origin(
    rg: RoutingGraph,
    lines: np.ndarray,
    nodes: np.ndarray,
    times: np.ndarray,
    limit_s: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reached pieces of edges for one origin and one threshold.

    Parameters
    ----------
    rg : RoutingGraph
        The routing structure.
    lines : numpy.ndarray
        Edge LineStrings (:attr:`EdgeLines.lines`).
    nodes, times : numpy.ndarray
        Node positions reached from the origin and their times (seconds, offset included).
    limit_s : float
        The threshold, seconds.

    Returns
    -------
    tuple of numpy.ndarray
        Edge ids, reached fraction of each edge (1 when full) and the reached pieces.
    """
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
    lines = lines[edges].copy()
    partial = ~full
    if partial.any():
        lines[partial] = cut_lines(lines[partial], frac[partial])
    return edges, frac, lines


def twin_edges(rg: RoutingGraph) -> np.ndarray:
    """For each forward CSR edge u -> v, the id of the edge v -> u (-1 when one-way)."""
    n = np.int64(rg.n_nodes)
    src = rg.edge_sources
    dst = rg.indices.astype(np.int64)
    keys = src * n + dst  # sorted: the CSR is ordered by (u, v)
    rev = dst * n + src
    pos = np.minimum(np.searchsorted(keys, rev), max(keys.size - 1, 0))
    found = keys.size > 0 and keys[pos] == rev
    return np.where(found, pos, -1)


def origin_groups(table: ReachTable) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per origin of a :func:`travel_times_within` table, its (node positions, times)."""
    bounds = np.searchsorted(table.origin, np.arange(table.n_origins + 1))
    return [
        (table.target[a:b], table.time[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
