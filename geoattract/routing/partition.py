"""Graph partitions that give exact answers: balls of a road graph around groups of origins.

A partition is a *core* (the origins whose answers it gives, e.g. the communes of one
département) and a *ball*: every node within a travel-time radius ``R`` of a core origin,
measured on the **symmetrised** graph (each edge usable both ways, at its time). Write ``d``
for directed times and ``d_u`` for symmetrised ones: ``d_u(a, b) <= min(d(a→b), d(b→a))`` and
``d_u`` obeys the triangle inequality.

* A count within ``T`` minutes, or a nearest facility at ``T``: every node ``n`` of the fastest
  path from origin ``i`` has ``d_u(i, n) <= d(i→n) <= T``. With ``R >= T`` the path is inside
  the ball, so a Dijkstra on the ball finds it (same edges, same additions: the same value).
* A floating catchment of ``C``: the answer at ``i`` needs every facility ``j`` with
  ``d(i→j) <= C`` and, for each, every demand ``k`` with ``d(k→j) <= C``, and the paths between
  them; a node ``n`` on such a path has ``d_u(i, n) <= 2C``: a ball of ``R >= 2C`` holds it.
* A nearest facility beyond ``R`` is not proven exact: the caller widens the ball of the
  origins whose answer exceeds ``R`` and asks again, until it is inside or the ball is
  *closed* (no edge leaves it: then every answer, or "unreachable", is exact).

This module cuts the graph; :mod:`geoattract.accessibility.partitioned` runs the study's own
accessibility functions on each ball. See ``docs/national.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from geoattract.routing.graph import RoutingGraph, routing_graph_from_arrays
from geoattract.routing.queries import nearest_facility_times


@dataclass(frozen=True, eq=False)
class Ball:
    """A ball of a road graph: its nodes, the sub-graph on them, whether it is closed.

    Attributes
    ----------
    nodes : numpy.ndarray
        Node identifiers in the ball.
    core_s : numpy.ndarray
        Symmetrised seconds from the nearest core origin to each of ``nodes``.
    rg : RoutingGraph
        The edges with both ends in the ball (node identifiers kept).
    closed : bool
        No edge of the whole graph leaves the ball: answers beyond the radius are exact too.
    radius_s : float
        The radius (s).
    """

    nodes: np.ndarray
    core_s: np.ndarray
    rg: RoutingGraph
    closed: bool
    radius_s: float


def symmetrised(rg: RoutingGraph) -> RoutingGraph:
    """The graph with every edge usable both ways at its time (node identifiers kept)."""
    u, v, w = rg.edge_sources, rg.indices.astype(np.int64), rg.weights
    return routing_graph_from_arrays(
        np.concatenate([u, v]),
        np.concatenate([v, u]),
        np.concatenate([w, w]),
        n_nodes=rg.n_nodes,
        x=rg.x,
        y=rg.y,
        node_ids=rg.node_ids,
        spatial_order=False,
    )


def ball_times(sym: RoutingGraph, origins: np.ndarray, radius_s: float) -> np.ndarray:
    """Symmetrised seconds from the nearest of ``origins`` (node ids) to every node position.

    ``inf`` beyond ``radius_s``.
    """
    times = nearest_facility_times(sym, np.unique(origins), cutoff=radius_s)
    assert isinstance(times, np.ndarray)
    return times


def cut_ball(rg: RoutingGraph, sym: RoutingGraph, origins: np.ndarray, radius_s: float) -> Ball:
    """The ball of radius ``radius_s`` around ``origins`` (node ids), with its sub-graph.

    Parameters
    ----------
    rg : RoutingGraph
        The directed graph.
    sym : RoutingGraph
        Its :func:`symmetrised` graph (same node positions).
    origins : numpy.ndarray
        Node identifiers of the core origins.
    radius_s : float
        Radius (s); ``inf`` gives the component(s) of the origins.

    Returns
    -------
    Ball
    """
    times = ball_times(sym, origins, radius_s)
    inside = np.isfinite(times)
    u, v = rg.edge_sources, rg.indices.astype(np.int64)
    keep_u, keep_v = inside[u], inside[v]
    edges = keep_u & keep_v
    closed = not bool(np.any(keep_u != keep_v))
    pos = np.flatnonzero(inside)
    local = np.full(rg.n_nodes, -1, dtype=np.int64)
    local[pos] = np.arange(pos.size)
    sub = routing_graph_from_arrays(
        local[u[edges]],
        local[v[edges]],
        rg.weights[edges],
        n_nodes=pos.size,
        x=rg.x[pos],
        y=rg.y[pos],
        node_ids=rg.node_ids[pos],
    )
    return Ball(rg.node_ids[pos], times[pos], sub, closed, float(radius_s))


def group_balls(balls: Sequence[np.ndarray], n_nodes: int) -> list[list[int]]:
    """Group partitions whose balls overlap, none larger than the largest ball.

    Greedy: merge the two groups that share the most nodes, as long as their union has no
    more nodes than the largest single ball (so the memory a worker needs does not grow),
    until no two groups overlap within that bound. The union of two balls is the ball of the
    union of their cores: the merged partition is exact as its members were.

    Parameters
    ----------
    balls : sequence of numpy.ndarray
        Node positions (unique) of each partition's ball.
    n_nodes : int
        Upper bound of the node positions.

    Returns
    -------
    list of list of int
        Positions in ``balls`` of each group's members, groups in order of their first member.
    """
    n = len(balls)
    cap = max(b.size for b in balls)
    rows = np.concatenate(balls)
    cols = np.repeat(np.arange(n), [b.size for b in balls])
    member = csr_matrix((np.ones(rows.size, dtype=np.int64), (rows, cols)), shape=(n_nodes, n))
    shared = np.asarray((member.T @ member).todense(), dtype=np.int64)
    size = np.diag(shared).copy()
    np.fill_diagonal(shared, 0)
    sets = dict(enumerate(balls))
    groups = {i: [i] for i in range(n)}
    mark = np.zeros(n_nodes, dtype=bool)
    while True:
        fits = (size[:, None] + size[None, :] - shared <= cap) & (shared > 0)
        if not fits.any():
            break
        first, second = np.unravel_index(int(np.argmax(np.where(fits, shared, -1))), shared.shape)
        a, b = sorted((int(first), int(second)))
        near = np.flatnonzero((shared[a] > 0) | (shared[b] > 0))
        sets[a] = np.union1d(sets[a], sets.pop(b))
        groups[a] += groups.pop(b)
        size[a], size[b] = sets[a].size, 0
        shared[b, :] = shared[:, b] = 0
        mark[sets[a]] = True
        for c in near[(near != a) & (near != b)]:
            shared[a, c] = shared[c, a] = int(mark[sets[int(c)]].sum())
        mark[sets[a]] = False
    return [sorted(groups[k]) for k in sorted(groups)]


def warm_up_kernels() -> None:
    """Run the queries a partition runs on a 16-node graph: loads (or compiles) their kernels.

    A fresh worker calls it while the driver cuts the partitions, so that the first partition
    does not pay for it.
    """
    from geoattract.routing.queries import facility_access, reach

    side = np.arange(16, dtype=np.int64)
    rg = routing_graph_from_arrays(
        np.concatenate([side[:-1], side[1:]]),
        np.concatenate([side[1:], side[:-1]]),
        np.full(30, 60.0),
        x=side * 100.0,
        y=side * 0.0,
    )
    nodes = side[:2]
    facility_access(rg, nodes, {"warm": (nodes, np.ones(2), np.zeros(2))}, [600.0], n_threads=1)
    reach(rg, nodes, side, 600.0, reverse=True, n_threads=1)
    nearest_facility_times(symmetrised(rg), nodes, cutoff=600.0)
