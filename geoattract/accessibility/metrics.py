"""Accessibility metrics per commune: nearest time, counts within thresholds, E2SFCA.

The functions here are pure: they take travel times already computed by
:mod:`geoattract.routing` (as long "pair" arrays: demand location, facility, minutes) and return
arrays or DataFrames aligned on their inputs.

Enhanced two-step floating catchment (E2SFCA, Luo & Qi 2009), with decay weights ``W``:

1. for each facility *j*: ``R_j = S_j / Σ_i P_i W(t_ij)`` (supply per weighted resident);
2. for each demand location *i*: ``A_i = Σ_j R_j W(t_ij)``, reported per 100,000 inhabitants.

A facility that no resident reaches keeps ``R_j = 0`` (its supply serves nobody) and is
reported; with a flat catchment that reaches everyone, ``Σ_i P_i A_i = Σ_j S_j`` (conservation).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from geoattract import settings
from geoattract.accessibility.decay import Decay, decay_from_config
from geoattract.errors import DataError

__all__ = [
    "PER_INHABITANTS",
    "AccessibilityInputs",
    "category_accessibility",
    "e2sfca",
    "housing_accessibility",
    "prepare_inputs",
]

logger = logging.getLogger(__name__)

#: E2SFCA results are expressed per this many inhabitants.
PER_INHABITANTS = 100_000


def e2sfca(
    demand_index: np.ndarray,
    supply_index: np.ndarray,
    minutes: np.ndarray,
    demand: np.ndarray,
    supply: np.ndarray,
    decay: Decay,
    *,
    per: float = PER_INHABITANTS,
) -> np.ndarray:
    """Enhanced two-step floating catchment accessibility.

    Parameters
    ----------
    demand_index, supply_index : ndarray of int
        Pair arrays: the demand location and the facility of each reachable pair.
    minutes : ndarray of float
        Travel time of each pair, in minutes (pairs beyond the catchment may be included;
        their weight is 0).
    demand : ndarray of float
        Population of each demand location (length = number of demand locations).
    supply : ndarray of float
        Capacity of each facility (length = number of facilities).
    decay : Decay
        Weight as a function of minutes.
    per : float
        Express the result per this many inhabitants.

    Returns
    -------
    ndarray of float
        Accessibility of each demand location, in supply units per ``per`` inhabitants.
        A location that reaches no facility gets 0 *supply reachable*, which is a real
        value here (the caller flags unreachable communes separately, from travel times).
    """
    di = np.asarray(demand_index, dtype=np.int64)
    si = np.asarray(supply_index, dtype=np.int64)
    t = np.asarray(minutes, dtype=float)
    p = np.asarray(demand, dtype=float)
    s = np.asarray(supply, dtype=float)
    if not (di.shape == si.shape == t.shape):
        raise DataError(f"e2sfca: pair arrays differ in length: {di.shape}, {si.shape}, {t.shape}")
    if np.any(np.isnan(p)) or np.any(p < 0):
        raise DataError(
            "e2sfca: demand must be finite and >= 0 (NaN population must be resolved first)"
        )
    if np.any(np.isnan(s)) or np.any(s < 0):
        raise DataError("e2sfca: supply must be finite and >= 0")
    w = decay(t)
    weighted_demand = np.bincount(si, weights=p[di] * w, minlength=s.size)
    ratio = np.divide(s, weighted_demand, out=np.zeros_like(s), where=weighted_demand > 0)
    unused = (weighted_demand == 0) & (s > 0)
    if unused.any():
        logger.info(
            "e2sfca: %d facility(ies) reach no resident within the catchment", int(unused.sum())
        )
    access = np.bincount(di, weights=ratio[si] * w, minlength=p.size)
    return access * per


# --------------------------------------------------------------------------------------------
# Per-commune metrics on a road graph
# --------------------------------------------------------------------------------------------

#: Sources whose facilities are placed at the commune's town hall for want of coordinates.
TOWN_HALL_SOURCES = ("bpe", "counts", "table")

#: Intra-commune distance of such facilities: ``INTRA_COMMUNE_FACTOR · √(area / π)``, the
#: usual intrazonal approximation (half the radius of the disc of the commune's area; e.g.
#: Frost & Spence 1995), covered at the access-leg speed.
INTRA_COMMUNE_FACTOR = 0.5

#: Threshold (minutes) of the housing-market indicators (social housing, sales reachable).
HOUSING_THRESHOLD_MIN = 20

#: Shrinkage strength of the price ratios: a commune with ``n`` sales gets
#: ``(n·ratio + k·1) / (n + k)``, i.e. its own ratio weighted by its number of sales against
#: ``k`` pseudo-sales at the département median (empirical-Bayes style; k = MIN_SALES).
PRICE_SHRINKAGE_SALES = 5


@dataclass
class AccessibilityInputs:
    """Snapped inputs of the accessibility stage, reusable by what-if scenarios.

    Attributes
    ----------
    rg : RoutingGraph
        Routing structure of the road graph.
    communes : DataFrame
        Territory rows (study and buffer) with ``node``, ``snap_s``, ``too_far``.
    facilities : GeoDataFrame
        Facilities with ``node``, ``snap_s``; facilities too far from the network are dropped
        (listed in ``dropped_facilities``).
    catalogue : Catalogue
    thresholds_min : dict
        Category → thresholds (minutes).
    """

    rg: Any
    communes: pd.DataFrame
    facilities: gpd.GeoDataFrame
    catalogue: Any
    dropped_facilities: pd.DataFrame = field(default_factory=pd.DataFrame)
    max_snap_m: float | None = None
    snap_speed_kph: float | None = None

    def snap(self, points: Any, *, ids: Any = None, on_far: str = "flag") -> pd.DataFrame:
        """Snap more points (new facilities, EV stations…) with the same limit and speed."""
        from geoattract.network.snapping import snap_points

        nodes = pd.DataFrame({"x": self.rg.x, "y": self.rg.y}, index=self.rg.node_ids)
        return snap_points(
            nodes,
            points,
            ids=ids,
            max_distance_m=self.max_snap_m,
            speed_kph=self.snap_speed_kph,
            on_far=on_far,
        )


def prepare_inputs(
    G: Any,
    territory: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    catalogue: Any,
    *,
    max_snap_m: float | None = None,
    snap_speed_kph: float | None = None,
    rg: Any = None,
) -> AccessibilityInputs:
    """Snap town halls and facilities to the graph and build the routing structure.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Road graph (graph model of :mod:`geoattract.network.graph`).
    territory : GeoDataFrame
        From :func:`geoattract.territory.load.load_territory` (study and buffer communes).
    facilities : GeoDataFrame
        From :func:`geoattract.facilities.catalogue.load_facilities`.
    catalogue : Catalogue
        The facility catalogue.
    max_snap_m, snap_speed_kph : float, optional
        Snapping limit and access-leg speed (defaults from :mod:`geoattract.settings`).
    rg : RoutingGraph, optional
        Reuse an existing routing structure.

    Returns
    -------
    AccessibilityInputs
    """
    from geoattract.network.snapping import snap_points
    from geoattract.routing import routing_graph

    rg = routing_graph(G) if rg is None else rg
    halls = gpd.GeoSeries(territory["town_hall"].values, index=territory.index, crs=territory.crs)
    snapped = snap_points(
        G, halls, ids=territory["code"], max_distance_m=max_snap_m, speed_kph=snap_speed_kph
    )
    communes = pd.DataFrame(
        {
            "code": territory["code"].to_numpy(),
            "population": territory["population"].to_numpy(dtype=float),
            "in_study": territory["in_study"].to_numpy(dtype=bool),
            "node": snapped["node"].to_numpy(),
            "snap_m": snapped["snap_distance_m"].to_numpy(dtype=float),
            "snap_s": snapped["snap_time_s"].to_numpy(dtype=float),
            "too_far": snapped["too_far"].to_numpy(dtype=bool),
        },
        index=territory.index,
    )
    fsnap = snap_points(G, facilities.geometry, max_distance_m=max_snap_m, speed_kph=snap_speed_kph)
    fac = facilities.copy()
    fac["node"] = fsnap["node"].to_numpy()
    fac["snap_m"] = fsnap["snap_distance_m"].to_numpy(dtype=float)
    fac["snap_s"] = fsnap["snap_time_s"].to_numpy(dtype=float)
    # facilities known only by commune (BPE counts, tables) sit at the town hall: give them
    # the mean distance of a point of the commune to its centre instead of a false 0
    speed = (snap_speed_kph or settings.snap_speed_kph) / 3.6
    area = territory.set_index("code").geometry.area
    at_hall = (
        fac["source"].isin(TOWN_HALL_SOURCES).to_numpy()
        if "source" in fac
        else np.zeros(len(fac), bool)
    )
    intra_m = INTRA_COMMUNE_FACTOR * np.sqrt(fac["code"].map(area).to_numpy(dtype=float) / np.pi)
    intra_m = np.where(at_hall & np.isfinite(intra_m), intra_m, 0.0)
    fac["intra_commune_m"] = intra_m
    fac["snap_s"] = fac["snap_s"] + intra_m / speed
    far = fsnap["too_far"].to_numpy(dtype=bool)
    dropped = pd.DataFrame(fac.loc[far, ["category", "facility_id", "name", "snap_m"]])
    if far.any():
        logger.warning(
            "%d facility(ies) farther than the snapping limit from the network are left out: %s",
            int(far.sum()),
            dropped.groupby("category").size().to_dict(),
        )
    return AccessibilityInputs(
        rg=rg,
        communes=communes,
        facilities=fac.loc[~far].copy(),
        catalogue=catalogue,
        dropped_facilities=dropped,
        max_snap_m=max_snap_m,
        snap_speed_kph=snap_speed_kph,
    )


def _count_weights(fac: pd.DataFrame, capacity_unit: str) -> np.ndarray:
    """Facilities counted by ``count_*``: the capacity when it is a count of facilities (BPE
    rows group several), else 1 per facility (capacity in seats, births… goes to E2SFCA).
    A count row of unknown size counts as one facility (it exists)."""
    if capacity_unit == "count":
        cap = fac["capacity"].to_numpy(dtype=float)
        return np.where(np.isnan(cap), 1.0, cap)
    return np.ones(len(fac))


def _supply(fac: pd.DataFrame, cid: str) -> np.ndarray:
    """E2SFCA supply: the capacity; an unknown capacity is imputed with the category median
    (the facility exists, its size is unknown) and logged, never taken as 0 or 1."""
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


def category_accessibility(
    inputs: AccessibilityInputs,
    categories: Sequence[str] | None = None,
    *,
    departement: str | None = None,
    verbose: bool = False,
) -> pd.DataFrame:
    """Nearest time, counts within thresholds, E2SFCA and outside share per study commune.

    Parameters
    ----------
    inputs : AccessibilityInputs
        From :func:`prepare_inputs`.
    categories : sequence of str, optional
        Category ids (default: every category of the catalogue that has facilities).
    departement : str, optional
        Study département code, to tell facilities outside it (default: from ``in_study``).
    verbose : bool
        Progress bars.

    Returns
    -------
    DataFrame
        Indexed like the study rows of the territory, with per category ``time_<id>_min``,
        ``unreachable_<id>``, ``count_<id>_<T>min``, ``e2sfca_<id>``, ``outside_share_<id>``
        and ``outside_unknown_<id>``. Unreachable → NaN time and the flag set, never 0.
    """
    from geoattract.routing import facility_access, reach

    com = inputs.communes
    fac = inputs.facilities
    cat_ids = (
        list(categories)
        if categories is not None
        else [c for c in inputs.catalogue.ids if (fac["category"] == c).any()]
    )
    study = com[com["in_study"] & ~com["too_far"]]
    out = pd.DataFrame(index=com.index[com["in_study"]])
    if study.empty:
        raise DataError("accessibility: no study commune could be snapped to the road network")
    origin_nodes = study["node"].to_numpy()
    origin_off = study["snap_s"].to_numpy(dtype=float)
    specs: dict[str, tuple] = {}
    thresholds: set[int] = set()
    for cid in cat_ids:
        cat = inputs.catalogue[cid]
        f = fac[fac["category"] == cid]
        if f.empty:
            raise DataError(
                f"accessibility: category {cid!r} has no facility snapped to the network"
            )
        unit = inputs.facilities.attrs.get("capacity_unit", {}).get(cid, cat.capacity)
        specs[cid] = (
            f["node"].to_numpy(),
            _count_weights(f, unit),
            f["snap_s"].to_numpy(dtype=float),
        )
        outside = ~f["in_study"].to_numpy(dtype=bool)
        specs[f"{cid}\x00outside"] = (
            f["node"].to_numpy()[outside],
            _count_weights(f, unit)[outside],
            f["snap_s"].to_numpy(dtype=float)[outside],
        )
        thresholds.update(cat.thresholds_min)
    thr = sorted(thresholds)
    acc = facility_access(
        inputs.rg,
        origin_nodes,
        specs,
        [t * 60.0 for t in thr],
        origin_offsets=origin_off,
        verbose=verbose,
    )
    columns: dict[str, pd.Series] = {}
    for cid in tqdm(cat_ids, desc="accessibility", disable=not verbose):
        cat = inputs.catalogue[cid]
        nearest = pd.Series(acc.nearest_s[cid] / 60.0, index=study.index).reindex(out.index)
        unreachable = ~np.isfinite(nearest.to_numpy())
        columns[f"time_{cid}_min"] = nearest.where(~unreachable)
        columns[f"unreachable_{cid}"] = pd.Series(unreachable, index=out.index)
        counts = acc.counts[cid]
        out_counts = acc.counts[f"{cid}\x00outside"]
        for t in cat.thresholds_min:
            k = thr.index(t)
            columns[f"count_{cid}_{t}min"] = pd.Series(counts[:, k], index=study.index).reindex(
                out.index
            )
        k_max = thr.index(max(cat.thresholds_min))
        total = counts[:, k_max].astype(float)
        share = np.divide(
            out_counts[:, k_max], total, out=np.full(total.shape, np.nan), where=total > 0
        )
        covers = inputs.facilities.attrs.get("covers_buffer", {}).get(cid, cat.covers_buffer)
        if not covers:
            share[:] = np.nan
        columns[f"outside_share_{cid}"] = pd.Series(share, index=study.index).reindex(out.index)
        columns[f"outside_unknown_{cid}"] = pd.Series(not covers, index=out.index)
        columns[f"e2sfca_{cid}"] = _e2sfca_category(inputs, cid, reach).reindex(out.index)
    result = pd.concat([out, pd.DataFrame(columns, index=out.index)], axis=1)
    return result


def _e2sfca_category(inputs: AccessibilityInputs, cid: str, reach: Callable) -> pd.Series:
    """E2SFCA of one category for every snapped commune (study and buffer as demand)."""
    com = inputs.communes
    cat = inputs.catalogue[cid]
    f = inputs.facilities[inputs.facilities["category"] == cid]
    demand = com[~com["too_far"] & com["population"].notna()]
    covers = inputs.facilities.attrs.get("covers_buffer", {}).get(cid, cat.covers_buffer)
    if not covers:
        # supply known in the study département only: a closed département on both sides,
        # otherwise buffer residents would compete for 47's offer with none of their own
        demand = demand[demand["in_study"]]
    decay = cat.decay if cat.decay is not None else decay_from_config({"type": "apl"})
    table = reach(
        inputs.rg,
        f["node"].to_numpy(),
        demand["node"].to_numpy(),
        decay.catchment_min * 60.0,
        origin_offsets=f["snap_s"].to_numpy(dtype=float),
        target_offsets=demand["snap_s"].to_numpy(dtype=float),
        reverse=True,
    )
    supply = _supply(f, cid)
    a = e2sfca(
        table.target,
        table.origin,
        table.time / 60.0,
        demand["population"].to_numpy(float),
        supply,
        decay,
    )
    return pd.Series(a, index=demand.index)


def housing_accessibility(
    inputs: AccessibilityInputs,
    housing: pd.DataFrame,
    *,
    threshold_min: float = HOUSING_THRESHOLD_MIN,
    shrinkage_sales: float = PRICE_SHRINKAGE_SALES,
) -> pd.DataFrame:
    """Housing pillar per study commune: affordability, social housing and market depth.

    Parameters
    ----------
    inputs : AccessibilityInputs
        From :func:`prepare_inputs` (the communes' snapped town halls).
    housing : DataFrame
        From :func:`geoattract.facilities.catalogue.housing_table`: one row per territory commune with
        ``code``, ``price_m2_house``, ``n_sales_house``, ``price_m2_flat``, ``n_sales_flat``,
        ``social_housing``, ``few_sales_*`` flags.
    threshold_min : float
        Catchment of the reachable-stock indicators (minutes).
    shrinkage_sales : float
        Pseudo-sales at the département median used to stabilise thin price medians.

    Returns
    -------
    DataFrame
        Indexed like the study rows:

        - ``housing_price_house_rel``, ``housing_price_flat_rel``: commune median €/m² over the
          département median (sales-weighted median of the study communes' medians), shrunk
          towards 1 by ``(n·r + k) / (n + k)``; NaN where the commune had no sale, flagged by
          ``few_sales_house`` / ``few_sales_flat`` (fewer than the minimum);
        - ``housing_sales_house``, ``housing_sales_flat``: the sales counts (reliability weights);
        - ``social_housing_20min_per_1000``: social housing units reachable within the
          threshold per 1,000 inhabitants reachable within it;
        - ``housing_sales_20min``: property sales reachable within the threshold (depth).
    """
    from geoattract.routing import facility_access

    com = inputs.communes
    h = housing.set_index("code")
    study_idx = com.index[com["in_study"]]
    out = pd.DataFrame(index=study_idx)
    codes = com.loc[study_idx, "code"]
    for kind in ("house", "flat"):
        price = h[f"price_m2_{kind}"]
        n = h[f"n_sales_{kind}"].fillna(0.0)
        study_codes = set(codes)
        in_study = price.index.isin(study_codes) & price.notna() & (n > 0)
        ref = _weighted_median(price[in_study].to_numpy(float), n[in_study].to_numpy(float))
        ratio = price / ref
        shrunk = (n * ratio + shrinkage_sales) / (n + shrinkage_sales)
        shrunk[price.isna() | (n <= 0)] = np.nan
        out[f"housing_price_{kind}_rel"] = codes.map(shrunk).to_numpy()
        out[f"housing_sales_{kind}"] = codes.map(n).to_numpy()
        out[f"few_sales_{kind}"] = codes.map(h[f"few_sales_{kind}"]).fillna(True).to_numpy(bool)
        out.attrs[f"median_price_m2_{kind}"] = ref
    ok = com[~com["too_far"]]
    stock = ok["code"].map(h["social_housing"])
    sales = ok["code"].map(h["n_sales_house"].fillna(0) + h["n_sales_flat"].fillna(0))
    specs = {
        "social": (
            ok["node"].to_numpy(),
            stock.fillna(0).to_numpy(float),
            ok["snap_s"].to_numpy(float),
        ),
        "social_known_pop": (
            ok["node"].to_numpy(),
            ok["population"].where(stock.notna(), 0).fillna(0).to_numpy(float),
            ok["snap_s"].to_numpy(float),
        ),
        "sales": (
            ok["node"].to_numpy(),
            sales.fillna(0).to_numpy(float),
            ok["snap_s"].to_numpy(float),
        ),
    }
    origins = com.loc[study_idx]
    origins = origins[~origins["too_far"]]
    acc = facility_access(
        inputs.rg,
        origins["node"].to_numpy(),
        specs,
        [threshold_min * 60.0],
        origin_offsets=origins["snap_s"].to_numpy(float),
        nearest=False,
    )
    units = acc.counts["social"][:, 0]
    pop = acc.counts["social_known_pop"][:, 0]
    per_1000 = np.divide(units * 1000.0, pop, out=np.full(units.shape, np.nan), where=pop > 0)
    label = f"{int(threshold_min)}min"
    out[f"social_housing_{label}_per_1000"] = pd.Series(per_1000, index=origins.index).reindex(
        study_idx
    )
    out[f"housing_sales_{label}"] = pd.Series(
        acc.counts["sales"][:, 0], index=origins.index
    ).reindex(study_idx)
    return out


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """Median of ``values`` with ``weights`` (the smallest value with half the weight below)."""
    if values.size == 0 or weights.sum() <= 0:
        return float("nan")
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, 0.5 * cum[-1])])
