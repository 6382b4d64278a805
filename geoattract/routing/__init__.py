"""Stage 4, routing: CSR routing graph, numba Dijkstra kernels, many-to-many queries and isochrones."""

from __future__ import annotations

from geoattract.routing.engine import (
    FacilityAccess,
    ReachTable,
    RoutingGraph,
    count_within,
    count_within_multi,
    facility_access,
    nearest_facility_times,
    nearest_facility_times_multi,
    reach,
    routing_graph,
    routing_graph_from_arrays,
    travel_times_to,
    travel_times_within,
)
from geoattract.routing.isochrones import (
    BUFFER_M,
    ISOCHRONE_COLUMNS,
    isochrones,
    isochrones_for_communes,
    reached_lines,
)
from geoattract.routing.matrix import (
    MATRIX_COLUMNS,
    ODNetwork,
    communes_selection,
    dense_delays,
    matrix_command,
    od_matrix,
    od_network,
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
    "FacilityAccess",
    "ISOCHRONE_COLUMNS",
    "ReachTable",
    "RoutingGraph",
    "count_within",
    "count_within_multi",
    "facility_access",
    "isochrones",
    "isochrones_for_communes",
    "nearest_facility_times",
    "nearest_facility_times_multi",
    "reach",
    "reached_lines",
    "routing_graph",
    "routing_graph_from_arrays",
    "synthetic_road_arrays",
    "synthetic_road_graph",
    "travel_times_to",
    "travel_times_within",
]
