"""What-if scenarios: add or remove facilities, recompute what changes, compare scores.

A scenario edits the facility table of a finished study (a new health centre in commune X,
the closure of a maternity unit), recomputes the accessibility columns of the edited
categories only — the road graph, the snapped town halls and every other indicator are
reused — and scores the new indicator table with the baseline's normalisation statistics
(fixed goal-posts, see :func:`geoattract.scoring.aggregate.score_changes`), so that a change
in one commune does not move the others' normalised values.

A new facility is placed at the town hall of its commune unless a point is given, and
snapped with the accessibility stage's snapping rule
(:func:`geoattract.accessibility.sites.new_facilities`): at the town hall it is a facility
known only by its commune, with the rule's intra-commune leg and the direct trip from its own
town hall; everywhere it gets its commune's dense-commune delay.

Edits are checked by :func:`validate_changes` before any heavy work: an unknown category or
commune, or nothing to remove, fails at once with a one-line message naming the edit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol, cast

import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract.errors import ConfigError, DataError, format_values
from geoattract.scoring.aggregate import REFERENCE_PROFILE, score_changes

if TYPE_CHECKING:
    from geoattract.scoring.stage import Scores
    from geoattract.transition import TransitionIndicators

logger = logging.getLogger(__name__)

_CHANGE_RE = re.compile(
    r"^(?P<category>[a-z_0-9]+):(?P<code>[0-9AB]{5})(?::(?P<capacity>[0-9.]+))?$"
)

#: Column of the telework index, recomputed after every scenario (:func:`with_telework`).
TELEWORK_COLUMN = "telework_index"

#: Actions of a :class:`FacilityChange`.
ACTIONS: tuple[str, ...] = ("add", "remove")


class ScenarioInputs(Protocol):
    """What a scenario needs of the accessibility inputs (``Accessibility.inputs``).

    :class:`geoattract.accessibility.AccessibilityInputs` provides it: a dataclass with the
    snapped ``facilities`` and town halls (``communes``), the routing structure ``rg``, the
    ``catalogue``, the ``snap_rule`` (:class:`geoattract.network.SnapRule`) and ``snap``.
    """

    @property
    def rg(self) -> Any:
        """Routing structure."""
        ...

    @property
    def communes(self) -> pd.DataFrame:
        """Territory rows with ``in_study``, ``node``, ``snap_s``, ``too_far``."""
        ...

    @property
    def facilities(self) -> gpd.GeoDataFrame:
        """Snapped facilities (``category``, ``code``, ``capacity``, ``node``, ``snap_s``…)."""
        ...

    @property
    def catalogue(self) -> Any:
        """Facility catalogue (``ids``)."""
        ...

    @property
    def snap_rule(self) -> Any:
        """The snapping rule (``intra_commune_m``, ``access_time_s``)."""
        ...

    def snap(
        self, points: Any, *, ids: Any = ..., on_far: Any = ..., what: str = ...
    ) -> pd.DataFrame:
        """Snap points (``node``, ``snap_distance_m``, ``snap_time_s``, ``too_far``)."""
        ...


class ScenarioAccessibility(Protocol):
    """The accessibility stage's result, as a scenario uses it."""

    @property
    def inputs(self) -> ScenarioInputs:
        """The snapped inputs."""
        ...


@dataclass(frozen=True)
class FacilityChange:
    """One edit of the facility table.

    Attributes
    ----------
    category : str
        Catalogue category id (``gp``, ``maternity``…).
    code : str
        INSEE code of the commune.
    action : {"add", "remove"}
    capacity : float
        Capacity added, or removed (``None`` removes every facility of the category in the
        commune).
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

    def __str__(self) -> str:
        """Write the edit as on the command line, e.g. ``add gp:<code>:2``."""
        cap = "" if self.capacity is None else f":{self.capacity:g}"
        return f"{self.action} {self.category}:{self.code}{cap}"


def parse_change(text: str, action: str) -> FacilityChange:
    """Parse ``CATEGORY:CODE[:CAPACITY]`` as given on the command line.

    Examples: ``gp:<code>:3`` (three GPs in the commune of INSEE code ``<code>``),
    ``maternity:<code>`` (the maternity units of the commune, removed whole).

    Raises
    ------
    DataError
        A malformed edit or a capacity that is not positive.
    """
    m = _CHANGE_RE.match(text.strip())
    if not m:
        raise DataError(
            f"scenario change {text!r}: expected CATEGORY:CODE[:CAPACITY] with a 5-character "
            f"INSEE code, e.g. gp:<code>:2"
        )
    cap = m["capacity"]
    if cap is not None and not float(cap) > 0:
        raise DataError(f"scenario change {text!r}: the capacity must be > 0, got {cap}")
    if action == "add":
        return FacilityChange(m["category"], m["code"], "add", float(cap) if cap else 1.0)
    return FacilityChange(m["category"], m["code"], "remove", float(cap) if cap else None)


def _check_removal(e: FacilityChange, facilities: pd.DataFrame) -> None:
    here = (facilities["category"] == e.category) & (facilities["code"] == e.code)
    if not here.any():
        raise DataError(f"scenario ({e}): no {e.category!r} facility in commune {e.code} to remove")
    if e.capacity is not None:
        have = float(facilities.loc[here, "capacity"].iloc[0])
        if have < e.capacity:
            raise DataError(
                f"scenario ({e}): cannot remove {e.capacity:g} from {e.category!r} in "
                f"{e.code}: capacity is {have:g}"
            )


def validate_changes(
    edits: Sequence[FacilityChange],
    catalogue: Any,
    territory: gpd.GeoDataFrame,
    facilities: pd.DataFrame | None = None,
) -> None:
    """Check scenario edits before any heavy work.

    Cheap enough to call at the door of a command, before the study runs: each edit must name
    a category of the catalogue and a commune of the territory, with a positive capacity.
    With the facility table, a removal must also find something to remove.

    Parameters
    ----------
    edits : sequence of FacilityChange
        The edits (at least one).
    catalogue : Catalogue
        Facility catalogue (its ``ids``).
    territory : GeoDataFrame
        Study and buffer communes (``code``).
    facilities : DataFrame, optional
        Facility table (``category``, ``code``, ``capacity``); checks the removals.

    Raises
    ------
    DataError
        One line naming the edit and the faulty value: nothing to do, unknown action,
        unknown category, unknown commune, capacity not > 0, nothing to remove.
    """
    if not edits:
        raise DataError("scenario: nothing to do; give at least one facility to add or remove")
    ids = list(catalogue.ids)
    codes = set(territory["code"].astype(str))
    for e in edits:
        if e.action not in ACTIONS:
            raise DataError(f"scenario ({e}): unknown action {e.action!r}; one of {ACTIONS}")
        if e.category not in ids:
            raise DataError(
                f"scenario ({e}): unknown category {e.category!r}; known: {format_values(ids, 40)}"
            )
        if e.code not in codes:
            raise DataError(
                f"scenario ({e}): unknown commune code {e.code!r}: not a commune of the "
                f"territory ({len(codes)} communes)"
            )
        if e.capacity is not None and not e.capacity > 0:
            raise DataError(f"scenario ({e}): the capacity must be > 0, got {e.capacity!r}")
        if facilities is not None and e.action == "remove":
            _check_removal(e, facilities)


@dataclass
class ScenarioResult:
    """Outcome of :func:`run_scenario`.

    Attributes
    ----------
    changes : dict
        Profile → DataFrame from :func:`~geoattract.scoring.aggregate.score_changes` (score
        and rank change per commune, by pillar), with ``nom`` and ``beyond_baseline_range``.
    indicators_before, indicators_after : DataFrame
        The indicator tables compared.
    categories : list of str
        Categories recomputed.
    facilities : GeoDataFrame
        The edited facility table.
    edits : list of FacilityChange
        The edits applied.
    """

    changes: dict[str, pd.DataFrame]
    indicators_before: pd.DataFrame
    indicators_after: pd.DataFrame
    categories: list[str]
    facilities: gpd.GeoDataFrame
    edits: list[FacilityChange] = field(default_factory=list)

    def summary(self, profile: str = REFERENCE_PROFILE, n: int = 10) -> pd.DataFrame:
        """Return the ``n`` communes whose score moves most for ``profile``."""
        return top_movers(self.changes[profile], n)


def top_movers(changes: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` rows of :func:`score_changes` whose score moves most (either way).

    Rows whose score does not move (a change within 1e-9, or NaN) are left out: an edit of an
    indicator a profile does not weigh moves nobody, and the table is then empty.
    """
    change = changes["score_change"].abs()
    moving = change[change > MOVE_TOLERANCE]
    return changes.loc[moving.sort_values(ascending=False).index].head(n)


#: Smallest score change counted as a move (rounding noise of the re-normalisation is below).
MOVE_TOLERANCE = 1e-9


def _remove(out: gpd.GeoDataFrame, e: FacilityChange) -> gpd.GeoDataFrame:
    in_cat = (out["category"] == e.category) & (out["code"] == e.code)
    if not in_cat.any():
        raise DataError(f"scenario ({e}): no {e.category!r} facility in commune {e.code} to remove")
    if e.capacity is None:
        return out.loc[~in_cat]
    idx = out.index[in_cat][0]
    left = float(out.at[idx, "capacity"]) - e.capacity
    if left < 0:
        raise DataError(
            f"scenario ({e}): cannot remove {e.capacity:g} from {e.category!r} in {e.code}: "
            f"capacity is {out.at[idx, 'capacity']:g}"
        )
    out.at[idx, "capacity"] = left
    return out.loc[out["capacity"] > 0]


def _new_facility(
    inputs: ScenarioInputs,
    territory: gpd.GeoDataFrame,
    out: gpd.GeoDataFrame,
    e: FacilityChange,
) -> gpd.GeoDataFrame:
    """One added facility as a row of the facility table, snapped with the stage's rule.

    :func:`geoattract.accessibility.sites.new_facilities` builds it (access leg, the
    intra-commune leg and direct trip at the town hall, dense-commune delay); the columns it
    does not know come from a facility of the same category.
    """
    from geoattract.accessibility.sites import new_facilities

    new = new_facilities(
        cast(Any, inputs),
        territory,
        e.category,
        [e.code],
        capacity=1.0 if e.capacity is None else float(e.capacity),
        points=[e.point],
        names=[e.name],
        id_start=len(out),
    )
    same = out.loc[out["category"] == e.category]
    template = same.iloc[0] if len(same) else pd.Series(dtype=object)
    row = new.iloc[0]
    return gpd.GeoDataFrame(
        [{k: row[k] if k in new.columns else template.get(k) for k in out.columns}],
        geometry="geometry",
        crs=out.crs,
    )


def _apply_changes(
    inputs: ScenarioInputs, territory: gpd.GeoDataFrame, edits: Sequence[FacilityChange]
) -> gpd.GeoDataFrame:
    fac = inputs.facilities
    out = fac.copy()
    for e in edits:
        if e.action == "remove":
            out = _remove(out, e)
        else:
            out = pd.concat([out, _new_facility(inputs, territory, out, e)], ignore_index=True)
    out.attrs = dict(fac.attrs)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=fac.crs)


def _edit_points(
    points: gpd.GeoDataFrame,
    edits: Sequence[FacilityChange],
    category: str | None,
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
    territory: gpd.GeoDataFrame,
    inputs: ScenarioInputs,
    transition: TransitionIndicators,
    edits: Sequence[FacilityChange],
) -> pd.DataFrame:
    """Network indicators of the transition pillar after the EV / station edits.

    A new station's service level is unknown: it gets the median ``service_weight`` of the
    existing stations (documented imputation, logged).
    """
    from geoattract.transition import network_indicators

    params = transition.params
    stations = transition.stations
    median_weight = float(np.nanmedian(stations["service_weight"].to_numpy(float)))
    if any(e.category == params.rail_category and e.action == "add" for e in edits):
        logger.info("scenario: new station(s) get the median service weight %.2f", median_weight)
    ev = _edit_points(
        transition.ev_points,
        edits,
        params.ev_category,
        territory,
        {"station_id": "scenario", "code_missing": False},
        size_column="nbre_pdc",
    )
    st = _edit_points(
        stations,
        edits,
        params.rail_category,
        territory,
        {"name": "Nouvelle gare (scénario)", "active": True, "service_weight": median_weight},
    )
    return network_indicators(
        inputs,
        ev,
        st,
        ev_threshold_min=params.ev_threshold_min,
        rail_catchment_min=params.rail_catchment_min,
    )


def with_telework(after: pd.DataFrame, transition: Any) -> pd.DataFrame:
    """The indicator table with its telework index recomputed from its own components.

    The index combines fibre, the door-to-metropole time and the France Services time
    (:func:`geoattract.transition.telework_index`, fixed goal-posts): a scenario that moves one
    of them moves the index. Unchanged when the study has no ``[telework]``.
    """
    spec = getattr(transition, "telework", None)
    if spec is None or TELEWORK_COLUMN not in after.columns:
        return after
    from geoattract.transition import telework_index

    out = after.copy()
    out[TELEWORK_COLUMN] = telework_index(out, spec)[TELEWORK_COLUMN]
    return out


def beyond_baseline(before: pd.DataFrame, after: pd.DataFrame, changed: Sequence[str]) -> pd.Series:
    """Communes with an indicator moved past the baseline range (its gain is capped at 0/100)."""
    beyond = pd.Series(False, index=before.index)
    for c in changed:
        b = pd.to_numeric(before[c], errors="coerce")
        a = pd.to_numeric(after[c], errors="coerce")
        beyond |= (a > b.max()) | (a < b.min())
    return beyond


def weighting_profiles(config: Any, indicators: Sequence[str]) -> dict[str, list[str]]:
    """For each profile, the given indicators its score weights.

    An indicator counts in a profile when its weight there (``[indicators.<col>].weight``,
    overridden by ``indicator_weights``) and its pillar's weight are both > 0; an indicator
    that is not scored counts nowhere.

    Returns
    -------
    dict
        Profile → the indicators among ``indicators`` it weights (every profile, in the file's
        order; an empty list when none).
    """
    out: dict[str, list[str]] = {}
    for profile in config.profiles:
        ind_w, pil_w = config.profile_weights(profile)
        out[profile] = [
            c
            for c in indicators
            if c in config.indicators
            and ind_w.get(c, 0.0) > 0
            and pil_w.get(config.indicators[c]["pillar"], 0.0) > 0
        ]
    return out


def changed_indicators(before: pd.DataFrame, after: pd.DataFrame, config: Any) -> list[str]:
    """Scored indicators (``config.indicators``) whose values differ between two tables."""
    return [
        c
        for c in config.indicators
        if c in before.columns and c in after.columns and not before[c].equals(after[c])
    ]


def scenario_profiles(config: Any, profiles: Sequence[str] | None) -> list[str]:
    """The profiles a scenario compares (default all), checked.

    Raises
    ------
    ConfigError
        An unknown profile.
    """
    wanted = list(profiles) if profiles else list(config.profiles)
    unknown = [p for p in wanted if p not in config.profiles]
    if unknown:
        raise ConfigError(
            f"scenario: unknown profile(s) {format_values(unknown)}; profiles: "
            f"{format_values(config.profiles)}"
        )
    return wanted


def profile_changes(
    before: pd.DataFrame,
    after: pd.DataFrame,
    config: Any,
    profiles: Sequence[str],
    changed: Sequence[str],
    baseline: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """Score and rank changes of each profile, with ``nom`` and ``beyond_baseline_range``.

    Scores are normalised with the baseline's goal-posts: a value beyond the baseline range is
    capped at 0 or 100, so its gain (or loss) past the cap is not shown; it is flagged.
    ``baseline``: the scores of ``before`` already computed (the study's scores table).
    """
    names = before["nom"] if "nom" in before.columns else None
    beyond = beyond_baseline(before, after, changed)
    changes = {}
    for profile in profiles:
        ch = score_changes(before, after, config, profile, baseline=baseline)
        if names is not None:
            ch.insert(1, "nom", names)
        ch["beyond_baseline_range"] = beyond
        changes[profile] = ch
    return changes


def facility_indicators(
    territory: gpd.GeoDataFrame,
    accessibility: ScenarioAccessibility,
    transition: TransitionIndicators,
    edits: Sequence[FacilityChange],
) -> tuple[pd.DataFrame, gpd.GeoDataFrame, list[str]]:
    """Recompute the indicator columns that facility edits move.

    The accessibility columns of the edited categories, and the network indicators of the
    transition stage when an edit touches its EV or station category. Edits are applied in
    order; they are assumed checked (:func:`validate_changes`).

    Returns
    -------
    (DataFrame, GeoDataFrame, list of str)
        The recomputed columns (aligned on the study communes), the edited facility table and
        the categories recomputed.
    """
    from geoattract.accessibility import OUTSIDE_TIME_COLUMN, category_accessibility

    inputs = accessibility.inputs
    fac = _apply_changes(inputs, territory, edits)
    cats = sorted({e.category for e in edits})
    new_inputs = replace(inputs, facilities=fac)  # type: ignore[type-var]
    # the time to the nearest town hall across the border does not depend on facilities: the
    # study's value stays (a second pass may differ in the last bit)
    recomputed = category_accessibility(cast(Any, new_inputs), cats).drop(
        columns=[OUTSIDE_TIME_COLUMN], errors="ignore"
    )
    network_cats = {transition.params.ev_category, transition.params.rail_category} - {None}
    if network_cats & set(cats):
        recomputed = pd.concat(
            [recomputed, _transition_after(territory, new_inputs, transition, edits)], axis=1
        )
    return recomputed, fac, cats


def run_scenario(
    territory: gpd.GeoDataFrame,
    accessibility: ScenarioAccessibility,
    transition: TransitionIndicators,
    scores: Scores,
    *,
    add: Iterable[FacilityChange] = (),
    remove: Iterable[FacilityChange] = (),
    profiles: Sequence[str] | None = None,
) -> ScenarioResult:
    """Apply facility changes to a finished study and report score changes by pillar.

    Parameters
    ----------
    territory : GeoDataFrame
        Study and buffer communes (``code``, ``in_study``, ``town_hall``, polygons).
    accessibility : Accessibility
        The accessibility stage's result: its ``inputs`` (facilities, snapped town halls,
        routing structure, catalogue, snapping rule).
    transition : TransitionIndicators
        The transition stage's result: its EV points, stations and parameters, for edits of
        their catalogue categories (``params.ev_category``, ``params.rail_category``).
    scores : Scores
        The scoring stage's result: its indicator table and scoring configuration.
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
        Unknown category or commune, nothing to remove, a new facility too far from the
        network (checked before any routing).
    ConfigError
        Unknown profile.
    """
    edits = [replace(c, action="add") for c in add] + [replace(c, action="remove") for c in remove]
    inputs = accessibility.inputs
    validate_changes(edits, inputs.catalogue, territory, inputs.facilities)
    scfg = scores.config
    wanted = scenario_profiles(scfg, profiles)
    before = scores.indicators
    recomputed, fac, cats = facility_indicators(territory, accessibility, transition, edits)
    after = before.copy()
    for col in recomputed.columns:
        if col in after.columns:
            after[col] = recomputed[col]
    after = with_telework(after, transition)
    changed = [
        c
        for c in [*recomputed.columns, TELEWORK_COLUMN]
        if c in before.columns and not before[c].equals(after[c])
    ]
    logger.info(
        "scenario: %d edit(s), %d category(ies) recomputed, %d indicator column(s) changed",
        len(edits),
        len(cats),
        len(changed),
    )
    return ScenarioResult(
        changes=profile_changes(before, after, scfg, wanted, changed),
        indicators_before=before,
        indicators_after=after,
        categories=cats,
        facilities=fac,
        edits=edits,
    )
