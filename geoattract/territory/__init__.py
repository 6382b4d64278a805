"""Stage 1, territory: the study communes, their buffer zone, population, EPCI and town halls."""

from __future__ import annotations

from geoattract.territory.load import (
    TerritoryReport,
    load_territory,
    validate_communes,
)

__all__ = ["TerritoryReport", "load_territory", "validate_communes"]
