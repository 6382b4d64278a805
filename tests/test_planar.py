"""Planar faces traced in compiled code: hand-checked shapes and GEOS's polygonizer."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geoattract.routing.planar import node_lines, trace_faces


def flat(lines: list[list[tuple[float, float]]]) -> tuple[np.ndarray, np.ndarray]:
    """Flat coordinates and offsets of polylines."""
    coords = np.array([p for line in lines for p in line], dtype=float)
    ptr = np.cumsum([0] + [len(line) for line in lines]).astype(np.int64)
    return coords, ptr


def faces_of(lines: list[list[tuple[float, float]]]):
    coords, ptr = flat(lines)
    noded, noded_ptr, origin = node_lines(coords, ptr)
    return trace_faces(noded, noded_ptr), origin


def square(x: float, y: float, side: float) -> list[list[tuple[float, float]]]:
    """The four sides of a square, one line each, anticlockwise from (x, y)."""
    a, b, c, d = (x, y), (x + side, y), (x + side, y + side), (x, y + side)
    return [[a, b], [b, c], [c, d], [d, a]]


def test_two_squares_share_a_side():
    lines = square(0, 0, 1) + [[(1, 0), (2, 0), (2, 1), (1, 1)]]
    faces, origin = faces_of(lines)
    assert origin.tolist() == [0, 1, 2, 3, 4]  # nothing touches but at the ends
    assert sorted(faces.areas.tolist()) == pytest.approx([1.0, 1.0])
    # the shared side (line 1) bounds both faces, the others one each
    assert np.diff(faces.line_ptr).tolist() == [1, 2, 1, 1, 1]


def test_dead_end_bounds_no_face_and_island_is_a_hole():
    # a 4 x 4 square, a dead end into it from a corner, an island square 1 x 1 inside (not
    # connected)
    lines = square(0, 0, 4) + [[(0, 0), (1, 1)]] + square(2, 2, 1)
    faces, _ = faces_of(lines)
    assert sorted(faces.areas.tolist()) == pytest.approx([1.0, 15.0])
    big = int(np.argmax(faces.areas))
    assert faces.face_rings[big + 1] - faces.face_rings[big] == 2  # shell and island
    counts = np.diff(faces.line_ptr).tolist()
    assert counts[4] == 0  # the dead end
    assert counts[5:] == [2, 2, 2, 2]  # the island's sides: the island and the big face


def test_cut_edge_to_an_island_bounds_no_face():
    # the island joined to a corner of the square by a road: a cut edge, walked both ways
    lines = square(0, 0, 4) + [[(0, 0), (2, 2)]] + square(2, 2, 1)
    faces, origin = faces_of(lines)
    assert origin.tolist() == list(range(9))
    assert sorted(faces.areas.tolist()) == pytest.approx([1.0, 15.0])
    assert np.diff(faces.line_ptr).tolist()[4] == 0


def test_crossing_without_junction_is_noded():
    # a 2 x 2 square crossed by two roads on bridges (no node where they cross)
    lines = square(0, 0, 2) + [[(1, 0), (1, 2)], [(0, 1), (2, 1)]]
    coords, ptr = flat(lines)
    _, _, origin = node_lines(coords, ptr)
    # the crossing roads and the four sides their ends touch mid-way are noded by GEOS
    assert (origin >= 0).sum() == 0
    faces, _ = faces_of(lines)
    assert sorted(faces.areas.tolist()) == pytest.approx([1.0, 1.0, 1.0, 1.0])


def test_same_faces_as_geos_polygonize_on_a_random_network():
    rng = np.random.default_rng(3)
    # a jittered 12 x 12 grid of nodes, 70 % of the links kept, plus 15 long random roads
    # crossing it without junctions
    n = 12
    pts = np.stack(np.meshgrid(np.arange(n), np.arange(n)), -1).reshape(-1, 2) * 100.0
    pts = pts + rng.uniform(-20, 20, pts.shape)
    lines = []
    for i in range(n):
        for j in range(n):
            k = i * n + j
            for m in (k + 1 if j + 1 < n else None, k + n if i + 1 < n else None):
                if m is not None and rng.random() < 0.7:
                    mid = (pts[k] + pts[m]) / 2 + rng.uniform(-10, 10, 2)
                    lines.append([tuple(pts[k]), tuple(mid), tuple(pts[m])])
    for _ in range(15):
        a, b = rng.uniform(0, 1100, 2), rng.uniform(0, 1100, 2)
        lines.append([tuple(a), tuple(b)])
    faces, _ = faces_of(lines)
    geos = shapely.get_parts(
        shapely.polygonize(
            shapely.get_parts(shapely.union_all([shapely.LineString(x) for x in lines]))
        )
    )
    geos = geos[shapely.area(geos) > 0]
    assert faces.areas.size == geos.size > 30
    assert np.sort(faces.areas) == pytest.approx(np.sort(shapely.area(geos)), rel=1e-9)


def test_a_face_with_two_islands_keeps_both_as_holes():
    # a 10 x 10 square holding two separate 1 x 1 islands and a 2 x 2 one
    lines = square(0, 0, 10) + square(2, 2, 1) + square(6, 6, 1) + square(2, 6, 2)
    faces, _ = faces_of(lines)
    assert sorted(faces.areas.tolist()) == pytest.approx([1.0, 1.0, 4.0, 94.0])
    big = int(np.argmax(faces.areas))
    assert faces.face_rings[big + 1] - faces.face_rings[big] == 4  # shell and three islands
    rings = [
        shapely.Polygon(faces.coords[faces.ring_ptr[r] : faces.ring_ptr[r + 1]])
        for r in range(faces.face_rings[big], faces.face_rings[big + 1])
    ]
    assert sorted(round(r.area, 9) for r in rings) == [1.0, 1.0, 4.0, 100.0]
