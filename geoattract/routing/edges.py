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
from geoattract.network import Network
from geoattract.network.snapping import snappable_nodes
from geoattract.routing.graph import ReachTable, RoutingGraph


@dataclass(frozen=True, eq=False)
class EdgeLines:
    """Geometry of every forward CSR edge of a routing graph, as flat arrays.

    Attributes
    ----------
    twin : numpy.ndarray
        For each edge ``u -> v`` the edge ``v -> u`` (-1 when one-way).
    node_ok : numpy.ndarray
        Per node position: may a point join it (``snappable``, all True when the graph does
        not say)?
    joinable : numpy.ndarray
        Per edge: both its nodes may be joined, so a person may leave the road along it (not a
        motorway or its ramps between two exits).
    ptr : numpy.ndarray
        Vertices of edge ``e`` are ``coords[ptr[e]:ptr[e + 1]]`` (int64).
    coords : numpy.ndarray
        ``(n, 2)`` float64 vertex coordinates of all edges, edge after edge, each from its
        source node to its target.
    along : numpy.ndarray
        Length along its edge from the edge's first vertex to each vertex (metres).
    """

    twin: np.ndarray
    node_ok: np.ndarray
    joinable: np.ndarray
    ptr: np.ndarray
    coords: np.ndarray
    along: np.ndarray

    @cached_property
    def lines(self) -> np.ndarray:
        """One LineString per edge (built on first use)."""
        return self.lines_of(np.arange(self.ptr.size - 1))

    def lines_of(self, ids: np.ndarray) -> np.ndarray:
        """LineStrings of the edges ``ids``, in that order.

        Parameters
        ----------
        ids : numpy.ndarray
            Forward CSR edge ids.

        Returns
        -------
        numpy.ndarray
            Object array of LineStrings.
        """
        ids = np.asarray(ids, dtype=np.int64)
        coords, ptr = subset(self.coords, self.ptr, ids)
        out = np.empty(ids.size, dtype=object)
        out[:] = shapely.linestrings(coords, indices=np.repeat(np.arange(ids.size), np.diff(ptr)))
        return out


@dataclass(frozen=True)
class OriginReach:
    """What one origin reaches within the largest threshold: the input of both drawing methods.

    Attributes
    ----------
    origin : int
        Node position of the origin.
    offset : float
        Seconds already spent at the origin (its access leg).
    nodes : numpy.ndarray
        Positions of the nodes reached within the largest threshold (int64).
    times : numpy.ndarray
        Their times, seconds, offset included (float64).
    limits : numpy.ndarray
        The increasing thresholds, seconds (float64).
    """

    origin: int
    offset: float
    nodes: np.ndarray
    times: np.ndarray
    limits: np.ndarray

    @classmethod
    def of(
        cls, origin: int, offset: float, nodes: np.ndarray, times: np.ndarray, limits: np.ndarray
    ) -> OriginReach:
        """An origin's reach with its arrays in the dtypes the compiled kernels take."""
        return cls(
            int(origin),
            float(offset),
            np.asarray(nodes, dtype=np.int64),
            np.asarray(times, dtype=np.float64),
            np.asarray(limits, dtype=np.float64),
        )


def edge_lines(G: nx.MultiDiGraph | Network | None, rg: RoutingGraph) -> EdgeLines:
    """Edge geometries of ``rg`` (see :class:`EdgeLines`), from ``G`` when given.

    Uses the ``geometry`` attribute of the multigraph edge kept by :func:`routing_graph` (or
    the line of a line network's edge, :func:`~geoattract.routing.graph.network_routing_graph`),
    reversed when stored from the target node to the source, and the straight line between
    the node coordinates when there is none. Only flat arrays are built: no shapely object per
    edge (:attr:`EdgeLines.lines` builds them on first use).

    Parameters
    ----------
    G : networkx.MultiDiGraph, Network or None
        The road graph or network ``rg`` was built from (its edge geometry is used when
        present); None draws every edge as a straight line.
    rg : RoutingGraph
        The routing structure.

    Returns
    -------
    EdgeLines
    """
    _check_coordinates(rg)
    src = rg.edge_sources
    dst = rg.indices.astype(np.int64)
    counts = np.full(src.size, 2, dtype=np.int64)
    has = np.zeros(src.size, dtype=bool)
    stored = None
    node_ok = np.ones(rg.n_nodes, dtype=bool)
    if isinstance(G, Network) and G.lines is not None and rg.edge_keys is not None:
        lines = G.lines
        stored = lines.geometries[lines.feature[rg.edge_keys.astype(np.int64)]]
        node_ok = lines.snappable[rg.node_ids.astype(np.int64)]
    elif G is not None:
        graph = G.graph if isinstance(G, Network) else G
        node_ok = _node_ok(graph, rg)
        if rg.edge_keys is not None:
            stored = _stored_geometries(graph, rg)
    if stored is not None:
        has = np.fromiter((g is not None for g in stored), dtype=bool, count=stored.size)
        has[has] = ~shapely.is_empty(stored[has])
        shape_coords, shape_index = shapely.get_coordinates(stored[has], return_index=True)
        counts[has] = np.bincount(shape_index, minlength=int(has.sum()))
    ptr = np.zeros(src.size + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    coords = np.empty((int(ptr[-1]), 2))
    straight = ptr[:-1][~has]
    coords[straight, 0], coords[straight, 1] = rg.x[src[~has]], rg.y[src[~has]]
    coords[straight + 1, 0], coords[straight + 1, 1] = rg.x[dst[~has]], rg.y[dst[~has]]
    if has.any():
        shaped = np.flatnonzero(has)
        sizes = counts[shaped]
        head = np.cumsum(sizes) - sizes  # first vertex of each stored geometry
        tail = head + sizes - 1
        # orient: the geometry must start at the source node (osmnx does; be safe for others)
        sx, sy = rg.x[src[shaped]], rg.y[src[shaped]]
        to_head = np.hypot(shape_coords[head, 0] - sx, shape_coords[head, 1] - sy)
        to_tail = np.hypot(shape_coords[tail, 0] - sx, shape_coords[tail, 1] - sy)
        within = np.arange(shape_coords.shape[0]) - np.repeat(head, sizes)
        first = np.repeat(ptr[shaped], sizes)
        last = first + np.repeat(sizes, sizes) - 1
        coords[np.where(np.repeat(to_tail < to_head, sizes), last - within, first + within)] = (
            shape_coords
        )
    step = np.zeros(len(coords))
    index = np.repeat(np.arange(src.size), counts)
    same = index[1:] == index[:-1]
    step[1:] = np.where(same, np.hypot(*(coords[1:] - coords[:-1]).T), 0.0)
    along = np.cumsum(step)
    along -= along[ptr[:-1]][index]
    return EdgeLines(
        twin=twin_edges(rg),
        node_ok=node_ok,
        joinable=node_ok[src] & node_ok[dst],
        ptr=ptr,
        coords=coords,
        along=along,
    )


def _node_ok(G: nx.MultiDiGraph | None, rg: RoutingGraph) -> np.ndarray:
    """Per node position of ``rg``: whether a point may join it (``snappable`` flags)."""
    flags = None if G is None else snappable_nodes(G)
    if G is None or flags is None:
        return np.ones(rg.n_nodes, dtype=bool)
    by_id = dict(zip(G.nodes, flags.tolist(), strict=True))
    return np.fromiter((by_id.get(n, True) for n in rg.node_ids.tolist()), bool, rg.n_nodes)


def subset(coords: np.ndarray, ptr: np.ndarray, lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The polylines ``lines`` of flat arrays, in that order.

    Parameters
    ----------
    coords, ptr : numpy.ndarray
        Flat vertices; polyline ``l`` is ``coords[ptr[l]:ptr[l + 1]]``.
    lines : numpy.ndarray
        The polylines wanted.

    Returns
    -------
    coords, ptr : numpy.ndarray
        Their vertices and offsets.
    """
    counts = np.diff(ptr)[lines]
    starts = np.cumsum(counts) - counts
    take = np.repeat(ptr[lines] - starts, counts) + np.arange(int(counts.sum()))
    out_ptr = np.zeros(lines.size + 1, dtype=np.int64)
    np.cumsum(counts, out=out_ptr[1:])
    return coords[take], out_ptr


def _check_coordinates(rg: RoutingGraph) -> None:
    if np.isnan(rg.x).any() or np.isnan(rg.y).any():
        bad = rg.node_ids[np.isnan(rg.x) | np.isnan(rg.y)]
        raise RoutingError(
            f"isochrones need node coordinates 'x', 'y'; missing for node(s) "
            f"{format_values(bad.tolist())}"
        )


def _stored_geometries(G: nx.MultiDiGraph, rg: RoutingGraph) -> np.ndarray:
    """The ``geometry`` attribute of the graph edge behind each forward CSR edge (or None).

    Looked up edge by edge through ``G.adj``: no tuple per edge (a dictionary keyed by
    ``(u, v, key)`` allocates one per edge, and on a large heap the garbage collector's passes
    it triggers cost more than the look-ups).
    """
    ids = rg.node_ids.tolist()
    adj = G.adj
    pairs = zip(rg.edge_sources.tolist(), rg.indices.tolist(), strict=True)
    if G.is_multigraph():
        keys = rg.edge_keys.tolist() if rg.edge_keys is not None else []
        found = [
            adj[ids[a]][ids[b]][k].get("geometry") for (a, b), k in zip(pairs, keys, strict=True)
        ]
    else:
        found = [adj[ids[a]][ids[b]].get("geometry") for a, b in pairs]
    out = np.empty(len(found), dtype=object)
    out[:] = found
    return out


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
