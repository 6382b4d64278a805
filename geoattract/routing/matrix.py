"""Origin–destination drive times and road distances between points (town halls).

:func:`od_matrix` snaps origins and destinations with the network's :class:`SnapRule`, runs
the package's bounded Dijkstra kernels (:func:`~geoattract.routing.travel_times_within`)
from the smaller side (forward from the origins, or on the reversed graph from the
destinations: ``--to 75056`` is one search for 34,746 origins) and returns a long table
``origin, destination, minutes, km``:

* ``minutes`` = access leg at the origin + graph time + access leg at the destination
  (+ an optional per-point delay, e.g. the dense-commune delay of a calibration);
* ``km`` = road distance of the *fastest* path, access legs included. It is read along the
  fastest-path tree: an edge ``p → q`` is on it when ``dist[p] + w == dist[q]`` exactly
  (:mod:`geoattract.network.trees`), and the edge lengths are summed along the tree;
* a point and itself: 0 min, 0 km; unreachable pairs (points too far from the network, other
  components, beyond ``max_minutes``) are absent and counted in the log.

Memory follows what a search reaches: sources are searched a few at a time, each search
held as one array of node times while its tree is read, never origins × all nodes.
"""

from __future__ import annotations

import logging
import os
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from geoattract._util.io import atomic_path, resolve_data_dir
from geoattract.errors import DataError, RoutingError, format_values
from geoattract.network import Network, load_network
from geoattract.network.lines import LineNetwork
from geoattract.network.snapping import SnapRule, snap_report
from geoattract.network.trees import path_sums
from geoattract.routing.graph import RoutingGraph, routing_graph_from_arrays
from geoattract.routing.queries import travel_times_within
from geoattract.territory.national import (
    NationalCommunes,
    default_national_communes_path,
    read_national_communes,
)

logger = logging.getLogger(__name__)

#: Columns of the table :func:`od_matrix` returns.
MATRIX_COLUMNS: tuple[str, ...] = ("origin", "destination", "minutes", "km")

#: Sources searched per call of the kernels: bounds the memory of one batch to
#: ``SOURCES_PER_BATCH × nodes`` times while keeping both cores busy.
SOURCES_PER_BATCH: int = 16

#: With at least this many sources and no ``max_minutes``, each search is bounded by a hub
#: estimate: time(source → hub) + the largest time(hub → target), an upper bound of every
#: pair of that source (the fastest path is never slower than the detour through the hub).
HUB_BOUND_MIN_SOURCES: int = 8

#: Names of a département in a selection: two characters (``38``, ``2A``) or three (``971``).
DEPARTEMENT_CODE_LENGTHS: frozenset[int] = frozenset({2, 3})


@dataclass(frozen=True, eq=False)
class ODNetwork:
    """A routing graph with the edge lengths aligned on its CSR arrays, and its nodes.

    Attributes
    ----------
    rg : RoutingGraph
        Travel-time weights (s); parallel edges were reduced to the fastest beforehand.
    length, rlength : numpy.ndarray
        Length (m) of each forward / reverse CSR edge of ``rg`` (NaN when unknown).
    nodes : pandas.DataFrame
        Index = node ids; ``x``, ``y`` and, when known, ``snappable`` (for snapping).
    attrs : dict
        Graph attributes of the source (kind, calibration values…).
    """

    rg: RoutingGraph
    length: np.ndarray
    rlength: np.ndarray
    nodes: pd.DataFrame
    attrs: dict[str, Any]

    @property
    def snap_rule(self) -> SnapRule:
        """The snapping rule the source network implies (:meth:`SnapRule.for_graph`)."""
        return SnapRule.for_graph(self.attrs)


def _fastest_parallel(
    u: np.ndarray, v: np.ndarray, seconds: np.ndarray, metres: np.ndarray
) -> np.ndarray:
    """Keep no self-loop and one edge per node pair (the fastest, then the shortest)."""
    idx = np.flatnonzero(u != v)
    order = idx[np.lexsort((metres[idx], seconds[idx], v[idx], u[idx]))]
    first = np.ones(order.size, dtype=bool)
    first[1:] = (u[order][1:] != u[order][:-1]) | (v[order][1:] != v[order][:-1])
    return order[first]


#: The OD structure of each :class:`~geoattract.network.Network`, built once, freed with it.
_OD: weakref.WeakKeyDictionary[Network, ODNetwork] = weakref.WeakKeyDictionary()


def od_network(
    network: Network | nx.MultiDiGraph | LineNetwork | ODNetwork | RoutingGraph,
) -> ODNetwork:
    """Build the routing structure of :func:`od_matrix` for a graph, line network or routing graph.

    Parameters
    ----------
    network : Network, MultiDiGraph, LineNetwork, ODNetwork or RoutingGraph
        A network (cached with it), a graph model (edges ``travel_time`` and ``length``),
        line network arrays, an already
        built :class:`ODNetwork` (returned as is), or a bare routing graph (no length: the
        ``km`` column is then NaN).

    Returns
    -------
    ODNetwork

    Raises
    ------
    RoutingError
        Missing or invalid ``travel_time`` (from :func:`routing_graph_from_arrays`).
    """
    if isinstance(network, ODNetwork):
        return network
    if isinstance(network, Network):
        cached = _OD.get(network)
        if cached is None:
            inner = network.lines if network.lines is not None else network.graph
            cached = _OD[network] = od_network(inner)
        return cached
    if isinstance(network, RoutingGraph):
        nan = np.full(network.n_edges, np.nan)
        nodes = pd.DataFrame({"x": network.x, "y": network.y}, index=network.node_ids)
        return ODNetwork(network, nan, nan.copy(), nodes, {})
    snappable: np.ndarray | None
    if isinstance(network, LineNetwork):
        u, v = network.u, network.v
        seconds, metres = network.travel_time, network.length
        node_ids = np.arange(network.n_nodes, dtype=np.int64)
        x, y, snappable = network.x, network.y, network.snappable
        attrs = dict(network.attrs)
    elif isinstance(network, nx.MultiDiGraph):
        ids = list(network.nodes)
        index = {n: i for i, n in enumerate(ids)}
        edges = list(network.edges(data=True))
        u = np.fromiter((index[a] for a, _, _ in edges), dtype=np.int64, count=len(edges))
        v = np.fromiter((index[b] for _, b, _ in edges), dtype=np.int64, count=len(edges))
        seconds = np.array([_number(d.get("travel_time")) for _, _, d in edges])
        metres = np.array([_number(d.get("length")) for _, _, d in edges])
        if ids and all(isinstance(n, int) for n in ids):
            node_ids = np.asarray(ids, dtype=np.int64)
        else:
            node_ids = np.empty(len(ids), dtype=object)
            node_ids[:] = ids
        data = [network.nodes[n] for n in ids]
        x = np.array([d.get("x", np.nan) for d in data], dtype=float)
        y = np.array([d.get("y", np.nan) for d in data], dtype=float)
        flags = [d.get("snappable") for d in data]
        snappable = None
        if any(f is not None for f in flags):
            snappable = np.array([True if f is None else bool(f) for f in flags])
        attrs = dict(network.graph)
    else:
        raise RoutingError(
            f"od_network: expected a MultiDiGraph, LineNetwork, ODNetwork or RoutingGraph; "
            f"got {type(network).__name__}"
        )
    keep = _fastest_parallel(u, v, seconds, metres)
    rg = routing_graph_from_arrays(
        u[keep], v[keep], seconds[keep], n_nodes=len(x), x=x, y=y, node_ids=node_ids
    )
    by_length = routing_graph_from_arrays(
        u[keep],
        v[keep],
        np.nan_to_num(metres[keep], nan=0.0),
        n_nodes=len(x),
        x=x,
        y=y,
        node_ids=node_ids,
        weight="length",
    )
    if not (
        np.array_equal(rg.indices, by_length.indices)
        and np.array_equal(rg.rindices, by_length.rindices)
    ):  # pragma: no cover - both are built from the same de-duplicated arrays
        raise RoutingError("od_network: time and length routing graphs are not aligned")
    length, rlength = by_length.weights, by_length.rweights
    if np.isnan(metres[keep]).any():
        length, rlength = np.full(length.size, np.nan), np.full(rlength.size, np.nan)
    nodes = pd.DataFrame({"x": rg.x, "y": rg.y}, index=pd.Index(rg.node_ids))
    if snappable is not None:
        order = rg.positions(node_ids)
        flag = np.empty(len(x), dtype=bool)
        flag[order] = snappable
        nodes["snappable"] = flag
    nodes.attrs["crs"] = attrs.get("crs")  # points in another CRS are refused when snapped
    return ODNetwork(rg, length, rlength, nodes, attrs)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


@dataclass(frozen=True)
class _Side:
    """Snapped points of one side: ids, node position, offset (s), access metres."""

    ids: np.ndarray
    pos: np.ndarray
    offset: np.ndarray
    access_m: np.ndarray
    ok: np.ndarray


def _snap_side(
    onet: ODNetwork, points: gpd.GeoDataFrame | gpd.GeoSeries, rule: SnapRule, what: str
) -> _Side:
    geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if geoms.index.has_duplicates:
        dup = geoms.index[geoms.index.duplicated()].unique()
        raise DataError(f"od_matrix: duplicate {what} ids: {format_values(dup.tolist())}")
    snapped = rule.snap(onet.nodes, geoms, what=what)
    names = points["nom"] if isinstance(points, gpd.GeoDataFrame) and "nom" in points else None
    logger.info("%s: %s", what, snap_report(snapped, names))
    ok = ~snapped["too_far"].to_numpy(dtype=bool)
    pos = np.full(len(snapped), -1, dtype=np.int64)
    if ok.any():
        pos[ok] = onet.rg.positions(snapped["node"].to_numpy()[ok].tolist(), what=what)
    delay = np.zeros(len(snapped))
    if isinstance(points, gpd.GeoDataFrame) and "delay_s" in points:
        delay = pd.to_numeric(points["delay_s"], errors="coerce").fillna(0.0).to_numpy(float)
    dist = snapped["snap_distance_m"].to_numpy(dtype=float)
    return _Side(
        ids=snapped.index.to_numpy(dtype=object),
        pos=pos,
        offset=np.nan_to_num(snapped["snap_time_s"].to_numpy(dtype=float)) + delay,
        access_m=dist * rule.detour,
        ok=ok,
    )


def _incoming(
    onet: ODNetwork, reverse: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Edges entering each node in the search direction: (ptr, tail, weight, length).

    A forward search enters ``q`` through the reverse adjacency of ``q``; a search on the
    reversed graph enters ``q`` through the forward adjacency of ``q``.
    """
    rg = onet.rg
    if reverse:
        return rg.indptr, rg.indices, rg.weights, onet.length
    return rg.rindptr, rg.rindices, rg.rweights, onet.rlength


def _hub_cutoffs(
    onet: ODNetwork, sources: np.ndarray, targets: np.ndarray, reverse: bool, n_threads: int | None
) -> np.ndarray:
    """Upper bound of the search radius of each source (see :data:`HUB_BOUND_MIN_SOURCES`)."""
    rg = onet.rg
    cx, cy = rg.x[sources].mean(), rg.y[sources].mean()
    hub = sources[np.argmin(np.hypot(rg.x[sources] - cx, rg.y[sources] - cy))]
    hub_id = [rg.node_ids[hub]]
    to_hub = np.full(rg.n_nodes, np.inf)  # in the search direction: source → hub
    table = travel_times_within(rg, hub_id, np.inf, reverse=not reverse, n_threads=n_threads)
    to_hub[table.target] = table.time
    from_hub = np.full(rg.n_nodes, np.inf)
    table = travel_times_within(rg, hub_id, np.inf, reverse=reverse, n_threads=n_threads)
    from_hub[table.target] = table.time
    return to_hub[sources] + from_hub[targets].max()


def _pairs_for_source(
    src_side: _Side,
    tgt_side: _Side,
    members: np.ndarray,
    dist: np.ndarray,
    metres: np.ndarray,
    reverse: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(origin index, destination index, seconds, metres) of one source node's points."""
    tgt = np.flatnonzero(tgt_side.ok)
    node_t = dist[tgt_side.pos[tgt]]
    node_m = metres[tgt_side.pos[tgt]]
    s = np.repeat(members, tgt.size)
    t = np.tile(tgt, members.size)
    secs = src_side.offset[s] + np.tile(node_t, members.size) + tgt_side.offset[t]
    dist_m = src_side.access_m[s] + np.tile(node_m, members.size) + tgt_side.access_m[t]
    return (t, s, secs, dist_m) if reverse else (s, t, secs, dist_m)


def od_matrix(
    network: nx.MultiDiGraph | LineNetwork | ODNetwork | RoutingGraph,
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    destinations: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    snap_rule: SnapRule | None = None,
    max_minutes: float | None = None,
    n_threads: int | None = None,
) -> pd.DataFrame:
    """Drive times (min) and road distances (km) between every origin and destination.

    Parameters
    ----------
    network : Network (or MultiDiGraph, LineNetwork, ODNetwork, RoutingGraph)
        The road network (:func:`~geoattract.network.load_network`); its snapping rule is
        used unless ``snap_rule`` is given.
    origins, destinations : GeoDataFrame or GeoSeries of points
        Indexed by their ids (commune codes). An optional ``delay_s`` column adds seconds
        at that end (dense-commune delay of a calibration).
    snap_rule : SnapRule, optional
        How points join the network; default :meth:`SnapRule.for_graph` of the network.
    max_minutes : float, optional
        Pairs above this are left out (and the searches bounded by it).
    n_threads : int, optional
        Worker threads of the kernels.

    Returns
    -------
    pandas.DataFrame
        Columns ``origin``, ``destination``, ``minutes``, ``km``, sorted by origin then
        destination; unreachable pairs absent (counted in the log).

    Raises
    ------
    DataError, RoutingError
        Bad points (empty, not points, duplicate ids, another CRS than the network's) or a
        network without travel times.

    Examples
    --------
    >>> import geoattract as ga
    >>> net = ga.load_network(ga.datasets.tiny_roads())
    >>> halls = ga.datasets.tiny_town_halls()
    >>> table = ga.od_matrix(net, halls.loc[["99001"]], halls.loc[["99001", "99002"]])
    >>> table[["origin", "destination"]].to_numpy().tolist()
    [['99001', '99001'], ['99001', '99002']]
    >>> float(table["minutes"].iloc[0]), bool(table["minutes"].iloc[1] > 0)
    (0.0, True)
    """
    t0 = time.perf_counter()
    onet = od_network(network)
    if snap_rule is not None:
        rule = snap_rule
    else:
        rule = network.snap_rule if isinstance(network, Network) else onet.snap_rule
    orig = _snap_side(onet, origins, rule, "origins")
    dest = _snap_side(onet, destinations, rule, "destinations")
    n_dest_nodes = np.unique(dest.pos[dest.ok]).size
    reverse = n_dest_nodes <= np.unique(orig.pos[orig.ok]).size
    src_side, tgt_side = (dest, orig) if reverse else (orig, dest)
    sources = np.unique(src_side.pos[src_side.ok])
    targets = np.unique(tgt_side.pos[tgt_side.ok])
    parts: list[tuple[np.ndarray, ...]] = []
    if sources.size and targets.size:
        parts = _route(onet, src_side, tgt_side, sources, targets, reverse, max_minutes, n_threads)
    table = _assemble(parts, orig, dest, max_minutes)
    missing = missing_pairs(onet, orig, dest, len(table))
    table.attrs["missing"] = missing
    logger.info(
        "od matrix: %d x %d points, %d pairs, %d searches, %.1f s; %s",
        len(orig.ids),
        len(dest.ids),
        len(table),
        sources.size,
        time.perf_counter() - t0,
        missing,
    )
    return table


@dataclass(frozen=True)
class MissingPairs:
    """Why pairs are absent from an OD table: never silently dropped.

    Attributes
    ----------
    total : int
        Pairs absent.
    far_origins, far_destinations : tuple
        Ids of the points too far from the network (beyond the snapping limit).
    across : int
        Pairs whose ends lie on different parts of the network (islands: across the sea).
    parts : tuple of tuple
        The points of every part but the one holding most points: one tuple of ids per part.
    beyond : int
        Other absent pairs: beyond ``max_minutes`` (or no path within one part).
    """

    total: int = 0
    far_origins: tuple[Any, ...] = ()
    far_destinations: tuple[Any, ...] = ()
    across: int = 0
    parts: tuple[tuple[Any, ...], ...] = ()
    beyond: int = 0

    def __str__(self) -> str:
        """One line: the counts and the points named."""
        if self.total == 0:
            return "no pair missing"
        out = [f"{self.total:,} pair(s) missing"]
        if self.far_origins or self.far_destinations:
            far = sorted(set(self.far_origins) | set(self.far_destinations), key=str)
            out.append(
                f"{len(self.far_origins)} origin(s) and {len(self.far_destinations)} "
                f"destination(s) too far from the network ({format_values(far)})"
            )
        if self.across:
            named = "; ".join(
                f"{len(ids)} point(s): {format_values(list(ids), limit=5)}" for ids in self.parts
            )
            out.append(
                f"{self.across:,} pair(s) across the sea, between parts of the network no road "
                f"joins (other parts than the main one: {named})"
            )
        if self.beyond:
            out.append(f"{self.beyond:,} pair(s) beyond the time limit")
        return "; ".join(out)


def missing_pairs(onet: ODNetwork, orig: _Side, dest: _Side, found: int) -> MissingPairs:
    """Count and name the pairs an OD table lacks (see :class:`MissingPairs`)."""
    total = len(orig.ids) * len(dest.ids) - found
    if total == 0:
        return MissingPairs()
    far_o = tuple(orig.ids[~orig.ok].tolist())
    far_d = tuple(dest.ids[~dest.ok].tolist())
    label = network_parts(onet.rg)
    po, pd_ = label[orig.pos[orig.ok]], label[dest.pos[dest.ok]]
    n_parts = int(label.max()) + 1 if label.size else 0
    co = np.bincount(po, minlength=n_parts)
    cd = np.bincount(pd_, minlength=n_parts)
    across = int(co.sum() * cd.sum() - (co * cd).sum())
    parts: tuple[tuple[Any, ...], ...] = ()
    if across:
        main = int(np.argmax(co + cd))
        ids = np.r_[orig.ids[orig.ok], dest.ids[dest.ok]]
        where = np.r_[po, pd_]
        parts = tuple(
            tuple(pd.unique(ids[where == p]).tolist())
            for p in np.flatnonzero((co + cd) > 0)
            if p != main
        )
    far = total - across - int((~orig.ok).sum()) * len(dest.ids)
    far -= int((~dest.ok).sum()) * int(orig.ok.sum())
    return MissingPairs(total, far_o, far_d, across, parts, max(far, 0))


def network_parts(rg: RoutingGraph) -> np.ndarray:
    """Label per node position: the part of the network (connected component) it lies on."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    n = rg.n_nodes
    graph = csr_matrix((np.ones(rg.indices.size), rg.indices, rg.indptr), shape=(n, n))
    return connected_components(graph, directed=True, connection="weak")[1]


def _route(
    onet: ODNetwork,
    src_side: _Side,
    tgt_side: _Side,
    sources: np.ndarray,
    targets: np.ndarray,
    reverse: bool,
    max_minutes: float | None,
    n_threads: int | None,
) -> list[tuple[np.ndarray, ...]]:
    """Search from every source node and read the pairs of its points."""
    rg = onet.rg
    if max_minutes is not None:
        if not max_minutes >= 0:
            raise RoutingError(f"max_minutes must be >= 0; got {max_minutes!r}")
        bound = max_minutes * 60.0 - tgt_side.offset[tgt_side.ok].min()
        cutoffs = np.full(sources.size, max(bound, 0.0))
    elif sources.size >= HUB_BOUND_MIN_SOURCES:
        cutoffs = _hub_cutoffs(onet, sources, targets, reverse, n_threads)
    else:
        cutoffs = np.full(sources.size, np.inf)
    order = np.argsort(cutoffs, kind="stable")
    sources, cutoffs = sources[order], cutoffs[order]
    members_of = pd.Series(np.arange(src_side.pos.size)[src_side.ok]).groupby(
        src_side.pos[src_side.ok]
    )
    groups = {int(k): v.to_numpy() for k, v in members_of}
    in_ptr, in_tail, in_weight, in_length = _incoming(onet, reverse)
    parts: list[tuple[np.ndarray, ...]] = []
    dist = np.full(rg.n_nodes, np.inf)
    for start in range(0, sources.size, SOURCES_PER_BATCH):
        batch = sources[start : start + SOURCES_PER_BATCH]
        cutoff = float(cutoffs[start : start + SOURCES_PER_BATCH].max())
        table = travel_times_within(
            rg, rg.node_ids[batch], cutoff, reverse=reverse, n_threads=n_threads
        )
        bounds = np.searchsorted(table.origin, np.arange(batch.size + 1))
        for i, node in enumerate(batch.tolist()):
            reached = table.target[bounds[i] : bounds[i + 1]]
            dist[reached] = table.time[bounds[i] : bounds[i + 1]]
            metres = path_sums(dist, in_ptr, in_tail, in_weight, in_length, reached)
            parts.append(_pairs_for_source(src_side, tgt_side, groups[node], dist, metres, reverse))
            dist[reached] = np.inf
    return parts


def _assemble(
    parts: list[tuple[np.ndarray, ...]], orig: _Side, dest: _Side, max_minutes: float | None
) -> pd.DataFrame:
    if parts:
        o, d, secs, metres = (np.concatenate(x) for x in zip(*parts, strict=True))
    else:
        o = d = np.zeros(0, dtype=np.int64)
        secs = metres = np.zeros(0)
    same = orig.ids[o] == dest.ids[d]
    secs = np.where(same, 0.0, secs)
    metres = np.where(same, 0.0, metres)
    keep = np.isfinite(secs)
    if max_minutes is not None:
        keep &= secs <= max_minutes * 60.0
    frame = pd.DataFrame(
        {
            "origin": orig.ids[o[keep]],
            "destination": dest.ids[d[keep]],
            "minutes": secs[keep] / 60.0,
            "km": metres[keep] / 1000.0,
        }
    )
    return frame.sort_values(["origin", "destination"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Communes
# --------------------------------------------------------------------------------------


def communes_selection(sel: str, communes: NationalCommunes | gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Select the communes named by ``sel``, as points indexed by code.

    Parameters
    ----------
    sel : str
        ``all``; a département code (``38``, ``2A``); or a comma-separated list of
        département and/or commune codes (``47001,47323`` or ``47,33``).
    communes : NationalCommunes or GeoDataFrame
        :func:`~geoattract.territory.national.read_national_communes`' result or its table.

    Returns
    -------
    geopandas.GeoDataFrame
        Rows of the table, in code order; communes without location are left out (logged).

    Raises
    ------
    DataError
        Empty selection, unknown commune or département codes (listed).
    """
    table = communes.table if isinstance(communes, NationalCommunes) else communes
    text = str(sel).strip()
    if not text:
        raise DataError("commune selection is empty: use 'all', a département or commune codes")
    if text.lower() == "all":
        chosen = table
    else:
        items = [t.strip().upper() for t in text.split(",") if t.strip()]
        deps = {t for t in items if len(t) in DEPARTEMENT_CODE_LENGTHS}
        codes = [t for t in items if t not in deps]
        unknown = sorted(deps - set(table["dep"])) + sorted(set(codes) - set(table.index))
        if unknown:
            raise DataError(
                f"commune selection {sel!r}: unknown département or commune code(s): "
                f"{format_values(unknown)}"
            )
        mask = table["dep"].isin(deps) | table.index.isin(codes)
        chosen = table[mask]
    chosen = chosen.sort_index()
    nowhere = chosen.geometry.isna()
    if nowhere.any():
        logger.warning(
            "selection %r: %d commune(s) without location left out: %s",
            sel,
            int(nowhere.sum()),
            format_values(chosen.index[nowhere].tolist()),
        )
        chosen = chosen[~nowhere]
    if chosen.empty:
        raise DataError(f"commune selection {sel!r} has no commune with a location")
    return chosen


def dense_delays(points: gpd.GeoDataFrame, attrs: Mapping[str, Any]) -> pd.Series:
    """Seconds added at a point in a dense commune, from a calibrated network's attributes.

    Parameters
    ----------
    points : GeoDataFrame
        With a ``density`` column (inhabitants per km²).
    attrs : mapping
        Network attributes ``dense_delay_min`` and ``dense_density_per_km2``.

    Returns
    -------
    pandas.Series
        Seconds per point (0 when the network carries no delay or density is unknown).
    """
    if "density" not in points:
        return pd.Series(0.0, index=points.index)
    rule = SnapRule.for_graph(attrs)
    density = pd.to_numeric(points["density"], errors="coerce").to_numpy(dtype=float)
    return pd.Series(rule.delay_for_density(density), index=points.index)


#: The road layer of the shared data folder, the network of every study when none is named.
DEFAULT_ROADS_FILE: str = "roads/france_roads_travelmapping.gpkg"


def matrix_command(
    network: str | os.PathLike | None,
    sel_from: str,
    sel_to: str,
    out: str | os.PathLike,
    *,
    communes: str | os.PathLike | None = None,
    max_minutes: float | None = None,
    data_dir: str | os.PathLike | None = None,
    layer: str | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    """Back end of ``geoattract matrix --network SOURCE --from SEL --to SEL --out FILE.csv``.

    Parameters
    ----------
    network : path-like or None
        A line layer (Travel Mapping, ROUTE 500, BD TOPO) or any source of ``load_graph``;
        None: the classified roads of the shared data folder (:data:`DEFAULT_ROADS_FILE`).
    sel_from, sel_to : str
        Selections of :func:`communes_selection`.
    out : path-like
        CSV written atomically: ``origin, destination, minutes, km``.
    communes : path-like, optional
        National commune file; default ``<shared data>/france/communes_2025.gpkg``.
    max_minutes : float, optional
        Leave out pairs above this.
    data_dir : path-like, optional
        Shared data folder.
    layer, strict
        The layer of a multi-layer line file; refuse class values the preset does not know.

    Returns
    -------
    dict
        ``pairs``, ``expected_pairs``, ``missing_pairs``, ``missing`` (:class:`MissingPairs`:
        why, and which points), ``origins``, ``destinations``, ``load_seconds``,
        ``route_seconds``, ``out``.
    """
    t0 = time.perf_counter()
    if network is None:
        network = resolve_data_dir(data_dir) / DEFAULT_ROADS_FILE
    national = read_national_communes(
        communes if communes is not None else default_national_communes_path(data_dir)
    )
    # the selections are checked at the door, before the network is built
    origins = communes_selection(sel_from, national).copy()
    destinations = communes_selection(sel_to, national).copy()
    # the lines are split at every commune's town hall (one cache entry for all selections)
    net = load_network(network, town_halls=national.table.geometry, layer=layer, strict=strict)
    onet = od_network(net)
    origins["delay_s"] = dense_delays(origins, onet.attrs)
    destinations["delay_s"] = dense_delays(destinations, onet.attrs)
    t1 = time.perf_counter()
    table = od_matrix(onet, origins, destinations, max_minutes=max_minutes)
    t2 = time.perf_counter()
    with atomic_path(out) as tmp:
        table.to_csv(tmp, index=False, float_format="%.3f")
    expected = len(origins) * len(destinations)
    return {
        "pairs": len(table),
        "expected_pairs": expected,
        "missing_pairs": expected - len(table),
        "missing": table.attrs.get("missing", MissingPairs()),
        "origins": len(origins),
        "destinations": len(destinations),
        "load_seconds": round(t1 - t0, 2),
        "route_seconds": round(t2 - t1, 2),
        "out": str(Path(out)),
    }
