"""The compact routing structure: CSR adjacency of a road graph, in spatial order.

The road graph (a :class:`networkx.MultiDiGraph` following the package's graph model) is turned
once into a :class:`RoutingGraph`: integer node positions, a forward and a reverse CSR adjacency
with float64 travel times in seconds, and the node coordinates. Nodes are numbered along a
Z-order curve of their coordinates (neighbours in space are neighbours in memory). Queries
(:mod:`geoattract.routing.queries`) run the compiled kernels of
:mod:`geoattract.routing.kernels` over those arrays and return :class:`ReachTable` long tables.

See ``docs/routing.md`` for the choice of engine and measured figures.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp

from geoattract.errors import RoutingError, format_values
from geoattract.network import Network

logger = logging.getLogger(__name__)

#: Default edge attribute used as the Dijkstra weight (seconds).
DEFAULT_WEIGHT = "travel_time"

#: Bits per axis of the Z-order (Morton) key that sorts nodes spatially when a routing graph is
#: built: neighbours in space become neighbours in memory, which makes Dijkstra 1.5-3.5x faster
#: than the OSM id order (cache misses dominate on big graphs).
SPATIAL_ORDER_BITS = 16

#: Node positions are stored as int32 in the kernels (half the memory traffic of int64).
MAX_NODES = 2**31 - 1

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
        """Return the number of pairs."""
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


#: The routing structure of each network, built once and freed with it.
_BY_NETWORK: weakref.WeakKeyDictionary[Any, RoutingGraph] = weakref.WeakKeyDictionary()


def network_routing_graph(network: Network | nx.MultiDiGraph) -> RoutingGraph:
    """The routing structure of a road network, built once and cached with it.

    A line network routes on its arrays (no networkx graph is built; each CSR edge keeps the
    index of its line-network edge in :attr:`RoutingGraph.edge_keys`); a graph network through
    :func:`routing_graph`.

    Parameters
    ----------
    network : Network or networkx.MultiDiGraph
        The road network (a bare graph is not cached).

    Returns
    -------
    RoutingGraph
    """
    if isinstance(network, nx.Graph):
        return routing_graph(network)
    cached = _BY_NETWORK.get(network)
    if cached is not None:
        return cached
    lines = network.lines
    if lines is None:
        rg = routing_graph(network.graph)
    else:
        rg = routing_graph_from_arrays(
            lines.u,
            lines.v,
            lines.travel_time,
            n_nodes=lines.n_nodes,
            x=lines.x,
            y=lines.y,
            edge_keys=np.arange(lines.n_edges, dtype=np.int64),
        )
    _BY_NETWORK[network] = rg
    return rg


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
