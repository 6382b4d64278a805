"""Study configuration: TOML loading, schemas and validation, the configs shipped with the package."""

from __future__ import annotations

from geoattract.config.study import (
    Field,
    StudyConfig,
    check_thresholds,
    load_study_config,
    load_toml,
    resolve_study_path,
    shipped_studies,
    validate,
)
from geoattract.config.territory import TerritorySpec, territory_spec

__all__ = [
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
