"""The study beside its reference départements: compared ratios, strongest and weakest points.

Every value of a territory is a ratio of sums over its communes (never a mean of commune
ratios). A département's communes are the rows of each source whose code belongs to it (each
source in its own geography); the study's are its communes. A source that is not a list of
communes "that have some" (``absent_is_zero``) must hold at least :data:`MIN_COVERAGE` of a
territory's communes, else the territory's value is NaN.

:func:`strengths_weaknesses` ranks the study among the territories on each indicator and
keeps the most favourable and the least favourable gaps to the reference départements.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geoattract.config.demography_schema import POPULATION_DENOMINATOR
from geoattract.demography.departements import departement_of
from geoattract.demography.source import RatioIndicator

#: Smallest share of a territory's communes a source must hold for the territory to get a value.
MIN_COVERAGE = 0.95

#: Points listed on each side by default.
DEFAULT_POINTS = 5


@dataclass(frozen=True)
class CompareSpec:
    """How a compared indicator reads: French label, unit, direction, decimals."""

    label_fr: str
    unit: str
    higher_is_better: bool
    decimals: int = 1
    source: str = ""


@dataclass(frozen=True)
class TerritoryGroup:
    """The communes of a compared territory.

    Attributes
    ----------
    codes : Index
        Commune codes of the main population source in the territory.
    departement : str or None
        The département code when the territory is a whole département (its communes in
        another source are then that source's rows of the département).
    """

    codes: pd.Index
    departement: str | None = None


def ratio_values(
    indicator: RatioIndicator,
    table: pd.DataFrame,
    population: pd.Series,
    groups: Mapping[str, TerritoryGroup],
) -> pd.Series:
    """``scale × Σ num / Σ den`` of each territory.

    Parameters
    ----------
    indicator : RatioIndicator
    table : DataFrame
        :func:`~geoattract.demography.source.read_ratio`: index commune code, ``num``, ``den``.
    population : Series
        Later census population per commune code (the ``population`` denominator).
    groups : mapping
        Territory key → :class:`TerritoryGroup`.

    Returns
    -------
    Series
        Territory key → value (NaN when the source holds too few of its communes or the
        denominator is zero).
    """
    deps = pd.Series([departement_of(str(c)) for c in table.index], index=table.index)
    out = {}
    for key, group in groups.items():
        if group.departement is not None:
            rows = table[deps == group.departement]
        else:
            rows = table[table.index.isin(group.codes)]
        if indicator.denominator == POPULATION_DENOMINATOR:
            if indicator.absent_is_zero:
                num = rows["num"].sum()
                den = population.reindex(group.codes).sum()
                n_ok = len(group.codes)
            else:
                pop = population.reindex(rows.index)
                ok = rows["num"].notna() & pop.notna()
                num, den, n_ok = rows.loc[ok, "num"].sum(), pop[ok].sum(), int(ok.sum())
        else:
            ok = rows["num"].notna() & rows["den"].notna()
            num, den, n_ok = rows.loc[ok, "num"].sum(), rows.loc[ok, "den"].sum(), int(ok.sum())
        enough = indicator.absent_is_zero or n_ok >= MIN_COVERAGE * len(group.codes)
        out[key] = indicator.scale * num / den if enough and den > 0 else np.nan
    return pd.Series(out, dtype=float, name=indicator.id)


def strengths_weaknesses(
    values: pd.DataFrame,
    specs: Mapping[str, CompareSpec],
    study: str,
    n: int = DEFAULT_POINTS,
) -> pd.DataFrame:
    """The study's most favourable and least favourable positions against the references.

    For each indicator with a value for the study and at least two reference territories:
    the median of the references, the study's rank among all the territories (1 = most
    favourable) and the standardised gap ``z = ±(study - median) / sd`` (sd of the reference
    values, population formula; the sign makes ``z > 0`` favourable). Strong points are the
    ``n`` largest positive ``z``, weak points the ``n`` most negative.

    Parameters
    ----------
    values : DataFrame
        Index territory key (the study and its references), one column per indicator.
    specs : mapping
        Indicator → :class:`CompareSpec`.
    study : str
        Key of the study row.
    n : int
        Points kept on each side.

    Returns
    -------
    DataFrame
        One row per point kept: ``indicator``, ``label_fr``, ``unit``, ``decimals``, ``value``,
        ``reference_median``, ``rank``, ``n_territories``, ``z``, ``side`` (``"fort"`` /
        ``"faible"``); strong points first, strongest first, then weak points, weakest first.
    """
    rows = []
    refs = values.drop(index=study)
    for ind, spec in specs.items():
        if ind not in values.columns:
            continue
        mine = float(pd.to_numeric(values[ind], errors="coerce").loc[study])
        others = pd.to_numeric(refs[ind], errors="coerce").dropna()
        if np.isnan(mine) or len(others) < 2:
            continue
        sign = 1.0 if spec.higher_is_better else -1.0
        median = float(others.median())
        sd = float(others.std(ddof=0))
        z = sign * (mine - median) / sd if sd > 0 else 0.0
        column = pd.to_numeric(values[ind], errors="coerce").dropna() * sign
        rank = int((column > mine * sign).sum()) + 1
        rows.append(
            {
                "indicator": ind,
                "label_fr": spec.label_fr,
                "unit": spec.unit,
                "decimals": spec.decimals,
                "source": spec.source,
                "value": mine,
                "reference_median": median,
                "rank": rank,
                "n_territories": int(len(column)),
                "z": z,
            }
        )
    columns = [
        "indicator",
        "label_fr",
        "unit",
        "decimals",
        "source",
        "value",
        "reference_median",
        "rank",
        "n_territories",
        "z",
        "side",
    ]
    if not rows:
        return pd.DataFrame(columns=columns)
    table = pd.DataFrame(rows)
    strong = table[table["z"] > 0].sort_values("z", ascending=False).head(n).assign(side="fort")
    weak = table[table["z"] < 0].sort_values("z").head(n).assign(side="faible")
    return pd.concat([strong, weak], ignore_index=True)[columns]
