"""Town halls join a line network where they meet it (lines split at their projections);
winding pace and junction delay in the edge times; the cache key follows the split points."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point

from geoattract import settings
from geoattract.network.line_model import junction_nodes
from geoattract.network.lines import line_network
from geoattract.network.snapping import snap_points
from geoattract.network.split import SPLIT_TOLERANCE_M, points_digest, split_at_points

TM = Path(__file__).parent / "data" / "lines" / "travelmapping_tiny.geojson"


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "cache_folder", tmp_path / "cache")


def _layer(lines, highway, oneway=None):
    data = {"highway": highway}
    if oneway is not None:
        data["oneway"] = oneway
    return gpd.GeoDataFrame(data, geometry=lines, crs=2154)


def _node(net, x, y):
    hit = np.flatnonzero((np.abs(net.x - x) < 1e-6) & (np.abs(net.y - y) < 1e-6))
    assert hit.size == 1, (x, y)
    return int(hit[0])


def test_split_two_way_line_at_a_projected_point():
    # a two-way road (0,0)-(100,0) and a one-way road (100,0)-(100,100)-(0,100)-(0,0) back
    gdf = _layer(
        [
            LineString([(0, 0), (100, 0)]),
            LineString([(100, 0), (100, 100), (0, 100), (0, 0)]),
        ],
        ["secondary", "tertiary"],
        ["no", "yes"],
    )
    cols = {"class": "highway", "oneway": "oneway"}
    town_halls = gpd.GeoSeries(
        [
            Point(40, 30),  # projects at (40, 0): split there, 30 m away
            Point(0.5 * SPLIT_TOLERANCE_M, -20),  # within the tolerance of the end (0, 0)
            Point(100 + 20_000, 60),  # beyond the snapping limit (10 km): nothing
            Point(130, 60),  # projects at (100, 60) on the one-way road
        ],
        crs=2154,
    )
    plain = line_network(gdf, columns=cols, calibration=None)
    net = line_network(gdf, columns=cols, calibration=None, split_points=town_halls)
    assert net.attrs["split_points"] == 2
    assert (plain.n_nodes, plain.n_edges) == (2, 3)
    # two new nodes; the two-way halves keep both directions, the one-way pieces one
    assert (net.n_nodes, net.n_edges) == (4, 6)
    a, s, b, t = _node(net, 0, 0), _node(net, 40, 0), _node(net, 100, 0), _node(net, 100, 60)
    halves = {
        (int(u), int(v)): g for u, v, g in zip(net.u, net.v, net.geometry_length, strict=True)
    }
    assert halves[(a, s)] == halves[(s, a)] == pytest.approx(40.0)
    assert halves[(s, b)] == halves[(b, s)] == pytest.approx(60.0)
    assert halves[(b, t)] == pytest.approx(60.0)
    assert halves[(t, a)] == pytest.approx(40.0 + 100.0 + 100.0)
    assert (t, b) not in halves  # one-way kept
    assert net.highway[net.u == s].tolist() == ["secondary", "secondary"]
    assert net.highway[net.u == t].tolist() == ["tertiary"]
    # lengths add up exactly (each line counted once)
    assert net.road_km() == pytest.approx(plain.road_km(), abs=1e-12)
    snapped = snap_points(net.nodes_frame(), town_halls.iloc[[0, 1, 3]], max_distance_m=10_000)
    assert snapped["node"].tolist() == [s, a, t]
    assert snapped["snap_distance_m"].tolist() == pytest.approx(
        [30.0, math.hypot(0.5 * SPLIT_TOLERANCE_M, 20), 30.0]
    )


def test_split_rules_on_the_arrays():
    line = np.array([LineString([(0, 0), (100, 0), (100, 100)])], dtype=object)
    points = np.array(
        [
            [100.4, -0.5],  # within the tolerance of the interior vertex (100, 0): cut at it
            [60, 5],  # cut at (60, 0)
            [60.5, -5],  # 0.5 m from the previous cut: the same cut
            [100.5, 99.5],  # within the tolerance of the end: no cut
        ]
    )
    pieces, owner, cuts = split_at_points(line, np.array([True]), points, max_distance_m=50.0)
    assert cuts == 2 and owner.tolist() == [0, 0, 0]
    assert [p.wkt for p in pieces] == [
        "LINESTRING (0 0, 60 0)",
        "LINESTRING (60 0, 100 0)",
        "LINESTRING (100 0, 100 100)",
    ]
    # a line that may not be joined (motorway) is never split
    same, owner, cuts = split_at_points(line, np.array([False]), points, max_distance_m=50.0)
    assert cuts == 0 and same[0] is line[0]


def test_junction_delay_and_winding_time():
    # A(0,0) - J(100,0) - E(200,0) straight; J - (100,100) - W(200,100) winding (200 m,
    # chord 141.42 m); 36 km/h = 10 m/s; 0.1 s per winding metre; 5 s per junction entered
    gdf = _layer(
        [
            LineString([(0, 0), (100, 0)]),
            LineString([(100, 0), (200, 0)]),
            LineString([(100, 0), (100, 100), (200, 100)]),
        ],
        ["secondary"] * 3,
    )
    calibration = {
        "speeds_kph": {"secondary": 36.0},
        "winding_pace_s_per_m": 0.1,
        "junction_delay_s": 5.0,
    }
    net = line_network(gdf, columns={"class": "highway"}, calibration=calibration)
    a, j, w = _node(net, 0, 0), _node(net, 100, 0), _node(net, 200, 100)
    assert junction_nodes(net.n_nodes, net.u, net.v).tolist() == [
        n == j for n in range(net.n_nodes)
    ]
    time = {(int(u), int(v)): t for u, v, t in zip(net.u, net.v, net.travel_time, strict=True)}
    winding = 200.0 - math.hypot(100, 100)  # 58.579 m
    assert time[(a, j)] == pytest.approx(10.0 + 5.0)  # J has 3 neighbours
    assert time[(j, a)] == pytest.approx(10.0)  # A has 1
    assert time[(j, w)] == pytest.approx(20.0 + 0.1 * winding)
    assert time[(w, j)] == pytest.approx(20.0 + 0.1 * winding + 5.0)
    j_to_w = time[(j, w)]
    # split at town halls: split nodes (2 neighbours) are no junctions, the winding metres
    # are shared by length: the times along each line do not change
    halls = gpd.GeoSeries([Point(50, 10), Point(150, 110)], crs=2154)
    split = line_network(
        gdf, columns={"class": "highway"}, calibration=calibration, split_points=halls
    )
    s1, s2 = _node(split, 50, 0), _node(split, 150, 100)
    a, j, w = _node(split, 0, 0), _node(split, 100, 0), _node(split, 200, 100)
    t2 = {(int(u), int(v)): t for u, v, t in zip(split.u, split.v, split.travel_time, strict=True)}
    assert t2[(a, s1)] == pytest.approx(5.0) and t2[(s1, j)] == pytest.approx(5.0 + 5.0)
    frac = 1.0 - math.hypot(100, 100) / 200.0
    assert t2[(j, s2)] == pytest.approx(15.0 + 0.1 * 150 * frac)
    assert t2[(s2, w)] == pytest.approx(5.0 + 0.1 * 50 * frac)
    assert t2[(j, s2)] + t2[(s2, w)] == pytest.approx(j_to_w)
    assert split.winding_length.sum() == pytest.approx(net.winding_length.sum())
    # speeds changed later keep the delays
    again = split.with_speeds({"secondary": 72.0})
    t3 = {(int(u), int(v)): t for u, v, t in zip(again.u, again.v, again.travel_time, strict=True)}
    assert t3[(s1, j)] == pytest.approx(2.5 + 5.0)


def test_cache_key_follows_the_split_points(tmp_path):
    folder = tmp_path / "cache" / "graphs"
    first = gpd.GeoSeries([Point(501000, 6400050)], crs=2154)
    other = gpd.GeoSeries([Point(501500, 6400050)], crs=2154)
    net1 = line_network(TM, split_points=first)
    assert len(list(folder.glob("*.npz"))) == 1
    again = line_network(TM, split_points=first)  # from the cache
    assert np.array_equal(again.x, net1.x)
    assert len(list(folder.glob("*.npz"))) == 1
    net2 = line_network(TM, split_points=other)
    assert len(list(folder.glob("*.npz"))) == 2
    assert np.any(np.isclose(net1.x, 501000)) and not np.any(np.isclose(net1.x, 501500))
    assert np.any(np.isclose(net2.x, 501500))
    line_network(TM)
    assert len(list(folder.glob("*.npz"))) == 3
    assert points_digest(np.array([[1.0, 2.0], [3.0, 4.0]])) == points_digest(
        np.array([[3.0, 4.0], [1.0, 2.0]])
    )
    assert shapely.get_coordinates(first.to_numpy()).shape == (1, 2)
