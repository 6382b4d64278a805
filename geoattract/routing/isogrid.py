"""Fast isochrone polygons: distance fields on a grid, contoured (the ``"grid"`` method).

For one origin and its thresholds ``T_1 < T_2 < …``:

1. The reached road pieces (the same exact cuts as the vector method: the first
   ``(T - t_u) / w`` share of each edge leaving a node reached at ``t_u``) are burnt into one
   distance field per threshold on a square grid of ``resolution_m``: each grid point gets its
   distance to the nearest piece reached within ``T_k``, computed exactly (point to segment)
   for the grid points within ``buffer_m + 1.5 · resolution_m`` of a piece, in a compiled
   kernel that releases the GIL. The cost grows with the length of road reached times the band
   width, plus the grid points of the reached area's bounding box: not with the number of edges
   of the graph. Fields are ``float32`` (distances of a few hundred metres: 3e-5 m steps) in
   per-thread scratch buffers reused from one origin to the next.
2. The band ``{distance <= buffer_m}`` is contoured with compiled marching squares
   (:mod:`geoattract.routing.contour`): linear interpolation of a distance field places the
   boundary within centimetres on straight bands and within a few metres on the round ends,
   far better than a pixel staircase (measured on the study: intersection over union ≥ 0.987
   with the exact vector band at 125 m).
3. Nesting is built in: field ``k`` is capped by field ``k - 1`` minus :data:`NEST_MARGIN_M`,
   so the band of ``T_k`` lies strictly outside the band of ``T_{k-1}`` wherever their borders
   would meet, by a margin larger than rounding: ``10 min ⊂ 20 min ⊂ 30 min`` holds exactly.
   A small isochrone gets a finer grid than the larger ones of its origin
   (:func:`threshold_steps`); a polygon drawn on a coarser grid is then joined to the finer
   polygon it must contain (grown by a margin of the same order), so nesting holds too.
4. Rings are simplified (collinear contour points along straight bands go).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import shapely
from numba import njit

from geoattract.routing.contour import NEST_MARGIN_M, contour_band, grown
from geoattract.routing.edges import EdgeLines, OriginReach
from geoattract.routing.graph import RoutingGraph

#: Default grid step (metres) of the ``"grid"`` method. At 125 m the study's 957 polygons match
#: the exact vector band with an intersection over union of at least 0.987 and areas within
#: 0.9 % (0.992 and 0.6 % at 100 m, for 1.4x the time; see ``docs/routing.md``); the cost grows
#: as ``1 / step²``. Polygons under ~1 km² (one-minute isochrones in a town) need at most half
#: the band width (100 m) for an intersection over union of 0.97.
GRID_RESOLUTION_M = 125.0

#: An origin whose smallest isochrone is small gets a finer grid: at least this many steps
#: across the bounding box of that isochrone's band (its reached nodes, its origin and the band
#: half-width around them). A band of 400 m across drawn at 125 m is three steps wide, and its
#: round ends, drawn by chords, lose a few per cent of a polygon under ~1 km²; at 20 steps
#: across, the study's smallest polygons (0.5 to 4 km²) match the exact band with an
#: intersection over union of 0.98 or more (``docs/routing.md``).
MIN_STEPS_ACROSS = 20

#: The finest step an origin gets (metres): a lone band around the origin (400 m across) is
#: drawn at 25 m, 16 steps across.
MIN_RESOLUTION_M = 25.0

#: Grid points farther than ``buffer + CAP_STEPS · resolution`` from every reached piece keep
#: that capped distance: linear interpolation only needs exact values next to the boundary.
CAP_STEPS = 1.05

# --------------------------------------------------------------------------------------------
# Compiled kernels
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _burn_segment(field, x0, y0, step, ax, ay, bx, by, cap):  # pragma: no cover - compiled
    """Lower ``field`` (one threshold) to the distance to segment a -> b where it is smaller.

    Row by row, only the grid points of the row's stretch within ``cap`` of the segment are
    visited; the inner loop runs along the row (contiguous memory) without branches, so the
    compiler vectorises it. Points farther than ``cap`` keep their value: the field starts at
    ``cap`` and only ever takes the minimum.
    """
    ny, nx = field.shape
    dx = bx - ax
    dy = by - ay
    l2 = dx * dx + dy * dy
    inv = 1.0 / l2 if l2 > 0.0 else 0.0  # a point segment: t = 0
    j0 = max(0, int(np.ceil((min(ay, by) - cap - y0) / step)))
    j1 = min(ny - 1, int(np.floor((max(ay, by) + cap - y0) / step)))
    for j in range(j0, j1 + 1):
        py = y0 + j * step
        ta = 0.0
        tb = 1.0
        if dy != 0.0:  # the part of the segment within cap of the row
            ta = min(max((py - cap - ay) / dy, 0.0), 1.0)
            tb = min(max((py + cap - ay) / dy, 0.0), 1.0)
        xa = ax + ta * dx
        xb = ax + tb * dx
        i0 = max(0, int(np.ceil((min(xa, xb) - cap - x0) / step)))
        i1 = min(nx - 1, int(np.floor((max(xa, xb) + cap - x0) / step)))
        wy = py - ay
        row = field[j]
        for i in range(i0, i1 + 1):
            wx = x0 + i * step - ax
            t = min(max((wx * dx + wy * dy) * inv, 0.0), 1.0)
            ux = wx - t * dx
            uy = wy - t * dy
            row[i] = min(row[i], np.float32(np.sqrt(ux * ux + uy * uy)))


@njit(cache=True, nogil=True)
def _prefixes(weights, indices, twin, node_time, e, tu, limits, length, s):  # pragma: no cover
    """Reached length ``s[k]`` of edge ``e`` at each threshold (-1: nothing); any reached.

    An edge fully reached whose twin (same road, other way) is fully reached too and has a
    smaller id is skipped: its band is the twin's.
    """
    w = weights[e]
    te = twin[e]
    tv = node_time[indices[e]] if te >= 0 else np.inf
    reached = False
    for k in range(limits.size):
        rem = limits[k] - tu
        s[k] = -1.0
        if rem <= 0.0:
            continue
        if rem >= w:
            if te >= 0 and te < e and tv + weights[te] <= limits[k]:
                continue
            s[k] = length
        else:
            s[k] = rem / w * length
        reached = True
    return reached


@njit(cache=True, nogil=True)
def _piece_bounds(
    indptr, indices, weights, twin, ptr, coords, along, nodes, times, node_time, limits, lo, hi
):  # pragma: no cover - compiled
    """Widen ``lo``, ``hi`` (per threshold) to the bounding boxes of the reached pieces."""
    nk = limits.size
    s = np.empty(nk)
    for a in range(nodes.size):
        u = nodes[a]
        for e in range(indptr[u], indptr[u + 1]):
            length = along[ptr[e + 1] - 1]
            if not _prefixes(weights, indices, twin, node_time, e, times[a], limits, length, s):
                continue
            for c in range(ptr[e], ptr[e + 1]):
                # a vertex bounds the pieces that reach it or stop on the segment before it
                prev = along[c - 1] if c > ptr[e] else -1.0
                for k in range(nk):
                    if s[k] > prev:
                        lo[k, 0] = min(lo[k, 0], coords[c, 0])
                        lo[k, 1] = min(lo[k, 1], coords[c, 1])
                        hi[k, 0] = max(hi[k, 0], coords[c, 0])
                        hi[k, 1] = max(hi[k, 1], coords[c, 1])


@njit(cache=True, nogil=True)
def _burn_edge(field, x0, y0, step, cap, coords, along, a, b, s):  # pragma: no cover
    """Burn the reached prefixes ``s[k]`` (metres) of the polyline ``coords[a:b]``.

    Each threshold's field only gets the increment reached since the previous threshold:
    :func:`_nest` then carries the earlier pieces over, so every piece is burnt once.
    """
    done = 0.0  # length already burnt into an earlier threshold's field
    for k in range(s.size):
        if s[k] <= done:  # not reached (-1), or nothing new since the previous threshold
            continue
        for c in range(a, b - 1):
            start, end = along[c], along[c + 1]
            if end <= done:
                continue
            if start >= s[k]:
                break
            lo, hi = max(done, start), min(s[k], end)
            seg = end - start
            f0 = (lo - start) / seg if seg > 0.0 else 0.0
            f1 = (hi - start) / seg if seg > 0.0 else 0.0
            ax, ay = coords[c, 0], coords[c, 1]
            dx, dy = coords[c + 1, 0] - ax, coords[c + 1, 1] - ay
            _burn_segment(
                field[k], x0, y0, step, ax + f0 * dx, ay + f0 * dy, ax + f1 * dx, ay + f1 * dy, cap
            )
        done = s[k]


@njit(cache=True, nogil=True)
def _nest(field, boxes):  # pragma: no cover - compiled
    """Cap each field by the previous one minus :data:`NEST_MARGIN_M` (exact nesting)."""
    for k in range(1, field.shape[0]):
        # outside the previous threshold's window its field is the cap: nothing to nest
        for j in range(boxes[k - 1, 1], boxes[k - 1, 3] + 1):
            for i in range(boxes[k - 1, 0], boxes[k - 1, 2] + 1):
                capped = field[k - 1, j, i] - NEST_MARGIN_M
                if capped < field[k, j, i]:
                    field[k, j, i] = capped


@njit(cache=True, nogil=True)
def distance_fields(
    indptr,
    indices,
    weights,
    twin,
    ptr,
    coords,
    along,
    nodes,
    times,
    node_time,
    limits,
    ox,
    oy,
    origin_offset,
    buffer_m,
    step,
    buffer,
):  # pragma: no cover - compiled
    """Distance fields of the road pieces reached within each threshold, for one origin.

    Parameters are the CSR arrays of the routing graph, the flat edge geometry
    (:class:`~geoattract.routing.edges.EdgeLines`), the nodes reached from the origin and their
    times, a scratch array ``node_time`` (all ``inf``, restored on return), the increasing
    thresholds ``limits`` (seconds), the origin's coordinates and offset, the band half-width,
    the grid step and a flat ``float32`` scratch ``buffer`` the fields are laid in (reused from
    one origin to the next, grown when too small: fresh pages cost as much as filling them).

    Returns
    -------
    field : (n_thresholds, ny, nx) float64
        Distance (metres, capped) from grid point ``(x0 + i·step, y0 + j·step)`` to the pieces
        reached within each threshold, nested by :data:`NEST_MARGIN_M`; defined inside each
        threshold's window only.
    x0, y0 : float
        Coordinates of grid point ``(0, 0)``.
    boxes : (n_thresholds, 4) int64
        Per threshold, the grid window ``i0, j0, i1, j1`` (inclusive) holding its band.
    buffer : (n,) float32
        The scratch buffer (a new, larger one when it had to grow): ``field`` is a view of it.
    """
    nk = limits.size
    cap = buffer_m + CAP_STEPS * step
    for a in range(nodes.size):
        node_time[nodes[a]] = times[a]
    lo = np.empty((nk, 2))
    hi = np.empty((nk, 2))
    lo[:, 0] = ox
    lo[:, 1] = oy
    hi[:, 0] = ox
    hi[:, 1] = oy
    graph = (indptr, indices, weights, twin, ptr, coords, along)
    _piece_bounds(*graph, nodes, times, node_time, limits, lo, hi)
    margin = cap + step
    x0 = np.floor((lo[nk - 1, 0] - margin) / step) * step
    y0 = np.floor((lo[nk - 1, 1] - margin) / step) * step
    nx = int(np.ceil((hi[nk - 1, 0] + margin - x0) / step)) + 1
    ny = int(np.ceil((hi[nk - 1, 1] + margin - y0) / step)) + 1
    # each threshold's field is only ever read and written inside its window
    if buffer.size < nk * ny * nx:
        buffer = np.empty(nk * ny * nx, dtype=np.float32)
    field = buffer[: nk * ny * nx].reshape((nk, ny, nx))
    boxes = np.empty((nk, 4), dtype=np.int64)
    for k in range(nk):
        boxes[k, 0] = max(0, int(np.floor((lo[k, 0] - margin - x0) / step)))
        boxes[k, 1] = max(0, int(np.floor((lo[k, 1] - margin - y0) / step)))
        boxes[k, 2] = min(nx - 1, int(np.ceil((hi[k, 0] + margin - x0) / step)))
        boxes[k, 3] = min(ny - 1, int(np.ceil((hi[k, 1] + margin - y0) / step)))
        field[k, boxes[k, 1] : boxes[k, 3] + 1, boxes[k, 0] : boxes[k, 2] + 1] = cap
    for k in range(nk):
        if origin_offset <= limits[k]:  # the origin, from the first threshold it is within
            _burn_segment(field[k], x0, y0, step, ox, oy, ox, oy, cap)
            break
    s = np.empty(nk)
    for a in range(nodes.size):
        u = nodes[a]
        for e in range(indptr[u], indptr[u + 1]):
            length = along[ptr[e + 1] - 1]
            if _prefixes(weights, indices, twin, node_time, e, times[a], limits, length, s):
                _burn_edge(field, x0, y0, step, cap, coords, along, ptr[e], ptr[e + 1], s)
    _nest(field, boxes)
    for a in range(nodes.size):
        node_time[nodes[a]] = np.inf
    return field, x0, y0, boxes, buffer


@dataclass
class GridScratch:
    """Per-thread scratch arrays of :func:`grid_polygons`, reused from one origin to the next.

    Attributes
    ----------
    node_time : numpy.ndarray
        ``rg.n_nodes`` ``inf`` values (restored after each origin).
    fields : numpy.ndarray
        Flat ``float32`` buffer of the distance fields (grown on demand).
    links : numpy.ndarray
        Flat ``int32`` buffer of the contour's boundary links (grown on demand).
    reach : numpy.ndarray
        Flat ``float64`` buffer of the reach-time field and its road points (the area within
        reach, :mod:`geoattract.routing.isoreach`; grown on demand).
    """

    node_time: np.ndarray
    fields: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0, dtype=np.float32))
    links: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0, dtype=np.int32))
    reach: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))

    @classmethod
    def for_graph(cls, rg: RoutingGraph) -> GridScratch:
        """Fresh scratch arrays for ``rg``."""
        return cls(node_time=np.full(rg.n_nodes, np.inf))


def grid_polygons(
    rg: RoutingGraph,
    edges: EdgeLines,
    reach: OriginReach,
    buffer_m: float,
    resolution_m: float,
    scratch: GridScratch,
) -> list[shapely.Geometry]:
    """Draw the nested isochrone polygons of one origin by the grid method.

    Parameters
    ----------
    rg, edges, reach, buffer_m
        As in :func:`geoattract.routing.isoexact.exact_polygons`.
    resolution_m : float
        Grid step, metres (finer for a small isochrone, see :func:`threshold_steps`).
    scratch : GridScratch
        Scratch arrays, one per thread.

    Returns
    -------
    list of shapely.Geometry
        One polygon per threshold, empty when the origin's offset exceeds it.
    """
    steps = threshold_steps(rg, reach, buffer_m, resolution_m)
    limits = reach.limits
    out: list[shapely.Geometry] = []
    inner: shapely.Geometry = shapely.Polygon()  # the last polygon drawn at a finer step
    k = 0
    while k < limits.size:
        last = k  # thresholds k..last share a step: one set of fields, nested by the caps
        while last + 1 < limits.size and steps[last + 1] == steps[k]:
            last += 1
        drawn = _draw_group(rg, edges, reach, last + 1, (buffer_m, float(steps[k])), scratch, k)
        if not shapely.is_empty(inner):
            # a coarser step draws the borders it shares with the finer polygon a few metres
            # apart: each polygon is joined to the finer one grown by a margin that grows with
            # the threshold, so that 10 min ⊂ 20 min ⊂ 30 min holds beyond rounding
            drawn = [
                shapely.union(p, grown(inner, (i + 1) * NEST_MARGIN_M)) for i, p in enumerate(drawn)
            ]
        out.extend(drawn)
        inner = out[-1]
        k = last + 1
    return out


def _draw_group(
    rg: RoutingGraph,
    edges: EdgeLines,
    reach: OriginReach,
    stop: int,
    drawing: tuple[float, float],
    scratch: GridScratch,
    first: int,
) -> list[shapely.Geometry]:
    """Polygons of thresholds ``first`` to ``stop - 1`` of ``reach``, all drawn on one grid.

    ``drawing`` is the band half-width and the grid step.
    """
    buffer_m, step = drawing
    limits = reach.limits[:stop]
    field, x0, y0, boxes, scratch.fields = distance_fields(
        rg.indptr,
        rg.indices,
        rg.weights,
        edges.twin,
        edges.ptr,
        edges.coords,
        edges.along,
        reach.nodes,
        reach.times,
        scratch.node_time,
        limits,
        float(rg.x[reach.origin]),
        float(rg.y[reach.origin]),
        reach.offset,
        float(buffer_m),
        step,
        scratch.fields,
    )
    out: list[shapely.Geometry] = []
    for k in range(first, limits.size):
        if reach.offset > limits[k]:
            out.append(shapely.Polygon())
            continue
        i0, j0, i1, j1 = boxes[k]
        window = field[k, j0 : j1 + 1, i0 : i1 + 1]
        polygon, scratch.links = contour_band(
            window, x0 + i0 * step, y0 + j0 * step, step, buffer_m, scratch.links
        )
        out.append(polygon)
    return out


def threshold_steps(
    rg: RoutingGraph, reach: OriginReach, buffer_m: float, resolution_m: float
) -> np.ndarray:
    """The grid step of each threshold of one origin: ``resolution_m``, finer when small.

    An isochrone spans the bounding box of the nodes reached within it and of the origin,
    widened by the band half-width on each side; its step is at most that box's size (the
    geometric mean of its sides) over :data:`MIN_STEPS_ACROSS`, and never below
    :data:`MIN_RESOLUTION_M`. Steps never decrease with the threshold; thresholds sharing a
    step share one grid (nested by the fields), a coarser one is joined to the finer polygon
    it must contain. Thresholds below the origin's offset get ``resolution_m``.

    Parameters
    ----------
    rg : RoutingGraph
        Node coordinates (``x``, ``y``).
    reach : OriginReach
        The origin, its offset, the nodes it reaches and the thresholds.
    buffer_m : float
        Band half-width, metres.
    resolution_m : float
        The coarsest step, metres.

    Returns
    -------
    numpy.ndarray
        One step (metres) per threshold.
    """
    return _threshold_steps(
        rg.x,
        rg.y,
        reach.origin,
        reach.offset,
        reach.nodes,
        reach.times,
        reach.limits,
        float(buffer_m),
        float(resolution_m),
    )


@njit(cache=True, nogil=True)
def _threshold_steps(
    x, y, origin_pos, offset, nodes, times, limits, buffer_m, resolution_m
):  # pragma: no cover - compiled
    """:func:`threshold_steps` in one pass over the reached nodes."""
    nk = limits.size
    lo = np.empty((nk, 2))
    hi = np.empty((nk, 2))
    lo[:, 0] = hi[:, 0] = x[origin_pos]
    lo[:, 1] = hi[:, 1] = y[origin_pos]
    for a in range(nodes.size):
        px, py = x[nodes[a]], y[nodes[a]]
        for k in range(nk):
            if times[a] <= limits[k]:
                lo[k, 0] = min(lo[k, 0], px)
                lo[k, 1] = min(lo[k, 1], py)
                hi[k, 0] = max(hi[k, 0], px)
                hi[k, 1] = max(hi[k, 1], py)
    steps = np.full(nk, resolution_m)
    for k in range(nk):
        if limits[k] >= offset:
            size = np.sqrt(
                (hi[k, 0] - lo[k, 0] + 2 * buffer_m) * (hi[k, 1] - lo[k, 1] + 2 * buffer_m)
            )
            steps[k] = min(resolution_m, max(MIN_RESOLUTION_M, size / MIN_STEPS_ACROSS))
    return steps
