"""Accessibility per study commune and catalogue category: nearest, counts, E2SFCA, outside share.

The travel times come from :mod:`geoattract.routing` (one search per origin town hall, cutoff
at the largest threshold, snap legs as offsets); :func:`category_accessibility` turns them into
one row per study commune.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from geoattract._util.progress import progress_bar
from geoattract.accessibility.apl import category_e2sfca
from geoattract.accessibility.inputs import AccessibilityInputs, same_commune_times
from geoattract.accessibility.unknown_offer import OUTSIDE_TIME_COLUMN
from geoattract.errors import DataError

logger = logging.getLogger(__name__)

#: Key of the town halls outside the study départements among the routed targets.
_OUTSIDE_HALLS = "\x00outside_town_halls"


def _count_weights(fac: pd.DataFrame, capacity_unit: str) -> np.ndarray:
    """Weight of each facility in the ``count_*`` columns.

    The capacity when it is a count of facilities (BPE rows group several), else 1 per
    facility (capacity in seats, births… goes to E2SFCA). A count row of unknown size counts
    as one facility (it exists).
    """
    if capacity_unit == "count":
        cap = fac["capacity"].to_numpy(dtype=float)
        return np.where(np.isnan(cap), 1.0, cap)
    return np.ones(len(fac))


def _same_commune_shortcut(
    acc: Any,
    cid: str,
    inputs: AccessibilityInputs,
    facilities: pd.DataFrame,
    weights: np.ndarray,
    origins: pd.Index,
    thresholds_min: Sequence[int],
) -> None:
    """Apply the direct same-commune trips (:func:`same_commune_times`) to one category.

    The nearest time becomes the direct time where shorter; a facility whose direct time is
    within a threshold but whose network time was not is added to that count. ``acc`` (a
    :class:`~geoattract.routing.FacilityAccess`) is updated in place.
    """
    pairs = same_commune_times(inputs, facilities)
    if pairs.empty:
        return
    row = pd.Series(np.arange(len(origins)), index=origins)
    pairs = pairs[pairs["origin"].isin(row.index)]
    if pairs.empty:
        return
    o = row.loc[pairs["origin"]].to_numpy()
    nearest = acc.nearest_s[cid]
    np.minimum.at(nearest, o, pairs["direct_s"].to_numpy())
    w = weights[pairs["facility"].to_numpy()]
    counts = acc.counts[cid]
    for k, t in enumerate(thresholds_min):
        gained = (pairs["direct_s"].to_numpy() <= t * 60.0) & (
            pairs["network_s"].to_numpy() > t * 60.0
        )
        np.add.at(counts[:, k], o[gained], w[gained].astype(counts.dtype))


def answer_rows(communes: pd.DataFrame) -> pd.Series:
    """The communes whose indicators are computed: the study's, or a partition's ``core``."""
    rows = communes["in_study"].astype(bool)
    if "core" in communes:
        rows &= communes["core"].astype(bool)
    return rows


def category_accessibility(
    inputs: AccessibilityInputs,
    categories: Sequence[str] | None = None,
    *,
    departement: str | None = None,
    verbose: bool = False,
) -> pd.DataFrame:
    """Nearest time, counts within thresholds, E2SFCA and outside share per study commune.

    Parameters
    ----------
    inputs : AccessibilityInputs
        From :func:`prepare_inputs`.
    categories : sequence of str, optional
        Category ids (default: every category of the catalogue that has facilities).
    departement : str, optional
        Study département code, to tell facilities outside it (default: from ``in_study``).
    verbose : bool
        Progress bars.

    Returns
    -------
    DataFrame
        Indexed like the study rows of the territory, with per category ``time_<id>_min``,
        ``unreachable_<id>``, ``count_<id>_<T>min``, ``e2sfca_<id>``, ``outside_share_<id>``
        and ``outside_unknown_<id>``, and once :data:`~geoattract.accessibility.unknown_offer.
        OUTSIDE_TIME_COLUMN` (minutes to the nearest town hall outside the study départements,
        NaN without one). Unreachable → NaN time and the flag set, never 0.
        ``outside_unknown_<id>`` is set where the category's sources do not cover the buffer
        and a town hall across the border lies within the category's largest threshold or
        closer than its nearest facility: there the unknown offer across the border could
        change the commune's figures (:mod:`~geoattract.accessibility.unknown_offer`).
    """
    from geoattract.routing import facility_access

    com = inputs.communes
    fac = inputs.facilities
    cat_ids = (
        list(categories)
        if categories is not None
        else [c for c in inputs.catalogue.ids if (fac["category"] == c).any()]
    )
    answer = answer_rows(com)
    study = com[answer & ~com["too_far"]]
    out = pd.DataFrame(index=com.index[answer])
    if study.empty:
        raise DataError("accessibility: no study commune could be snapped to the road network")
    origin_nodes = study["node"].to_numpy()
    origin_off = study["snap_s"].to_numpy(dtype=float)
    specs: dict[str, tuple] = {}
    thresholds: set[int] = set()
    for cid in cat_ids:
        cat = inputs.catalogue[cid]
        f = inputs.of_category(cid)
        if f.empty:
            raise DataError(
                f"accessibility: category {cid!r} has no facility snapped to the network"
            )
        unit = inputs.facilities.attrs.get("capacity_unit", {}).get(cid, cat.capacity)
        specs[cid] = (
            f["node"].to_numpy(),
            _count_weights(f, unit),
            f["snap_s"].to_numpy(dtype=float),
        )
        outside = ~f["in_study"].to_numpy(dtype=bool)
        specs[f"{cid}\x00outside"] = (
            f["node"].to_numpy()[outside],
            _count_weights(f, unit)[outside],
            f["snap_s"].to_numpy(dtype=float)[outside],
        )
        thresholds.update(cat.thresholds_min)
    halls = com[~com["in_study"].astype(bool) & ~com["too_far"].astype(bool)]
    if len(halls):
        specs[_OUTSIDE_HALLS] = (
            halls["node"].to_numpy(),
            np.ones(len(halls)),
            halls["snap_s"].to_numpy(dtype=float),
        )
    thr = sorted(thresholds)
    acc = facility_access(
        inputs.rg,
        origin_nodes,
        specs,
        [t * 60.0 for t in thr],
        origin_offsets=origin_off,
        verbose=verbose,
    )
    outside_s = acc.nearest_s.get(_OUTSIDE_HALLS, np.full(len(study), np.inf))
    outside_min = pd.Series(
        np.where(np.isfinite(outside_s), outside_s / 60.0, np.nan), index=study.index
    ).reindex(out.index)
    columns: dict[str, pd.Series] = {OUTSIDE_TIME_COLUMN: outside_min}
    for cid in progress_bar(cat_ids, desc="accessibility", enabled=verbose):
        cat = inputs.catalogue[cid]
        f = inputs.of_category(cid)
        unit = inputs.facilities.attrs.get("capacity_unit", {}).get(cid, cat.capacity)
        _same_commune_shortcut(acc, cid, inputs, f, _count_weights(f, unit), study.index, thr)
        nearest = pd.Series(acc.nearest_s[cid] / 60.0, index=study.index).reindex(out.index)
        unreachable = ~np.isfinite(nearest.to_numpy())
        columns[f"time_{cid}_min"] = nearest.where(~unreachable)
        columns[f"unreachable_{cid}"] = pd.Series(unreachable, index=out.index)
        counts = acc.counts[cid]
        out_counts = acc.counts[f"{cid}\x00outside"]
        for t in cat.thresholds_min:
            k = thr.index(t)
            columns[f"count_{cid}_{t}min"] = pd.Series(counts[:, k], index=study.index).reindex(
                out.index
            )
        k_max = thr.index(max(cat.thresholds_min))
        total = counts[:, k_max].astype(float)
        share = np.divide(
            out_counts[:, k_max], total, out=np.full(total.shape, np.nan), where=total > 0
        )
        covers = inputs.facilities.attrs.get("covers_buffer", {}).get(cid, cat.covers_buffer)
        if not covers:
            share[:] = np.nan
        columns[f"outside_share_{cid}"] = pd.Series(share, index=study.index).reindex(out.index)
        near = (outside_min <= max(cat.thresholds_min)) | ~(nearest <= outside_min)
        columns[f"outside_unknown_{cid}"] = (outside_min.notna() & near) & (not covers)
        columns[f"e2sfca_{cid}"] = category_e2sfca(inputs, cid).reindex(out.index)
    result = pd.concat([out, pd.DataFrame(columns, index=out.index)], axis=1)
    return result
