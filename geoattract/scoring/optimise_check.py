"""The arguments of ``geoattract optimise``, checked against the study before any routing.

A few seconds at most: the study file, the catalogue, the scoring profiles and, for a candidate
file, the territory. An unknown category or profile, K < 1, a malformed objective, a candidate
outside the study or an unwritable output is a one-line error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd

from geoattract._util.io import check_writable_file
from geoattract.accessibility.candidates import read_candidates
from geoattract.config.study import StudyConfig, load_study_config
from geoattract.errors import DataError, format_values


@dataclass(frozen=True)
class OptimiseRequest:
    """The checked arguments of ``geoattract optimise``."""

    config: StudyConfig
    category: str
    label: str
    unit: str
    k: int
    objective: Any
    profile: str | None
    band: str | None
    candidate_codes: tuple[str, ...] | None
    candidate_points: gpd.GeoDataFrame | None
    out: Path | None
    method: str = "auto"


def check_optimise(
    category: str,
    add: int,
    *,
    objective: str = "coverage:10",
    profile: str | None = None,
    candidates: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    method: str = "auto",
    config: StudyConfig | str | os.PathLike | None = None,
    data_dir: Any = None,
) -> OptimiseRequest:
    """Check every argument of ``geoattract optimise`` before any routing.

    Raises
    ------
    DataError
        One line naming the faulty argument and its value.
    """
    from geoattract.config.plan import parse_objective
    from geoattract.facilities import load_catalogue
    from geoattract.scoring import load_scoring_config

    if isinstance(add, bool) or int(add) != add or add < 1:
        raise DataError(f"--add {add!r}: the number of new units must be an integer >= 1")
    if method not in ("auto", "exact", "greedy"):
        raise DataError(f"--method {method!r}: one of auto, exact, greedy")
    goal = parse_objective(objective)
    cfg = load_study_config(config, data_dir)
    catalogue = load_catalogue(cfg.config_file("catalogue"), check_files=False)
    if category not in catalogue.ids:
        raise DataError(
            f"--category {category!r}: unknown category; known: {format_values(catalogue.ids, 40)}"
        )
    cat = catalogue[category]
    band = None
    if profile is not None:
        scfg = load_scoring_config(cfg.config_file("scoring"))
        if profile not in scfg.profiles:
            raise DataError(
                f"--profile {profile!r}: unknown profile; profiles: {format_values(scfg.profiles)}"
            )
        band = scfg.profiles[profile].get("target_age_band")
        bands = list(catalogue.age_structure.bands) if catalogue.age_structure else []
        if band is not None and band not in bands:
            raise DataError(
                f"{scfg.source}: profiles.{profile}.target_age_band {band!r} is not an age band "
                f"of the catalogue's [age_structure] ({format_values(bands)})"
            )
    codes = points = None
    if candidates is not None and str(candidates) != "communes":
        from geoattract.territory import build_territory

        codes, points = read_candidates(candidates, build_territory(cfg).study)
    path = check_writable_file(out) if out is not None else None
    return OptimiseRequest(
        cfg,
        category,
        cat.label_fr,
        cat.capacity,
        int(add),
        goal,
        profile,
        band,
        codes,
        points,
        path,
        method,
    )
