"""Shortest travel times on a road graph: a compact CSR structure and bounded Dijkstra kernels.

The road graph (a :class:`networkx.MultiDiGraph` following the package's graph model) is turned
once into a :class:`RoutingGraph`: integer node positions, a forward and a reverse CSR adjacency
with float64 travel times in seconds, and the node coordinates. Every query then runs compiled
Dijkstra kernels (numba, binary heap with lazy deletion) over those arrays:

- :func:`nearest_facility_times`: time from every node (or from given origins) to the nearest
  facility, in ONE multi-source Dijkstra on the reversed graph;
- :func:`reach`: the generic bounded search. For each origin, the (target, time) pairs reached
  within a cutoff, in long format: memory grows with what is reached, never with
  ``n_origins x n_nodes``. Origins are split in chunks searched in parallel threads (the kernels
  release the GIL);
- :func:`travel_times_within`, :func:`travel_times_to`, :func:`count_within`,
  :func:`count_within_multi` and :func:`nearest_facility_times_multi` are thin aggregations of
  those two kernels.

Times are sums of edge weights in the order Dijkstra relaxes them, exactly as networkx adds
them, so results equal :func:`networkx.single_source_dijkstra_path_length` to rounding.
Unreachable pairs are ``np.inf`` (or absent from a long table), never 0.

See ``docs/routing.md`` for the choice of engine and measured figures.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Hashable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
from numba import njit

from geoattract.errors import RoutingError, format_values

logger = logging.getLogger(__name__)

__all__ = [
    "ReachTable",
    "RoutingGraph",
    "count_within",
    "count_within_multi",
    "facility_access",
    "FacilityAccess",
    "nearest_facility_times",
    "nearest_facility_times_multi",
    "reach",
    "routing_graph",
    "routing_graph_from_arrays",
    "travel_times_to",
    "travel_times_within",
]

#: Default edge attribute used as the Dijkstra weight (seconds).
DEFAULT_WEIGHT = "travel_time"

#: Origins are cut into ``n_threads * CHUNKS_PER_THREAD`` chunks so that threads that draw
#: short searches (origins in sparse areas) pick up more chunks: simple load balancing.
CHUNKS_PER_THREAD = 4

#: Initial capacity of the growable output buffers of the bounded kernel (they double when
#: full).
INITIAL_HEAP_CAPACITY = 1024

#: Bits per axis of the Z-order (Morton) key that sorts nodes spatially when a routing graph is
#: built: neighbours in space become neighbours in memory, which makes Dijkstra 1.5-3.5x faster
#: than the OSM id order (cache misses dominate on big graphs).
SPATIAL_ORDER_BITS = 16

#: Node positions are stored as int32 in the kernels (half the memory traffic of int64).
MAX_NODES = 2**31 - 1

#: Environment variable that caps the worker threads of :func:`reach` (default: all cores).
THREADS_ENV_VAR = "GEOATTRACT_ROUTING_THREADS"


# --------------------------------------------------------------------------------------------
# Data structures
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RoutingGraph:
    """Compact, read-only routing structure built from a road graph.

    Nodes are addressed by their *position* ``0..n_nodes-1`` in :attr:`node_ids`. Edge weights
    are float64 seconds (or whatever weight was chosen); parallel edges were reduced to the
    smallest weight and self-loops dropped (they never shorten a path).

    Attributes
    ----------
    node_ids : numpy.ndarray
        Original node identifiers, by position.
    x, y : numpy.ndarray
        Node coordinates (EPSG:2154 metres in the graph model), NaN when the graph had none.
    indptr, indices, weights : numpy.ndarray
        Forward CSR adjacency: edges leaving node ``i`` are ``indices[indptr[i]:indptr[i+1]]``.
    rindptr, rindices, rweights : numpy.ndarray
        Reverse CSR adjacency (edges entering each node), for searches towards a node.
    edge_keys : numpy.ndarray or None
        Key of the multigraph edge kept for each forward CSR edge (None for array input).
    weight : str
        Name of the edge attribute the weights were read from.
    """

    node_ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    rindptr: np.ndarray
    rindices: np.ndarray
    rweights: np.ndarray
    edge_keys: np.ndarray | None = None
    weight: str = DEFAULT_WEIGHT

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.indptr.size - 1)

    @property
    def n_edges(self) -> int:
        """Number of directed edges after parallel edges were merged."""
        return int(self.indices.size)

    @cached_property
    def _identity_ids(self) -> bool:
        ids = self.node_ids
        return bool(
            ids.dtype.kind in "iu" and (ids.size == 0 or np.array_equal(ids, np.arange(ids.size)))
        )

    @cached_property
    def _id_sorter(self) -> np.ndarray:
        return np.argsort(self.node_ids, kind="stable")

    @cached_property
    def index(self) -> dict[Hashable, int]:
        """Mapping from node identifier to node position (built on first use)."""
        return {node: i for i, node in enumerate(self.node_ids.tolist())}

    @cached_property
    def edge_sources(self) -> np.ndarray:
        """Source node position of every forward CSR edge."""
        return np.repeat(np.arange(self.n_nodes, dtype=np.int64), np.diff(self.indptr))

    def positions(self, nodes: Iterable[Hashable], what: str = "nodes") -> np.ndarray:
        """Node positions of node identifiers.

        Parameters
        ----------
        nodes : iterable
            Node identifiers as in the source graph.
        what : str
            Name of the argument, for the error message.

        Returns
        -------
        numpy.ndarray
            int64 positions, in the order given.

        Raises
        ------
        RoutingError
            If an identifier is not a node of the graph; the message lists them.
        """
        items = nodes.tolist() if isinstance(nodes, np.ndarray) else list(nodes)
        if self._identity_ids:
            arr = np.asarray(items)
            if arr.size == 0:
                return np.zeros(0, dtype=np.int64)
            if arr.dtype.kind in "iu":
                bad = (arr < 0) | (arr >= self.n_nodes)
                if not bad.any():
                    return arr.astype(np.int64)
                raise RoutingError(
                    f"{what}: {int(bad.sum())} node(s) are not in the routing graph: "
                    f"{format_values(arr[bad].tolist())}"
                )
        if self.node_ids.dtype.kind in "iu":
            arr = np.asarray(items)
            if arr.size == 0:
                return np.zeros(0, dtype=np.int64)
            if arr.dtype.kind in "iu":
                sorter = self._id_sorter
                sorted_ids = self.node_ids[sorter]
                at = np.minimum(np.searchsorted(sorted_ids, arr), sorted_ids.size - 1)
                found = sorted_ids[at] == arr
                if found.all():
                    return sorter[at].astype(np.int64)
                raise RoutingError(
                    f"{what}: {int((~found).sum())} node(s) are not in the routing graph: "
                    f"{format_values(arr[~found].tolist())}"
                )
        index = self.index
        out = np.empty(len(items), dtype=np.int64)
        missing = []
        for i, node in enumerate(items):
            pos = index.get(node)
            if pos is None:
                missing.append(node)
                pos = -1
            out[i] = pos
        if missing:
            raise RoutingError(
                f"{what}: {len(missing)} node(s) are not in the routing graph: "
                f"{format_values(missing)}"
            )
        return out


@dataclass(frozen=True, eq=False)
class ReachTable:
    """Long table of (origin, target, time) pairs found within a cutoff.

    Attributes
    ----------
    origin : numpy.ndarray
        Position of the origin in the ``origins`` argument of the query (int64).
    target : numpy.ndarray
        Position of the target: node position for :func:`travel_times_within`, position in the
        ``targets`` argument for :func:`reach` (int64).
    time : numpy.ndarray
        Travel time in seconds, offsets included (float64).
    n_origins, n_targets : int
        Sizes of the query, for dense or sparse views.
    cutoff : float
        The cutoff used (pairs above it are absent).
    """

    origin: np.ndarray
    target: np.ndarray
    time: np.ndarray
    n_origins: int
    n_targets: int
    cutoff: float

    def __len__(self) -> int:
        return int(self.time.size)

    def to_frame(
        self,
        origin_labels: Sequence[Hashable] | np.ndarray | None = None,
        target_labels: Sequence[Hashable] | np.ndarray | None = None,
    ) -> pd.DataFrame:
        """Return the pairs as a long DataFrame with columns ``origin``, ``target``, ``time``.

        Parameters
        ----------
        origin_labels, target_labels : sequence, optional
            Labels to show instead of positions, e.g. the ``origins`` given to the query and
            ``rg.node_ids`` (for :func:`travel_times_within`) or the ``targets``.

        Returns
        -------
        pandas.DataFrame
            One row per reached pair; unreached pairs are absent.
        """
        origin = self.origin if origin_labels is None else np.asarray(origin_labels)[self.origin]
        target = self.target if target_labels is None else np.asarray(target_labels)[self.target]
        return pd.DataFrame({"origin": origin, "target": target, "time": self.time})

    def to_sparse(self) -> sp.csr_matrix:
        """Return a ``(n_origins, n_targets)`` CSR matrix of times.

        A time of 0 (target on the origin, no offset) is stored as an *explicit* zero: test
        reachability with the sparsity pattern, not with ``!= 0``. Do not call
        ``eliminate_zeros`` on the result.
        """
        return sp.csr_matrix(
            (self.time, (self.origin, self.target)), shape=(self.n_origins, self.n_targets)
        )

    def to_dense(self, fill: float = np.inf) -> np.ndarray:
        """Return a dense ``(n_origins, n_targets)`` array, ``fill`` where nothing was reached.

        Only for small target sets (destinations, facilities), never for all nodes of a big graph.
        """
        out = np.full((self.n_origins, self.n_targets), fill, dtype=np.float64)
        # A target listed twice keeps the smallest time.
        order = np.argsort(-self.time, kind="stable")
        out[self.origin[order], self.target[order]] = self.time[order]
        return out


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------


def _csr(src: np.ndarray, dst: np.ndarray, w: np.ndarray, n: int):
    """CSR arrays of edges sorted by source then destination (input must be deduplicated)."""
    order = np.lexsort((dst, src))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return indptr, dst[order].astype(np.int32), w[order].astype(np.float64), order


def _spread_bits(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.uint64)
    for shift, mask in (
        (16, 0x0000FFFF0000FFFF),
        (8, 0x00FF00FF00FF00FF),
        (4, 0x0F0F0F0F0F0F0F0F),
        (2, 0x3333333333333333),
        (1, 0x5555555555555555),
    ):
        v = (v | (v << np.uint64(shift))) & np.uint64(mask)
    return v


def _spatial_order(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Permutation sorting the nodes along a Z-order curve of their coordinates."""
    scale = 2**SPATIAL_ORDER_BITS - 1

    def quantise(a: np.ndarray) -> np.ndarray:
        span = float(np.ptp(a)) if a.size else 0.0
        if span == 0.0:
            return np.zeros(a.size, dtype=np.uint64)
        return ((a - a.min()) / span * scale).astype(np.uint64)

    key = _spread_bits(quantise(x)) | (_spread_bits(quantise(y)) << np.uint64(1))
    return np.argsort(key, kind="stable")


def routing_graph_from_arrays(
    u: np.ndarray,
    v: np.ndarray,
    weights: np.ndarray,
    *,
    n_nodes: int | None = None,
    x: np.ndarray | None = None,
    y: np.ndarray | None = None,
    node_ids: np.ndarray | None = None,
    edge_keys: np.ndarray | None = None,
    weight: str = DEFAULT_WEIGHT,
    spatial_order: bool = True,
) -> RoutingGraph:
    """Build a :class:`RoutingGraph` from edge arrays of node positions.

    Parameters
    ----------
    u, v : numpy.ndarray
        Source and destination node positions of each directed edge (integers in
        ``0..n_nodes-1``).
    weights : numpy.ndarray
        Edge weights (seconds); finite and non-negative.
    n_nodes : int, optional
        Number of nodes; default ``len(x)`` or ``max(u, v) + 1``.
    x, y : numpy.ndarray, optional
        Node coordinates; NaN when omitted.
    node_ids : numpy.ndarray, optional
        Node identifiers by position; default ``0..n_nodes-1``.
    edge_keys : numpy.ndarray, optional
        A label per input edge (the multigraph key), kept for the edge retained in each
        parallel group.
    weight : str
        Name of the weight, recorded on the result.
    spatial_order : bool
        Renumber the nodes along a Z-order curve of their coordinates (when every node has
        finite coordinates), for cache locality. Node *identifiers* are unchanged: always go
        through :meth:`RoutingGraph.positions` and :attr:`RoutingGraph.node_ids`.

    Returns
    -------
    RoutingGraph
        Parallel edges keep the smallest weight; self-loops are dropped. O(E log E) numpy.

    Raises
    ------
    RoutingError
        If a weight is negative or not finite, or a node position is out of range.
    """
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    w = np.asarray(weights, dtype=np.float64)
    if not (u.shape == v.shape == w.shape) or u.ndim != 1:
        raise RoutingError(
            f"u, v and weights must be 1-D arrays of the same length, got shapes "
            f"{u.shape}, {v.shape}, {w.shape}"
        )
    if n_nodes is None:
        if x is not None:
            n_nodes = len(x)
        else:
            n_nodes = int(max(u.max(initial=-1), v.max(initial=-1)) + 1)
    if n_nodes >= MAX_NODES:
        raise RoutingError(f"at most {MAX_NODES - 1} nodes are supported, got {n_nodes}")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        pairs = list(zip(u[bad].tolist(), v[bad].tolist(), w[bad].tolist(), strict=True))
        raise RoutingError(
            f"edge weight {weight!r} must be finite and >= 0; {int(bad.sum())} edge(s) "
            f"(u, v, value) are not: {format_values(pairs)}"
        )
    out_of_range = (u < 0) | (u >= n_nodes) | (v < 0) | (v >= n_nodes)
    if out_of_range.any():
        raise RoutingError(
            f"edge end points must be node positions in 0..{n_nodes - 1}; got "
            f"{format_values(np.unique(np.concatenate([u, v])[np.tile(out_of_range, 2)]))}"
        )
    ids = np.arange(n_nodes, dtype=np.int64) if node_ids is None else np.asarray(node_ids)
    if ids.shape != (n_nodes,):
        raise RoutingError(
            f"node_ids must have one identifier per node ({n_nodes}), got {ids.shape}"
        )
    xs = np.full(n_nodes, np.nan) if x is None else np.asarray(x, dtype=np.float64)
    ys = np.full(n_nodes, np.nan) if y is None else np.asarray(y, dtype=np.float64)
    if spatial_order and n_nodes > 1 and np.isfinite(xs).all() and np.isfinite(ys).all():
        order = _spatial_order(xs, ys)
        inverse = np.empty(n_nodes, dtype=np.int64)
        inverse[order] = np.arange(n_nodes)
        u, v = inverse[u], inverse[v]
        xs, ys, ids = xs[order], ys[order], ids[order]
    keep = u != v
    u, v, w = u[keep], v[keep], w[keep]
    keys = None if edge_keys is None else np.asarray(edge_keys, dtype=object)[keep]
    # Parallel edges: sort by (u, v, w) and keep the first of each (u, v) group.
    order = np.lexsort((w, v, u))
    u, v, w = u[order], v[order], w[order]
    first = np.ones(u.size, dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    u, v, w = u[first], v[first], w[first]
    if keys is not None:
        keys = keys[order][first]
    indptr, indices, fw, forder = _csr(u, v, w, n_nodes)
    if keys is not None:
        keys = keys[forder]
    rindptr, rindices, rw, _ = _csr(v, u, w, n_nodes)
    return RoutingGraph(
        node_ids=ids,
        x=xs,
        y=ys,
        indptr=indptr,
        indices=indices,
        weights=fw,
        rindptr=rindptr,
        rindices=rindices,
        rweights=rw,
        edge_keys=keys,
        weight=weight,
    )


def routing_graph(
    G: nx.MultiDiGraph, weight: str = DEFAULT_WEIGHT, *, spatial_order: bool = True
) -> RoutingGraph:
    """Build the routing structure of a road graph.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Road graph following the package's graph model (node ``x``/``y``, edge ``travel_time``).
        A :class:`networkx.DiGraph` is accepted too.
    weight : str
        Edge attribute used as the weight, in seconds for ``travel_time``.
    spatial_order : bool
        Number node positions along a Z-order curve of ``x``, ``y`` (cache locality); see
        :func:`routing_graph_from_arrays`.

    Returns
    -------
    RoutingGraph
        Parallel edges keep the smallest weight (the key of that edge is kept in
        :attr:`RoutingGraph.edge_keys`).

    Raises
    ------
    RoutingError
        If the graph is not directed, or an edge lacks the weight or has a negative, NaN or
        non-numeric value; the message names the edges ``(u, v, key)``.
    """
    if not isinstance(G, nx.Graph) or not G.is_directed():
        raise RoutingError(
            f"routing_graph expects a directed networkx graph (MultiDiGraph), got {type(G).__name__}"
        )
    nodes = list(G.nodes)
    index = {node: i for i, node in enumerate(nodes)}
    n = len(nodes)
    if G.is_multigraph():
        records = [(a, b, k, d) for a, b, k, d in G.edges(keys=True, data=weight)]
    else:
        records = [(a, b, None, d) for a, b, d in G.edges(data=weight)]
    m = len(records)
    u = np.fromiter((index[r[0]] for r in records), dtype=np.int64, count=m)
    v = np.fromiter((index[r[1]] for r in records), dtype=np.int64, count=m)
    w = np.empty(m, dtype=np.float64)
    bad: list[tuple[Any, ...]] = []
    for i, rec in enumerate(records):
        value = rec[3]
        try:
            w[i] = float(value)
        except (TypeError, ValueError):
            w[i] = np.nan
        if not (w[i] >= 0 and np.isfinite(w[i])):
            bad.append((rec[0], rec[1], rec[2], value))
    if bad:
        raise RoutingError(
            f"edge attribute {weight!r} must be present, numeric, finite and >= 0; "
            f"{len(bad)} edge(s) (u, v, key, value) are not: {format_values(bad)}"
        )
    xs = np.array([G.nodes[node].get("x", np.nan) for node in nodes], dtype=np.float64)
    ys = np.array([G.nodes[node].get("y", np.nan) for node in nodes], dtype=np.float64)
    keys = np.empty(m, dtype=object)
    keys[:] = [r[2] for r in records]
    node_ids = np.empty(n, dtype=object)
    node_ids[:] = nodes
    try:  # integer OSM ids: keep a numeric array (fast lookups, compact)
        as_int = np.asarray(nodes, dtype=np.int64) if n else np.zeros(0, dtype=np.int64)
        if as_int.tolist() == nodes:
            node_ids = as_int
    except (TypeError, ValueError, OverflowError):
        pass
    rg = routing_graph_from_arrays(
        u,
        v,
        w,
        n_nodes=n,
        x=xs,
        y=ys,
        node_ids=node_ids,
        edge_keys=keys,
        weight=weight,
        spatial_order=spatial_order,
    )
    logger.debug("routing graph: %d nodes, %d edges (%d input edges)", n, rg.n_edges, m)
    return rg


# --------------------------------------------------------------------------------------------
# Kernels (numba, nogil)
# --------------------------------------------------------------------------------------------


# The priority queue is an indexed 4-ary min-heap over parallel arrays: keys ``hk`` (time),
# values ``hv`` (node) and ``pos[node]`` = slot of the node in the heap, -1 when never queued,
# ``DONE`` once settled. Decrease-key keeps the heap at the size of the search frontier; a
# 4-ary heap is shallower and reads its children from one cache line.

#: Heap arity (children per heap node).
HEAP_ARITY = 4

#: Marker in the ``pos`` array of a settled node.
DONE = -2


@njit(cache=True, nogil=True, inline="always")
def _sift_up(hk, hv, pos, i, key, val):  # pragma: no cover - compiled
    """Place (key, val) at heap slot ``i`` or above; ``pos[val]`` tracks its slot."""
    while i > 0:
        parent = (i - 1) // HEAP_ARITY
        pk = hk[parent]
        if pk <= key:
            break
        hk[i] = pk
        pv = hv[parent]
        hv[i] = pv
        pos[pv] = i
        i = parent
    hk[i] = key
    hv[i] = val
    pos[val] = i


@njit(cache=True, nogil=True, inline="always")
def _pop_root(hk, hv, pos, size):  # pragma: no cover - compiled
    """Settle and remove the root of a heap of ``size`` items; returns the new size."""
    pos[hv[0]] = DONE
    size -= 1
    if size > 0:
        lk = hk[size]
        lv = hv[size]
        i = 0
        while True:
            c = HEAP_ARITY * i + 1
            if c >= size:
                break
            best = c
            bk = hk[c]
            end = min(c + HEAP_ARITY, size)
            for j in range(c + 1, end):
                if hk[j] < bk:
                    bk = hk[j]
                    best = j
            if bk >= lk:
                break
            hk[i] = bk
            bv = hv[best]
            hv[i] = bv
            pos[bv] = i
            i = best
        hk[i] = lk
        hv[i] = lv
        pos[lv] = i
    return size


@njit(cache=True, nogil=True)
def _multi_source_kernel(
    indptr, indices, weights, sources, offsets, cutoff, needed
):  # pragma: no cover - compiled
    """One Dijkstra from several sources; returns (dist, label = index in sources or -1).

    Stops early once every node flagged in ``needed`` is settled (when ``needed`` is not
    empty). Ties between sources go to the smaller source index.
    """
    n = indptr.size - 1
    dist = np.full(n, np.inf)
    label = np.full(n, -1, dtype=np.int64)
    pos = np.full(n, -1, dtype=np.int32)
    hk = np.empty(n, dtype=np.float64)
    hv = np.empty(n, dtype=np.int32)
    size = 0
    for i in range(sources.size):
        s = sources[i]
        d = offsets[i]
        if d <= cutoff and d < dist[s]:
            dist[s] = d
            label[s] = i
            if pos[s] >= 0:
                _sift_up(hk, hv, pos, pos[s], d, s)
            else:
                _sift_up(hk, hv, pos, size, d, s)
                size += 1
    remaining = 0
    use_needed = needed.size > 0
    if use_needed:
        for i in range(n):
            if needed[i]:
                remaining += 1
    while size > 0:
        if use_needed and remaining == 0:
            break
        u = hv[0]
        d = hk[0]
        size = _pop_root(hk, hv, pos, size)
        if use_needed and needed[u]:
            remaining -= 1
        lu = label[u]
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            nd = d + weights[e]
            if nd > cutoff:
                continue
            dv = dist[v]
            if nd < dv or (nd == dv and lu < label[v] and pos[v] != DONE):
                dist[v] = nd
                label[v] = lu
                p = pos[v]
                if p >= 0:
                    _sift_up(hk, hv, pos, p, nd, v)
                else:
                    _sift_up(hk, hv, pos, size, nd, v)
                    size += 1
    if use_needed:
        # Nodes still queued at the early stop carry tentative distances: clear them.
        for i in range(n):
            if pos[i] != DONE:
                dist[i] = np.inf
                label[i] = -1
    return dist, label


@njit(cache=True, nogil=True)
def _bounded_kernel(
    indptr, indices, weights, origins, origin_offsets, cutoff, tptr, tlist, toffsets, all_nodes
):  # pragma: no cover - compiled
    """Bounded Dijkstra from each origin in turn; emits (origin, target, time) pairs.

    With ``all_nodes`` every settled node is emitted as its own target. Otherwise targets are
    grouped by node in CSR form (``tptr``, ``tlist``) and emitted when
    ``dist(node) + toffsets[target] <= cutoff``. The per-node buffers are allocated once per
    call and reset through the list of touched nodes, so each origin costs only what it
    reaches. A settled node needs no test when relaxing: its time is <= any new candidate.
    """
    n = indptr.size - 1
    dist = np.full(n, np.inf)
    pos = np.full(n, -1, dtype=np.int32)
    hk = np.empty(n, dtype=np.float64)
    hv = np.empty(n, dtype=np.int32)
    touched = np.empty(n, dtype=np.int32)
    cap = INITIAL_HEAP_CAPACITY
    out_o = np.empty(cap, dtype=np.int64)
    out_t = np.empty(cap, dtype=np.int64)
    out_d = np.empty(cap, dtype=np.float64)
    n_out = 0
    min_toff = 0.0
    if not all_nodes and toffsets.size > 0:
        min_toff = toffsets.min()
    node_bound = cutoff - min_toff
    for oi in range(origins.size):
        s = origins[oi]
        d0 = origin_offsets[oi]
        if not d0 <= node_bound:
            continue
        n_touched = 1
        touched[0] = s
        dist[s] = d0
        _sift_up(hk, hv, pos, 0, d0, s)
        size = 1
        while size > 0:
            u = hv[0]
            d = hk[0]
            size = _pop_root(hk, hv, pos, size)
            if all_nodes:
                k0 = 0
                k1 = 1
            else:
                k0 = tptr[u]
                k1 = tptr[u + 1]
            for k in range(k0, k1):
                if all_nodes:
                    t = u
                    tt = d
                else:
                    t = tlist[k]
                    tt = d + toffsets[t]
                    if tt > cutoff:
                        continue
                if n_out == cap:
                    cap *= 2
                    no = np.empty(cap, dtype=np.int64)
                    nt = np.empty(cap, dtype=np.int64)
                    nd_ = np.empty(cap, dtype=np.float64)
                    no[:n_out] = out_o[:n_out]
                    nt[:n_out] = out_t[:n_out]
                    nd_[:n_out] = out_d[:n_out]
                    out_o = no
                    out_t = nt
                    out_d = nd_
                out_o[n_out] = oi
                out_t[n_out] = t
                out_d[n_out] = tt
                n_out += 1
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                nd = d + weights[e]
                if nd <= node_bound and nd < dist[v]:
                    p = pos[v]
                    if p >= 0:
                        _sift_up(hk, hv, pos, p, nd, v)
                    else:
                        touched[n_touched] = v
                        n_touched += 1
                        _sift_up(hk, hv, pos, size, nd, v)
                        size += 1
                    dist[v] = nd
        for i in range(n_touched):
            j = touched[i]
            dist[j] = np.inf
            pos[j] = -1
    return out_o[:n_out].copy(), out_t[:n_out].copy(), out_d[:n_out].copy()


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _n_threads(n_threads: int | None) -> int:
    if n_threads is not None:
        if int(n_threads) < 1:
            raise RoutingError(f"n_threads must be >= 1, got {n_threads!r}")
        return int(n_threads)
    env = os.environ.get(THREADS_ENV_VAR)
    if env:
        try:
            return max(1, int(env))
        except ValueError as exc:
            raise RoutingError(
                f"environment variable {THREADS_ENV_VAR} must be an integer, got {env!r}"
            ) from exc
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def _offsets(values: Any, size: int, what: str) -> np.ndarray:
    if values is None:
        return np.zeros(size, dtype=np.float64)
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size != size:
        raise RoutingError(f"{what} must have one value per node ({size}), got {arr.size}")
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        raise RoutingError(
            f"{what} must be finite seconds >= 0; {int(bad.sum())} value(s) are not: "
            f"{format_values(arr[bad].tolist())}"
        )
    return arr


def _cutoff(value: float, what: str = "cutoff") -> float:
    try:
        c = float(value)
    except (TypeError, ValueError) as exc:
        raise RoutingError(f"{what} must be a number of seconds, got {value!r}") from exc
    if np.isnan(c) or c < 0:
        raise RoutingError(f"{what} must be >= 0 seconds (inf allowed), got {value!r}")
    return c


def _as_nodes(rg: RoutingGraph, nodes: Any, what: str) -> np.ndarray:
    if isinstance(nodes, (str, bytes)) or not isinstance(nodes, Iterable):
        nodes = [nodes]
    return rg.positions(nodes, what=what)


def _thresholds(thresholds_s: Any) -> np.ndarray:
    thr = np.atleast_1d(np.asarray(thresholds_s, dtype=np.float64))
    if thr.ndim != 1 or thr.size == 0:
        raise RoutingError(f"thresholds_s must be a non-empty 1-D sequence, got {thresholds_s!r}")
    if (~np.isfinite(thr) | (thr < 0)).any():
        raise RoutingError(
            f"thresholds_s must be finite seconds >= 0, got {format_values(thr.tolist())}"
        )
    return thr


# --------------------------------------------------------------------------------------------
# Public queries
# --------------------------------------------------------------------------------------------


def nearest_facility_times(
    rg: RoutingGraph,
    facility_nodes: Sequence[Hashable] | np.ndarray,
    *,
    facility_offsets: Sequence[float] | np.ndarray | None = None,
    origins: Sequence[Hashable] | np.ndarray | None = None,
    cutoff: float = np.inf,
    return_facility: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Travel time from each node (or origin) to its nearest facility.

    One multi-source Dijkstra on the reversed graph, started at every facility node with its
    offset. With ``origins`` the search stops as soon as every origin is settled.

    Parameters
    ----------
    rg : RoutingGraph
        The routing structure.
    facility_nodes : sequence
        Node identifiers of the facilities (a node may appear several times).
    facility_offsets : sequence of float, optional
        Extra seconds at each facility, e.g. the access leg between the facility and its
        snapped node. Default 0.
    origins : sequence, optional
        Node identifiers to report; default every node, by position.
    cutoff : float
        Stop the search beyond this time (seconds); farther nodes are ``inf``.
    return_facility : bool
        Also return, per node/origin, the position in ``facility_nodes`` of the nearest
        facility (-1 when none is reachable). Ties go to the facility listed first.

    Returns
    -------
    numpy.ndarray or tuple of numpy.ndarray
        Times in seconds, ``np.inf`` when no facility is reachable; plus the facility positions
        when ``return_facility``.

    Raises
    ------
    RoutingError
        Unknown node, negative or NaN offset or cutoff.
    """
    src = _as_nodes(rg, facility_nodes, "facility_nodes")
    off = _offsets(facility_offsets, src.size, "facility_offsets")
    cut = _cutoff(cutoff)
    org = None if origins is None else _as_nodes(rg, origins, "origins")
    dist, label = _nearest_positions(rg, src, off, cut, org)
    return (dist, label) if return_facility else dist


def _nearest_positions(
    rg: RoutingGraph, src: np.ndarray, off: np.ndarray, cut: float, org: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Multi-source search on validated node positions."""
    if org is not None:
        needed = np.zeros(rg.n_nodes, dtype=np.bool_)
        needed[org] = True
    else:
        needed = np.zeros(0, dtype=np.bool_)
    if src.size == 0:
        size = rg.n_nodes if org is None else org.size
        return np.full(size, np.inf), np.full(size, -1, dtype=np.int64)
    dist, label = _multi_source_kernel(rg.rindptr, rg.rindices, rg.rweights, src, off, cut, needed)
    if org is not None:
        dist, label = dist[org], label[org]
    return dist, label


def _target_csr(n_nodes: int, target_nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(target_nodes, kind="stable")
    tptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(target_nodes, minlength=n_nodes), out=tptr[1:])
    return tptr, order.astype(np.int64)


def _run_bounded(
    rg: RoutingGraph,
    origins: np.ndarray,
    origin_offsets: np.ndarray,
    cutoff: float,
    target_nodes: np.ndarray | None,
    target_offsets: np.ndarray | None,
    reverse: bool,
    n_threads: int | None,
    verbose: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if reverse:
        graph = (rg.rindptr, rg.rindices, rg.rweights)
    else:
        graph = (rg.indptr, rg.indices, rg.weights)
    if target_nodes is None:
        tptr = np.zeros(1, dtype=np.int64)
        tlist = np.zeros(0, dtype=np.int64)
        toff = np.zeros(0, dtype=np.float64)
        all_nodes = True
    else:
        tptr, tlist = _target_csr(rg.n_nodes, target_nodes)
        toff = target_offsets
        all_nodes = False
    threads = _n_threads(n_threads)
    n_chunks = max(1, min(origins.size, threads * CHUNKS_PER_THREAD))
    bounds = np.linspace(0, origins.size, n_chunks + 1).astype(np.int64)

    def run(i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a, b = bounds[i], bounds[i + 1]
        o, t, d = _bounded_kernel(
            *graph, origins[a:b], origin_offsets[a:b], cutoff, tptr, tlist, toff, all_nodes
        )
        o += a
        return o, t, d

    if threads == 1 or n_chunks == 1:
        parts = [run(i) for i in range(n_chunks)]
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            iterator = pool.map(run, range(n_chunks))
            if verbose:
                from tqdm.auto import tqdm

                iterator = tqdm(iterator, total=n_chunks, desc="routing", unit="chunk")
            parts = list(iterator)
    if not parts:
        empty_i = np.zeros(0, dtype=np.int64)
        return empty_i, empty_i.copy(), np.zeros(0, dtype=np.float64)
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )


def reach(
    rg: RoutingGraph,
    origins: Sequence[Hashable] | np.ndarray,
    targets: Sequence[Hashable] | np.ndarray,
    cutoff: float,
    *,
    origin_offsets: Sequence[float] | np.ndarray | None = None,
    target_offsets: Sequence[float] | np.ndarray | None = None,
    reverse: bool = False,
    n_threads: int | None = None,
    verbose: bool = False,
) -> ReachTable:
    """Pairs (origin, target, time) with ``time <= cutoff``, one bounded search per origin.

    The generic query behind counts, nearest-within and catchments: run it once with every
    facility of every category as targets, then aggregate per category with numpy.

    Parameters
    ----------
    rg : RoutingGraph
        The routing structure.
    origins : sequence
        Node identifiers where searches start (e.g. snapped town halls).
    targets : sequence
        Node identifiers of the targets (facilities, population nodes); repeated nodes allowed.
    cutoff : float
        Largest time reported, in seconds, offsets included.
    origin_offsets, target_offsets : sequence of float, optional
        Extra seconds at each origin / target (snap access legs). Default 0.
    reverse : bool
        If True, search the reversed graph: times are from each *target* to the origin (for
        example facility nodes as origins and population nodes as targets, time measured in the
        population → facility direction).
    n_threads : int, optional
        Worker threads; default all available cores (or ``GEOATTRACT_ROUTING_THREADS``).
    verbose : bool
        Show a tqdm progress bar over origin chunks.

    Returns
    -------
    ReachTable
        ``origin`` and ``target`` are positions in the ``origins`` and ``targets`` arguments.
        Pairs are ordered by origin, then by increasing node time.

    Raises
    ------
    RoutingError
        Unknown node, negative or NaN offset, cutoff or thread count.
    """
    org = _as_nodes(rg, origins, "origins")
    tgt = _as_nodes(rg, targets, "targets")
    ooff = _offsets(origin_offsets, org.size, "origin_offsets")
    toff = _offsets(target_offsets, tgt.size, "target_offsets")
    cut = _cutoff(cutoff)
    return _reach_positions(rg, org, tgt, ooff, toff, cut, reverse, n_threads, verbose)


def _reach_positions(
    rg: RoutingGraph,
    org: np.ndarray,
    tgt: np.ndarray,
    ooff: np.ndarray,
    toff: np.ndarray,
    cut: float,
    reverse: bool,
    n_threads: int | None,
    verbose: bool,
) -> ReachTable:
    """:func:`reach` on validated node positions and offsets."""
    if tgt.size == 0:
        o = t = np.zeros(0, dtype=np.int64)
        return ReachTable(o, t.copy(), np.zeros(0), org.size, 0, cut)
    o, t, d = _run_bounded(rg, org, ooff, cut, tgt, toff, reverse, n_threads, verbose)
    return ReachTable(o, t, d, int(org.size), int(tgt.size), cut)


def travel_times_within(
    rg: RoutingGraph,
    origins: Sequence[Hashable] | np.ndarray,
    cutoff: float,
    *,
    origin_offsets: Sequence[float] | np.ndarray | None = None,
    reverse: bool = False,
    n_threads: int | None = None,
    verbose: bool = False,
) -> ReachTable:
    """Every node reached from each origin within ``cutoff`` seconds, in long format.

    Parameters
    ----------
    rg : RoutingGraph
        The routing structure.
    origins : sequence
        Node identifiers where searches start.
    cutoff : float
        Largest time reported (seconds), origin offset included.
    origin_offsets : sequence of float, optional
        Seconds already spent when leaving each origin (snap access leg).
    reverse : bool
        Times from each node *to* the origin instead.
    n_threads : int, optional
        Worker threads; default all available cores.
    verbose : bool
        Show a progress bar.

    Returns
    -------
    ReachTable
        ``target`` is the node position (``rg.node_ids[target]`` gives the identifier);
        memory is proportional to the number of pairs reached.
    """
    org = _as_nodes(rg, origins, "origins")
    ooff = _offsets(origin_offsets, org.size, "origin_offsets")
    cut = _cutoff(cutoff)
    o, t, d = _run_bounded(rg, org, ooff, cut, None, None, reverse, n_threads, verbose)
    return ReachTable(o, t, d, int(org.size), rg.n_nodes, cut)


def travel_times_to(
    rg: RoutingGraph,
    origins: Sequence[Hashable] | np.ndarray,
    destinations: Sequence[Hashable] | np.ndarray,
    *,
    cutoff: float = np.inf,
    origin_offsets: Sequence[float] | np.ndarray | None = None,
    destination_offsets: Sequence[float] | np.ndarray | None = None,
    n_threads: int | None = None,
) -> np.ndarray:
    """Dense ``(n_origins, n_destinations)`` travel times, ``inf`` when not reached.

    Meant for a modest destination set; for long tables use :func:`reach` and
    :meth:`ReachTable.to_frame` or :meth:`ReachTable.to_sparse`.

    Parameters
    ----------
    rg : RoutingGraph
        The routing structure.
    origins, destinations : sequence
        Node identifiers.
    cutoff : float
        Bound of the searches, seconds; default unbounded.
    origin_offsets, destination_offsets : sequence of float, optional
        Access legs in seconds.
    n_threads : int, optional
        Worker threads.

    Returns
    -------
    numpy.ndarray
        float64 seconds.
    """
    table = reach(
        rg,
        origins,
        destinations,
        cutoff,
        origin_offsets=origin_offsets,
        target_offsets=destination_offsets,
        n_threads=n_threads,
    )
    return table.to_dense()


def _category_items(spec: Any, name: str) -> tuple[Any, Any, Any]:
    if isinstance(spec, tuple):
        if not 1 <= len(spec) <= 3:
            raise RoutingError(
                f"category {name!r}: expected nodes, (nodes, weights) or "
                f"(nodes, weights, offsets), got a tuple of {len(spec)}"
            )
        padded = (*spec, None, None)
        return padded[0], padded[1], padded[2]
    return spec, None, None


@dataclass(frozen=True, eq=False)
class _Targets:
    """All facilities of several categories, concatenated as one target set."""

    names: list[str]
    nodes: np.ndarray
    weights: np.ndarray
    offsets: np.ndarray
    category: np.ndarray
    weighted: dict[str, bool]


def _parse_categories(rg: RoutingGraph, categories: Mapping[str, Any]) -> _Targets:
    if not isinstance(categories, Mapping):
        raise RoutingError(
            f"categories must be a mapping {{name: nodes or (nodes, weights[, offsets])}}, "
            f"got {type(categories).__name__}"
        )
    names = list(categories)
    nodes_all, w_all, off_all, cat_all = [], [], [], []
    weighted = {}
    for ci, name in enumerate(names):
        nodes, weights, offsets = _category_items(categories[name], name)
        pos = _as_nodes(rg, nodes, f"categories[{name!r}] nodes")
        weighted[name] = weights is not None
        if weights is None:
            w = np.ones(pos.size, dtype=np.float64)
        else:
            w = np.asarray(weights, dtype=np.float64).reshape(-1)
            if w.size != pos.size:
                raise RoutingError(
                    f"categories[{name!r}]: {w.size} weights for {pos.size} facilities"
                )
            if (~np.isfinite(w)).any():
                raise RoutingError(
                    f"categories[{name!r}]: weights must be finite, got "
                    f"{format_values(w[~np.isfinite(w)].tolist())}"
                )
        nodes_all.append(pos)
        w_all.append(w)
        off_all.append(_offsets(offsets, pos.size, f"categories[{name!r}] offsets"))
        cat_all.append(np.full(pos.size, ci, dtype=np.int64))

    def cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

    return _Targets(
        names=names,
        nodes=cat(nodes_all, np.int64),
        weights=cat(w_all, np.float64),
        offsets=cat(off_all, np.float64),
        category=cat(cat_all, np.int64),
        weighted=weighted,
    )


def _aggregate_counts(
    table: ReachTable, targets: _Targets, n_o: int, thr: np.ndarray
) -> dict[str, np.ndarray]:
    n_c = len(targets.names)
    out = np.zeros((n_c, n_o, thr.size), dtype=np.float64)
    key = targets.category[table.target] * n_o + table.origin
    pair_w = targets.weights[table.target]
    for k, limit in enumerate(thr):
        mask = table.time <= limit
        out[:, :, k] = np.bincount(key[mask], weights=pair_w[mask], minlength=n_c * n_o).reshape(
            n_c, n_o
        )
    result = {}
    for ci, name in enumerate(targets.names):
        arr = out[ci]
        result[name] = arr if targets.weighted[name] else np.rint(arr).astype(np.int64)
    return result


def count_within_multi(
    rg: RoutingGraph,
    origins: Sequence[Hashable] | np.ndarray,
    categories: Mapping[str, Any],
    thresholds_s: Sequence[float] | np.ndarray,
    *,
    origin_offsets: Sequence[float] | np.ndarray | None = None,
    n_threads: int | None = None,
    verbose: bool = False,
) -> dict[str, np.ndarray]:
    """Facilities (or weight sums) within each threshold, for several categories in one pass.

    All facilities of all categories become targets of one :func:`reach` run with cutoff
    ``max(thresholds_s)``; the pairs are then aggregated per category and threshold.

    Parameters
    ----------
    rg : RoutingGraph
        The routing structure.
    origins : sequence
        Node identifiers of the origins.
    categories : mapping
        ``{name: nodes}``, ``{name: (nodes, weights)}`` or ``{name: (nodes, weights,
        offsets)}``; weights (e.g. capacity) default to 1 (a count), offsets (snap seconds) to
        0. Use ``None`` for weights to count while giving offsets.
    thresholds_s : sequence of float
        Thresholds in seconds.
    origin_offsets : sequence of float, optional
        Access leg of each origin, seconds.
    n_threads : int, optional
        Worker threads.
    verbose : bool
        Show a progress bar.

    Returns
    -------
    dict of str to numpy.ndarray
        Per category an array ``(n_origins, n_thresholds)``: int64 counts when the category has
        no weights, float64 sums otherwise. A facility exactly at a threshold counts.
    """
    return facility_access(
        rg,
        origins,
        categories,
        thresholds_s,
        origin_offsets=origin_offsets,
        nearest=False,
        n_threads=n_threads,
        verbose=verbose,
    ).counts


@dataclass(frozen=True, eq=False)
class FacilityAccess:
    """Per-origin access to several facility categories (see :func:`facility_access`).

    Attributes
    ----------
    counts : dict of str to numpy.ndarray
        ``(n_origins, n_thresholds)`` counts (int64) or weight sums (float64) per category.
    nearest_s : dict of str to numpy.ndarray
        Time to the nearest facility per origin (seconds, ``inf`` when none is reachable);
        empty when not requested.
    thresholds_s : numpy.ndarray
        The thresholds, seconds.
    """

    counts: dict[str, np.ndarray]
    nearest_s: dict[str, np.ndarray]
    thresholds_s: np.ndarray


def facility_access(
    rg: RoutingGraph,
    origins: Sequence[Hashable] | np.ndarray,
    categories: Mapping[str, Any],
    thresholds_s: Sequence[float] | np.ndarray,
    *,
    origin_offsets: Sequence[float] | np.ndarray | None = None,
    nearest: bool = True,
    n_threads: int | None = None,
    verbose: bool = False,
) -> FacilityAccess:
    """Counts within thresholds and nearest-facility times for many categories at once.

    One :func:`reach` pass (cutoff = largest threshold) with every facility of every category
    as targets gives the counts, and the nearest time for each (origin, category) that has a
    facility within the cutoff. Pairs with none are completed by one multi-source search per
    such category on the reversed graph, stopped once those origins are settled.

    Parameters
    ----------
    rg : RoutingGraph
        The routing structure.
    origins : sequence
        Node identifiers of the origins.
    categories : mapping
        As in :func:`count_within_multi`.
    thresholds_s : sequence of float
        Thresholds in seconds.
    origin_offsets : sequence of float, optional
        Access leg of each origin, seconds (included in every time).
    nearest : bool
        Also compute nearest-facility times.
    n_threads : int, optional
        Worker threads.
    verbose : bool
        Show a progress bar.

    Returns
    -------
    FacilityAccess
        Counts and nearest times per category.
    """
    thr = _thresholds(thresholds_s)
    targets = _parse_categories(rg, categories)
    org = _as_nodes(rg, origins, "origins")
    n_o = org.size
    ooff = _offsets(origin_offsets, n_o, "origin_offsets")
    cut = float(thr.max())
    table = _reach_positions(
        rg, org, targets.nodes, ooff, targets.offsets, cut, False, n_threads, verbose
    )
    counts = _aggregate_counts(table, targets, n_o, thr)
    nearest_s: dict[str, np.ndarray] = {}
    if nearest:
        n_c = len(targets.names)
        best = np.full(n_c * n_o, np.inf)
        key = targets.category[table.target] * n_o + table.origin
        np.minimum.at(best, key, table.time)
        best = best.reshape(n_c, n_o)

        def complete(ci: int) -> None:
            missing = ~np.isfinite(best[ci])
            in_cat = targets.category == ci
            if missing.any() and in_cat.any():
                times, _ = _nearest_positions(
                    rg, targets.nodes[in_cat], targets.offsets[in_cat], np.inf, org[missing]
                )
                best[ci, missing] = times + ooff[missing]

        threads = min(_n_threads(n_threads), max(1, n_c))
        if threads == 1:
            for ci in range(n_c):
                complete(ci)
        else:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(complete, range(n_c)))
        nearest_s = {name: best[ci] for ci, name in enumerate(targets.names)}
    return FacilityAccess(counts=counts, nearest_s=nearest_s, thresholds_s=thr)


def count_within(
    rg: RoutingGraph,
    origins: Sequence[Hashable] | np.ndarray,
    facility_nodes: Sequence[Hashable] | np.ndarray,
    thresholds_s: Sequence[float] | np.ndarray,
    *,
    weights: Sequence[float] | np.ndarray | None = None,
    origin_offsets: Sequence[float] | np.ndarray | None = None,
    facility_offsets: Sequence[float] | np.ndarray | None = None,
    n_threads: int | None = None,
) -> np.ndarray:
    """Facilities (or weight sums) reachable within each threshold, per origin.

    Parameters
    ----------
    rg : RoutingGraph
        The routing structure.
    origins : sequence
        Node identifiers of the origins.
    facility_nodes : sequence
        Node identifiers of the facilities.
    thresholds_s : sequence of float
        Thresholds in seconds; one bounded pass per origin with cutoff = the largest.
    weights : sequence of float, optional
        Weight of each facility (capacity); default counts.
    origin_offsets, facility_offsets : sequence of float, optional
        Access legs in seconds.
    n_threads : int, optional
        Worker threads.

    Returns
    -------
    numpy.ndarray
        ``(n_origins, n_thresholds)``; int64 counts, or float64 sums with ``weights``.
    """
    spec = (facility_nodes, weights, facility_offsets)
    return count_within_multi(
        rg,
        origins,
        {"facilities": spec},
        thresholds_s,
        origin_offsets=origin_offsets,
        n_threads=n_threads,
    )["facilities"]


def nearest_facility_times_multi(
    rg: RoutingGraph,
    origins: Sequence[Hashable] | np.ndarray,
    categories: Mapping[str, Any],
    *,
    origin_offsets: Sequence[float] | np.ndarray | None = None,
    cutoff: float = np.inf,
    n_threads: int | None = None,
) -> dict[str, np.ndarray]:
    """Time from each origin to the nearest facility of each category.

    One multi-source search per category on the reversed graph, stopped once every origin is
    settled; categories run in parallel threads.

    Parameters
    ----------
    rg : RoutingGraph
        The routing structure.
    origins : sequence
        Node identifiers of the origins.
    categories : mapping
        ``{name: nodes}`` or ``{name: (nodes, weights[, offsets])}`` as in
        :func:`count_within_multi` (weights are ignored here).
    origin_offsets : sequence of float, optional
        Access leg of each origin, added to its times.
    cutoff : float
        Bound of the searches (seconds); farther is ``inf``.
    n_threads : int, optional
        Worker threads.

    Returns
    -------
    dict of str to numpy.ndarray
        Per category, float64 seconds per origin, ``inf`` when no facility is reachable.
    """
    org = _as_nodes(rg, origins, "origins")
    ooff = _offsets(origin_offsets, org.size, "origin_offsets")
    cut = _cutoff(cutoff)
    specs = {}
    for name, spec in categories.items():
        nodes, _, offsets = _category_items(spec, name)
        pos = _as_nodes(rg, nodes, f"categories[{name!r}] nodes")
        specs[name] = (pos, _offsets(offsets, pos.size, f"categories[{name!r}] offsets"))

    def run(name: str) -> np.ndarray:
        pos, off = specs[name]
        return _nearest_positions(rg, pos, off, cut, org)[0] + ooff

    threads = min(_n_threads(n_threads), max(1, len(specs)))
    if threads == 1:
        return {name: run(name) for name in specs}
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return dict(zip(specs, pool.map(run, specs), strict=True))
