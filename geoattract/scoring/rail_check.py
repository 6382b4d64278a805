"""Checks of rail edits at the door, before any routing (``scenario``, ``plan``).

They read the study file, the catalogue and the station file only (a few seconds at most): a
malformed link, an unknown scenario, station or pole is a one-line error.
"""

from __future__ import annotations

from collections.abc import Sequence

from geoattract.config.metro import (
    MetroSpec,
    RailLink,
    check_rail_edits,
    parse_rail_link,
    scenario_edits,
)
from geoattract.config.study import StudyConfig
from geoattract.errors import DataError


def station_ids(cfg: StudyConfig, category: str) -> set[str]:
    """UIC codes of the stations of a catalogue category (:func:`catalogue_stations`)."""
    from geoattract.accessibility import catalogue_stations

    return set(catalogue_stations(cfg, category).index)


def check_rail_scenario(
    cfg: StudyConfig, links: Sequence[str], scenarios: Sequence[str]
) -> tuple[MetroSpec, list[RailLink]]:
    """Parse and check rail edits at the door (no routing).

    Raises
    ------
    DataError
        A malformed link, a study without metropole, an unknown scenario, station or pole.
    """
    edits = [parse_rail_link(t) for t in links]
    spec = MetroSpec.from_config(cfg)
    if spec is None:
        raise DataError(f"{cfg.path}: rail scenario, but the study declares no metropole ([poles])")
    stations, all_edits, _ = scenario_edits(spec, list(scenarios), edits)
    known = station_ids(cfg, spec.station_category) | {s.id for s in stations}
    check_rail_edits(all_edits, spec, known)
    return spec, edits
