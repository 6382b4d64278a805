"""Stage 6, transition indicators: indicator registry, tables, zonal statistics of rasters, EV and rail access."""

from __future__ import annotations

from geoattract.transition.indicators import (
    DEFAULT_REGISTRY,
    DIRECTIONS,
    KINDS,
    PILLAR_PREFIX,
    Indicator,
    TransitionReport,
    ev_charging_points,
    load_indicator_registry,
    raster_indicators,
    registry_table,
    table_indicators,
    train_stations,
    transition_indicators,
)
from geoattract.transition.zonal import (
    STATS,
    raster_band_names,
    zonal_stats,
)

__all__ = [
    "DEFAULT_REGISTRY",
    "DIRECTIONS",
    "Indicator",
    "KINDS",
    "PILLAR_PREFIX",
    "STATS",
    "TransitionReport",
    "ev_charging_points",
    "load_indicator_registry",
    "raster_band_names",
    "raster_indicators",
    "registry_table",
    "table_indicators",
    "train_stations",
    "transition_indicators",
    "zonal_stats",
]
