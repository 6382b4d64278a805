"""The area within reach on a network without local streets (the ``"area"`` shape).

A person reaches, within ``T`` seconds, the roads reached within ``T`` and, **off the road**,
the land around any reached point at the access-leg pace for the time left: the same rule as
the access leg of every trip (:class:`~geoattract.network.snapping.SnapRule`: straight-line
distance × detour at the access speed, ``pace = detour / speed`` seconds per metre). The
area within reach is the set of points ``x`` where the *reach time*

``τ(x) = min over reached road points p of  t(p) + pace · |x − p|``

is at most ``T`` (the origin point counts as a road point reached at its own time, 0 for a
town hall). ``t(p)`` grows linearly along each edge (constant speed, the edge's weight spread
over its geometry). Only edges a point may join carry off-road legs: both end nodes
``snappable`` (:func:`~geoattract.network.snapping.snappable_nodes`); nobody leaves a motorway
between two exits. With no local street in the network, this is what makes the town centre
around a town hall, and the land between roads, part of the area reached.

One field ``τ`` per origin serves every threshold: the polygons are its level sets, nested by
construction (``10 min ⊂ 20 min ⊂ 30 min``) and the origin always lies inside its smallest
isochrone.

Two methods:

* **grid** (:func:`area_polygons`): ``τ`` on a square grid, then contoured (compiled marching
  squares of :mod:`geoattract.routing.contour`). The grid points within
  :data:`NEAR_STEPS` steps of a reached segment get the exact value: the best point of the
  segment in closed form. For a segment whose time grows at ``r`` seconds per metre
  (``r < pace``) the best point lies back along the segment from the orthogonal projection by
  ``h · r / √(pace² − r²)`` (``h`` the distance to the segment's line), clamped to the
  segment. The other grid points take the best of the *segments* of their neighbours, in two
  raster scans (the vector propagation of Danielsson's Euclidean distance transform, with
  segments for points): each value is the exact reach time through a real road segment, so
  ``τ`` is never underestimated, and it is exact wherever a grid point's best segment is the
  best one of a neighbour.
* **exact** (:func:`exact_area_polygons`): the union of the discs ``|x − p| ≤ (T − t(p)) /
  pace`` along each reached segment is the convex hull of its two end discs (the radius falls
  linearly by less than the distance travelled, ``r < pace``): GEOS hulls of the end discs of
  every segment, merged. The reference the grid method is measured against.
"""

from __future__ import annotations

import numpy as np
import shapely
from numba import njit

from geoattract.routing.contour import NEST_MARGIN_M, contour_band, grown
from geoattract.routing.edges import EdgeLines, OriginReach
from geoattract.routing.graph import RoutingGraph
from geoattract.routing.isogrid import GridScratch

#: Grid points within this many steps of a reached segment get its exact reach time; the
#: others take it from their neighbours' road points (two raster scans).
NEAR_STEPS = 1.5

#: Default grid step (metres) of the area within reach: the reach time is a smooth field
#: (cones of a few kilometres), contoured with linear interpolation. At 250 m the study's
#: polygons match the exact method with an intersection over union of at least 0.99
#: (``docs/routing.md``); the cost grows as ``1 / step²``.
AREA_RESOLUTION_M = 250.0

#: Vertices per circle of the exact method's discs.
CIRCLE_VERTICES = 64


# --------------------------------------------------------------------------------------------
# Reached segments
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def reached_segments(
    indptr, indices, weights, joinable, ptr, coords, along, nodes, times, node_ok, x, y, limit
):  # pragma: no cover - compiled
    """The road segments an origin reaches within ``limit`` seconds, with their times.

    Returns an ``(n, 6)`` array: ``ax, ay, bx, by, ta, rate``: a segment from ``a`` (reached at
    ``ta``) to ``b`` (cut where the time reaches ``limit``) along which the time grows by
    ``rate`` seconds per metre. Only edges a point may join (``joinable``) are listed; every
    reached node a point may join (``node_ok``) is listed too, as a segment of length 0.
    """
    n = 0
    for a in range(nodes.size):
        u = nodes[a]
        if times[a] > limit:
            continue
        n += 1
        for e in range(indptr[u], indptr[u + 1]):
            if joinable[e]:
                n += ptr[e + 1] - ptr[e] - 1
    out = np.empty((n, 6))
    m = 0
    for a in range(nodes.size):
        u = nodes[a]
        tu = times[a]
        if tu > limit:
            continue
        if node_ok[u]:
            out[m, 0] = out[m, 2] = x[u]
            out[m, 1] = out[m, 3] = y[u]
            out[m, 4] = tu
            out[m, 5] = 0.0
            m += 1
        rem = limit - tu
        for e in range(indptr[u], indptr[u + 1]):
            if not joinable[e]:
                continue
            w = weights[e]
            length = along[ptr[e + 1] - 1]
            smax = length if rem >= w else rem / w * length
            rate = w / length if length > 0.0 else 0.0
            for c in range(ptr[e], ptr[e + 1] - 1):
                s0, s1 = along[c], along[c + 1]
                if s0 > smax:
                    break
                seg = s1 - s0
                f = (min(s1, smax) - s0) / seg if seg > 0.0 else 0.0
                ax, ay = coords[c, 0], coords[c, 1]
                out[m, 0] = ax
                out[m, 1] = ay
                out[m, 2] = ax + f * (coords[c + 1, 0] - ax)
                out[m, 3] = ay + f * (coords[c + 1, 1] - ay)
                out[m, 4] = tu + rate * s0
                out[m, 5] = rate
                m += 1
    return out[:m]


# --------------------------------------------------------------------------------------------
# Grid method
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _prepared(segments, pace):  # pragma: no cover - compiled
    """Per segment: ``ax, ay, ux, uy, length, ta, rate, back``.

    ``ux, uy`` is the unit direction, ``back`` how far back from the orthogonal projection the
    best point lies per metre of distance from the segment's line (-1: at the start).
    """
    n = segments.shape[0]
    out = np.empty((n, 8))
    for s in range(n):
        ax, ay, bx, by = segments[s, 0], segments[s, 1], segments[s, 2], segments[s, 3]
        rate = segments[s, 5]
        dx, dy = bx - ax, by - ay
        length = np.sqrt(dx * dx + dy * dy)
        out[s, 0] = ax
        out[s, 1] = ay
        out[s, 2] = dx / length if length > 0.0 else 0.0
        out[s, 3] = dy / length if length > 0.0 else 0.0
        out[s, 4] = length
        out[s, 5] = segments[s, 4]
        out[s, 6] = rate
        out[s, 7] = rate / np.sqrt(pace * pace - rate * rate) if rate < pace else -1.0
    return out


@njit(cache=True, nogil=True, inline="always")
def _time_via(seg, s, px, py, pace):  # pragma: no cover - compiled
    """Reach time at ``(px, py)`` through the best point of segment ``s`` (closed form)."""
    ax, ay, ux, uy = seg[s, 0], seg[s, 1], seg[s, 2], seg[s, 3]
    wx = px - ax
    wy = py - ay
    along = wx * ux + wy * uy
    back = seg[s, 7]
    at = along - abs(wx * uy - wy * ux) * back if back >= 0.0 else 0.0
    at = min(max(at, 0.0), seg[s, 4])
    ex = wx - at * ux
    ey = wy - at * uy
    return seg[s, 5] + seg[s, 6] * at + pace * np.sqrt(ex * ex + ey * ey)


@njit(cache=True, nogil=True)
def _seed_segment(field, src, x0, y0, step, seg, s, pace, near):  # pragma: no cover - compiled
    """Exact reach time through segment ``s`` at the grid points within ``near`` of it."""
    ny, nx = field.shape
    ax, ay, length = seg[s, 0], seg[s, 1], seg[s, 4]
    bx, by = ax + length * seg[s, 2], ay + length * seg[s, 3]
    dx, dy = bx - ax, by - ay
    j0 = max(0, int(np.ceil((min(ay, by) - near - y0) / step)))
    j1 = min(ny - 1, int(np.floor((max(ay, by) + near - y0) / step)))
    for j in range(j0, j1 + 1):
        py = y0 + j * step
        ta = 0.0
        tb = 1.0
        if dy != 0.0:  # the part of the segment within near of the row
            ta = min(max((py - near - ay) / dy, 0.0), 1.0)
            tb = min(max((py + near - ay) / dy, 0.0), 1.0)
        xa = ax + ta * dx
        xb = ax + tb * dx
        i0 = max(0, int(np.ceil((min(xa, xb) - near - x0) / step)))
        i1 = min(nx - 1, int(np.floor((max(xa, xb) + near - x0) / step)))
        for i in range(i0, i1 + 1):
            value = _time_via(seg, s, x0 + i * step, py, pace)
            if value < field[j, i]:
                field[j, i] = value
                src[j, i] = s


@njit(cache=True, nogil=True, inline="always")
def _pull(field, src, seg, j, i, nj, ni, cx, cy, pace, cap):  # pragma: no cover - compiled
    """Offer grid point ``(j, i)`` the segment of its neighbour ``(nj, ni)``.

    Skipped when the neighbour holds the same segment, or is beyond ``cap`` (its segment cannot
    bring a grid point one step away within the largest threshold).
    """
    s = src[nj, ni]
    if s < 0 or s == src[j, i] or field[nj, ni] > cap:
        return
    value = _time_via(seg, s, cx, cy, pace)
    if value < field[j, i]:
        field[j, i] = value
        src[j, i] = s


@njit(cache=True, nogil=True)
def _propagate(field, src, seg, x0, y0, step, pace, cap):  # pragma: no cover - compiled
    """Two raster scans passing each grid point's best segment to its neighbours.

    Each scan takes a row from the row before it, then runs along the row both ways (the
    four-neighbour vector propagation of Danielsson's distance transform).
    """
    ny, nx = field.shape
    for j in range(1, ny):
        cy = y0 + j * step
        for i in range(nx):
            _pull(field, src, seg, j, i, j - 1, i, x0 + i * step, cy, pace, cap)
        for i in range(1, nx):
            _pull(field, src, seg, j, i, j, i - 1, x0 + i * step, cy, pace, cap)
        for i in range(nx - 2, -1, -1):
            _pull(field, src, seg, j, i, j, i + 1, x0 + i * step, cy, pace, cap)
    for j in range(ny - 2, -1, -1):
        cy = y0 + j * step
        for i in range(nx):
            _pull(field, src, seg, j, i, j + 1, i, x0 + i * step, cy, pace, cap)
        for i in range(1, nx):
            _pull(field, src, seg, j, i, j, i - 1, x0 + i * step, cy, pace, cap)
        for i in range(nx - 2, -1, -1):
            _pull(field, src, seg, j, i, j, i + 1, x0 + i * step, cy, pace, cap)


@njit(cache=True, nogil=True)
def reach_field(segments, limit, pace, step, buffer):  # pragma: no cover - compiled
    """The reach time ``τ`` on a grid around the segments reached within ``limit``.

    Parameters
    ----------
    segments : numpy.ndarray
        ``(n, 6)`` from :func:`reached_segments` (the origin point included, as a segment of
        length 0).
    limit : float
        The largest threshold, seconds: the grid covers every point reached within it, with
        two steps of margin (its border lies above ``limit``).
    pace : float
        Off-road seconds per metre of straight line.
    step : float
        Grid step, metres.
    buffer : numpy.ndarray
        Flat ``float64`` scratch reused from one origin to the next (grown when too small).

    Returns
    -------
    field : (ny, nx) float64
        ``τ`` at grid point ``(x0 + i·step, y0 + j·step)`` (``inf`` where nothing is reached).
    x0, y0 : float
        Coordinates of grid point ``(0, 0)``.
    buffer : numpy.ndarray
        The scratch (a new, larger one when it had to grow).
    """
    n = segments.shape[0]
    seg = _prepared(segments, pace)
    lox = loy = np.inf
    hix = hiy = -np.inf
    for s in range(n):
        ax, ay, length = seg[s, 0], seg[s, 1], seg[s, 4]
        bx, by = ax + length * seg[s, 2], ay + length * seg[s, 3]
        ra = max(0.0, (limit - seg[s, 5]) / pace)
        rb = max(0.0, (limit - seg[s, 5] - seg[s, 6] * length) / pace)
        lox = min(lox, ax - ra, bx - rb)
        loy = min(loy, ay - ra, by - rb)
        hix = max(hix, ax + ra, bx + rb)
        hiy = max(hiy, ay + ra, by + rb)
    margin = 2.0 * step
    x0 = np.floor((lox - margin) / step) * step
    y0 = np.floor((loy - margin) / step) * step
    nx = int(np.ceil((hix + margin - x0) / step)) + 1
    ny = int(np.ceil((hiy + margin - y0) / step)) + 1
    size = 2 * ny * nx
    if buffer.size < size:
        buffer = np.empty(size)
    field = buffer[: ny * nx].reshape((ny, nx))
    src = buffer[ny * nx : size].view(np.int64).reshape((ny, nx))
    field[:] = np.inf
    src[:] = -1
    near = NEAR_STEPS * step
    for s in range(n):
        _seed_segment(field, src, x0, y0, step, seg, s, pace, near)
    # a segment beyond limit + 2 diagonal steps of off-road time brings no neighbour within it
    _propagate(field, src, seg, x0, y0, step, pace, limit + 2.0 * np.sqrt(2.0) * step * pace)
    return field, x0, y0, buffer


def area_segments(
    rg: RoutingGraph, edges: EdgeLines, reach: OriginReach, origin_xy: tuple[float, float] | None
) -> np.ndarray:
    """The reached segments of one origin (see :func:`reached_segments`), its point first.

    ``origin_xy`` is the origin's own location (a town hall), reached at time 0; None when only
    its node is known (the node is then reached at the origin's offset).
    """
    segments = reached_segments(
        rg.indptr,
        rg.indices,
        rg.weights,
        edges.joinable,
        edges.ptr,
        edges.coords,
        edges.along,
        reach.nodes,
        reach.times,
        edges.node_ok,
        rg.x,
        rg.y,
        float(reach.limits[-1]),
    )
    if origin_xy is None or not np.isfinite(origin_xy).all():
        ox, oy, t0 = rg.x[reach.origin], rg.y[reach.origin], reach.offset
    else:
        ox, oy, t0 = origin_xy[0], origin_xy[1], 0.0
    origin = np.array([[ox, oy, ox, oy, t0, 0.0]])
    return np.concatenate([origin, segments])


def area_polygons(
    segments: np.ndarray,
    limits: np.ndarray,
    pace: float,
    resolution_m: float,
    scratch: GridScratch,
) -> list[shapely.Geometry]:
    """Nested polygons of the area within reach of one origin, by the grid method.

    Parameters
    ----------
    segments : numpy.ndarray
        From :func:`area_segments`.
    limits : numpy.ndarray
        Increasing thresholds, seconds.
    pace : float
        Off-road seconds per metre of straight line.
    resolution_m : float
        Grid step, metres.
    scratch : GridScratch
        Per-thread scratch arrays (``reach``, ``links``), reused from one call to the next.

    Returns
    -------
    list of shapely.Geometry
        One polygon per threshold (empty when nothing is reached within it).
    """
    field, x0, y0, scratch.reach = reach_field(
        segments, float(limits[-1]), float(pace), float(resolution_m), scratch.reach
    )
    out: list[shapely.Geometry] = []
    for limit in limits:
        polygon, scratch.links = contour_band(
            field, x0, y0, resolution_m, float(limit), scratch.links
        )
        out.append(polygon)
    return out


# --------------------------------------------------------------------------------------------
# Exact method
# --------------------------------------------------------------------------------------------


def _capsules(segments: np.ndarray, limit: float, pace: float) -> np.ndarray:
    """Convex hulls of the end discs of each segment (its area within reach by ``limit``).

    A segment reached in part by ``limit`` is cut where its time reaches ``limit``.
    """
    ax, ay, bx, by, ta, rate = segments.T
    keep = ta < limit
    ax, ay, bx, by, ta, rate = ax[keep], ay[keep], bx[keep], by[keep], ta[keep], rate[keep]
    if ax.size == 0:
        return np.empty(0, dtype=object)
    length = np.hypot(bx - ax, by - ay)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(rate * length > limit - ta, (limit - ta) / (rate * length), 1.0)
    bx, by = ax + f * (bx - ax), ay + f * (by - ay)
    ra = (limit - ta) / pace
    rb = np.maximum((limit - ta - rate * f * length) / pace, 0.0)
    angles = np.linspace(0.0, 2.0 * np.pi, CIRCLE_VERTICES, endpoint=False)
    cos, sin = np.cos(angles), np.sin(angles)
    ends = [
        np.stack([x[:, None] + r[:, None] * cos, y[:, None] + r[:, None] * sin], axis=-1)
        for x, y, r in ((ax, ay, ra), (bx, by, rb))
    ]
    pts = np.concatenate(ends, axis=1).reshape(-1, 2)
    index = np.repeat(np.arange(ax.size), 2 * CIRCLE_VERTICES)
    return shapely.convex_hull(shapely.multipoints(pts, indices=index))


def exact_area_polygons(
    segments: np.ndarray, limits: np.ndarray, pace: float
) -> list[shapely.Geometry]:
    """Nested polygons of the area within reach of one origin, by the exact vector method.

    Each threshold's polygon is the union of the hulls of :func:`_capsules`, joined to the
    previous polygon grown by the nesting margin. Discs are polygons of
    :data:`CIRCLE_VERTICES` vertices.
    """
    out: list[shapely.Geometry] = []
    previous: shapely.Geometry = shapely.Polygon()
    for limit in limits:
        hulls = _capsules(segments, float(limit), float(pace))
        poly = shapely.union_all(hulls) if hulls.size else shapely.Polygon()
        if not shapely.is_empty(previous):
            poly = shapely.union(poly, grown(previous, NEST_MARGIN_M))
        poly = shapely.make_valid(poly)
        out.append(poly)
        previous = poly
    return out
