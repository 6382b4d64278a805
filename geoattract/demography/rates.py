"""Population change and its decomposition, by INSEE's definitions.

Between two censuses ``P0`` (year ``t0``) and ``P1`` (year ``t1``), ``n = t1 - t0`` years:

* **annual growth rate** (*taux de variation annuel moyen*), geometric:
  ``100 ((P1 / P0)^(1/n) - 1)`` % a year;
* **natural balance** (*solde naturel*) ``SN`` = births - deaths over the interval; its rate
  ``100 SN / (n Pm)`` % a year, ``Pm = (P0 + P1) / 2`` the mean population;
* **apparent migration balance** (*solde apparent des entrées-sorties*)
  ``SM = (P1 - P0) - SN``, its rate ``100 SM / (n Pm)`` % a year.

The two component rates add up to ``100 (P1 - P0) / (n Pm)``, the arithmetic mean rate; it
differs from the geometric growth rate by a second-order term (under 0.01 point a year for a
change of a few tenths of a percent a year).

When the births and deaths cover other years than the census interval (the comparateur de
territoires gives the births and deaths of the latest year only), the natural balance over
the interval is an **estimate**: the mean annual balance of the years covered, times ``n``.
The rates are then flagged ``natural_estimated``.

Territories (EPCI, département) get their rates from summed populations and counts, never from
averaged commune rates: :func:`aggregate_counts` then :func:`dynamics_rates`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Count columns every rate is computed from (the ages are optional).
COUNT_COLUMNS: tuple[str, ...] = ("pop_start", "pop_end", "births", "deaths")

#: Age-group counts summed with the populations (optional).
AGE_COLUMNS: tuple[str, ...] = ("young", "old")

#: Output columns of :func:`dynamics_rates`.
RATE_COLUMNS: tuple[str, ...] = (
    "change",
    "natural_balance",
    "migration_balance",
    "growth_rate_pct",
    "natural_rate_pct",
    "migration_rate_pct",
)


def dynamics_rates(counts: pd.DataFrame, years: float, vital_years: float = 0.0) -> pd.DataFrame:
    """Growth, natural-balance and migration-balance rates of each row of ``counts``.

    Parameters
    ----------
    counts : DataFrame
        ``pop_start``, ``pop_end`` (populations at the two censuses), ``births``, ``deaths``
        (counts over ``vital_years`` calendar years).
    years : float
        Census interval ``n`` (``t1 - t0``), in years.
    vital_years : float
        Number of calendar years the births and deaths cover; 0 (default) means the census
        interval itself. Another value scales the balance to the interval (an estimate).

    Returns
    -------
    DataFrame
        Aligned on ``counts``: ``change`` (``P1 - P0``), ``natural_balance`` and
        ``migration_balance`` over the interval (people), ``growth_rate_pct``,
        ``natural_rate_pct``, ``migration_rate_pct`` (% a year). NaN where a count is missing
        or the start population is not positive.
    """
    if years <= 0:
        raise ValueError(f"census interval must be > 0 years, got {years}")
    p0 = pd.to_numeric(counts["pop_start"], errors="coerce").astype(float)
    p1 = pd.to_numeric(counts["pop_end"], errors="coerce").astype(float)
    births = pd.to_numeric(counts["births"], errors="coerce").astype(float)
    deaths = pd.to_numeric(counts["deaths"], errors="coerce").astype(float)
    span = float(vital_years) if vital_years else float(years)
    valid = (p0 > 0) & (p1 >= 0)
    p0, p1 = p0.where(valid), p1.where(valid)
    mean = (p0 + p1) / 2.0
    change = p1 - p0
    natural = (births - deaths) * (years / span)
    migration = change - natural
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = 100.0 * (np.power(p1 / p0, 1.0 / years) - 1.0)
        per_year = years * mean
        out = pd.DataFrame(
            {
                "change": change,
                "natural_balance": natural,
                "migration_balance": migration,
                "growth_rate_pct": growth,
                "natural_rate_pct": 100.0 * natural / per_year,
                "migration_rate_pct": 100.0 * migration / per_year,
            },
            index=counts.index,
        )
    return out.replace([np.inf, -np.inf], np.nan)


def aggregate_counts(
    counts: pd.DataFrame, by: pd.Series | str, usable: pd.Series | None = None
) -> pd.DataFrame:
    """Sum the populations and counts of the rows of each group (EPCI, département…).

    Parameters
    ----------
    counts : DataFrame
        :data:`COUNT_COLUMNS` and optionally :data:`AGE_COLUMNS` (people) and ``households``.
    by : Series or str
        Group of each row (aligned on ``counts``), or a column of ``counts``.
    usable : Series of bool, optional
        Rows summed (others left out: a commune without valid counts would otherwise count
        as zero); default every row.

    Returns
    -------
    DataFrame
        One row per group: the summed columns (an age column is NaN for a group where a
        usable row lacks it), ``n_communes`` (rows summed) and ``n_left_out`` (rows of the
        group left out).
    """
    keys = counts[by] if isinstance(by, str) else by
    ok = pd.Series(True, index=counts.index) if usable is None else usable.astype(bool)
    cols = [c for c in (*COUNT_COLUMNS, *AGE_COLUMNS, "households") if c in counts.columns]
    frame = counts.loc[ok, cols].apply(pd.to_numeric, errors="coerce")
    grouped = frame.groupby(keys[ok], sort=False)
    sums = grouped.sum(min_count=1)
    for col in AGE_COLUMNS:  # an age group is summed only over complete groups
        if col in sums.columns:
            sums.loc[grouped[col].count() < grouped.size(), col] = np.nan
    sums["n_communes"] = grouped.size()
    left_out = (~ok).groupby(keys).sum()
    sums["n_left_out"] = left_out.reindex(sums.index).fillna(0).astype(int)
    missing = left_out.index.difference(sums.index)
    if len(missing):  # groups whose every row was left out
        empty = pd.DataFrame(index=missing, columns=sums.columns, dtype=float)
        empty["n_communes"] = 0
        empty["n_left_out"] = left_out.reindex(missing).astype(int)
        sums = pd.concat([sums, empty])
    sums["n_communes"] = sums["n_communes"].astype(int)
    return sums


def ageing_index(young: pd.Series, old: pd.Series) -> pd.Series:
    """``100 × old / young``: people of the old age group per 100 of the young one.

    INSEE's *indice de vieillissement* takes the 65 and over and the under-20s; the groups are
    whatever the age source gives (counts, or shares of one population). NaN where the young
    group is zero or missing.
    """
    y = pd.to_numeric(young, errors="coerce").astype(float)
    o = pd.to_numeric(old, errors="coerce").astype(float)
    return (100.0 * o / y.where(y > 0)).rename("ageing_index")


def territory_rates(sums: pd.DataFrame, years: float, vital_years: float = 0.0) -> pd.DataFrame:
    """The rates of summed territories (:func:`aggregate_counts`), beside their sums.

    Returns
    -------
    DataFrame
        ``sums`` followed by :data:`RATE_COLUMNS` and ``ageing_index`` (when the sums have the
        age groups).
    """
    rates = dynamics_rates(sums, years, vital_years)
    out = pd.concat([sums, rates], axis=1)
    if set(AGE_COLUMNS) <= set(sums.columns):
        out["ageing_index"] = ageing_index(sums["young"], sums["old"])
    return out
