"""Planar faces of a set of polylines, traced in compiled code (the engine of road faces).

GEOS can node and polygonize a road network (``union_all`` then ``polygonize``), but at
about 20 to 50 µs per line: 47 s for the 1.6 million lines of a 10^6-node graph. Most road
lines only meet at their ends, so this module

1. finds the lines that touch another line other than end to end (crossings without a
   junction, an end on another line, overlaps), with a bucket grid of segments, and lets GEOS
   node only those (:func:`node_lines`);
2. traces the faces of the noded lines combinatorially (:func:`trace_faces`): trees hanging
   off the network (dead ends) are pruned, the lines leaving each node are sorted by angle,
   and each face is walked with the face on the left (next line = the one just clockwise of
   the way back); anticlockwise cycles are the faces, clockwise ones the outer boundaries of
   connected parts, given as holes to the smallest face around them.

The faces are those of GEOS's polygonizer: same rings up to the order of their vertices, and
lines with the same face on both sides (cut edges, bridges between parts) bound no face.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numba import njit

from geoattract.routing.contour import point_in_ring, ring_boxes

#: Two lines closer than this (metres) anywhere but at shared ends are noded by GEOS: far above
#: the rounding of coordinates, far below any road geometry.
TOUCH_TOLERANCE_M = 1e-6

#: Segments per cell of the bucket grid that finds touching lines, on average.
SEGMENTS_PER_CELL = 2.0

#: Faces per cell of the bucket grid that finds the face holding a point, on average: the
#: cell side is ``sqrt(extent area · FACES_PER_CELL / n_faces)``, so a look-up tests a face or
#: two whatever the network's size.
FACES_PER_CELL = 1.0


@dataclass(frozen=True)
class PlanarFaces:
    """Bounded faces of noded lines, as flat arrays.

    Attributes
    ----------
    coords : numpy.ndarray
        ``(n, 2)`` vertices of every face's rings, ring after ring (each closed).
    ring_ptr : numpy.ndarray
        Ring ``r`` is ``coords[ring_ptr[r]:ring_ptr[r + 1]]``.
    face_rings : numpy.ndarray
        Face ``f`` has rings ``face_rings[f]`` to ``face_rings[f + 1] - 1``: its outer cycle,
        then the outer boundaries of the parts inside it.
    areas : numpy.ndarray
        Area of each face (m², holes deducted).
    line_ptr, line_faces : numpy.ndarray
        The faces line ``l`` bounds are ``line_faces[line_ptr[l]:line_ptr[l + 1]]`` (none for
        a dead end or a cut edge, one or two otherwise).
    """

    coords: np.ndarray
    ring_ptr: np.ndarray
    face_rings: np.ndarray
    areas: np.ndarray
    line_ptr: np.ndarray
    line_faces: np.ndarray


def node_lines(coords: np.ndarray, ptr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Node the lines that touch other than end to end; keep the others as they are.

    Parameters
    ----------
    coords : numpy.ndarray
        ``(n, 2)`` vertices of all lines, line after line.
    ptr : numpy.ndarray
        Line ``l`` is ``coords[ptr[l]:ptr[l + 1]]``.

    Returns
    -------
    coords, ptr : numpy.ndarray
        The noded lines: first the untouched input lines, in order, then the pieces GEOS made
        of the others.
    origin : numpy.ndarray
        Input line of each output line; -1 for a piece of the noded ones.
    """
    n_lines = ptr.size - 1
    if n_lines == 0:
        return coords, ptr, np.zeros(0, dtype=np.int64)
    tol = TOUCH_TOLERANCE_M
    seg = SegmentIndex.of(coords, ptr, tol)
    if seg.a.shape[0] == 0:
        return coords, ptr, np.arange(n_lines)
    touch = _touching(seg.a, seg.b, seg.line, seg.vertex, ptr, seg.cell_ptr, seg.cells, tol)
    keep = np.flatnonzero(~touch)
    out_coords, out_ptr = subset(coords, ptr, keep)
    origin = keep.astype(np.int64)
    if touch.any():
        moved = np.flatnonzero(touch)
        sub_coords, sub_ptr = subset(coords, ptr, moved)
        (lines,) = shapely.from_ragged_array(
            shapely.GeometryType.MULTILINESTRING,
            sub_coords,
            (sub_ptr, np.array([0, moved.size], dtype=np.int64)),
        )
        pieces = shapely.get_parts(shapely.union_all(lines))
        piece_coords, index = shapely.get_coordinates(pieces, return_index=True)
        piece_ptr = np.zeros(pieces.size + 1, dtype=np.int64)
        np.cumsum(np.bincount(index, minlength=pieces.size), out=piece_ptr[1:])
        out_coords = np.concatenate([out_coords, piece_coords])
        out_ptr = np.concatenate([out_ptr, out_ptr[-1] + piece_ptr[1:]])
        origin = np.concatenate([origin, np.full(pieces.size, -1, dtype=np.int64)])
    return np.ascontiguousarray(out_coords), out_ptr, origin


@dataclass(frozen=True)
class SegmentIndex:
    """The non-degenerate segments of polylines, in a bucket grid.

    Attributes
    ----------
    a, b : numpy.ndarray
        ``(n, 2)`` start and end of each segment.
    line, vertex : numpy.ndarray
        Polyline of each segment and index of its start vertex in the flat coordinates.
    grid, cell_ptr, cells : numpy.ndarray
        The bucket grid (:func:`bucket_index`) of the segments' boxes widened by the
        tolerance.
    """

    a: np.ndarray
    b: np.ndarray
    line: np.ndarray
    vertex: np.ndarray
    grid: np.ndarray
    cell_ptr: np.ndarray
    cells: np.ndarray

    @classmethod
    def of(cls, coords: np.ndarray, ptr: np.ndarray, tol: float) -> SegmentIndex:
        """Index the segments of the polylines ``coords[ptr[l]:ptr[l + 1]]``.

        Parameters
        ----------
        coords, ptr : numpy.ndarray
            Flat polyline vertices and offsets.
        tol : float
            Widening of each segment's box (metres).

        Returns
        -------
        SegmentIndex
        """
        line = np.repeat(np.arange(ptr.size - 1), np.diff(ptr))
        vertex = np.arange(max(coords.shape[0] - 1, 0))
        same = line[1:] == line[:-1]
        a, b = coords[:-1], coords[1:]
        ok = same & ((a[:, 0] != b[:, 0]) | (a[:, 1] != b[:, 1]))
        a, b = a[ok], b[ok]
        if a.shape[0] == 0:
            empty = np.zeros(0, dtype=np.int64)
            grid = np.array([0.0, 0.0, 1.0, 0.0, 0.0])
            return cls(a, b, empty, empty, grid, np.zeros(1, dtype=np.int64), empty)
        boxes = np.c_[
            np.minimum(a[:, 0], b[:, 0]) - tol,
            np.minimum(a[:, 1], b[:, 1]) - tol,
            np.maximum(a[:, 0], b[:, 0]) + tol,
            np.maximum(a[:, 1], b[:, 1]) + tol,
        ]
        grid, cell_ptr, cells = bucket_index(boxes, SEGMENTS_PER_CELL)
        return cls(a, b, line[:-1][ok], vertex[ok], grid, cell_ptr, cells)


def subset(coords: np.ndarray, ptr: np.ndarray, lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The polylines (or rings) ``lines`` of flat arrays, in that order.

    Parameters
    ----------
    coords, ptr : numpy.ndarray
        Flat vertices; polyline ``l`` is ``coords[ptr[l]:ptr[l + 1]]``.
    lines : numpy.ndarray
        The polylines wanted.

    Returns
    -------
    coords, ptr : numpy.ndarray
        Their vertices and offsets.
    """
    counts = np.diff(ptr)[lines]
    starts = np.cumsum(counts) - counts
    take = np.repeat(ptr[lines] - starts, counts) + np.arange(int(counts.sum()))
    out_ptr = np.zeros(lines.size + 1, dtype=np.int64)
    np.cumsum(counts, out=out_ptr[1:])
    return coords[take], out_ptr


def bucket_index(boxes: np.ndarray, per_cell: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uniform grid over ``boxes`` (``n x 4``) with about ``per_cell`` boxes per cell.

    Parameters
    ----------
    boxes : numpy.ndarray
        ``xmin, ymin, xmax, ymax`` of each item.
    per_cell : float
        Items per cell on average.

    Returns
    -------
    grid : numpy.ndarray
        ``x0, y0, cell, nx, ny`` (float64).
    cell_ptr, cell_items : numpy.ndarray
        The items met by cell ``j · nx + i`` are ``cell_items[cell_ptr[c]:cell_ptr[c + 1]]``.
    """
    x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
    width = max(boxes[:, 2].max() - x0, 1.0)
    height = max(boxes[:, 3].max() - y0, 1.0)
    cell = np.sqrt(width * height * per_cell / boxes.shape[0])
    nx, ny = int(width // cell) + 1, int(height // cell) + 1
    i0 = ((boxes[:, 0] - x0) // cell).astype(np.int64)
    i1 = np.minimum(((boxes[:, 2] - x0) // cell).astype(np.int64), nx - 1)
    j0 = ((boxes[:, 1] - y0) // cell).astype(np.int64)
    j1 = np.minimum(((boxes[:, 3] - y0) // cell).astype(np.int64), ny - 1)
    cell_ptr, cell_items = _buckets(i0, i1, j0, j1, nx, ny)
    return np.array([x0, y0, cell, nx, ny], dtype=np.float64), cell_ptr, cell_items


@njit(cache=True)
def _buckets(i0, i1, j0, j1, nx, ny):  # pragma: no cover - compiled
    """Cell -> item CSR of the boxes ``[i0, i1] x [j0, j1]`` (cell ``j · nx + i``)."""
    counts = np.zeros(nx * ny + 1, dtype=np.int64)
    for f in range(i0.size):
        for j in range(j0[f], j1[f] + 1):
            for i in range(i0[f], i1[f] + 1):
                counts[j * nx + i + 1] += 1
    ptr = np.cumsum(counts)
    fill = ptr[:-1].copy()
    out = np.empty(ptr[-1], dtype=np.int64)
    for f in range(i0.size):
        for j in range(j0[f], j1[f] + 1):
            for i in range(i0[f], i1[f] + 1):
                out[fill[j * nx + i]] = f
                fill[j * nx + i] += 1
    return ptr, out


@njit(cache=True, nogil=True)
def _touching(a, b, seg_line, seg_vertex, ptr, cell_ptr, cell_segments, tol):  # pragma: no cover
    """Lines within ``tol`` of another line (or of themselves) other than at shared ends."""
    touch = np.zeros(ptr.size - 1, dtype=np.bool_)
    for c in range(cell_ptr.size - 1):
        for p in range(cell_ptr[c], cell_ptr[c + 1]):
            s = cell_segments[p]
            for q in range(p + 1, cell_ptr[c + 1]):
                t = cell_segments[q]
                if touch[seg_line[s]] and touch[seg_line[t]]:
                    continue
                if _contact(a, b, seg_line, seg_vertex, ptr, s, t, tol):
                    touch[seg_line[s]] = True
                    touch[seg_line[t]] = True
    return touch


@njit(cache=True, nogil=True)
def _contact(a, b, seg_line, seg_vertex, ptr, s, t, tol):  # pragma: no cover - compiled
    """Whether segments ``s`` and ``t`` meet anywhere but at one vertex both lines end at.

    Consecutive segments of one line share their middle vertex: not a contact.
    """
    ls, lt = seg_line[s], seg_line[t]
    vs, vt = seg_vertex[s], seg_vertex[t]
    if ls == lt and abs(vs - vt) == 1:
        return False
    if _segment_distance(a[s], b[s], a[t], b[t]) > tol:
        return False
    # they meet: allowed only at one shared point that ends both lines (a common node)
    shared = -1
    for ks in (vs, vs + 1):
        for kt in (vt, vt + 1):
            if (
                abs(_x(a, b, s, ks - vs, 0) - _x(a, b, t, kt - vt, 0)) <= tol
                and abs(_x(a, b, s, ks - vs, 1) - _x(a, b, t, kt - vt, 1)) <= tol
            ):
                if shared >= 0:
                    return True  # two shared points: the same segment twice
                shared = 1
                ends_s = ks == ptr[ls] or ks == ptr[ls + 1] - 1
                ends_t = kt == ptr[lt] or kt == ptr[lt + 1] - 1
                if not (ends_s and ends_t):
                    return True
    if shared < 0:
        return True
    # one shared end: any other contact (collinear overlap) shows as a second point close by
    return _overlap(a[s], b[s], a[t], b[t], tol)


@njit(cache=True, nogil=True, inline="always")
def _x(a, b, s, end, axis):  # pragma: no cover - compiled
    """Coordinate ``axis`` of the start (``end`` 0) or end (1) of segment ``s``."""
    return a[s, axis] if end == 0 else b[s, axis]


@njit(cache=True, nogil=True)
def _overlap(p0, p1, q0, q1, tol):  # pragma: no cover - compiled
    """Whether two segments sharing one end also run along each other (collinear overlap).

    Besides the shared end, another end of one lies within ``tol`` of the other.
    """
    near_q = int(_point_segment(p0, q0, q1) <= tol) + int(_point_segment(p1, q0, q1) <= tol)
    near_p = int(_point_segment(q0, p0, p1) <= tol) + int(_point_segment(q1, p0, p1) <= tol)
    return near_q > 1 or near_p > 1


@njit(cache=True, nogil=True)
def _point_segment(p, a, b):  # pragma: no cover - compiled
    """Distance from point ``p`` to segment ``a b``."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    wx, wy = p[0] - a[0], p[1] - a[1]
    l2 = dx * dx + dy * dy
    t = min(max((wx * dx + wy * dy) / l2, 0.0), 1.0) if l2 > 0.0 else 0.0
    return np.hypot(wx - t * dx, wy - t * dy)


@njit(cache=True, nogil=True)
def _segment_distance(p0, p1, q0, q1):  # pragma: no cover - compiled
    """Distance between segments ``p0 p1`` and ``q0 q1`` (0 when they cross)."""
    d1 = (p1[0] - p0[0]) * (q0[1] - p0[1]) - (p1[1] - p0[1]) * (q0[0] - p0[0])
    d2 = (p1[0] - p0[0]) * (q1[1] - p0[1]) - (p1[1] - p0[1]) * (q1[0] - p0[0])
    d3 = (q1[0] - q0[0]) * (p0[1] - q0[1]) - (q1[1] - q0[1]) * (p0[0] - q0[0])
    d4 = (q1[0] - q0[0]) * (p1[1] - q0[1]) - (q1[1] - q0[1]) * (p1[0] - q0[0])
    if ((d1 > 0 and d2 < 0) or (d1 < 0 and d2 > 0)) and (
        (d3 > 0 and d4 < 0) or (d3 < 0 and d4 > 0)
    ):
        return 0.0
    return min(
        min(_point_segment(p0, q0, q1), _point_segment(p1, q0, q1)),
        min(_point_segment(q0, p0, p1), _point_segment(q1, p0, p1)),
    )


def trace_faces(coords: np.ndarray, ptr: np.ndarray) -> PlanarFaces:
    """Bounded faces of noded lines (lines meeting only at their ends).

    Parameters
    ----------
    coords : numpy.ndarray
        ``(n, 2)`` vertices of all lines, line after line (see :func:`node_lines`).
    ptr : numpy.ndarray
        Line ``l`` is ``coords[ptr[l]:ptr[l + 1]]``.

    Returns
    -------
    PlanarFaces
    """
    n_lines = ptr.size - 1
    ends = np.concatenate([coords[ptr[:-1]], coords[ptr[1:] - 1]]) if n_lines else coords[:0]
    node, n_nodes = _same_points(ends)
    start, end = node[:n_lines], node[n_lines:]
    cycles = _trace(coords, ptr, start, end, n_nodes)
    return _faces(coords, ptr, *cycles)


def _same_points(points: np.ndarray) -> tuple[np.ndarray, int]:
    """Label equal points alike (0, 1, ...): a lexicographic sort, then its runs."""
    if points.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), 0
    order = np.lexsort((points[:, 1], points[:, 0]))
    ranked = points[order]
    new = np.ones(order.size, dtype=bool)
    new[1:] = (ranked[1:, 0] != ranked[:-1, 0]) | (ranked[1:, 1] != ranked[:-1, 1])
    label = np.empty(order.size, dtype=np.int64)
    label[order] = np.cumsum(new) - 1
    return label, int(new.sum())


@njit(cache=True, nogil=True)
def _direction(coords, first, step, last):  # pragma: no cover - compiled
    """Angle of a line leaving its end vertex ``first`` (towards ``last``, by ``step``)."""
    x0, y0 = coords[first, 0], coords[first, 1]
    k = first + step
    while k != last and coords[k, 0] == x0 and coords[k, 1] == y0:
        k += step
    return np.arctan2(coords[k, 1] - y0, coords[k, 0] - x0)


@njit(cache=True, nogil=True)
def _trace(coords, ptr, start, end, n_nodes):  # pragma: no cover - compiled
    """Prune dead ends, sort the half-lines around nodes, walk the cycles.

    Half-line ``2 l`` runs along line ``l`` from its start, ``2 l + 1`` back from its end.
    Returns the cycle of each half-line (-1 when pruned), each cycle's signed area and
    connected part, and the half-lines of each cycle in walking order (CSR).
    """
    alive = _prune(start, end, n_nodes)
    label = _parts(start, end, alive, n_nodes)
    origin, around, half_ptr, position = _around(coords, ptr, start, end, alive, n_nodes)
    n_half = origin.size
    # walk: after h = u -> v, the half-line just clockwise of the way back (v -> u) at v
    cycle = np.full(n_half, -1, dtype=np.int64)
    walk = np.empty(half_ptr[-1], dtype=np.int64)
    walk_ptr = np.zeros(half_ptr[-1] + 1, dtype=np.int64)
    areas = np.zeros(half_ptr[-1])
    part = np.zeros(half_ptr[-1], dtype=np.int64)
    n_cycles = 0
    n_walk = 0
    for h0 in range(n_half):
        if not alive[h0 >> 1] or cycle[h0] >= 0:
            continue
        h = h0
        area = 0.0
        while cycle[h] < 0:
            cycle[h] = n_cycles
            walk[n_walk] = h
            n_walk += 1
            area += _half_area(coords, ptr, h)
            back = h ^ 1
            v = origin[back]
            q = position[back] - 1
            if q < half_ptr[v]:
                q = half_ptr[v + 1] - 1
            h = around[q]
        areas[n_cycles] = area / 2.0
        part[n_cycles] = label[origin[h0]]
        n_cycles += 1
        walk_ptr[n_cycles] = n_walk
    return cycle, areas[:n_cycles], part[:n_cycles], walk[:n_walk], walk_ptr[: n_cycles + 1]


@njit(cache=True, nogil=True)
def _prune(start, end, n_nodes):  # pragma: no cover - compiled
    """Lines left once the trees hanging off the network (dead ends) are pruned."""
    n_lines = start.size
    degree = np.zeros(n_nodes, dtype=np.int64)
    for line in range(n_lines):
        degree[start[line]] += 1
        degree[end[line]] += 1
    inc_ptr = np.zeros(n_nodes + 1, dtype=np.int64)
    for v in range(n_nodes):
        inc_ptr[v + 1] = inc_ptr[v] + degree[v]
    fill = inc_ptr[:-1].copy()
    inc = np.empty(2 * n_lines, dtype=np.int64)
    for line in range(n_lines):
        inc[fill[start[line]]] = line
        fill[start[line]] += 1
        inc[fill[end[line]]] = line
        fill[end[line]] += 1
    alive = np.ones(n_lines, dtype=np.bool_)
    stack = np.empty(n_nodes, dtype=np.int64)
    top = 0
    for v in range(n_nodes):
        if degree[v] == 1:
            stack[top] = v
            top += 1
    while top > 0:
        top -= 1
        v = stack[top]
        if degree[v] != 1:
            continue
        for q in range(inc_ptr[v], inc_ptr[v + 1]):
            line = inc[q]
            if alive[line]:
                alive[line] = False
                other = end[line] if start[line] == v else start[line]
                degree[v] -= 1
                degree[other] -= 1
                if degree[other] == 1:
                    stack[top] = other
                    top += 1
                break
    return alive


@njit(cache=True, nogil=True)
def _parts(start, end, alive, n_nodes):  # pragma: no cover - compiled
    """Connected part of each node (the smallest node id in it), over the lines left."""
    label = np.arange(n_nodes)
    for line in range(start.size):
        if alive[line]:
            ra, rb = _root(label, start[line]), _root(label, end[line])
            if ra != rb:
                label[max(ra, rb)] = min(ra, rb)
    for v in range(n_nodes):
        label[v] = _root(label, v)
    return label


@njit(cache=True, nogil=True)
def _around(coords, ptr, start, end, alive, n_nodes):  # pragma: no cover - compiled
    """Half-lines around each node, sorted by angle (anticlockwise), and their positions."""
    n_half = 2 * start.size
    origin = np.empty(n_half, dtype=np.int64)
    angle = np.empty(n_half)
    for line in range(start.size):
        origin[2 * line] = start[line]
        origin[2 * line + 1] = end[line]
        if alive[line]:
            angle[2 * line] = _direction(coords, ptr[line], 1, ptr[line + 1] - 1)
            angle[2 * line + 1] = _direction(coords, ptr[line + 1] - 1, -1, ptr[line])
    half_ptr = np.zeros(n_nodes + 1, dtype=np.int64)
    for h in range(n_half):
        if alive[h >> 1]:
            half_ptr[origin[h] + 1] += 1
    for v in range(n_nodes):
        half_ptr[v + 1] += half_ptr[v]
    fill = half_ptr[:-1].copy()
    around = np.empty(half_ptr[-1], dtype=np.int64)
    for h in range(n_half):
        if alive[h >> 1]:
            around[fill[origin[h]]] = h
            fill[origin[h]] += 1
    position = np.full(n_half, -1, dtype=np.int64)
    for v in range(n_nodes):
        a, b = half_ptr[v], half_ptr[v + 1]
        if b - a > 1:
            order = np.argsort(angle[around[a:b]], kind="mergesort")
            around[a:b] = around[a:b][order]
        for q in range(a, b):
            position[around[q]] = q
    return origin, around, half_ptr, position


@njit(cache=True, nogil=True)
def _root(label, v):  # pragma: no cover - compiled
    """Root of ``v`` in the union-find forest ``label`` (halving the path on the way)."""
    while label[v] != v:
        label[v] = label[label[v]]
        v = label[v]
    return v


@njit(cache=True, nogil=True)
def _half_area(coords, ptr, h):  # pragma: no cover - compiled
    """Twice the signed area swept by half-line ``h`` (shoelace terms along it)."""
    line = h >> 1
    total = 0.0
    for k in range(ptr[line], ptr[line + 1] - 1):
        total += coords[k, 0] * coords[k + 1, 1] - coords[k + 1, 0] * coords[k, 1]
    return total if (h & 1) == 0 else -total


def _faces(
    coords: np.ndarray,
    ptr: np.ndarray,
    cycle: np.ndarray,
    areas: np.ndarray,
    part: np.ndarray,
    walk: np.ndarray,
    walk_ptr: np.ndarray,
) -> PlanarFaces:
    """Faces from the cycles: anticlockwise ones, each with the clockwise ones inside it."""
    shells = np.flatnonzero(areas > 0)
    outers = np.flatnonzero(areas < 0)
    n_faces = shells.size
    # every cycle's ring walked once: the shells first (ring f is face f's shell), then outers
    cycles = np.concatenate([shells, outers])
    all_coords, all_ptr = _cycle_rings(coords, ptr, walk, walk_ptr, cycles)
    owner = np.full(areas.size, -1, dtype=np.int64)
    owner[shells] = np.arange(n_faces)
    if n_faces and outers.size:
        boxes = ring_boxes(all_coords, all_ptr, np.arange(n_faces))
        grid, cell_ptr, cell_faces = bucket_index(boxes, FACES_PER_CELL)
        probe = all_coords[all_ptr[n_faces:-1]]  # the first vertex of each outer ring
        one_ring = np.arange(n_faces + 1, dtype=np.int64)
        index = (all_coords, all_ptr, one_ring, boxes, areas[shells], grid, cell_ptr, cell_faces)
        owner[outers] = smallest_containing(probe, part[outers], part[shells], *index)
    # each face's shell, then the outer rings of the parts inside it (outers inside no face
    # bound the unbounded face: left out)
    ring_owner = owner[cycles]
    kept = np.flatnonzero(ring_owner >= 0)
    kept = kept[np.lexsort((kept >= n_faces, ring_owner[kept]))]
    ring_coords, ring_ptr = subset(all_coords, all_ptr, kept)
    face_rings = np.zeros(n_faces + 1, dtype=np.int64)
    np.cumsum(np.bincount(ring_owner[kept], minlength=n_faces), out=face_rings[1:])
    face_area = np.bincount(ring_owner[kept], weights=areas[cycles[kept]], minlength=n_faces)
    line_ptr, line_faces = _line_faces(cycle, owner)
    return PlanarFaces(ring_coords, ring_ptr, face_rings, face_area, line_ptr, line_faces)


def _line_faces(cycle: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Faces bounded by each line: the owners of its two sides, when different and known."""
    known = np.append(owner, -1)  # cycle -1 (a pruned line) reads the last entry: no face
    left = known[cycle[0::2]]
    right = known[cycle[1::2]]
    cut = cycle[0::2] == cycle[1::2]  # the same cycle on both sides: a cut edge (or pruned)
    left[cut] = -1
    right[cut] = -1
    right[right == left] = -1
    pairs = np.stack([left, right], axis=1)
    keep = pairs >= 0
    counts = keep.sum(axis=1)
    line_ptr = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=line_ptr[1:])
    return line_ptr, pairs[keep].astype(np.int64)


@njit(cache=True, nogil=True)
def _cycle_rings(coords, ptr, walk, walk_ptr, cycles):  # pragma: no cover - compiled
    """Closed rings of ``cycles`` (flat coordinates, offsets), vertices in walking order."""
    size = 0
    for c in cycles:
        for w in range(walk_ptr[c], walk_ptr[c + 1]):
            line = walk[w] >> 1
            size += ptr[line + 1] - ptr[line] - 1
        size += 1
    out = np.empty((size, 2))
    ring_ptr = np.zeros(cycles.size + 1, dtype=np.int64)
    n = 0
    for r in range(cycles.size):
        c = cycles[r]
        for w in range(walk_ptr[c], walk_ptr[c + 1]):
            h = walk[w]
            line = h >> 1
            if (h & 1) == 0:
                for k in range(ptr[line], ptr[line + 1] - 1):
                    out[n] = coords[k]
                    n += 1
            else:
                for k in range(ptr[line + 1] - 1, ptr[line], -1):
                    out[n] = coords[k]
                    n += 1
        out[n] = out[ring_ptr[r]]
        n += 1
        ring_ptr[r + 1] = n
    return out, ring_ptr


@njit(cache=True, nogil=True)
def locate(
    px, py, skip, part, coords, ring_ptr, face_rings, boxes, areas, grid, cell_ptr, cell_faces
):  # pragma: no cover - compiled
    """The smallest face holding ``(px, py)`` strictly inside it, -1 when none.

    Faces are rings (``face_rings``: shell then holes) with bounding boxes, in a bucket grid
    (:func:`bucket_index`); inside is the even-odd rule over all the face's rings. Faces whose
    ``part`` is ``skip`` are not considered (-1: all are).
    """
    cell = grid[2]
    i = int(np.floor((px - grid[0]) / cell))
    j = int(np.floor((py - grid[1]) / cell))
    if i < 0 or j < 0 or i >= int(grid[3]) or j >= int(grid[4]):
        return -1
    c = j * int(grid[3]) + i
    best = -1
    for q in range(cell_ptr[c], cell_ptr[c + 1]):
        f = cell_faces[q]
        if part[f] == skip or (best >= 0 and areas[f] >= areas[best]):
            continue
        if px <= boxes[f, 0] or px >= boxes[f, 2] or py <= boxes[f, 1] or py >= boxes[f, 3]:
            continue
        inside = False  # even-odd over all the face's rings
        for r in range(face_rings[f], face_rings[f + 1]):
            inside ^= point_in_ring(coords, ring_ptr[r], ring_ptr[r + 1], px, py)
        if inside:
            best = f
    return best


@njit(cache=True, nogil=True)
def smallest_containing(
    points, skip, part, coords, ring_ptr, face_rings, boxes, areas, grid, cell_ptr, cell_faces
):  # pragma: no cover - compiled
    """:func:`locate` for each point (``skip[p]`` the part to pass over for point ``p``)."""
    out = np.empty(points.shape[0], dtype=np.int64)
    for p in range(points.shape[0]):
        out[p] = locate(
            points[p, 0],
            points[p, 1],
            skip[p],
            part,
            coords,
            ring_ptr,
            face_rings,
            boxes,
            areas,
            grid,
            cell_ptr,
            cell_faces,
        )
    return out
