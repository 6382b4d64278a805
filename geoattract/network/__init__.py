"""Stage 2, road network: the graph model, its loaders (OSM, files, line layers, schematic), speeds and snapping.

Modules: :mod:`~geoattract.network.model` (graph model, summary, export),
:mod:`~geoattract.network.caption` (the French caption of a graph),
:mod:`~geoattract.network.osm` (Overpass, ``.osm.pbf``, ``.osm``),
:mod:`~geoattract.network.files` (GraphML, GeoPackage),
:mod:`~geoattract.network.schematic` (offline fallback), :mod:`~geoattract.network.load`
(dispatch and the stage entry point :func:`build_network`), :mod:`~geoattract.network.speeds`,
:mod:`~geoattract.network.snapping` and :mod:`~geoattract.network.cache`.
"""

from __future__ import annotations

from geoattract.network.calibrate import calibrate
from geoattract.network.calibration import CalibrationResult
from geoattract.network.caption import SCHEMATIC_CAPTION_FR, NetworkCaption, network_caption
from geoattract.network.files import graph_from_file
from geoattract.network.lines import (
    LineNetwork,
    graph_from_lines,
    is_line_layer,
    line_network,
    read_calibration,
    read_lines,
)
from geoattract.network.load import (
    Network,
    build_network,
    load_graph,
    load_network,
    resolve_source,
)
from geoattract.network.model import (
    GRAPH_CRS,
    GRAPH_KINDS,
    graph_summary,
    graph_to_gdfs,
    largest_scc,
    road_km,
    save_graph_gpkg,
)
from geoattract.network.osm import (
    filter_drivable,
    graph_from_osm_online,
    graph_from_osm_xml,
    graph_from_pbf,
)
from geoattract.network.presets import (
    BDTOPO,
    LINE_SPEEDS,
    PRESETS,
    ROUTE500,
    TRAVELMAPPING,
    LinePreset,
    get_preset,
)
from geoattract.network.references import Holdout, Reference, read_reference
from geoattract.network.schematic import (
    DETOUR_FACTOR,
    MIN_SHARED_BORDER_M,
    SCHEMATIC_LINK_CLASSES,
    SCHEMATIC_POLES_PER_DEPARTEMENT,
    SCHEMATIC_SOURCE,
    SCHEMATIC_SPEEDS,
    default_poles,
    schematic_network,
    town_hall_nodes,
)
from geoattract.network.snapping import (
    LINES_SNAP_DETOUR,
    LINES_SNAP_MAX_DISTANCE_M,
    LINES_SNAP_SPEED_KPH,
    SNAP_COLUMNS,
    SnapReport,
    SnapRule,
    node_coordinates,
    snap_points,
    snap_report,
    snappable_nodes,
)
from geoattract.network.speeds import (
    DEFAULT_FALLBACK_SPEED_KPH,
    DRIVE_HIGHWAYS,
    FRENCH_DEFAULT_SPEEDS,
    HIGHWAY_RANK,
    MAXSPEED_ZONES,
    MPH_TO_KPH,
    add_edge_speeds,
    add_edge_travel_times,
    highway_classes,
    main_highway,
    parse_maxspeed,
)

__all__ = [
    "BDTOPO",
    "LINES_SNAP_DETOUR",
    "LINES_SNAP_MAX_DISTANCE_M",
    "LINES_SNAP_SPEED_KPH",
    "LINE_SPEEDS",
    "PRESETS",
    "ROUTE500",
    "TRAVELMAPPING",
    "CalibrationResult",
    "Holdout",
    "LineNetwork",
    "LinePreset",
    "Reference",
    "SnapReport",
    "calibrate",
    "get_preset",
    "graph_from_lines",
    "is_line_layer",
    "line_network",
    "read_calibration",
    "read_lines",
    "read_reference",
    "snap_report",
    "snappable_nodes",
    "DEFAULT_FALLBACK_SPEED_KPH",
    "DETOUR_FACTOR",
    "DRIVE_HIGHWAYS",
    "FRENCH_DEFAULT_SPEEDS",
    "GRAPH_CRS",
    "GRAPH_KINDS",
    "HIGHWAY_RANK",
    "MAXSPEED_ZONES",
    "MIN_SHARED_BORDER_M",
    "MPH_TO_KPH",
    "SCHEMATIC_CAPTION_FR",
    "SCHEMATIC_LINK_CLASSES",
    "SCHEMATIC_POLES_PER_DEPARTEMENT",
    "SCHEMATIC_SOURCE",
    "SCHEMATIC_SPEEDS",
    "SNAP_COLUMNS",
    "Network",
    "NetworkCaption",
    "SnapRule",
    "add_edge_speeds",
    "add_edge_travel_times",
    "build_network",
    "default_poles",
    "filter_drivable",
    "graph_from_file",
    "graph_from_osm_online",
    "graph_from_osm_xml",
    "graph_from_pbf",
    "graph_summary",
    "graph_to_gdfs",
    "highway_classes",
    "largest_scc",
    "load_graph",
    "load_network",
    "main_highway",
    "network_caption",
    "node_coordinates",
    "parse_maxspeed",
    "resolve_source",
    "road_km",
    "save_graph_gpkg",
    "schematic_network",
    "snap_points",
    "town_hall_nodes",
]
