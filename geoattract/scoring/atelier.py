"""What the atelier page computes in the browser, and its Python twin.

The atelier page (:mod:`geoattract.outputs.atelier`) lets workshop groups move the weights and
see scores, ranks and the reasons of each rank at once. It never re-normalises: it receives
:func:`atelier_model` — the normalised indicators exactly as the package's scoring computes
them (:func:`~geoattract.scoring.model.normalised_indicators`), the profiles' weights and the
aggregation settings — and re-weights them with a line-by-line port of
:func:`~geoattract.scoring.model.weighted_mean` and
:func:`~geoattract.scoring.model.rank_matrix`.

:func:`model_scores` is the same computation in Python (the names of the JavaScript functions
are the names here); it equals :func:`~geoattract.scoring.aggregate.composite_scores` under
the same weights (:func:`~geoattract.scoring.weights.apply_weight_set`), which the tests check
in Python and, for the page, in a real browser.

:func:`score_contributions` explains a score: each indicator's contribution to the gap between
the commune's score and the score of the *median commune*, a reference commune whose every
normalised indicator sits at its median over the study (see ``docs/atelier.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geoattract.errors import ConfigError, format_values
from geoattract.scoring.config import AGGREGATIONS, ScoringConfig
from geoattract.scoring.model import (
    GEOMETRIC_FLOOR,
    normalised_indicators,
    rank_matrix,
    weighted_mean,
)


@dataclass(frozen=True)
class AtelierModel:
    """The normalised indicators and weights the atelier page re-weights.

    Attributes
    ----------
    codes : list of str
        INSEE codes of the study communes, in the order of the indicator table.
    indicators : list of str
        The usable indicators (configuration order).
    pillar_of : list of str
        Pillar of each indicator.
    pillars : list of str
        Every pillar of the configuration.
    values : ndarray
        (n, J) normalised values (0–100, 100 = most favourable), NaN where missing.
    raw : ndarray
        (n, J) raw values (shown with their unit).
    aggregation : str
        The configured aggregation.
    min_weight_share : float
        ``[method] min_weight_share``.
    profiles : dict
        Profile → ``(pillar weights, indicator weights)``: the pillars in the profile's own
        order, the usable indicators only.
    left_out : list of str
        Indicators of the configuration left out for lack of data (``min_coverage``).
    """

    codes: list[str]
    indicators: list[str]
    pillar_of: list[str]
    pillars: list[str]
    values: np.ndarray
    raw: np.ndarray
    aggregation: str
    min_weight_share: float
    profiles: dict[str, tuple[dict[str, float], dict[str, float]]]
    left_out: list[str]

    @property
    def medians(self) -> np.ndarray:
        """(J,) median of each normalised indicator over the communes that have it."""
        return _nanmedian(self.values)

    @property
    def raw_medians(self) -> np.ndarray:
        """(J,) median of each raw indicator."""
        return _nanmedian(self.raw)

    @property
    def tie_order(self) -> np.ndarray:
        """Positions sorted by code: the rank tie-break of the package."""
        return np.argsort(np.asarray(self.codes, dtype=str), kind="stable")


def _nanmedian(a: np.ndarray) -> np.ndarray:
    out = np.full(a.shape[1], np.nan)
    for j in range(a.shape[1]):
        col = a[:, j][~np.isnan(a[:, j])]
        if col.size:
            out[j] = float(np.median(col))
    return out


def atelier_model(df: pd.DataFrame, config: ScoringConfig) -> AtelierModel:
    """Build the atelier model of a study's indicator table.

    Parameters
    ----------
    df : DataFrame
        Indicator table (``code`` and the indicator columns), one row per study commune.
    config : ScoringConfig
        Scoring configuration.

    Returns
    -------
    AtelierModel
    """
    used, values = normalised_indicators(df, config)
    profiles = {}
    for name in config.profiles:
        ind_w, pil_w = config.profile_weights(name)
        profiles[name] = (dict(pil_w), {c: ind_w[c] for c in used})
    raw = df[used].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    return AtelierModel(
        codes=[str(c) for c in df["code"]],
        indicators=list(used),
        pillar_of=[config.indicators[c]["pillar"] for c in used],
        pillars=list(config.pillars),
        values=values,
        raw=raw,
        aggregation=config.method["aggregation"],
        min_weight_share=float(config.method["min_weight_share"]),
        profiles=profiles,
        left_out=[c for c in config.indicators if c not in used],
    )


@dataclass(frozen=True)
class ModelScores:
    """Scores of :func:`model_scores`.

    Attributes
    ----------
    pillars : list of str
        The pillars with a positive weight, in the order of the weights given.
    pillar : ndarray
        (n, K) pillar scores.
    score : ndarray
        (n,) composite scores.
    rank : ndarray
        (n,) ranks (1 = best), NaN where the score is NaN.
    """

    pillars: list[str]
    pillar: np.ndarray
    score: np.ndarray
    rank: np.ndarray


def _check(
    model: AtelierModel,
    pillar_weights: Mapping[str, float],
    indicator_weights: Mapping[str, float],
    aggregation: str,
) -> None:
    if aggregation not in AGGREGATIONS:
        raise ConfigError(f"unknown aggregation {aggregation!r}; choose one of {AGGREGATIONS}")
    bad = [p for p in pillar_weights if p not in model.pillars]
    bad += [c for c in indicator_weights if c not in model.indicators]
    if bad:
        raise ConfigError(f"atelier: unknown pillar(s) or indicator(s) {format_values(bad)}")


def _pillar_members(
    model: AtelierModel, pillar: str, indicator_weights: Mapping[str, float]
) -> np.ndarray:
    """Indicators of a pillar with a positive weight, in the model's order."""
    return np.array(
        [
            j
            for j, c in enumerate(model.indicators)
            if model.pillar_of[j] == pillar and indicator_weights.get(c, 0.0) > 0
        ],
        dtype=int,
    )


def model_scores(
    model: AtelierModel,
    pillar_weights: Mapping[str, float],
    indicator_weights: Mapping[str, float],
    aggregation: str | None = None,
) -> ModelScores:
    """Pillar scores, composite scores and ranks under given weights (the page's computation).

    The steps of :func:`~geoattract.scoring.model.evaluate_model` for one draw: indicators with
    a positive weight, pillars with a positive weight (in the order of ``pillar_weights``),
    :func:`~geoattract.scoring.model.weighted_mean` at both levels, then
    :func:`~geoattract.scoring.model.rank_matrix`.

    Parameters
    ----------
    model : AtelierModel
        The normalised indicators.
    pillar_weights : mapping
        Pillar → weight (>= 0).
    indicator_weights : mapping
        Indicator → weight (>= 0); an indicator not listed weighs 0.
    aggregation : str, optional
        ``arithmetic`` or ``geometric`` (default the model's).

    Returns
    -------
    ModelScores
    """
    aggregation = aggregation or model.aggregation
    _check(model, pillar_weights, indicator_weights, aggregation)
    pillars = [p for p, w in pillar_weights.items() if w > 0]
    n = model.values.shape[0]
    pil = np.full((n, len(pillars)), np.nan)
    for k, p in enumerate(pillars):
        sel = _pillar_members(model, p, indicator_weights)
        if sel.size:
            w = np.array([indicator_weights[model.indicators[j]] for j in sel], dtype=float)
            pil[:, k] = weighted_mean(model.values[:, sel], w, aggregation, model.min_weight_share)
    pw = np.array([pillar_weights[p] for p in pillars], dtype=float)
    score = weighted_mean(pil, pw, aggregation, model.min_weight_share)
    rank = rank_matrix(score[None, :], model.tie_order)[0]
    return ModelScores(pillars=pillars, pillar=pil, score=score, rank=rank)


@dataclass(frozen=True)
class Contributions:
    """Each indicator's and pillar's part in the gap between a score and the median commune.

    Attributes
    ----------
    reference : float
        Score of the median commune (every normalised indicator at its median).
    indicator : ndarray
        (n, J) contribution of each model indicator, in score points; 0 for an indicator
        without weight, NaN for a commune without a score. A row sums to
        ``score − reference``.
    pillar : ndarray
        (n, P) contribution of each pillar of the model (``model.pillars`` order): the sum of
        its indicators'.
    """

    reference: float
    indicator: np.ndarray
    pillar: np.ndarray


def _shares(w: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Weights normalised over the valid entries of each row (0 elsewhere; 0 rows stay 0)."""
    wv = np.where(valid, w, 0.0)
    tot = wv.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, wv / np.where(tot > 0, tot, 1.0), 0.0)


def score_contributions(
    model: AtelierModel,
    pillar_weights: Mapping[str, float],
    indicator_weights: Mapping[str, float],
    aggregation: str | None = None,
) -> Contributions:
    """Split each commune's gap to the median commune between pillars and indicators.

    With ``a_k`` the commune's pillar weights normalised over its computed pillars, ``α_i``
    its indicator weights normalised over its available indicators within the pillar, ``x_i``
    its normalised values, and ``b_k``, ``β_i``, ``m_i`` the same for the median commune
    (every indicator at its median ``m_i``), the arithmetic score is ``Σ a_k α_i x_i``, so
    indicator ``i`` contributes ``a_k α_i x_i − b_k β_i m_i`` and the contributions add up to
    ``score − reference`` exactly. A missing indicator contributes ``−b_k β_i m_i``. With the
    geometric aggregation the same split is made on the logarithms (``ln max(x, 1)``) and
    converted to points by the logarithmic mean of the two scores, so the contributions still
    add up to the gap.

    Parameters
    ----------
    model, pillar_weights, indicator_weights, aggregation
        As in :func:`model_scores`.

    Returns
    -------
    Contributions
    """
    aggregation = aggregation or model.aggregation
    ms = model_scores(model, pillar_weights, indicator_weights, aggregation)
    medians = model.medians
    ref = model_scores(
        _median_model(model, medians), pillar_weights, indicator_weights, aggregation
    )
    s_ref = float(ref.score[0])
    geometric = aggregation == "geometric"
    n, nj = model.values.shape
    pw = np.array([pillar_weights[p] for p in ms.pillars], dtype=float)
    a = _shares(pw, ~np.isnan(ms.pillar))  # (n, K)
    b = _shares(pw, ~np.isnan(ref.pillar))[0]  # (K,)
    terms = np.zeros((n, nj))
    for k, p in enumerate(ms.pillars):
        sel = _pillar_members(model, p, indicator_weights)
        if not sel.size:
            continue
        w = np.array([indicator_weights[model.indicators[j]] for j in sel], dtype=float)
        x = model.values[:, sel]
        m = medians[sel]
        valid = ~np.isnan(x)
        alpha = _shares(w, valid)
        beta = _shares(w, ~np.isnan(m))
        if geometric:
            x = np.log(np.maximum(np.where(valid, x, GEOMETRIC_FLOOR), GEOMETRIC_FLOOR))
            m = np.log(np.maximum(m, GEOMETRIC_FLOOR))
        own = a[:, k : k + 1] * alpha * np.where(valid, x, 0.0)
        terms[:, sel] = own - b[k] * beta * m
    if geometric:
        terms = terms * _log_mean(ms.score, s_ref)[:, None]
    terms[np.isnan(ms.score)] = np.nan
    pillar = np.zeros((n, len(model.pillars)))
    owner = np.array(model.pillar_of)
    for q, p in enumerate(model.pillars):
        pillar[:, q] = terms[:, owner == p].sum(axis=1)
    pillar[np.isnan(ms.score)] = np.nan
    return Contributions(reference=s_ref, indicator=terms, pillar=pillar)


def _median_model(model: AtelierModel, medians: np.ndarray) -> AtelierModel:
    """A one-commune model: the median commune."""
    return AtelierModel(
        codes=["median"],
        indicators=model.indicators,
        pillar_of=model.pillar_of,
        pillars=model.pillars,
        values=medians[None, :],
        raw=medians[None, :],
        aggregation=model.aggregation,
        min_weight_share=model.min_weight_share,
        profiles=model.profiles,
        left_out=model.left_out,
    )


def _log_mean(s: np.ndarray, r: float) -> np.ndarray:
    """Logarithmic mean ``(s − r) / (ln s − ln r)`` (``s`` where ``s == r``)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        lm = (s - r) / (np.log(s) - np.log(r))
    return np.where(np.isclose(s, r, rtol=0, atol=1e-12), s, lm)
