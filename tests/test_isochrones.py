"""Tests of isochrone polygons: exact edge cuts, nesting, holes, empty origins, population,
the area within reach and the band by hand, the grid method against the exact method, the
snapping rule."""

from __future__ import annotations

import math
from dataclasses import replace

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from shapely import LineString, Point, box

from geoattract.errors import DataError, RoutingError
from geoattract.network import Network, graph_from_file
from geoattract.network.snapping import SnapRule
from geoattract.routing import network_routing_graph, routing_graph
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
    # 47002's town hall is 10 min away by road: inside at 10.5 min
    iso = isochrones_for_communes(straight_road(), terr, [5, 10.5])
    pop = iso["population_reached"].tolist()
    assert pop[0] == 100.0
    assert math.isnan(pop[1])  # 47002 is inside and has no population


def test_isochrones_for_communes_validates():
    with pytest.raises(DataError, match="town_hall"):
        isochrones_for_communes(straight_road(), territory().drop(columns="town_hall"))
    with pytest.raises(DataError, match="population_method"):
        isochrones_for_communes(straight_road(), territory(), population_method="dasymetric")


def test_a_graph_and_its_network_draw_the_same():
    G = straight_road()
    net = Network.from_graph(G)
    a = isochrones(net, ["A"], [5])
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


#: Off-road pace of the area tests: 1.2 detour at 36 km/h, 0.12 s per metre of straight line.
OFF_ROAD = SnapRule(max_distance_m=5000.0, speed_kph=36.0, detour=1.2)


def off_road(G: nx.MultiDiGraph) -> Network:
    """The graph as a network joined by :data:`OFF_ROAD`."""
    return Network.from_graph(G, OFF_ROAD)


def hull_of_disc_and_point(r: float, d: float) -> float:
    """Area of the convex hull of a disc of radius ``r`` and a point ``d > r`` from its centre.

    The two tangents from the point touch the circle at ``±acos(r / d)`` from the direction of
    the point: the hull is the circle less that sector, plus the two right triangles.
    """
    alpha = math.acos(r / d)
    return r * r * (math.pi - alpha) + r * math.sqrt(d * d - r * r)


@pytest.mark.parametrize("method", ["grid", "exact"])
def test_area_within_reach_of_a_straight_road_by_hand(method):
    # 10 km road at 60 km/h (0.06 s/m); off road 0.12 s/m. From node A at 0 s, 5 min (300 s):
    # road reached up to 5 km, off-road radius (300 - t) / 0.12: 2.5 km at A, 0 at 5 km. The
    # union of those discs is the hull of the disc of 2.5 km round A and the point at 5 km.
    iso = isochrones(off_road(straight_road()), ["A"], [5], method=method)
    (poly,) = iso.geometry
    expected = hull_of_disc_and_point(2500.0, 5000.0)
    assert expected == pytest.approx(23.915e6, rel=1e-4)
    assert poly.area == pytest.approx(expected, rel=0.005)
    assert poly.bounds == pytest.approx((-2500.0, -2500.0, 5000.0, 2500.0), abs=40.0)
    assert iso["shape"].tolist() == ["area"]
    # a point 1 km off the road at 3 km: best road point 3 km - 1 km · 0.06 / √(0.12² - 0.06²)
    # = 2,422.6 m (at 145.4 s), then 1,154.7 m off road (138.6 s): 284.0 s, inside 5 min;
    # 1.3 km off the road at 3 km: 135.0 + 180.1 = 315.1 s: outside
    assert poly.contains(Point(3000, 1000)) and not poly.contains(Point(3000, 1300))


@pytest.mark.parametrize("method", ["grid", "exact"])
def test_area_leaves_the_land_of_another_road_to_it(method):
    # road 1: A (0, 0) - B (10 km, 0) at 60 km/h. Road 2, 3 km north, with a node every 500 m,
    # joins road 1 only at B by a 3 km lane of 180 s: not reached within 10 min from A.
    G = straight_road()
    prev = None
    for k in range(21):
        G.add_node(k, x=500.0 * k, y=3000.0)
        if prev is not None:
            for u, v in ((prev, k), (k, prev)):
                G.add_edge(u, v, length=500.0, travel_time=30.0)
        prev = k
    for u, v in (("B", 20), (20, "B")):
        G.add_edge(u, v, length=3000.0, travel_time=180.0)
    (poly,) = isochrones(off_road(G), ["A"], [10], method=method).geometry
    # (3000, 400): its nearest node is on road 2, 2.6 km away; road 1 is 400 m away: best road
    # point 3000 - 400 · 0.06 / √(0.12² - 0.06²) = 2769.1 m (166.1 s), 461.9 m off road
    # (55.4 s): 221.6 s, inside
    assert poly.contains(Point(3000, 400))
    # (3000, 2900): 481 s from road 1 (2.9 km off road), but its own node is 100 m away on
    # road 2: it joins the roads no farther than that, and road 2 is not reached: outside
    assert not poly.contains(Point(3000, 2900))
    assert not poly.intersects(Point(5000, 2800))
    # the land round A, closer to A than to road 2, is reached as before (2.5 km at 300 s)
    assert poly.contains(Point(-2000, 1000))


def test_area_reach_time_field_against_brute_force():
    from geoattract.routing.isoreach import NodeDistance, reach_field

    # two segments: a road from (0, 0) to (4000, 0) reached at 0 s, 0.05 s/m; a road from
    # (2000, 3000) to (2000, 6000) reached at 100 s, 0.04 s/m; pace 0.15 s/m
    segments = np.array(
        [[0.0, 0.0, 4000.0, 0.0, 0.0, 0.05], [2000.0, 3000.0, 2000.0, 6000.0, 100.0, 0.04]]
    )
    none = NodeDistance.unlimited(100.0)
    field, x0, y0, _ = reach_field(
        segments, 600.0, 0.15, 100.0, np.empty(0), none.values, none.nearest, np.empty(0),
        0.0, 0.0, 0.0, False,
    )  # fmt: skip
    ny, nx = field.shape
    gx, gy = np.meshgrid(x0 + 100.0 * np.arange(nx), y0 + 100.0 * np.arange(ny))
    s = np.linspace(0.0, 1.0, 4001)[:, None, None]
    best = np.full(field.shape, np.inf)
    for ax, ay, bx, by, ta, rate in segments:
        px, py = ax + s * (bx - ax), ay + s * (by - ay)
        t = ta + rate * s * math.hypot(bx - ax, by - ay)
        best = np.minimum(best, (t + 0.15 * np.hypot(gx - px, gy - py)).min(axis=0))
    within = best <= 600.0
    # exact: the brute force samples the roads every metre (up to 0.05 s above the truth)
    assert (field >= best - 0.05).all()
    error = np.abs(field - best)[within]
    assert error.max() < 0.05
    assert field[~within].min() > 600.0 - 0.05


def test_area_holds_the_origin_point_even_far_from_the_road():
    # a town hall 2 km off the road: 2 km × 1.2 at 36 km/h = 240 s of access leg; at 3 min the
    # network is not reached yet, the area is the disc of 180 s / 0.12 = 1.5 km round the hall
    hall = Point(0, 2000)
    iso = isochrones(off_road(straight_road()), [hall], [3, 10])
    small, large = iso.geometry
    assert small.contains(hall) and large.covers(small)
    # a disc of 6 grid steps drawn by chords: within 1 %
    assert small.area == pytest.approx(math.pi * 1500.0**2, rel=0.01)
    assert iso["snap_distance_m"].tolist() == [2000.0, 2000.0]


def test_area_leaves_no_road_between_motorway_exits():
    # a motorway A -> M -> B (M between two exits is not snappable) and a local road from B
    G = nx.MultiDiGraph(crs="EPSG:2154")
    for n, x, ok in (("A", 0.0, True), ("M", 10_000.0, False), ("B", 20_000.0, True)):
        G.add_node(n, x=x, y=0.0, snappable=ok)
    for u, v in (("A", "M"), ("M", "B")):
        G.add_edge(u, v, travel_time=300.0)
        G.add_edge(v, u, travel_time=300.0)
    iso = isochrones(off_road(G), ["A"], [11]).geometry.iloc[0]
    # off road only round A (660 s / 0.12 = 5.5 km) and round B (reached at 600 s: 0.5 km)
    assert iso.contains(Point(0, 5000)) and iso.contains(Point(20_000, 400))
    assert not iso.contains(Point(10_000, 600))
    expected = math.pi * (5500.0**2 + 500.0**2)
    assert iso.area == pytest.approx(expected, rel=0.01)


@pytest.mark.parametrize("shape", ["band", "area"])
def test_grid_isochrones_nested_valid_and_close_to_exact(shape):
    G = off_road(grid_graph())
    origins = [(6, 6), (0, 0), (3, 9)]
    # blocks of 1 km with 200 m bands: 600 m holes whose square corners the grid rounds off
    # by about step²/8 each; at a 50 m step the polygons of a few km² stay above 0.97 (the
    # study's polygons of 60-1500 km² do at the default step)
    kw = {"shape": shape, "resolution_m": 50.0}
    grid = isochrones(G, origins, [1.5, 4, 8], **kw)
    exact = isochrones(G, origins, [1.5, 4, 8], method="exact", **kw)
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
    G = Network.from_graph(
        graph_from_file(shared_dir / "osm-samples" / "maisons_laffitte_osmnx.graphml")
    )
    rg = network_routing_graph(G)
    origins = rg.node_ids[:: max(1, rg.n_nodes // 4)][:4].tolist()
    kwargs = {"shape": "band"}
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
    net = Network.from_graph(straight_road(), rule)
    snapped = isochrones(net, [far], [10], shape="band")
    # 5 km at 60 km/h: 5 min of access, 5 min left to drive 5 km
    assert snapped["snap_distance_m"].tolist() == [5000.0]
    assert snapped["area_km2"].iloc[0] == pytest.approx(2.1257, rel=0.01)
    # the same origin given as a node with its access seconds
    pre = isochrones(straight_road(), ["A"], [10], origin_offsets=[300.0], shape="band")
    assert pre.geometry.iloc[0].equals(snapped.geometry.iloc[0])


def test_isochrones_for_communes_take_the_town_halls_legs():
    terr = territory()
    rule = SnapRule(max_distance_m=2000.0, speed_kph=15.0)
    net = Network.from_graph(straight_road(), rule)
    own = isochrones_for_communes(net, terr, [5, 10])
    assert own["shape"].unique().tolist() == ["area"]
    assert own["empty"].tolist() == [False] * 4 + [True] * 2
    # the dense-commune delay of a calibrated network is spent at the town hall: 47001
    # (100 inhabitants on 1 km²) is dense above 50 per km², and loses a minute of driving
    dense = Network.from_graph(
        straight_road(), replace(rule, dense_delay_s=60.0, dense_density_per_km2=50.0)
    )
    late = isochrones_for_communes(dense, terr, [5, 10])
    assert late["area_km2"].iloc[0] < own["area_km2"].iloc[0]
    # 47003 (7 inhabitants on 2 km²) has no road within the limit either way
    assert late["empty"].tolist() == own["empty"].tolist()


def test_shape_and_method_validated():
    with pytest.raises(RoutingError, match="shape"):
        isochrones(straight_road(), ["A"], [5], shape="blob")
    with pytest.raises(RoutingError, match="method"):
        isochrones(straight_road(), ["A"], [5], method="raster")
    with pytest.raises(RoutingError, match="resolution_m"):
        isochrones(straight_road(), ["A"], [5], shape="band", resolution_m=500.0)
    with pytest.raises(RoutingError, match="resolution_m"):
        isochrones(straight_road(), ["A"], [5], resolution_m=0.0)


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


def test_edge_geometry_cached_with_the_network():
    import gc
    import importlib

    # the module (the package exports a function of the same name)
    iso_mod = importlib.import_module("geoattract.routing.isochrones")
    net = Network.from_graph(square_loop())
    first = isochrones(net, [0], [10], shape="area")
    rg = network_routing_graph(net)
    edges = iso_mod._EDGES[rg][1]
    again = isochrones(net, [0], [10], shape="area")
    assert network_routing_graph(net) is rg and iso_mod._EDGES[rg][1] is edges  # reused
    assert again.geometry.iloc[0].equals_exact(first.geometry.iloc[0], tolerance=0.0)
    # freed with the network (other tests' networks collected first)
    gc.collect()
    n = len(iso_mod._EDGES)
    del net, rg, edges
    gc.collect()
    assert len(iso_mod._EDGES) == n - 1
