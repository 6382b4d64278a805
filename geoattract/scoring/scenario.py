"""What-if scenarios: add or remove facilities, recompute what changes, compare scores.

A scenario edits the facility table of a finished study (a new health centre in commune X,
the closure of a maternity unit), recomputes the accessibility columns of the edited
categories only — the road graph, the snapped town halls and every other indicator are
reused — and scores the new indicator table with the baseline's normalisation statistics
(fixed goal-posts, see :func:`geoattract.scoring.core.score_changes`), so that a change in one
commune does not move the others' normalised values.

A new facility is placed at the town hall of its commune unless a point is given, and
snapped like the others.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoattract import settings
from geoattract.errors import DataError, format_values

__all__ = ["FacilityChange", "ScenarioResult", "parse_change", "run_scenario"]

logger = logging.getLogger(__name__)

_CHANGE_RE = re.compile(
    r"^(?P<category>[a-z_0-9]+):(?P<code>[0-9AB]{5})(?::(?P<capacity>[0-9.]+))?$"
)


@dataclass(frozen=True)
class FacilityChange:
    """One edit of the facility table.

    Attributes
    ----------
    category : str
        Catalogue category id (``gp``, ``maternity``…).
    code : str
        INSEE code of the commune.
    capacity : float
        Capacity added, or removed (``None`` removes every facility of the category in the
        commune).
    action : {"add", "remove"}
    point : shapely Point, optional
        Location of an added facility (EPSG:2154); the town hall by default.
    name : str
        Label of an added facility.
    """

    category: str
    code: str
    action: str = "add"
    capacity: float | None = 1.0
    point: Any = None
    name: str = "Nouvel équipement (scénario)"


def parse_change(text: str, action: str) -> FacilityChange:
    """Parse ``CATEGORY:CODE[:CAPACITY]`` as given on the command line.

    Examples: ``gp:47157:3`` (three GPs in Marmande), ``maternity:47323`` (the maternity unit
    of Villeneuve-sur-Lot, removed whole).
    """
    m = _CHANGE_RE.match(text.strip())
    if not m:
        raise DataError(
            f"scenario change {text!r}: expected CATEGORY:CODE[:CAPACITY], e.g. gp:47157:2"
        )
    cap = m["capacity"]
    if cap is not None and not float(cap) > 0:
        raise DataError(f"scenario change {text!r}: the capacity must be > 0, got {cap}")
    if action == "add":
        return FacilityChange(m["category"], m["code"], "add", float(cap) if cap else 1.0)
    return FacilityChange(m["category"], m["code"], "remove", float(cap) if cap else None)


@dataclass
class ScenarioResult:
    """Outcome of :func:`run_scenario`.

    Attributes
    ----------
    changes : dict
        Profile → DataFrame from :func:`geoattract.scoring.core.score_changes` (score and rank
        change per commune, by pillar), with ``nom``.
    indicators_before, indicators_after : DataFrame
        The indicator tables compared.
    categories : list of str
        Categories recomputed.
    facilities : GeoDataFrame
        The edited facility table.
    """

    changes: dict[str, pd.DataFrame]
    indicators_before: pd.DataFrame
    indicators_after: pd.DataFrame
    categories: list[str]
    facilities: gpd.GeoDataFrame
    edits: list[FacilityChange] = field(default_factory=list)

    def summary(self, profile: str = "general", n: int = 10) -> pd.DataFrame:
        """The ``n`` communes whose score moves most for ``profile``."""
        ch = self.changes[profile]
        moved = ch.loc[ch["score_change"].abs().sort_values(ascending=False).index]
        return moved.head(n)


def _apply_changes(
    inputs: Any,
    territory: gpd.GeoDataFrame,
    edits: Sequence[FacilityChange],
) -> gpd.GeoDataFrame:
    from geoattract.accessibility.metrics import INTRA_COMMUNE_FACTOR

    fac = inputs.facilities
    catalogue = inputs.catalogue
    out = fac.copy()
    halls = territory.set_index("code")["town_hall"]
    for e in edits:
        if e.category not in catalogue.ids:
            raise DataError(
                f"scenario: unknown category {e.category!r}; known: {format_values(catalogue.ids, 40)}"
            )
        if e.code not in halls.index:
            raise DataError(f"scenario: unknown commune code {e.code!r}")
        in_cat = (out["category"] == e.category) & (out["code"] == e.code)
        if e.action == "remove":
            if not in_cat.any():
                raise DataError(
                    f"scenario: no {e.category!r} facility in commune {e.code} to remove"
                )
            if e.capacity is None:
                out = out.loc[~in_cat]
            else:
                idx = out.index[in_cat][0]
                left = float(out.at[idx, "capacity"]) - e.capacity
                if left < 0:
                    raise DataError(
                        f"scenario: cannot remove {e.capacity:g} from {e.category!r} in {e.code}: "
                        f"capacity is {out.at[idx, 'capacity']:g}"
                    )
                out.at[idx, "capacity"] = left
                out = out.loc[out["capacity"] > 0]
            continue
        point = e.point if e.point is not None else halls[e.code]
        template = out.loc[out["category"] == e.category].iloc[0]
        sn = inputs.snap([point], on_far="raise")
        # placed at the town hall for want of an address: the same intra-commune leg as the
        # facilities known by commune only (see geoattract.accessibility.metrics)
        intra_m = 0.0
        if e.point is None:
            area = float(territory.set_index("code").geometry.area[e.code])
            intra_m = INTRA_COMMUNE_FACTOR * (area / 3.141592653589793) ** 0.5
        speed = (inputs.snap_speed_kph or settings.snap_speed_kph) / 3.6
        row = {
            "category": e.category,
            "facility_id": f"scenario-{e.category}-{e.code}-{len(out)}",
            "name": e.name,
            "capacity": 1.0 if e.capacity is None else float(e.capacity),
            "capacity_missing": False,
            "code": e.code,
            "in_study": bool(territory.set_index("code").at[e.code, "in_study"]),
            "source": "scenario",
            "node": sn["node"].iloc[0],
            "snap_m": float(sn["snap_distance_m"].iloc[0]),
            "snap_s": float(sn["snap_time_s"].iloc[0]) + intra_m / speed,
            "intra_commune_m": intra_m,
            "geometry": point,
        }
        new = gpd.GeoDataFrame(
            [{k: row.get(k, template.get(k)) for k in out.columns}],
            geometry="geometry",
            crs=out.crs,
        )
        out = pd.concat([out, new], ignore_index=True)
    out.attrs = dict(fac.attrs)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=fac.crs)


#: Catalogue categories that also feed the network indicators of the transition pillar.
TRANSITION_CATEGORIES = {"ev_charging", "train_station"}


def _edit_points(
    points: gpd.GeoDataFrame,
    edits: Sequence[FacilityChange],
    category: str,
    territory: gpd.GeoDataFrame,
    new_row: Mapping[str, Any],
    size_column: str | None = None,
) -> gpd.GeoDataFrame:
    """Apply the edits of one category to a transition point layer (EV stations, stations)."""
    out = points.copy()
    halls = territory.set_index("code")["town_hall"]
    crs = out.crs
    for e in (e for e in edits if e.category == category):
        here = out["code"] == e.code
        if e.action == "remove":
            if e.capacity is None or size_column is None:
                out = out.loc[~here]
            else:
                idx = out.index[here]
                if len(idx):
                    out.loc[idx[0], size_column] = max(
                        0.0, float(out.at[idx[0], size_column]) - e.capacity
                    )
                    out = out.loc[(out[size_column] > 0) | ~out.index.isin(idx[:1])]
            continue
        point = e.point if e.point is not None else halls[e.code]
        row = {
            **new_row,
            "code": e.code,
            "geometry": gpd.GeoSeries([point], crs=territory.crs).to_crs(crs)[0],
        }
        if size_column is not None:
            row[size_column] = 1.0 if e.capacity is None else float(e.capacity)
        add = gpd.GeoDataFrame([{k: row.get(k) for k in out.columns}], geometry="geometry", crs=crs)
        out = gpd.GeoDataFrame(
            pd.concat([out, add], ignore_index=True), geometry="geometry", crs=crs
        )
    return out


def _transition_after(
    state: Mapping[str, Any], inputs: Any, edits: Sequence[FacilityChange]
) -> pd.DataFrame:
    """Network indicators of the transition pillar after the EV / station edits.

    A new station's service level is unknown: it gets the median ``service_weight`` of the
    existing stations (documented imputation, logged).
    """
    from geoattract.transition.indicators import network_indicators

    stations = state["stations"]
    median_weight = float(np.nanmedian(stations["service_weight"].to_numpy(float)))
    if any(e.category == "train_station" and e.action == "add" for e in edits):
        logger.info("scenario: new station(s) get the median service weight %.2f", median_weight)
    ev = _edit_points(
        state["ev_points"],
        edits,
        "ev_charging",
        state["territory"],
        {"station_id": "scenario", "code_missing": False},
        size_column="nbre_pdc",
    )
    st = _edit_points(
        stations,
        edits,
        "train_station",
        state["territory"],
        {"name": "Nouvelle gare (scénario)", "active": True, "service_weight": median_weight},
    )
    params = state.get("transition_params", {})
    return network_indicators(inputs, ev, st, **params)


def run_scenario(
    state: Mapping[str, Any],
    *,
    add: Iterable[FacilityChange] = (),
    remove: Iterable[FacilityChange] = (),
    profiles: Sequence[str] | None = None,
) -> ScenarioResult:
    """Apply facility changes to a finished study and report score changes by pillar.

    Parameters
    ----------
    state : mapping
        The stage outputs of a study: ``StudyResult.data`` from
        :func:`geoattract.app.pipeline.run_study` (``inputs``, ``indicators``, ``territory``,
        ``catalogue``, ``scoring_config``).
    add, remove : iterable of FacilityChange
        Facilities to add and to remove (see :func:`parse_change`).
    profiles : sequence of str, optional
        Profiles to compare (default all).

    Returns
    -------
    ScenarioResult

    Raises
    ------
    DataError
        Unknown category or commune, nothing to remove, a new facility too far from the network.
    """
    from dataclasses import replace

    from geoattract.accessibility.metrics import category_accessibility
    from geoattract.scoring.core import score_changes

    edits = [replace(c, action="add") for c in add] + [replace(c, action="remove") for c in remove]
    if not edits:
        raise DataError("scenario: nothing to do; give at least one facility to add or remove")
    inputs = state["inputs"]
    before = state["indicators"]
    scfg = state["scoring_config"]
    fac = _apply_changes(inputs, state["territory"], edits)
    cats = sorted({e.category for e in edits})
    new_inputs = replace(inputs, facilities=fac)
    recomputed = category_accessibility(new_inputs, cats)
    if TRANSITION_CATEGORIES & set(cats) and "ev_points" in state and "stations" in state:
        recomputed = pd.concat([recomputed, _transition_after(state, new_inputs, edits)], axis=1)
    after = before.copy()
    for col in recomputed.columns:
        if col in after.columns:
            after[col] = recomputed[col]
    changed = [
        c for c in recomputed.columns if c in before.columns and not before[c].equals(after[c])
    ]
    logger.info(
        "scenario: %d edit(s), %d category(ies) recomputed, %d indicator column(s) changed",
        len(edits),
        len(cats),
        len(changed),
    )
    names = before["nom"] if "nom" in before.columns else None
    # scores are normalised with the baseline's goal-posts: a value beyond the baseline range
    # is capped at 0 or 100, so its gain (or loss) past the cap is not shown; flag it
    beyond = pd.Series(False, index=before.index)
    for c in changed:
        b = pd.to_numeric(before[c], errors="coerce")
        a = pd.to_numeric(after[c], errors="coerce")
        beyond |= (a > b.max()) | (a < b.min())
    changes = {}
    for profile in profiles or list(scfg.profiles):
        ch = score_changes(before, after, scfg, profile)
        if names is not None:
            ch.insert(1, "nom", names)
        ch["beyond_baseline_range"] = beyond
        changes[profile] = ch
    return ScenarioResult(
        changes=changes,
        indicators_before=before,
        indicators_after=after,
        categories=cats,
        facilities=fac,
        edits=edits,
    )


def point_of(code: str, territory: gpd.GeoDataFrame) -> shapely.Point:
    """Town hall of a commune (where new facilities go by default)."""
    return territory.set_index("code").at[code, "town_hall"]
