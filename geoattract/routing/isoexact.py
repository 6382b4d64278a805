"""Exact isochrone polygons: buffers of the reached road pieces merged by GEOS (``"exact"``).

The reached pieces (cut exactly at the remaining time, :func:`~geoattract.routing.edges.
lines_for_origin`) and the origin point are buffered by the band half-width and merged;
each threshold's polygon is the previous one (grown by the nesting margin,
:data:`~geoattract.routing.contour.NEST_MARGIN_M`, so that the union's rounding leaves no
sliver of it outside) unioned with the buffers of the pieces not already fully reached:
nesting holds by construction. The reference the fast grid method
(:mod:`geoattract.routing.isogrid`) is measured against; its cost grows with the number of
road pieces (the union of their buffers dominates).
"""

from __future__ import annotations

import numpy as np
import shapely

from geoattract.routing.contour import NEST_MARGIN_M, grown
from geoattract.routing.edges import EdgeLines, OriginReach, lines_for_origin
from geoattract.routing.graph import RoutingGraph

#: Segments per quarter circle used to approximate the round buffer ends (shapely
#: ``quad_segs``); 4 keeps polygons light with at most ~2.5 % area error on isolated ends.
BUFFER_QUAD_SEGS = 4


def buffer_union(lines: np.ndarray, buffer_m: float) -> shapely.Geometry:
    """Union of the buffers of the parts: much faster in GEOS than buffering a collection."""
    if lines.size == 0:
        return shapely.Polygon()
    return shapely.union_all(shapely.buffer(lines, buffer_m, quad_segs=BUFFER_QUAD_SEGS))


def exact_polygons(
    rg: RoutingGraph,
    edges: EdgeLines,
    reach: OriginReach,
    buffer_m: float,
) -> list[shapely.Geometry]:
    """Draw the nested isochrone polygons of one origin by the exact vector method.

    Parameters
    ----------
    rg : RoutingGraph
        The routing structure.
    edges : EdgeLines
        Its edge geometry.
    reach : OriginReach
        The origin (node position and access-leg seconds), the nodes it reaches within the
        largest threshold with their times, and the increasing thresholds (seconds).
    buffer_m : float
        Band half-width.

    Returns
    -------
    list of shapely.Geometry
        One polygon per threshold, empty when the origin's offset exceeds it.
    """
    origin_pt = shapely.points(rg.x[reach.origin], rg.y[reach.origin])
    bands: list[shapely.Geometry] = []
    previous: shapely.Geometry = shapely.Polygon()
    done_full = np.zeros(rg.n_edges, dtype=bool)
    for limit in reach.limits:
        if reach.offset > limit:
            bands.append(shapely.Polygon())
            continue
        ids, frac, lines = lines_for_origin(rg, edges.lines, reach.nodes, reach.times, limit)
        full = frac >= 1.0
        is_full = np.zeros(rg.n_edges, dtype=bool)
        is_full[ids[full]] = True
        t = edges.twin[ids]
        duplicate = full & (t >= 0) & (t < ids) & is_full[np.maximum(t, 0)]
        new = ~done_full[ids] & ~duplicate
        poly = buffer_union(np.concatenate([lines[new], [origin_pt]]), buffer_m)
        if not shapely.is_empty(previous):
            # the previous polygon grown by the nesting margin: the union's rounding cannot
            # then leave a sliver of it outside (10 min ⊂ 20 min ⊂ 30 min under covers)
            poly = shapely.union(poly, grown(previous, NEST_MARGIN_M))
        poly = shapely.make_valid(poly)
        done_full |= is_full
        bands.append(poly)
        previous = poly
    return bands
