"""How a catchment indicator's ranking moves when each method choice is switched.

For every category whose ``catchment`` table lists ``sensitivity`` variants, the indicator is
recomputed with one choice flipped (:meth:`~geoattract.facilities.CatchmentSpec.switched`):
same-commune time 0, age standardisation, smoothing of the band weights, extra supply (health
centres), supply across the border. Each variant is compared with the baseline on the study
communes: Spearman rank correlation, median relative change, largest rank moves with names.
A variant with nothing to switch (no age weights, no supply across the border…) is listed as
not applicable rather than as a perfect correlation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geoattract.accessibility.apl import (
    CatchmentProblem,
    catchment_problem,
    category_decay,
    solve_catchment,
)
from geoattract.accessibility.inputs import AccessibilityInputs
from geoattract.errors import ConfigError
from geoattract.facilities import SENSITIVITY_VARIANTS, CatchmentSpec

logger = logging.getLogger(__name__)

#: Communes listed per variant among those whose rank moves most.
TOP_MOVERS: int = 5

#: A commune whose indicator moves by more than this (%) counts as changed by a variant.
CHANGE_TOLERANCE_PCT: float = 1.0

#: Classes of the ranking (quintiles) whose membership the table compares.
RANK_CLASSES: int = 5

#: Columns of :attr:`CatchmentSensitivity.table`.
SENSITIVITY_COLUMNS: tuple[str, ...] = (
    "category",
    "variant",
    "applicable",
    "note",
    "spearman",
    "median_change_pct",
    "max_rank_move",
    "same_class_pct",
    "n_changed",
    "n_communes",
)


@dataclass(frozen=True)
class CatchmentSensitivity:
    """The accessibility stage's sensitivity of catchment indicators to the method choices.

    Attributes
    ----------
    table : DataFrame
        One row per category and variant (:data:`SENSITIVITY_COLUMNS`): ``applicable``
        (false: nothing to switch, ``note`` says why), ``spearman`` (rank correlation with
        the baseline over the study communes), ``median_change_pct`` (median of
        ``|variant / baseline − 1|``, in %), ``max_rank_move`` (largest move in the
        département ranking, 1 = best access), ``same_class_pct`` (communes that stay in their
        quintile of the ranking, %), ``n_changed`` (communes whose indicator moves
        by more than :data:`CHANGE_TOLERANCE_PCT`), ``n_communes``.
    movers : DataFrame
        The communes that move most per category and variant: ``category``, ``variant``,
        ``code``, ``nom``, ``baseline``, ``value``, ``rank_baseline``, ``rank_variant``,
        ``rank_move`` (positive: the commune climbs).
    baseline : dict
        Category → the baseline indicator on the study communes.
    change_tolerance_pct : float
        Relative change (%) above which a commune counts in ``n_changed``.
    """

    table: pd.DataFrame
    movers: pd.DataFrame
    baseline: Mapping[str, pd.Series]
    change_tolerance_pct: float = CHANGE_TOLERANCE_PCT

    def for_category(self, cid: str) -> pd.DataFrame:
        """Rows of one category."""
        return self.table[self.table["category"] == cid].reset_index(drop=True)


def _not_applicable(problem: CatchmentProblem, spec: CatchmentSpec, variant: str) -> str:
    """Why a variant switches nothing ("" when it applies)."""
    if variant == "age" and not spec.age_standardised:
        return "no age weights"
    if variant == "smoothing" and spec.time_error <= 0:
        return "no time error"
    if variant == "extra_supply":
        extra = problem.supply["category"] != problem.category
        if not spec.extra_supply or not (extra & (problem.supply["capacity"] > 0)).any():
            return "no extra supply"
    if variant == "buffer_supply":
        outside = ~problem.supply["in_study"].to_numpy(dtype=bool)
        if problem.closed or not outside.any():
            return "no supply across the border in the offer"
    return ""


def _ranks(values: pd.Series) -> pd.Series:
    """Rank in the département, 1 = best access (ties share their mean rank)."""
    return values.rank(ascending=False, method="average")


def compare_rankings(
    baseline: pd.Series,
    variant: pd.Series,
    codes: pd.Series,
    names: pd.Series,
    *,
    top: int = TOP_MOVERS,
) -> tuple[dict[str, float], pd.DataFrame]:
    """Spearman, median relative change and the largest rank moves of two indicators.

    Parameters
    ----------
    baseline, variant : pandas.Series
        The indicator on the same communes (index); NaN rows are left out.
    codes, names : pandas.Series
        Commune code and name of each index label.
    top : int
        Movers returned.

    Returns
    -------
    dict, DataFrame
        ``spearman`` (Pearson correlation of the ranks; NaN when a ranking is constant),
        ``median_change_pct``, ``same_class_pct`` (share of communes in the same of
        :data:`RANK_CLASSES` classes of equal size of both rankings, %), ``n_changed``
        (relative change above
        :data:`CHANGE_TOLERANCE_PCT`, or from 0 to a value),
        ``max_rank_move``, ``n_communes``; the movers (``code``, ``nom``, ``baseline``,
        ``value``, ``rank_baseline``, ``rank_variant``, ``rank_move`` > 0 when climbing).
    """
    both = pd.concat({"baseline": baseline, "value": variant}, axis=1).dropna()
    rb, rv = _ranks(both["baseline"]), _ranks(both["value"])
    constant = len(both) < 2 or rb.nunique() < 2 or rv.nunique() < 2
    rho = float("nan") if constant else float(np.corrcoef(rb, rv)[0, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_all = np.abs(both["value"] / both["baseline"] - 1.0)
    rel = rel_all[np.isfinite(rel_all)]
    changed = (rel > CHANGE_TOLERANCE_PCT / 100).sum() + (
        (both["baseline"] == 0) & (both["value"] != 0)
    ).sum()
    move = rb - rv
    order = move.abs().sort_values(ascending=False, kind="stable").index[:top]
    movers = pd.DataFrame(
        {
            "code": codes.reindex(order).astype(str).to_numpy(),
            "nom": names.reindex(order).astype(str).to_numpy(),
            "baseline": both.loc[order, "baseline"].to_numpy(),
            "value": both.loc[order, "value"].to_numpy(),
            "rank_baseline": rb[order].to_numpy(),
            "rank_variant": rv[order].to_numpy(),
            "rank_move": move[order].to_numpy(),
        }
    )
    stats = {
        "spearman": rho,
        "median_change_pct": float(100 * rel.median()) if len(rel) else float("nan"),
        "max_rank_move": float(move.abs().max()) if len(move) else float("nan"),
        "same_class_pct": _same_class_pct(rb, rv),
        "n_changed": float(changed),
        "n_communes": float(len(both)),
    }
    return stats, movers


def _same_class_pct(rb: pd.Series, rv: pd.Series) -> float:
    """Share (%) of communes in the same of :data:`RANK_CLASSES` equal classes of two rankings."""
    if len(rb) < RANK_CLASSES:
        return float("nan")
    cb = np.floor((rb.rank(method="first") - 1) * RANK_CLASSES / len(rb))
    cv = np.floor((rv.rank(method="first") - 1) * RANK_CLASSES / len(rv))
    return float(100 * (cb == cv).mean())


def catchment_sensitivity(
    inputs: AccessibilityInputs,
    names: Mapping[object, str] | pd.Series | None = None,
    *,
    categories: Iterable[str] | None = None,
    variants: Sequence[str] | None = None,
    top: int = TOP_MOVERS,
) -> CatchmentSensitivity:
    """Recompute catchment indicators with each method choice switched.

    Parameters
    ----------
    inputs : AccessibilityInputs
        Snapped inputs (with ``age_structure`` when a spec standardises by age).
    names : mapping or Series, optional
        Commune index → name, for the movers (default: the commune code).
    categories : iterable of str, optional
        Categories (default: those whose ``catchment.sensitivity`` is not empty and that
        have facilities).
    variants : sequence of str, optional
        Variants of :data:`~geoattract.facilities.SENSITIVITY_VARIANTS` (default: each
        category's ``catchment.sensitivity``).
    top : int
        Movers kept per variant.

    Returns
    -------
    CatchmentSensitivity
    """
    fac = inputs.facilities
    cats = (
        list(categories)
        if categories is not None
        else [
            c.id
            for c in inputs.catalogue
            if c.catchment.sensitivity and (fac["category"] == c.id).any()
        ]
    )
    study = inputs.communes.index[inputs.communes["in_study"].to_numpy(dtype=bool)]
    codes = inputs.communes["code"].astype(str).reindex(study)
    label = pd.Series(names, dtype=object).reindex(study) if names is not None else codes
    label = label.fillna(codes)
    rows, moved, base = [], [], {}
    for cid in cats:
        spec = inputs.catalogue[cid].catchment
        problem = catchment_problem(inputs, cid)
        decay = category_decay(inputs, cid)
        baseline = solve_catchment(problem, spec, decay).reindex(study)
        base[cid] = baseline
        for variant in variants if variants is not None else spec.sensitivity:
            if variant not in SENSITIVITY_VARIANTS:
                raise ConfigError(
                    f"catchment sensitivity: unknown variant {variant!r}; expected one of "
                    f"{list(SENSITIVITY_VARIANTS)}"
                )
            why = _not_applicable(problem, spec, variant)
            row = {"category": cid, "variant": variant, "applicable": not why, "note": why}
            if why:
                rows.append(row | dict.fromkeys(SENSITIVITY_COLUMNS[4:], np.nan))
                continue
            value = solve_catchment(problem, spec.switched(variant), decay).reindex(study)
            stats, movers = compare_rankings(baseline, value, codes, label, top=top)
            rows.append(row | stats)
            moved.append(movers.assign(category=cid, variant=variant))
            logger.info(
                "catchment sensitivity %s, %s switched: Spearman %.3f, median change %.1f %%",
                cid,
                variant,
                stats["spearman"],
                stats["median_change_pct"],
            )
    table = pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS))
    mcols = ["category", "variant", "code", "nom", "baseline", "value"]
    mcols += ["rank_baseline", "rank_variant", "rank_move"]
    movers_all = (
        pd.concat(moved, ignore_index=True)[mcols] if moved else pd.DataFrame(columns=mcols)
    )
    return CatchmentSensitivity(table=table, movers=movers_all, baseline=base)
