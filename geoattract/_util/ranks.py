"""Percentile ranks: where each value stands among others, in the favourable direction.

The one home of the direction vocabulary (``higher_is_better`` / ``lower_is_better``) and of
ranking values against a reference set. Two stages use it: the AFOM synthesis (mid-rank
percentile, :func:`percentile_rank`) and the ``rank`` normalisation of the scores (which
counts the same ``worse`` / ``equal`` values, :func:`rank_counts`, on an ``(n - 1)`` scale).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from geoattract.errors import ConfigError

#: Orientation of an indicator: which end of its scale is favourable.
DIRECTIONS: tuple[str, ...] = ("higher_is_better", "lower_is_better")


def check_direction(direction: str, name: Any = None) -> bool:
    """Validate a direction and tell whether higher values are better.

    Parameters
    ----------
    direction : str
        One of :data:`DIRECTIONS`.
    name : object, optional
        Name of the indicator, for the error message.

    Returns
    -------
    bool
        ``True`` for ``"higher_is_better"``.

    Raises
    ------
    ConfigError
        On an unknown direction.
    """
    if direction not in DIRECTIONS:
        where = f" for {name!r}" if name is not None else ""
        raise ConfigError(
            f"unknown direction {direction!r}{where}; choose one of {list(DIRECTIONS)}"
        )
    return direction == DIRECTIONS[0]


def rank_counts(
    values: np.ndarray, reference: np.ndarray, higher_is_better: bool
) -> tuple[np.ndarray, np.ndarray, int]:
    """Count, for each value, the reference values strictly less favourable and equal to it.

    Parameters
    ----------
    values : ndarray
        Values to place (NaN allowed: their counts are meaningless, mask them).
    reference : ndarray
        Finite reference values (any order).
    higher_is_better : bool
        Direction.

    Returns
    -------
    (ndarray, ndarray, int)
        ``worse`` (strictly less favourable reference values), ``equal`` (reference values
        equal to the value) as integer arrays shaped like ``values``, and ``n`` the number of
        reference values.
    """
    srt = np.sort(reference)
    n = srt.size
    left = np.searchsorted(srt, values, side="left")
    right = np.searchsorted(srt, values, side="right")
    worse = left if higher_is_better else n - right
    return worse, right - left, n


def percentile_rank(values: pd.Series, direction: str) -> pd.Series:
    """Direction-aware mid-rank percentile of each value within the series (100 = best).

    ``p = 100 (worse + equal / 2) / n``, with ``worse`` the number of values strictly less
    favourable, ``equal`` the number of equal values (itself included) and ``n`` the number of
    non-missing values. Ties share their mid-rank: a value shared by most units sits in the
    middle, neither top nor bottom.

    Parameters
    ----------
    values : Series
        Values (non-numeric entries count as missing).
    direction : str
        ``"higher_is_better"`` or ``"lower_is_better"``.

    Returns
    -------
    Series
        Percentiles in (0, 100), NaN where the value is missing; same index and name.

    Raises
    ------
    ConfigError
        On an unknown direction.

    Examples
    --------
    Travel times 1, 2, 3, 4 minutes (lower is better): 1 min has 3 worse values, so
    ``100 (3 + 1/2) / 4 = 87.5``.

    >>> percentile_rank(pd.Series([1.0, 2.0, 3.0, 4.0]), "lower_is_better").tolist()
    [87.5, 62.5, 37.5, 12.5]
    """
    higher = check_direction(direction, values.name)
    x = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return pd.Series(np.nan, index=values.index, name=values.name)
    worse, equal, n = rank_counts(x, finite, higher)
    p = 100.0 * (worse + equal / 2) / n
    return pd.Series(np.where(np.isnan(x), np.nan, p), index=values.index, name=values.name)
