"""Seeded synthetic road networks for tests and benchmarks.

The network is a jittered square grid (planar, mostly degree 3-4 after random removals, some
dead ends) laid out in Lambert-93 metres around Lot-et-Garonne, with a speed hierarchy:

=============  =========  ===========================================================
highway        speed      where
=============  =========  ===========================================================
motorway       130 km/h   diagonals every :data:`DIAGONAL_EVERY` cells
trunk          110 km/h   anti-diagonals every :data:`DIAGONAL_EVERY` cells
primary        90 km/h    grid rows and columns every :data:`PRIMARY_EVERY` cells
secondary      80 km/h    rows and columns every :data:`SECONDARY_EVERY` cells
unclassified   50 km/h    other grid edges
residential    30 km/h    a share :data:`SLOW_LOCAL_FRACTION` of local edges
=============  =========  ===========================================================

A share :data:`REMOVAL_FRACTION` of the local edges is removed and :data:`ONE_WAY_FRACTION`
of the remaining local edges are one-way. Only the largest strongly connected component is
kept, so the node count is slightly below the requested one.

Two entry points share the same generator, so both describe the same network:

- :func:`synthetic_road_graph` builds a :class:`networkx.MultiDiGraph` following the graph
  model (fine up to a few 10^5 nodes; 10^6 nodes take about a minute and several GB, as any
  networkx graph of that size);
- :func:`synthetic_road_arrays` returns the :class:`~geoattract.routing.graph.RoutingGraph` directly,
  built with numpy only (10^6 nodes in about a second), for benchmarks.

Node ``i`` of the graph is position ``i`` of the routing structure.
"""

from __future__ import annotations

import logging
from typing import Any

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from geoattract import settings
from geoattract.errors import DataError
from geoattract.routing.graph import RoutingGraph, routing_graph_from_arrays

logger = logging.getLogger(__name__)

#: Grid spacing in metres: about the distance between junctions of a rural French road network.
SPACING_M = 150.0

#: Each node moves by up to this fraction of the spacing in x and y (uniform jitter).
JITTER_FRACTION = 0.3

#: Centre of the grid, Lambert-93 metres (around Lot-et-Garonne).
CENTER_X_M = 500_000.0
CENTER_Y_M = 6_350_000.0

#: Share of local (non-arterial) grid edges removed, which leaves mostly degree 3-4 nodes and
#: some dead ends.
REMOVAL_FRACTION = 0.2

#: Share of the remaining local edges that are one-way (random direction).
ONE_WAY_FRACTION = 0.05

#: Share of local edges that are slow residential streets (30 km/h) instead of 50 km/h.
SLOW_LOCAL_FRACTION = 0.3

#: Every how many grid rows/columns a secondary road (80 km/h) runs.
SECONDARY_EVERY = 16

#: Every how many grid rows/columns a primary road (90 km/h) runs.
PRIMARY_EVERY = 64

#: Every how many cells a diagonal motorway (130 km/h) / anti-diagonal trunk (110 km/h) runs.
DIAGONAL_EVERY = 400

#: Speed (km/h) per highway class; the codes index :data:`HIGHWAY_CLASSES`.
HIGHWAY_CLASSES = ("residential", "unclassified", "secondary", "primary", "trunk", "motorway")
HIGHWAY_SPEEDS_KPH = (30.0, 50.0, 80.0, 90.0, 110.0, 130.0)

#: Smallest accepted ``n_nodes`` (a 2 x 2 grid).
MIN_NODES = 4


def _generate(n_nodes: int, seed: int) -> dict[str, Any]:
    """Node coordinates and directed edges (node positions, length, highway code)."""
    if int(n_nodes) < MIN_NODES:
        raise DataError(f"n_nodes must be >= {MIN_NODES}, got {n_nodes!r}")
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_nodes)))
    ii, jj = np.divmod(np.arange(side * side, dtype=np.int64), side)  # row i, column j
    half = (side - 1) * SPACING_M / 2
    jitter = rng.uniform(-JITTER_FRACTION, JITTER_FRACTION, size=(2, side * side)) * SPACING_M
    x = CENTER_X_M - half + jj * SPACING_M + jitter[0]
    y = CENTER_Y_M - half + ii * SPACING_M + jitter[1]

    mid = side // 2

    def line_class(k: np.ndarray) -> np.ndarray:
        code = np.ones(k.shape, dtype=np.int8)  # unclassified
        code[(k - mid) % SECONDARY_EVERY == 0] = 2
        code[(k - mid) % PRIMARY_EVERY == 0] = 3
        return code

    node = np.arange(side * side, dtype=np.int64).reshape(side, side)
    # Horizontal edges run along row i, vertical ones along column j.
    h_a, h_b = node[:, :-1].ravel(), node[:, 1:].ravel()
    v_a, v_b = node[:-1, :].ravel(), node[1:, :].ravel()
    h_code = line_class(ii[h_a])
    v_code = line_class(jj[v_a])
    # Diagonal motorways (i, i + c) -> (i + 1, i + 1 + c) and anti-diagonal trunks.
    d_a, d_b, d_code = [], [], []
    cells_i, cells_j = ii[node[:-1, :-1].ravel()], jj[node[:-1, :-1].ravel()]
    diag = (cells_j - cells_i) % DIAGONAL_EVERY == 0
    d_a.append(node[cells_i[diag], cells_j[diag]])
    d_b.append(node[cells_i[diag] + 1, cells_j[diag] + 1])
    d_code.append(np.full(diag.sum(), 5, dtype=np.int8))
    anti = ((cells_i + cells_j + 1 - (side - 1)) % DIAGONAL_EVERY == 0) & ~diag
    d_a.append(node[cells_i[anti], cells_j[anti] + 1])
    d_b.append(node[cells_i[anti] + 1, cells_j[anti]])
    d_code.append(np.full(anti.sum(), 4, dtype=np.int8))

    a = np.concatenate([h_a, v_a, *d_a])
    b = np.concatenate([h_b, v_b, *d_b])
    code = np.concatenate([h_code, v_code, *d_code])
    local = code == 1
    keep = ~local | (rng.random(a.size) >= REMOVAL_FRACTION)
    a, b, code, local = a[keep], b[keep], code[keep], local[keep]
    slow = local & (rng.random(a.size) < SLOW_LOCAL_FRACTION)
    code[slow] = 0
    local_mask = code <= 1
    one_way = local_mask & (rng.random(a.size) < ONE_WAY_FRACTION)
    flip = rng.random(a.size) < 0.5
    # Directed edges: every edge a -> b (or b -> a when a one-way edge is flipped), and the
    # reverse direction for two-way edges.
    fa = np.where(one_way & flip, b, a)
    fb = np.where(one_way & flip, a, b)
    two = ~one_way
    u = np.concatenate([fa, b[two]])
    v = np.concatenate([fb, a[two]])
    hc = np.concatenate([code, code[two]])

    # Keep the largest strongly connected component.
    n_all = side * side
    adj = csr_matrix((np.ones(u.size, dtype=np.int8), (u, v)), shape=(n_all, n_all))
    _, labels = connected_components(adj, directed=True, connection="strong")
    counts = np.bincount(labels)
    main = labels == np.argmax(counts)
    new_index = np.full(n_all, -1, dtype=np.int64)
    new_index[main] = np.arange(int(main.sum()))
    ek = main[u] & main[v]
    u, v, hc = new_index[u[ek]], new_index[v[ek]], hc[ek]
    x, y = x[main], y[main]
    length = np.hypot(x[u] - x[v], y[u] - y[v])
    speed = np.asarray(HIGHWAY_SPEEDS_KPH)[hc]
    logger.debug(
        "synthetic graph: %d of %d grid nodes kept (largest SCC), %d directed edges",
        x.size,
        n_all,
        u.size,
    )
    return {
        "x": x,
        "y": y,
        "u": u,
        "v": v,
        "length": length,
        "highway": hc,
        "speed_kph": speed,
        "travel_time": length / (speed / 3.6),
    }


def synthetic_road_arrays(n_nodes: int, seed: int | None = None) -> RoutingGraph:
    """Build the routing structure of a synthetic road network without networkx.

    Parameters
    ----------
    n_nodes : int
        Approximate number of nodes (a ``ceil(sqrt(n))`` square grid, reduced to its largest
        strongly connected component).
    seed : int
        Random seed; the same seed gives the same network.

    Returns
    -------
    RoutingGraph
        Weights are travel times in seconds; node ``i`` is identifier ``i``, the same node as in
        :func:`synthetic_road_graph` with the same arguments.
    """
    data = _generate(n_nodes, settings.random_seed if seed is None else seed)
    return routing_graph_from_arrays(
        data["u"], data["v"], data["travel_time"], x=data["x"], y=data["y"]
    )


def synthetic_road_graph(n_nodes: int, seed: int | None = None) -> nx.MultiDiGraph:
    """Build a seeded, deterministic synthetic road graph following the graph model.

    Parameters
    ----------
    n_nodes : int
        Approximate number of nodes (see :func:`synthetic_road_arrays`).
    seed : int
        Random seed; the same seed gives the same graph.

    Returns
    -------
    networkx.MultiDiGraph
        Nodes ``0..n-1`` with ``x``, ``y`` (EPSG:2154 metres); edges with ``length`` (m),
        ``highway``, ``speed_kph``, ``travel_time`` (s), ``oneway``; graph attributes ``crs``,
        ``source`` ("synthetic"), ``source_date``, ``params`` and ``schematic`` (True: not a
        real network).

    Raises
    ------
    DataError
        If ``n_nodes`` is below :data:`MIN_NODES`.
    """
    seed = settings.random_seed if seed is None else seed
    data = _generate(n_nodes, seed)
    G = nx.MultiDiGraph(
        crs=settings.default_crs,
        source="synthetic",
        source_date="n/a",
        params={"n_nodes": int(n_nodes), "seed": int(seed), "generator": __name__},
        schematic=True,
    )
    xs, ys = data["x"].tolist(), data["y"].tolist()
    G.add_nodes_from((i, {"x": xs[i], "y": ys[i]}) for i in range(len(xs)))
    u, v = data["u"], data["v"]
    # An edge is one-way when its reverse does not exist.
    n = len(xs)
    fwd = u * n + v
    rev = v * n + u
    oneway = ~np.isin(fwd, rev)
    names = np.asarray(HIGHWAY_CLASSES, dtype=object)[data["highway"]]
    G.add_edges_from(
        (
            a,
            b,
            {
                "length": ln,
                "highway": hw,
                "speed_kph": sp,
                "travel_time": tt,
                "oneway": ow,
            },
        )
        for a, b, ln, hw, sp, tt, ow in zip(
            u.tolist(),
            v.tolist(),
            data["length"].tolist(),
            names.tolist(),
            data["speed_kph"].tolist(),
            data["travel_time"].tolist(),
            oneway.tolist(),
            strict=True,
        )
    )
    return G
