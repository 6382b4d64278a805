"""What goes with migration gains: indicator associations and a cross-validated model.

Both weight each commune by its mean census population (a village's rate is noisy) and both
only *describe*: nothing here changes a weight or a score.

* :func:`indicator_associations`: the population-weighted Spearman correlation of every
  scored indicator with the apparent migration balance rate; ``favourable_rho`` turns it by
  the indicator's direction, so ``favourable_rho > 0`` reads "communes better placed on this
  indicator gain more migrants".
* :func:`gains_model`: a population-weighted ridge regression of the migration rate on the
  standardised indicators, its penalty chosen by an inner K-fold, judged by repeated K-fold
  cross-validation: the weighted R² of the held-out predictions (0 = no better than the
  population-weighted mean rate, negative = worse) and the weighted Spearman correlation
  between held-out predictions and observed rates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from geoattract._util.weighted import weighted_pearson, weighted_ranks, weighted_spearman
from geoattract.scoring.config import ScoringConfig
from geoattract.scoring.model import usable_indicators

#: Folds and repeats of the cross-validation.
FOLDS = 5
REPEATS = 10

#: Ridge penalties tried (relative to the total weight, on standardised indicators).
ALPHAS: tuple[float, ...] = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0)

#: Smallest share of communes (with a migration rate) an indicator must cover to enter the model.
MODEL_MIN_COVERAGE = 0.9

#: Default seed of the folds.
SEED = 47


def indicator_associations(
    indicators: pd.DataFrame,
    migration: pd.Series,
    weights: pd.Series,
    config: ScoringConfig,
) -> pd.DataFrame:
    """Population-weighted rank correlation of each scored indicator with the migration rate.

    Returns
    -------
    DataFrame
        One row per indicator, strongest association first: ``indicator``, ``label_fr``,
        ``pillar``, ``unit``, ``better_fr`` (wording of the favourable end),
        ``higher_is_better``, ``n``, ``rho`` (weighted Spearman of the
        raw value), ``favourable_rho`` (``rho`` turned by the direction).
    """
    rows = []
    for col in usable_indicators(indicators, config):
        spec = config.indicators[col]
        x = pd.to_numeric(indicators[col], errors="coerce")
        ok = x.notna() & migration.notna() & weights.notna() & (weights > 0)
        if ok.sum() < 10 or x[ok].nunique() < 2:
            continue
        rho = weighted_spearman(x[ok], migration[ok], weights[ok])
        better = spec["direction"] == "higher_is_better"
        rows.append(
            {
                "indicator": col,
                "label_fr": spec["label_fr"],
                "pillar": spec["pillar"],
                "unit": spec.get("unit") or "",
                "better_fr": spec.get("better_fr") or "",
                "higher_is_better": better,
                "n": int(ok.sum()),
                "rho": rho,
                "favourable_rho": rho if better else -rho,
            }
        )
    out = pd.DataFrame(
        rows,
        columns=[
            "indicator",
            "label_fr",
            "pillar",
            "unit",
            "better_fr",
            "higher_is_better",
            "n",
            "rho",
            "favourable_rho",
        ],
    )
    return out.reindex(out["rho"].abs().sort_values(ascending=False).index).reset_index(drop=True)


@dataclass(frozen=True)
class GainsModel:
    """A cross-validated, population-weighted ridge model of the migration rate.

    Attributes
    ----------
    indicators : tuple of str
        Indicators used (scored indicators covering :data:`MODEL_MIN_COVERAGE` of the
        communes with a rate, not constant).
    n_communes : int
        Communes with a rate and every indicator (the others are left out, not imputed).
    population_share : float
        Share of the weight of the communes with a rate held by those communes.
    folds, repeats : int
    alpha : float
        Ridge penalty chosen by K-fold on all the communes (for the coefficients).
    cv_r2 : float
        Weighted R² of the held-out predictions, mean over the repeats.
    cv_r2_sd : float
        Its standard deviation over the repeats.
    cv_spearman : float
        Weighted Spearman correlation of held-out predictions and observed rates, mean over
        the repeats.
    coefficients : Series
        Indicator → change of the migration rate (points a year) for one weighted standard
        deviation of the indicator, all others fixed (fitted on all the communes).
    """

    indicators: tuple[str, ...]
    n_communes: int
    population_share: float
    folds: int
    repeats: int
    alpha: float
    cv_r2: float
    cv_r2_sd: float
    cv_spearman: float
    coefficients: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))


def _fit(X: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float) -> tuple[np.ndarray, ...]:
    mu = np.average(X, axis=0, weights=w)
    sd = np.sqrt(np.average((X - mu) ** 2, axis=0, weights=w))
    sd = np.where(sd > 0, sd, 1.0)
    Z = (X - mu) / sd
    ym = np.average(y, weights=w)
    A = Z.T @ (Z * w[:, None]) + alpha * w.sum() * np.eye(X.shape[1])
    beta = np.linalg.solve(A, Z.T @ (w * (y - ym)))
    return mu, sd, np.array([ym]), beta


def _predict(model: tuple[np.ndarray, ...], X: np.ndarray) -> np.ndarray:
    mu, sd, ym, beta = model
    return ((X - mu) / sd) @ beta + ym[0]


def _folds(n: int, k: int, rng: np.random.Generator) -> list[np.ndarray]:
    return np.array_split(rng.permutation(n), k)


def _best_alpha(X: np.ndarray, y: np.ndarray, w: np.ndarray, rng: np.random.Generator) -> float:
    errors = []
    folds = _folds(len(y), FOLDS, rng)
    for alpha in ALPHAS:
        sse = 0.0
        for test in folds:
            train = np.setdiff1d(np.arange(len(y)), test)
            pred = _predict(_fit(X[train], y[train], w[train], alpha), X[test])
            sse += float(np.sum(w[test] * (y[test] - pred) ** 2))
        errors.append(sse)
    return ALPHAS[int(np.argmin(errors))]


def cross_validated(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, *, repeats: int = REPEATS, seed: int = SEED
) -> tuple[list[float], list[float]]:
    """Weighted R² and weighted Spearman of held-out predictions, one of each per repeat.

    Each repeat shuffles the communes into :data:`FOLDS` folds; for each fold the penalty is
    chosen by an inner K-fold on the other folds, the model fitted on them and the fold
    predicted. R² is ``1 - Σ w (y - ŷ)² / Σ w (y - ȳ)²`` with ``ȳ`` the weighted mean rate.
    """
    rng = np.random.default_rng(seed)
    ybar = np.average(y, weights=w)
    total = float(np.sum(w * (y - ybar) ** 2))
    r2s, rhos = [], []
    for _ in range(repeats):
        pred = np.empty_like(y)
        for test in _folds(len(y), FOLDS, rng):
            train = np.setdiff1d(np.arange(len(y)), test)
            alpha = _best_alpha(X[train], y[train], w[train], rng)
            pred[test] = _predict(_fit(X[train], y[train], w[train], alpha), X[test])
        r2s.append(1.0 - float(np.sum(w * (y - pred) ** 2)) / total)
        rhos.append(weighted_pearson(weighted_ranks(pred, w), weighted_ranks(y, w), w))
    return r2s, rhos


def gains_model(
    indicators: pd.DataFrame,
    migration: pd.Series,
    weights: pd.Series,
    config: ScoringConfig,
    *,
    seed: int | None = None,
    repeats: int = REPEATS,
) -> GainsModel:
    """Fit and cross-validate the population-weighted ridge model of the migration rate.

    Parameters
    ----------
    indicators : DataFrame
        Indicator table of the scoring stage.
    migration : Series
        Apparent migration balance rate (% a year), aligned on ``indicators``.
    weights : Series
        Mean census population of each commune.
    config : ScoringConfig
        The indicators scored (their columns).
    seed : int, optional
        Seed of the folds (default :data:`SEED`).
    repeats : int
        Repeats of the K-fold.

    Returns
    -------
    GainsModel
    """
    seed = SEED if seed is None else seed
    has_rate = migration.notna() & weights.notna() & (weights > 0)
    cols = []
    for col in usable_indicators(indicators, config):
        x = pd.to_numeric(indicators[col], errors="coerce")[has_rate]
        if x.notna().mean() >= MODEL_MIN_COVERAGE and x.nunique() > 1:
            cols.append(col)
    X = indicators.loc[has_rate, cols].apply(pd.to_numeric, errors="coerce")
    complete = X.notna().all(axis=1)
    X = X[complete]
    y = migration[has_rate][complete].to_numpy(float)
    w = weights[has_rate][complete].to_numpy(float)
    share = float(w.sum() / weights[has_rate].sum()) if has_rate.any() else float("nan")
    if len(y) < 2 * FOLDS or not cols:
        return GainsModel(tuple(cols), len(y), share, FOLDS, 0, float("nan"), *(float("nan"),) * 3)
    Xv = X.to_numpy(float)
    r2s, rhos = cross_validated(Xv, y, w, repeats=repeats, seed=seed)
    rng = np.random.default_rng(seed + 1)
    alpha = _best_alpha(Xv, y, w, rng)
    beta = _fit(Xv, y, w, alpha)[3]
    return GainsModel(
        indicators=tuple(cols),
        n_communes=len(y),
        population_share=share,
        folds=FOLDS,
        repeats=repeats,
        alpha=alpha,
        cv_r2=float(np.mean(r2s)),
        cv_r2_sd=float(np.std(r2s)),
        cv_spearman=float(np.mean(rhos)),
        coefficients=pd.Series(beta, index=cols, dtype=float),
    )
