"""Tests of isochrone polygons: exact edge cuts, nesting, holes, empty origins, population,
the grid method against hand-computed areas and the exact method, snapping rule."""

from __future__ import annotations

import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from shapely import LineString, Point, box

from geoattract.errors import DataError, RoutingError
from geoattract.network import graph_from_file
from geoattract.network.snapping import SnapRule
from geoattract.routing import routing_graph
from geoattract.routing.edges import OriginReach, cut_lines
from geoattract.routing.isochrones import (
    BUFFER_M,
    ISOCHRONE_COLUMNS,
    isochrones,
    isochrones_for_communes,
    reached_lines,
)
from geoattract.routing.isogrid import GRID_RESOLUTION_M, MIN_RESOLUTION_M, threshold_steps

#: The exact road band of the vector method (today's polygons).
EXACT_BAND = {"shape": "band", "method": "exact"}


def straight_road() -> nx.MultiDiGraph:
    """One two-way road of 10 km at 60 km/h (600 s) from (0, 0) to (10000, 0)."""
    G = nx.MultiDiGraph(crs="EPSG:2154")
    G.add_node("A", x=0.0, y=0.0)
    G.add_node("B", x=10_000.0, y=0.0)
    for u, v in (("A", "B"), ("B", "A")):
        G.add_edge(u, v, length=10_000.0, speed_kph=60.0, travel_time=600.0)
    return G


def square_loop(side: float = 4000.0, edge_s: float = 120.0) -> nx.MultiDiGraph:
    """A two-way square ring road, corners 0..3."""
    G = nx.MultiDiGraph(crs="EPSG:2154")
    corners = [(0.0, 0.0), (side, 0.0), (side, side), (0.0, side)]
    for i, (x, y) in enumerate(corners):
        G.add_node(i, x=x, y=y)
    for i in range(4):
        j = (i + 1) % 4
        G.add_edge(i, j, travel_time=edge_s)
        G.add_edge(j, i, travel_time=edge_s)
    return G


def test_partial_edge_cut_at_exact_length():
    lines = reached_lines(straight_road(), ["A"], [5, 10, 15])
    five = lines[lines["minutes"] == 5.0]
    assert len(five) == 1
    row = five.iloc[0]
    assert (row["u"], row["v"], row["fraction"]) == ("A", "B", 0.5)
    assert row.geometry.length == pytest.approx(5000.0, abs=1e-6)
    assert row.geometry.coords[-1] == pytest.approx((5000.0, 0.0))
    ten = lines[lines["minutes"] == 10.0]
    assert ten.geometry.length.tolist() == [10_000.0]
    # 15 min: the whole road (10 min), and 5 min back from B along B -> A
    fifteen = lines[lines["minutes"] == 15.0].sort_values("u")
    assert fifteen["u"].tolist() == ["A", "B"]
    assert fifteen.geometry.length.tolist() == pytest.approx([10_000.0, 5000.0])


def test_cut_follows_edge_geometry_and_orientation():
    G = nx.MultiDiGraph(crs="EPSG:2154")
    G.add_node(1, x=0.0, y=0.0)
    G.add_node(2, x=3000.0, y=4000.0)
    # L-shaped road 7 km long, stored backwards (from node 2 to node 1): must be flipped
    geom = LineString([(3000, 4000), (3000, 0), (0, 0)])
    G.add_edge(1, 2, travel_time=700.0, geometry=geom)
    lines = reached_lines(G, [1], [350 / 60])
    (cut,) = lines.geometry
    assert cut.length == pytest.approx(3500.0, abs=1e-6)
    np.testing.assert_allclose(
        np.asarray(cut.coords), [(0.0, 0.0), (3000.0, 0.0), (3000.0, 500.0)], atol=1e-9
    )


def test_edge_lines_flat_arrays_orient_stored_geometries():
    from geoattract.routing.edges import edge_lines

    G = nx.MultiDiGraph(crs="EPSG:2154")
    G.add_node(1, x=0.0, y=0.0)
    G.add_node(2, x=3000.0, y=4000.0)
    G.add_node(3, x=3000.0, y=0.0)
    # 1 -> 2 stored backwards (L-shaped, 7 km); 2 -> 3 stored forwards; 3 -> 1 straight
    G.add_edge(1, 2, travel_time=700.0, geometry=LineString([(3000, 4000), (3000, 0), (0, 0)]))
    G.add_edge(2, 3, travel_time=400.0, geometry=LineString([(3000, 4000), (3000, 0)]))
    G.add_edge(3, 1, travel_time=300.0)
    rg = routing_graph(G)
    edges = edge_lines(G, rg)
    ids = rg.node_ids.tolist()
    by_pair = {(ids[rg.edge_sources[e]], ids[rg.indices[e]]): e for e in range(rg.n_edges)}
    one_two = edges.coords[edges.ptr[by_pair[1, 2]] : edges.ptr[by_pair[1, 2] + 1]]
    np.testing.assert_array_equal(one_two, [(0, 0), (3000, 0), (3000, 4000)])
    assert edges.along[edges.ptr[by_pair[1, 2]] : edges.ptr[by_pair[1, 2] + 1]].tolist() == [
        0.0,
        3000.0,
        7000.0,
    ]
    three_one = edges.coords[edges.ptr[by_pair[3, 1]] : edges.ptr[by_pair[3, 1] + 1]]
    np.testing.assert_array_equal(three_one, [(3000, 0), (0, 0)])
    assert edges.twin.tolist() == [-1, -1, -1]
    # the LineStrings built on demand are the same vertices
    assert shapely.get_num_coordinates(edges.lines).tolist() == np.diff(edges.ptr).tolist()
    assert edges.lines_of(np.array([by_pair[1, 2]]))[0].length == pytest.approx(7000.0)


def test_cut_lines_vectorised_fractions():
    lines = np.array(
        [
            LineString([(0, 0), (10, 0)]),
            LineString([(0, 0), (0, 4), (3, 4)]),
            LineString([(0, 0), (2, 0)]),
        ]
    )
    cut = cut_lines(lines, np.array([0.25, 0.5, 1.0]))
    assert shapely.length(cut).tolist() == pytest.approx([2.5, 3.5, 2.0])
    np.testing.assert_allclose(np.asarray(cut[1].coords), [(0, 0), (0, 3.5)], atol=1e-9)


def test_isochrones_nested_and_growing():
    # grid of 1 km edges at 60 s each
    G = nx.MultiDiGraph(crs="EPSG:2154")
    for i in range(12):
        for j in range(12):
            G.add_node((i, j), x=1000.0 * j, y=1000.0 * i)
    for i in range(12):
        for j in range(12):
            for b in ((i + 1, j), (i, j + 1)):
                if b in G:
                    G.add_edge((i, j), b, travel_time=60.0)
                    G.add_edge(b, (i, j), travel_time=60.0)
    iso = isochrones(G, [(6, 6)], [1, 4, 8], **EXACT_BAND)
    polys = iso.geometry.tolist()
    areas = iso["area_km2"].tolist()
    assert areas[0] < areas[1] < areas[2]
    for small, large in zip(polys, polys[1:], strict=False):
        assert small.difference(large).area == pytest.approx(0.0, abs=1e-6)
    assert all(shapely.is_valid(polys))
    # 1 min from the centre: a cross of four 1 km arms: two 2 km x 0.4 km bands, minus
    # their 0.4 x 0.4 overlap, plus 4 half-discs of radius 0.2 km at the ends
    expected = 2 * 2 * 0.4 - 0.4 * 0.4 + 4 * (math.pi * 0.2**2 / 2)
    assert areas[0] == pytest.approx(expected, rel=0.02)
    assert not iso["empty"].any()


def test_isochrone_keeps_holes():
    iso = isochrones(square_loop(), [0], [10], **EXACT_BAND)
    (poly,) = iso.geometry
    assert poly.geom_type == "Polygon"
    assert len(poly.interiors) == 1
    assert not poly.contains(Point(2000, 2000))
    inner = 4000 - 2 * BUFFER_M
    assert poly.area == pytest.approx((4000 + 2 * BUFFER_M) ** 2 - inner**2, rel=0.01)


def test_origin_offset_shrinks_and_excess_offset_is_empty():
    base = isochrones(straight_road(), ["A"], [5], **EXACT_BAND)
    late = isochrones(straight_road(), ["A"], [5], origin_offsets=[60.0], **EXACT_BAND)
    # one minute less of driving at 60 km/h = 1 km less road = 0.4 km² less band
    assert base["area_km2"].iloc[0] - late["area_km2"].iloc[0] == pytest.approx(0.4, rel=1e-3)
    never = isochrones(straight_road(), ["A"], [5], origin_offsets=[600.0])
    assert never["empty"].tolist() == [True]
    assert math.isnan(never["area_km2"].iloc[0])


def test_points_snapped_and_origin_without_road_is_flagged_empty():
    iso = isochrones(straight_road(), [Point(0, 30), Point(0, 50_000), None], [5])
    assert iso["empty"].tolist() == [False, True, True]
    assert iso["node"].tolist()[0] == "A"
    assert iso["snap_distance_m"].iloc[0] == pytest.approx(30.0)
    assert iso.geometry.iloc[1].is_empty
    assert np.isnan(iso["area_km2"].iloc[1:]).all()
    with pytest.raises(RoutingError, match="all node identifiers or all shapely Points"):
        isochrones(straight_road(), ["A", Point(0, 0)], [5])


def test_minutes_validated():
    with pytest.raises(RoutingError, match="minutes"):
        isochrones(straight_road(), ["A"], [0])


def territory() -> gpd.GeoDataFrame:
    halls = [Point(0, 0), Point(10_000, 0), Point(0, 80_000), None]
    return gpd.GeoDataFrame(
        {
            "code": ["47001", "47002", "47003", "33001"],
            "population": [100.0, 50.0, 7.0, np.nan],
            "in_study": [True, True, True, False],
            "town_hall": halls,
            "geometry": [
                box(0, -100, 5000, 100),
                box(6000, -100, 10_000, 100),
                box(0, 79_000, 1000, 81_000),
                box(20_000, -100, 30_000, 100),
            ],
        },
        crs="EPSG:2154",
    )


@pytest.mark.parametrize("method", ["town_hall", "area"])
def test_isochrones_for_communes_population(method):
    iso = isochrones_for_communes(
        straight_road(), territory(), [5, 10], population_method=method, **EXACT_BAND
    )
    assert (
        list(iso.columns)
        == list(ISOCHRONE_COLUMNS)
        == [
            "code",
            "minutes",
            "shape",
            "area_km2",
            "population_reached",
            "empty",
            "snap_distance_m",
            "geometry",
        ]
    )
    assert iso.crs == "EPSG:2154"
    assert iso["code"].tolist() == ["47001", "47001", "47002", "47002", "47003", "47003"]
    assert iso["minutes"].tolist() == [5.0, 10.0] * 3
    pop = iso["population_reached"].tolist()
    # 5 min from 47001 reaches x <= 5000 (+200 m band): its own hall / box only
    assert [pop[0], pop[1], pop[3]] == [100.0, 150.0, 150.0]
    if method == "town_hall":
        assert pop[2] == 50.0
    else:
        # 5 min from 47002 reaches x >= 5000 - 200 m: under 200 m of the 5 km box of 47001
        assert 50.0 + 100 * 0.03 < pop[2] < 50.0 + 100 * 200 / 5000
    # 47003 has no road within the snapping limit: explicit empty rows, NaN values
    assert iso["empty"].tolist() == [False] * 4 + [True] * 2
    assert np.isnan(pop[4:]).all()
    assert np.isnan(iso["area_km2"].iloc[4:]).all()


def test_isochrones_for_communes_missing_population_is_nan():
    terr = territory()
    terr.loc[1, "population"] = np.nan
    iso = isochrones_for_communes(straight_road(), terr, [5, 10])
    pop = iso["population_reached"].tolist()
    assert pop[0] == 100.0
    assert math.isnan(pop[1])  # 47002 is inside and has no population


def test_isochrones_for_communes_validates():
    with pytest.raises(DataError, match="town_hall"):
        isochrones_for_communes(straight_road(), territory().drop(columns="town_hall"))
    with pytest.raises(DataError, match="population_method"):
        isochrones_for_communes(straight_road(), territory(), population_method="dasymetric")


def test_same_graph_routing_graph_reused():
    G = straight_road()
    rg = routing_graph(G)
    a = isochrones(G, ["A"], [5], rg=rg)
    b = isochrones(G, ["A"], [5])
    assert a.geometry.iloc[0].equals(b.geometry.iloc[0])


# --------------------------------------------------------------------------------------------
# Shapes, the grid method, the snapping rule
# --------------------------------------------------------------------------------------------


def grid_graph(n: int = 12, edge_s: float = 60.0) -> nx.MultiDiGraph:
    """Square grid of two-way 1 km edges."""
    G = nx.MultiDiGraph(crs="EPSG:2154")
    for i in range(n):
        for j in range(n):
            G.add_node((i, j), x=1000.0 * j, y=1000.0 * i)
    for i in range(n):
        for j in range(n):
            for b in ((i + 1, j), (i, j + 1)):
                if b in G:
                    G.add_edge((i, j), b, travel_time=edge_s)
                    G.add_edge(b, (i, j), travel_time=edge_s)
    return G


def iou(a, b) -> float:
    """Intersection over union of two polygons."""
    return shapely.area(shapely.intersection(a, b)) / shapely.area(shapely.union(a, b))


@pytest.mark.parametrize("length_m", [5000.0, 10_000.0])
def test_grid_band_of_a_straight_road(length_m):
    # 5 min of a 10 km road at 60 km/h: 5 km reached; 10 min: all of it
    minutes = length_m / 1000.0
    iso = isochrones(straight_road(), ["A"], [minutes], shape="band", method="grid")
    (poly,) = iso.geometry
    w = BUFFER_M
    expected = 2 * w * length_m + math.pi * w**2  # band plus the two half-disc ends
    # the round ends are drawn by chords through grid-edge points: under 1 % of the area here
    assert poly.area == pytest.approx(expected, rel=0.01)
    assert poly.bounds == pytest.approx((-w, -w, length_m + w, w), abs=GRID_RESOLUTION_M / 4)
    assert iso["shape"].tolist() == ["band"]
    assert iso["area_km2"].iloc[0] == pytest.approx(poly.area / 1e6)


@pytest.mark.parametrize("method", ["grid", "exact"])
def test_area_fills_the_ring_road_and_band_keeps_the_hole(method):
    band = isochrones(square_loop(), [0], [10], shape="band", method=method).geometry.iloc[0]
    area = isochrones(square_loop(), [0], [10], shape="area", method=method).geometry.iloc[0]
    assert len(band.interiors) == 1
    assert not band.contains(Point(2000, 2000))
    assert area.geom_type == "Polygon" and len(area.interiors) == 0
    assert area.contains(Point(2000, 2000))
    w = BUFFER_M
    # the 4.4 km square with rounded corners, hole included
    assert area.area == pytest.approx((4000 + 2 * w) ** 2 - (4 - math.pi) * w**2, rel=0.01)
    assert band.area == pytest.approx((4000 + 2 * w) ** 2 - (4000 - 2 * w) ** 2, rel=0.01)
    # a face larger than hole_max_km2 is not filled: the 4 km x 4 km face is 16 km²
    kept = isochrones(square_loop(), [0], [10], shape="area", method=method, hole_max_km2=15.0)
    assert len(kept.geometry.iloc[0].interiors) == 1
    filled = isochrones(square_loop(), [0], [10], shape="area", method=method, hole_max_km2=17.0)
    assert len(filled.geometry.iloc[0].interiors) == 0


def u_of_three_roads(edge_s: float = 60.0) -> nx.MultiDiGraph:
    """Three two-way roads (left, bottom, right + top) round a 4 km square, open at one corner.

    The left road stops at (0, 3750) and the top one at (250, 4000): the tips are 354 m apart,
    so their 200 m bands overlap and close the band's hole, yet no road encloses it.
    """
    G = nx.MultiDiGraph(crs="EPSG:2154")
    nodes = {0: (0.0, 0.0), 1: (4000.0, 0.0), 2: (4000.0, 4000.0), 3: (250.0, 4000.0)}
    nodes[4] = (0.0, 3750.0)
    for n, (x, y) in nodes.items():
        G.add_node(n, x=x, y=y)
    for u, v in ((0, 1), (1, 2), (2, 3), (0, 4)):
        G.add_edge(u, v, travel_time=edge_s)
        G.add_edge(v, u, travel_time=edge_s)
    return G


@pytest.mark.parametrize("method", ["grid", "exact"])
def test_area_keeps_a_hole_its_face_roads_do_not_all_reach(method):
    # corners 1 and 3 at 2 min, corner 2 at 4 min: at 3.9 min (234 s) the sides 1 -> 2 and
    # 3 -> 2 are reached up to 3.8 km, their tips 283 m apart: the bands close the hole, but
    # the face's roads are not all reached, so the hole stays; at 4 min they all are
    iso = isochrones(square_loop(), [0], [3.9, 4.0], shape="area", method=method)
    band = isochrones(square_loop(), [0], [3.9], shape="band", method=method).geometry.iloc[0]
    part, full = iso.geometry
    assert part.is_valid and full.is_valid and full.covers(part)
    assert len(part.interiors) == 1
    # the hole is the 3.6 km square inside the band (its corner at (3800, 3800) is where the
    # two round tips meet)
    assert shapely.Polygon(part.interiors[0]).area == pytest.approx(3600.0**2, rel=0.01)
    assert part.symmetric_difference(band).area == pytest.approx(0.0, abs=1.0)
    assert len(full.interiors) == 0
    w = BUFFER_M
    assert full.area == pytest.approx((4000 + 2 * w) ** 2 - (4 - math.pi) * w**2, rel=0.01)


@pytest.mark.parametrize("method", ["grid", "exact"])
def test_area_keeps_a_hole_closed_only_by_the_band(method):
    # a U of roads whose tips' bands overlap: the band has a hole, but no road face holds it
    # (the size rule filled it: 13 km² < 100 km²)
    iso = isochrones(u_of_three_roads(), [0], [10], shape="area", method=method)
    band = isochrones(u_of_three_roads(), [0], [10], shape="band", method=method)
    (area,) = iso.geometry
    assert area.is_valid and len(area.interiors) == 1
    # the 3.6 km square, and a sliver of a few hundred m² between the tips' round ends
    assert shapely.Polygon(area.interiors[0]).area == pytest.approx(3600.0**2, rel=0.005)
    assert area.symmetric_difference(band.geometry.iloc[0]).area == pytest.approx(0.0, abs=1.0)
    assert iso["area_km2"].iloc[0] == pytest.approx(band["area_km2"].iloc[0])


def test_road_faces_of_the_ring_road_and_the_u():
    from geoattract.routing.edges import edge_lines
    from geoattract.routing.faces import road_faces

    G = square_loop()
    rg = routing_graph(G)
    faces = road_faces(edge_lines(G, rg))
    assert faces.n_faces == 1
    assert faces.areas.tolist() == pytest.approx([16e6])
    # the four sides, one edge of each pair of twins
    sides = {frozenset((rg.edge_sources[e], rg.indices[e])) for e in faces.edge_ids}
    assert len(faces.edge_ids) == 4 and len(sides) == 4
    assert faces.face_of(np.array([[2000.0, 2000.0], [5000.0, 2000.0]])).tolist() == [0, -1]
    U = u_of_three_roads()
    assert road_faces(edge_lines(U, routing_graph(U))).n_faces == 0


def test_road_faces_are_noded_where_roads_cross_without_a_junction():
    from geoattract.routing.edges import edge_lines
    from geoattract.routing.faces import road_faces

    # the square ring road and a road crossing it on bridges from (-1000, 2000) to
    # (5000, 2000): two faces of 8 km², each bounded by three sides and the crossing road
    G = square_loop()
    G.add_node("W", x=-1000.0, y=2000.0)
    G.add_node("E", x=5000.0, y=2000.0)
    G.add_edge("W", "E", travel_time=100.0)
    G.add_edge("E", "W", travel_time=100.0)
    rg = routing_graph(G)
    faces = road_faces(edge_lines(G, rg))
    assert sorted(faces.areas.tolist()) == pytest.approx([8e6, 8e6])
    assert np.diff(faces.edge_ptr).tolist() == [4, 4]


def test_road_faces_of_a_grid_located_like_shapely():
    from geoattract.routing.edges import edge_lines
    from geoattract.routing.faces import road_faces

    # 12 x 12 nodes 1 km apart: 11 x 11 blocks of 1 km², each bounded by its four sides
    G = grid_graph()
    rg = routing_graph(G)
    faces = road_faces(edge_lines(G, rg))
    assert faces.n_faces == 121
    assert faces.areas.tolist() == pytest.approx([1e6] * 121)
    assert np.diff(faces.edge_ptr).tolist() == [4] * 121
    centres = np.array([(500.0 + 1000 * i, 500.0 + 1000 * j) for i in range(11) for j in range(11)])
    found = faces.face_of(centres)
    assert sorted(found.tolist()) == list(range(121))
    rng = np.random.default_rng(5)
    points = rng.uniform(-2000.0, 13_000.0, size=(2000, 2))
    expected = np.full(len(points), -1)
    for f, polygon in enumerate(faces.polygons):
        expected[shapely.contains_xy(polygon, points[:, 0], points[:, 1])] = f
    assert faces.face_of(points).tolist() == expected.tolist()
    assert (expected == -1).sum() > 0 and (expected >= 0).sum() > 0


@pytest.mark.parametrize("shape", ["band", "area"])
def test_grid_isochrones_nested_valid_and_close_to_exact(shape):
    G = grid_graph()
    rg = routing_graph(G)
    origins = [(6, 6), (0, 0), (3, 9)]
    # blocks of 1 km with 200 m bands: 600 m holes whose square corners the grid rounds off
    # by about step²/8 each; at a 50 m step the polygons of a few km² stay above 0.97 (the
    # study's polygons of 60-1500 km² do at the default step)
    grid = isochrones(G, origins, [1.5, 4, 8], rg=rg, shape=shape, resolution_m=50.0)
    exact = isochrones(G, origins, [1.5, 4, 8], rg=rg, shape=shape, method="exact")
    polys = grid.geometry.to_numpy().reshape(3, 3)
    assert shapely.is_valid(polys).all()
    for k in range(2):
        assert shapely.covers(polys[:, k + 1], polys[:, k]).all()
        assert shapely.area(shapely.difference(polys[:, k], polys[:, k + 1])).max() == 0.0
    exact_polys = exact.geometry.to_numpy().reshape(3, 3)
    assert shapely.is_valid(exact_polys).all()
    for k in range(2):
        assert shapely.covers(exact_polys[:, k + 1], exact_polys[:, k]).all()
    for a, b in zip(grid.geometry, exact.geometry, strict=True):
        assert iou(a, b) >= 0.97
        assert a.area == pytest.approx(b.area, rel=0.02)


def test_threshold_steps_follow_each_isochrone():
    rg = routing_graph(straight_road())
    a, b = (int(np.flatnonzero(rg.node_ids == n)[0]) for n in ("A", "B"))
    nodes, times = np.array([a, b]), np.array([0.0, 600.0])

    def steps(limits, offset=0.0):
        reach = OriginReach.of(a, offset, nodes, times, np.array(limits))
        return threshold_steps(rg, reach, BUFFER_M, 125.0)

    both = math.sqrt(10_400 * 400) / 20  # A and B within: a 10,400 x 400 m box, 20 steps
    # within 300 s only A: a box of 400 m (the band around A) over 20 steps is 20 m, floored
    assert steps([300.0, 900.0]) == pytest.approx([MIN_RESOLUTION_M, both])
    assert MIN_RESOLUTION_M == 25.0
    assert steps([600.0, 900.0]) == pytest.approx([both, both])
    # a threshold below the offset of 400 s is not drawn: the default step
    assert steps([300.0, 700.0], offset=400.0) == pytest.approx([125.0, both])
    assert steps([300.0], offset=400.0) == pytest.approx([125.0])
    # a 2 km band: a 14,000 x 4,000 m box over 20 steps is 374 m, capped at the default step
    wide = threshold_steps(rg, OriginReach.of(a, 0.0, nodes, times, [600.0]), 2_000.0, 125.0)
    assert wide == pytest.approx([125.0])


def test_small_isochrone_drawn_finer_at_the_default_step():
    # 30 s along a 60 km/h road: a 500 m piece and its 200 m band, about 0.3 km²; at a fixed
    # 125 m step its round ends (chords across three steps) would cost it about 5 % of IoU
    G = straight_road()
    grid = isochrones(G, ["A"], [0.5, 20], shape="band")
    exact = isochrones(G, ["A"], [0.5, 20], **EXACT_BAND)
    small, large = grid.geometry.iloc[0], grid.geometry.iloc[1]
    assert small.area == pytest.approx(exact.geometry.iloc[0].area, rel=0.01)
    assert iou(small, exact.geometry.iloc[0]) >= 0.99
    assert iou(large, exact.geometry.iloc[1]) >= 0.99
    assert shapely.covers(large, small)


def test_grid_matches_exact_on_a_real_osm_town(shared_dir):
    G = graph_from_file(shared_dir / "osm-samples" / "maisons_laffitte_osmnx.graphml")
    rg = routing_graph(G)
    origins = rg.node_ids[:: max(1, rg.n_nodes // 4)][:4].tolist()
    kwargs = {"rg": rg, "shape": "band"}
    # polygons of 0.3-4 km²: a grid step of half the band width keeps IoU >= 0.97 (0.977)
    grid = isochrones(G, origins, [1, 2, 3], method="grid", resolution_m=100.0, **kwargs)
    exact = isochrones(G, origins, [1, 2, 3], method="exact", **kwargs)
    assert not grid["empty"].any()
    for a, b in zip(grid.geometry, exact.geometry, strict=True):
        assert a.is_valid
        assert iou(a, b) >= 0.97
        assert a.area == pytest.approx(b.area, rel=0.02)


def test_snap_rule_and_presnapped_origins():
    far = Point(0, 5000)  # 5 km from node A
    default = isochrones(straight_road(), [far], [5])
    assert default["empty"].tolist() == [True]  # beyond the package's 2 km limit
    rule = SnapRule(max_distance_m=10_000.0, speed_kph=60.0)
    snapped = isochrones(straight_road(), [far], [10], snap_rule=rule, shape="band")
    # 5 km at 60 km/h: 5 min of access, 5 min left to drive 5 km
    assert snapped["snap_distance_m"].tolist() == [5000.0]
    assert snapped["area_km2"].iloc[0] == pytest.approx(2.1257, rel=0.01)
    # the same origin given as a node with its access seconds
    pre = isochrones(straight_road(), ["A"], [10], origin_offsets=[300.0], shape="band")
    assert pre.geometry.iloc[0].equals(snapped.geometry.iloc[0])


def test_isochrones_for_communes_reuses_snapped_town_halls():
    terr = territory()
    rule = SnapRule(max_distance_m=2000.0, speed_kph=15.0)
    halls = gpd.GeoSeries(terr["town_hall"].iloc[:3].tolist(), index=terr.index[:3])
    snapped = rule.snap(straight_road(), halls)
    snapped.loc[1, "snap_time_s"] = 60.0  # one minute of access leg for 47002
    own = isochrones_for_communes(straight_road(), terr, [5, 10], snapped=snapped)
    assert own["shape"].unique().tolist() == ["area"]
    assert own["empty"].tolist() == [False] * 4 + [True] * 2
    again = isochrones_for_communes(straight_road(), terr, [5, 10], snap_rule=rule)
    # 47001 is snapped at 0 m either way; 47002 reaches less with its extra minute
    assert own.geometry.iloc[0].equals(again.geometry.iloc[0])
    assert own["area_km2"].iloc[2] < again["area_km2"].iloc[2]
    with pytest.raises(DataError, match="snapped"):
        isochrones_for_communes(straight_road(), terr, [5], snapped=snapped.iloc[:1])


def test_shape_and_method_validated():
    with pytest.raises(RoutingError, match="shape"):
        isochrones(straight_road(), ["A"], [5], shape="blob")
    with pytest.raises(RoutingError, match="method"):
        isochrones(straight_road(), ["A"], [5], method="raster")
    with pytest.raises(RoutingError, match="resolution_m"):
        isochrones(straight_road(), ["A"], [5], resolution_m=500.0)


def test_filling_a_hole_covers_the_islands_in_it():
    from geoattract.routing.contour import fill_holes

    def below(size_m2):
        return lambda _, areas: areas < size_m2

    ring = box(0, 0, 10_000, 10_000).difference(box(2000, 2000, 8000, 8000))
    with_island = shapely.union(ring, box(4000, 4000, 6000, 6000))
    filled = fill_holes(with_island, below(100e6))
    assert filled.geom_type == "Polygon" and filled.is_valid
    assert filled.area == pytest.approx(1e8)
    kept = fill_holes(with_island, below(10e6))  # the 36 km² hole is larger: kept, island too
    assert kept.area == pytest.approx(with_island.area)


def test_trace_rings_diamond_hole_and_saddle():
    from geoattract.routing.contour import _ring_areas, trace_rings

    # one grid point inside: a diamond through the four edge midpoints, anticlockwise
    field = np.ones((5, 5))
    field[2, 2] = 0.0
    points, offsets = trace_rings(field, 0.5)
    assert offsets.tolist() == [0, 5]
    assert sorted(map(tuple, points[:-1].tolist())) == [
        (1.5, 2.0),
        (2.0, 1.5),
        (2.0, 2.5),
        (2.5, 2.0),
    ]
    assert _ring_areas(points, offsets).tolist() == [0.5]
    # a 5 x 5 block of points inside with its centre outside: the square [1.5, 6.5]² less
    # its four corner triangles of 0.125 (shell, +), and the centre's diamond (hole, -)
    field = np.ones((9, 9))
    field[2:7, 2:7] = 0.0
    field[4, 4] = 1.0
    points, offsets = trace_rings(field, 0.5)
    areas = sorted(_ring_areas(points, offsets).tolist())
    assert areas == pytest.approx([-0.5, 25.0 - 4 * 0.125])
    # a saddle cell (two opposite corners inside): joined when the mean of its corners is
    # inside (one ring), split otherwise (two rings)
    saddle = np.ones((4, 4))
    saddle[1, 1] = saddle[2, 2] = 0.0
    assert trace_rings(saddle, 0.5)[1].size - 1 == 1  # the mean, 0.5, is inside at 0.5
    assert trace_rings(saddle, 0.49)[1].size - 1 == 2
    assert trace_rings(saddle, 0.51)[1].size - 1 == 1


def test_edge_geometry_and_faces_cached_with_the_routing_graph():
    import gc
    import importlib

    # the module (the package exports a function of the same name)
    iso_mod = importlib.import_module("geoattract.routing.isochrones")
    G = square_loop()
    rg = routing_graph(G)
    first = isochrones(G, [0], [10], rg=rg, shape="area")
    edges = iso_mod._EDGES[rg][1]
    assert iso_mod._FACES[edges].n_faces == 1
    again = isochrones(G, [0], [10], rg=rg, shape="area")
    assert iso_mod._EDGES[rg][1] is edges  # reused, not rebuilt
    assert again.geometry.iloc[0].equals_exact(first.geometry.iloc[0], tolerance=0.0)
    # another road graph with the same routing graph: drawn again from its geometry
    H = G.copy()
    isochrones(H, [0], [10], rg=rg, shape="area")
    assert iso_mod._EDGES[rg][1] is not edges
    # freed with the routing graph
    n = len(iso_mod._EDGES)
    del rg, edges
    gc.collect()
    assert len(iso_mod._EDGES) == n - 1
