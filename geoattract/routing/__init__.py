"""Stage 4, routing: CSR routing graph, numba Dijkstra kernels, many-to-many queries and isochrones."""

from __future__ import annotations

from geoattract.routing.graph import (
    DEFAULT_WEIGHT,
    ReachTable,
    RoutingGraph,
    network_routing_graph,
    routing_graph,
    routing_graph_from_arrays,
)
from geoattract.routing.isochrones import (
    BUFFER_M,
    ISOCHRONE_COLUMNS,
    SHAPES,
    clear_drawing_cache,
    isochrones,
    isochrones_for_communes,
    reached_lines,
)
from geoattract.routing.isogrid import GRID_RESOLUTION_M
from geoattract.routing.matrix import (
    MATRIX_COLUMNS,
    ODNetwork,
    communes_selection,
    dense_delays,
    matrix_command,
    od_matrix,
    od_network,
)
from geoattract.routing.queries import (
    FacilityAccess,
    count_within,
    count_within_multi,
    facility_access,
    nearest_facility_times,
    nearest_facility_times_multi,
    reach,
    travel_times_to,
    travel_times_within,
)
from geoattract.routing.synthetic import (
    synthetic_road_arrays,
    synthetic_road_graph,
)

__all__ = [
    "MATRIX_COLUMNS",
    "ODNetwork",
    "communes_selection",
    "dense_delays",
    "matrix_command",
    "od_matrix",
    "od_network",
    "BUFFER_M",
    "DEFAULT_WEIGHT",
    "FacilityAccess",
    "GRID_RESOLUTION_M",
    "ISOCHRONE_COLUMNS",
    "ReachTable",
    "RoutingGraph",
    "SHAPES",
    "clear_drawing_cache",
    "count_within",
    "count_within_multi",
    "facility_access",
    "isochrones",
    "isochrones_for_communes",
    "nearest_facility_times",
    "nearest_facility_times_multi",
    "reach",
    "reached_lines",
    "network_routing_graph",
    "routing_graph",
    "routing_graph_from_arrays",
    "synthetic_road_arrays",
    "synthetic_road_graph",
    "travel_times_to",
    "travel_times_within",
]
