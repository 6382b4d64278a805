"""Housing pillar per study commune: affordability, social housing and market depth.

Reads the housing table of the offer stage (:func:`geoattract.facilities.housing_table`) and
the snapped town halls; the reachable-stock indicators use the road network.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geoattract._util.io import require_columns
from geoattract.accessibility.inputs import AccessibilityInputs

#: Threshold (minutes) of the housing-market indicators (social housing, sales reachable).
HOUSING_THRESHOLD_MIN = 20

#: Shrinkage strength of the price ratios: a commune with ``n`` sales gets
#: ``(n·ratio + k·1) / (n + k)``, i.e. its own ratio weighted by its number of sales against
#: ``k`` pseudo-sales at the département median (empirical-Bayes style; k = MIN_SALES).
PRICE_SHRINKAGE_SALES = 5

#: Columns of the housing table :func:`housing_accessibility` reads.
HOUSING_COLUMNS: tuple[str, ...] = (
    "code",
    "price_m2_house",
    "price_m2_flat",
    "n_sales_house",
    "n_sales_flat",
    "few_sales_house",
    "few_sales_flat",
    "social_housing",
)


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
        From :func:`~geoattract.accessibility.prepare_inputs` (the snapped town halls).
    housing : DataFrame
        From :func:`geoattract.facilities.housing_table`: one row per territory commune with
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

    require_columns(housing, HOUSING_COLUMNS, "housing table")
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
