"""Study configuration: TOML loading, schemas and validation, the configs shipped with the package, the metropolitan reach (poles, rail links, rail scenarios)."""

from __future__ import annotations

from geoattract.config.metro import (
    MetroSpec,
    NewStation,
    Pole,
    RailLink,
    RailScenario,
    apply_rail_edits,
    check_rail_edits,
    parse_rail_link,
    scenario_edits,
)
from geoattract.config.schema import Field, check_thresholds, load_toml, validate
from geoattract.config.study import (
    StudyConfig,
    load_study_config,
    resolve_study_path,
    shipped_studies,
)
from geoattract.config.territory import TerritorySpec, territory_spec

__all__ = [
    "MetroSpec",
    "NewStation",
    "Pole",
    "RailLink",
    "RailScenario",
    "apply_rail_edits",
    "check_rail_edits",
    "parse_rail_link",
    "scenario_edits",
    "Field",
    "StudyConfig",
    "TerritorySpec",
    "check_thresholds",
    "load_study_config",
    "load_toml",
    "resolve_study_path",
    "shipped_studies",
    "territory_spec",
    "validate",
]
