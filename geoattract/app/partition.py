"""Partitioned accessibility: cut a national job into départements that each give exact answers.

A partition is a *core* (the communes of one département, whose answers it computes) and a
*ball*: every node of the road graph within a travel-time radius ``R`` of a core town hall,
measured on the **symmetrised** graph (each edge usable both ways, at its time). Why this is
exact (the argument in full is in ``docs/national.md``): write ``d`` for directed times and
``d_u`` for symmetrised ones (``d_u(a, b) <= min(d(a→b), d(b→a))``, and ``d_u`` obeys the
triangle inequality).

* A count within ``T`` minutes, or a nearest facility at ``T``: every node ``n`` of the
  fastest path from origin ``i`` has ``d_u(i, n) <= d(i→n) <= T``. With ``R >= T`` the path is
  inside the ball, so Dijkstra on the ball finds it.
* E2SFCA with catchment ``C``: the answer at ``i`` needs every facility ``j`` with
  ``d(i→j) <= C`` and, for each, every demand ``k`` with ``d(k→j) <= C`` and the path between
  them. A node ``n`` on that path has ``d_u(i, n) <= d_u(i, j) + d_u(j, n) <= C + C``: a ball of
  ``R >= 2C`` holds it.
* A nearest facility beyond ``R`` is not known to be exact: the partition reports the origins
  whose answer, minus their own access leg, exceeds ``R`` (it "touches the edge"); the run
  widens their ball (``R × 2``) and asks again, until the answer is inside or the ball holds
  its whole connected component (no edge leaves it: then the answer, or "unreachable", is
  exact).

Everything here is plain numpy in, numpy out: a :class:`PartitionData` is what a worker gets
(its sub-graph and its communes and facilities, nothing national), :func:`run_partition` what
it runs. The global computation is the same function on one partition whose ball is the whole
graph, so both modes share one code path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix

from geoattract.accessibility import e2sfca
from geoattract.facilities import decay_from_config
from geoattract.routing import (
    RoutingGraph,
    facility_access,
    nearest_facility_times,
    reach,
    routing_graph_from_arrays,
)

logger = logging.getLogger(__name__)

#: Seconds per minute.
MINUTE_S: float = 60.0

#: Joins the départements of a grouped partition's name (``"75,92,93"``); ``+`` marks a
#: widening round (``"47+1"``).
GROUP_JOIN: str = ","


@dataclass(frozen=True)
class CategorySpec:
    """What a partition computes for one facility category.

    Attributes
    ----------
    id : str
        Category id (column names ``time_<id>_min``, ``count_<id>_<T>min``, ``e2sfca_<id>``).
    thresholds_min : tuple of int
        Count thresholds.
    decay : mapping
        The catalogue's decay table (:func:`~geoattract.facilities.decay_from_config`).
    e2sfca : bool
        Compute the floating catchment.
    """

    id: str
    thresholds_min: tuple[int, ...]
    decay: Mapping[str, Any]
    e2sfca: bool = True

    @property
    def catchment_min(self) -> float:
        """The decay's catchment (minutes)."""
        return float(decay_from_config(dict(self.decay)).catchment_min)


@dataclass(frozen=True, eq=False)
class Arrays:
    """A road graph as edge arrays over global node numbers (positions of the national graph).

    Attributes
    ----------
    u, v : numpy.ndarray
        Global node numbers of each directed edge.
    w : numpy.ndarray
        Edge times (s).
    nodes : numpy.ndarray
        Global numbers of the nodes the arrays use (sorted).
    x, y : numpy.ndarray
        Coordinates of ``nodes`` (EPSG:2154).
    """

    u: np.ndarray
    v: np.ndarray
    w: np.ndarray
    nodes: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return int(self.u.size)

    @property
    def nbytes(self) -> int:
        """Memory of the arrays (bytes)."""
        return int(sum(a.nbytes for a in (self.u, self.v, self.w, self.nodes, self.x, self.y)))

    def routing_graph(self) -> RoutingGraph:
        """The routing structure of these edges; node identifiers are the global numbers."""
        local = np.searchsorted(self.nodes, np.concatenate([self.u, self.v]))
        n = self.u.size
        return routing_graph_from_arrays(
            local[:n],
            local[n:],
            self.w,
            n_nodes=self.nodes.size,
            x=self.x,
            y=self.y,
            node_ids=self.nodes,
        )


@dataclass(frozen=True, eq=False)
class PointSet:
    """Points on the graph: town halls or facilities of one category.

    Attributes
    ----------
    index : numpy.ndarray
        Position of each point in the national table (communes) or the category's table.
    node : numpy.ndarray
        Global node number each point is snapped to.
    offset : numpy.ndarray
        Access leg (s) between the point and its node.
    weight : numpy.ndarray
        Population (communes) or capacity (facilities).
    """

    index: np.ndarray
    node: np.ndarray
    offset: np.ndarray
    weight: np.ndarray

    def take(self, mask: np.ndarray) -> PointSet:
        """The points where ``mask`` is true."""
        return PointSet(self.index[mask], self.node[mask], self.offset[mask], self.weight[mask])

    def __len__(self) -> int:
        """Number of points."""
        return int(self.index.size)


@dataclass(frozen=True, eq=False)
class PartitionData:
    """Everything one partition's worker needs: its ball of the graph and the points in it.

    Attributes
    ----------
    name : str
        ``"47"`` (a département), ``"47+2"`` (second widening), ``"global"``.
    graph : Arrays
        The edges with both ends in the ball.
    communes : PointSet
        Snapped communes whose node is in the ball (demand of the floating catchments).
    core : numpy.ndarray
        Positions in ``communes`` of the communes whose answers the partition gives.
    facilities : dict
        Category id → its facilities in the ball.
    facility_core_s : dict
        Category id → symmetrised time (s) from the nearest core town hall node to each
        facility's node (zeros for the global job). A floating catchment of ``C`` minutes at
        a core commune uses only the facilities with ``facility_core_s <= C``: the others are
        left out of its search (their weight at every core commune is 0).
    categories : tuple of CategorySpec
        What to compute.
    radius_s : float
        Radius of the ball (s); ``inf`` for the whole graph.
    closed : bool
        No edge leaves the ball (it is a union of connected components): every answer is
        exact, even beyond the radius.
    nearest_only : tuple of str
        When not empty, compute only the nearest times of these categories (a widening).
    """

    name: str
    graph: Arrays
    communes: PointSet
    core: np.ndarray
    facilities: dict[str, PointSet]
    facility_core_s: dict[str, np.ndarray]
    categories: tuple[CategorySpec, ...]
    radius_s: float
    closed: bool
    nearest_only: tuple[str, ...] = ()

    @property
    def nbytes(self) -> int:
        """Memory of the partition's arrays (bytes)."""
        points = [self.communes, *self.facilities.values()]
        return self.graph.nbytes + sum(
            a.nbytes for p in points for a in (p.index, p.node, p.offset, p.weight)
        )


@dataclass(frozen=True, eq=False)
class PartitionResult:
    """A partition's answers for its core communes.

    Attributes
    ----------
    name : str
        The partition.
    index : numpy.ndarray
        Positions of the core communes in the national table.
    columns : dict
        Column name → values aligned on ``index`` (times in minutes, ``inf`` unreachable).
    touching : dict
        Category id → positions (national) of core communes whose nearest time is not proven
        exact: they need a wider ball.
    stats : dict
        Nodes, edges, communes, seconds, bytes of the partition.
    """

    name: str
    index: np.ndarray
    columns: dict[str, np.ndarray]
    touching: dict[str, np.ndarray] = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=dict)


def initial_radius_min(categories: Sequence[CategorySpec], minimum: float | None = None) -> float:
    """Radius of a partition's ball: twice the largest catchment, at least the largest threshold."""
    radius = max(
        [2.0 * c.catchment_min for c in categories if c.e2sfca]
        + [float(max(c.thresholds_min)) for c in categories]
    )
    return max(radius, float(minimum or 0.0))


def run_partition(data: PartitionData) -> PartitionResult:
    """Compute a partition's answers (the worker's task; pure, no I/O).

    Parameters
    ----------
    data : PartitionData
        From :func:`~geoattract.app.partition.cut_partition` or the global cut.

    Returns
    -------
    PartitionResult
        For every core commune: ``time_<id>_min`` (``inf`` when no facility is reachable),
        ``count_<id>_<T>min`` and ``e2sfca_<id>`` (all categories, or the nearest times of
        ``nearest_only``), and the communes whose nearest answer touches the ball's edge.
    """
    t0 = time.perf_counter()
    rg = data.graph.routing_graph()
    mask = np.zeros(len(data.communes), dtype=bool)
    mask[data.core] = True
    core = data.communes.take(mask)
    columns: dict[str, np.ndarray] = {}
    touching: dict[str, np.ndarray] = {}
    cats = [c for c in data.categories if not data.nearest_only or c.id in data.nearest_only]
    if len(core):
        specs = {
            c.id: (
                data.facilities[c.id].node,
                data.facilities[c.id].weight,
                data.facilities[c.id].offset,
            )
            for c in cats
            if len(data.facilities[c.id])
        }
        thresholds = sorted({t for c in cats for t in c.thresholds_min})
        access = (
            facility_access(
                rg,
                core.node,
                specs,
                [t * MINUTE_S for t in thresholds],
                origin_offsets=core.offset,
                n_threads=1,
            )
            if specs
            else None
        )
        for c in cats:
            nearest = (
                access.nearest_s[c.id]
                if access is not None and c.id in specs
                else np.full(len(core), np.inf)
            )
            columns[f"time_{c.id}_min"] = nearest / MINUTE_S
            if not data.closed:
                graph_part = nearest - core.offset
                touching[c.id] = core.index[~(graph_part <= data.radius_s)]
            if data.nearest_only:
                continue
            for t in c.thresholds_min:
                k = thresholds.index(t)
                counts = (
                    access.counts[c.id][:, k]
                    if access is not None and c.id in specs
                    else (np.zeros(len(core)))
                )
                columns[f"count_{c.id}_{t}min"] = np.asarray(counts, dtype=float)
            if c.e2sfca:
                columns[f"e2sfca_{c.id}"] = _e2sfca(rg, data, c)[
                    np.searchsorted(data.communes.index, core.index)
                ]
    stats = {
        "nodes": float(data.graph.nodes.size),
        "edges": float(data.graph.n_edges),
        "communes": float(len(core)),
        "bytes": float(data.nbytes),
        "seconds": time.perf_counter() - t0,
    }
    return PartitionResult(data.name, core.index, columns, touching, stats)


def _e2sfca(rg: RoutingGraph, data: PartitionData, cat: CategorySpec) -> np.ndarray:
    """E2SFCA of one category for the communes of the partition (demand = all of them).

    Only the facilities within the catchment of the core (symmetrised) are searched: exact at
    the core communes, whose values are the only ones kept.
    """
    decay = decay_from_config(dict(cat.decay))
    fac = data.facilities[cat.id].take(
        data.facility_core_s[cat.id] <= decay.catchment_min * MINUTE_S
    )
    demand = data.communes
    out = np.zeros(len(demand))
    if not len(fac):
        return out
    ok = np.isfinite(demand.weight)
    table = reach(
        rg,
        fac.node,
        demand.node[ok],
        decay.catchment_min * MINUTE_S,
        origin_offsets=fac.offset,
        target_offsets=demand.offset[ok],
        reverse=True,
        n_threads=1,
    )
    out[ok] = e2sfca(
        table.target,
        table.origin,
        table.time / MINUTE_S,
        demand.weight[ok],
        fac.weight,
        decay,
    )
    out[~ok] = np.nan
    return out


# --------------------------------------------------------------------------------------------
# Cutting partitions (driver side)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class NationalJob:
    """The national inputs a driver cuts partitions from.

    Attributes
    ----------
    graph : Arrays
        The whole road graph.
    symmetric : RoutingGraph
        The graph with every edge usable both ways (for the balls).
    communes : PointSet
        Every snapped commune (``index`` = position in the national table).
    groups : numpy.ndarray
        Partition key of each commune of ``communes`` (its département).
    facilities : dict
        Category id → its facilities.
    categories : tuple of CategorySpec
    """

    graph: Arrays
    symmetric: RoutingGraph
    communes: PointSet
    groups: np.ndarray
    facilities: dict[str, PointSet]
    categories: tuple[CategorySpec, ...]

    @classmethod
    def create(
        cls,
        graph: Arrays,
        communes: PointSet,
        groups: np.ndarray,
        facilities: dict[str, PointSet],
        categories: Sequence[CategorySpec],
    ) -> NationalJob:
        """Build the job and its symmetrised routing graph."""
        sym = Arrays(
            np.concatenate([graph.u, graph.v]),
            np.concatenate([graph.v, graph.u]),
            np.concatenate([graph.w, graph.w]),
            graph.nodes,
            graph.x,
            graph.y,
        ).routing_graph()
        return cls(graph, sym, communes, np.asarray(groups), facilities, tuple(categories))

    def whole(self) -> PartitionData:
        """The global computation: one partition whose ball is the whole graph."""
        return PartitionData(
            name="global",
            graph=self.graph,
            communes=self.communes,
            core=np.arange(len(self.communes)),
            facilities=self.facilities,
            facility_core_s={k: np.zeros(len(f)) for k, f in self.facilities.items()},
            categories=self.categories,
            radius_s=np.inf,
            closed=True,
        )

    def cut(
        self,
        name: str,
        core_index: np.ndarray,
        radius_s: float,
        nearest_only: Sequence[str] = (),
    ) -> PartitionData:
        """The partition of the communes ``core_index`` (national positions) with a ball of ``radius_s``."""
        core_s = self.core_times(core_index, radius_s)
        in_ball = np.isfinite(core_s)
        keep_u, keep_v = in_ball[self.graph.u], in_ball[self.graph.v]
        edges = keep_u & keep_v
        closed = not bool(np.any(keep_u != keep_v))
        nodes = np.flatnonzero(in_ball)
        where = np.searchsorted(self.graph.nodes, nodes)
        sub = Arrays(
            self.graph.u[edges],
            self.graph.v[edges],
            self.graph.w[edges],
            nodes,
            self.graph.x[where],
            self.graph.y[where],
        )
        communes = self.communes.take(in_ball[self.communes.node])
        core = np.flatnonzero(np.isin(communes.index, core_index))
        facilities = {k: f.take(in_ball[f.node]) for k, f in self.facilities.items()}
        return PartitionData(
            name=name,
            graph=sub,
            communes=communes,
            core=core,
            facilities=facilities,
            facility_core_s={k: core_s[f.node] for k, f in facilities.items()},
            categories=self.categories,
            radius_s=float(radius_s),
            closed=closed,
            nearest_only=tuple(nearest_only),
        )

    def core_times(self, core_index: np.ndarray, radius_s: float) -> np.ndarray:
        """Symmetrised time (s) from the nearest town hall of ``core_index`` to every node.

        Indexed by global node number; ``inf`` beyond ``radius_s`` (outside the ball).
        """
        pos = np.searchsorted(self.communes.index, core_index)
        origins = np.unique(self.communes.node[pos])
        times = nearest_facility_times(self.symmetric, origins, cutoff=radius_s)
        assert isinstance(times, np.ndarray)
        inside_pos = np.flatnonzero(np.isfinite(times))
        core_s = np.full(int(self.graph.nodes.max()) + 1, np.inf)
        core_s[self.symmetric.node_ids[inside_pos]] = times[inside_pos]
        return core_s

    def partitions(self, radius_s: float, *, group: bool = False) -> PartitionCuts:
        """One partition per group (département), or per set of them, each cut when asked for.

        Parameters
        ----------
        radius_s : float
            Radius of the balls (s).
        group : bool
            Merge départements whose balls overlap (:func:`group_balls`): fewer partitions,
            less work done twice, none larger than the largest département's.
        """
        t0 = time.perf_counter()
        keys = sorted(set(self.groups))
        cores = [self.communes.index[self.groups == key] for key in keys]
        members = [[i] for i in range(len(keys))]
        if group and len(keys) > 1:
            balls = [np.flatnonzero(np.isfinite(self.core_times(c, radius_s))) for c in cores]
            members = group_balls(balls, int(self.graph.nodes.max()) + 1)
        named = [
            (
                GROUP_JOIN.join(str(keys[i]) for i in m),
                np.sort(np.concatenate([cores[i] for i in m])),
                (),
            )
            for m in members
        ]
        cuts = PartitionCuts(self, named, radius_s)
        cuts.seconds = time.perf_counter() - t0  # planning (the balls of the grouping)
        return cuts


class PartitionCuts(Sequence[PartitionData]):
    """Partitions of a job, each cut when it is asked for.

    The engine asks for a partition just before sending it to a worker, so the driver holds
    the national graph and the partitions in flight, never all of them.

    Parameters
    ----------
    job : NationalJob
        The job to cut.
    cores : sequence of (name, core_index, nearest_only)
        One entry per partition: its name, the national positions of its core communes and
        the categories of a widening (``()``: everything).
    radius_s : float
        Radius of the balls (s).

    Attributes
    ----------
    names : list of str
        The partitions' names, in order.
    sizes : dict
        Name → ``nodes``, ``edges``, ``bytes``, ``core`` (communes) of each partition cut so
        far.
    seconds : float
        Time spent in the driver planning and cutting them so far.
    """

    def __init__(
        self,
        job: NationalJob,
        cores: Sequence[tuple[str, np.ndarray, tuple[str, ...]]],
        radius_s: float,
    ) -> None:
        self.job = job
        self.cores = list(cores)
        self.radius_s = float(radius_s)
        self.names = [name for name, _, _ in self.cores]
        self.sizes: dict[str, dict[str, int]] = {}
        self.seconds = 0.0

    def __len__(self) -> int:
        """Number of partitions."""
        return len(self.cores)

    @overload
    def __getitem__(self, i: int) -> PartitionData: ...

    @overload
    def __getitem__(self, i: slice) -> list[PartitionData]: ...

    def __getitem__(self, i: int | slice) -> PartitionData | list[PartitionData]:
        """Cut partition ``i`` (or a list of them for a slice) and record its size."""
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        t0 = time.perf_counter()
        name, core_index, nearest_only = self.cores[i]
        part = self.job.cut(name, core_index, self.radius_s, nearest_only=nearest_only)
        self.sizes[name] = {
            "nodes": int(part.graph.nodes.size),
            "edges": part.graph.n_edges,
            "bytes": part.nbytes,
            "core": int(part.core.size),
        }
        self.seconds += time.perf_counter() - t0
        return part


def group_balls(balls: Sequence[np.ndarray], n_nodes: int) -> list[list[int]]:
    """Group partitions whose balls overlap, none larger than the largest ball.

    Greedy: merge the two groups that share the most nodes, as long as their union has no
    more nodes than the largest single ball (so the memory a worker needs does not grow),
    until no two groups overlap within that bound. The union of two balls is the ball of
    the union of their cores: the merged partition is exact as its members were.

    Parameters
    ----------
    balls : sequence of numpy.ndarray
        Node numbers (unique) of each partition's ball.
    n_nodes : int
        Upper bound of the node numbers.

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
    """Run a partition of a 16-node graph, which loads (or compiles) the routing kernels."""
    side = np.arange(16, dtype=np.int64)
    u = np.concatenate([side[:-1], side[1:]])
    v = np.concatenate([side[1:], side[:-1]])
    arrays = Arrays(u, v, np.full(u.size, 60.0), side, side * 100.0, side * 0.0)
    points = PointSet(side[:2], side[:2], np.zeros(2), np.ones(2))
    spec = CategorySpec("warm-up", (10,), {"type": "apl"})
    job = NationalJob.create(arrays, points, np.zeros(2), {spec.id: points}, [spec])
    run_partition(job.partitions(initial_radius_min([spec]) * MINUTE_S)[0])


def merge_results(
    results: Sequence[PartitionResult], n: int, columns: Sequence[str]
) -> dict[str, np.ndarray]:
    """Assemble partition answers into national columns (positions ``0..n-1``; NaN unanswered).

    Later results win (a widening overwrites the nearest times it recomputed).
    """
    out = {c: np.full(n, np.nan) for c in columns}
    for res in results:
        for name, values in res.columns.items():
            out.setdefault(name, np.full(n, np.nan))[res.index] = values
    return out


def frame_of(columns: Mapping[str, np.ndarray], index: pd.Index) -> pd.DataFrame:
    """The national columns as a DataFrame on ``index`` (the national table's)."""
    return pd.DataFrame({k: np.asarray(v) for k, v in columns.items()}, index=index)
