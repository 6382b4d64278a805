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

from geoattract import settings
from geoattract.config.study import StudyConfig, load_study_config
from geoattract.errors import (
    ConfigError,
    DataError,
    DataNotFoundError,
    GeoattractError,
    NetworkError,
    RoutingError,
    SnapError,
)
from geoattract.territory.load import load_territory

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

#: Public names provided by the stage modules, imported lazily (PEP 562).
_LAZY = {
    # road network
    "load_graph": "network.graph",
    "schematic_network": "network.graph",
    "graph_from_osm_online": "network.graph",
    "graph_from_pbf": "network.graph",
    "graph_from_osm_xml": "network.graph",
    "graph_from_file": "network.graph",
    "graph_summary": "network.graph",
    "save_graph_gpkg": "network.graph",
    "add_edge_speeds": "network.speeds",
    "add_edge_travel_times": "network.speeds",
    "parse_maxspeed": "network.speeds",
    "snap_points": "network.snapping",
    "synthetic_road_graph": "routing.synthetic",
    # routing and isochrones
    "routing_graph": "routing",
    "nearest_facility_times": "routing",
    "travel_times_within": "routing",
    "count_within": "routing",
    "facility_access": "routing",
    "reach": "routing",
    "isochrones": "routing.isochrones",
    "isochrones_for_communes": "routing.isochrones",
    # offer and accessibility
    "load_catalogue": "facilities.catalogue",
    "load_facilities": "facilities.catalogue",
    "facilities_from_pbf": "facilities.catalogue",
    "facilities_from_osm_online": "facilities.catalogue",
    "housing_table": "facilities.catalogue",
    "prepare_inputs": "accessibility.metrics",
    "category_accessibility": "accessibility.metrics",
    "housing_accessibility": "accessibility.metrics",
    "e2sfca": "accessibility.metrics",
    "decay_from_config": "accessibility.decay",
    # transition
    "load_indicator_registry": "transition.indicators",
    "transition_indicators": "transition.indicators",
    "network_indicators": "transition.indicators",
    "ev_charging_points": "transition.indicators",
    "train_stations": "transition.indicators",
    "zonal_stats": "transition.zonal",
    # scores
    "load_scoring_config": "scoring.core",
    "score_all_profiles": "scoring.core",
    "monte_carlo_all_profiles": "scoring.core",
    "sensitivity": "scoring.core",
    "epci_scores": "scoring.core",
    "score_changes": "scoring.core",
    "afom_table": "scoring.afom",
    "afom_epci": "scoring.afom",
    "afom_sentences": "scoring.afom",
    "run_scenario": "scoring.scenario",
    # maps and reports
    "choropleth_map": "outputs.maps",
    "isochrone_map": "outputs.maps",
    "make_maps": "outputs.maps",
    "make_static_maps": "outputs.maps",
    "write_report": "outputs.report",
    "write_index": "outputs.report",
    "compare_html": "outputs.report",
    # the main job
    "run_study": "app.pipeline",
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
