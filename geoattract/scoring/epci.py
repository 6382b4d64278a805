"""Scores per EPCI (groupings of communes): population-weighted means of commune scores."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pandas as pd

from geoattract.errors import DataError, format_values
from geoattract.scoring.aggregate import rank_scores
from geoattract.scoring.uncertainty import MC_QUANTILES

logger = logging.getLogger(__name__)


def epci_scores(df: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Population-weighted mean of commune scores per EPCI.

    ``score_EPCI = sum_c pop_c score_c / sum_c pop_c`` over the member communes whose score is
    not missing (a missing commune score is left out, not counted as 0).

    Parameters
    ----------
    df : DataFrame
        One row per commune with ``epci``, ``epci_nom``, ``population`` and the score columns
        (for example the commune table joined with :func:`score_all_profiles`).
    columns : sequence of str, optional
        Columns to aggregate; default every ``score_*`` and ``pillar_*`` column.

    Returns
    -------
    DataFrame
        One row per EPCI (sorted by code): ``epci``, ``epci_nom``, ``population``,
        ``n_communes``, the aggregated columns and ``rank_<profile>`` for every ``score_<profile>``
        (1 = best among EPCIs, ties by EPCI code).

    Communes that belong to no EPCI (some islands) are left out of the table, with a warning
    naming them.

    Raises
    ------
    DataError
        Missing columns, or a missing / negative population.
    """
    need = ["epci", "epci_nom", "population"]
    cols = (
        list(columns)
        if columns is not None
        else [
            c
            for c in df.columns
            if c.startswith(("score_", "pillar_")) and pd.api.types.is_numeric_dtype(df[c])
        ]
    )
    missing = [c for c in need + cols if c not in df.columns]
    if missing:
        raise DataError(
            f"epci_scores: missing column(s) {format_values(missing)}; available: "
            f"{format_values(df.columns, limit=80)}"
        )
    pop = pd.to_numeric(df["population"], errors="coerce")
    bad = pop.isna() | (pop < 0)
    if bad.any():
        who = df.loc[bad, "code"] if "code" in df.columns else df.index[bad]
        raise DataError(
            f"epci_scores: missing or negative population for {format_values(list(who))}"
        )
    alone = df["epci"].isna()
    if alone.any():
        # communes in no EPCI (islands such as Île-de-Sein, Ouessant, Île-d'Yeu): their own
        # unit, left out of the EPCI table, named
        who = df.loc[alone, "code"] if "code" in df.columns else df.index[alone]
        logger.warning(
            "epci_scores: %d commune(s) belong to no EPCI and are left out of the EPCI table: %s",
            int(alone.sum()),
            format_values(list(who)),
        )
        df, pop = df[~alone], pop[~alone]
    vals = df[cols].apply(pd.to_numeric, errors="coerce").astype(float)
    wx = vals.mul(pop, axis=0)
    wsum = vals.notna().mul(pop, axis=0)
    key = df["epci"].astype(str)
    num = wx.groupby(key).sum(min_count=1)
    den = wsum.groupby(key).sum()
    res = num / den.where(den > 0)
    head = df.groupby(key).agg(
        epci_nom=("epci_nom", "first"),
        population=("population", "sum"),
        n_communes=("epci", "size"),
    )
    out = head.join(res).rename_axis("epci").reset_index()
    for c in cols:
        if c.startswith("score_") and not c.endswith(tuple(f"_{q}" for q in MC_QUANTILES)):
            out["rank_" + c[len("score_") :]] = rank_scores(out[c], out["epci"])
    return out
