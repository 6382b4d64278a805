"""New facilities for what-if scenarios and site selection, snapped like the stage's own.

A new facility sits at the town hall of its commune unless a point is given. It joins the
network with the accessibility inputs' rule (:meth:`AccessibilityInputs.snap`), exactly as
:func:`~geoattract.accessibility.inputs.prepare_inputs` treats a facility of the offer:

- the access leg from its point to the node;
- at the town hall, the rule's intra-commune leg (:meth:`SnapRule.intra_commune_m`), and the
  direct trip from its own town hall across the commune
  (:func:`~geoattract.accessibility.inputs.same_commune_times`): its source is
  :data:`SCENARIO_TOWN_HALL`, one of :data:`~geoattract.accessibility.inputs.TOWN_HALL_SOURCES`;
- the dense-commune delay of its commune (:func:`~geoattract.accessibility.inputs.end_delays`).

One rule for every facility: scenarios, the plan and the site selection of
:mod:`geoattract.accessibility.siting` all build their new facilities here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract.accessibility.inputs import AccessibilityInputs, end_delays
from geoattract.errors import DataError, format_values

#: Source of a new facility placed at the town hall of its commune (a town-hall source).
SCENARIO_TOWN_HALL = "scenario"

#: Source of a new facility placed at a given point.
SCENARIO_POINT = "scenario_point"

#: Name of a new facility when none is given.
NEW_FACILITY_NAME = "Nouvel équipement (scénario)"


def new_facilities(
    inputs: AccessibilityInputs,
    territory: gpd.GeoDataFrame,
    category: str,
    codes: Sequence[str],
    *,
    capacity: float | Sequence[float] = 1.0,
    points: Sequence[Any] | None = None,
    names: Sequence[str] | None = None,
    id_prefix: str = "scenario",
    id_start: int | None = None,
) -> gpd.GeoDataFrame:
    """Rows of new facilities of one category, snapped with the inputs' rule.

    Parameters
    ----------
    inputs : AccessibilityInputs
        The snapped inputs (rule, routing graph, facility columns).
    territory : GeoDataFrame
        Study and buffer communes (``code``, ``in_study``, ``population``, ``town_hall``,
        polygons in the graph CRS).
    category : str
        Catalogue category of the new facilities.
    codes : sequence of str
        INSEE code of the commune of each new facility.
    capacity : float or sequence of float
        Capacity of each (in the category's unit).
    points : sequence of shapely Point or None, optional
        Location of each (None: the town hall of its commune); a None item places that one
        at its town hall.
    names : sequence of str, optional
        Labels (default :data:`NEW_FACILITY_NAME`).
    id_prefix : str
        Prefix of the ``facility_id`` (``<prefix>-<category>-<code>-<n>``).
    id_start : int, optional
        First ``n`` of the ids (default: the number of facilities of the inputs).

    Returns
    -------
    GeoDataFrame
        One row per new facility with the columns of ``inputs.facilities`` that this module
        knows (``category``, ``facility_id``, ``name``, ``capacity``, ``capacity_missing``,
        ``code``, ``in_study``, ``source``, ``node``, ``snap_m``, ``snap_s``,
        ``intra_commune_m``, geometry); other columns are left missing.

    Raises
    ------
    DataError
        A code that is not a commune of the territory.
    SnapError
        A point farther than the snapping limit from the network.
    """
    codes = [str(c) for c in codes]
    by_code = territory.set_index("code")
    unknown = sorted(set(codes) - set(by_code.index.astype(str)))
    if unknown:
        raise DataError(
            f"new facilities: commune code(s) {format_values(unknown)} not in the territory"
        )
    n = len(codes)
    caps = np.broadcast_to(np.asarray(capacity, dtype=float), (n,)).copy()
    given = list(points) if points is not None else [None] * n
    if len(given) != n:
        raise DataError(f"new facilities: {len(given)} points for {n} communes")
    at_hall = np.array([p is None for p in given])
    geoms = [
        by_code.at[c, "town_hall"] if p is None else p for c, p in zip(codes, given, strict=True)
    ]
    rule = inputs.snap_rule
    sn = inputs.snap(geoms, on_far="raise", what=f"new {category} facilities")
    area = by_code.geometry.area.reindex(codes).to_numpy(dtype=float)
    intra = np.where(at_hall, rule.intra_commune_m(area), 0.0)
    frame = pd.DataFrame({"code": codes})
    snap_s = (
        sn["snap_time_s"].to_numpy(dtype=float)
        + rule.access_time_s(intra)
        + end_delays(frame, territory, rule)
    )
    base = len(inputs.facilities) if id_start is None else id_start
    out = gpd.GeoDataFrame(
        {
            "category": category,
            "facility_id": [f"{id_prefix}-{category}-{c}-{base + i}" for i, c in enumerate(codes)],
            "name": list(names) if names is not None else [NEW_FACILITY_NAME] * n,
            "capacity": caps,
            "capacity_missing": False,
            "code": codes,
            "in_study": by_code["in_study"].reindex(codes).to_numpy(dtype=bool),
            "source": np.where(at_hall, SCENARIO_TOWN_HALL, SCENARIO_POINT),
            "node": sn["node"].to_numpy(),
            "snap_m": sn["snap_distance_m"].to_numpy(dtype=float),
            "snap_s": snap_s,
            "intra_commune_m": intra,
        },
        geometry=list(geoms),
        crs=territory.crs,
    )
    return out
