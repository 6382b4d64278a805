"""Stage 6, transition indicators: indicator registry, tables, zonal statistics of rasters, EV and rail access.

The pipeline calls :func:`build_transition`, which returns a :class:`TransitionIndicators`.
"""

from __future__ import annotations

from geoattract.transition.connectivity import (
    Connectivity,
    ConnectivitySource,
    TeleworkComponent,
    TeleworkSpec,
    component_score,
    connectivity_indicators,
    load_connectivity,
    telework_index,
)
from geoattract.transition.network import (
    EV_DUPLICATE_TOLERANCE_M,
    EV_THRESHOLD_MIN,
    RAIL_CATCHMENT_MIN,
    STATION_COLUMNS,
    SnappedInputs,
    TransitionParams,
    ev_charging_points,
    network_indicators,
    train_stations,
)
from geoattract.transition.rasters import raster_indicators
from geoattract.transition.registry import (
    KINDS,
    PILLAR_PREFIX,
    EvChargingSource,
    Indicator,
    PointSources,
    RailSource,
    load_indicator_registry,
    load_point_sources,
    registry_table,
    resolve_registry,
)
from geoattract.transition.report import TransitionReport
from geoattract.transition.stage import (
    AccessibilityResult,
    TransitionIndicators,
    build_transition,
    transition_indicators,
)
from geoattract.transition.tables import numeric_values, table_indicators
from geoattract.transition.zonal import (
    STATS,
    raster_band_names,
    zonal_stats,
)

__all__ = [
    "Connectivity",
    "ConnectivitySource",
    "TeleworkComponent",
    "TeleworkSpec",
    "component_score",
    "connectivity_indicators",
    "load_connectivity",
    "telework_index",
    "EV_DUPLICATE_TOLERANCE_M",
    "EV_THRESHOLD_MIN",
    "KINDS",
    "PILLAR_PREFIX",
    "RAIL_CATCHMENT_MIN",
    "STATION_COLUMNS",
    "STATS",
    "AccessibilityResult",
    "EvChargingSource",
    "Indicator",
    "PointSources",
    "RailSource",
    "SnappedInputs",
    "TransitionIndicators",
    "TransitionParams",
    "TransitionReport",
    "build_transition",
    "ev_charging_points",
    "load_indicator_registry",
    "load_point_sources",
    "network_indicators",
    "numeric_values",
    "raster_band_names",
    "raster_indicators",
    "registry_table",
    "resolve_registry",
    "table_indicators",
    "train_stations",
    "transition_indicators",
    "zonal_stats",
]
