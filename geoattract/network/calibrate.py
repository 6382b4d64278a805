"""Calibrate a line network's speeds against reference drive times (robust least squares).

Model of a trip from commune ``o`` to commune ``d`` (town halls snapped to snappable nodes;
a network built here from a file is split where every town hall meets it, see
:mod:`geoattract.network.split`):

``T = Σ_c L_c · p_c  +  W · p_w  +  J · t_j  +  (a_o + a_d) · p_a  +  δ · (dense_o + dense_d)``

* ``L_c``: metres of *geometry* of class ``c`` on the fastest path (the path depends on the
  parameters: it is recomputed between fits);
* ``W``: winding metres on the path (geometry length × ``1 − chord / length`` of each line),
  ``p_w`` the winding pace; ``J``: junctions entered (head nodes with 3 or more distinct
  neighbours), ``t_j`` the junction delay. Both are fitted in log space without ridge;
* ``p_c = detour_c / speed_c``: seconds per metre of geometry of class ``c``. Reference times
  alone cannot tell a longer road from a slower one, so only this *pace* is fitted; the
  detour factors are documented priors (:data:`DETOUR_PRIORS`, from the measured shortfall of
  the Travel Mapping geometry) that only set the ``km`` of the outputs, and the reported
  speed is ``detour_c / p_c``;
* ``a``: straight-line snap distances, ``p_a = access_detour / access_speed`` (the access
  detour is fixed at :data:`~geoattract.network.snapping.LINES_SNAP_DETOUR`);
* ``δ``: minutes lost at each end in a dense commune (population density above
  ``dense_density_per_km2``): urban streets the layer does not have.

**Fit.** Residuals are log errors ``log(T / T_ref)`` (a relative error that treats a 10-min
and a 400-min trip alike and is symmetric between too fast and too slow), each reference
table, and its trips under :data:`~geoattract.network.calibration.SHORT_TRIP_MIN` apart,
weighted to the same total (65,000 pairs of one département must not drown 2,600 long trips,
nor long pairs drown the 3,000 short ones), with a soft-L1 loss (``f_scale`` =
:data:`LOSS_SCALE`): quadratic for errors below about 5 %, linear above, so that a few trips
the network cannot represent (a missing bridge, a ferry, a town hall far from any road) do
not drag the speeds. ``scipy.optimize.least_squares`` minimises it over log-paces, with a
weak ridge towards the preset's values for classes the trips barely use.

**Iterations.** Routing once per parameter evaluation is too slow, so each iteration routes
once (one Dijkstra per distinct origin, :mod:`scipy.sparse.csgraph`, on the network around
the trips), decomposes every trip into per-class lengths along its fastest path
(:mod:`geoattract.network.trees`), fits the paces on that fixed decomposition, and re-routes,
until the paces change by less than :data:`CONVERGENCE_LOG_TOLERANCE`.

**Hold-out.** Whole départements of one-destination tables (long trips) and whole communes of
pair tables (short trips) are kept out of the fit and reported separately.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from geoattract import settings
from geoattract._util.io import read_csv
from geoattract.errors import DataError, format_values
from geoattract.network.calibration import (
    DETOUR_PRIORS,
    LOSS_SCALE,
    SHORT_TRIP_MIN,
    CalibrationResult,
    Parameters,
)
from geoattract.network.lines import LineNetwork, line_network
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

#: Routing–fitting iterations: stop when no log-pace moves more than the tolerance.
MAX_ITERATIONS: int = 8
CONVERGENCE_LOG_TOLERANCE: float = 1e-3

#: Pair tables are routed on the network within this margin (m) of their communes' extent.
PAIRS_MARGIN_M: float = 50_000.0

#: Share of the distinct origin départements of one-destination tables held out by default,
#: and share of the communes of pair tables.
HOLDOUT_DEPARTEMENT_SHARE: float = 0.3
HOLDOUT_COMMUNE_SHARE: float = 0.2

#: One-destination reference tables name their destination in the minutes column
#: (``osrm_minutes_to_paris``): known names and their commune codes.
NAMED_DESTINATIONS: Mapping[str, str] = {"paris": "75056"}


# --------------------------------------------------------------------------------------
# References
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """A table of reference drive times between communes.

    Attributes
    ----------
    name : str
        Label (the file stem).
    kind : str
        ``"to_one"`` (every origin to one destination: long trips, held out by origin
        département) or ``"pairs"`` (held out by commune).
    origin, destination : numpy.ndarray
        Commune codes (str).
    minutes : numpy.ndarray
        Reference times.
    source : str
        File path or ``"DataFrame"``.
    """

    name: str
    kind: str
    origin: np.ndarray
    destination: np.ndarray
    minutes: np.ndarray
    source: str = "DataFrame"


def read_reference(
    table: str | os.PathLike | pd.DataFrame, *, destination: str | None = None
) -> Reference:
    """Read a reference table of drive times.

    Two layouts: ``origin, destination, <…minutes…>`` (pairs), or ``code, <…minutes…>`` with
    one destination, given as ``destination`` or named by the column suffix ``_to_<name>``
    (:data:`NAMED_DESTINATIONS`).

    Raises
    ------
    DataError
        Unknown layout, no minutes column, unknown destination name, bad minutes.
    """
    if isinstance(table, pd.DataFrame):
        df, source, name = table.copy(), "DataFrame", "reference"
    else:
        head = pd.read_csv(table, nrows=0, sep=None, engine="python")
        codes = [c for c in ("origin", "destination", "code") if c in head.columns]
        df = read_csv(table, code_columns=codes)
        source, name = str(table), Path(table).stem
    minutes_cols = [c for c in df.columns if "minutes" in c.lower()]
    if len(minutes_cols) != 1:
        raise DataError(f"{source}: expected one column of minutes; columns {list(df.columns)}")
    col = minutes_cols[0]
    minutes = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
    if {"origin", "destination"} <= set(df.columns):
        kind, orig, dest = "pairs", df["origin"], df["destination"]
    elif "code" in df.columns:
        if destination is None:
            suffix = col.lower().rsplit("_to_", 1)[-1] if "_to_" in col.lower() else ""
            destination = NAMED_DESTINATIONS.get(suffix)
        if destination is None:
            raise DataError(
                f"{source}: column {col!r} names no known destination; pass destination="
            )
        kind, orig, dest = "to_one", df["code"], pd.Series(destination, index=df.index)
    else:
        raise DataError(
            f"{source}: needs columns origin, destination or code; got {list(df.columns)}"
        )
    bad = ~np.isfinite(minutes) | (minutes <= 0)
    if bad.any():
        raise DataError(
            f"{source}: column {col!r} has {int(bad.sum())} missing or non-positive value(s)"
        )
    return Reference(
        name=name,
        kind=kind,
        origin=orig.astype(str).to_numpy(),
        destination=dest.astype(str).to_numpy(),
        minutes=minutes,
        source=source,
    )


@dataclass(frozen=True)
class Holdout:
    """Which trips are kept out of the fit.

    Attributes
    ----------
    departements : tuple of str, optional
        Origin départements held out of one-destination tables; default a random
        :data:`HOLDOUT_DEPARTEMENT_SHARE` of them (at least one).
    commune_share : float
        Share of the communes of pair tables held out: a pair touching one is held out.
    seed : int
        Random seed of the draws.
    """

    departements: tuple[str, ...] | None = None
    commune_share: float = HOLDOUT_COMMUNE_SHARE
    seed: int = field(default_factory=lambda: settings.random_seed)

    def mask(self, trips: pd.DataFrame) -> tuple[np.ndarray, tuple[str, ...], int]:
        """Bool per trip (held out), the départements held out, the communes held out."""
        rng = np.random.default_rng(self.seed)
        out = np.zeros(len(trips), dtype=bool)
        to_one = (trips["kind"] == "to_one").to_numpy()
        deps = sorted(set(trips.loc[to_one, "origin_dep"]))
        held = self.departements
        if held is None:
            count = max(1, round(HOLDOUT_DEPARTEMENT_SHARE * len(deps))) if deps else 0
            held = tuple(sorted(rng.choice(deps, size=count, replace=False))) if count else ()
        out |= to_one & trips["origin_dep"].isin(held).to_numpy()
        pairs = ~to_one
        communes = sorted(set(trips.loc[pairs, "origin"]) | set(trips.loc[pairs, "destination"]))
        n_held = round(self.commune_share * len(communes))
        chosen = set(rng.choice(communes, size=n_held, replace=False)) if n_held else set()
        out |= pairs & (
            trips["origin"].isin(chosen).to_numpy() | trips["destination"].isin(chosen).to_numpy()
        )
        return out, tuple(held), n_held


# --------------------------------------------------------------------------------------
# Routing and decomposition
# --------------------------------------------------------------------------------------


@dataclass
class _Region:
    """A part of the network where a group of trips is routed."""

    nodes: np.ndarray  # global node ids in the region
    edges: np.ndarray  # global edge indices inside it
    local: np.ndarray  # global node → local index (-1 outside)


class _Router:
    """Decomposes trips into per-class geometry lengths along their fastest paths."""

    def __init__(self, net: LineNetwork, trips: pd.DataFrame) -> None:
        self.net = net
        self.k = len(net.classes)
        m = net.n_edges
        # per edge: geometry metres of its class, winding metres, 1 at a junction head
        self.values = np.zeros((m, self.k + 2))
        self.values[np.arange(m), net.klass] = net.geometry_length
        self.values[:, self.k] = net.winding_length
        self.values[:, self.k + 1] = net.junction_head()
        self.trips = trips
        self.regions: list[tuple[np.ndarray, _Region, bool]] = []
        everything = _Region(
            np.arange(net.n_nodes), np.arange(m), np.arange(net.n_nodes, dtype=np.int64)
        )
        to_one = (trips["kind"] == "to_one").to_numpy()
        if to_one.any():
            self.regions.append((np.flatnonzero(to_one), everything, True))
        for ref in trips.loc[~to_one, "reference"].unique():
            idx = np.flatnonzero((trips["reference"] == ref).to_numpy() & ~to_one)
            self.regions.append((idx, self._region(idx), False))

    def _region(self, idx: np.ndarray) -> _Region:
        net = self.net
        ends = np.r_[self.trips["o_node"].to_numpy()[idx], self.trips["d_node"].to_numpy()[idx]]
        x0, x1 = net.x[ends].min() - PAIRS_MARGIN_M, net.x[ends].max() + PAIRS_MARGIN_M
        y0, y1 = net.y[ends].min() - PAIRS_MARGIN_M, net.y[ends].max() + PAIRS_MARGIN_M
        inside = (net.x >= x0) & (net.x <= x1) & (net.y >= y0) & (net.y <= y1)
        edges = np.flatnonzero(inside[net.u] & inside[net.v])
        nodes = np.flatnonzero(inside)
        local = np.full(net.n_nodes, -1, dtype=np.int64)
        local[nodes] = np.arange(nodes.size)
        return _Region(nodes, edges, local)

    def decompose(self, weights: np.ndarray) -> np.ndarray:
        """(n_trips, k + 2) values on each trip's fastest path (NaN: none).

        Columns: metres of geometry per class, winding metres, junctions entered; ``weights``
        are the seconds per unit of each (:meth:`Parameters.edge_weights`).
        """
        net = self.net
        weight = self.values @ weights
        out = np.full((len(self.trips), self.k + 2), np.nan)
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
    """One weighted soft-L1 least-squares fit of the log errors on a fixed decomposition."""
    k = len(start.classes)
    x_prior = prior.vector()
    n = ref_s.size

    def residuals(x: np.ndarray) -> np.ndarray:
        p = start.with_vector(x)
        model = _model_seconds(p, lengths, access_m, dense)
        return np.r_[np.log(model / ref_s), (x[: k + 1] - x_prior[: k + 1]) / PRIOR_SIGMA]

    def jacobian(x: np.ndarray) -> np.ndarray:
        p = start.with_vector(x)
        model = _model_seconds(p, lengths, access_m, dense)
        jac = np.zeros((n + k + 1, k + 4))
        jac[:n, :k] = lengths[:, :k] * p.pace / model[:, None]
        jac[:n, k] = access_m * p.access_pace / model
        jac[:n, k + 1] = lengths[:, k] * p.winding_pace / model
        jac[:n, k + 2] = lengths[:, k + 1] * p.junction_delay_s / model
        jac[:n, k + 3] = dense / model
        jac[n:, : k + 1] = np.eye(k + 1) / PRIOR_SIGMA
        return jac

    row_weight = np.r_[weight, np.full(k + 1, PRIOR_WEIGHT)]
    data = np.r_[np.ones(n, dtype=bool), np.zeros(k + 1, dtype=bool)]

    def loss(z: np.ndarray) -> np.ndarray:
        rho = np.empty((3, z.size))
        root = np.sqrt(1.0 + z)
        rho[0] = np.where(data, 2.0 * (root - 1.0), z)
        rho[1] = np.where(data, 1.0 / root, 1.0)
        rho[2] = np.where(data, -0.5 / (root * (1.0 + z)), 0.0)
        return rho * row_weight

    # no ridge on the winding pace and the junction delay: the trips pin them
    lower = np.r_[np.full(k + 3, -np.inf), 0.0]
    upper = np.r_[np.full(k + 3, np.inf), MAX_DENSE_DELAY_MIN * 60.0]
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


def _iterate(
    router: _Router,
    trips: pd.DataFrame,
    initial: Parameters,
    max_iterations: int,
) -> tuple[Parameters, list[dict[str, float]], np.ndarray]:
    """Route, fit, re-route until the paces settle; returns the last decomposition too."""
    access = trips["access_m"].to_numpy(dtype=float)
    dense = trips["dense"].to_numpy(dtype=float)
    ref_s = trips["ref_min"].to_numpy(dtype=float) * 60.0
    train = ~trips["holdout"].to_numpy(dtype=bool)
    group = trips["reference"] + np.where(trips["ref_min"] < SHORT_TRIP_MIN, " (short)", "")
    sizes = group[train].value_counts()
    weight = 1.0 / group.map(sizes).fillna(1.0).to_numpy(dtype=float)
    params = initial.started()
    lengths = router.decompose(params.edge_weights())
    history: list[dict[str, float]] = []
    for _ in range(max_iterations):
        t0 = time.perf_counter()
        use = train & np.isfinite(lengths).all(axis=1)
        new = _fit(params, initial, lengths[use], access[use], dense[use], ref_s[use], weight[use])
        change = float(np.abs(new.vector()[:-1] - params.vector()[:-1]).max())
        params = new
        lengths = router.decompose(params.edge_weights())
        history.append(
            {"largest_log_change": change, "seconds": round(time.perf_counter() - t0, 2)}
        )
        logger.info(
            "calibration iteration %d: largest log-pace change %.2e, speeds %s, access %.1f "
            "km/h, dense delay %.2f min, winding %.4f s/m, junction %.2f s",
            len(history),
            change,
            params.speeds_kph(),
            params.access_speed_kph(),
            params.dense_delay_s / 60.0,
            params.winding_pace,
            params.junction_delay_s,
        )
        if change < CONVERGENCE_LOG_TOLERANCE:
            break
    return params, history, lengths


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
) -> CalibrationResult:
    """Fit class speeds, access leg and dense delay of a line network to reference times.

    Parameters
    ----------
    network_source : path-like or LineNetwork
        The line layer (built without calibration) or its arrays.
    references : iterable
        Reference tables: CSV paths, DataFrames or :class:`Reference` (see
        :func:`read_reference`).
    holdout : Holdout, optional
        Trips kept out of the fit; default :class:`Holdout()`.
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
    refs = [r if isinstance(r, Reference) else read_reference(r) for r in references]
    if not refs:
        raise DataError("calibrate: give at least one reference table")
    table = (
        communes if isinstance(communes, pd.DataFrame) else read_national_communes(communes).table
    )
    if isinstance(network_source, LineNetwork):
        net, name = network_source, str(network_source.attrs.get("source", "line network"))
    else:  # split at every town hall, as the OD matrix
        net = line_network(
            network_source, preset=preset, calibration=None, split_points=table.geometry
        )
        name = Path(network_source).name
    trips, dropped = _trips(net, refs, table, dense_density_per_km2)
    if trips.empty:
        raise DataError("calibrate: no reference trip has both communes near the network")
    held, deps, n_communes = (holdout or Holdout()).mask(trips)
    trips["holdout"] = held
    router = _Router(net, trips)
    initial = Parameters.initial(net, _class_speeds(net))
    params, history, lengths = _iterate(router, trips, initial, max_iterations)
    access = trips["access_m"].to_numpy(dtype=float)
    dense = trips["dense"].to_numpy(dtype=float)
    before = _model_seconds(initial, router.decompose(initial.edge_weights()), access, dense)
    trips["before_min"] = before / 60.0
    trips["after_min"] = _model_seconds(params, lengths, access, dense) / 60.0
    detour = np.array([DETOUR_PRIORS.get(c, 1.0) for c in net.classes])
    trips["km"] = (lengths[:, : len(detour)] @ detour + access * LINES_SNAP_DETOUR) / 1000.0
    dropped["unreachable"] = int((~np.isfinite(trips["after_min"])).sum())
    result = CalibrationResult(
        params=params,
        initial=initial,
        trips=trips.drop(columns=["o_node", "d_node"]),
        dense_density_per_km2=float(dense_density_per_km2),
        holdout_departements=deps,
        holdout_communes=n_communes,
        iterations=history,
        network=name,
        references=tuple(Path(r.source).name if r.source != "DataFrame" else r.name for r in refs),
        dropped=dropped,
    )
    if out is not None:
        result.to_toml(out)
    logger.info("calibration done in %.1f s", time.perf_counter() - t0)
    return result
