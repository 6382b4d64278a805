"""geoattract: territorial attractiveness studies over the road network.

The package is a pipeline of plain stages, one module each::

    territory → graph (road network) → facilities → routing / isochrones
    → accessibility → transition → scoring / afom → plot / report → cli

Quick start::

    import geoattract as ga

    cfg = ga.load_study_config()  # Lot-et-Garonne, data found in ../shared/data
    communes = ga.load_territory(cfg)  # 319 study communes + 30 km buffer, EPSG:2154
    G = ga.load_graph("schematic", territory=communes)  # or "online", a .osm.pbf, .graphml…
    result = ga.run_study(cfg, out_dir="maps")  # the whole study, as `geoattract run`

Heavy stages (numba routing, osmnx, folium) are imported on first use of their names.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from . import settings
from .config import StudyConfig, load_study_config
from .errors import (
    ConfigError,
    DataError,
    DataNotFoundError,
    GeoattractError,
    NetworkError,
    RoutingError,
    SnapError,
)
from .territory import load_territory

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

#: Public names provided by the stage modules, imported lazily (PEP 562).
_LAZY = {
    # road network
    "load_graph": "graph",
    "schematic_network": "graph",
    "graph_from_osm_online": "graph",
    "graph_from_pbf": "graph",
    "graph_from_osm_xml": "graph",
    "graph_from_file": "graph",
    "graph_summary": "graph",
    "save_graph_gpkg": "graph",
    "add_edge_speeds": "speeds",
    "add_edge_travel_times": "speeds",
    "parse_maxspeed": "speeds",
    "snap_points": "snapping",
    "synthetic_road_graph": "synthetic",
    # routing and isochrones
    "routing_graph": "routing",
    "nearest_facility_times": "routing",
    "travel_times_within": "routing",
    "count_within": "routing",
    "facility_access": "routing",
    "reach": "routing",
    "isochrones": "isochrones",
    "isochrones_for_communes": "isochrones",
    # offer and accessibility
    "load_catalogue": "facilities",
    "load_facilities": "facilities",
    "facilities_from_pbf": "facilities",
    "facilities_from_osm_online": "facilities",
    "housing_table": "facilities",
    "prepare_inputs": "accessibility",
    "category_accessibility": "accessibility",
    "housing_accessibility": "accessibility",
    "e2sfca": "accessibility",
    "decay_from_config": "decay",
    # transition
    "load_indicator_registry": "transition",
    "transition_indicators": "transition",
    "network_indicators": "transition",
    "ev_charging_points": "transition",
    "train_stations": "transition",
    "zonal_stats": "zonal",
    # scores
    "load_scoring_config": "scoring",
    "score_all_profiles": "scoring",
    "monte_carlo_all_profiles": "scoring",
    "sensitivity": "scoring",
    "epci_scores": "scoring",
    "score_changes": "scoring",
    "afom_table": "afom",
    "afom_epci": "afom",
    "afom_sentences": "afom",
    "run_scenario": "scenario",
    # maps and reports
    "choropleth_map": "plot",
    "isochrone_map": "plot",
    "make_maps": "plot",
    "make_static_maps": "plot",
    "write_report": "report",
    "write_index": "report",
    "compare_html": "report",
    # the main job
    "run_study": "pipeline",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'geoattract' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "ConfigError",
    "DataError",
    "DataNotFoundError",
    "GeoattractError",
    "NetworkError",
    "RoutingError",
    "SnapError",
    "StudyConfig",
    "__version__",
    "load_study_config",
    "load_territory",
    "settings",
    *sorted(_LAZY),
]
