"""Checks of an action plan and of a lever catalogue at the door, and the plan's tables.

:func:`study_facts` gathers what actions are checked against (the study file, the catalogue,
the scoring profiles, the station file and the territory: no routing, a few seconds);
:func:`check_plan` reads a plan and checks it; :func:`study_plan_at_door` does so for the plan
a study names (``[configs] plan``) at the door of ``geoattract run``. The plan's CSV tables are
:func:`geoattract.outputs.plan_section.plan_tables`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from geoattract.config.plan import Action, Plan, StudyFacts, check_actions, load_plan
from geoattract.config.study import StudyConfig
from geoattract.errors import ConfigError, DataError


def study_facts(cfg: StudyConfig, *, rail: bool = False) -> StudyFacts:
    """What actions are checked against: categories, communes, profiles, stations… (no routing)."""
    from geoattract.config.metro import MetroSpec
    from geoattract.facilities import load_catalogue
    from geoattract.scoring import load_scoring_config
    from geoattract.territory import build_territory
    from geoattract.transition import load_connectivity

    catalogue = load_catalogue(cfg.config_file("catalogue"), check_files=False)
    scfg = load_scoring_config(cfg.config_file("scoring"))
    study = build_territory(cfg).study
    spec = MetroSpec.from_config(cfg)
    stations: set[str] = set()
    if rail and spec is not None:
        from geoattract.scoring.rail_check import station_ids

        stations = station_ids(cfg, spec.station_category)
    conn, _ = load_connectivity(cfg.config_file("indicators"))
    return StudyFacts(
        categories=list(catalogue.ids),
        communes=set(study["code"].astype(str)),
        profiles=list(scfg.profiles),
        indicators=list(scfg.indicators),
        stations=stations,
        poles=[p.key for p in spec.poles] if spec is not None else [],
        scenarios=sorted(spec.scenarios) if spec is not None else [],
        fibre_column="fibre_share_pct" if conn is not None else None,
    )


def check_removals(cfg: StudyConfig, actions: Sequence[Action], source: Any) -> None:
    """Something to remove for each removal (reads the facility table, no routing)."""
    if not any(a.type == "remove" for a in actions):
        return
    from geoattract.facilities import build_offer
    from geoattract.scoring import FacilityChange, validate_changes
    from geoattract.territory import build_territory

    territory = build_territory(cfg)
    offer = build_offer(cfg, territory.communes)
    for a in actions:
        if a.type == "remove":
            p = a.params
            edit = FacilityChange(p["category"], p["commune"], "remove", p.get("capacity"))
            try:
                validate_changes([edit], offer.catalogue, territory.communes, offer.facilities)
            except DataError as exc:
                raise ConfigError(f"{source}: action {a.id!r}: {exc}") from exc


def check_plan(cfg: StudyConfig, path: str | os.PathLike) -> Plan:
    """Read a plan and check it against the study, before any routing.

    Raises
    ------
    ConfigError
        Malformed file, unknown action type, missing cost, unknown category, a commune outside
        the study… (one line naming the file, the action and the value).
    """
    plan = load_plan(path)
    rail = any(a.type in ("rail_link", "rail_stop", "rail_scenario") for a in plan.actions)
    check_actions(plan.actions, study_facts(cfg, rail=rail), path)
    check_removals(cfg, plan.actions, path)
    return plan


def study_plan_at_door(cfg: StudyConfig) -> Plan | None:
    """The plan the study names (``[configs] plan``), checked before any heavy work, or None."""
    if cfg.raw.get("configs", {}).get("plan") is None:
        return None
    return check_plan(cfg, cfg.config_file("plan"))
