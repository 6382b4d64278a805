"""The area within reach on a network without local streets (the ``"area"`` shape).

A person reaches, within ``T`` seconds, the roads reached within ``T`` and, **off the road**,
the land around reached points at the access-leg pace for the time left: the same rule as
the access leg of every trip (:class:`~geoattract.network.snapping.SnapRule`: straight-line
distance × detour at the access speed, ``pace = detour / speed`` seconds per metre). The
area within reach is the set of points ``x`` where the *reach time*

``τ(x) = min over reached road points p with |x − p| ≤ D(x) of  t(p) + pace · |x − p|``

is at most ``T``. ``D(x)`` is the distance from ``x`` to its nearest joinable node, the node
its own trips join (:class:`NodeDistance`): a point joins the roads no farther than that node,
so an off-road leg never crosses a river or a hill between two roads that a trip could not
cross, and a town hall inside the area is reached no later than the OD matrix's time to it
(its nearest node is one of the points). The origin point counts as a road point reached at
its own time (0 for a town hall), with ``D`` at least its own access leg around it. ``t(p)``
grows linearly along each edge (constant speed, the edge's weight spread over its geometry).
Only edges a point may join carry off-road legs: both end nodes ``snappable``
(:func:`~geoattract.network.snapping.snappable_nodes`); nobody leaves a motorway between two
exits. With no local street in the network, this is what makes the town centre around a
town hall, and the land between roads, part of the area reached.

One field ``τ`` per origin serves every threshold: the polygons are its level sets, nested by
construction (``10 min ⊂ 20 min ⊂ 30 min``) and the origin always lies inside its smallest
isochrone.

The field is computed on a square grid, then contoured (compiled marching squares of
:mod:`geoattract.routing.contour`). For a segment whose time grows at ``r`` seconds per metre
(``r < pace``) the best point for ``x`` lies back along the segment from the orthogonal
projection by ``h · r / √(pace² − r²)`` (``h`` the distance to the segment's line), moved into
the part of the segment within ``D(x)`` and clamped to it (the sum is convex along the
segment). Two methods:

* **grid** (:func:`area_polygons`): the grid points within :data:`NEAR_STEPS` steps of a
  reached segment get its exact value. The other grid points take the best of the *segments*
  of their neighbours, in two raster scans (the vector propagation of Danielsson's Euclidean
  distance transform, with segments for points): each value is the exact reach time through
  a real road segment, so ``τ`` is never underestimated, and it is exact wherever a grid
  point's best segment is the best one of a neighbour.
* **exact** (``exact=True``): every segment is offered to every grid point it may reach
  (brute force, no raster scans): the exact ``τ`` at every grid point, contoured the same way.
  The reference the grid method's scans are measured against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numba import njit

from geoattract.routing.contour import contour_band
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
def _cap_at(dmap, j, i, s, origin_cap):  # pragma: no cover - compiled
    """Longest off-road leg to lattice point ``(j, i)`` through segment ``s``.

    The distance to the point's nearest joinable node (``inf`` off the map); through the
    origin (segment 0) at least the origin's own access leg.
    """
    cap = np.inf
    if 0 <= j < dmap.shape[0] and 0 <= i < dmap.shape[1]:
        cap = float(dmap[j, i])
    if s == 0 and origin_cap > cap:
        cap = origin_cap
    return cap


@njit(cache=True, nogil=True, inline="always")
def _time_via(seg, s, px, py, pace, cap):  # pragma: no cover - compiled
    """Reach time at ``(px, py)`` through the best point of segment ``s`` (closed form).

    Only road points within ``cap`` metres count: the time along the segment plus the off-road
    leg is convex, so the best point is the unconstrained one moved into the part of the
    segment within ``cap`` (``inf`` when no point of the segment is).
    """
    ax, ay, ux, uy = seg[s, 0], seg[s, 1], seg[s, 2], seg[s, 3]
    wx = px - ax
    wy = py - ay
    along = wx * ux + wy * uy
    cross = abs(wx * uy - wy * ux)
    back = seg[s, 7]
    at = along - cross * back if back >= 0.0 else 0.0
    if cap < np.inf:
        if cross > cap:
            return np.inf
        half = np.sqrt(cap * cap - cross * cross)
        at = min(max(at, along - half), along + half)
    at = min(max(at, 0.0), seg[s, 4])
    ex = wx - at * ux
    ey = wy - at * uy
    d = np.sqrt(ex * ex + ey * ey)
    if d > cap * (1.0 + 1e-6) + 1e-3:  # D is stored in float32: a node's own point is in
        return np.inf
    return seg[s, 5] + seg[s, 6] * at + pace * d


@njit(cache=True, nogil=True)
def _seed_segment(
    field, src, x0, y0, step, seg, s, pace, near, dmap, oj, oi, origin_cap
):  # pragma: no cover - compiled
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
            cap = _cap_at(dmap, j + oj, i + oi, s, origin_cap)
            value = _time_via(seg, s, x0 + i * step, py, pace, cap)
            if value < field[j, i]:
                field[j, i] = value
                src[j, i] = s


@njit(cache=True, nogil=True, inline="always")
def _pull(
    field, src, seg, j, i, nj, ni, cx, cy, pace, bound, dmap, oj, oi, origin_cap
):  # pragma: no cover - compiled
    """Offer grid point ``(j, i)`` the segment of its neighbour ``(nj, ni)``.

    Skipped when the neighbour holds the same segment, or is beyond ``bound`` (its segment
    cannot bring a grid point one step away within the largest threshold).
    """
    s = src[nj, ni]
    if s < 0 or s == src[j, i] or field[nj, ni] > bound:
        return
    value = _time_via(seg, s, cx, cy, pace, _cap_at(dmap, j + oj, i + oi, s, origin_cap))
    if value < field[j, i]:
        field[j, i] = value
        src[j, i] = s


@njit(cache=True, nogil=True)
def _propagate(
    field, src, seg, x0, y0, step, pace, bound, dmap, oj, oi, origin_cap
):  # pragma: no cover - compiled
    """Two raster scans passing each grid point's best segment to its neighbours.

    Each scan takes a row from the row before it, then runs along the row both ways (the
    four-neighbour vector propagation of Danielsson's distance transform).
    """
    ny, nx = field.shape
    for j in range(1, ny):
        cy = y0 + j * step
        for i in range(nx):
            _pull(field, src, seg, j, i, j - 1, i, x0 + i * step, cy, pace, bound, dmap, oj, oi,
                  origin_cap)  # fmt: skip
        for i in range(1, nx):
            _pull(field, src, seg, j, i, j, i - 1, x0 + i * step, cy, pace, bound, dmap, oj, oi,
                  origin_cap)  # fmt: skip
        for i in range(nx - 2, -1, -1):
            _pull(field, src, seg, j, i, j, i + 1, x0 + i * step, cy, pace, bound, dmap, oj, oi,
                  origin_cap)  # fmt: skip
    for j in range(ny - 2, -1, -1):
        cy = y0 + j * step
        for i in range(nx):
            _pull(field, src, seg, j, i, j + 1, i, x0 + i * step, cy, pace, bound, dmap, oj, oi,
                  origin_cap)  # fmt: skip
        for i in range(1, nx):
            _pull(field, src, seg, j, i, j, i - 1, x0 + i * step, cy, pace, bound, dmap, oj, oi,
                  origin_cap)  # fmt: skip
        for i in range(nx - 2, -1, -1):
            _pull(field, src, seg, j, i, j, i + 1, x0 + i * step, cy, pace, bound, dmap, oj, oi,
                  origin_cap)  # fmt: skip


@njit(cache=True, nogil=True)
def reach_window(segments, limit, pace, step):  # pragma: no cover - compiled
    """The grid of :func:`reach_field`: ``x0, y0`` (multiples of ``step``), ``nx, ny``.

    It covers every point reached within ``limit`` with two steps of margin.
    """
    lox = loy = np.inf
    hix = hiy = -np.inf
    for s in range(segments.shape[0]):
        ax, ay, bx, by, ta, rate = segments[s]
        length = np.sqrt((bx - ax) ** 2 + (by - ay) ** 2)
        ra = max(0.0, (limit - ta) / pace)
        rb = max(0.0, (limit - ta - rate * length) / pace)
        lox = min(lox, ax - ra, bx - rb)
        loy = min(loy, ay - ra, by - rb)
        hix = max(hix, ax + ra, bx + rb)
        hiy = max(hiy, ay + ra, by + rb)
    margin = 2.0 * step
    x0 = np.floor((lox - margin) / step) * step
    y0 = np.floor((loy - margin) / step) * step
    nx = int(np.ceil((hix + margin - x0) / step)) + 1
    ny = int(np.ceil((hiy + margin - y0) / step)) + 1
    return x0, y0, nx, ny


@njit(cache=True, nogil=True)
def _brute_force(
    field, seg, x0, y0, step, pace, limit, dmap, oj, oi, origin_cap
):  # pragma: no cover - compiled
    """Every segment offered to every grid point it may reach (the exact method's field)."""
    ny, nx = field.shape
    dmax = 0.0
    for j in range(ny):
        for i in range(nx):
            c = _cap_at(dmap, j + oj, i + oi, 1, 0.0)
            if c > dmax:
                dmax = c
    for s in range(seg.shape[0]):
        ax, ay, length = seg[s, 0], seg[s, 1], seg[s, 4]
        bx, by = ax + length * seg[s, 2], ay + length * seg[s, 3]
        r = min(max(0.0, (limit - seg[s, 5]) / pace), max(dmax, origin_cap if s == 0 else 0.0))
        j0 = max(0, int(np.ceil((min(ay, by) - r - y0) / step)))
        j1 = min(ny - 1, int(np.floor((max(ay, by) + r - y0) / step)))
        i0 = max(0, int(np.ceil((min(ax, bx) - r - x0) / step)))
        i1 = min(nx - 1, int(np.floor((max(ax, bx) + r - x0) / step)))
        for j in range(j0, j1 + 1):
            py = y0 + j * step
            for i in range(i0, i1 + 1):
                cap = _cap_at(dmap, j + oj, i + oi, s, origin_cap)
                value = _time_via(seg, s, x0 + i * step, py, pace, cap)
                if value < field[j, i]:
                    field[j, i] = value


@njit(cache=True, nogil=True)
def reach_field(
    segments, limit, pace, step, buffer, dmap, nearest, node_time, gx0, gy0, origin_cap, exact
):  # pragma: no cover - compiled
    """The reach time ``τ`` on a grid around the segments reached within ``limit``.

    Parameters
    ----------
    segments : numpy.ndarray
        ``(n, 6)`` from :func:`reached_segments` (the origin point first, as a segment of
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
    dmap : numpy.ndarray
        ``float32`` lattice of the distance from each point to its nearest joinable node (the
        longest off-road leg there), point ``(j, i)`` at ``(gx0 + i·step, gy0 + j·step)``;
        ``inf`` beyond it (a ``(1, 1)`` array of ``inf``: no limit).
    nearest : numpy.ndarray
        ``int32`` lattice of the same shape: position of that nearest node (-1: none).
    node_time : numpy.ndarray
        Reach time of every node of the graph (``inf`` when not reached): a grid point is
        reached through its own nearest node at most at ``t(n) + pace · D`` (the scans, which
        pass segments between neighbours, may miss it where the neighbours' segments lie
        beyond the point's ``D``).
    gx0, gy0 : float
        Coordinates of the lattice's point ``(0, 0)``, multiples of ``step``.
    origin_cap : float
        Longest off-road leg from the origin point (its own access leg).
    exact : bool
        Offer every segment to every grid point it may reach (the exact method) instead of the
        seeds and raster scans.

    Returns
    -------
    field : (ny, nx) float64
        ``τ`` at grid point ``(x0 + i·step, y0 + j·step)`` (``inf`` where nothing is reached).
    x0, y0 : float
        Coordinates of grid point ``(0, 0)``.
    buffer : numpy.ndarray
        The scratch (a new, larger one when it had to grow).
    """
    seg = _prepared(segments, pace)
    x0, y0, nx, ny = reach_window(segments, limit, pace, step)
    oi = int(np.rint((x0 - gx0) / step))
    oj = int(np.rint((y0 - gy0) / step))
    size = 2 * ny * nx
    if buffer.size < size:
        buffer = np.empty(size)
    field = buffer[: ny * nx].reshape((ny, nx))
    src = buffer[ny * nx : size].view(np.int64).reshape((ny, nx))
    field[:] = np.inf
    src[:] = -1
    if exact:
        _brute_force(field, seg, x0, y0, step, pace, limit, dmap, oj, oi, origin_cap)
        return field, x0, y0, buffer
    near = NEAR_STEPS * step
    for s in range(seg.shape[0]):
        _seed_segment(field, src, x0, y0, step, seg, s, pace, near, dmap, oj, oi, origin_cap)
    for j in range(max(0, -oj), min(ny, dmap.shape[0] - oj)):
        for i in range(max(0, -oi), min(nx, dmap.shape[1] - oi)):
            n = nearest[j + oj, i + oi]
            if n >= 0:
                value = node_time[n] + pace * float(dmap[j + oj, i + oi])
                if value < field[j, i]:
                    field[j, i] = value
                    src[j, i] = -1  # a node's own land: nothing to pass on
    # a segment beyond limit + 2 diagonal steps of off-road time brings no neighbour within it
    bound = limit + 2.0 * np.sqrt(2.0) * step * pace
    _propagate(field, src, seg, x0, y0, step, pace, bound, dmap, oj, oi, origin_cap)
    return field, x0, y0, buffer


@njit(cache=True, nogil=True)
def _fill_unreached(field, limit):  # pragma: no cover - compiled
    """Finite values at the grid points nothing reaches, for the contour's interpolation.

    Such a point (its own node not reached, every reached road beyond its ``D``: across a
    river, by a dead end) may lie next to a reached one ``a``: it takes ``2·limit − τ(a)``
    (the smallest ``τ`` of its four neighbours), which puts the edge of the largest isochrone
    half way between them; one second above ``limit`` when no neighbour is reached.
    """
    ny, nx = field.shape
    for j in range(ny):
        for i in range(nx):
            if np.isfinite(field[j, i]):
                continue
            m = np.inf
            if j > 0:
                m = min(m, field[j - 1, i])
            if j < ny - 1:
                m = min(m, field[j + 1, i])
            if i > 0:
                m = min(m, field[j, i - 1])
            if i < nx - 1:
                m = min(m, field[j, i + 1])
            field[j, i] = max(2.0 * limit - m, limit + 1.0) if m <= limit else limit + 1.0


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


@dataclass(frozen=True)
class NodeDistance:
    """Distance from each point of a lattice to its nearest joinable node.

    It is the longest off-road leg there: a point joins the roads no farther than the node its
    own trips join.

    Attributes
    ----------
    values : numpy.ndarray
        ``(ny, nx)`` ``float32`` metres; point ``(j, i)`` at ``(x0 + i·step, y0 + j·step)``.
    nearest : numpy.ndarray
        ``(ny, nx)`` ``int32``: position of that node in the routing graph (-1: none).
    x0, y0 : float
        Coordinates of point ``(0, 0)``, multiples of ``step``.
    step : float
        Lattice step, metres (the grid step of the area within reach).
    """

    values: np.ndarray
    nearest: np.ndarray
    x0: float
    y0: float
    step: float

    @classmethod
    def unlimited(cls, step: float) -> NodeDistance:
        """No limit on the off-road legs (``inf`` everywhere)."""
        return cls(
            np.full((1, 1), np.inf, dtype=np.float32),
            np.full((1, 1), -1, dtype=np.int32),
            0.0,
            0.0,
            float(step),
        )

    @classmethod
    def of_nodes(
        cls,
        xy: np.ndarray,
        positions: np.ndarray,
        bounds: tuple[float, float, float, float],
        step: float,
    ) -> NodeDistance:
        """The lattice over ``bounds`` (``minx, miny, maxx, maxy``) for the nodes ``xy``.

        ``positions`` are the nodes' positions in the routing graph (``nearest``). Queried by
        blocks of rows (a k-d tree of the nodes), so memory stays a few rows of coordinates
        beside the ``float32`` and ``int32`` results.
        """
        from scipy.spatial import cKDTree

        minx, miny, maxx, maxy = bounds
        x0 = float(np.floor(minx / step) * step)
        y0 = float(np.floor(miny / step) * step)
        nx = int(np.ceil((maxx - x0) / step)) + 1
        ny = int(np.ceil((maxy - y0) / step)) + 1
        values = np.full((ny, nx), np.inf, dtype=np.float32)
        nearest = np.full((ny, nx), -1, dtype=np.int32)
        if len(xy):
            tree = cKDTree(np.asarray(xy, dtype=np.float64))
            pos = np.asarray(positions, dtype=np.int32)
            xs = x0 + step * np.arange(nx)
            rows = max(1, 2_000_000 // max(nx, 1))
            for j0 in range(0, ny, rows):
                ys = y0 + step * np.arange(j0, min(ny, j0 + rows))
                gx, gy = np.meshgrid(xs, ys)
                dist, idx = tree.query(np.column_stack([gx.ravel(), gy.ravel()]), workers=-1)
                values[j0 : j0 + ys.size] = dist.reshape(ys.size, nx)
                nearest[j0 : j0 + ys.size] = pos[idx].reshape(ys.size, nx)
        return cls(values, nearest, x0, y0, float(step))


def area_polygons(
    segments: np.ndarray,
    limits: np.ndarray,
    pace: float,
    resolution_m: float,
    scratch: GridScratch,
    nodes: NodeDistance,
    node_time: np.ndarray,
    origin_cap: float = 0.0,
    exact: bool = False,
) -> list[shapely.Geometry]:
    """Nested polygons of the area within reach of one origin.

    Parameters
    ----------
    segments : numpy.ndarray
        From :func:`area_segments`.
    limits : numpy.ndarray
        Increasing thresholds, seconds.
    pace : float
        Off-road seconds per metre of straight line.
    resolution_m : float
        Grid step, metres (the step of ``nodes``).
    scratch : GridScratch
        Per-thread scratch arrays (``reach``, ``links``), reused from one call to the next.
    nodes : NodeDistance
        The longest off-road leg at each grid point, and its nearest node.
    node_time : numpy.ndarray
        Reach time of every node of the graph for this origin (``inf`` when not reached).
    origin_cap : float
        The longest off-road leg from the origin point (its access leg, metres).
    exact : bool
        The exact method: every segment offered to every grid point (no raster scans).

    Returns
    -------
    list of shapely.Geometry
        One polygon per threshold (empty when nothing is reached within it).
    """
    field, x0, y0, scratch.reach = reach_field(
        segments,
        float(limits[-1]),
        float(pace),
        float(resolution_m),
        scratch.reach,
        nodes.values,
        nodes.nearest,
        node_time,
        nodes.x0,
        nodes.y0,
        float(origin_cap),
        bool(exact),
    )
    _fill_unreached(field, float(limits[-1]))
    out: list[shapely.Geometry] = []
    for limit in limits:
        polygon, scratch.links = contour_band(
            field, x0, y0, resolution_m, float(limit), scratch.links
        )
        out.append(polygon)
    return out
