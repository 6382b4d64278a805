"""What-if scenarios: add or remove facilities, recompute what changes, compare scores.

A scenario edits the facility table of a finished study (a new health centre in commune X,
the closure of a maternity unit), recomputes the accessibility columns of the edited
categories only — the road graph, the snapped town halls and every other indicator are
reused — and scores the new indicator table with the baseline's normalisation statistics
(fixed goal-posts, see :func:`geoattract.scoring.score_changes`), so that a change in one
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
import pandas as pd
import shapely

from .errors import DataError, format_values

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
    if action == "add":
        return FacilityChange(m["category"], m["code"], "add", float(cap) if cap else 1.0)
    return FacilityChange(m["category"], m["code"], "remove", float(cap) if cap else None)


@dataclass
class ScenarioResult:
    """Outcome of :func:`run_scenario`.

    Attributes
    ----------
    changes : dict
        Profile → DataFrame from :func:`geoattract.scoring.score_changes` (score and rank
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
    fac: gpd.GeoDataFrame,
    communes: pd.DataFrame,
    territory: gpd.GeoDataFrame,
    catalogue: Any,
    edits: Sequence[FacilityChange],
) -> gpd.GeoDataFrame:
    from .snapping import snap_points

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
        sn = snap_points(
            pd.DataFrame(
                {"x": communes.attrs["rg_x"], "y": communes.attrs["rg_y"]},
                index=communes.attrs["rg_ids"],
            ),
            [point],
            max_distance_m=communes.attrs.get("max_snap_m"),
            speed_kph=communes.attrs.get("snap_speed_kph"),
            on_far="raise",
        )
        row = {
            "category": e.category,
            "facility_id": f"scenario-{e.category}-{e.code}-{len(out)}",
            "name": e.name,
            "capacity": float(e.capacity or 1.0),
            "capacity_missing": False,
            "code": e.code,
            "in_study": bool(territory.set_index("code").at[e.code, "in_study"]),
            "source": "scenario",
            "node": sn["node"].iloc[0],
            "snap_m": float(sn["snap_distance_m"].iloc[0]),
            "snap_s": float(sn["snap_time_s"].iloc[0]),
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
        :func:`geoattract.pipeline.run_study` (``inputs``, ``indicators``, ``territory``,
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

    from .accessibility import category_accessibility
    from .scoring import score_changes

    edits = [replace(c, action="add") for c in add] + [replace(c, action="remove") for c in remove]
    if not edits:
        raise DataError("scenario: nothing to do; give at least one facility to add or remove")
    inputs = state["inputs"]
    before = state["indicators"]
    scfg = state["scoring_config"]
    communes = inputs.communes.copy()
    communes.attrs.update(
        rg_x=inputs.rg.x,
        rg_y=inputs.rg.y,
        rg_ids=inputs.rg.node_ids,
        max_snap_m=state.get("snap_params", {}).get("max_snap_m"),
        snap_speed_kph=state.get("snap_params", {}).get("snap_speed_kph"),
    )
    fac = _apply_changes(inputs.facilities, communes, state["territory"], inputs.catalogue, edits)
    cats = sorted({e.category for e in edits})
    new_inputs = replace(inputs, facilities=fac)
    recomputed = category_accessibility(new_inputs, cats)
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
    changes = {}
    for profile in profiles or list(scfg.profiles):
        ch = score_changes(before, after, scfg, profile)
        if names is not None:
            ch.insert(1, "nom", names)
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
