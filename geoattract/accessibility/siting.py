"""Where should K new facilities of a category go? Site selection on a study's snapped inputs.

Three objectives (:class:`~geoattract.config.plan.Objective`, parsed by
:func:`~geoattract.config.plan.parse_objective`):

``coverage:MIN``
    A study commune is *covered* when its town hall reaches a facility of the category within
    MIN minutes (today's offer or a new one). Maximise the population newly covered (maximal
    covering location problem), or the target population of a profile (:func:`demand_weights`).
``time``
    Minimise the population-weighted time to the nearest facility: maximise the
    inhabitant-minutes saved against today's nearest time (p-median with the existing offer).
``apl[:TARGET]``
    Maximise the population-weighted gain of the category's floating-catchment indicator
    (``e2sfca_<id>``: the APL of the DREES for GPs), counted up to ``TARGET`` (default: the
    weighted mean today) in each commune. A new site's supply-to-demand ratio does not depend
    on the other new sites, so the gain is *additive* over sites: per unit at candidate ``j``,
    commune ``i`` gains ``G_ij``, computed by the stage's own catchment
    (:func:`~geoattract.accessibility.apl.solve_catchment`, one solve per candidate). Uncapped,
    the weighted sum is almost constant (the floating catchment shares each new unit out among
    the residents it reaches, so ``Σ_i P_i G_ij ≈ 1`` unit per 100,000 whatever ``j``: only the
    leak to the buffer and the age standardisation move it); capped at a target, it goes
    where the indicator is low. The capped sum is concave in the units: an exact MILP.

Candidates are the study communes (a new facility at the town hall with the intra-commune
leg, as every facility known only by its commune) or given points
(:func:`candidate_sites`). Their times to the communes come from one bounded search from the
candidates on the routing graph, with the same access legs, dense-commune delays and direct
trips within a commune as every indicator (:func:`candidate_minutes`).

:func:`siting_problem` builds the :class:`~geoattract.accessibility.location.LocationProblem`,
:func:`optimise_sites` solves it (exact with HiGHS at a study's size, greedy with its bound
beyond) and returns the chosen sites, their gains and the communes that gain.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract.accessibility.apl import catchment_problem, category_decay, solve_catchment
from geoattract.accessibility.inputs import AccessibilityInputs, same_commune_times
from geoattract.accessibility.location import (
    LocationProblem,
    LocationSolution,
    attribute_gains,
    choose_sites,
)
from geoattract.accessibility.sites import new_facilities
from geoattract.config.plan import Objective
from geoattract.errors import DataError, format_values

logger = logging.getLogger(__name__)


def demand_weights(
    inputs: AccessibilityInputs, index: pd.Index, band: str | None = None
) -> tuple[pd.Series, pd.Series]:
    """Weight of each demand commune: its population, or the part of it in one age band.

    Parameters
    ----------
    inputs : AccessibilityInputs
        Its ``communes`` (population) and ``age_structure`` (shares per band, imputed with
        the study's mean and flagged ``age_imputed`` where unknown).
    index : Index
        Rows of ``inputs.communes``.
    band : str, optional
        An age band of the study's ``[age_structure]`` (``under_25``, ``65_plus``…).

    Returns
    -------
    (Series, Series)
        The weights and, per commune, whether its share was imputed.

    Raises
    ------
    DataError
        A band without age structure, or unknown.
    """
    pop = inputs.communes.loc[index, "population"].astype(float)
    imputed = pd.Series(False, index=index)
    if band is None:
        return pop, imputed
    from geoattract.facilities import share_column

    ages = inputs.age_structure
    col = share_column(band)
    if ages is None or col not in ages.columns:
        known = [] if ages is None else [c for c in ages.columns if c.startswith("age_share_")]
        raise DataError(
            f"target population {band!r}: no age share column {col!r} in the study's age "
            f"structure ([age_structure] of the catalogue; columns: {format_values(known)})"
        )
    share = ages.reindex(index)[col].astype(float)
    if "age_imputed" in ages.columns:
        imputed = ages.reindex(index)["age_imputed"].fillna(True).astype(bool)
    return pop * share, imputed


def candidate_sites(
    inputs: AccessibilityInputs,
    territory: gpd.GeoDataFrame,
    category: str,
    *,
    codes: Sequence[str] | None = None,
    points: gpd.GeoDataFrame | None = None,
    capacity: float = 1.0,
) -> gpd.GeoDataFrame:
    """Candidate sites as new facilities of the category (see :mod:`~geoattract.accessibility.sites`).

    Parameters
    ----------
    inputs : AccessibilityInputs
    territory : GeoDataFrame
        Study and buffer communes.
    category : str
    codes : sequence of str, optional
        Candidate communes (a facility at each town hall); default every study commune whose
        town hall is on the network.
    points : GeoDataFrame, optional
        Candidate points instead (``code`` of their commune; ``name`` optional).
    capacity : float
        Capacity of one unit.

    Returns
    -------
    GeoDataFrame
        The facility rows, plus ``nom`` (the commune's name, or the point's ``name``).
    """
    names = territory.set_index("code")["nom"] if "nom" in territory else None
    if points is not None:
        cand_codes = points["code"].astype(str).tolist()
        pts = list(points.geometry)
    else:
        com = inputs.communes
        default = com.loc[com["in_study"] & ~com["too_far"], "code"].astype(str).tolist()
        cand_codes = list(codes) if codes is not None else default
        pts = None
    rows = new_facilities(
        inputs, territory, category, cand_codes, capacity=capacity, points=pts, id_prefix="site"
    )
    if points is not None and "name" in points.columns:
        rows["nom"] = points["name"].astype(str).to_numpy()
    else:
        rows["nom"] = [str(names[c]) if names is not None else c for c in cand_codes]
    return rows


def candidate_minutes(
    inputs: AccessibilityInputs,
    candidates: pd.DataFrame,
    demand_index: pd.Index,
    cutoff_min: float,
) -> pd.DataFrame:
    """Minutes from each demand commune's town hall to each candidate, within a cutoff.

    One bounded search from the candidates on the reversed graph (the time is measured from
    the town hall to the facility, as every indicator), with the candidates' and the town
    halls' access legs and delays as offsets; a candidate at the town hall of a demand commune
    is reached from it by the direct trip across the commune when shorter
    (:func:`~geoattract.accessibility.inputs.same_commune_times`).

    Returns
    -------
    DataFrame
        ``demand`` (position in ``demand_index``), ``candidate`` (position in
        ``candidates``), ``minutes``; pairs beyond the cutoff are absent.
    """
    from geoattract.routing import reach

    com = inputs.communes.loc[demand_index]
    table = reach(
        inputs.rg,
        candidates["node"].to_numpy(),
        com["node"].to_numpy(),
        float(cutoff_min) * 60.0,
        origin_offsets=candidates["snap_s"].to_numpy(dtype=float),
        target_offsets=com["snap_s"].to_numpy(dtype=float),
        reverse=True,
    )
    pairs = pd.DataFrame(
        {
            "demand": np.asarray(table.target, dtype=np.int64),
            "candidate": np.asarray(table.origin, dtype=np.int64),
            "minutes": np.asarray(table.time, dtype=float) / 60.0,
        }
    )
    direct = same_commune_times(inputs, candidates.reset_index(drop=True))
    pos = pd.Series(np.arange(len(demand_index)), index=demand_index)
    direct = direct[direct["origin"].isin(pos.index)]
    if len(direct):
        extra = pd.DataFrame(
            {
                "demand": pos[direct["origin"]].to_numpy(),
                "candidate": direct["facility"].to_numpy(dtype=np.int64),
                "minutes": direct["direct_s"].to_numpy() / 60.0,
            }
        )
        extra = extra[extra["minutes"] <= cutoff_min]
        both = pd.concat([pairs, extra], ignore_index=True)
        pairs = both.groupby(["demand", "candidate"], as_index=False).agg(
            minutes=("minutes", "min")
        )
    return pairs


@dataclass(frozen=True)
class SitingProblem:
    """A site-selection problem on a study, ready to solve.

    Attributes
    ----------
    category : str
    objective : Objective
    demand : DataFrame
        Study communes (index of ``inputs.communes``): ``code``, ``nom``, ``population``,
        ``weight``, ``age_imputed``, ``before`` (today's nearest time in minutes, or the
        indicator for ``apl``; NaN when no facility is reached today), ``excluded`` (town hall
        off the network, no weight, or for ``time`` and ``apl`` no value today: a commune that
        reaches no facility today counts as not covered for ``coverage``).
    candidates : GeoDataFrame
        The candidate facilities (:func:`candidate_sites`).
    problem : LocationProblem
    minutes : DataFrame
        The candidate pairs (``demand``, ``candidate``, ``minutes``) the gains come from
        (``apl``: the per-unit gain ``gain`` instead of minutes).
    target : float, optional
        ``apl``: the cap applied.
    band : str, optional
        The age band of the weights (None: the whole population).
    """

    category: str
    objective: Objective
    demand: pd.DataFrame
    candidates: gpd.GeoDataFrame
    problem: LocationProblem
    minutes: pd.DataFrame
    target: float | None = None
    band: str | None = None


def _demand(
    inputs: AccessibilityInputs,
    territory: gpd.GeoDataFrame,
    band: str | None,
    before: pd.Series,
    unknown_before_counts: bool = False,
) -> pd.DataFrame:
    """The demand communes and which of them the objective leaves out.

    ``excluded``: town hall off the network, no weight, and no value today unless
    ``unknown_before_counts`` (coverage: a commune that reaches no facility today is not
    covered, and counts).
    """
    com = inputs.communes
    study = com[com["in_study"]]
    names = territory.set_index("code")["nom"] if "nom" in territory else None
    weight, imputed = demand_weights(inputs, study.index, band)
    out = pd.DataFrame(
        {
            "code": study["code"].astype(str),
            "nom": study["code"].map(names) if names is not None else study["code"],
            "population": study["population"].astype(float),
            "weight": weight,
            "age_imputed": imputed,
            "before": before.reindex(study.index).astype(float),
        },
        index=study.index,
    )
    out["excluded"] = study["too_far"].to_numpy() | ~np.isfinite(out["weight"].to_numpy())
    if not unknown_before_counts:
        out["excluded"] |= ~np.isfinite(out["before"].to_numpy())
    return out


def siting_problem(
    inputs: AccessibilityInputs,
    territory: gpd.GeoDataFrame,
    category: str,
    objective: Objective,
    *,
    band: str | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    capacity: float | None = None,
) -> SitingProblem:
    """Build the location problem of a category for an objective.

    Parameters
    ----------
    inputs : AccessibilityInputs
        A study's snapped inputs.
    territory : GeoDataFrame
        Study and buffer communes.
    category : str
        Catalogue category.
    objective : Objective
    band : str, optional
        Count only this age band's population (:func:`demand_weights`).
    candidates : GeoDataFrame, optional
        From :func:`candidate_sites` (default: every study commune).
    capacity : float, optional
        Capacity of one unit in the category's unit (default 1 for a count, else the median
        capacity of the category's facilities): matters for ``apl`` only.

    Raises
    ------
    DataError
        Unknown category or a category without facility.
    """
    from geoattract.accessibility.metrics import category_accessibility

    if category not in inputs.catalogue.ids:
        raise DataError(
            f"unknown category {category!r}; known: {format_values(inputs.catalogue.ids, 40)}"
        )
    unit = unit_capacity(inputs, category) if capacity is None else float(capacity)
    cands = (
        candidates
        if candidates is not None
        else candidate_sites(inputs, territory, category, capacity=unit)
    )
    cands = cands.assign(capacity=unit)
    today = category_accessibility(inputs, [category])
    if objective.kind == "apl":
        return _apl_problem(inputs, territory, category, objective, band, cands, today)
    demand = _demand(
        inputs,
        territory,
        band,
        today[f"time_{category}_min"],
        unknown_before_counts=objective.kind == "coverage",
    )
    t0 = demand["before"].to_numpy(dtype=float)
    ok = ~demand["excluded"].to_numpy()
    if objective.kind == "coverage":
        limit = float(objective.minutes or 0.0)
        cutoff = limit
    else:
        limit = np.nan
        cutoff = float(np.nanmax(np.where(ok, t0, np.nan))) if ok.any() else 0.0
    pairs = candidate_minutes(inputs, cands, demand.index, cutoff)
    d = pairs["demand"].to_numpy()
    t = pairs["minutes"].to_numpy(dtype=float)
    if objective.kind == "coverage":
        gain = ((t <= limit) & ~(t0[d] <= limit) & ok[d]).astype(float)
    else:
        gain = np.where(ok[d], np.maximum(t0[d] - t, 0.0), 0.0)
    keep = gain > 0
    problem = LocationProblem(
        rows=d[keep],
        cols=pairs["candidate"].to_numpy()[keep],
        values=gain[keep],
        weights=np.where(ok, demand["weight"].to_numpy(dtype=float), 0.0),
        n_candidates=len(cands),
        model="best",
    )
    return SitingProblem(category, objective, demand, cands, problem, pairs, None, band)


def unit_capacity(inputs: AccessibilityInputs, category: str) -> float:
    """Capacity of one new unit: 1 for a count, else the category's median capacity."""
    cat = inputs.catalogue[category]
    unit = inputs.facilities.attrs.get("capacity_unit", {}).get(category, cat.capacity)
    if unit == "count":
        return 1.0
    caps = inputs.facilities.loc[inputs.facilities["category"] == category, "capacity"]
    median = float(np.nanmedian(caps.to_numpy(dtype=float))) if len(caps) else np.nan
    return median if np.isfinite(median) and median > 0 else 1.0


def candidate_apl_gains(
    inputs: AccessibilityInputs, category: str, candidates: pd.DataFrame, index: pd.Index
) -> pd.DataFrame:
    """Gain of the category's catchment indicator per unit at each candidate, per commune.

    The candidates alone are the supply of the category's catchment problem (the stage's
    :func:`~geoattract.accessibility.apl.catchment_problem`: same decay, demand, age
    standardisation, same-commune rule); each candidate's supply-to-demand ratio does not
    depend on the others, so one solve with one unit at one candidate gives that candidate's
    column, exactly what adding it to the offer adds to the indicator.

    Returns
    -------
    DataFrame
        ``demand`` (position in ``index``), ``candidate``, ``gain`` (> 0 only).
    """
    fac = candidates.reset_index(drop=True).assign(category=category)
    only = replace(inputs, facilities=fac)
    problem = catchment_problem(only, category)
    spec = inputs.catalogue[category].catchment
    decay = category_decay(inputs, category)
    supply = problem.supply
    is_cand = (supply["category"] == category).to_numpy()
    cand_rows = np.flatnonzero(is_cand)  # the candidates, in order
    pos = pd.Series(np.arange(len(index)), index=index)
    frames = []
    for j, row in enumerate(cand_rows):
        caps = np.zeros(len(supply))
        caps[row] = float(fac["capacity"].iloc[j])
        one = replace(problem, supply=supply.assign(capacity=caps))
        access = solve_catchment(one, spec, decay)
        access = access[access.index.isin(pos.index) & (access > 0)]
        frames.append(
            pd.DataFrame(
                {"demand": pos[access.index].to_numpy(), "candidate": j, "gain": access.to_numpy()}
            )
        )
    if not frames:
        return pd.DataFrame({"demand": [], "candidate": [], "gain": []})
    return pd.concat(frames, ignore_index=True)


def _apl_problem(
    inputs: AccessibilityInputs,
    territory: gpd.GeoDataFrame,
    category: str,
    objective: Objective,
    band: str | None,
    cands: gpd.GeoDataFrame,
    today: pd.DataFrame,
) -> SitingProblem:
    demand = _demand(inputs, territory, band, today[f"e2sfca_{category}"])
    ok = ~demand["excluded"].to_numpy()
    w = np.where(ok, demand["weight"].to_numpy(dtype=float), 0.0)
    a0 = demand["before"].to_numpy(dtype=float)
    target = objective.target
    if target is None:
        target = float(np.average(a0[ok], weights=w[ok])) if w[ok].sum() > 0 else np.inf
    gains = candidate_apl_gains(inputs, category, cands, demand.index)
    room = np.where(ok, np.maximum(target - np.nan_to_num(a0, nan=np.inf), 0.0), 0.0)
    problem = LocationProblem(
        rows=gains["demand"].to_numpy(dtype=np.int64),
        cols=gains["candidate"].to_numpy(dtype=np.int64),
        values=gains["gain"].to_numpy(dtype=float),
        weights=w,
        n_candidates=len(cands),
        model="capped",
        caps=room,
    )
    return SitingProblem(category, objective, demand, cands, problem, gains, float(target), band)


@dataclass(frozen=True)
class SitingResult:
    """The chosen sites, what they gain and which communes gain.

    Attributes
    ----------
    problem : SitingProblem
    solution : LocationSolution
    k : int
        Units asked for.
    sites : DataFrame
        One row per chosen site: ``code``, ``nom``, ``added`` (units), ``gain`` (its share of
        the objective, see :func:`~geoattract.accessibility.location.attribute_gains`),
        ``communes_gaining``.
    communes : DataFrame
        Every demand commune: ``code``, ``nom``, ``population``, ``weight``, ``before``,
        ``after``, ``gain`` (weighted: inhabitants newly covered, inhabitant-minutes saved, or
        weighted APL gain), ``site`` (code of the site serving the gain, empty when none).
    summary : dict
        ``value``, ``upper_bound``, ``gap``, ``method``, ``status``, ``weight_total``,
        ``before``/``after`` (population covered, weighted mean time or weighted mean
        indicator), ``n_candidates``, ``n_pairs``, ``unit_capacity``, ``target``.
    """

    problem: SitingProblem
    solution: LocationSolution
    k: int
    sites: pd.DataFrame
    communes: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def _after(sp: SitingProblem, counts: np.ndarray) -> np.ndarray:
    before = sp.demand["before"].to_numpy(dtype=float)
    gains = sp.problem.demand_gains(counts)
    if sp.objective.kind == "apl":
        # the indicator rises by the uncapped gain; only the part below the target counts
        p = sp.problem
        uncapped = np.bincount(
            p.rows, weights=np.asarray(p.values) * counts[p.cols], minlength=p.n_demand
        )
        return before + uncapped
    if sp.objective.kind == "time":
        return np.where(gains > 0, before - gains, before)
    # coverage: the nearest chosen site within the limit, when nearer than today's offer
    pairs = sp.minutes
    on = counts[pairs["candidate"].to_numpy()] > 0
    best = pairs.loc[on].groupby("demand")["minutes"].min() if on.any() else pd.Series(dtype=float)
    new = np.full(len(before), np.inf)
    new[best.index.to_numpy(dtype=np.int64)] = best.to_numpy()
    return np.fmin(before, new)


def _summary_levels(sp: SitingProblem, after: np.ndarray) -> tuple[float, float]:
    d = sp.demand
    ok = ~d["excluded"].to_numpy()
    w = d["weight"].to_numpy(dtype=float)
    before = d["before"].to_numpy(dtype=float)
    if sp.objective.kind == "coverage":
        limit = float(sp.objective.minutes or 0.0)
        return float(w[ok & (before <= limit)].sum()), float(w[ok & (after <= limit)].sum())
    if not w[ok].sum() > 0:
        return np.nan, np.nan
    return (
        float(np.average(before[ok], weights=w[ok])),
        float(np.average(after[ok], weights=w[ok])),
    )


def optimise_sites(
    sp: SitingProblem, k: int, *, method: str = "auto", **solver: Any
) -> SitingResult:
    """Choose where ``k`` units go and report the sites and the communes that gain.

    Parameters
    ----------
    sp : SitingProblem
        From :func:`siting_problem`.
    k : int
        Units of the category to place (>= 1).
    method : {"auto", "exact", "greedy"}
        See :func:`~geoattract.accessibility.location.choose_sites`.
    **solver
        ``max_pairs``, ``time_limit``.

    Returns
    -------
    SitingResult
    """
    sol = choose_sites(sp.problem, k, method=method, **solver)
    counts = np.asarray(sol.counts)
    site_gain, serving = attribute_gains(sp.problem, counts)
    demand_gain = sp.problem.demand_gains(counts) * sp.problem.weights
    cands = sp.candidates.reset_index(drop=True)
    codes = cands["code"].astype(str).to_numpy()
    chosen = list(sol.order) or [int(j) for j in np.flatnonzero(counts > 0)]
    served = pd.Series(serving[demand_gain > 0]).value_counts()
    sites = pd.DataFrame(
        {
            "code": codes[chosen],
            "nom": cands["nom"].to_numpy()[chosen],
            "added": counts[chosen].astype(int),
            "gain": site_gain[chosen],
            "communes_gaining": [int(served.get(j, 0)) for j in chosen],
        }
    )
    after = _after(sp, counts)
    d = sp.demand
    communes = pd.DataFrame(
        {
            "code": d["code"].to_numpy(),
            "nom": d["nom"].to_numpy(),
            "population": d["population"].to_numpy(),
            "weight": d["weight"].to_numpy(),
            "before": d["before"].to_numpy(),
            "after": after,
            "gain": demand_gain,
            "site": np.where((serving >= 0) & (demand_gain > 0), codes[np.maximum(serving, 0)], ""),
        },
        index=d.index,
    )
    before_level, after_level = _summary_levels(sp, after)
    summary = {
        "value": sol.value,
        "upper_bound": sol.upper_bound,
        "gap": sol.gap,
        "method": sol.method,
        "status": sol.status,
        "weight_total": float(d.loc[~d["excluded"], "weight"].sum()),
        "before": before_level,
        "after": after_level,
        "n_candidates": len(cands),
        "n_pairs": len(sp.problem.values),
        "unit_capacity": float(cands["capacity"].iloc[0]) if len(cands) else np.nan,
        "target": sp.target,
        "excluded": d.loc[d["excluded"], "code"].tolist(),
    }
    return SitingResult(sp, sol, int(k), sites, communes, summary)
