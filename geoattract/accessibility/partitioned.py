"""The accessibility stage by partitions: the study's own functions, run on balls of the graph.

A national study (all of France) cuts its communes into groups (one per département, or
several grouped), gives each group the *ball* of the road graph within a radius of its town
halls (:mod:`geoattract.routing.partition`), and runs on each ball the very function a
département study runs on its whole graph, :func:`~geoattract.accessibility.stage.
accessibility_table`: the same snapping legs, same-commune trips, catchment conventions (the
DREES APL, age-standardised demand). Only the values of the group's communes (its *core*) are
kept. The radius is twice the largest catchment, and at least the largest count threshold, so
those values are exact (the proof is in :mod:`geoattract.routing.partition`); a nearest time
beyond the radius is recomputed on a ball twice as wide, until it is inside or the ball is
closed. What depends on the whole study rather than on the routing (the age structure of the
study, the study's median housing prices) is computed once for the whole study and handed to
every partition. Partitions run wherever ``mapper`` sends them (a dask cluster, this process).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from geoattract.accessibility.apl import category_decay, problem_cutoff_min, study_age_means
from geoattract.accessibility.inputs import AccessibilityInputs
from geoattract.accessibility.metrics import category_accessibility
from geoattract.errors import DataError
from geoattract.routing import RoutingGraph
from geoattract.routing.partition import Ball, cut_ball, group_balls, symmetrised

logger = logging.getLogger(__name__)

#: A function running a function on every item: ``mapper(func, items, names) -> results``
#: (``geoattract``'s dask engine, or the built-in :func:`local_map`).
Mapper = Callable[[Callable[[Any], Any], Sequence[Any], Sequence[str]], list[Any]]

#: Joins the names of grouped départements (``"75,92,93"``); ``+`` marks a widening
#: round (``"47+1"``).
GROUP_JOIN: str = ","


def local_map(func: Callable[[Any], Any], items: Sequence[Any], names: Sequence[str]) -> list[Any]:
    """Run ``func`` on every item in this process (the mapper without a cluster)."""
    return [func(item) for item in items]


@dataclass(frozen=True, eq=False)
class PartitionTask:
    """What a worker gets: one ball of the graph and the study's points in it.

    Attributes
    ----------
    name : str
        ``"47"`` (a département), ``"47,82"`` (grouped), ``"47+2"`` (second widening).
    inputs : AccessibilityInputs
        The ball's routing graph and the communes and facilities snapped in it; the core
        communes have ``core`` true.
    categories : tuple of str or None
        The categories to compute (None: every one); a widening asks only those whose nearest
        time was not proven.
    radius_s : float
        The ball's radius.
    closed : bool
        No edge leaves the ball.
    """

    name: str
    inputs: AccessibilityInputs
    categories: tuple[str, ...] | None
    radius_s: float
    closed: bool


@dataclass(frozen=True, eq=False)
class PartitionAnswer:
    """A partition's values for its core communes and the nearest times still to widen."""

    name: str
    table: pd.DataFrame
    touching: dict[str, pd.Index] = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=dict)


def run_partition(task: PartitionTask) -> PartitionAnswer:
    """The accessibility table of a partition's core communes (a worker's task: pure, no I/O).

    Categories with no facility in the ball get no value there (their nearest facility lies
    beyond the radius): the core communes touch the edge and are widened, unless the ball is
    closed (then they are unreachable).
    """
    t0 = time.perf_counter()
    inputs = task.inputs
    wanted = task.categories or tuple(inputs.catalogue.ids)
    present = set(inputs.facilities["category"].unique())
    computed = [c for c in wanted if c in present]
    com = inputs.communes
    core = com.index[com["core"].to_numpy(dtype=bool) & com["in_study"].to_numpy(dtype=bool)]
    snapped = not com.loc[core, "too_far"].to_numpy(dtype=bool).all()
    if computed and snapped:
        table = category_accessibility(inputs, computed)
    else:
        table = pd.DataFrame(index=core)
    touching: dict[str, pd.Index] = {}
    offset_min = com.loc[core, "snap_s"].to_numpy(dtype=float) / 60.0
    for cid in wanted:
        name = f"time_{cid}_min"
        if name not in table:
            table[name] = np.nan
            table[f"unreachable_{cid}"] = True
        if task.closed:
            continue
        graph_min = table.loc[core, name].to_numpy(dtype=float) - offset_min
        unproven = ~(graph_min <= task.radius_s / 60.0)  # NaN (none reached) included
        unproven &= ~com.loc[core, "too_far"].to_numpy(dtype=bool)
        if unproven.any():
            touching[cid] = core[unproven]
    stats = {
        "nodes": float(inputs.rg.n_nodes),
        "edges": float(inputs.rg.n_edges),
        "communes": float(len(core)),
        "seconds": time.perf_counter() - t0,
    }
    return PartitionAnswer(task.name, table.loc[core], touching, stats)


def initial_radius_s(inputs: AccessibilityInputs, minimum_min: float = 0.0) -> float:
    """The radius of the balls (s): twice the largest catchment, at least the largest threshold.

    The catchment is the smoothed one when a spec has a time error.
    """
    radius = float(minimum_min)
    for cid in inputs.catalogue.ids:
        cat = inputs.catalogue[cid]
        radius = max(radius, float(max(cat.thresholds_min)))
        radius = max(radius, 2.0 * problem_cutoff_min(category_decay(inputs, cid), cat.catchment))
    return radius * 60.0


class Partitions(Sequence[PartitionTask]):
    """Partitions of a study's inputs, each cut when the engine asks for it.

    The engine asks for a partition just before sending it to a worker: the driver holds the
    whole graph and the partitions in flight, never all of them.
    """

    def __init__(
        self,
        inputs: AccessibilityInputs,
        sym: RoutingGraph,
        cores: Sequence[tuple[str, pd.Index, tuple[str, ...] | None]],
        radius_s: float,
    ) -> None:
        self.inputs = inputs
        self.sym = sym
        self.cores = list(cores)
        self.radius_s = float(radius_s)
        self.names = [name for name, _, _ in self.cores]
        self.sizes: dict[str, dict[str, int]] = {}
        self.seconds = 0.0

    def __len__(self) -> int:
        """Number of partitions."""
        return len(self.cores)

    def __getitem__(self, i: Any) -> Any:
        """Cut partition ``i`` (a list of them for a slice) and record its size."""
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        t0 = time.perf_counter()
        name, core, categories = self.cores[i]
        origins = self.inputs.communes.loc[core]
        origins = origins[~origins["too_far"]]
        ball = cut_ball(
            self.inputs.rg, self.sym, origins["node"].to_numpy(dtype=np.int64), self.radius_s
        )
        task = PartitionTask(
            name, ball_inputs(self.inputs, ball, core), categories, ball.radius_s, ball.closed
        )
        self.sizes[name] = {
            "nodes": int(ball.rg.n_nodes),
            "edges": int(ball.rg.n_edges),
            "core": int(len(core)),
        }
        self.seconds += time.perf_counter() - t0
        return task


def ball_inputs(inputs: AccessibilityInputs, ball: Ball, core: pd.Index) -> AccessibilityInputs:
    """The study's inputs restricted to a ball: its graph, the points snapped in it.

    Communes keep their ``in_study`` flag (the demand and supply rules of the study) and get
    ``core`` (the communes whose values the partition gives). The network is left behind
    (a worker needs the ball only).
    """
    inside = pd.Index(ball.nodes)
    com = inputs.communes
    in_ball = com["node"].isin(inside).to_numpy() & ~com["too_far"].to_numpy(dtype=bool)
    keep = in_ball | com.index.isin(core)
    communes = com[keep].copy()
    communes["core"] = communes.index.isin(core)
    fac = inputs.facilities
    facilities = fac[fac["node"].isin(inside).to_numpy()]
    ages = inputs.age_structure
    return replace(
        inputs,
        rg=ball.rg,
        communes=communes,
        facilities=facilities,
        age_structure=None if ages is None else ages.reindex(communes.index),
        network=None,
    )


def partitioned_table(
    inputs: AccessibilityInputs,
    groups: pd.Series,
    *,
    mapper: Mapper = local_map,
    radius_min: float | None = None,
    max_widenings: int = 6,
    group: bool = True,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The category indicators of every study commune, computed by partitions.

    Parameters
    ----------
    inputs : AccessibilityInputs
        The whole study's snapped inputs (:func:`~geoattract.accessibility.prepare_inputs`);
        the study's age structure is fixed for every partition (:func:`~geoattract.
        accessibility.apl.study_age_means`).
    groups : Series
        Partition key (the département) of every study commune, aligned on the study rows of
        ``inputs.communes``.
    mapper : callable
        Where partitions run: ``mapper(func, tasks, names)`` (default this process).
    radius_min : float, optional
        A larger initial radius (minutes) than :func:`initial_radius_s`.
    max_widenings : int
        Widening rounds (radius × 2 each) of the nearest times not proven inside the ball,
        before they are computed on the whole graph.
    group : bool
        Merge départements whose balls overlap (fewer partitions, less work done twice).

    Returns
    -------
    table : DataFrame
        :func:`~geoattract.accessibility.category_accessibility`'s columns on the study rows.
    stats : dict
        ``partitions``, ``radius_min``, ``largest_partition`` (of the first round: name,
        nodes, edges, core communes), ``widened`` (communes per
        round), ``global_fallback``, ``partition_seconds``, ``cut_seconds``.
    """
    if not inputs.age_means:
        inputs = replace(inputs, age_means=study_age_means(inputs))
    com = inputs.communes
    study = com.index[com["in_study"].to_numpy(dtype=bool)]
    keys = groups.reindex(study)
    if keys.isna().any():
        raise DataError(
            f"partitioned accessibility: {int(keys.isna().sum())} study commune(s) without a "
            "partition key"
        )
    sym = symmetrised(inputs.rg)
    radius = max(initial_radius_s(inputs), 60.0 * float(radius_min or 0.0))
    names = sorted(set(keys))
    cores = [keys.index[keys == k] for k in names]
    members = [[i] for i in range(len(names))]
    t0 = time.perf_counter()
    if group and len(names) > 1:
        balls = []
        for core in cores:
            nodes = com.loc[core]
            nodes = nodes[~nodes["too_far"]]["node"].to_numpy(dtype=np.int64)
            ball = cut_ball(inputs.rg, sym, nodes, radius)
            balls.append(inputs.rg.positions(ball.nodes))
        members = group_balls(balls, inputs.rg.n_nodes)
    named: list[tuple[str, pd.Index, tuple[str, ...] | None]] = [
        (
            GROUP_JOIN.join(str(names[i]) for i in m),
            cores[m[0]].append([cores[i] for i in m[1:]]),
            None,
        )
        for m in members
    ]
    parts = Partitions(inputs, sym, named, radius)
    parts.seconds += time.perf_counter() - t0
    answers = mapper(run_partition, parts, parts.names)
    first = dict(parts.sizes)
    stats: dict[str, Any] = {
        "partitions": len(parts),
        "names": list(parts.names),
        "radius_min": radius / 60.0,
        "widened": [],
    }
    pending = _touching(answers)
    for round_ in range(1, max_widenings + 1):
        if not pending:
            break
        radius *= 2
        wider = Partitions(
            inputs,
            sym,
            [(f"{name}+{round_}", idx, cats) for name, (idx, cats) in sorted(pending.items())],
            radius,
        )
        stats["widened"].append(int(sum(len(i) for i, _ in pending.values())))
        more = mapper(run_partition, wider, wider.names)
        answers.extend(more)
        pending = _touching(more)
        parts.seconds += wider.seconds
    table = _merge(answers, study)
    if pending:
        stats["global_fallback"] = _whole_graph(inputs, pending, table)
    # the first round's: the widenings hold few communes on larger balls
    largest = max(first, key=lambda k: first[k]["edges"]) if first else ""
    stats["largest_partition"] = {"name": largest, **first.get(largest, {})}
    stats["partition_seconds"] = float(sum(a.stats.get("seconds", 0.0) for a in answers))
    stats["cut_seconds"] = parts.seconds
    return table, stats


def _touching(answers: Sequence[PartitionAnswer]) -> dict[str, tuple[pd.Index, tuple[str, ...]]]:
    """Partition name (without its round) → communes to widen and the categories concerned."""
    out: dict[str, tuple[pd.Index, tuple[str, ...]]] = {}
    for ans in answers:
        cats = tuple(sorted(c for c, idx in ans.touching.items() if len(idx)))
        if cats:
            idx = ans.touching[cats[0]]
            for c in cats[1:]:
                idx = idx.union(ans.touching[c])
            out[ans.name.split("+")[0]] = (idx, cats)
    return out


def _merge(answers: Sequence[PartitionAnswer], study: pd.Index) -> pd.DataFrame:
    """The partitions' tables on the study rows.

    A later answer (a widening) overwrites the nearest-time columns it computed.
    """
    first = [a.table for a in answers if "+" not in a.name]
    table = pd.concat(first).reindex(study) if first else pd.DataFrame(index=study)
    for ans in answers:
        if "+" not in ans.name:
            continue
        for col in ans.table.columns:
            if col.startswith("time_") or col.startswith("unreachable_"):
                table.loc[ans.table.index, col] = ans.table[col].to_numpy()
    return table


def _whole_graph(
    inputs: AccessibilityInputs,
    pending: dict[str, tuple[pd.Index, tuple[str, ...]]],
    table: pd.DataFrame,
) -> int:
    """Nearest times on the whole graph for communes still unproven after the widenings."""
    count = 0
    for idx, cats in pending.values():
        sub = replace(inputs, communes=inputs.communes.assign(core=inputs.communes.index.isin(idx)))
        answer = category_accessibility(sub, list(cats))
        for cid in cats:
            for col in (f"time_{cid}_min", f"unreachable_{cid}"):
                table.loc[idx, col] = answer.loc[idx, col].to_numpy()
        count += len(idx)
    logger.warning(
        "%d commune(s) still beyond their partition's radius after the widenings: nearest times "
        "computed on the whole graph",
        count,
    )
    return count
