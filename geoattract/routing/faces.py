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


@dataclass(frozen=True, eq=False)
class RoadFaces:
    """Planar faces of a road network's undirected edge lines.

    Attributes
    ----------
    polygons : numpy.ndarray
        One Polygon per face (prepared, for point-in-face tests).
    areas : numpy.ndarray
        Area of each face (m²).
    edge_ptr : numpy.ndarray
        The boundary edges of face ``f`` are ``edge_ids[edge_ptr[f]:edge_ptr[f + 1]]`` (int64).
    edge_ids : numpy.ndarray
        Forward CSR edge ids (one of each pair of twins).
    tree : shapely.STRtree
        Spatial index of ``polygons``.
    """

    polygons: np.ndarray
    areas: np.ndarray
    edge_ptr: np.ndarray
    edge_ids: np.ndarray
    tree: shapely.STRtree

    @property
    def n_faces(self) -> int:
        """Number of faces."""
        return int(self.areas.size)

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
        out = np.full(len(points), -1, dtype=np.int64)
        if len(points) == 0 or self.n_faces == 0:
            return out
        pt, face = self.tree.query(shapely.points(points))
        inside = shapely.contains_xy(self.polygons[face], points[pt, 0], points[pt, 1])
        pt, face = pt[inside], face[inside]
        order = np.argsort(-self.areas[face], kind="stable")  # the smallest face written last
        out[pt[order]] = face[order]
        return out


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
    lines = edges.lines[undirected]
    noded = shapely.get_parts(shapely.union_all(lines))
    polygons = shapely.get_parts(shapely.polygonize(noded))
    polygons = polygons[shapely.area(polygons) > 0]
    shapely.prepare(polygons)
    ptr, required = _boundary_edges(polygons, lines, undirected)
    faces = RoadFaces(
        polygons=polygons,
        areas=shapely.area(polygons),
        edge_ptr=ptr,
        edge_ids=required,
        tree=shapely.STRtree(polygons),
    )
    # GEOS builds the tree and each prepared polygon's point index on first use: build them
    # here, before threads query them concurrently
    faces.face_of(shapely.get_coordinates(shapely.point_on_surface(polygons)))
    logger.debug("road faces: %d from %d undirected edges", faces.n_faces, undirected.size)
    return faces


def _boundary_edges(
    polygons: np.ndarray, lines: np.ndarray, edge_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Face -> edge CSR: the edges along each face's rings (by the segments' midpoints)."""
    rings, ring_face = shapely.get_rings(polygons, return_index=True)
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]
    mid = (coords[1:][same] + coords[:-1][same]) / 2.0
    seg_face = ring_face[ring[1:][same]]
    tree = shapely.STRtree(lines)
    seg, line = tree.query(shapely.points(mid), predicate="dwithin", distance=MATCH_TOLERANCE_M)
    n_edges = np.int64(edge_ids.size)
    keys = np.unique(seg_face[seg].astype(np.int64) * n_edges + line)
    face, line = np.divmod(keys, n_edges)
    ptr = np.zeros(polygons.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(face, minlength=polygons.size), out=ptr[1:])
    return ptr, edge_ids[line].astype(np.int64)


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
    for q in range(faces.size):
        f = faces[q]
        ok = True
        for c in range(edge_ptr[f], edge_ptr[f + 1]):
            e = edge_ids[c]
            share = _share(limit - node_time[sources[e]], weights[e])
            t = twin[e]
            if t >= 0:
                share += _share(limit - node_time[targets[e]], weights[t])
            if share < 1.0:
                ok = False
                break
        out[q] = ok
    for a in range(nodes.size):
        node_time[nodes[a]] = np.inf
    return out


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
        self.rg = rg
        self.twin = twin
        self.nodes = np.asarray(nodes, dtype=np.int64)
        self.times = np.asarray(times, dtype=np.float64)
        self.limits = np.asarray(limits, dtype=np.float64)
        self.hole_max_m2 = float(hole_max_m2)
        self.node_time = node_time

    def __call__(self, k: int, points: np.ndarray, areas: np.ndarray) -> np.ndarray:
        """Fill mask of holes (first vertex ``points``, ``areas`` unused) at threshold ``k``."""
        face = self.faces.face_of(points)
        small = face >= 0
        small[small] = self.faces.areas[face[small]] < self.hole_max_m2
        out = np.zeros(len(points), dtype=bool)
        if not small.any():
            return out
        unique, back = np.unique(face[small], return_inverse=True)
        reached = faces_reached(
            unique,
            self.faces.edge_ptr,
            self.faces.edge_ids,
            self.rg.edge_sources,
            self.rg.indices,
            self.rg.weights,
            self.twin,
            self.node_time,
            self.nodes,
            self.times,
            float(self.limits[k]),
        )
        out[small] = reached[back]
        return out
