"""Which figures of a commune rest on an offer across the border that the sources do not hold.

A category whose sources do not cover the buffer départements (``covers_buffer = false`` in the
catalogue: the BPE extract of the study département only) has an *unknown* offer across the
border, not a zero one. Whether that matters differs by commune and by figure:
:func:`~geoattract.accessibility.category_accessibility` computes, once per run, the time from
each study commune to the nearest town hall outside the study départements
(:data:`OUTSIDE_TIME_COLUMN`) and the per-commune flag ``outside_unknown_<id>``; this module
reads them for one indicator column and gives the one French wording every text uses.

A facility the package knows only by its commune sits at the town hall of that commune plus an
intra-commune leg, so a facility across the border is at least :data:`OUTSIDE_TIME_COLUMN`
away. Hence, for a category with an unknown offer across the border:

* ``time_<id>_min`` rests on the unknown offer when the nearest town hall across the border is
  closer than the nearest facility found (or when none was found);
* ``count_<id>_<T>min`` when that town hall is within ``T`` minutes;
* ``e2sfca_<id>`` and ``outside_share_<id>`` whenever ``outside_unknown_<id>`` is set.

Other columns never do. A study without a buffer (the whole of France) flags nothing.
"""

from __future__ import annotations

import re

import pandas as pd

#: Column of the accessibility table: minutes from the town hall to the nearest town hall of a
#: commune outside the study départements (NaN when none is reachable or the study has none).
OUTSIDE_TIME_COLUMN: str = "time_outside_min"

#: The French words of every text whose figure rests on an unknown offer across the border.
UNKNOWN_OFFER_FR: str = "offre hors département non renseignée"

_TIME = re.compile(r"^time_(?P<cid>.+)_min$")
_COUNT = re.compile(r"^count_(?P<cid>.+)_(?P<t>\d+)min$")
_CATEGORY = re.compile(r"^(?:e2sfca|outside_share)_(?P<cid>.+)$")


def unknown_offer_category(column: str, table: pd.DataFrame) -> str | None:
    """The category of ``column`` whose offer across the border the table flags, or ``None``."""
    for pattern in (_COUNT, _TIME, _CATEGORY):
        m = pattern.match(column)
        if m and f"outside_unknown_{m['cid']}" in table.columns:
            return m["cid"]
    return None


def unknown_offer(table: pd.DataFrame, column: str) -> pd.Series:
    """Where ``column`` rests on an offer across the border the sources do not hold.

    Parameters
    ----------
    table : DataFrame
        Rows of communes with ``column``, ``outside_unknown_<id>`` and
        :data:`OUTSIDE_TIME_COLUMN` (the accessibility table, the indicator table of the
        scores or the ``communes`` layer).
    column : str
        Any column: ``time_<id>_min``, ``count_<id>_<T>min``, ``e2sfca_<id>`` and
        ``outside_share_<id>`` can be flagged, the others never are.

    Returns
    -------
    Series of bool
        Aligned on ``table``.

    Examples
    --------
    >>> t = pd.DataFrame({"time_gp_min": [8.0, 20.0, None], "count_gp_10min": [1, 0, 0],
    ...                   "outside_unknown_gp": True, "time_outside_min": [12.0, 6.0, 6.0]})
    >>> unknown_offer(t, "time_gp_min").tolist()
    [False, True, True]
    >>> unknown_offer(t, "count_gp_10min").tolist()
    [False, True, True]
    >>> unknown_offer(t, "time_outside_min").tolist()
    [False, False, False]
    """
    cid = unknown_offer_category(column, table)
    if cid is None:
        return pd.Series(False, index=table.index)
    flag = table[f"outside_unknown_{cid}"].fillna(False).astype(bool)
    if OUTSIDE_TIME_COLUMN not in table.columns:
        return flag
    outside = pd.to_numeric(table[OUTSIDE_TIME_COLUMN], errors="coerce")
    if (m := _COUNT.match(column)) is not None:
        return flag & (outside <= float(m["t"]))
    if _TIME.match(column) is not None:
        value = pd.to_numeric(table[column], errors="coerce")
        return flag & outside.notna() & ~(value <= outside)
    return flag


def unknown_offer_text(text: str, flagged: bool) -> str:
    """``text`` followed by the caveat when ``flagged``: ``69 min, offre hors département…``.

    Examples
    --------
    >>> unknown_offer_text("69 min", True)
    '69 min, offre hors département non renseignée'
    >>> unknown_offer_text("4 min", False)
    '4 min'
    """
    return f"{text}, {UNKNOWN_OFFER_FR}" if flagged else text
