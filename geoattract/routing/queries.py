"""Many-to-many queries on a routing graph: nearest facility, bounded reach, counts.

- :func:`nearest_facility_times`: time from every node (or from given origins) to the nearest
  facility, in ONE multi-source Dijkstra on the reversed graph;
- :func:`reach`: the generic bounded search. For each origin, the (target, time) pairs reached
  within a cutoff, in long format: memory grows with what is reached, never with
  ``n_origins x n_nodes``. Origins are split in chunks searched in parallel threads
  (:func:`geoattract._util.parallel.map_threads`; the kernels release the GIL);
- :func:`travel_times_within`, :func:`travel_times_to`, :func:`count_within`,
  :func:`count_within_multi`, :func:`facility_access` and :func:`nearest_facility_times_multi`
  are thin aggregations of those two kernels.

Times equal :func:`networkx.single_source_dijkstra_path_length` to rounding. Unreachable pairs
are ``np.inf`` (or absent from a long table), never 0.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from geoattract._util.parallel import map_threads, thread_count
from geoattract.errors import RoutingError, format_values
from geoattract.routing.graph import ReachTable, RoutingGraph
from geoattract.routing.kernels import bounded_kernel, kernel_array, multi_source_kernel

#: Origins are cut into ``n_threads * CHUNKS_PER_THREAD`` chunks so that threads that draw
#: short searches (origins in sparse areas) pick up more chunks: simple load balancing.
CHUNKS_PER_THREAD = 4

# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


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
    dist, label = multi_source_kernel(
        kernel_array(rg.rindptr, np.int64),
        kernel_array(rg.rindices, np.int32),
        kernel_array(rg.rweights, np.float64),
        kernel_array(src, np.int64),
        kernel_array(off, np.float64),
        float(cut),
        needed,
    )
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
    graph = (
        kernel_array(graph[0], np.int64),
        kernel_array(graph[1], np.int32),
        kernel_array(graph[2], np.float64),
    )
    if target_nodes is None:
        tptr = np.zeros(1, dtype=np.int64)
        tlist = np.zeros(0, dtype=np.int64)
        toff = np.zeros(0, dtype=np.float64)
        all_nodes = True
    else:
        tptr, tlist = _target_csr(rg.n_nodes, target_nodes)
        toff = np.zeros(target_nodes.size) if target_offsets is None else target_offsets
        all_nodes = False
    origins = kernel_array(origins, np.int64)
    origin_offsets = kernel_array(origin_offsets, np.float64)
    toff = kernel_array(toff, np.float64)
    threads = thread_count(n_threads)
    n_chunks = max(1, min(origins.size, threads * CHUNKS_PER_THREAD))
    bounds = np.linspace(0, origins.size, n_chunks + 1).astype(np.int64)

    def run(i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a, b = bounds[i], bounds[i + 1]
        o, t, d = bounded_kernel(
            *graph, origins[a:b], origin_offsets[a:b], float(cutoff), tptr, tlist, toff, all_nodes
        )
        o += a
        return o, t, d

    show = "routing" if verbose else None
    parts = map_threads(run, range(n_chunks), threads, progress=show, unit="chunk")
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
    """Count facilities within thresholds and time the nearest, for many categories at once.

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
        flat = np.full(n_c * n_o, np.inf)
        key = targets.category[table.target] * n_o + table.origin
        np.minimum.at(flat, key, table.time)
        best = flat.reshape(n_c, n_o)

        def complete(ci: int) -> None:
            missing = ~np.isfinite(best[ci])
            in_cat = targets.category == ci
            if missing.any() and in_cat.any():
                times, _ = _nearest_positions(
                    rg, targets.nodes[in_cat], targets.offsets[in_cat], np.inf, org[missing]
                )
                best[ci, missing] = times + ooff[missing]

        map_threads(complete, range(n_c), n_threads)
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

    return dict(zip(specs, map_threads(run, list(specs), n_threads), strict=True))
