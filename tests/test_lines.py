"""Line networks: presets, graph model, one-way pieces, snapping tolerance, snappable nodes,
cache, shortest-path trees. Hand-made fixtures in tests/data/lines (coordinates in metres)."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from geoattract import settings
from geoattract.errors import DataError
from geoattract.network.lines import (
    LineNetwork,
    graph_from_lines,
    is_line_layer,
    line_network,
    read_calibration,
)
from geoattract.network.presets import TRAVELMAPPING, detect_preset, get_preset
from geoattract.network.snapping import (
    LINES_SNAP_DETOUR,
    LINES_SNAP_MAX_DISTANCE_M,
    SnapRule,
    snap_points,
    snap_report,
)
from geoattract.network.trees import incoming_csr, path_sums, tree_sums
from geoattract.routing import routing_graph, travel_times_to

DATA = Path(__file__).parent / "data" / "lines"
TM = DATA / "travelmapping_tiny.geojson"
BDTOPO = DATA / "bdtopo_tiny.geojson"
R500 = DATA / "route500_tiny.geojson"

# Travel Mapping fixture, nodes in coordinate order:
# A(500000, 6400000)=0, B(503000, 6400000)=1, C(503000, 6404000)=2, D(506000, 6404000)=3,
# E(506000, 6405000)=4, F(506000, 6408000)=5; an island line G-H (1 km) is dropped.
SEC = 3.6 / 70.0  # s per metre at the preset speed of "secondary" (70 km/h)
A_TO_F = 3000 * SEC + 5000 * SEC + 3000 * 3.6 / 115 + 1000 * 3.6 / 60 + 3000 * SEC


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "cache_folder", tmp_path / "cache")


def test_presets_detected_and_unknown_named():
    assert (
        detect_preset(["route", "system", "highway", "inferred_link", "length_m"]) is TRAVELMAPPING
    )
    assert detect_preset(["NATURE", "IMPORTANCE", "SENS"]).name == "bdtopo"
    assert detect_preset(["ID_RTE500", "VOCATION", "SENS", "CLASS_ADM"]).name == "route500"
    assert detect_preset(["foo"]) is None
    with pytest.raises(DataError, match="unknown line preset 'osm'"):
        get_preset("osm")


def test_travelmapping_graph_model():
    G = graph_from_lines(TM, calibration=None)
    assert (G.number_of_nodes(), G.number_of_edges()) == (6, 10)
    assert G.graph["kind"] == "lines" and G.graph["preset"] == "travelmapping"
    assert G.graph["crs"] == "EPSG:2154" and G.graph["schematic"] is False
    assert G.graph["dropped_nodes"] == 2 and G.graph["dropped_km"] == pytest.approx(1.0)
    assert G.graph["snap_merged"] == 0 and G.graph["calibrated"] is False
    assert (G.nodes[0]["x"], G.nodes[0]["y"]) == (500000.0, 6400000.0)
    bc = G.edges[1, 2, 0]
    assert bc["length"] == pytest.approx(5000.0)  # two legs of 2500 m (shaping point)
    assert bc["travel_time"] == pytest.approx(5000 * SEC)
    assert (bc["highway"], bc["speed_kph"], bc["ref"], bc["speed_source"]) == (
        "secondary",
        70.0,
        "D2",
        "class",
    )
    assert G.edges[2, 3, 0]["travel_time"] == pytest.approx(3000 * 3.6 / 115)
    assert G.edges[3, 4, 0]["travel_time"] == pytest.approx(60.0)
    # the reverse edge carries the reversed geometry, starting at its own source node
    assert shapely.get_coordinates(G.edges[2, 1, 0]["geometry"])[0].tolist() == [503000, 6404000]
    assert [G.nodes[n]["snappable"] for n in range(6)] == [True, True, True, False, True, True]


def test_travelmapping_routed_time_equals_networkx_exactly():
    G = graph_from_lines(TM, calibration=None)
    expected = nx.single_source_dijkstra_path_length(G, 0, weight="travel_time")
    assert expected[5] == pytest.approx(A_TO_F, rel=1e-12)
    rg = routing_graph(G)
    times = travel_times_to(rg, [0], list(range(6)))[0]
    assert times.tolist() == [expected[n] for n in range(6)]


def test_speeds_detours_and_shipped_calibration():
    G = graph_from_lines(TM, calibration=None, speeds={"secondary": 60}, detours={"secondary": 1.1})
    ab = G.edges[0, 1, 0]
    assert ab["length"] == pytest.approx(3300.0) and ab["travel_time"] == pytest.approx(198.0)
    table = read_calibration(name=TRAVELMAPPING.calibration)
    H = graph_from_lines(TM)  # the preset's calibration by default
    cd = H.edges[2, 3, 0]
    assert cd["speed_kph"] == pytest.approx(table["speeds_kph"]["motorway"])
    assert cd["length"] == pytest.approx(3000 * table["detour"]["motorway"])
    assert H.graph["calibrated"] is True
    assert H.graph["snap_speed_kph"] == pytest.approx(table["access_speed_kph"])
    with pytest.raises(DataError, match="detour values must be >= 1"):
        graph_from_lines(TM, calibration=None, detours={"secondary": 0.9})


def test_bdtopo_directions_speed_column_and_exclusions():
    G = graph_from_lines(BDTOPO)
    # P=0, T=1, Q=2, S=3, R=4 (coordinate order); "Chemin" and a closed road are dropped
    assert (G.number_of_nodes(), G.number_of_edges()) == (5, 8)
    assert G.graph["dropped_not_a_road"] == 2
    assert G.has_edge(2, 4) and not G.has_edge(4, 2)  # « Sens direct »: Q → R only
    assert G.has_edge(4, 3) and not G.has_edge(3, 4)  # « Sens inverse » drawn S → R: R → S
    rs = G.edges[4, 3, 0]
    assert (rs["highway"], rs["speed_source"], rs["speed_kph"]) == ("tertiary", "class", 55.0)
    assert rs["travel_time"] == pytest.approx(math.hypot(1000, 1000) * 3.6 / 55)
    assert shapely.get_coordinates(rs["geometry"])[0].tolist() == [602000, 6500000]
    assert G.edges[2, 4, 0]["highway"] == "trunk" and G.edges[2, 4, 0]["travel_time"] == 40.0
    assert G.edges[0, 2, 0]["travel_time"] == pytest.approx(72.0)  # vitesse_moyenne_vl 50
    assert G.edges[0, 1, 0]["highway"] == "motorway"
    assert not G.nodes[1]["snappable"]  # T: motorway only
    times = nx.single_source_dijkstra_path_length(G, 4, weight="travel_time")
    assert times[0] == pytest.approx(math.hypot(1000, 1000) * 3.6 / 55 + 120 + 72)
    assert nx.shortest_path_length(G, 0, 3, weight="travel_time") == pytest.approx(192.0)


def test_route500_classes_and_directions():
    G = graph_from_lines(R500)
    # J=0, K=1, L=2, M=3
    assert (G.number_of_nodes(), G.number_of_edges()) == (4, 6)
    assert G.edges[1, 2, 0]["highway"] == "primary" and G.edges[1, 2, 0]["travel_time"] == 96.0
    assert G.has_edge(2, 3) and not G.has_edge(3, 2)  # « Sens unique »
    assert G.has_edge(3, 1) and not G.has_edge(1, 3)  # « Sens inverse » drawn K → M
    assert G.edges[3, 1, 0]["travel_time"] == pytest.approx(math.hypot(2000, 2000) / 25)
    assert G.edges[1, 0, 0]["ref"] == "A13" and not G.nodes[0]["snappable"]
    assert nx.shortest_path_length(G, 3, 2, weight="travel_time") == pytest.approx(
        math.hypot(2000, 2000) / 25 + 96
    )


def test_snap_tolerance_merges_close_ends_and_reports_them():
    gdf = gpd.GeoDataFrame(
        {"highway": ["secondary", "secondary", "secondary"]},
        geometry=[
            LineString([(0, 0), (1000, 0)]),
            LineString([(1000.4, 0), (1000, 1000)]),
            LineString([(1000, 1000), (0, 0)]),
        ],
        crs="EPSG:2154",
    )
    exact = line_network(gdf, columns={"class": "highway"}, calibration=None)
    assert exact.n_nodes == 4 and exact.attrs["snap_merged"] == 0  # a path, no triangle
    merged = line_network(gdf, columns={"class": "highway"}, snap_tolerance_m=1.0)
    assert merged.n_nodes == 3 and merged.n_edges == 6 and merged.attrs["snap_merged"] == 1
    assert sorted(merged.x.tolist()) == [0.0, 1000.0, 1000.2]  # mean of the merged ends
    G = merged.to_graph()
    node = next(n for n, d in G.nodes(data=True) if d["y"] == 0 and d["x"] > 0)
    for _, _, d in G.edges(node, data=True):
        assert shapely.get_coordinates(d["geometry"])[0].tolist() == [1000.2, 0.0]


def test_custom_columns_need_a_class():
    line = LineString([(500_000, 6_300_000), (501_000, 6_300_000)])  # Lambert-93, in France
    gdf = gpd.GeoDataFrame({"kind": ["x"]}, geometry=[line], crs=2154)
    with pytest.raises(DataError, match="no line preset recognised"):
        line_network(gdf)
    with pytest.raises(DataError, match="unknown key"):
        line_network(gdf, columns={"klass": "kind"})


def test_polygon_clip_keeps_the_component_inside():
    net = line_network(TM, calibration=None, polygon=box(509000, 6399000, 512000, 6401000))
    assert net.n_nodes == 2 and net.road_km() == pytest.approx(1.0)
    assert net.km_by_class() == {"tertiary": 1.0}


def test_cache_round_trip_and_key(tmp_path):
    first = line_network(TM, calibration=None)
    files = list((tmp_path / "cache" / "graphs").glob("*.npz"))
    assert len(files) == 1
    again = line_network(TM, calibration=None)
    for name in ("x", "y", "u", "v", "length", "travel_time", "snappable", "reverse"):
        assert np.array_equal(getattr(first, name), getattr(again, name))
    assert again.refs.tolist() == first.refs.tolist()
    assert all(a.equals(b) for a, b in zip(first.geometries, again.geometries, strict=True))
    line_network(TM, calibration=None, speeds={"secondary": 50})
    assert len(list((tmp_path / "cache" / "graphs").glob("*.npz"))) == 2
    assert LineNetwork.from_bytes(first.to_bytes()).attrs == first.attrs


def test_fill_edges_equals_add_edges_from():
    net = line_network(BDTOPO)
    G = net.to_graph()
    H = nx.MultiDiGraph()
    H.add_nodes_from(G.nodes(data=True))
    H.add_edges_from((u, v, dict(d)) for u, v, d in G.edges(data=True))
    assert list(G.edges(keys=True)) == list(H.edges(keys=True))
    assert nx.utils.edges_equal(G.edges(keys=True), H.edges(keys=True))
    assert dict(G.pred[2]) == dict(H.pred[2])


def test_is_line_layer(tmp_path):
    assert is_line_layer(TM) and is_line_layer(R500)
    assert not is_line_layer(tmp_path / "missing.gpkg")
    pts = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)], crs=2154)
    pts.to_file(tmp_path / "p.gpkg")
    assert not is_line_layer(tmp_path / "p.gpkg")


# --------------------------------------------------------------------------------------
# Snapping on line networks
# --------------------------------------------------------------------------------------


def test_points_never_join_a_motorway_node():
    G = graph_from_lines(TM, calibration=None)
    near_d = Point(506100, 6404000)  # 100 m from D (motorway / link only), 1004.99 m from E
    snapped = snap_points(G, [near_d], ids=["x"])
    assert snapped.loc["x", "node"] == 4
    assert snapped.loc["x", "snap_distance_m"] == pytest.approx(math.hypot(100, 1000))
    table = pd.DataFrame({"x": [0.0, 10.0], "y": [0.0, 0.0], "snappable": [False, True]})
    assert snap_points(table, [Point(1, 0)])["node"].tolist() == [1]
    with pytest.raises(DataError, match="no node of the graph is snappable"):
        snap_points(table.assign(snappable=False), [Point(1, 0)])


def test_snap_rule_for_line_graphs():
    G = graph_from_lines(TM, calibration=None)
    rule = SnapRule.for_graph(G)
    assert (rule.max_distance_m, rule.detour) == (LINES_SNAP_MAX_DISTANCE_M, LINES_SNAP_DETOUR)
    assert SnapRule.for_graph(G, {"snap_speed_kph": 20.0}).speed_kph == 20.0
    calibrated = graph_from_lines(TM)
    assert SnapRule.for_graph(calibrated).speed_kph == calibrated.graph["snap_speed_kph"]
    assert SnapRule.for_graph(nx.MultiDiGraph()).max_distance_m == settings.snap_max_distance_m


def test_snap_report_names_the_farthest():
    snapped = pd.DataFrame(
        {"snap_distance_m": [100.0, 300.0, 2500.0], "too_far": [False, False, True]},
        index=["a", "b", "c"],
    )
    report = snap_report(snapped, {"c": "Gamma"}, farthest=2)
    assert (report.n, report.median_m, report.max_m, report.too_far) == (3, 300.0, 2500.0, 1)
    assert report.farthest == (("c", "Gamma", 2500.0), ("b", "", 300.0))
    assert "Gamma (c) 2.5 km" in str(report)


# --------------------------------------------------------------------------------------
# Trees
# --------------------------------------------------------------------------------------


def test_tree_sums_pointer_jumping():
    #   0 → 1 → 2 → 3, 1 → 4: values on the node are those of the edge from its parent
    parent = np.array([-1, 0, 1, 2, 1])
    values = np.array([0.0, 1.0, 10.0, 100.0, 1000.0])
    assert tree_sums(parent, values).tolist() == [0.0, 1.0, 11.0, 111.0, 1001.0]


def test_path_sums_follow_the_fastest_path_not_the_shortest():
    # 0 → 1 slow but short; 0 → 2 → 1 fast but long
    tail = np.array([0, 0, 2])
    head = np.array([1, 2, 1])
    weight = np.array([10.0, 2.0, 3.0])
    metres = np.array([100.0, 300.0, 400.0])
    dist = np.array([0.0, 5.0, 2.0, np.inf])
    ptr, order = incoming_csr(4, tail, head)
    sums = path_sums(dist, ptr, tail[order], weight[order], metres[order])
    assert sums[:3].tolist() == [0.0, 700.0, 300.0] and np.isnan(sums[3])


def test_line_ending_on_an_interior_vertex_splits_the_other_line():
    # a motorway drawn through an exit vertex (1000, 0); a link starts exactly on it
    gdf = gpd.GeoDataFrame(
        {"highway": ["motorway", "motorway_link", "secondary"]},
        geometry=[
            LineString([(0, 0), (1000, 0), (3000, 0)]),
            LineString([(1000, 0), (1000, 500)]),
            LineString([(1000, 500), (0, 0)]),
        ],
        crs=2154,
    )
    net = line_network(gdf, columns={"class": "highway"}, calibration=None)
    assert net.attrs["split_vertices"] == 1
    assert (net.n_nodes, net.n_edges) == (4, 8)  # the motorway is now two pieces
    assert sorted(net.geometry_length.round(3).tolist()) == sorted(
        [1000.0] * 2 + [2000.0] * 2 + [500.0] * 2 + [round(math.hypot(1000, 500), 3)] * 2
    )
    unsplit = line_network(gdf, columns={"class": "highway"}, split_at_vertices=False)
    # unsplit, the link's start is a dead end touching the motorway nowhere
    assert unsplit.attrs["split_vertices"] == 0 and unsplit.n_edges == 6
    exit_node = int(np.flatnonzero((unsplit.x == 1000) & (unsplit.y == 0))[0])
    assert np.count_nonzero(unsplit.u == exit_node) == 1


def test_network_notes_give_both_held_out_errors_to_one_decimal():
    from geoattract.network.lines import network_notes
    from geoattract.network.presets import TRAVELMAPPING

    calibration = {
        "fit": {
            "holdout_after": {
                "isere": {
                    "median_abs_rel_error": 0.0415,
                    "short_n": 1118,
                    "short_median_abs_rel_error": 0.0972,
                },
                "paris": {"median_abs_rel_error": 0.015, "short_n": 0},
            }
        }
    }
    assert network_notes(TRAVELMAPPING, calibration) == (
        "autoroutes, nationales et départementales, sans voirie locale ; temps calibrés sur des "
        "temps OSRM de référence (écart médian hors échantillon : 1,5 % sur les longs trajets, "
        "9,7 % sous 20 min)"
    )
    assert network_notes(TRAVELMAPPING, None) == TRAVELMAPPING.notes_fr


def test_islands_holding_a_town_hall_stay_routable():
    from geoattract.network.line_build import ISLAND_MIN_GAP_M
    from geoattract.routing import od_matrix

    # mainland: a 10 km road; an island road 5 km off the coast; a broken piece 300 m from
    # the mainland road (a missing junction); a second island without a town hall
    lines = gpd.GeoDataFrame(
        {
            "highway": ["secondary"] * 4,
            "geometry": [
                LineString([(0, 0), (10_000, 0)]),
                LineString([(0, 5_000), (4_000, 5_000)]),
                LineString([(5_000, 300), (6_000, 300)]),
                LineString([(0, -9_000), (2_000, -9_000)]),
            ],
        },
        crs="EPSG:2154",
    )
    halls = gpd.GeoSeries(
        [Point(1_000, 100), Point(9_000, 0), Point(2_000, 5_100), Point(5_500, 350)],
        index=["M1", "M2", "I1", "B1"],
        crs="EPSG:2154",
    )
    net = line_network(lines, columns={"class": "highway"}, calibration=None, split_points=halls)
    assert ISLAND_MIN_GAP_M == 1500.0
    assert net.attrs["islands"] == 1
    # kept: the mainland (2 ends + 2 cuts) and the island (2 ends + 1 cut); dropped: the
    # broken piece (2 ends + the cut of B1, its nearest line) and the island without a hall
    assert net.n_nodes == 7
    assert net.attrs["dropped_nodes"] == 5
    table = od_matrix(net, halls, halls)
    pairs = set(zip(table["origin"], table["destination"], strict=True))
    assert ("I1", "I1") in pairs and ("M1", "M2") in pairs and ("B1", "M2") in pairs
    assert ("M1", "I1") not in pairs and ("I1", "B1") not in pairs
    missing = table.attrs["missing"]
    # I1 against the 3 mainland points, both ways: 6 pairs across the sea, named
    assert (missing.total, missing.across, missing.beyond) == (6, 6, 0)
    assert missing.parts == (("I1",),)
    assert "6 pair(s) across the sea" in str(missing) and "'I1'" in str(missing)
    # without town halls, only the largest part is kept
    alone = line_network(lines, columns={"class": "highway"}, calibration=None)
    assert alone.attrs["islands"] == 0 and alone.n_nodes == 2
