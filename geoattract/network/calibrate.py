"""Calibrate a line network's edge rule against reference drive times (robust least squares).

Model of a trip from commune ``o`` to commune ``d`` (town halls snapped to snappable nodes;
a network built here from a file is split where every town hall meets it, see
:mod:`geoattract.network.split`): the sum over the edges of its fastest path of the network's
own edge rule (:func:`geoattract.network.line_model.edge_speeds`,
:func:`~geoattract.network.line_model.edge_delays`), plus the access legs and dense ends:

``T = Σ_c L_c · p_c + Σ_r L_r · p_r + W · p_w + Σ_g J_g · t_g + U · p_u + (a_o + a_d) · p_a
+ δ · (dense_o + dense_d)``

* ``L_c``: metres of *geometry* of class ``c`` on the path, ``p_c = detour_c / speed_c`` its
  pace; ``L_r`` the metres of a class on roads of at least a route tier's length
  (:data:`ROUTE_TIERS_KM`: secondary roads of 30 and 80 km), ``p_r`` their pace. Reference
  times alone cannot tell a longer road from a slower one, so only the *pace* is fitted; the
  detour factors are documented priors (:data:`DETOUR_PRIORS`) that only set the ``km`` of the
  outputs, and the reported speed is ``detour / pace``, bounded by the speed limit
  (:data:`MAX_SPEEDS_KPH`);
* ``W``: winding metres (geometry length × ``1 − chord / length`` of each line), ``p_w`` the
  winding pace; ``J_g``: junctions entered (head nodes with 3 or more distinct neighbours) by
  an edge of a class of group ``g`` (:data:`JUNCTION_GROUPS`), ``t_g`` its delay; ``U``:
  metres inside built-up discs around the town halls (:data:`BUILT_UP_DENSITY_PER_KM2`),
  ``p_u`` the urban pace. All fitted in log space without ridge;
* ``a``: straight-line snap distances, ``p_a = access_detour / access_speed`` (the access
  detour is fixed at :data:`~geoattract.network.snapping.LINES_SNAP_DETOUR`, the speed bounded
  to :data:`ACCESS_SPEED_BOUNDS_KPH`);
* ``δ``: minutes lost at each end in a dense commune (population density above
  ``dense_density_per_km2``): urban streets the layer does not have.

**Fit.** Residuals are log errors ``log(T / T_ref)`` (a relative error that treats a 10-min
and a 400-min trip alike and is symmetric between too fast and too slow), each reference
table, and its trips under :data:`~geoattract.network.calibration.SHORT_TRIP_MIN` apart,
weighted to the same total times the table's weight (65,000 pairs of one département must
not drown 2,600 long trips nor 97 préfecture pairs), with a soft-L1 loss (``f_scale`` =
:data:`LOSS_SCALE`): quadratic for errors below about 5 %, linear above, so that a few trips
the network cannot represent (a missing bridge, a ferry, a town hall far from any road) do
not drag the values. ``scipy.optimize.least_squares`` minimises it, with a weak ridge towards
the preset's values for classes the trips barely use.

**Iterations.** Routing once per parameter evaluation is too slow, so each iteration routes
once (one Dijkstra per distinct origin, :mod:`scipy.sparse.csgraph`, on the network around
the trips), decomposes every trip into the priced quantities along its fastest path
(:mod:`geoattract.network.trees`), fits on that fixed decomposition, and re-routes, until the
trip times move by less than :data:`CONVERGENCE_LOG_TOLERANCE` (damped steps after
:data:`DAMPED_AFTER` iterations).

**Hold-out.** In every table: whole départements of one-destination tables (long trips) and
whole communes of pair tables are kept out of the fit and reported separately, per trip
length band, terrain and setting (:func:`geoattract.network.calibration.trip_groups`);
``seeds`` repeats the fit for other draws.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from geoattract.errors import DataError, format_values
from geoattract.network.calibration import (
    DETOUR_PRIORS,
    LOSS_SCALE,
    SHORT_TRIP_MIN,
    CalibrationResult,
    Parameters,
    trip_groups,
)
from geoattract.network.line_model import BUILT_UP_DENSITY_KEY, class_delays, parse_route_key
from geoattract.network.lines import LineNetwork, line_network
from geoattract.network.references import Holdout, Reference, read_reference
from geoattract.network.snapping import (
    LINES_SNAP_DETOUR,
    LINES_SNAP_MAX_DISTANCE_M,
    LINES_SNAP_SPEED_KPH,
    snap_points,
    snap_report,
)
from geoattract.network.trees import incoming_csr, path_sums
from geoattract.territory.national import read_national_communes

logger = logging.getLogger(__name__)

#: Population density (inhabitants per km²) above which a commune counts as dense (its
#: streets, absent from a classified-road layer, cost the dense delay at each end).
DENSE_DENSITY_PER_KM2: float = 1500.0

#: Standard deviation (log units) of the ridge pulling each pace towards its initial value,
#: and the weight of each ridge term (the reference tables weigh 1 each).
PRIOR_SIGMA: float = 0.5
PRIOR_WEIGHT: float = 1e-3

#: Largest dense delay the fit may use (minutes).
MAX_DENSE_DELAY_MIN: float = 30.0

#: Bounds of the access-leg speed (km/h at the fixed access detour): a real drive on
#: unlisted roads. Unbounded, the préfecture pairs pull it to 150 km/h or more (their town
#: halls lie on the classified roads or close to them) and the short trips become too fast.
ACCESS_SPEED_BOUNDS_KPH: tuple[float, float] = (15.0, 50.0)

#: Highest speed (km/h, at the class's detour prior) the fit may give a class or its long
#: roads: the speed limit (motorways 130, 2×2 expressways 110, other roads 90; ramps 90).
#: Without it, the fit trades too fast a pace between junctions against too long a delay at
#: them (national roads at 138 km/h and 47 s per junction).
MAX_SPEEDS_KPH: Mapping[str, float] = {
    "motorway": 130.0,
    "motorway_link": 90.0,
    "trunk": 110.0,
    "primary": 90.0,
    "secondary": 90.0,
    "tertiary": 90.0,
}

#: Bounds of the log of the edge weights (paces, delays): keeps a value no trip uses finite.
LOG_VALUE_BOUNDS: tuple[float, float] = (-15.0, 6.0)

#: Route tiers fitted by default: secondary lines of roads (all lines of one road number) of
#: at least 30 and at least 80 km of geometry. Départementales run from 2-km links between
#: villages to former national roads crossing the département; the road's length tells them
#: apart everywhere (Travel Mapping numbers its roads per département: D813-47).
ROUTE_TIERS_KM: tuple[tuple[str, float], ...] = (("secondary", 30.0), ("secondary", 80.0))

#: Classes sharing a junction delay (by the class of the edge entering the junction); the
#: other classes (secondary, tertiary…) share one more.
JUNCTION_GROUPS: tuple[tuple[str, ...], ...] = (("motorway", "motorway_link"), ("trunk",))

#: Density (inhabitants per km²) of the built-up disc drawn around each town hall: a
#: commune of 1,000 inhabitants gets a disc of 400 m of radius, one of 30,000 of 2.2 km.
BUILT_UP_DENSITY_PER_KM2: float = 2000.0

#: A pair table whose communes span more than this (m, east–west or north–south) is routed
#: origin by origin, each on the network around its trips; a smaller one on one region.
LOCAL_TABLE_SPAN_M: float = 250_000.0

#: Routing–fitting iterations: stop when the trip times (model, re-routed) move by less than
#: the tolerance (log: 0.5 %) for the ``CONVERGENCE_QUANTILE`` of the trips. The values themselves
#: need not settle: a weakly identified one (the motorway junction delay) follows the
#: fastest paths of a few trips, which can flip between two sets. From iteration
#: ``DAMPED_AFTER + 1`` on, a step moves only ``DAMPING`` of the way to the new fit.
MAX_ITERATIONS: int = 8
CONVERGENCE_LOG_TOLERANCE: float = 5e-3
CONVERGENCE_QUANTILE: float = 0.95
DAMPED_AFTER: int = 3
DAMPING: float = 0.5

#: Pair tables are routed on the network within this margin (m) of their communes' extent.
PAIRS_MARGIN_M: float = 50_000.0


@dataclass
class _Region:
    """A part of the network where a group of trips is routed."""

    nodes: np.ndarray  # global node ids in the region
    edges: np.ndarray  # global edge indices inside it
    local: np.ndarray  # global node → local index (-1 outside)


def edge_values(net: LineNetwork, params: Parameters) -> np.ndarray:
    """Per edge, the quantities the parameters price (columns of :meth:`Parameters.edge_weights`).

    Metres of geometry of its class (or of its route tier, when its road is long enough),
    winding metres, 1 per junction group where its head is a junction and its class in the
    group, metres inside built-up areas. ``values @ params.edge_weights()`` is the edge's
    travel time on the network built with these parameters.
    """
    m, k, t = net.n_edges, len(net.classes), len(params.route_tiers)
    values = np.zeros((m, params.n_edge_values))
    column = net.klass.astype(np.int64)
    for i, (name, min_km) in sorted(
        enumerate(params.route_tiers), key=lambda item: item[1][1]
    ):  # ascending minimum: the highest tier reached wins
        with np.errstate(invalid="ignore"):
            on = (net.klass == net.classes.index(name)) & (net.route_length >= min_km * 1000.0)
        column[on] = k + i
    values[np.arange(m), column] = net.geometry_length
    values[:, k + t] = net.winding_length
    head = net.junction_head().astype(float)
    # each edge's junction group: that of its class, or of a "class>=km" key its road reaches
    table = {member: g for g, group in enumerate(params.junction_groups) for member in group}
    group_of = class_delays(net.classes, net.klass, _group_table(table), net.route_length)
    for g in range(len(params.junction_groups)):
        values[:, k + t + 1 + g] = head * (group_of == g + 1)
    values[:, -1] = net.urban_length
    return values


def _group_table(table: Mapping[str, int]) -> dict[str, float]:
    """Group number + 1 of each key (0: no group), as a table :func:`class_delays` reads."""
    return {member: float(g + 1) for member, g in table.items()}


class _Router:
    """Decomposes trips into the priced quantities along their fastest paths."""

    def __init__(self, net: LineNetwork, trips: pd.DataFrame, values: np.ndarray) -> None:
        self.net = net
        self.values = values
        self.trips = trips
        self.regions: list[tuple[np.ndarray, _Region, bool]] = []
        everything = _Region(
            np.arange(net.n_nodes), np.arange(net.n_edges), np.arange(net.n_nodes, dtype=np.int64)
        )
        to_one = (trips["kind"] == "to_one").to_numpy()
        if to_one.any():
            self.regions.append((np.flatnonzero(to_one), everything, True))
        o_node = trips["o_node"].to_numpy()
        for ref in trips.loc[~to_one, "reference"].unique():
            idx = np.flatnonzero((trips["reference"] == ref).to_numpy() & ~to_one)
            if self._span(idx) <= LOCAL_TABLE_SPAN_M:
                self.regions.append((idx, self._region(idx), False))
                continue
            for s in np.unique(o_node[idx]):  # a table across France: a region per origin
                rows = idx[o_node[idx] == s]
                self.regions.append((rows, self._region(rows), False))

    def _ends(self, idx: np.ndarray) -> np.ndarray:
        return np.r_[self.trips["o_node"].to_numpy()[idx], self.trips["d_node"].to_numpy()[idx]]

    def _span(self, idx: np.ndarray) -> float:
        ends = self._ends(idx)
        net = self.net
        return float(max(np.ptp(net.x[ends]), np.ptp(net.y[ends])))

    def _region(self, idx: np.ndarray) -> _Region:
        net = self.net
        ends = self._ends(idx)
        x0, x1 = net.x[ends].min() - PAIRS_MARGIN_M, net.x[ends].max() + PAIRS_MARGIN_M
        y0, y1 = net.y[ends].min() - PAIRS_MARGIN_M, net.y[ends].max() + PAIRS_MARGIN_M
        inside = (net.x >= x0) & (net.x <= x1) & (net.y >= y0) & (net.y <= y1)
        edges = np.flatnonzero(inside[net.u] & inside[net.v])
        nodes = np.flatnonzero(inside)
        local = np.full(net.n_nodes, -1, dtype=np.int64)
        local[nodes] = np.arange(nodes.size)
        return _Region(nodes, edges, local)

    def decompose(self, weights: np.ndarray) -> np.ndarray:
        """(n_trips, n_values) quantities on each trip's fastest path (NaN: none).

        ``weights`` are the seconds per unit of each (:meth:`Parameters.edge_weights`).
        """
        net = self.net
        weight = self.values @ weights
        out = np.full((len(self.trips), self.values.shape[1]), np.nan)
        o_node = self.trips["o_node"].to_numpy()
        d_node = self.trips["d_node"].to_numpy()
        for idx, region, reverse in self.regions:
            e = _fastest(region.edges, net.u, net.v, weight)
            u, v = region.local[net.u[e]], region.local[net.v[e]]
            n = region.nodes.size
            w, vals = weight[e], self.values[e]
            graph = csr_matrix((w, (u, v)), shape=(n, n))
            if reverse:
                graph = graph.T.tocsr()
            # search direction: reversed graph for one-destination trips (u ← v)
            tail, head = (v, u) if reverse else (u, v)
            ptr, order = incoming_csr(n, tail, head)
            incoming = (ptr, tail[order], w[order], vals[order])
            sources = d_node[idx] if reverse else o_node[idx]
            targets = o_node[idx] if reverse else d_node[idx]
            for s in np.unique(sources):
                dist = dijkstra(graph, indices=region.local[s])
                sums = path_sums(dist, *incoming)
                rows = np.flatnonzero(sources == s)
                out[idx[rows]] = sums[region.local[targets[rows]]]
        return out


def _fastest(edges: np.ndarray, u: np.ndarray, v: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Keep, among ``edges``, no self-loop and the lightest edge of each parallel group."""
    e = edges[u[edges] != v[edges]]
    order = e[np.lexsort((weight[e], v[e], u[e]))]
    first = np.ones(order.size, dtype=bool)
    first[1:] = (u[order][1:] != u[order][:-1]) | (v[order][1:] != v[order][:-1])
    return order[first]


# --------------------------------------------------------------------------------------
# Fit
# --------------------------------------------------------------------------------------


def _model_seconds(
    params: Parameters, lengths: np.ndarray, access_m: np.ndarray, dense: np.ndarray
) -> np.ndarray:
    return (
        lengths @ params.edge_weights()
        + access_m * params.access_pace
        + dense * params.dense_delay_s
    )


def _fit(
    start: Parameters,
    prior: Parameters,
    lengths: np.ndarray,
    access_m: np.ndarray,
    dense: np.ndarray,
    ref_s: np.ndarray,
    weight: np.ndarray,
) -> Parameters:
    """One weighted soft-L1 least-squares fit of the log errors on a fixed decomposition.

    Variables (:meth:`Parameters.vector`): log edge weights, log access pace, dense delay.
    The class paces and the access pace get the weak ridge towards ``prior``; the access
    speed is bounded to :data:`ACCESS_SPEED_BOUNDS_KPH`, the dense delay to
    ``[0, MAX_DENSE_DELAY_MIN]``.
    """
    k = len(start.classes)
    nv = start.n_edge_values
    x_prior = prior.vector()
    ridge = np.r_[np.arange(k), nv]  # class paces and access pace
    n = ref_s.size

    def residuals(x: np.ndarray) -> np.ndarray:
        model = lengths @ np.exp(x[:nv]) + access_m * np.exp(x[nv]) + dense * x[nv + 1]
        return np.r_[np.log(model / ref_s), (x[ridge] - x_prior[ridge]) / PRIOR_SIGMA]

    def jacobian(x: np.ndarray) -> np.ndarray:
        w = np.exp(x[:nv])
        model = lengths @ w + access_m * np.exp(x[nv]) + dense * x[nv + 1]
        jac = np.zeros((n + ridge.size, nv + 2))
        jac[:n, :nv] = lengths * w / model[:, None]
        jac[:n, nv] = access_m * np.exp(x[nv]) / model
        jac[:n, nv + 1] = dense / model
        jac[n + np.arange(ridge.size), ridge] = 1.0 / PRIOR_SIGMA
        return jac

    row_weight = np.r_[weight, np.full(ridge.size, PRIOR_WEIGHT)]
    data = np.r_[np.ones(n, dtype=bool), np.zeros(ridge.size, dtype=bool)]

    def loss(z: np.ndarray) -> np.ndarray:
        rho = np.empty((3, z.size))
        root = np.sqrt(1.0 + z)
        rho[0] = np.where(data, 2.0 * (root - 1.0), z)
        rho[1] = np.where(data, 1.0 / root, 1.0)
        rho[2] = np.where(data, -0.5 / (root * (1.0 + z)), 0.0)
        return rho * row_weight

    # no ridge on the route tiers, winding, junction and urban values: the trips pin them
    slow_kph, fast_kph = ACCESS_SPEED_BOUNDS_KPH
    lower = np.r_[np.full(nv, LOG_VALUE_BOUNDS[0]), np.log(LINES_SNAP_DETOUR / fast_kph * 3.6), 0.0]
    upper = np.r_[
        np.full(nv, LOG_VALUE_BOUNDS[1]),
        np.log(LINES_SNAP_DETOUR / slow_kph * 3.6),
        MAX_DENSE_DELAY_MIN * 60.0,
    ]
    classes = [*start.classes, *(c for c, _ in start.route_tiers)]
    for i, c in enumerate(classes):  # pace = detour / speed: the speed limit bounds it below
        if c in MAX_SPEEDS_KPH:
            lower[i] = np.log(DETOUR_PRIORS.get(c, 1.0) / MAX_SPEEDS_KPH[c] * 3.6)
    x0 = np.clip(start.vector(), lower, upper)
    from scipy.optimize import least_squares  # here: scipy.optimize takes 0.7 s to import

    res = least_squares(
        residuals, x0, jac=jacobian, bounds=(lower, upper), loss=loss, f_scale=LOSS_SCALE
    )
    return start.with_vector(res.x)


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------


def _class_speeds(net: LineNetwork) -> dict[str, float]:
    """Class speed of the network (edges whose speed does not come from a column)."""
    out = {}
    for k, c in enumerate(net.classes):
        on = (net.klass == k) & ~net.speed_from_column
        out[c] = (
            float(np.median(net.speed_kph[on]))
            if on.any()
            else float(np.median(net.speed_kph[net.klass == k]))
        )
    return out


def _trips(
    net: LineNetwork, refs: Sequence[Reference], table: pd.DataFrame, dense_threshold: float
) -> tuple[pd.DataFrame, dict[str, int]]:
    """One row per usable reference trip, with snapped nodes, access metres and dense ends."""
    trips = pd.concat(
        [
            pd.DataFrame(
                {
                    "reference": r.name,
                    "kind": r.kind,
                    "origin": r.origin,
                    "destination": r.destination,
                    "ref_min": r.minutes,
                }
            )
            for r in refs
        ],
        ignore_index=True,
    )
    located = table.index[table.geometry.notna()]
    known = trips["origin"].isin(located) & trips["destination"].isin(located)
    dropped = {"unknown_commune": int((~known).sum())}
    if dropped["unknown_commune"]:
        missing = sorted((set(trips["origin"]) | set(trips["destination"])) - set(located))
        logger.warning(
            "%d reference trip(s) name communes without location: %s",
            dropped["unknown_commune"],
            format_values(missing),
        )
    trips = trips[known].reset_index(drop=True)
    codes = pd.Index(sorted(set(trips["origin"]) | set(trips["destination"])))
    points = table.loc[codes]
    snapped = snap_points(
        net.nodes_frame(),
        points.geometry,
        max_distance_m=LINES_SNAP_MAX_DISTANCE_M,
        speed_kph=LINES_SNAP_SPEED_KPH,
        what="reference communes",
    )
    logger.info("reference communes: %s", snap_report(snapped, points["nom"]))
    ok = ~snapped["too_far"]
    near = trips["origin"].map(ok) & trips["destination"].map(ok)
    dropped["too_far"] = int((~near).sum())
    trips = trips[near].reset_index(drop=True)
    node = snapped["node"].astype("int64", errors="ignore")
    dist = snapped["snap_distance_m"]
    dense = points["density"].fillna(0.0) > dense_threshold
    for end in ("origin", "destination"):
        trips[f"{end}_name"] = trips[end].map(points["nom"])
        trips[f"{end[0]}_node"] = trips[end].map(node).astype(np.int64)
    trips["origin_dep"] = trips["origin"].map(points["dep"])
    trips["access_m"] = trips["origin"].map(dist) + trips["destination"].map(dist)
    trips["dense"] = trips["origin"].map(dense).astype(float) + trips["destination"].map(
        dense
    ).astype(float)
    return trips, dropped


def _fit_weights(
    trips: pd.DataFrame, train: np.ndarray, weights: Mapping[str, float]
) -> np.ndarray:
    """Weight of each trip in the fit.

    Every table, and its trips under 20 min apart, weighs its table's weight in total (1
    unless given).
    """
    group = trips["reference"] + np.where(trips["ref_min"] < SHORT_TRIP_MIN, " (short)", "")
    sizes = group[train].value_counts()
    scale = trips["reference"].map(lambda r: float(weights.get(r, 1.0))).to_numpy(dtype=float)
    return scale / group.map(sizes).fillna(1.0).to_numpy(dtype=float)


def _iterate(
    router: _Router,
    trips: pd.DataFrame,
    initial: Parameters,
    max_iterations: int,
    weights: Mapping[str, float],
    start: tuple[Parameters, np.ndarray] | None = None,
) -> tuple[Parameters, list[dict[str, float]], np.ndarray]:
    """Route, fit, re-route until the values settle; returns the last decomposition too.

    ``start``: values and their decomposition to start from (another hold-out's fit),
    instead of the initial values with the starting delays.
    """
    access = trips["access_m"].to_numpy(dtype=float)
    dense = trips["dense"].to_numpy(dtype=float)
    ref_s = trips["ref_min"].to_numpy(dtype=float) * 60.0
    train = ~trips["holdout"].to_numpy(dtype=bool)
    weight = _fit_weights(trips, train, weights)
    if start is None:
        params = initial.started()
        lengths = router.decompose(params.edge_weights())
    else:
        params, lengths = start
    history: list[dict[str, float]] = []
    times = _model_seconds(params, lengths, access, dense)
    for _ in range(max_iterations):
        t0 = time.perf_counter()
        use = train & np.isfinite(lengths).all(axis=1)
        new = _fit(params, initial, lengths[use], access[use], dense[use], ref_s[use], weight[use])
        if len(history) >= DAMPED_AFTER:  # route choices can flip between two sets: damp
            new = new.with_vector(DAMPING * new.vector() + (1.0 - DAMPING) * params.vector())
        value_change = float(np.abs(new.vector()[:-1] - params.vector()[:-1]).max())
        params = new
        lengths = router.decompose(params.edge_weights())
        new_times = _model_seconds(params, lengths, access, dense)
        with np.errstate(invalid="ignore", divide="ignore"):
            moved = np.abs(np.log(new_times / times))
        change = float(np.nanquantile(moved, CONVERGENCE_QUANTILE))
        times = new_times
        history.append(
            {
                "time_change": change,
                "largest_log_change": value_change,
                "seconds": round(time.perf_counter() - t0, 2),
            }
        )
        logger.info(
            "calibration iteration %d: trip times moved %.2e (%.0f %% quantile), values %.2e; "
            "speeds %s, route speeds %s, access %.1f km/h, dense delay %.2f min, winding %.4f "
            "s/m, junctions %s s, urban %.4f s/m",
            len(history),
            change,
            100 * CONVERGENCE_QUANTILE,
            value_change,
            params.speeds_kph(),
            params.route_speeds_kph(),
            params.access_speed_kph(),
            params.dense_delay_s / 60.0,
            params.winding_pace,
            np.round(params.junction_delay_s, 2).tolist(),
            params.urban_pace,
        )
        if change < CONVERGENCE_LOG_TOLERANCE:
            break
    return params, history, lengths


def _junction_groups(
    classes: tuple[str, ...], groups: Sequence[Sequence[str]]
) -> tuple[tuple[str, ...], ...]:
    """The given groups (members of the network's classes only), then one of the others.

    A member is a class or a ``class>=km`` key (the class on its long roads).
    """
    out = [tuple(c for c in g if parse_route_key(c)[0] in classes) for g in groups]
    out = [g for g in out if g]
    rest = tuple(c for c in classes if not any(c in g for g in out))
    return tuple(out + ([rest] if rest else []))


@dataclass
class _Prepared:
    """Everything a fit needs besides the hold-out: network, trips, router, start values."""

    net: LineNetwork
    name: str
    refs: list[Reference]
    trips: pd.DataFrame
    dropped: dict[str, int]
    router: _Router
    initial: Parameters
    before: np.ndarray  # decomposition of every trip on the uncalibrated network


def _prepare(
    network_source: str | os.PathLike | LineNetwork,
    references: Iterable[str | os.PathLike | pd.DataFrame | Reference],
    communes: str | os.PathLike | pd.DataFrame | None,
    preset: str | None,
    dense_density_per_km2: float,
    route_tiers: Sequence[tuple[str, float]],
    junction_groups: Sequence[Sequence[str]],
    built_up_density_per_km2: float,
) -> _Prepared:
    refs = [r if isinstance(r, Reference) else read_reference(r) for r in references]
    if not refs:
        raise DataError("calibrate: give at least one reference table")
    table = (
        communes if isinstance(communes, pd.DataFrame) else read_national_communes(communes).table
    )
    if isinstance(network_source, LineNetwork):
        net, name = network_source, str(network_source.attrs.get("source", "line network"))
    else:  # split at every town hall, as the OD matrix; built-up areas of every commune
        net = line_network(
            network_source,
            preset=preset,
            calibration=None,
            split_points=table.geometry,
            settlements=table if "population" in table else None,
            built_up_density_per_km2=built_up_density_per_km2,
        )
        name = Path(network_source).name
    trips, dropped = _trips(net, refs, table, dense_density_per_km2)
    if trips.empty:
        raise DataError("calibrate: no reference trip has both communes near the network")
    initial = Parameters.initial(
        net,
        _class_speeds(net),
        route_tiers=tuple((c, float(km)) for c, km in route_tiers),
        junction_groups=_junction_groups(net.classes, junction_groups),
        built_up_density_per_km2=float(net.attrs.get(BUILT_UP_DENSITY_KEY, 0.0) or 0.0),
    )
    router = _Router(net, trips, edge_values(net, initial))
    before = router.decompose(initial.edge_weights())
    return _Prepared(net, name, refs, trips, dropped, router, initial, before)


def _run(
    prep: _Prepared,
    holdout: Holdout,
    weights: Mapping[str, float],
    dense_density_per_km2: float,
    max_iterations: int,
    start: tuple[Parameters, np.ndarray] | None = None,
) -> tuple[CalibrationResult, np.ndarray]:
    """Fit on the training trips of one hold-out and measure every trip.

    Returns the result and the last decomposition of the trips.
    """
    t0 = time.perf_counter()
    trips = prep.trips.copy()
    held, deps, n_communes = holdout.mask(trips)
    trips["holdout"] = held
    params, history, lengths = _iterate(
        prep.router, trips, prep.initial, max_iterations, weights, start
    )
    access = trips["access_m"].to_numpy(dtype=float)
    dense = trips["dense"].to_numpy(dtype=float)
    initial = prep.initial
    before = _model_seconds(initial, prep.before, access, dense)
    trips["before_min"] = before / 60.0
    trips["after_min"] = _model_seconds(params, lengths, access, dense) / 60.0
    n_geom = len(params.classes) + len(params.route_tiers)
    classes = [*params.classes, *(c for c, _ in params.route_tiers)]
    detour = np.array([DETOUR_PRIORS.get(c, 1.0) for c in classes])
    geometry = lengths[:, :n_geom]
    trips["km"] = (geometry @ detour + access * LINES_SNAP_DETOUR) / 1000.0
    with np.errstate(invalid="ignore", divide="ignore"):
        trips["winding_share"] = lengths[:, n_geom] / geometry.sum(axis=1)
    groups = trip_groups(
        trips["ref_min"].to_numpy(), trips["winding_share"].to_numpy(), trips["dense"].to_numpy()
    )
    trips[groups.columns] = groups.to_numpy()
    dropped = {**prep.dropped, "unreachable": int((~np.isfinite(trips["after_min"])).sum())}
    return CalibrationResult(
        params=params,
        initial=initial,
        trips=trips.drop(columns=["o_node", "d_node"]),
        dense_density_per_km2=float(dense_density_per_km2),
        holdout_departements=deps,
        holdout_communes=n_communes,
        iterations=history,
        network=prep.name,
        references=tuple(
            Path(r.source).name if r.source != "DataFrame" else r.name for r in prep.refs
        ),
        dropped=dropped,
        weights={r.name: float(weights.get(r.name, 1.0)) for r in prep.refs},
        seconds=time.perf_counter() - t0,
    ), lengths


def _seed_rows(result: CalibrationResult, seed: int) -> list[dict[str, Any]]:
    """Held-out figures of a result, one row per reference, for the robustness table."""
    rows = []
    figures = result.figures()
    held = figures[(figures["set"] == "holdout") & (figures["stage"] == "after")]
    for row in held.itertuples(index=False):
        rows.append(
            {
                "seed": seed,
                "reference": row.reference,
                "n": row.n,
                "median_rel_error": row.median_rel_error,
                "median_abs_rel_error": row.median_abs_rel_error,
                "short_median_abs_rel_error": row.short_median_abs_rel_error,
            }
        )
    return rows


def calibrate(
    network_source: str | os.PathLike | LineNetwork,
    references: Iterable[str | os.PathLike | pd.DataFrame | Reference],
    *,
    holdout: Holdout | None = None,
    out: str | os.PathLike | None = None,
    communes: str | os.PathLike | pd.DataFrame | None = None,
    preset: str | None = None,
    dense_density_per_km2: float = DENSE_DENSITY_PER_KM2,
    max_iterations: int = MAX_ITERATIONS,
    weights: Mapping[str, float] | None = None,
    seeds: Sequence[int] = (),
    route_tiers: Sequence[tuple[str, float]] = ROUTE_TIERS_KM,
    junction_groups: Sequence[Sequence[str]] = JUNCTION_GROUPS,
    built_up_density_per_km2: float = BUILT_UP_DENSITY_PER_KM2,
) -> CalibrationResult:
    """Fit the edge rule, access leg and dense delay of a line network to reference times.

    Parameters
    ----------
    network_source : path-like or LineNetwork
        The line layer (built without calibration) or its arrays (built with
        ``built_up_density_per_km2`` for an urban pace).
    references : iterable
        Reference tables: CSV paths, DataFrames or :class:`Reference` (see
        :func:`read_reference`).
    holdout : Holdout, optional
        Trips kept out of the fit; default :class:`Holdout()` (seed 47).
    out : path-like, optional
        Write the ``[calibration]`` TOML there.
    communes : path-like or GeoDataFrame, optional
        National commune file, or the table of
        :func:`~geoattract.territory.national.read_national_communes`; default the shared one.
    preset : str, optional
        Line preset of the layer (detected when not given).
    dense_density_per_km2 : float
        Density above which a commune counts as dense.
    max_iterations : int
        Routing–fitting iterations at most.
    weights : mapping, optional
        Weight of reference tables by name (the file stem), 1 for the others.
    seeds : sequence of int
        Other hold-out seeds: the same fit is repeated for each (départements and communes
        drawn again) and their held-out figures are kept in ``result.seeds`` (the first row
        of each is the main hold-out's).
    route_tiers : sequence of (class, km)
        Classes whose long roads get their own pace: ``("secondary", 30.0)`` fits one pace
        for the secondary lines of roads of 30 km of geometry or more.
    junction_groups : sequence of sequences of classes
        Classes sharing a junction delay; the other classes share one more.
    built_up_density_per_km2 : float
        Density of the built-up discs whose metres get the urban pace (0: no urban pace).

    Returns
    -------
    CalibrationResult
        ``result.report_text()`` gives the figures.

    Raises
    ------
    DataError
        Unreadable references, no usable trip.
    """
    t0 = time.perf_counter()
    holdout = holdout or Holdout()
    weights = dict(weights or {})
    prep = _prepare(
        network_source,
        references,
        communes,
        preset,
        dense_density_per_km2,
        route_tiers,
        junction_groups,
        built_up_density_per_km2,
    )
    unknown = set(weights) - {r.name for r in prep.refs}
    if unknown:
        raise DataError(f"calibrate: weights name no reference: {format_values(sorted(unknown))}")
    result, lengths = _run(prep, holdout, weights, dense_density_per_km2, max_iterations)
    rows = []
    if seeds:
        rows = _seed_rows(result, holdout.seed)
        for seed in seeds:
            if seed == holdout.seed:
                continue
            other, _ = _run(
                prep,
                Holdout(commune_share=holdout.commune_share, seed=int(seed)),
                weights,
                dense_density_per_km2,
                max_iterations,
                start=(result.params, lengths),  # warm start: fewer routing iterations
            )
            rows += _seed_rows(other, int(seed))
    result = replace(result, seeds=pd.DataFrame(rows), seconds=time.perf_counter() - t0)
    if out is not None:
        result.to_toml(out)
    logger.info("calibration done in %.1f s", result.seconds)
    return result
