"""Enhanced two-step floating catchment (E2SFCA, Luo & Qi 2009).

With decay weights ``W``:

1. for each facility *j*: ``R_j = S_j / Σ_i P_i W(t_ij)`` (supply per weighted resident);
2. for each demand location *i*: ``A_i = Σ_j R_j W(t_ij)``, reported per 100,000 inhabitants.

A facility that no resident reaches keeps ``R_j = 0`` (its supply serves nobody) and is
reported; with a flat catchment that reaches everyone, ``Σ_i P_i A_i = Σ_j S_j`` (conservation).
:func:`e2sfca` is pure (pair arrays in, an array out);
:func:`geoattract.accessibility.apl.category_e2sfca` runs it for one catalogue category on
snapped inputs, with the category's catchment conventions (plain E2SFCA or the DREES APL).
"""

from __future__ import annotations

import logging

import numpy as np

from geoattract.errors import DataError
from geoattract.facilities.decay import Decay

logger = logging.getLogger(__name__)

#: E2SFCA results are expressed per this many inhabitants.
PER_INHABITANTS = 100_000


def e2sfca(
    demand_index: np.ndarray,
    supply_index: np.ndarray,
    minutes: np.ndarray,
    demand: np.ndarray,
    supply: np.ndarray,
    decay: Decay,
    *,
    per: float = PER_INHABITANTS,
) -> np.ndarray:
    """Enhanced two-step floating catchment accessibility.

    Parameters
    ----------
    demand_index, supply_index : ndarray of int
        Pair arrays: the demand location and the facility of each reachable pair.
    minutes : ndarray of float
        Travel time of each pair, in minutes (pairs beyond the catchment may be included;
        their weight is 0).
    demand : ndarray of float
        Population of each demand location (length = number of demand locations).
    supply : ndarray of float
        Capacity of each facility (length = number of facilities).
    decay : Decay
        Weight as a function of minutes.
    per : float
        Express the result per this many inhabitants.

    Returns
    -------
    ndarray of float
        Accessibility of each demand location, in supply units per ``per`` inhabitants.
        A location that reaches no facility gets 0 *supply reachable*, which is a real
        value here (the caller flags unreachable communes separately, from travel times).
    """
    di = np.asarray(demand_index, dtype=np.int64)
    si = np.asarray(supply_index, dtype=np.int64)
    t = np.asarray(minutes, dtype=float)
    p = np.asarray(demand, dtype=float)
    s = np.asarray(supply, dtype=float)
    if not (di.shape == si.shape == t.shape):
        raise DataError(f"e2sfca: pair arrays differ in length: {di.shape}, {si.shape}, {t.shape}")
    if np.any(np.isnan(p)) or np.any(p < 0):
        raise DataError(
            "e2sfca: demand must be finite and >= 0 (NaN population must be resolved first)"
        )
    if np.any(np.isnan(s)) or np.any(s < 0):
        raise DataError("e2sfca: supply must be finite and >= 0")
    w = decay(t)
    weighted_demand = np.bincount(si, weights=p[di] * w, minlength=s.size)
    ratio = np.divide(s, weighted_demand, out=np.zeros_like(s), where=weighted_demand > 0)
    unused = (weighted_demand == 0) & (s > 0)
    if unused.any():
        logger.info(
            "e2sfca: %d facility(ies) reach no resident within the catchment", int(unused.sum())
        )
    access = np.bincount(di, weights=ratio[si] * w, minlength=p.size)
    return access * per
