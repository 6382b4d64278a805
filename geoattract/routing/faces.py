"""Faces of the road network: the land enclosed by roads, and which of it a search encloses.

The ``"area"`` isochrone shape fills the holes of the road band that lie in a *face* of the
road network (a planar face of the undirected edge lines) whose boundary roads are all fully
reached within the threshold and whose area is below the size limit. The decision depends on
the roads and the travel times only, not on how the band is drawn: both isochrone methods
take the same one. A hole's vertices lie ``buffer_m`` from every reached road, so strictly
inside one face; a hole spanning several faces has an unreached road inside it, on the
boundary of each of those faces, and is never filled whichever vertex is tested.

The faces are built once per :class:`~geoattract.routing.edges.EdgeLines`: the undirected
edges (one of each pair of twins) are noded where they cross without a junction (bridges: the
land between two roads crossing on a bridge is enclosed all the same), then polygonized. Each
face lists the edges its boundary runs along (the edges within :data:`MATCH_TOLERANCE_M` of
the midpoint of each boundary segment).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import shapely
from numba import njit

from geoattract.routing.edges import EdgeLines
from geoattract.routing.graph import RoutingGraph

logger = logging.getLogger(__name__)

#: A face's boundary segment runs along an edge when its midpoint lies within this distance
#: (metres) of the edge line: far above the rounding of the noding, far below any road length.
MATCH_TOLERANCE_M = 1e-3

#: Faces per cell of the bucket index (uniform grid over the faces' extent) on average: the
#: cell side is ``sqrt(extent area · FACES_PER_CELL / n_faces)``, so a point look-up tests a
#: face or two whatever the network's size.
FACES_PER_CELL = 1.0

#: Road segments per cell of the bucket index that matches the faces' boundaries to the
#: roads (same rule as :data:`FACES_PER_CELL`).
SEGMENTS_PER_CELL = 2.0


@dataclass(frozen=True, eq=False)
class RoadFaces:
    """Planar faces of a road network's undirected edge lines.

    The faces' rings are also held as flat arrays with a bucket index (a uniform grid of
    cells listing the faces whose bounding box meets them), so compiled code finds the face
    holding a point without the GIL (:func:`face_of`).

    Attributes
    ----------
    polygons : numpy.ndarray
        One Polygon per face.
    areas : numpy.ndarray
        Area of each face (m²).
    edge_ptr : numpy.ndarray
        The boundary edges of face ``f`` are ``edge_ids[edge_ptr[f]:edge_ptr[f + 1]]`` (int64).
    edge_ids : numpy.ndarray
        Forward CSR edge ids (one of each pair of twins).
    coords : numpy.ndarray
        ``(n, 2)`` vertices of every face's rings, ring after ring (each closed).
    ring_ptr : numpy.ndarray
        Ring ``r`` is ``coords[ring_ptr[r]:ring_ptr[r + 1]]``.
    face_rings : numpy.ndarray
        The rings of face ``f`` (its shell, then its holes) are ``face_rings[f]`` to
        ``face_rings[f + 1] - 1``.
    boxes : numpy.ndarray
        ``(n_faces, 4)`` bounding boxes ``xmin, ymin, xmax, ymax``.
    grid : numpy.ndarray
        The bucket index's ``x0, y0, cell, nx, ny`` (float64).
    cell_ptr, cell_faces : numpy.ndarray
        The faces met by cell ``j · nx + i`` are ``cell_faces[cell_ptr[c]:cell_ptr[c + 1]]``.
    """

    polygons: np.ndarray
    areas: np.ndarray
    edge_ptr: np.ndarray
    edge_ids: np.ndarray
    coords: np.ndarray
    ring_ptr: np.ndarray
    face_rings: np.ndarray
    boxes: np.ndarray
    grid: np.ndarray
    cell_ptr: np.ndarray
    cell_faces: np.ndarray

    @property
    def n_faces(self) -> int:
        """Number of faces."""
        return int(self.areas.size)

    @property
    def index(self) -> tuple[np.ndarray, ...]:
        """The arrays :func:`face_of` and :func:`holes_filled` take, in their order."""
        return (
            self.coords,
            self.ring_ptr,
            self.face_rings,
            self.boxes,
            self.areas,
            self.grid,
            self.cell_ptr,
            self.cell_faces,
        )

    def face_of(self, points: np.ndarray) -> np.ndarray:
        """Face holding each point strictly inside it (-1: none), the smallest when several.

        Parameters
        ----------
        points : numpy.ndarray
            ``(n, 2)`` coordinates.

        Returns
        -------
        numpy.ndarray
            ``(n,)`` int64 face index, -1 outside every face.
        """
        points = np.ascontiguousarray(points, dtype=np.float64).reshape(-1, 2)
        return face_of(points, *self.index)


def road_faces(edges: EdgeLines) -> RoadFaces:
    """Build the faces of the road network drawn by ``edges`` (see the module documentation).

    The undirected edges go to GEOS as one MultiLineString (noded by a unary union, then
    polygonized) and come back as flat arrays: a few thousand Python objects for a network of
    any size, instead of several per edge.

    Parameters
    ----------
    edges : EdgeLines
        Edge geometry of a routing graph.

    Returns
    -------
    RoadFaces
    """
    ids = np.arange(edges.twin.size)
    undirected = np.flatnonzero((edges.twin < 0) | (ids < edges.twin))
    counts = np.diff(edges.ptr)[undirected]
    starts = np.cumsum(counts) - counts
    take = np.repeat(edges.ptr[undirected] - starts, counts) + np.arange(int(counts.sum()))
    line_ptr = np.zeros(undirected.size + 1, dtype=np.int64)
    np.cumsum(counts, out=line_ptr[1:])
    line_coords = np.ascontiguousarray(edges.coords[take])
    (network,) = shapely.from_ragged_array(
        shapely.GeometryType.MULTILINESTRING,
        line_coords,
        (line_ptr, np.array([0, undirected.size], dtype=np.int64)),
    )
    noded = shapely.union_all(network)
    polygons = shapely.get_parts(shapely.polygonize(np.array([noded], dtype=object)))
    polygons = polygons[shapely.area(polygons) > 0]
    index = _face_index(polygons)
    ptr, line = _boundary_edges(index[0], index[1], index[2], line_coords, line_ptr)
    faces = RoadFaces(polygons, shapely.area(polygons), ptr, undirected[line], *index)
    logger.debug("road faces: %d from %d undirected edges", faces.n_faces, undirected.size)
    return faces


def _face_index(polygons: np.ndarray) -> tuple[np.ndarray, ...]:
    """Flat rings, bounding boxes and bucket index of ``polygons`` (see :class:`RoadFaces`)."""
    n = polygons.size
    if n == 0:
        empty = np.zeros(1, dtype=np.int64)
        grid = np.array([0.0, 0.0, 1.0, 0.0, 0.0])
        return np.empty((0, 2)), empty, empty, np.empty((0, 4)), grid, empty, empty[:0]
    parts = np.array([shapely.multipolygons(polygons)], dtype=object)
    _, coords, (ring_ptr, face_rings, _) = shapely.to_ragged_array(parts)
    boxes = shapely.bounds(polygons)
    grid, cell_ptr, cell_faces = _bucket_index(boxes, FACES_PER_CELL)
    return (
        np.ascontiguousarray(coords, dtype=np.float64),
        ring_ptr.astype(np.int64),
        face_rings.astype(np.int64),
        boxes,
        grid,
        cell_ptr,
        cell_faces,
    )


def _bucket_index(boxes: np.ndarray, per_cell: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uniform grid over ``boxes`` (``n x 4``) with about ``per_cell`` boxes per cell.

    Returns the grid ``x0, y0, cell, nx, ny`` and the cell -> box CSR (cell ``j · nx + i``).
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
    cell_ptr, cell_boxes = _buckets(i0, i1, j0, j1, nx, ny)
    return np.array([x0, y0, cell, nx, ny], dtype=np.float64), cell_ptr, cell_boxes


def _boundary_edges(
    coords: np.ndarray,
    ring_ptr: np.ndarray,
    face_rings: np.ndarray,
    line_coords: np.ndarray,
    line_ptr: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Face -> line CSR: the lines along each face's rings (by the segments' midpoints).

    ``coords``, ``ring_ptr``, ``face_rings`` are the faces' flat rings, ``line_coords`` and
    ``line_ptr`` the undirected edge lines; a ring segment runs along a line when its midpoint
    lies within :data:`MATCH_TOLERANCE_M` of one of the line's segments.
    """
    n_faces = face_rings.size - 1
    ptr = np.zeros(n_faces + 1, dtype=np.int64)
    if n_faces == 0:
        return ptr, np.zeros(0, dtype=np.int64)
    a = line_coords[:-1]
    b = line_coords[1:]
    owner = np.repeat(np.arange(line_ptr.size - 1), np.diff(line_ptr))[:-1]
    segment = np.ones(owner.size, dtype=bool)
    segment[line_ptr[1:-1] - 1] = False  # the last vertex of a line and the next line's first
    a, b, owner = a[segment], b[segment], owner[segment]
    tol = MATCH_TOLERANCE_M
    boxes = np.c_[
        np.minimum(a[:, 0], b[:, 0]) - tol,
        np.minimum(a[:, 1], b[:, 1]) - tol,
        np.maximum(a[:, 0], b[:, 0]) + tol,
        np.maximum(a[:, 1], b[:, 1]) + tol,
    ]
    grid, cell_ptr, cell_segments = _bucket_index(boxes, SEGMENTS_PER_CELL)
    face, line = _match_rings(
        coords, ring_ptr, face_rings, a, b, owner, grid, cell_ptr, cell_segments, tol
    )
    n_lines = np.int64(line_ptr.size - 1)
    keys = np.unique(face * n_lines + line)
    face, line = np.divmod(keys, n_lines)
    np.cumsum(np.bincount(face, minlength=n_faces), out=ptr[1:])
    return ptr, line


@njit(cache=True, nogil=True)
def _match_rings(
    coords, ring_ptr, face_rings, a, b, owner, grid, cell_ptr, cell_segments, tol
):  # pragma: no cover - compiled
    """(face, line) of every ring segment midpoint within ``tol`` of a line segment."""
    n = 0
    cap = 2 * coords.shape[0] + 16
    faces = np.empty(cap, dtype=np.int64)
    lines = np.empty(cap, dtype=np.int64)
    cell, gnx, gny = grid[2], int(grid[3]), int(grid[4])
    tol2 = tol * tol
    for f in range(face_rings.size - 1):
        for r in range(face_rings[f], face_rings[f + 1]):
            for k in range(ring_ptr[r], ring_ptr[r + 1] - 1):
                px = (coords[k, 0] + coords[k + 1, 0]) / 2.0
                py = (coords[k, 1] + coords[k + 1, 1]) / 2.0
                i = int(np.floor((px - grid[0]) / cell))
                j = int(np.floor((py - grid[1]) / cell))
                if i < 0 or j < 0 or i >= gnx or j >= gny:
                    continue
                c = j * gnx + i
                for q in range(cell_ptr[c], cell_ptr[c + 1]):
                    s = cell_segments[q]
                    dx, dy = b[s, 0] - a[s, 0], b[s, 1] - a[s, 1]
                    wx, wy = px - a[s, 0], py - a[s, 1]
                    l2 = dx * dx + dy * dy
                    t = min(max((wx * dx + wy * dy) / l2, 0.0), 1.0) if l2 > 0.0 else 0.0
                    ux, uy = wx - t * dx, wy - t * dy
                    if ux * ux + uy * uy <= tol2:
                        if n == faces.size:
                            faces = np.concatenate((faces, np.empty(n, dtype=np.int64)))
                            lines = np.concatenate((lines, np.empty(n, dtype=np.int64)))
                        faces[n] = f
                        lines[n] = owner[s]
                        n += 1
    return faces[:n], lines[:n]


@njit(cache=True)
def _buckets(i0, i1, j0, j1, nx, ny):  # pragma: no cover - compiled
    """Cell -> faces CSR of the boxes ``[i0, i1] x [j0, j1]`` (cell ``j · nx + i``)."""
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
def _locate(
    px, py, coords, ring_ptr, face_rings, boxes, areas, grid, cell_ptr, cell_faces
):  # pragma: no cover - compiled
    """The smallest face holding ``(px, py)`` strictly inside it, -1 when none."""
    cell = grid[2]
    i = int(np.floor((px - grid[0]) / cell))
    j = int(np.floor((py - grid[1]) / cell))
    if i < 0 or j < 0 or i >= int(grid[3]) or j >= int(grid[4]):
        return -1
    c = j * int(grid[3]) + i
    best = -1
    for q in range(cell_ptr[c], cell_ptr[c + 1]):
        f = cell_faces[q]
        if best >= 0 and areas[f] >= areas[best]:
            continue
        if px <= boxes[f, 0] or px >= boxes[f, 2] or py <= boxes[f, 1] or py >= boxes[f, 3]:
            continue
        inside = False  # even-odd rule over the shell and the holes
        for r in range(face_rings[f], face_rings[f + 1]):
            for k in range(ring_ptr[r], ring_ptr[r + 1] - 1):
                ay, by = coords[k, 1], coords[k + 1, 1]
                if (ay > py) != (by > py):
                    ax, bx = coords[k, 0], coords[k + 1, 0]
                    if px < ax + (py - ay) * (bx - ax) / (by - ay):
                        inside = not inside
        if inside:
            best = f
    return best


@njit(cache=True, nogil=True)
def face_of(
    points, coords, ring_ptr, face_rings, boxes, areas, grid, cell_ptr, cell_faces
):  # pragma: no cover - compiled
    """Face holding each point (see :meth:`RoadFaces.face_of`; arrays of :attr:`RoadFaces.index`)."""
    out = np.empty(points.shape[0], dtype=np.int64)
    for p in range(points.shape[0]):
        out[p] = _locate(
            points[p, 0],
            points[p, 1],
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


@njit(cache=True, nogil=True)
def faces_reached(
    faces, edge_ptr, edge_ids, sources, targets, weights, twin, node_time, nodes, times, limit
):  # pragma: no cover - compiled
    """Whether every boundary edge of each face of ``faces`` is fully reached by ``limit``.

    Edge ``e = u -> v`` of weight ``w`` is fully reached when the share reached from ``u``,
    ``(limit - t_u) / w``, plus the share of its twin reached from ``v`` covers it (each share
    clipped at 0; a share is whole when the remaining time is at least the weight).
    ``node_time`` is a scratch array of ``inf`` (restored on return).
    """
    for a in range(nodes.size):
        node_time[nodes[a]] = times[a]
    out = np.zeros(faces.size, dtype=np.bool_)
    graph = (sources, targets, weights, twin)
    for q in range(faces.size):
        out[q] = _enclosed(faces[q], edge_ptr, edge_ids, graph, node_time, limit)
    for a in range(nodes.size):
        node_time[nodes[a]] = np.inf
    return out


@njit(cache=True, nogil=True)
def holes_filled(
    points, index, hole_max_m2, edge_ptr, edge_ids, graph, node_time, nodes, times, limit
):  # pragma: no cover - compiled
    """Whether each hole (one vertex in ``points``) lies in a face enclosed by ``limit``.

    ``index`` is :attr:`RoadFaces.index`, ``graph`` the edges' sources, targets, weights and
    twins; a face counts when it is smaller than ``hole_max_m2`` and :func:`faces_reached`.
    """
    for a in range(nodes.size):
        node_time[nodes[a]] = times[a]
    areas = index[4]
    out = np.zeros(points.shape[0], dtype=np.bool_)
    for p in range(points.shape[0]):
        f = _locate(points[p, 0], points[p, 1], *index)
        if f >= 0 and areas[f] < hole_max_m2:
            out[p] = _enclosed(f, edge_ptr, edge_ids, graph, node_time, limit)
    for a in range(nodes.size):
        node_time[nodes[a]] = np.inf
    return out


@njit(cache=True, nogil=True)
def _enclosed(f, edge_ptr, edge_ids, graph, node_time, limit):  # pragma: no cover - compiled
    """Whether every boundary edge of face ``f`` is fully reached by ``limit``."""
    sources, targets, weights, twin = graph
    for c in range(edge_ptr[f], edge_ptr[f + 1]):
        e = edge_ids[c]
        share = _share(limit - node_time[sources[e]], weights[e])
        t = twin[e]
        if t >= 0:
            share += _share(limit - node_time[targets[e]], weights[t])
        if share < 1.0:
            return False
    return True


@njit(cache=True, nogil=True, inline="always")
def _share(remaining, weight):  # pragma: no cover - compiled
    """Share of an edge reached with ``remaining`` seconds at its start (0 to 1)."""
    if remaining >= weight:
        return 1.0
    if remaining <= 0.0:
        return 0.0
    return remaining / weight


class FaceRule:
    """Which holes of one origin's bands the ``"area"`` shape fills (callable per threshold).

    Parameters
    ----------
    faces : RoadFaces
        The road network's faces.
    rg : RoutingGraph
        The routing structure.
    twin : numpy.ndarray
        Twin of each edge (:attr:`EdgeLines.twin`).
    nodes, times : numpy.ndarray
        Nodes reached from the origin and their times (seconds, origin offset included).
    limits : numpy.ndarray
        The thresholds, seconds.
    hole_max_m2 : float
        Only faces smaller than this are filled.
    node_time : numpy.ndarray
        Scratch of ``rg.n_nodes`` ``inf`` values (restored after each call).
    """

    def __init__(
        self,
        faces: RoadFaces,
        rg: RoutingGraph,
        twin: np.ndarray,
        nodes: np.ndarray,
        times: np.ndarray,
        limits: np.ndarray,
        hole_max_m2: float,
        node_time: np.ndarray,
    ) -> None:
        self.faces = faces
        self.graph = (rg.edge_sources, rg.indices, rg.weights, twin)
        self.nodes = np.asarray(nodes, dtype=np.int64)
        self.times = np.asarray(times, dtype=np.float64)
        self.limits = np.asarray(limits, dtype=np.float64)
        self.hole_max_m2 = float(hole_max_m2)
        self.node_time = node_time

    def __call__(self, k: int, points: np.ndarray, areas: np.ndarray) -> np.ndarray:
        """Fill mask of holes (first vertex ``points``, ``areas`` unused) at threshold ``k``.

        One compiled call that releases the GIL: face look-up and boundary check together.
        """
        return holes_filled(
            np.ascontiguousarray(points, dtype=np.float64),
            self.faces.index,
            self.hole_max_m2,
            self.faces.edge_ptr,
            self.faces.edge_ids,
            self.graph,
            self.node_time,
            self.nodes,
            self.times,
            float(self.limits[k]),
        )
