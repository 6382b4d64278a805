"""Polygons of ``{field <= level}`` on a grid: compiled marching squares and ring assembly.

:func:`trace_rings` walks the boundary of the region where a grid field is at most a level,
with the region on its left: shells run anticlockwise, holes clockwise. Boundary points lie on
the grid edges, placed by linear interpolation of the field, each computed once per grid edge
(two rings never share a point). A saddle cell (two opposite corners inside) joins its inside
corners when the mean of its four corners is inside, a rule monotone in the field: a field
lowered everywhere gives a region that contains the first one.

The rings are simplified (Douglas-Peucker at :data:`SIMPLIFY_TOLERANCE_M`: the collinear points
along straight bands go), each hole given to the smallest shell containing it, and the result
built in one :func:`shapely.from_ragged_array` call (:func:`contour_band`).
"""

from __future__ import annotations

import numpy as np
import shapely
from numba import njit

#: Douglas-Peucker tolerance (metres) applied to the rings: removes the collinear points
#: marching squares leaves along straight bands, and nothing visible. Kept well below the
#: nesting margin of :mod:`geoattract.routing.isogrid` so that simplifying never undoes it.
SIMPLIFY_TOLERANCE_M = 1e-4

#: Nesting margin (metres) of the isochrones of successive thresholds: the grid method caps
#: field ``k`` by field ``k - 1`` minus it, and both methods join a polygon to the previous
#: one grown by it (:func:`grown`). Far above rounding errors (1e-10 m), far below any
#: visible or measurable area (a 1,000 km outline gains 1,000 m²).
NEST_MARGIN_M = 1e-3


@njit(cache=True, nogil=True, inline="always")
def _cell_segments(field, level, nxt, i, j, nh, case, starts, n):  # pragma: no cover - compiled
    """Record the boundary pieces of cell ``(i, j)``: ``nxt[from edge] = to edge``.

    The edges pieces start from are appended to ``starts`` (``n`` used so far; returns the
    new count). A piece runs from the edge crossed
    inside -> outside to the edge crossed outside -> inside, going anticlockwise round the
    cell, so that the region stays on the left.
    """
    nx = field.shape[1]
    bottom = j * (nx - 1) + i
    top = bottom + nx - 1
    left = nh + j * nx + i
    right = left + 1
    if case == 5 or case == 10:  # saddle: opposite corners inside
        mean = (
            float(field[j, i])
            + float(field[j, i + 1])
            + float(field[j + 1, i + 1])
            + float(field[j + 1, i])
        ) / 4.0
        joined = mean <= level
        if case == 5:  # bottom-left and top-right inside
            nxt[bottom] = right if joined else left
            nxt[top] = left if joined else right
            starts[n] = bottom
            starts[n + 1] = top
        else:
            nxt[left] = bottom if joined else top
            nxt[right] = top if joined else bottom
            starts[n] = left
            starts[n + 1] = right
        return n + 2
    b0, b1, b2, b3 = case & 1, case & 2, case & 4, case & 8
    if b0 and not b1:
        frm = bottom
    elif b1 and not b2:
        frm = right
    elif b2 and not b3:
        frm = top
    else:
        frm = left
    if b1 and not b0:
        to = bottom
    elif b2 and not b1:
        to = right
    elif b3 and not b2:
        to = top
    else:
        to = left
    nxt[frm] = to
    starts[n] = frm
    return n + 1


@njit(cache=True, nogil=True)
def _edge_point(field, level, e, nh):  # pragma: no cover - compiled
    """Grid coordinates (column, row) of the boundary point on grid edge ``e``."""
    nx = field.shape[1]
    if e < nh:
        j = e // (nx - 1)
        i = e - j * (nx - 1)
        a, b = float(field[j, i]), float(field[j, i + 1])
        return i + (level - a) / (b - a), float(j)
    e -= nh
    j = e // nx
    i = e - j * nx
    a, b = float(field[j, i]), float(field[j + 1, i])
    return float(i), j + (level - a) / (b - a)


@njit(cache=True, nogil=True)
def _row_segments(
    field, level, nxt, j, nh, below, above, mixed, starts, n
):  # pragma: no cover - compiled
    """Record the boundary pieces of the mixed cells of row ``j`` (see :func:`_cell_segments`)."""
    for i in range(mixed.size - 1):
        if mixed[i] == 0:
            continue
        case = below[i] | below[i + 1] << 1 | above[i + 1] << 2 | above[i] << 3
        n = _cell_segments(field, level, nxt, i, j, nh, int(case), starts, n)
    return n


@njit(cache=True, nogil=True)
def _trace(field, level, links):  # pragma: no cover - compiled
    """Rings of ``field <= level`` (see :func:`trace_rings`), in one scan of the grid.

    A cell whose four corners are all inside or all outside is skipped; the others record
    their boundary pieces. The scan keeps the inside flags of the current row pair only.
    """
    ny, nx = field.shape
    nh = ny * (nx - 1)
    # only the entries of edges that start a piece are written, and only those are read
    nxt = links[: nh + (ny - 1) * nx]
    starts = np.empty(max(16, 4 * (nx + ny)), dtype=np.int64)
    n_starts = 0
    flags = np.empty((2, nx), dtype=np.uint8)  # inside flags of rows j (below) and j + 1
    mixed = np.empty(nx, dtype=np.uint8)
    for i in range(nx):
        flags[1, i] = field[0, i] <= level
    for j in range(ny - 1):
        below = flags[(j + 1) & 1]
        above = flags[j & 1]
        for i in range(nx):
            above[i] = field[j + 1, i] <= level
        n_mixed = 0
        for i in range(nx - 1):  # branch-free: the compiler vectorises it
            m = (below[i] ^ below[i + 1]) | (below[i] ^ above[i]) | (below[i] ^ above[i + 1])
            mixed[i] = m
            n_mixed += m
        if n_mixed == 0:
            continue
        # grown here, once per row: a reallocation inside the cell loop slows it down 4x
        if n_starts + 2 * n_mixed > starts.size:
            grow = max(starts.size, 2 * n_mixed)
            starts = np.concatenate((starts, np.empty(grow, dtype=np.int64)))
        n_starts = _row_segments(field, level, nxt, j, nh, below, above, mixed, starts, n_starts)
    # each piece adds one point, each ring one closing point: at most 2 per piece
    points = np.empty((2 * n_starts, 2))
    offsets = np.empty(n_starts + 1, dtype=np.int64)
    offsets[0] = 0
    n_points = 0
    n_rings = 0
    for c in range(n_starts):
        start = starts[c]
        if nxt[start] < 0:
            continue
        e = start
        while True:
            px, py = _edge_point(field, level, e, nh)
            points[n_points, 0] = px
            points[n_points, 1] = py
            n_points += 1
            following = nxt[e]
            nxt[e] = -1
            e = following
            if e == start:
                break
        points[n_points] = points[offsets[n_rings]]
        n_points += 1
        n_rings += 1
        offsets[n_rings] = n_points
    return points[:n_points].copy(), offsets[: n_rings + 1].copy()


def trace_rings(
    field: np.ndarray, level: float, links: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Trace the closed boundary rings of ``field <= level``, the region on their left.

    Parameters
    ----------
    field : numpy.ndarray
        ``(ny, nx)`` grid values, above ``level`` on the grid's border.
    level : float
        The contour level.
    links : numpy.ndarray, optional
        ``int32`` scratch of at least ``2 · ny · nx`` entries (a fresh one when missing or
        too small).

    Returns
    -------
    points : numpy.ndarray
        ``(n, 2)`` ring points in grid units (column, row), each ring closed (last = first).
    offsets : numpy.ndarray
        Ring ``r`` is ``points[offsets[r]:offsets[r + 1]]``.
    """
    ny, nx = field.shape
    links = _links(links, 2 * ny * nx)
    # a C-contiguous field: a strided view would be one more compiled signature (see
    # geoattract.routing.kernels.kernel_array), for the same result
    return _trace(np.ascontiguousarray(field), float(level), links)


def _links(links: np.ndarray | None, size: int) -> np.ndarray:
    """``links`` when it holds ``size`` entries, else a fresh ``int32`` array of that size."""
    if links is None or links.size < size:
        return np.empty(size, dtype=np.int32)
    return links


@njit(cache=True, nogil=True)
def simplify_rings(points, ring_offsets, tolerance):  # pragma: no cover - compiled
    """Douglas-Peucker on closed rings; returns a keep mask over ``points``.

    A ring keeps its first (= last) point and the point farthest from it, then every point
    farther than ``tolerance`` from the chord of the part it splits. Rings that would keep
    fewer than 3 distinct points are kept whole.
    """
    keep = np.zeros(points.shape[0], dtype=np.bool_)
    stack = np.empty((points.shape[0] + 2, 2), dtype=np.int64)
    for r in range(ring_offsets.size - 1):
        a = ring_offsets[r]
        b = ring_offsets[r + 1] - 1  # closing point, equal to a
        if b - a < 4:
            keep[a : b + 1] = True
            continue
        far = a
        best = -1.0
        for i in range(a + 1, b):
            d = (points[i, 0] - points[a, 0]) ** 2 + (points[i, 1] - points[a, 1]) ** 2
            if d > best:
                best = d
                far = i
        keep[a] = True
        keep[far] = True
        keep[b] = True
        stack[0, 0] = a
        stack[0, 1] = far
        stack[1, 0] = far
        stack[1, 1] = b
        top = 2
        while top > 0:
            top -= 1
            i0, i1 = stack[top, 0], stack[top, 1]
            if i1 - i0 < 2:
                continue
            ax, ay = points[i0, 0], points[i0, 1]
            dx, dy = points[i1, 0] - ax, points[i1, 1] - ay
            l2 = dx * dx + dy * dy
            worst = -1.0
            at = i0
            for i in range(i0 + 1, i1):
                wx, wy = points[i, 0] - ax, points[i, 1] - ay
                t = min(max((wx * dx + wy * dy) / l2, 0.0), 1.0) if l2 > 0.0 else 0.0
                d = (wx - t * dx) ** 2 + (wy - t * dy) ** 2
                if d > worst:
                    worst = d
                    at = i
            if worst > tolerance * tolerance:
                keep[at] = True
                stack[top, 0] = i0
                stack[top, 1] = at
                stack[top + 1, 0] = at
                stack[top + 1, 1] = i1
                top += 2
        kept = 0
        for i in range(a, b):
            kept += keep[i]
        if kept < 3:
            keep[a : b + 1] = True
    return keep


@njit(cache=True, nogil=True)
def point_in_ring(points, a, b, px, py):  # pragma: no cover - compiled
    """Even-odd test of point (px, py) against the closed ring ``points[a:b]``."""
    inside = False
    for k in range(a, b - 1):
        x1, y1 = points[k, 0], points[k, 1]
        x2, y2 = points[k + 1, 0], points[k + 1, 1]
        if (y1 > py) != (y2 > py) and px < x1 + (py - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


@njit(cache=True, nogil=True)
def ring_boxes(points, ring_offsets, rings):  # pragma: no cover - compiled
    """Bounding box (xmin, ymin, xmax, ymax) of each ring of ``rings``."""
    boxes = np.empty((rings.size, 4))
    for s in range(rings.size):
        a, b = ring_offsets[rings[s]], ring_offsets[rings[s] + 1]
        boxes[s, 0] = points[a:b, 0].min()
        boxes[s, 1] = points[a:b, 1].min()
        boxes[s, 2] = points[a:b, 0].max()
        boxes[s, 3] = points[a:b, 1].max()
    return boxes


@njit(cache=True, nogil=True)
def assign_holes(points, ring_offsets, shells, holes, areas):  # pragma: no cover - compiled
    """For each hole ring, the smallest shell ring (by area) that contains it.

    Candidates are the shells whose bounding box holds the hole's first point; all but the
    largest are tested (even-odd rule), the largest is the answer when none of them holds it.
    """
    order = shells[np.argsort(areas[shells])]
    boxes = ring_boxes(points, ring_offsets, order)
    owner = np.empty(holes.size, dtype=np.int64)
    for h in range(holes.size):
        p = ring_offsets[holes[h]]
        px, py = points[p, 0], points[p, 1]
        owner[h] = -1
        last = -1
        for s in range(order.size):
            if boxes[s, 0] <= px <= boxes[s, 2] and boxes[s, 1] <= py <= boxes[s, 3]:
                last = s
        for s in range(last):
            if boxes[s, 0] <= px <= boxes[s, 2] and boxes[s, 1] <= py <= boxes[s, 3]:
                r = order[s]
                if point_in_ring(points, ring_offsets[r], ring_offsets[r + 1], px, py):
                    owner[h] = r
                    break
        if owner[h] < 0 and last >= 0:
            owner[h] = order[last]
    return owner


@njit(cache=True, nogil=True)
def _ring_areas(points, ring_offsets):  # pragma: no cover - compiled
    """Signed area of each closed ring (shoelace; > 0 anticlockwise)."""
    areas = np.zeros(ring_offsets.size - 1)
    for r in range(areas.size):
        total = 0.0
        for k in range(ring_offsets[r], ring_offsets[r + 1] - 1):
            total += points[k, 0] * points[k + 1, 1] - points[k + 1, 0] * points[k, 1]
        areas[r] = total / 2.0
    return areas


@njit(cache=True, nogil=True)
def _polygon_parts(points, ring_offsets, areas, tolerance):  # pragma: no cover
    """Select, simplify and order the rings of :func:`contour_band` (compiled).

    ``areas`` are the signed ring areas.
    Returns the ragged arrays of a MultiPolygon: ``coords``, ring offsets into them, and
    polygon offsets into the rings (each shell followed by its holes).
    """
    n_rings = ring_offsets.size - 1
    shells = np.flatnonzero(areas > 0)
    holes = np.flatnonzero(areas < 0)
    owner = np.arange(n_rings)
    if shells.size > 1 and holes.size:
        owner[holes] = assign_holes(points, ring_offsets, shells, holes, np.abs(areas))
    elif holes.size:
        owner[holes] = shells[0]
    keep = np.zeros(n_rings, dtype=np.bool_)
    keep[shells] = True
    keep[holes] = True
    kept = np.flatnonzero(keep)
    # each shell, then its holes, in ring order (a stable sort on owner, then hole or not)
    key = owner[kept] * 2 + (owner[kept] != kept)
    kept = kept[np.argsort(key, kind="mergesort")]
    sizes = np.empty(kept.size, dtype=np.int64)
    for r in range(kept.size):
        sizes[r] = ring_offsets[kept[r] + 1] - ring_offsets[kept[r]]
    offsets = np.zeros(kept.size + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(sizes)
    ordered = np.empty((offsets[-1], 2))
    for r in range(kept.size):
        ordered[offsets[r] : offsets[r + 1]] = points[
            ring_offsets[kept[r]] : ring_offsets[kept[r] + 1]
        ]
    if tolerance > 0:
        mask = simplify_rings(ordered, offsets, tolerance)
        coords = np.empty((int(mask.sum()), 2))
        n = 0
        begin = 0
        for r in range(kept.size):
            end = offsets[r + 1]
            for k in range(begin, end):
                if mask[k]:
                    coords[n] = ordered[k]
                    n += 1
            offsets[r + 1] = n
            begin = end
    else:
        coords = ordered
    polygons = np.empty(shells.size + 1, dtype=np.int64)
    n = 0
    for r in range(kept.size):
        if owner[kept[r]] == kept[r]:
            polygons[n] = r
            n += 1
    polygons[n] = kept.size
    return coords, offsets, polygons


def _from_parts(coords: np.ndarray, rings: np.ndarray, polygons: np.ndarray) -> shapely.Geometry:
    """One Polygon, or a MultiPolygon, from ragged arrays (rings per polygon, shell first)."""
    n_polygons = polygons.size - 1
    (geom,) = shapely.from_ragged_array(
        shapely.GeometryType.MULTIPOLYGON,
        coords,
        (rings, polygons, np.array([0, n_polygons], dtype=np.int64)),
    )
    return geom.geoms[0] if n_polygons == 1 else geom


def grown(polygon: shapely.Geometry, margin: float) -> shapely.Geometry:
    """``polygon`` grown by ``margin`` metres (mitred corners: no new vertices).

    Both isochrone methods join each threshold's polygon to the previous one grown by
    :data:`NEST_MARGIN_M`: a union moves shared vertices by rounding (1e-10 m), the margin
    keeps ``10 min ⊂ 20 min ⊂ 30 min`` true under :func:`shapely.covers`.
    """
    return shapely.buffer(polygon, margin, join_style="mitre")


def contour_band(
    field: np.ndarray,
    x0: float,
    y0: float,
    step: float,
    level: float,
    links: np.ndarray | None = None,
) -> tuple[shapely.Geometry, np.ndarray]:
    """Draw the polygon of ``field <= level``, simplified.

    Parameters
    ----------
    field : numpy.ndarray
        ``(ny, nx)`` values at grid points ``(x0 + i·step, y0 + j·step)``, above ``level`` on
        the grid's border.
    x0, y0, step : float
        Grid origin and step.
    level : float
        The contour level.
    links : numpy.ndarray, optional
        ``int32`` scratch reused from one call to the next (see :func:`trace_rings`).

    Returns
    -------
    polygon : shapely.Geometry
        Polygon or MultiPolygon (empty Polygon when nothing is below ``level``).
    links : numpy.ndarray
        The scratch, to pass to the next call (grown when it was too small).
    """
    ny, nx = field.shape
    links = _links(links, 2 * ny * nx)
    points, rings = trace_rings(field, level, links)
    if rings.size < 2:
        return shapely.Polygon(), links
    areas = _to_metres(points, rings, float(x0), float(y0), float(step))
    coords, rings, polygons = _polygon_parts(points, rings, areas, SIMPLIFY_TOLERANCE_M)
    return _from_parts(coords, rings, polygons), links


@njit(cache=True, nogil=True)
def _to_metres(points, rings, x0, y0, step):  # pragma: no cover - compiled
    """Rings in grid units to metres (in place); returns their signed areas."""
    for k in range(points.shape[0]):
        points[k, 0] = points[k, 0] * step + x0
        points[k, 1] = points[k, 1] * step + y0
    return _ring_areas(points, rings)
