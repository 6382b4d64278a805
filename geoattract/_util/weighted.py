"""Weighted statistics: median, mid-ranks, Pearson and Spearman correlations.

With equal weights they give the usual statistics (:func:`weighted_spearman` is then
Spearman's coefficient with mid-ranks for ties).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def weighted_median(values: pd.Series, weights: pd.Series) -> float:
    """The smallest value at or below which lies half the weight (NaN pairs dropped)."""
    ok = values.notna() & weights.notna() & (weights > 0)
    if not ok.any():
        return float("nan")
    v = values[ok].to_numpy(float)
    w = weights[ok].to_numpy(float)
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    return float(v[order][np.searchsorted(cum, 0.5 * cum[-1])])


def weighted_ranks(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mid-ranks: the weight of the smaller values plus half the weight of the ties."""
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    uniq, start = np.unique(v, return_index=True)
    tie_w = np.add.reduceat(w, start)
    mid = np.concatenate([[0.0], np.cumsum(tie_w)[:-1]]) + tie_w / 2.0
    ranks = np.empty(len(values), dtype=float)
    ranks[order] = mid[np.searchsorted(uniq, v)]
    return ranks


def weighted_pearson(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Pearson correlation of complete arrays with weights ``w`` (NaN if one is constant)."""
    mx, my = np.average(x, weights=w), np.average(y, weights=w)
    sx = np.sqrt(np.average((x - mx) ** 2, weights=w))
    sy = np.sqrt(np.average((y - my) ** 2, weights=w))
    if sx == 0 or sy == 0:
        return float("nan")
    return float(np.average((x - mx) * (y - my), weights=w) / (sx * sy))


def weighted_spearman(x: pd.Series, y: pd.Series, w: pd.Series | None = None) -> float:
    """Spearman rank correlation, weighted: the weighted Pearson of the weighted mid-ranks.

    NaN pairs (and non-positive weights) are dropped; NaN with fewer than 3 pairs left.
    """
    weights = pd.Series(1.0, index=x.index) if w is None else w.astype(float)
    ok = x.notna() & y.notna() & weights.notna() & (weights > 0)
    if ok.sum() < 3:
        return float("nan")
    xv, yv, wv = (s[ok].to_numpy(float) for s in (x, y, weights))
    return weighted_pearson(weighted_ranks(xv, wv), weighted_ranks(yv, wv), wv)
