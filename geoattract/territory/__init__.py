"""Stage 1, territory: the study communes, their buffer zone, population, EPCI and town halls."""

from __future__ import annotations

from geoattract.territory.check import check_territory, study_departements, study_rows
from geoattract.territory.load import (
    TERRITORY_COLUMNS,
    Territory,
    TerritoryReport,
    build_territory,
    load_territory,
    validate_communes,
)

__all__ = [
    "TERRITORY_COLUMNS",
    "Territory",
    "TerritoryReport",
    "build_territory",
    "check_territory",
    "load_territory",
    "study_departements",
    "study_rows",
    "validate_communes",
]
