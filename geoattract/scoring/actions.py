"""Apply plan actions to a finished study: the indicator table after them, and who gains access.

An action (:class:`geoattract.config.plan.Action`) is an edit that ``geoattract scenario``
knows. :func:`apply_actions` applies any set of them at once, as they interact (two GPs near
each other share their patients; a new stop and a faster train add up):

* facility edits (``add``, ``remove``, and the station of a ``rail_stop``) recompute the
  accessibility columns of their categories and the network indicators of the transition
  stage (:func:`~geoattract.scoring.scenario.facility_indicators`);
* rail edits (``rail_link``, ``rail_scenario``, the trains of a ``rail_stop``) recompute the
  metropolitan reach (:func:`geoattract.accessibility.metro_scenario`);
* ``fibre`` raises the commune's share of premises eligible to fibre;
* the telework index follows its components (:func:`~geoattract.scoring.scenario.with_telework`).

:func:`access_gains` counts the inhabitants who *gain access* through an action: those of a
commune that comes within the action's time (``access_min``, default the category's first
threshold; the metropolitan reference time for rail), or the inhabitants of the premises newly
eligible to fibre.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract.config.metro import NewStation, RailLink, scenario_edits, uic_code
from geoattract.config.plan import Action
from geoattract.errors import DataError
from geoattract.scoring.scenario import (
    FacilityChange,
    changed_indicators,
    facility_indicators,
    validate_changes,
    with_telework,
)

logger = logging.getLogger(__name__)

#: Column of the share of premises eligible to fibre (transition stage, ``[connectivity]``).
FIBRE_COLUMN = "fibre_share_pct"

#: Column of the best door-to-metropole time (accessibility stage, metropolitan reach).
METRO_COLUMN = "time_metropole_best_min"

#: Source written on the links a new stop copies from its nearest station.
COPIED_LINK_SOURCE = "plan : trains de la gare la plus proche desservie (hypothèse)"


@dataclass(frozen=True)
class ActionEffect:
    """The indicator table after a set of actions, and what moved.

    Attributes
    ----------
    actions : tuple of Action
    before, after : DataFrame
        The study's indicator table and the table after the actions.
    changed : list of str
        Scored indicators whose values changed.
    metro : MetroScenario, optional
        The metropolitan reach after the rail edits (None without rail edit).
    notes : list of str
        Assumptions made (in French), e.g. the trains a new stop copies.
    """

    actions: tuple[Action, ...]
    before: pd.DataFrame
    after: pd.DataFrame
    changed: list[str]
    metro: Any = None
    notes: tuple[str, ...] = ()


def facility_changes(actions: Sequence[Action], rail_category: str | None) -> list[FacilityChange]:
    """The facility edits of the actions (a new stop is a new station of ``rail_category``)."""
    out = []
    for a in actions:
        p = a.params
        if a.type == "add":
            out.append(FacilityChange(p["category"], p["commune"], "add", float(p["capacity"])))
        elif a.type == "remove":
            cap = p.get("capacity")
            out.append(
                FacilityChange(p["category"], p["commune"], "remove", None if cap is None else cap)
            )
        elif a.type == "rail_stop":
            if rail_category is None:
                raise DataError(
                    f"action {a.id!r}: a rail stop, but the study's [rail] names no station "
                    "category"
                )
            out.append(FacilityChange(rail_category, p["commune"], "add", 1.0, name=a.label))
    return out


def stop_links(
    action: Action, metro: Any, territory: gpd.GeoDataFrame
) -> tuple[NewStation, list[RailLink], str | None]:
    """The new station of a ``rail_stop`` and its links.

    Without ``links``, the stop takes the links of the nearest station (straight line from the
    commune's town hall) that has some, with the same train times: it is assumed to sit on
    that station's line and be served by its trains. The note says so.
    """
    code = action.params["commune"]
    halls = territory.set_index("code")
    station = NewStation(id=f"plan_{action.id}", name=action.label, commune=code)
    given = action.params.get("links")
    if given:
        links = [
            RailLink(station.id, lk["pole"], float(lk["minutes"]), source="plan.toml")
            for lk in given
        ]
        return station, links, None
    served = {link.station for link in metro.links}
    stations = metro.routing.stations
    stations = stations[stations.index.isin(served)]
    if stations.empty:
        raise DataError(f"action {action.id!r}: no station with trains to copy the links from")
    hall = gpd.GeoSeries([halls.at[code, "town_hall"]], crs=territory.crs).to_crs(stations.crs)
    nearest = stations.geometry.distance(hall.iloc[0]).idxmin()
    links = [
        RailLink(station.id, link.pole, link.minutes, link.trains_per_weekday, COPIED_LINK_SOURCE)
        for link in metro.links
        if link.station == nearest
    ]
    name = str(stations.at[nearest, "name"]) if "name" in stations.columns else str(nearest)
    km = float(stations.geometry.distance(hall.iloc[0]).min()) / 1000
    note = (
        f"« {action.label} » : desservi comme la gare la plus proche qui a des trains, {name} "
        f"(à {km:.0f} km), aux mêmes temps de train (hypothèse)"
    )
    return station, links, note


def _rail_edits(
    actions: Sequence[Action], metro: Any, territory: gpd.GeoDataFrame
) -> tuple[list[NewStation], list[RailLink], list[str]]:
    stations: list[NewStation] = []
    links: list[RailLink] = []
    notes: list[str] = []
    for a in actions:
        p = a.params
        if a.type == "rail_scenario":
            new, edits, _ = scenario_edits(metro.spec, [p["scenario"]])
            stations += new
            links += edits
        elif a.type == "rail_link":
            links.append(
                RailLink(uic_code(p["station"]), p["pole"], float(p["minutes"]), p.get("trains"))
            )
        elif a.type == "rail_stop":
            station, stop, note = stop_links(a, metro, territory)
            stations.append(station)
            links += stop
            if note:
                notes.append(note)
    return stations, links, notes


def apply_actions(
    territory: gpd.GeoDataFrame,
    accessibility: Any,
    transition: Any,
    scores: Any,
    actions: Sequence[Action],
) -> ActionEffect:
    """The indicator table after the actions, applied together.

    Parameters
    ----------
    territory : GeoDataFrame
        Study and buffer communes.
    accessibility, transition, scores
        The stage results of a finished study (``Accessibility``, ``TransitionIndicators``,
        ``Scores``).
    actions : sequence of Action
        Checked actions (:func:`geoattract.config.plan.check_actions`).

    Raises
    ------
    DataError
        Nothing to remove, a rail action in a study without metropole, a new facility too far
        from the network.
    """
    before = scores.indicators
    after = before.copy()
    edits = facility_changes(actions, transition.params.rail_category)
    if edits:
        inputs = accessibility.inputs
        validate_changes(edits, inputs.catalogue, territory, inputs.facilities)
        recomputed, _, _ = facility_indicators(territory, accessibility, transition, edits)
        for col in recomputed.columns:
            if col in after.columns:
                after[col] = recomputed[col]
    metro = None
    notes: list[str] = []
    if any(a.type in ("rail_link", "rail_scenario", "rail_stop") for a in actions):
        from geoattract.accessibility import metro_scenario

        base = accessibility.metropolitan
        if base is None:
            raise DataError("plan: a rail action, but the study declares no metropole ([poles])")
        stations, links, notes = _rail_edits(actions, base, territory)
        metro = metro_scenario(base, territory, stations=stations, edits=links, label="plan")
        for col in metro.table.columns:
            if col in after.columns:
                after[col] = metro.table[col]
    for a in actions:
        if a.type == "fibre":
            if FIBRE_COLUMN not in after.columns:
                raise DataError(f"action {a.id!r}: fibre, but the study has no {FIBRE_COLUMN}")
            here = after["code"] == a.params["commune"]
            share = float(a.params["share_pct"])
            after.loc[here, FIBRE_COLUMN] = np.fmax(after.loc[here, FIBRE_COLUMN], share)
    after = with_telework(after, transition)
    changed = changed_indicators(before, after, scores.config)
    return ActionEffect(tuple(actions), before, after, changed, metro, tuple(notes))


def access_column(action: Action, rail_category: str | None) -> list[str]:
    """The columns whose threshold crossing means access for the action."""
    if action.type in ("add", "remove"):
        return [f"time_{action.params['category']}_min"]
    if action.type in ("rail_link", "rail_scenario"):
        return [METRO_COLUMN]
    if action.type == "rail_stop":
        return [METRO_COLUMN] + ([f"time_{rail_category}_min"] if rail_category else [])
    return [FIBRE_COLUMN]


def access_threshold(action: Action, column: str, catalogue: Any, metro_spec: Any) -> float:
    """The time within which a commune has access, for one of :func:`access_column`."""
    if column == METRO_COLUMN:
        return float(metro_spec.reference_min) if metro_spec is not None else np.nan
    if action.access_min is not None:
        return float(action.access_min)
    category = column[len("time_") : -len("_min")]
    return float(catalogue[category].thresholds_min[0])


def access_gains(
    action: Action,
    before: pd.DataFrame,
    after: pd.DataFrame,
    catalogue: Any,
    metro_spec: Any = None,
    rail_category: str | None = None,
) -> pd.Series:
    """Inhabitants of each commune who gain (> 0) or lose (< 0) access through one action.

    A time column: the population of a commune that comes within the threshold (or leaves
    it: a loss); several columns (a new stop: its station, the metropole): the commune gains
    when one of them comes within. Fibre: the population times the rise of the share of
    premises eligible (inhabitants assumed spread like the premises).

    Returns
    -------
    Series
        Aligned on ``before``.
    """
    pop = pd.to_numeric(before["population"], errors="coerce").fillna(0.0)
    if action.type == "fibre":
        rise = (after[FIBRE_COLUMN] - before[FIBRE_COLUMN]).clip(lower=0).fillna(0.0)
        return pop * rise / 100.0
    gained = pd.Series(False, index=before.index)
    lost = pd.Series(False, index=before.index)
    for col in access_column(action, rail_category):
        if col not in before.columns:
            continue
        limit = access_threshold(action, col, catalogue, metro_spec)
        was, now = before[col] <= limit, after[col] <= limit
        gained |= now & ~was
        lost |= was & ~now
    return pop.where(gained, 0.0) - pop.where(lost & ~gained, 0.0)
