"""Match OpenStreetMap features to catalogue categories (tags, ids, representative points).

The catalogue's ``osm`` sources say which tags make a facility of a category::

    {type = "osm", tags = {amenity = ["hospital"]}, require = {emergency = ["yes"]},
     exclude = {station = ["subway"]}}

``tags`` are OR-ed (the osmnx / pyrosm convention: a feature matches when any key has one of
the listed values, or any value when the list is ``true``); ``require`` keys must all match;
``exclude`` keys must all fail. Tags missing from the feature table's columns are looked up in
a ``tags`` column (pyrosm stores the rarer tags there as a JSON string).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import shapely

#: A tag specification: key → list of accepted values, or ``True`` for any value.
TagSpec = Mapping[str, Any]


def combined_tags(specs: Iterable[TagSpec]) -> dict[str, list[str] | bool]:
    """Union of several tag specifications, in the form osmnx and pyrosm accept.

    Parameters
    ----------
    specs : iterable of mapping
        ``{key: [values] | True | "value"}`` dictionaries.

    Returns
    -------
    dict
        ``{key: sorted list of values}``, or ``{key: True}`` when any spec accepts any value.
    """
    any_value: set[str] = set()
    accepted: dict[str, set[str]] = {}
    for spec in specs:
        for key, values in spec.items():
            current = accepted.setdefault(key, set())
            if values is True:
                any_value.add(key)
                continue
            current.update(str(v) for v in ([values] if isinstance(values, str) else values))
    return {k: (True if k in any_value else sorted(v)) for k, v in accepted.items()}


def _parse_tags(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.startswith("{"):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def tag_values(features: pd.DataFrame, key: str) -> pd.Series:
    """Value of tag ``key`` for every feature (NaN when absent).

    Looks in the column ``key`` first, then in the ``tags`` column (dict or JSON string).
    """
    if key in features.columns:
        values = features[key].astype(object)
    else:
        values = pd.Series(np.nan, index=features.index, dtype=object)
    if "tags" in features.columns:
        missing = values.isna()
        if missing.any():
            extra = features.loc[missing, "tags"].map(lambda t: _parse_tags(t).get(key, np.nan))
            values = values.copy()
            values.loc[missing] = extra
    return values


def _matches(values: pd.Series, accepted: Any) -> pd.Series:
    present = values.notna() & (values.astype(str) != "")
    if accepted is True:
        return present
    accepted_set = {accepted} if isinstance(accepted, str) else {str(v) for v in accepted}
    # OSM allows several values separated by ';' (e.g. "doctor;dentist")
    return present & values.map(
        lambda v: bool(accepted_set & {p.strip() for p in str(v).split(";")})
    )


def match_source(
    features: pd.DataFrame,
    tags: TagSpec,
    require: TagSpec | None = None,
    exclude: TagSpec | None = None,
) -> pd.Series:
    """Boolean mask of the features an OSM source selects.

    Parameters
    ----------
    features : DataFrame
        One row per OSM element, a column per tag (osmnx) and/or a ``tags`` column (pyrosm).
    tags : mapping
        OR-ed tag specification.
    require : mapping, optional
        Every key must match.
    exclude : mapping, optional
        A feature matching any of these keys is rejected.

    Returns
    -------
    pandas.Series
        Boolean, aligned on ``features.index``.
    """
    mask = pd.Series(False, index=features.index)
    for key, accepted in tags.items():
        mask |= _matches(tag_values(features, key), accepted)
    for key, accepted in (require or {}).items():
        mask &= _matches(tag_values(features, key), accepted)
    for key, accepted in (exclude or {}).items():
        mask &= ~_matches(tag_values(features, key), accepted)
    return mask.astype(bool)


def representative_points(geometries: np.ndarray) -> np.ndarray:
    """Points for OSM geometries: points kept, polygons and lines → a point on the surface.

    :func:`shapely.point_on_surface` is used instead of the centroid because the centroid of
    an L-shaped building or a campus can fall outside it.
    """
    geoms = np.asarray(geometries, dtype=object)
    is_point = shapely.get_type_id(geoms) == 0
    out = geoms.copy()
    if (~is_point).any():
        out[~is_point] = shapely.point_on_surface(geoms[~is_point])
    return out


def feature_ids(features: pd.DataFrame) -> pd.Series:
    """Stable identifiers ``osm:<element>/<id>`` for osmnx (MultiIndex) or pyrosm (columns)."""
    element: np.ndarray
    osm_id: np.ndarray
    if isinstance(features.index, pd.MultiIndex) and features.index.nlevels == 2:
        element = features.index.get_level_values(0).astype(str).to_numpy()
        osm_id = features.index.get_level_values(1).astype(str).to_numpy()
    elif "osm_type" in features.columns and "id" in features.columns:
        element = features["osm_type"].astype(str).to_numpy()
        osm_id = features["id"].astype(str).to_numpy()
    else:
        element = np.array(["feature"] * len(features))
        osm_id = np.asarray(features.index.astype(str))
    return pd.Series(
        [f"osm:{e}/{i}" for e, i in zip(element, osm_id, strict=True)], index=features.index
    )
