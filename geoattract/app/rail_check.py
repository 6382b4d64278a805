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
    uic_code,
)
from geoattract.config.study import StudyConfig
from geoattract.errors import DataError


def station_ids(cfg: StudyConfig, category: str) -> set[str]:
    """UIC codes of the point files of a catalogue category, read without geometry (fast).

    Raises
    ------
    DataError
        Unknown category, or no point file with an id column.
    """
    import pyogrio

    from geoattract.facilities import load_catalogue

    catalogue = load_catalogue(cfg.config_file("catalogue"), check_files=False)
    if category not in catalogue.ids:
        raise DataError(f"[metropolitan] station_category {category!r} is not a catalogue category")
    ids: set[str] = set()
    for src in catalogue[category].sources:
        if src.type == "points" and src.file and src.id_column:
            path = cfg.data_dir / src.file
            frame = pyogrio.read_dataframe(path, columns=[src.id_column], read_geometry=False)
            ids |= {uic_code(c) for c in frame[src.id_column]}
    if not ids:
        raise DataError(f"catalogue category {category!r}: no point file with an id column")
    return ids


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
