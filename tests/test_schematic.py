"""Schematic network of Lot-et-Garonne and its buffer, built from commune geometry."""

from __future__ import annotations

import json
import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geoattract import network as gr
from geoattract import settings
from geoattract.config import load_study_config
from geoattract.errors import ConfigError, DataError
from geoattract.territory.load import load_territory

AGEN, MARMANDE, NERAC, VILLENEUVE = "47001", "47157", "47195", "47323"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "cache_folder", tmp_path / "cache")


#: The study's ``[network] schematic_poles``: prefecture and sub-prefectures.
POLES = [AGEN, MARMANDE, NERAC, VILLENEUVE]


@pytest.fixture(scope="module")
def schematic(territory, study_config):
    return gr.schematic_network(territory, poles=study_config.section("network")["schematic_poles"])


def _minutes(G, a, b):
    th = gr.town_hall_nodes(G)
    return nx.shortest_path_length(G, th[a], th[b], weight="travel_time") / 60


def _km(G, a, b):
    th = gr.town_hall_nodes(G)
    return nx.shortest_path_length(G, th[a], th[b], weight="length") / 1000


def _crow_km(G, a, b):
    th = gr.town_hall_nodes(G)
    pa, pb = G.nodes[th[a]], G.nodes[th[b]]
    return math.dist((pa["x"], pa["y"]), (pb["x"], pb["y"])) / 1000


def test_model_and_connectivity(schematic, territory):
    G = schematic
    assert G.graph["schematic"] is True
    assert G.graph["source"] == "schematic (commune geometry)"
    assert G.graph["crs"] == "EPSG:2154"
    assert G.graph["dropped_nodes"] == 0
    assert nx.is_strongly_connected(G)
    th = gr.town_hall_nodes(G)
    assert len(th) == len(territory) == 1203
    reach = nx.single_source_dijkstra_path_length(G, th[AGEN], weight="travel_time")
    study = territory.loc[territory["in_study"], "code"]
    assert len(study) == 319
    assert all(th[c] in reach for c in study)
    # every border point joins exactly two town halls, in both directions
    for n, d in G.nodes(data=True):
        if d["kind"] == "border":
            assert G.in_degree(n) == G.out_degree(n) == 2
            a, b = d["code"].split("|")
            assert {G.nodes[m]["code"] for m in G.successors(n)} == {a, b}


def test_edge_lengths_speeds_and_classes(schematic):
    G = schematic
    for u, v, d in G.edges(data=True):
        pu, pv = G.nodes[u], G.nodes[v]
        straight = math.dist((pu["x"], pu["y"]), (pv["x"], pv["y"]))
        assert d["length"] == pytest.approx(straight * gr.DETOUR_FACTOR)
        assert d["speed_kph"] == gr.SCHEMATIC_SPEEDS[d["highway"]]
        assert d["travel_time"] == pytest.approx(d["length"] / (d["speed_kph"] / 3.6))
    # links touching the prefecture are at least "secondary"
    th = gr.town_hall_nodes(G)
    assert {d["highway"] for *_, d in G.out_edges(th[AGEN], data=True)} <= {"primary", "secondary"}


def test_travel_times_between_prefecture_and_sub_prefectures(schematic):
    """Plausible bounds around real drives (Google/ViaMichelin orders of magnitude).

    Agen → Villeneuve-sur-Lot: about 30 km by the N21, 30–35 min; we accept 20–50 min and
    25–45 km. Agen → Marmande: about 60 km, 45–55 min (D813 or A62); the schematic network
    has no motorway so it is slower: we accept 35–80 min and 50–80 km. Agen → Nérac: about
    28 km, 30 min; 18–45 min. Road distance must exceed the crow-fly distance by 10–60 %.
    """
    G = schematic
    assert 20 <= _minutes(G, AGEN, VILLENEUVE) <= 50
    assert 25 <= _km(G, AGEN, VILLENEUVE) <= 45
    assert 35 <= _minutes(G, AGEN, MARMANDE) <= 80
    assert 50 <= _km(G, AGEN, MARMANDE) <= 80
    assert 18 <= _minutes(G, AGEN, NERAC) <= 45
    for b in (VILLENEUVE, MARMANDE, NERAC):
        assert 1.1 <= _km(G, AGEN, b) / _crow_km(G, AGEN, b) <= 1.6
        assert _minutes(G, AGEN, b) == pytest.approx(_minutes(G, b, AGEN))  # two-way links


def test_two_builds_are_identical(schematic, territory):
    shuffled = territory.sample(frac=1.0, random_state=3)
    again = gr.schematic_network(shuffled, poles=POLES[::-1])
    assert list(again.nodes(data=True)) == list(schematic.nodes(data=True))
    e1 = [
        (u, v, k, {a: b for a, b in d.items() if a != "geometry"})
        for u, v, k, d in schematic.edges(keys=True, data=True)
    ]
    e2 = [
        (u, v, k, {a: b for a, b in d.items() if a != "geometry"})
        for u, v, k, d in again.edges(keys=True, data=True)
    ]
    assert e1 == e2
    assert all(
        d1["geometry"].equals(d2["geometry"])
        for (*_, d1), (*_, d2) in zip(
            schematic.edges(data=True), again.edges(data=True), strict=True
        )
    )
    assert again.graph == schematic.graph


def _toy(with_island: bool) -> gpd.GeoDataFrame:
    """Three 10 km squares side by side (A, B, C) and, optionally, an island D 5 km away."""
    rows = [
        ("99001", 5000.0, box(0, 0, 10_000, 10_000)),
        ("99002", 500.0, box(10_000, 0, 20_000, 10_000)),
        ("99003", 50.0, box(20_000, 0, 30_000, 10_000)),
    ]
    if with_island:
        rows.append(("99004", 100.0, box(35_000, 0, 45_000, 10_000)))
    gdf = gpd.GeoDataFrame(
        {
            "code": [r[0] for r in rows],
            "nom": [r[0] for r in rows],
            "population": [r[1] for r in rows],
        },
        geometry=[r[2] for r in rows],
        crs="EPSG:2154",
    )
    gdf["town_hall"] = gpd.GeoSeries([g.centroid for g in gdf.geometry], crs="EPSG:2154")
    return gdf


def test_toy_network_by_hand():
    G = gr.schematic_network(_toy(False), poles=())
    # A–B and B–C share a 10 km border; A and C do not touch: 3 town halls + 2 border points
    assert G.number_of_nodes() == 5 and G.number_of_edges() == 8
    th = gr.town_hall_nodes(G)
    # A (5,5) → border (10,5) → B (15,5): 10 km straight, × 1.1 detour; smaller pop 500 → tertiary
    length = nx.shortest_path_length(G, th["99001"], th["99002"], weight="length")
    assert length == pytest.approx(10_000 * gr.DETOUR_FACTOR)
    tt = nx.shortest_path_length(G, th["99001"], th["99002"], weight="travel_time")
    assert tt == pytest.approx(11_000 / (65 / 3.6))
    assert {d["highway"] for *_, d in G.edges(data=True)} == {"tertiary"}
    P = gr.schematic_network(_toy(False), poles=("99002",))
    assert {d["highway"] for *_, d in P.edges(data=True)} == {"secondary"}  # every link touches B


def test_island_is_linked_to_nearest_town_hall():
    G = gr.schematic_network(_toy(True), poles=())
    assert nx.is_strongly_connected(G)
    th = gr.town_hall_nodes(G)
    # D (40,5) has no neighbour; nearest town hall is C (25,5): direct link 15 km × 1.1
    assert G.has_edge(th["99004"], th["99003"]) and G.has_edge(th["99003"], th["99004"])
    assert G.edges[th["99004"], th["99003"], 0]["length"] == pytest.approx(
        15_000 * gr.DETOUR_FACTOR
    )
    assert "99003-99004" in G.graph["params"]


def test_bad_territory():
    toy = _toy(False)
    with pytest.raises(DataError, match="town_hall"):
        gr.schematic_network(toy.drop(columns="town_hall"))
    with pytest.raises(DataError, match="projected CRS"):
        gr.schematic_network(
            toy.to_crs("EPSG:4326").assign(town_hall=toy["town_hall"].to_crs("EPSG:4326"))
        )
    with pytest.raises(DataError, match="duplicate"):
        gr.schematic_network(toy.assign(code=["99001", "99001", "99003"]))
    with pytest.raises(DataError, match="detour_factor"):
        gr.schematic_network(toy, detour_factor=0.5)
    empty_hall = toy.copy()
    empty_hall["town_hall"] = gpd.GeoSeries([Point(1, 1), None, Point(2, 2)], crs="EPSG:2154")
    with pytest.raises(DataError, match="99002"):
        gr.schematic_network(empty_hall)


def test_gpkg_round_trip_of_schematic(schematic, tmp_path):
    out = gr.save_graph_gpkg(schematic, tmp_path / "schematic.gpkg")
    H = gr.graph_from_file(out)
    assert H.graph["schematic"] is True
    assert (H.number_of_nodes(), H.number_of_edges()) == (
        schematic.number_of_nodes(),
        schematic.number_of_edges(),
    )
    assert _minutes(H, AGEN, MARMANDE) == pytest.approx(_minutes(schematic, AGEN, MARMANDE))


# ---------------------------------------------------------------------------- poles


def test_study_poles_give_the_measured_network(schematic, study_config):
    """The 47 network with ``schematic_poles`` set is the one measured before the key existed."""
    assert study_config.section("network")["schematic_poles"] == POLES
    assert json.loads(schematic.graph["params"])["poles"] == POLES
    summary = gr.graph_summary(schematic)
    assert (summary["nodes"], summary["edges"]) == (4631, 13712)
    assert summary["km_by_class"] == {
        "primary": 38.937,
        "secondary": 1522.116,
        "tertiary": 17075.356,
    }


def test_poles_derived_from_population(territory):
    # the four most populous study communes: Agen 32,801, Villeneuve-sur-Lot 22,350,
    # Marmande 17,328, Tonneins 9,459 (Nérac, 6,992, is a sub-prefecture but smaller)
    assert gr.default_poles(territory) == (AGEN, MARMANDE, "47310", VILLENEUVE)
    G = gr.schematic_network(territory)
    assert json.loads(G.graph["params"])["poles"] == [AGEN, MARMANDE, "47310", VILLENEUVE]
    assert gr.graph_summary(G)["km_by_class"] == {
        "primary": 38.937,
        "secondary": 1507.44,
        "tertiary": 17090.032,
    }


def test_default_poles_by_hand():
    table = pd.DataFrame(
        {
            "code": ["01001", "01002", "01003", "02001", "02002", "03001"],
            "dep": ["01", "01", "01", "02", "02", "03"],
            "population": [100.0, 300.0, 300.0, 50.0, np.nan, 9000.0],
            "in_study": [True, True, True, True, True, False],
        }
    )
    # two per département, ties to the smaller code, no population → never a pole,
    # buffer communes (03001) never poles
    assert gr.default_poles(table, per_departement=2) == ("01002", "01003", "02001")
    assert gr.default_poles(table.drop(columns=["dep", "in_study"]), per_departement=1) == (
        "03001",
    )
    # without the study's key, the toy's three communes are all poles: every link secondary
    G = gr.schematic_network(_toy(False))
    assert {d["highway"] for *_, d in G.edges(data=True)} == {"secondary"}


def test_build_network_with_study_poles(tiny_study):
    """Tiny study: Alpha 99001 (1,000 inhabitants) – Beta 99002 (250) – Gamma 98001 (40)."""
    network = (
        '[network]\nschematic_poles = ["99001"]\n'
        "schematic_snap_max_distance_m = 3000.0\nschematic_snap_speed_kph = 30.0\n"
    )
    toml, data = tiny_study(toml_extra=network)
    cfg = load_study_config(toml, data_dir=data)
    net = gr.build_network(cfg, load_territory(cfg))
    th = gr.town_hall_nodes(net.graph)
    assert (net.graph.number_of_nodes(), net.graph.number_of_edges()) == (5, 8)
    # Alpha–Beta touches the pole: secondary; Beta–Gamma (smaller pop 40): tertiary
    assert {d["highway"] for *_, d in net.graph.out_edges(th["99001"], data=True)} == {"secondary"}
    assert {d["highway"] for *_, d in net.graph.out_edges(th["98001"], data=True)} == {"tertiary"}
    assert net.summary == gr.graph_summary(net.graph)
    assert net.caption == gr.NetworkCaption(
        source="schematic (commune geometry)", kind="schematic", vintage="2025", schematic=True
    )
    assert net.caption.text_fr == (
        "Réseau routier schématique, construit à partir des limites communales (aucune donnée "
        "OpenStreetMap disponible hors ligne) : temps de trajet indicatifs."
    )
    assert net.snap_rule == gr.SnapRule(max_distance_m=3000.0, speed_kph=30.0)
    # without the key both study communes (dep 99) are poles: Beta–Gamma becomes secondary
    toml, data = tiny_study()
    cfg = load_study_config(toml, data_dir=data)
    G = gr.build_network(cfg, load_territory(cfg)).graph
    assert {d["highway"] for *_, d in G.edges(data=True)} == {"secondary"}


def test_poles_key_must_list_codes(tiny_study):
    toml, data = tiny_study(toml_extra="[network]\nschematic_poles = [47001]\n")
    with pytest.raises(ConfigError, match="schematic_poles"):
        load_study_config(toml, data_dir=data)
