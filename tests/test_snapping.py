"""Snapping points to graph nodes: exact distances, access times, far points."""

from __future__ import annotations

import logging
import math
import time

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyrosm
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point

from geoattract import settings
from geoattract.errors import DataError, SnapError
from geoattract.network import graph_from_pbf
from geoattract.network.snapping import snap_points


def _grid(n: int = 3, step: float = 1000.0) -> nx.MultiDiGraph:
    """n × n nodes 1 km apart, ids 10 * row + col, origin at Lambert-93 (500 km, 6300 km)."""
    G = nx.MultiDiGraph(crs="EPSG:2154")
    for r in range(n):
        for c in range(n):
            G.add_node(10 * r + c, x=500_000.0 + c * step, y=6_300_000.0 + r * step)
    return G


def test_nearest_node_distance_and_access_time():
    G = _grid()
    pts = gpd.GeoSeries(
        [Point(500_300, 6_300_400), Point(501_900, 6_302_000), Point(501_000, 6_301_000)],
        index=["a", "b", "c"],
        crs="EPSG:2154",
    )
    out = snap_points(G, pts)
    assert list(out.index) == ["a", "b", "c"]
    assert list(out["node"]) == [0, 22, 11]
    assert out["snap_distance_m"].tolist() == pytest.approx([500.0, 100.0, 0.0])  # 3-4-5 triangle
    # access leg at 15 km/h: 500 m → 120 s
    assert out["snap_time_s"].tolist() == pytest.approx([120.0, 24.0, 0.0])
    assert not out["too_far"].any()
    assert out["node"].dtype == "Int64"


def test_far_points_flagged_or_raised(caplog):
    G = _grid()
    pts = gpd.GeoSeries([Point(500_000, 6_300_100), Point(520_000, 6_300_000)], crs="EPSG:2154")
    with caplog.at_level(logging.WARNING, logger="geoattract.network.snapping"):
        out = snap_points(G, pts, ids=["47001", "47999"])
    assert "'47999 (18000 m)'" in caplog.text
    assert out.loc["47999", "too_far"] and not out.loc["47001", "too_far"]
    assert pd.isna(out.loc["47999", "node"]) and math.isnan(out.loc["47999", "snap_time_s"])
    assert out.loc["47999", "snap_distance_m"] == pytest.approx(18_000.0)
    with pytest.raises(SnapError, match="47999"):
        snap_points(G, pts, ids=["47001", "47999"], on_far="raise")
    # a probe flags the same point without a warning
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="geoattract.network.snapping"):
        quiet = snap_points(G, pts, ids=["47001", "47999"], on_far="quiet")
    assert caplog.text == ""
    assert quiet["too_far"].tolist() == [False, True]
    # a larger limit snaps it; a slower speed makes the access longer
    out = snap_points(G, pts, max_distance_m=20_000, speed_kph=36.0)
    assert out["node"].tolist() == [0, 2]
    assert out["snap_time_s"].tolist() == pytest.approx([10.0, 1800.0])


def test_default_limit_comes_from_settings(monkeypatch):
    G = _grid()
    pts = gpd.GeoSeries([Point(500_000, 6_297_500)], crs="EPSG:2154")  # 2.5 km south of node 0
    assert snap_points(G, pts)["too_far"].iloc[0]  # default limit 2000 m
    monkeypatch.setattr(settings, "snap_max_distance_m", 3000.0)
    assert not snap_points(G, pts)["too_far"].iloc[0]


def test_points_in_another_crs_are_refused_naming_both():
    G = _grid()
    pts = gpd.GeoSeries([Point(501_000, 6_301_000), Point(500_020, 6_300_010)], crs="EPSG:2154")
    with pytest.raises(DataError, match=r"points are in EPSG:4326, the road network in EPSG:2154"):
        snap_points(G, pts.to_crs("EPSG:4326"), what="points")
    # bare points in degrees on a network in metres (no CRS to compare): refused too
    with pytest.raises(DataError, match="coordinates in degrees.*road network in metres"):
        snap_points(G, [Point(0.6, 44.2)])
    # a nodes table carries its CRS in .attrs (the OD network does)
    nodes = pd.DataFrame({"x": [500_000.0], "y": [6_300_000.0]}, index=["n"])
    nodes.attrs["crs"] = "EPSG:2154"
    with pytest.raises(DataError, match="EPSG:3857"):
        snap_points(nodes, pts.to_crs("EPSG:3857"))


def test_nodes_table_and_bad_inputs():
    nodes = pd.DataFrame({"x": [0.0, 10.0], "y": [0.0, 0.0]}, index=["n1", "n2"])
    out = snap_points(nodes, [Point(8, 0)])
    assert out["node"].tolist() == ["n2"] and out["snap_distance_m"].iloc[0] == pytest.approx(2.0)
    with pytest.raises(DataError, match="non-point"):
        snap_points(nodes, gpd.GeoSeries([LineString([(0, 0), (1, 1)])], index=["x1"]))
    with pytest.raises(DataError, match="'p2'"):
        snap_points(nodes, gpd.GeoSeries([Point(0, 0), None], index=["p1", "p2"]))
    with pytest.raises(DataError, match="2 ids for 1 points"):
        snap_points(nodes, [Point(0, 0)], ids=["a", "b"])
    with pytest.raises(DataError, match="no node"):
        snap_points(nx.MultiDiGraph(), [Point(0, 0)])
    with pytest.raises(DataError, match="on_far"):
        snap_points(nodes, [Point(0, 0)], on_far="drop")


@hsettings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(-5000, 7000), st.floats(-5000, 7000)), min_size=1, max_size=30))
def test_matches_brute_force(coords):
    G = _grid(n=4)
    xy = np.array([(d["x"], d["y"]) for _, d in G.nodes(data=True)])
    ids = np.array(list(G.nodes))
    pts = [Point(500_000 + x, 6_300_000 + y) for x, y in coords]
    out = snap_points(G, pts, max_distance_m=1e9)
    for i, p in enumerate(pts):
        d = np.hypot(xy[:, 0] - p.x, xy[:, 1] - p.y)
        assert out["snap_distance_m"].iloc[i] == pytest.approx(d.min())
        assert d[ids == out["node"].iloc[i]][0] == pytest.approx(d.min())


def test_real_graph_outside_extent_is_flagged_and_thousands_are_fast(monkeypatch):
    monkeypatch.setattr(settings, "use_cache", False)
    G = graph_from_pbf(pyrosm.get_data("test_pbf"))
    xy = np.array([(d["x"], d["y"]) for _, d in G.nodes(data=True)])
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    rng = np.random.default_rng(47)
    inside = gpd.GeoSeries(
        gpd.points_from_xy(rng.uniform(x0, x1, 5000), rng.uniform(y0, y1, 5000)), crs="EPSG:2154"
    )
    t0 = time.perf_counter()
    out = snap_points(G, inside)
    assert time.perf_counter() - t0 < 2.0
    assert out["node"].isin(list(G.nodes)).sum() + out["too_far"].sum() == 5000
    outside = gpd.GeoSeries([Point(x1 + 10_000, y1 + 10_000)], index=["far"], crs="EPSG:2154")
    res = snap_points(G, outside)
    assert res.loc["far", "too_far"] and res.loc["far", "snap_distance_m"] > 10_000
    with pytest.raises(SnapError, match="far"):
        snap_points(G, outside, on_far="raise")


def test_dense_commune_delay_from_the_network_calibration():
    from geoattract.network import SnapRule

    attrs = {"kind": "lines", "dense_delay_min": 2.0, "dense_density_per_km2": 1500.0}
    rule = SnapRule.for_graph(attrs)
    assert rule.dense_delay_s == 120.0
    # 32,801 inhabitants on 11.49 km² (Agen, 2,855 /km²) is dense; 1,000 on 10 km² is not;
    # an unknown population or area adds nothing
    delays = rule.end_delay_s([32_801, 1_000, float("nan"), 500], [11.49e6, 10e6, 1e6, 0.0])
    assert delays.tolist() == [120.0, 0.0, 0.0, 0.0]
    # a network without calibration carries no delay
    assert SnapRule.for_graph({"kind": "lines"}).end_delay_s([1e6], [1e6]).tolist() == [0.0]
