"""Robustness of the ranks (Handbook §7): Monte Carlo uncertainty and Sobol sensitivity.

Each draw samples the normalisation, the aggregation, the column of each indicator with
threshold alternatives, and the pillar weights (Dirichlet around the profile's weights); the
whole batch is evaluated at once by :func:`~geoattract.scoring.model.evaluate_model`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geoattract.errors import ConfigError
from geoattract.scoring.aggregate import REFERENCE_PROFILE
from geoattract.scoring.config import ScoringConfig
from geoattract.scoring.model import (
    EPS,
    Design,
    ScoreModel,
    evaluate_model,
    prepare_model,
    rank_matrix,
)

#: Monte Carlo summary quantiles: column suffix → quantile.
MC_QUANTILES: dict[str, float] = {"p05": 0.05, "median": 0.5, "p95": 0.95}

#: Monte Carlo draws evaluated at once (bounds memory: draws × communes × indicators floats).
MC_CHUNK: int = 128


def _mc_settings(config: ScoringConfig, n: int | None, seed: int | None) -> tuple[int, int]:
    n = config.montecarlo["n"] if n is None else int(n)
    seed = config.montecarlo["seed"] if seed is None else int(seed)
    if n < 2:
        raise ConfigError(f"{config.source}: Monte Carlo needs at least 2 draws, got n={n}")
    return n, seed


def _mc_model(df: pd.DataFrame, config: ScoringConfig, profile: str) -> ScoreModel:
    methods = list(config.montecarlo["normalisations"])
    return prepare_model(df, config, profile, methods, alternatives=True)


def _sample(model: ScoreModel, config: ScoringConfig, n: int, rng: np.random.Generator) -> Design:
    """Independent draws of every uncertain input (the same order for every profile)."""
    aggs = config.montecarlo["aggregations"]
    method = rng.integers(0, len(model.methods), size=n)
    geometric = np.array(aggs)[rng.integers(0, len(aggs), size=n)] == "geometric"
    column = np.empty((n, len(model.indicators)), dtype=int)
    for j, cand in enumerate(model.candidates):
        column[:, j] = cand[rng.integers(0, cand.size, size=n)] if cand.size > 1 else cand[0]
    w = model.pillar_w / model.pillar_w.sum()
    alpha = config.montecarlo["concentration"] * w
    pillar_w = rng.dirichlet(alpha, size=n) if w.size > 1 else np.ones((n, 1))
    return Design(method, geometric, column, pillar_w)


def _run(model: ScoreModel, design: Design) -> tuple[np.ndarray, np.ndarray]:
    """Composite scores and ranks (D, n) for a design, in chunks."""
    d = design.method.shape[0]
    scores = np.empty((d, model.tensor.shape[1]))
    for start in range(0, d, MC_CHUNK):
        sl = slice(start, start + MC_CHUNK)
        part = Design(
            design.method[sl], design.geometric[sl], design.column[sl], design.pillar_w[sl]
        )
        scores[sl] = evaluate_model(model, part)[1]
    return scores, rank_matrix(scores, model.tie_order)


def monte_carlo_ranks(
    df: pd.DataFrame,
    config: ScoringConfig,
    profile: str = REFERENCE_PROFILE,
    n: int | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """Uncertainty analysis of scores and ranks (Handbook §7, Monte Carlo).

    Each draw samples, independently: the normalisation (uniform over
    ``montecarlo.normalisations``), the aggregation (uniform over ``montecarlo.aggregations``),
    for each indicator with ``threshold_alternatives`` the column representing it (uniform),
    and the pillar weights from a Dirichlet distribution with mean the profile's normalised
    weights and concentration ``montecarlo.concentration``. Indicator weights within pillars
    are kept. Ranks are computed per draw as in :func:`composite_scores`.

    Parameters
    ----------
    df : DataFrame
        Indicators per commune (with the alternative columns).
    config : ScoringConfig
        Scoring configuration.
    profile : str
        Profile.
    n : int, optional
        Number of draws (default ``montecarlo.n``).
    seed : int, optional
        Seed of :func:`numpy.random.default_rng` (default ``montecarlo.seed``).

    Returns
    -------
    DataFrame
        Aligned on ``df.index``: ``rank_<profile>_median``, ``rank_<profile>_p05``,
        ``rank_<profile>_p95`` and the same three for ``score_<profile>`` (linear-interpolated
        quantiles over the draws where the commune is scored; NaN if never).
    """
    scores, ranks = monte_carlo_draws(df, config, profile, n, seed)
    out = pd.DataFrame(index=df.index)
    for name, arr in (("rank", ranks), ("score", scores)):
        for suffix, vals in draw_quantiles(arr).items():
            out[f"{name}_{profile}_{suffix}"] = vals
    return out


def monte_carlo_draws(
    df: pd.DataFrame,
    config: ScoringConfig,
    profile: str = REFERENCE_PROFILE,
    n: int | None = None,
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The draws of :func:`monte_carlo_ranks`: composite scores and ranks of every draw.

    Parameters
    ----------
    df, config, profile, n, seed
        As in :func:`monte_carlo_ranks`.

    Returns
    -------
    (ndarray, ndarray)
        Scores and ranks, shape (n, communes) in the order of ``df``; NaN where a commune is
        not scored in a draw.
    """
    n, seed = _mc_settings(config, n, seed)
    model = _mc_model(df, config, profile)
    design = _sample(model, config, n, np.random.default_rng(seed))
    return _run(model, design)


def draw_quantiles(values: np.ndarray) -> dict[str, np.ndarray]:
    """The :data:`MC_QUANTILES` of draws over axis 0, linear-interpolated, NaN ignored.

    Parameters
    ----------
    values : ndarray
        Draws, shape (draws, communes).

    Returns
    -------
    dict
        Suffix (``p05``, ``median``, ``p95``) → values per commune (NaN where every draw is NaN).
    """
    all_nan = np.isnan(values).all(axis=0)
    safe = np.where(all_nan[None, :], 0.0, values)
    return {
        suffix: np.where(all_nan, np.nan, np.nanquantile(safe, q, axis=0))
        for suffix, q in MC_QUANTILES.items()
    }


def monte_carlo_all_profiles(
    df: pd.DataFrame, config: ScoringConfig, n: int | None = None, seed: int | None = None
) -> pd.DataFrame:
    """:func:`monte_carlo_ranks` for every profile, side by side (same seed per profile)."""
    return pd.concat([monte_carlo_ranks(df, config, p, n, seed) for p in config.profiles], axis=1)


def _nanmean(a: np.ndarray) -> np.ndarray:
    """Mean over axis 0 ignoring NaN, NaN (without a warning) where every value is NaN."""
    valid = ~np.isnan(a)
    cnt = valid.sum(axis=0)
    tot = np.where(valid, a, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)


def _groups(model: ScoreModel, config: ScoringConfig) -> list[str]:
    g = ["weights"] if model.pillar_w.size > 1 else []
    if len(model.methods) > 1:
        g.append("normalisation")
    if any(c.size > 1 for c in model.candidates):
        g.append("thresholds")
    if len(config.montecarlo["aggregations"]) > 1:
        g.append("aggregation")
    return g


def _mix(a: Design, b: Design, group: str) -> Design:
    """Design A with the inputs of ``group`` taken from B (the A_B^(i) matrix)."""
    return Design(
        method=b.method if group == "normalisation" else a.method,
        geometric=b.geometric if group == "aggregation" else a.geometric,
        column=b.column if group == "thresholds" else a.column,
        pillar_w=b.pillar_w if group == "weights" else a.pillar_w,
    )


def sensitivity(
    df: pd.DataFrame,
    config: ScoringConfig,
    profile: str = REFERENCE_PROFILE,
    n: int | None = None,
    seed: int | None = None,
    per_commune: bool = False,
) -> pd.DataFrame:
    """Variance-based sensitivity of the ranks to groups of uncertain inputs (Handbook §7).

    Groups: ``weights`` (Dirichlet pillar weights), ``normalisation``, ``thresholds`` (all
    threshold alternatives together) and ``aggregation``; a group with a single option is left
    out. Two independent designs A and B of ``n`` draws are sampled as in
    :func:`monte_carlo_ranks`; for each group i, ``A_B^(i)`` is A with group i taken from B
    (``n (k + 2)`` evaluations). For the rank ``f`` of a commune, with ``V`` the variance of
    ``f`` over A and B:

    * first order (Saltelli et al. 2010): ``S_i = mean(f(B) (f(A_B^(i)) - f(A))) / V``;
    * total order (Jansen 1999): ``ST_i = mean((f(A) - f(A_B^(i)))^2) / (2 V)``.

    The summary pools communes by summing numerators and variances (the share of the total
    rank variance of all communes explained by the group). Estimates are noisy for small
    ``n`` and may fall slightly outside [0, 1].

    Parameters
    ----------
    df : DataFrame
        Indicators per commune.
    config : ScoringConfig
        Scoring configuration.
    profile : str
        Profile.
    n : int, optional
        Base sample size (default ``montecarlo.n``).
    seed : int, optional
        Seed (default ``montecarlo.seed``).
    per_commune : bool
        Return one row per commune (columns ``S_<group>``, ``ST_<group>``, ``rank_variance``)
        instead of the pooled summary.

    Returns
    -------
    DataFrame
        Pooled: index = group, columns ``first_order``, ``total_order``; ``attrs`` holds
        ``n`` and ``evaluations``. Per commune: aligned on ``df.index``.
    """
    n, seed = _mc_settings(config, n, seed)
    model = _mc_model(df, config, profile)
    groups = _groups(model, config)
    rng = np.random.default_rng(seed)
    a = _sample(model, config, n, rng)
    b = _sample(model, config, n, rng)
    fa = _run(model, a)[1]
    fb = _run(model, b)[1]
    var = _nanmean(np.concatenate([fa, fb]) ** 2) - _nanmean(np.concatenate([fa, fb])) ** 2
    var = np.where(var > EPS, np.nan_to_num(var), 0.0)
    first, total = {}, {}
    for g in groups:
        fab = _run(model, _mix(a, b, g))[1]
        first[g] = np.nan_to_num(_nanmean(fb * (fab - fa)))
        total[g] = np.nan_to_num(_nanmean((fa - fab) ** 2) / 2)
    if per_commune:
        out = pd.DataFrame(index=df.index)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for g in groups:
                out[f"S_{g}"] = np.where(var > 0, first[g] / var, np.nan)
                out[f"ST_{g}"] = np.where(var > 0, total[g] / var, np.nan)
        out["rank_variance"] = var
        return out
    vt = var.sum()
    rows = {
        g: {
            "first_order": float(np.nansum(first[g]) / vt) if vt > 0 else 0.0,
            "total_order": float(np.nansum(total[g]) / vt) if vt > 0 else 0.0,
        }
        for g in groups
    }
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["first_order", "total_order"])
    out.index.name = "group"
    out.attrs.update({"n": n, "evaluations": n * (len(groups) + 2), "profile": profile})
    return out
