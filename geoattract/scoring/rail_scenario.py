"""What-if rail scenarios: a high-speed line, a faster or new train, scored like facility edits.

A rail scenario edits the rail links of a finished study (``--rail-link
STATION:POLE:MINUTES[:TRAINS]`` and the named scenarios of ``[scenarios]``, e.g. the
Bordeaux–Toulouse high-speed line with a new Agen station), recomputes the metropolitan
columns (:func:`geoattract.accessibility.metro_scenario`: only the drive times to new stations
are routed), the telework index that depends on them, and scores the new indicator table with
the baseline's goal-posts (:func:`geoattract.scoring.aggregate.score_changes`), as
:func:`geoattract.scoring.run_scenario` does for facilities. The change is reported per
commune (score, rank, door-to-metropole time) and per EPCI (population newly within the
reference time of a metropole).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import geopandas as gpd
import pandas as pd

from geoattract.errors import DataError
from geoattract.scoring.aggregate import REFERENCE_PROFILE
from geoattract.scoring.scenario import (
    profile_changes,
    scenario_profiles,
    top_movers,
    with_telework,
)

if TYPE_CHECKING:
    from geoattract.accessibility import MetroScenario
    from geoattract.config.metro import RailLink
    from geoattract.scoring.stage import Scores

logger = logging.getLogger(__name__)


class MetroResult(Protocol):
    """The accessibility stage's result, as a rail scenario uses it."""

    @property
    def metropolitan(self) -> Any:
        """The metropolitan reach (:class:`geoattract.accessibility.MetropolitanAccess`)."""
        ...


class TeleworkResult(Protocol):
    """The transition stage's result, as a rail scenario uses it."""

    @property
    def telework(self) -> Any:
        """The telework index spec (:class:`geoattract.transition.TeleworkSpec`), or None."""
        ...


@dataclass
class RailScenarioResult:
    """Outcome of :func:`run_rail_scenario`.

    Attributes
    ----------
    label : str
        French name of the scenario (named scenarios and command-line links).
    metro : MetroScenario
        The metropolitan reach after the edits (per commune and per EPCI changes).
    changes : dict
        Profile → score and rank change per commune, by pillar, with ``nom`` and
        ``beyond_baseline_range``.
    indicators_before, indicators_after : DataFrame
        The indicator tables compared.
    changed_columns : list of str
        Indicator columns whose values changed.
    """

    label: str
    metro: MetroScenario
    changes: dict[str, pd.DataFrame]
    indicators_before: pd.DataFrame
    indicators_after: pd.DataFrame
    changed_columns: list[str]

    def summary(self, profile: str = REFERENCE_PROFILE, n: int = 10) -> pd.DataFrame:
        """The ``n`` communes whose score moves most for ``profile``."""
        return top_movers(self.changes[profile], n)


def run_rail_scenario(
    territory: gpd.GeoDataFrame,
    accessibility: MetroResult,
    transition: TeleworkResult,
    scores: Scores,
    *,
    scenarios: Sequence[str] = (),
    links: Sequence[RailLink] = (),
    profiles: Sequence[str] | None = None,
) -> RailScenarioResult:
    """Apply rail link edits to a finished study and report the change of scores and reach.

    Parameters
    ----------
    territory : GeoDataFrame
        Study and buffer communes.
    accessibility : Accessibility
        The accessibility stage's result, with its ``metropolitan`` reach.
    transition : TransitionIndicators
        The transition stage's result (its ``telework`` spec, recomputed after the edits).
    scores : Scores
        The scoring stage's result (indicator table and scoring configuration).
    scenarios : sequence of str
        Named scenarios of ``[scenarios]``, applied in order.
    links : sequence of RailLink
        Further link edits (``--rail-link``), applied last.
    profiles : sequence of str, optional
        Profiles to compare (default all).

    Returns
    -------
    RailScenarioResult

    Raises
    ------
    DataError
        The study declares no metropole, nothing to do, an unknown scenario, station or pole.
    ConfigError
        Unknown profile.
    """
    from geoattract.accessibility import metro_scenario
    from geoattract.config.metro import scenario_edits

    metro = accessibility.metropolitan
    if metro is None:
        raise DataError(
            "rail scenario: the study declares no metropole ([poles] of the study file)"
        )
    if not scenarios and not links:
        raise DataError("rail scenario: nothing to do; give a named scenario or a rail link")
    scfg = scores.config
    wanted = scenario_profiles(scfg, profiles)
    stations, edits, label = scenario_edits(metro.spec, list(scenarios), list(links))
    msc = metro_scenario(metro, territory, stations=stations, edits=edits, label=label)
    before = scores.indicators
    after = before.copy()
    for col in msc.table.columns:
        if col in after.columns:
            after[col] = msc.table[col]
    after = with_telework(after, transition)
    changed = [c for c in after.columns if not after[c].equals(before[c]) and c in scfg.indicators]
    logger.info("rail scenario %s: indicator column(s) changed: %s", label, changed)
    return RailScenarioResult(
        label=label,
        metro=msc,
        changes=profile_changes(before, after, scfg, wanted, changed),
        indicators_before=before,
        indicators_after=after,
        changed_columns=changed,
    )
