"""The APL conventions of the DREES on top of the E2SFCA, every one a catchment option.

The DREES *accessibilité potentielle localisée* (Barlet, Coldefy, Collin, Lucas-Gabrielli,
DREES Études et résultats n° 795 and Document de travail n° 124, 2012; refounded in 2015) is a
two-step floating catchment with three conventions the plain E2SFCA lacks:

- **same commune at time 0**: a commune's own professionals are at time 0 (weight 1), not at
  the routed time of their (town-hall) placement;
- **the DREES bands**: weight 1 up to 10 min, 2/3 to 15 min, 1/3 to 20 min
  (:data:`~geoattract.facilities.decay.APL_BREAKS_MIN`);
- **age-standardised demand**: each commune's population weighted by the consumption of its
  age bands, ``P_i · f_i`` with ``f_i = Σ_b s_ib w_b / Σ_b s̄_b w_b`` (``s_ib`` the share of
  band *b*, ``w_b`` its relative consumption, ``s̄`` the population-weighted mean shares of the
  study communes, so the study's standardised population equals its population).

Two options go beyond the DREES: *health centres* (or any category) counted as supply
(``extra_supply``), and *smoothing*: each band weight is replaced by its expectation when the
true time is ``T = t·ε`` with a relative error ``ε`` (:func:`expected_step_weights`), so that
communes at 9.9 and 10.1 min are not worlds apart.

:func:`catchment_problem` gathers a category's pairs once (the routing is the costly part);
:func:`solve_catchment` computes the indicator for any :class:`CatchmentSpec`, which is what
the sensitivity analysis (:mod:`geoattract.accessibility.sensitivity`) varies.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr

from geoattract.accessibility.catchment import e2sfca
from geoattract.accessibility.inputs import AccessibilityInputs, same_commune_times
from geoattract.errors import ConfigError, DataError
from geoattract.facilities import (
    APL_BREAKS_MIN,
    APL_WEIGHTS,
    CatchmentSpec,
    Decay,
    decay_from_config,
    share_column,
)

logger = logging.getLogger(__name__)

#: Standard normal quantile of 0.75: the median of ``|Z|``. A log-normal error whose median
#: absolute log is ``ln(1 + e)`` has ``σ = ln(1 + e) / Z75``.
Z75: float = 0.6744897501960817

#: Tail of the log-normal error kept by the smoothed decay: pairs routed beyond
#: ``last break · exp(SMOOTHING_TAIL_Z · σ)`` are dropped (their expected weight is below
#: ``Φ(-3) · last weight`` = 0.0013 × 1/3).
SMOOTHING_TAIL_Z: float = 3.0


# --------------------------------------------------------------------------- smoothing
def lognormal_sigma(rel_error: float) -> float:
    """σ of ``ln ε`` for a median absolute relative error ``rel_error`` (``ln(1 + e) / Z75``)."""
    return float(np.log1p(rel_error) / Z75)


def uniform_half_width(rel_error: float) -> float:
    """Half-width ``h`` of ``ε ~ U(1 - h, 1 + h)`` whose median ``|ε - 1|`` is ``rel_error``."""
    return 2.0 * rel_error


def expected_step_weights(
    minutes: np.ndarray,
    breaks_min: Sequence[float],
    weights: Sequence[float],
    rel_error: float,
    model: str = "lognormal",
) -> np.ndarray:
    """Expected step weight of travel times known up to a relative error.

    The true time is ``T = t·ε``. With ``b_0 = 0 < b_1 < … < b_K`` the breaks and ``w_k`` the
    weight of ``(b_{k-1}, b_k]``: ``E[w(T)] = Σ_k w_k · P(b_{k-1} < T ≤ b_k)``, with

    - ``model="lognormal"``: ``ln ε ~ N(0, σ²)``, ``σ = ln(1 + e) / Z75``, so
      ``P(T ≤ b) = Φ((ln b − ln t) / σ)``;
    - ``model="uniform"``: ``ε ~ U(1 − h, 1 + h)``, ``h = 2e``, so ``P`` is the share of
      ``[t(1 − h), t(1 + h)]`` inside the band.

    ``e`` is the median absolute relative error of the times (both models). A time of 0
    (same commune) keeps the first weight; NaN or infinite times get 0.

    Parameters
    ----------
    minutes : ndarray
        Model travel times.
    breaks_min, weights : sequence of float
        The step decay (upper bounds, weights).
    rel_error : float
        Median absolute relative error ``e`` (0 gives the plain step weights).
    model : {"lognormal", "uniform"}
        Error model.

    Returns
    -------
    ndarray of float
        Expected weights, in [0, max weight].
    """
    t = np.asarray(minutes, dtype=float)
    b = np.asarray(breaks_min, dtype=float)
    w = np.asarray(weights, dtype=float)
    finite = np.isfinite(t) & (t >= 0)
    out = np.zeros_like(t)
    if rel_error <= 0:
        idx = np.searchsorted(b, np.where(finite, t, np.inf), side="left")
        inside = finite & (idx < b.size)
        out[inside] = w[idx[inside]]
        return out
    pos = finite & (t > 0)
    tp = t[pos][:, None]
    if model == "lognormal":
        s = lognormal_sigma(rel_error)
        cdf = ndtr((np.log(b)[None, :] - np.log(tp)) / s)
    elif model == "uniform":
        h = uniform_half_width(rel_error)
        lo, hi = tp * (1.0 - h), tp * (1.0 + h)
        cdf = np.clip((b[None, :] - lo) / (hi - lo), 0.0, 1.0)
    else:
        raise ConfigError(f"time error model {model!r} unknown; expected lognormal or uniform")
    probs = np.diff(np.concatenate([np.zeros((cdf.shape[0], 1)), cdf], axis=1), axis=1)
    out[pos] = probs @ w
    out[finite & (t == 0)] = w[0]
    return out


def smoothed_step_decay(
    breaks_min: Sequence[float],
    weights: Sequence[float],
    rel_error: float,
    model: str = "lognormal",
) -> Decay:
    """A step decay whose weights are averaged over a relative time error.

    The catchment grows to where the expected weight vanishes: ``b_K / (1 − h)`` for the
    uniform model, ``b_K · exp(SMOOTHING_TAIL_Z · σ)`` for the log-normal one.
    """
    last = float(breaks_min[-1])
    if model == "uniform":
        catchment = last / (1.0 - uniform_half_width(rel_error))
    else:
        catchment = last * float(np.exp(SMOOTHING_TAIL_Z * lognormal_sigma(rel_error)))
    return Decay(
        f"step averaged over a {model} relative error of {rel_error:g}",
        catchment,
        lambda t: expected_step_weights(t, breaks_min, weights, rel_error, model),
    )


# --------------------------------------------------------------------------- demand
def age_factors(
    shares: np.ndarray,
    weights: Sequence[float],
    population: np.ndarray,
    reference: np.ndarray,
    mean: float | None = None,
) -> np.ndarray:
    """Age-standardisation factor of each commune, 1 for the reference's mean structure.

    Parameters
    ----------
    shares : ndarray, shape (n, bands)
        Share of each age band per commune (rows sum to 1).
    weights : sequence of float
        Relative consumption of each band (any scale: only ratios matter).
    population : ndarray
        Population of each commune (weights of the reference mean).
    reference : ndarray of bool
        Communes whose population-weighted mean structure gets factor 1 (the study).
    mean : float, optional
        ``Σ_b s̄_b w_b`` already known (the whole study's, for a partition of it).

    Returns
    -------
    ndarray
        ``f_i = Σ_b s_ib w_b / Σ_b s̄_b w_b``.
    """
    w = np.asarray(weights, dtype=float)
    raw = np.asarray(shares, dtype=float) @ w
    if mean is not None:
        return raw / mean
    ref = np.asarray(reference, dtype=bool) & np.isfinite(raw)
    if not ref.any():
        raise DataError("age standardisation: no reference commune with age shares")
    mean = np.average(raw[ref], weights=np.asarray(population, dtype=float)[ref])
    return raw / mean


# --------------------------------------------------------------------------- the problem
@dataclass(frozen=True)
class CatchmentProblem:
    """A category's floating-catchment pairs, computed once and solved for any spec.

    Attributes
    ----------
    category : str
        Category id.
    demand : DataFrame
        Demand communes (index of the territory): ``code``, ``population``, ``in_study``,
        ``age_factor`` (NaN without an age structure), ``age_imputed``.
    supply : DataFrame
        Facilities: ``code``, ``capacity``, ``in_study``, ``category`` (the category or an
        extra-supply one).
    pairs : DataFrame
        ``demand`` and ``supply`` positions, routed ``minutes`` (inf for a same-commune pair
        beyond the cutoff) and ``same_commune``.
    closed : bool
        The offer is known in the study only: buffer communes take no part in the demand.
    """

    category: str
    demand: pd.DataFrame
    supply: pd.DataFrame
    pairs: pd.DataFrame
    closed: bool


def _capacities(fac: pd.DataFrame, cid: str) -> np.ndarray:
    """Capacity of each facility; an unknown one takes the category median (logged)."""
    cap = fac["capacity"].to_numpy(dtype=float)
    missing = np.isnan(cap)
    if missing.any():
        median = float(np.nanmedian(cap)) if (~missing).any() else 1.0
        logger.warning(
            "e2sfca %s: %d facility(ies) without capacity, imputed with the median %g",
            cid,
            int(missing.sum()),
            median,
        )
        cap = np.where(missing, median, cap)
    return cap


def _demand_table(
    inputs: AccessibilityInputs, cid: str, spec: CatchmentSpec, closed: bool
) -> pd.DataFrame:
    com = inputs.communes
    demand = com[~com["too_far"] & com["population"].notna()]
    if closed:
        # supply known in the study département only: a closed département on both sides,
        # otherwise buffer residents would compete for the study's offer with none of their own
        demand = demand[demand["in_study"]]
    out = demand[["code", "population", "in_study"]].copy()
    out["age_factor"] = np.nan
    out["age_imputed"] = False
    ages = inputs.age_structure
    if spec.age_weights:
        if ages is None:
            raise DataError(
                "catchment: age_weights need the age structure of the communes "
                "(Offer.age_structure, passed to prepare_inputs(age_structure=...))"
            )
        bands = list(spec.age_weights)
        cols = [share_column(b) for b in bands]
        missing = [c for c in cols if c not in ages]
        if missing:
            raise DataError(f"catchment: age structure has no column(s) {missing}")
        shares = ages.reindex(inputs.communes.index)[cols].to_numpy(dtype=float)
        com_pop = inputs.communes["population"].to_numpy(dtype=float)
        factor = age_factors(
            shares,
            [spec.age_weights[b] for b in bands],
            np.nan_to_num(com_pop),
            inputs.communes["in_study"].to_numpy(dtype=bool),
            inputs.age_means.get(cid),
        )
        pos = inputs.communes.index.get_indexer(out.index)
        out["age_factor"] = factor[pos]
        if "age_imputed" in ages:
            imputed = ages["age_imputed"].reindex(out.index).fillna(True)
            out["age_imputed"] = imputed.to_numpy(dtype=bool)
    return out


def _supply_table(inputs: AccessibilityInputs, cid: str, spec: CatchmentSpec) -> pd.DataFrame:
    frames = []
    for cat in [cid, *(e.category for e in spec.extra_supply)]:
        f = inputs.of_category(cat)
        frames.append(
            pd.DataFrame(
                {
                    "code": f["code"].astype(str).to_numpy(),
                    "capacity": _capacities(f, cat) if len(f) else np.zeros(0),
                    "in_study": f["in_study"].to_numpy(dtype=bool),
                    "category": cat,
                    "node": f["node"].to_numpy(),
                    "snap_s": f["snap_s"].to_numpy(dtype=float),
                    "direct_min": _direct_minutes(inputs, f),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _direct_minutes(inputs: AccessibilityInputs, facilities: pd.DataFrame) -> np.ndarray:
    """Minutes of the direct trip from a facility's own town hall (inf when it has none).

    The one rule of the intra-commune leg (:func:`~geoattract.accessibility.inputs.same_commune_times`):
    a facility placed at its commune's town hall is reached from there across the commune.
    """
    out = np.full(len(facilities), np.inf)
    pairs = same_commune_times(inputs, facilities)
    out[pairs["facility"].to_numpy()] = pairs["direct_s"].to_numpy() / 60.0
    return out


def problem_cutoff_min(decay: Decay, spec: CatchmentSpec) -> float:
    """Largest routed time a spec or its variants can weigh (the smoothed catchment)."""
    if spec.time_error > 0 and spec.method == "apl":
        smooth = smoothed_step_decay(
            APL_BREAKS_MIN, APL_WEIGHTS, spec.time_error, spec.time_error_model
        )
        return max(decay.catchment_min, smooth.catchment_min)
    return decay.catchment_min


def study_age_means(inputs: AccessibilityInputs) -> dict[str, float]:
    """``Σ_b s̄_b w_b`` of every age-standardised category over the whole study.

    A partition of the study standardises its demand by these (the study's mean structure),
    not by the mean structure of the communes in its ball.
    """
    out: dict[str, float] = {}
    ages = inputs.age_structure
    for cid in inputs.catalogue.ids:
        spec = inputs.catalogue[cid].catchment
        if not spec.age_weights or ages is None:
            continue
        bands = list(spec.age_weights)
        shares = ages.reindex(inputs.communes.index)[[share_column(b) for b in bands]]
        raw = shares.to_numpy(dtype=float) @ np.asarray([spec.age_weights[b] for b in bands])
        pop = np.nan_to_num(inputs.communes["population"].to_numpy(dtype=float))
        ref = inputs.communes["in_study"].to_numpy(dtype=bool) & np.isfinite(raw)
        if ref.any():
            out[cid] = float(np.average(raw[ref], weights=pop[ref]))
    return out


def catchment_problem(inputs: AccessibilityInputs, cid: str) -> CatchmentProblem:
    """Route a category's pairs once: facilities (and extra supply) to demand communes.

    The cutoff is the category's catchment, or the smoothed one when its spec has a time
    error. With ``same_commune`` possible (APL method or a sensitivity variant), every
    facility is paired with its own commune even beyond the cutoff (time ``inf``).
    """
    from geoattract.routing import reach

    cat = inputs.catalogue[cid]
    spec = cat.catchment
    covers = inputs.facilities.attrs.get("covers_buffer", {}).get(cid, cat.covers_buffer)
    demand = _demand_table(inputs, cid, spec, closed=not covers)
    supply = _supply_table(inputs, cid, spec)
    decay = category_decay(inputs, cid)
    com = inputs.communes.loc[demand.index]
    table = reach(
        inputs.rg,
        supply["node"].to_numpy(),
        com["node"].to_numpy(),
        problem_cutoff_min(decay, spec) * 60.0,
        origin_offsets=supply["snap_s"].to_numpy(dtype=float),
        target_offsets=com["snap_s"].to_numpy(dtype=float),
        reverse=True,
    )
    pairs = pd.DataFrame(
        {
            "demand": np.asarray(table.target, dtype=np.int64),
            "supply": np.asarray(table.origin, dtype=np.int64),
            "minutes": np.asarray(table.time, dtype=float) / 60.0,
        }
    )
    codes = demand["code"].astype(str).to_numpy()
    pairs["same_commune"] = codes[pairs["demand"]] == supply["code"].to_numpy()[pairs["supply"]]
    pos = pd.Series(np.arange(len(codes)), index=codes)
    direct = supply["direct_min"].to_numpy(dtype=float)
    own = supply.index[supply["code"].isin(pos.index)].to_numpy()
    if not (spec.same_commune or "same_commune" in spec.sensitivity):
        own = own[np.isfinite(direct[own])]  # only the direct trips need a pair
    have = set(pairs.loc[pairs["same_commune"], "supply"])
    add = [j for j in own if j not in have]
    if add:
        extra = pd.DataFrame(
            {
                "demand": pos[supply.loc[add, "code"]].to_numpy(),
                "supply": np.asarray(add, dtype=np.int64),
                "minutes": np.inf,
                "same_commune": True,
            }
        )
        pairs = pd.concat([pairs, extra], ignore_index=True)
    same = pairs["same_commune"].to_numpy()
    pairs["minutes"] = np.where(
        same,
        np.minimum(pairs["minutes"].to_numpy(), direct[pairs["supply"].to_numpy()]),
        pairs["minutes"].to_numpy(),
    )
    return CatchmentProblem(
        category=cid,
        demand=demand,
        supply=supply.drop(columns=["node", "snap_s", "direct_min"]),
        pairs=pairs,
        closed=not covers,
    )


def category_decay(inputs: AccessibilityInputs, cid: str) -> Decay:
    """The category's decay (the APL's when it has none)."""
    cat = inputs.catalogue[cid]
    return cat.decay if cat.decay is not None else decay_from_config({"type": "apl"})


def _spec_decay(decay: Decay, spec: CatchmentSpec) -> Decay:
    if spec.method == "apl" and spec.smoothed:
        return smoothed_step_decay(
            APL_BREAKS_MIN, APL_WEIGHTS, spec.time_error, spec.time_error_model
        )
    return decay


def solve_catchment(
    problem: CatchmentProblem,
    spec: CatchmentSpec,
    decay: Decay,
    *,
    per_unit: Mapping[str, float] | None = None,
) -> pd.Series:
    """The floating-catchment indicator of a problem under one spec.

    Parameters
    ----------
    problem : CatchmentProblem
        From :func:`catchment_problem`.
    spec : CatchmentSpec
        The choices (a category's spec or one of its variants).
    decay : Decay
        The category's decay (smoothed here when the spec asks for it).
    per_unit : mapping, optional
        Extra-supply category → supply per unit; default from ``spec.extra_supply``.

    Returns
    -------
    pandas.Series
        Supply per 100,000 (standardised) inhabitants, indexed like the demand communes
        (the study communes only when ``buffer_supply`` is off or the offer is closed).
    """
    units = (
        dict(per_unit)
        if per_unit is not None
        else {e.category: e.per_unit for e in spec.extra_supply}
    )
    sup = problem.supply
    cat = sup["category"].to_numpy()
    factor = np.where(cat == problem.category, 1.0, sup["category"].map(units).to_numpy(float))
    keep_s = np.isfinite(factor)  # extra supply not in the spec: NaN unit → left out
    dem = problem.demand
    keep_d = np.ones(len(dem), dtype=bool)
    if not spec.buffer_supply:
        keep_s &= sup["in_study"].to_numpy(dtype=bool)
        keep_d &= dem["in_study"].to_numpy(dtype=bool)
    pairs = problem.pairs
    minutes = pairs["minutes"].to_numpy(dtype=float)
    if spec.same_commune:
        minutes = np.where(pairs["same_commune"].to_numpy(), spec.same_commune_min, minutes)
    keep_p = keep_s[pairs["supply"].to_numpy()] & keep_d[pairs["demand"].to_numpy()]
    pop = dem["population"].to_numpy(dtype=float)
    if spec.age_weights:
        pop = pop * dem["age_factor"].to_numpy(dtype=float)
    pop = np.where(keep_d, pop, 0.0)
    supply = np.where(keep_s, sup["capacity"].to_numpy(dtype=float) * np.nan_to_num(factor), 0.0)
    access = e2sfca(
        pairs["demand"].to_numpy()[keep_p],
        pairs["supply"].to_numpy()[keep_p],
        minutes[keep_p],
        pop,
        supply,
        _spec_decay(decay, spec),
    )
    return pd.Series(access, index=dem.index)[keep_d]


def category_e2sfca(inputs: AccessibilityInputs, cid: str) -> pd.Series:
    """Floating-catchment accessibility of one category for every snapped commune.

    The category's ``catchment`` spec says how: the plain E2SFCA (its decay, plain
    population, routed times) or the APL conventions (:mod:`geoattract.accessibility.apl`).

    Parameters
    ----------
    inputs : AccessibilityInputs
        From :func:`~geoattract.accessibility.prepare_inputs` (``age_structure`` when the
        spec standardises the demand by age).
    cid : str
        Category id; its decay gives the catchment (the APL decay when it has none).

    Returns
    -------
    pandas.Series
        Capacity per 100,000 (standardised) inhabitants, indexed like the demand communes:
        the snapped communes with a population, the study communes only when the category's
        offer is known in the study département only (``covers_buffer`` false).
    """
    problem = catchment_problem(inputs, cid)
    return solve_catchment(problem, inputs.catalogue[cid].catchment, category_decay(inputs, cid))
