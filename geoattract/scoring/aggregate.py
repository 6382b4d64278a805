"""Deterministic composite scores: pillars, composites and ranks of every profile.

The method follows the OECD/JRC *Handbook on Constructing Composite Indicators* (2008):
indicators are oriented and normalised to 0–100 (:mod:`~geoattract.scoring.normalise`),
missing values are handled by re-weighting over the available ones, then indicators are
weighted and aggregated into pillars and pillars into a composite score per *profile*
(target population). Ranks are a permutation (ties broken by INSEE code).

Functions are pure: they take a DataFrame of indicators (one row per study commune, columns
``code`` and the indicator columns named in the configuration) and return a new DataFrame
aligned on its index.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from geoattract.errors import ConfigError, DataError
from geoattract.scoring.config import AGGREGATIONS, ScoringConfig, check_weights
from geoattract.scoring.model import (
    ScoreModel,
    base_design,
    evaluate_model,
    prepare_model,
    rank_matrix,
    weighted_mean,
)

logger = logging.getLogger(__name__)

#: Profile whose pillar scores are also written without suffix by :func:`score_all_profiles`.
REFERENCE_PROFILE: str = "general"


def aggregate(
    values_df: pd.DataFrame,
    weights: Mapping[str, float],
    method: str = "arithmetic",
    min_weight_share: float = 0.0,
) -> pd.Series:
    """Weighted aggregation of normalised columns, re-weighting over available values.

    ``arithmetic``: ``sum_i w_i x_i / sum_i w_i``; ``geometric``:
    ``exp(sum_i w_i ln max(x_i, GEOMETRIC_FLOOR) / sum_i w_i)``, both over the non-missing
    ``x_i`` of the row. The row is NaN when the available weight is below
    ``min_weight_share`` × the total weight (or zero).

    Parameters
    ----------
    values_df : DataFrame
        Normalised values (0–100), one column per weighted item.
    weights : mapping
        Column → weight (>= 0, at least one > 0). Columns not listed are ignored.
    method : str
        ``"arithmetic"`` or ``"geometric"``.
    min_weight_share : float
        Minimum available share of the weight, in [0, 1].

    Returns
    -------
    Series
        Aggregated values in [0, 100], aligned on ``values_df.index``.

    Raises
    ------
    ConfigError
        Negative or non-finite weight, all-zero weights, a weight for an unknown column, or an
        unknown method (the message names the key).
    """
    if method not in AGGREGATIONS:
        raise ConfigError(f"unknown aggregation {method!r}; choose one of {list(AGGREGATIONS)}")
    check_weights(
        weights, list(values_df.columns), "aggregate", "weights.", "column", require_all=False
    )
    if not any(v > 0 for v in weights.values()):
        raise ConfigError(
            f"aggregate: all weights are zero: {dict(weights)}; at least one must be > 0"
        )
    cols = [c for c, v in weights.items() if v > 0]
    x = values_df[cols].to_numpy(dtype=float)
    w = np.array([float(weights[c]) for c in cols])
    return pd.Series(weighted_mean(x, w, method, min_weight_share), index=values_df.index)


def rank_scores(scores: pd.Series, codes: pd.Series) -> pd.Series:
    """Rank scores, 1 = best, as a permutation of ``1..k`` over the k non-missing scores.

    Scores are rounded to :data:`~geoattract.scoring.model.RANK_DECIMALS` decimals; equal scores are ranked by
    ascending INSEE code (deterministic tie-break), so ranks never repeat.

    Parameters
    ----------
    scores : Series
        Scores (NaN allowed: rank NaN).
    codes : Series
        Tie-break keys aligned with ``scores``.

    Returns
    -------
    Series
        Nullable integer ranks (``Int64``) aligned on ``scores.index``.
    """
    tie = np.argsort(codes.astype(str).to_numpy(), kind="stable")
    r = rank_matrix(scores.to_numpy(dtype=float), tie)[0]
    return pd.Series(r, index=scores.index).astype("Int64")


def _deterministic(
    indicators_df: pd.DataFrame,
    config: ScoringConfig,
    profile: str,
    fit_on: pd.DataFrame | None,
) -> tuple[ScoreModel, np.ndarray, np.ndarray]:
    """Evaluate a profile with the configured method: its model, pillar and composite scores."""
    model = prepare_model(
        indicators_df, config, profile, [config.method["normalisation"]], False, fit_on
    )
    design = base_design(model, geometric=config.method["aggregation"] == "geometric")
    pil, comp = evaluate_model(model, design)
    return model, pil, comp


def pillar_scores(
    indicators_df: pd.DataFrame,
    config: ScoringConfig,
    profile: str = REFERENCE_PROFILE,
    fit_on: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Pillar scores (0–100) of a profile, one column ``pillar_<pillar>`` per weighted pillar.

    Parameters
    ----------
    indicators_df : DataFrame
        Indicators per commune (columns of ``[indicators]`` and ``code``).
    config : ScoringConfig
        Scoring configuration.
    profile : str
        Profile whose indicator weights are used.
    fit_on : DataFrame, optional
        Data the normalisation statistics come from (default ``indicators_df``).

    Returns
    -------
    DataFrame
        Aligned on ``indicators_df.index``; NaN where less than ``min_weight_share`` of the
        pillar's indicator weight is available.
    """
    model, pil, _ = _deterministic(indicators_df, config, profile, fit_on)
    return pd.DataFrame(
        pil[0], index=indicators_df.index, columns=[f"pillar_{p}" for p in model.pillars]
    )


def composite_scores(
    indicators_df: pd.DataFrame,
    config: ScoringConfig,
    profile: str = REFERENCE_PROFILE,
    fit_on: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Composite score, rank, pillar scores and missing-data flags of one profile.

    Parameters
    ----------
    indicators_df : DataFrame
        One row per study commune: ``code`` and every column of ``[indicators]``.
    config : ScoringConfig
        Scoring configuration (:func:`~geoattract.scoring.config.load_scoring_config`).
    profile : str
        Name of a ``[profiles.<name>]`` table.
    fit_on : DataFrame, optional
        Data the normalisation statistics come from (fixed goal-posts, used by
        :func:`score_changes`); default ``indicators_df``.

    Returns
    -------
    DataFrame
        Aligned on ``indicators_df.index``, columns ``score_<profile>`` (0–100, NaN when less than
        ``min_weight_share`` of the pillar weight is available), ``rank_<profile>`` (1 = best,
        a permutation over scored communes, ties broken by code), ``pillar_<pillar>_<profile>``,
        ``n_missing_indicators_<profile>`` (used indicators missing for the commune) and
        ``missing_pillars_<profile>`` (``;``-separated pillars that could not be computed, "" if none).
        ``attrs["indicators"]`` lists the indicators used.

    Raises
    ------
    ConfigError
        Unknown profile.
    DataError
        Missing ``code`` or indicator column (the message lists the available columns).
    """
    model, pil, comp = _deterministic(indicators_df, config, profile, fit_on)
    out = pd.DataFrame(index=indicators_df.index)
    out[f"score_{profile}"] = comp[0]
    out[f"rank_{profile}"] = pd.Series(
        rank_matrix(comp, model.tie_order)[0], index=out.index
    ).astype("Int64")
    for k, p in enumerate(model.pillars):
        out[f"pillar_{p}_{profile}"] = pil[0, :, k]
    raw = indicators_df[list(model.indicators)]
    out[f"n_missing_indicators_{profile}"] = raw.isna().sum(axis=1).astype(int)
    miss = np.isnan(pil[0])
    out[f"missing_pillars_{profile}"] = [
        ";".join(p for p, m in zip(model.pillars, row, strict=True) if m) for row in miss
    ]
    out.attrs["indicators"] = list(model.indicators)
    n_flag = int((out[f"missing_pillars_{profile}"] != "").sum())
    if n_flag:
        logger.info(
            "profile %r: %d commune(s) with at least one pillar not computable", profile, n_flag
        )
    return out


def score_all_profiles(
    indicators_df: pd.DataFrame, config: ScoringConfig, fit_on: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Composite scores of every profile, plus unsuffixed pillar scores and missing flags.

    Parameters
    ----------
    indicators_df : DataFrame
        Indicators per commune.
    config : ScoringConfig
        Scoring configuration.
    fit_on : DataFrame, optional
        Normalisation statistics source (see :func:`composite_scores`).

    Returns
    -------
    DataFrame
        The columns of :func:`composite_scores` for each profile, ``pillar_<pillar>`` from the
        ``general`` profile (or the first profile when there is none),
        ``n_missing_indicators`` and ``missing_indicators`` (``;``-separated names) over every
        used indicator.
    """
    parts = [composite_scores(indicators_df, config, p, fit_on) for p in config.profiles]
    out = pd.concat(parts, axis=1)
    ref = REFERENCE_PROFILE if REFERENCE_PROFILE in config.profiles else next(iter(config.profiles))
    for p in config.pillars:
        col = f"pillar_{p}_{ref}"
        if col in out.columns:
            out[f"pillar_{p}"] = out[col]
    used = sorted(
        {c for part in parts for c in part.attrs["indicators"]}, key=list(config.indicators).index
    )
    isna = indicators_df[used].isna()
    out["n_missing_indicators"] = isna.sum(axis=1).astype(int)
    out["missing_indicators"] = [
        ";".join(c for c, m in zip(used, row, strict=True) if m) for row in isna.to_numpy()
    ]
    out.attrs["indicators"] = used
    return out


def score_changes(
    before_df: pd.DataFrame,
    after_df: pd.DataFrame,
    config: ScoringConfig,
    profile: str = REFERENCE_PROFILE,
    baseline: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Score and rank change per commune between two indicator tables, by pillar.

    The ``after`` table is normalised with the statistics of ``before`` (fixed goal-posts,
    Handbook §5), so a change in one commune does not move the others' normalised values.

    Parameters
    ----------
    before_df, after_df : DataFrame
        Indicator tables with the same index and codes.
    config : ScoringConfig
        Scoring configuration.
    profile : str
        Profile.
    baseline : DataFrame, optional
        :func:`composite_scores` of ``before_df`` already computed (a finished study's scores
        table: ``score_<profile>``, ``rank_<profile>``, ``pillar_<p>_<profile>``), reused
        instead of computed again when it has the profile's columns.

    Returns
    -------
    DataFrame
        Aligned on ``before_df.index``: ``code``, ``score_before``, ``score_after``,
        ``score_change``, ``rank_before``, ``rank_after``, ``rank_change`` (before − after:
        positive = moved up), and per pillar ``pillar_<p>_change`` and ``contribution_<p>`` (the
        normalised pillar weight times the pillar change; with arithmetic aggregation and the
        same pillars available before and after, contributions sum to ``score_change``).

    Raises
    ------
    DataError
        If the two tables do not have the same index and codes.
    """
    if (
        not before_df.index.equals(after_df.index)
        or "code" not in after_df.columns
        or not before_df["code"].equals(after_df["code"])
    ):
        raise DataError(
            "score_changes: before and after tables must have the same index and 'code' column"
        )
    known = baseline is not None and f"score_{profile}" in baseline.columns
    b = baseline if known and baseline.index.equals(before_df.index) else None  # type: ignore[union-attr]
    if b is None:
        b = composite_scores(before_df, config, profile)
    a = composite_scores(after_df, config, profile, fit_on=before_df)
    out = pd.DataFrame({"code": before_df["code"]}, index=before_df.index)
    out["score_before"] = b[f"score_{profile}"]
    out["score_after"] = a[f"score_{profile}"]
    out["score_change"] = out["score_after"] - out["score_before"]
    out["rank_before"] = b[f"rank_{profile}"]
    out["rank_after"] = a[f"rank_{profile}"]
    out["rank_change"] = out["rank_before"] - out["rank_after"]
    _, pil_w = config.profile_weights(profile)
    used = {p: w for p, w in pil_w.items() if w > 0 and f"pillar_{p}_{profile}" in b.columns}
    # each commune's score is re-weighted over the pillars it has (missing-data rule), so its
    # contributions use the weights normalised over its own available pillars
    avail = pd.DataFrame(
        {p: b[f"pillar_{p}_{profile}"].notna() & a[f"pillar_{p}_{profile}"].notna() for p in used}
    )
    total = pd.Series(0.0, index=avail.index)
    for p, w in used.items():
        total = total + avail[p] * w
    for p, w in used.items():
        col = f"pillar_{p}_{profile}"
        out[f"pillar_{p}_change"] = a[col] - b[col]
        share = (w * avail[p]).div(total.where(total > 0))
        out[f"contribution_{p}"] = share * out[f"pillar_{p}_change"]
    return out
