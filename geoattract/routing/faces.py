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
land between two roads crossing on a bridge is enclosed all the same), then their faces are
traced (:mod:`geoattract.routing.planar`: GEOS nodes only the lines that touch other than end
to end, the faces are walked in compiled code; the faces of GEOS's polygonizer, 0.03 s
instead of 0.06 s on the study, 4 to 5 s instead of 47 s at 10^6 nodes). Each face
lists the edges its boundary runs along: dead ends and cut edges bound no face; a piece GEOS
noded runs along the edges within :data:`MATCH_TOLERANCE_M` of the midpoints of its segments.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import shapely
from numba import njit

from geoattract.routing.contour import ring_boxes
from geoattract.routing.edges import EdgeLines, OriginReach
from geoattract.routing.graph import RoutingGraph
from geoattract.routing.planar import (
    FACES_PER_CELL,
    PlanarFaces,
    SegmentIndex,
    bucket_index,
    locate,
    node_lines,
    smallest_containing,
    subset,
    trace_faces,
)

logger = logging.getLogger(__name__)

#: A face's boundary segment runs along an edge when its midpoint lies within this distance
#: (metres) of the edge line: far above the rounding of the noding, far below any road length.
MATCH_TOLERANCE_M = 1e-3


@dataclass(frozen=True, eq=False)
class RoadFaces:
    """Planar faces of a road network's undirected edge lines, as flat arrays.

    The faces' rings come with a bucket index (a uniform grid of cells listing the faces whose
    bounding box meets them), so compiled code finds the face holding a point without the GIL
    (:meth:`face_of`).

    Attributes
    ----------
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
        The rings of face ``f`` (its outer cycle, then the outer boundaries of the parts of
        the network inside it) are ``face_rings[f]`` to ``face_rings[f + 1] - 1``.
    boxes : numpy.ndarray
        ``(n_faces, 4)`` bounding boxes ``xmin, ymin, xmax, ymax``.
    grid : numpy.ndarray
        The bucket index's ``x0, y0, cell, nx, ny`` (float64).
    cell_ptr, cell_faces : numpy.ndarray
        The faces met by cell ``j · nx + i`` are ``cell_faces[cell_ptr[c]:cell_ptr[c + 1]]``.
    """

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

    @cached_property
    def index(self) -> tuple[np.ndarray, ...]:
        """The arrays :func:`~geoattract.routing.planar.locate` takes after the point.

        Built once: every hole look-up passes it to compiled code.
        """
        return (
            np.zeros(self.n_faces, dtype=np.int64),  # one part: no face passed over
            self.coords,
            self.ring_ptr,
            self.face_rings,
            self.boxes,
            self.areas,
            self.grid,
            self.cell_ptr,
            self.cell_faces,
        )

    @cached_property
    def polygons(self) -> np.ndarray:
        """One Polygon per face, built on first use.

        A cut edge running into a face (a road joining an island of roads to the face's
        border) shows as a spike of its ring, walked both ways.
        """
        return np.asarray(
            shapely.from_ragged_array(
                shapely.GeometryType.POLYGON, self.coords, (self.ring_ptr, self.face_rings)
            ),
            dtype=object,
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
        skip = np.full(len(points), -1, dtype=np.int64)
        return smallest_containing(points, skip, *self.index)


def road_faces(edges: EdgeLines) -> RoadFaces:
    """Build the faces of the road network drawn by ``edges`` (see the module documentation).

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
    line_coords, line_ptr = subset(edges.coords, edges.ptr, undirected)
    noded, noded_ptr, origin = node_lines(line_coords, line_ptr)
    planar = trace_faces(noded, noded_ptr)
    face, line = _face_lines(planar, noded, noded_ptr, origin, line_coords, line_ptr)
    n_faces = planar.areas.size
    edge_ptr = np.zeros(n_faces + 1, dtype=np.int64)
    np.cumsum(np.bincount(face, minlength=n_faces), out=edge_ptr[1:])
    boxes = ring_boxes(planar.coords, planar.ring_ptr, planar.face_rings[:-1])
    if n_faces:
        grid, cell_ptr, cell_faces = bucket_index(boxes, FACES_PER_CELL)
    else:
        grid = np.array([0.0, 0.0, 1.0, 0.0, 0.0])
        cell_ptr, cell_faces = np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    faces = RoadFaces(
        areas=planar.areas,
        edge_ptr=edge_ptr,
        edge_ids=undirected[line].astype(np.int64),
        coords=planar.coords,
        ring_ptr=planar.ring_ptr,
        face_rings=planar.face_rings,
        boxes=boxes.reshape(-1, 4),
        grid=grid,
        cell_ptr=cell_ptr,
        cell_faces=cell_faces,
    )
    logger.debug("road faces: %d from %d undirected edges", faces.n_faces, undirected.size)
    return faces


def _face_lines(
    planar: PlanarFaces,
    noded: np.ndarray,
    noded_ptr: np.ndarray,
    origin: np.ndarray,
    line_coords: np.ndarray,
    line_ptr: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(face, input line) pairs, sorted and unique: the lines along each face's boundary.

    A noded line that is an input line gives it; a piece GEOS made gives the input lines
    within :data:`MATCH_TOLERANCE_M` of the midpoints of its segments.
    """
    count = np.diff(planar.line_ptr)
    piece_of = np.repeat(np.arange(count.size), count)  # noded line of each (line, face) entry
    faces = planar.line_faces
    lines = origin[piece_of]
    made = np.flatnonzero(origin < 0)
    if made.size:
        touched = np.setdiff1d(np.arange(line_ptr.size - 1), origin[origin >= 0])
        piece, line = _match_pieces(
            *subset(noded, noded_ptr, made), *subset(line_coords, line_ptr, touched)
        )
        pair_piece, pair_line = made[piece], touched[line]  # sorted by piece
        # join (piece, face) with (piece, input line): a piece along overlapping roads bounds
        # its faces for each of them
        own = lines >= 0
        made_face, made_piece = faces[~own], piece_of[~own]
        lo = np.searchsorted(pair_piece, made_piece, side="left")
        rep = np.searchsorted(pair_piece, made_piece, side="right") - lo
        take = np.repeat(lo - (np.cumsum(rep) - rep), rep) + np.arange(int(rep.sum()))
        faces = np.concatenate([faces[own], np.repeat(made_face, rep)])
        lines = np.concatenate([lines[own], pair_line[take]])
    n_lines = np.int64(line_ptr.size - 1)
    keys = _sorted_unique(faces.astype(np.int64) * n_lines + lines)
    return np.divmod(keys, n_lines)


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    """``np.unique`` of integer keys by a sort (numpy's hashing path is 10x slower here)."""
    keys = np.sort(keys)
    keep = np.ones(keys.size, dtype=bool)
    keep[1:] = keys[1:] != keys[:-1]
    return keys[keep]


def _match_pieces(
    pieces: np.ndarray, pieces_ptr: np.ndarray, lines: np.ndarray, lines_ptr: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(piece, line) pairs, sorted by piece: each line within tolerance of a piece's midpoints."""
    seg = SegmentIndex.of(lines, lines_ptr, MATCH_TOLERANCE_M)
    piece, line = _match_midpoints(
        pieces,
        pieces_ptr,
        seg.a,
        seg.b,
        seg.line,
        seg.grid,
        seg.cell_ptr,
        seg.cells,
        MATCH_TOLERANCE_M,
    )
    keys = _sorted_unique(piece * np.int64(lines_ptr.size) + line)
    return np.divmod(keys, np.int64(lines_ptr.size))


@njit(cache=True, nogil=True)
def _match_midpoints(
    coords, ptr, a, b, owner, grid, cell_ptr, cell_segments, tol
):  # pragma: no cover - compiled
    """(polyline, line) of every polyline segment midpoint within ``tol`` of a line segment."""
    n = 0
    cap = 2 * coords.shape[0] + 16
    found = np.empty(cap, dtype=np.int64)
    lines = np.empty(cap, dtype=np.int64)
    cell, gnx, gny = grid[2], int(grid[3]), int(grid[4])
    tol2 = tol * tol
    for f in range(ptr.size - 1):
        for k in range(ptr[f], ptr[f + 1] - 1):
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
                    if n == found.size:
                        found = np.concatenate((found, np.empty(n, dtype=np.int64)))
                        lines = np.concatenate((lines, np.empty(n, dtype=np.int64)))
                    found[n] = f
                    lines[n] = owner[s]
                    n += 1
    return found[:n], lines[:n]


@njit(cache=True, nogil=True)
def holes_filled(
    points, index, hole_max_m2, edge_ptr, edge_ids, graph, node_time, nodes, times, limit
):  # pragma: no cover - compiled
    """Whether each hole (one vertex in ``points``) lies in a face enclosed by ``limit``.

    ``index`` is :attr:`RoadFaces.index`, ``graph`` the edges' sources, targets, weights and
    twins; a face counts when it is smaller than ``hole_max_m2`` and every one of its boundary
    edges is fully reached: the share reached from its source, ``(limit - t_u) / w``, plus the
    share of its twin reached from its target covers it (each share clipped at 0).
    """
    for a in range(nodes.size):
        node_time[nodes[a]] = times[a]
    areas = index[5]
    out = np.zeros(points.shape[0], dtype=np.bool_)
    for p in range(points.shape[0]):
        f = locate(points[p, 0], points[p, 1], -1, *index)
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
    reach : OriginReach
        The nodes the origin reaches, their times (seconds, origin offset included) and the
        thresholds.
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
        reach: OriginReach,
        hole_max_m2: float,
        node_time: np.ndarray,
    ) -> None:
        self.faces = faces
        self.graph = (rg.edge_sources, rg.indices, rg.weights, twin)
        self.reach = reach
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
            self.reach.nodes,
            self.reach.times,
            float(self.reach.limits[k]),
        )
