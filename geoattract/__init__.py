"""geoattract: territorial attractiveness studies over the road network.

The package is a pipeline of plain stages, one module each::

    territory → graph (road network) → facilities → routing / isochrones
    → accessibility → transition → scoring / afom → plot / report → cli

Quick start (the analyst's API: GeoDataFrames in, frames aligned on them out)::

    import geoattract as ga

    net = ga.load_network("roads.gpkg")  # a line layer, .osm.pbf, .graphml, "online"…
    times = ga.od_matrix(net, origins, destinations)  # origin, destination, minutes, km
    areas = ga.isochrones(net, points, [10, 20, 30])  # the area within reach
    gp = ga.accessibility(town_halls, gps, net, method="e2sfca")  # aligned on town_halls
    result = ga.run_study("lot-et-garonne")  # the whole study, as `geoattract run`

``ga.datasets`` ships a tiny study every example runs on.

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
    "Network": "network.load",
    "load_network": "network.load",
    "build_network": "network.load",
    "load_graph": "network.load",
    "schematic_network": "network.schematic",
    "graph_from_osm_online": "network.osm",
    "graph_from_pbf": "network.osm",
    "graph_from_osm_xml": "network.osm",
    "graph_from_file": "network.files",
    "graph_summary": "network.model",
    "save_graph_gpkg": "network.model",
    "network_caption": "network.caption",
    "add_edge_speeds": "network.speeds",
    "add_edge_travel_times": "network.speeds",
    "parse_maxspeed": "network.speeds",
    "snap_points": "network.snapping",
    "graph_from_lines": "network.lines",
    "line_network": "network.lines",
    "calibrate": "network.calibrate",
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
    "od_matrix": "routing.matrix",
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
    "decay_from_config": "accessibility",
    # transition
    "load_indicator_registry": "transition",
    "transition_indicators": "transition",
    "network_indicators": "transition",
    "ev_charging_points": "transition",
    "train_stations": "transition",
    "build_transition": "transition",
    "zonal_stats": "transition",
    # scores
    "load_scoring_config": "scoring",
    "score_all_profiles": "scoring",
    "monte_carlo_all_profiles": "scoring",
    "sensitivity": "scoring",
    "epci_scores": "scoring",
    "score_changes": "scoring",
    "build_scores": "scoring",
    "afom_table": "scoring",
    "afom_epci": "scoring",
    "afom_sentences": "scoring",
    "run_scenario": "scoring",
    "run_rail_scenario": "scoring",
    "build_metropolitan": "accessibility",
    "validate_changes": "scoring",
    # maps and reports
    "choropleth_map": "outputs",
    "isochrone_map": "outputs",
    "make_maps": "outputs",
    "make_static_maps": "outputs",
    "write_report": "outputs",
    "write_index": "outputs",
    "compare_html": "outputs",
    "columns_table": "outputs",
    "make_qgis_ready": "outputs",
    "Labels": "outputs",
    "ReportContext": "outputs",
    # the main job
    "run_study": "app.pipeline",
    "compute_study": "app.pipeline",
}


def __getattr__(name: str) -> Any:
    if name in ("accessibility", "datasets"):  # subpackages: imported, not looked up
        return importlib.import_module(f".{name}", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'geoattract' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)  # the public API only, not the module's own imports


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
    "accessibility",
    "datasets",
    *sorted(_LAZY),
]
