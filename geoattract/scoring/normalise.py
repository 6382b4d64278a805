"""Normalisation of indicators to a common 0–100 scale, 100 = most favourable (Handbook §5).

Four methods (:data:`~geoattract.scoring.config.NORMALISATIONS`), all non-decreasing in the
favourable direction, and the winsorisation of outliers before them. Statistics can come from
another table (``fit_on``: fixed goal-posts for scenarios).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from geoattract._util.ranks import check_direction, rank_counts
from geoattract.errors import ConfigError, DataError, format_values
from geoattract.scoring.config import NORMALISATIONS

#: Upper end of every normalised value, pillar and composite score.
SCORE_MAX: float = 100.0

#: Normalised value given to a commune whose indicator equals a constant column (no
#: information to discriminate: the neutral middle of the scale).
CONSTANT_SCORE: float = 50.0

#: z-score normalisation: a z of ``±ZSCORE_CLIP`` standard deviations maps to 100 / 0
#: (``50 + 50 z / ZSCORE_CLIP``, clipped); 99.7 % of a normal sample stays unclipped.
ZSCORE_CLIP: float = 3.0

#: distance-to-reference normalisation: a ratio to the reference of ``REFERENCE_RATIO_CAP``
#: (twice as good as the reference) maps to 100; the reference itself maps to 50.
REFERENCE_RATIO_CAP: float = 2.0


def winsorise(
    s: pd.Series, lower: float, upper: float, fit_on: pd.Series | None = None
) -> pd.Series:
    """Clip a series at two of its quantiles (Handbook §5: treatment of outliers).

    Parameters
    ----------
    s : Series
        Raw indicator values (NaN kept).
    lower, upper : float
        Quantiles, ``0 <= lower < upper <= 1`` (linear interpolation, as :meth:`Series.quantile`).
    fit_on : Series, optional
        Series whose quantiles are used (default ``s`` itself).

    Returns
    -------
    Series
        Same index, values clipped into ``[q_lower, q_upper]``.
    """
    if not (0 <= lower < upper <= 1):
        raise ConfigError(
            f"winsorise quantiles must satisfy 0 <= lower < upper <= 1, got {lower!r}, {upper!r}"
        )
    base = (s if fit_on is None else fit_on).astype(float)
    lo, hi = base.quantile(lower), base.quantile(upper)
    return s.astype(float).clip(lower=float(lo), upper=float(hi))


def normalise(
    s: pd.Series,
    method: str = "minmax",
    direction: str = "higher_is_better",
    reference: float | None = None,
    fit_on: pd.Series | None = None,
) -> pd.Series:
    """Normalise an indicator to 0–100, 100 = most favourable (Handbook §5).

    With ``x`` the value, ``sgn = +1`` (higher is better) or ``-1`` (lower is better), and the
    statistics taken on ``fit_on`` (default ``s``; NaN ignored):

    * ``minmax``: ``100 (x - min) / (max - min)`` (or ``100 (max - x) / (max - min)``);
    * ``zscore``: ``z = sgn (x - mean) / sd`` (sample sd, ddof = 1), then
      ``clip(50 + 50 z / ZSCORE_CLIP, 0, 100)`` — linear, so differences keep their meaning;
    * ``rank``: mid-rank percentile ``100 (less + (equal - 1) / 2) / (n - 1)``, where ``less``
      counts values strictly worse and ``equal`` values equal (ties share the average rank);
    * ``distance_to_reference``: ratio ``r = x / ref`` (or ``ref / x``), then
      ``100 clip(r, 0, REFERENCE_RATIO_CAP) / REFERENCE_RATIO_CAP`` (the reference scores 50).
      ``ref`` defaults to the mean; values must be >= 0.

    All four are non-decreasing in the favourable direction. A constant column (or ``n = 1``)
    gives :data:`CONSTANT_SCORE` (values outside it, possible with ``fit_on``, get 0 or 100).

    Parameters
    ----------
    s : Series
        Raw values.
    method : str
        One of :data:`NORMALISATIONS`.
    direction : str
        ``"higher_is_better"`` or ``"lower_is_better"``.
    reference : float, optional
        Reference value for ``distance_to_reference``.
    fit_on : Series, optional
        Values the statistics come from (fixed goal-posts for scenarios).

    Returns
    -------
    Series
        Float values in [0, 100], NaN where ``s`` is NaN, same index and name.

    Raises
    ------
    ConfigError
        On an unknown method or direction.
    DataError
        For ``distance_to_reference`` with negative values or a non-positive reference.
    """
    if method not in NORMALISATIONS:
        raise ConfigError(f"unknown normalisation {method!r}; choose one of {list(NORMALISATIONS)}")
    higher = check_direction(direction, s.name)
    x = pd.to_numeric(s, errors="coerce").astype(float).to_numpy()
    base_s = s if fit_on is None else fit_on
    base = pd.to_numeric(base_s, errors="coerce").astype(float).to_numpy()
    base = base[np.isfinite(base)]
    out = _normalise_array(x, base, method, higher, reference, s.name)
    return pd.Series(out, index=s.index, name=s.name)


def _constant(x: np.ndarray, c: float, higher: bool) -> np.ndarray:
    up, down = (SCORE_MAX, 0.0) if higher else (0.0, SCORE_MAX)
    return np.where(np.isnan(x), np.nan, np.where(x > c, up, np.where(x < c, down, CONSTANT_SCORE)))


def _minmax(x: np.ndarray, base: np.ndarray, higher: bool) -> np.ndarray:
    lo, hi = base.min(), base.max()
    if hi == lo:
        return _constant(x, lo, higher)
    v = (x - lo) / (hi - lo) if higher else (hi - x) / (hi - lo)
    return np.clip(SCORE_MAX * v, 0.0, SCORE_MAX)


def _zscore(x: np.ndarray, base: np.ndarray, higher: bool) -> np.ndarray:
    mu = base.mean()
    # deviations are rescaled by their largest magnitude before squaring, so that tiny
    # spreads (1e-188) do not underflow to a zero or denormal standard deviation
    scale = np.abs(base - mu).max() if base.size > 1 else 0.0
    sd = ((base - mu) / scale).std(ddof=1) if scale > 0 else 0.0
    if sd == 0 or not np.isfinite(sd):
        return _constant(x, mu, higher)
    z = ((x - mu) / scale) / sd if higher else ((mu - x) / scale) / sd
    return np.clip(SCORE_MAX / 2 + (SCORE_MAX / 2) * z / ZSCORE_CLIP, 0.0, SCORE_MAX)


def _rank(x: np.ndarray, base: np.ndarray, higher: bool) -> np.ndarray:
    if base.size == 1:
        return _constant(x, base[0], higher)
    worse, equal, n = rank_counts(x, base, higher)
    pct = (worse + (equal - 1) / 2) / (n - 1)
    return np.where(np.isnan(x), np.nan, np.clip(SCORE_MAX * pct, 0.0, SCORE_MAX))


def _distance_to_reference(
    x: np.ndarray, base: np.ndarray, higher: bool, reference: float | None, name: Any
) -> np.ndarray:
    ref = float(base.mean()) if reference is None else float(reference)
    if not ref > 0:
        raise DataError(
            f"indicator {name!r}: distance_to_reference needs a positive reference, got "
            f"{ref!r}; give [indicators.{name}].reference or use another normalisation"
        )
    neg = np.concatenate([x[x < 0], base[base < 0]])
    if neg.size:
        raise DataError(
            f"indicator {name!r}: distance_to_reference needs values >= 0, got "
            f"{format_values(np.unique(neg))}"
        )
    r = x / ref if higher else np.where(x == 0, np.inf, ref / x)
    r = np.where(np.isnan(x), np.nan, r)
    return SCORE_MAX * np.clip(r, 0.0, REFERENCE_RATIO_CAP) / REFERENCE_RATIO_CAP


def _normalise_array(
    x: np.ndarray, base: np.ndarray, method: str, higher: bool, reference: float | None, name: Any
) -> np.ndarray:
    if base.size == 0:
        return np.full(x.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if method == "minmax":
            return _minmax(x, base, higher)
        if method == "zscore":
            return _zscore(x, base, higher)
        if method == "rank":
            return _rank(x, base, higher)
        return _distance_to_reference(x, base, higher, reference, name)
