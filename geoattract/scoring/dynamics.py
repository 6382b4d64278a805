"""Offer against population dynamics: quadrants, rank correlations, what goes with gains.

The scores measure the *offer* of a commune for a target population; the population
dynamics (:mod:`geoattract.demography`) measure where people settle. This module sets them
side by side, and never feeds the dynamics back into the scores:

* :func:`offer_quadrants`: for each profile, each commune is *haut* or *bas* (its score at or
  above, or below, the population-weighted median score of the study) and *gain* or *perte*
  (apparent migration balance above zero, or not);
* :func:`quadrant_counts`: communes and population per EPCI and quadrant;
* :func:`score_correlations`: the rank correlation of each profile's score with the migration
  rate (and the growth rate), plain and population-weighted;
* :mod:`geoattract.scoring.gains`: which indicators go with migration gains.

Small communes have noisy rates (a family arriving in a village of 80 moves its rate by
several points a year): the thresholds, the weighted correlations and the model weight each
commune by its mean census population.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from geoattract._util.weighted import weighted_median, weighted_spearman
from geoattract.scoring.gains import GainsModel, gains_model, indicator_associations
from geoattract.scoring.stage import Scores

#: Quadrant codes (values of the ``quadrant_<profile>`` columns), in display order.
QUADRANTS: tuple[str, ...] = ("haut_gain", "haut_perte", "bas_gain", "bas_perte")

#: French labels of the quadrants.
QUADRANT_LABELS_FR: dict[str, str] = {
    "haut_gain": "offre haute, gagne des habitants par migration",
    "haut_perte": "offre haute, n'en gagne pas",
    "bas_gain": "offre basse, gagne des habitants par migration",
    "bas_perte": "offre basse, n'en gagne pas",
}

#: Columns of the population dynamics the analysis reads.
MIGRATION = "demo_migration_rate_pct"
GROWTH = "demo_growth_rate_pct"


def offer_quadrants(
    scores: pd.DataFrame,
    migration: pd.Series,
    weights: pd.Series,
    profiles: Sequence[str],
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Quadrant of each commune for each profile (see the module docstring).

    Parameters
    ----------
    scores : DataFrame
        ``score_<profile>`` columns, aligned on ``migration``.
    migration : Series
        Apparent migration balance rate (% a year).
    weights : Series
        Population weights (mean census population).
    profiles : sequence of str

    Returns
    -------
    (DataFrame, dict)
        ``quadrant_<profile>`` columns (codes of :data:`QUADRANTS`, None where the score or
        the rate is missing), and profile → score threshold (population-weighted median).
    """
    out = pd.DataFrame(index=scores.index)
    thresholds = {}
    for p in profiles:
        score = pd.to_numeric(scores[f"score_{p}"], errors="coerce")
        ok = score.notna() & migration.notna()
        thr = weighted_median(score[ok], weights[ok])
        thresholds[p] = thr
        level = np.where(score >= thr, "haut", "bas")
        trend = np.where(migration > 0, "gain", "perte")
        quad = pd.Series([f"{a}_{b}" for a, b in zip(level, trend, strict=True)], index=out.index)
        out[f"quadrant_{p}"] = quad.where(ok, None)
    return out, thresholds


def quadrant_counts(quadrants: pd.DataFrame, groups: pd.Series, weights: pd.Series) -> pd.DataFrame:
    """Communes and population per group (EPCI) and quadrant, for every profile.

    Returns
    -------
    DataFrame
        Long table: ``group``, ``profile``, ``quadrant``, ``n_communes``, ``population``
        (sum of the weights), every quadrant of every group listed (zeros included).
    """
    rows = []
    for col in quadrants.columns:
        profile = col.removeprefix("quadrant_")
        frame = pd.DataFrame({"group": groups, "quadrant": quadrants[col], "w": weights})
        frame = frame.dropna(subset=["quadrant"])
        agg = frame.groupby(["group", "quadrant"]).agg(
            n_communes=("w", "size"), population=("w", "sum")
        )
        full = pd.MultiIndex.from_product(
            [sorted(frame["group"].unique()), list(QUADRANTS)], names=["group", "quadrant"]
        )
        agg = agg.reindex(full, fill_value=0).reset_index()
        agg.insert(1, "profile", profile)
        rows.append(agg)
    if not rows:
        return pd.DataFrame(columns=["group", "profile", "quadrant", "n_communes", "population"])
    out = pd.concat(rows, ignore_index=True)
    out["n_communes"] = out["n_communes"].astype(int)
    return out


def score_correlations(
    scores: pd.DataFrame,
    dynamics: pd.DataFrame,
    weights: pd.Series,
    profiles: Sequence[str],
) -> pd.DataFrame:
    """Rank correlation of each profile's score with the migration and growth rates.

    Returns
    -------
    DataFrame
        One row per profile: ``profile``, ``n``, ``spearman_migration`` (plain),
        ``p_value_migration`` (two-sided, plain), ``weighted_spearman_migration``,
        ``spearman_growth``, ``weighted_spearman_growth``.
    """
    rows = []
    for p in profiles:
        score = pd.to_numeric(scores[f"score_{p}"], errors="coerce")
        mig, growth = dynamics[MIGRATION], dynamics[GROWTH]
        ok = score.notna() & mig.notna()
        res = stats.spearmanr(score[ok], mig[ok])
        rows.append(
            {
                "profile": p,
                "n": int(ok.sum()),
                "spearman_migration": float(res.statistic),
                "p_value_migration": float(res.pvalue),
                "weighted_spearman_migration": weighted_spearman(score, mig, weights),
                "spearman_growth": weighted_spearman(score, growth),
                "weighted_spearman_growth": weighted_spearman(score, growth, weights),
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class DynamicsAnalysis:
    """Offer against population dynamics, for the report (never fed back into the scores).

    Attributes
    ----------
    quadrants : DataFrame
        Aligned on the study communes: ``quadrant_<profile>``.
    thresholds : dict
        Profile → score threshold between *haut* and *bas* (population-weighted median).
    counts : DataFrame
        :func:`quadrant_counts` per EPCI (``group`` = EPCI name).
    correlations : DataFrame
        :func:`score_correlations`.
    associations : DataFrame
        :func:`~geoattract.scoring.gains.indicator_associations`.
    model : GainsModel
        :func:`~geoattract.scoring.gains.gains_model`.
    """

    quadrants: pd.DataFrame
    thresholds: dict[str, float]
    counts: pd.DataFrame
    correlations: pd.DataFrame
    associations: pd.DataFrame
    model: GainsModel


def population_weights(dynamics: pd.DataFrame) -> pd.Series:
    """Mean census population of each commune (NaN where a census is missing)."""
    return (dynamics["demo_pop_start"] + dynamics["demo_pop_end"]) / 2.0


def analyse_dynamics(
    dynamics: pd.DataFrame, scores: Scores, *, seed: int | None = None
) -> DynamicsAnalysis:
    """Set the offer (scores, indicators) against the population dynamics.

    Parameters
    ----------
    dynamics : DataFrame
        The ``demo_*`` columns of :class:`geoattract.demography.Demography`, aligned on the
        study communes (``demo_migration_rate_pct``, ``demo_growth_rate_pct``,
        ``demo_pop_start``, ``demo_pop_end``).
    scores : Scores
        The scoring stage's result.
    seed : int, optional
        Seed of the cross-validation folds.

    Returns
    -------
    DynamicsAnalysis
    """
    profiles = list(scores.config.profiles)
    weights = population_weights(dynamics)
    migration = dynamics[MIGRATION]
    quadrants, thresholds = offer_quadrants(scores.scores, migration, weights, profiles)
    counts = quadrant_counts(quadrants, scores.indicators["epci_nom"], weights)
    correlations = score_correlations(scores.scores, dynamics, weights, profiles)
    associations = indicator_associations(scores.indicators, migration, weights, scores.config)
    model = gains_model(scores.indicators, migration, weights, scores.config, seed=seed)
    return DynamicsAnalysis(
        quadrants=quadrants,
        thresholds=thresholds,
        counts=counts,
        correlations=correlations,
        associations=associations,
        model=model,
    )
