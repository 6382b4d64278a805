"""Origin–destination matrices, the national commune reader and the `matrix` command."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geoattract import settings
from geoattract.app.cli import main
from geoattract.errors import DataError
from geoattract.network.lines import graph_from_lines, line_network
from geoattract.network.snapping import SnapRule
from geoattract.routing import routing_graph
from geoattract.routing.matrix import (
    communes_selection,
    dense_delays,
    matrix_command,
    od_matrix,
    od_network,
)
from geoattract.territory.national import read_national_communes

DATA = Path(__file__).parent / "data" / "lines"
TM = DATA / "travelmapping_tiny.geojson"
BDTOPO = DATA / "bdtopo_tiny.geojson"

RULE = SnapRule(max_distance_m=2000.0, speed_kph=30.0, detour=1.3)
PACE = 1.3 / (30 / 3.6)  # access seconds per straight-line metre
SEC = 3.6 / 70.0


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "cache_folder", tmp_path / "cache")


def _points(**xy) -> gpd.GeoSeries:
    return gpd.GeoSeries([Point(*p) for p in xy.values()], index=list(xy), crs=2154)


def test_od_matrix_times_km_and_unreachable():
    G = graph_from_lines(TM, calibration=None)
    origins = _points(o1=(500000, 6400300), o2=(506200, 6404000), far=(520000, 6400000))
    dests = _points(d1=(506000, 6408500))
    table = od_matrix(G, origins, dests, snap_rule=RULE)
    assert table.columns.tolist() == ["origin", "destination", "minutes", "km"]
    assert table["origin"].tolist() == ["o1", "o2"]  # 'far' is 14 km from the network
    a_to_f = nx.shortest_path_length(G, 0, 5, weight="travel_time")
    o1 = table.iloc[0]
    assert o1["minutes"] == pytest.approx((300 * PACE + a_to_f + 500 * PACE) / 60, rel=1e-12)
    assert o1["km"] == pytest.approx((300 * 1.3 + 15000 + 500 * 1.3) / 1000)
    # o2 is 200 m from D, a motorway node: it joins E (1019.8 m away)
    e_far = math.hypot(200, 1000)
    assert table.iloc[1]["minutes"] == pytest.approx((e_far * PACE + 3000 * SEC + 500 * PACE) / 60)
    assert table.iloc[1]["km"] == pytest.approx((e_far * 1.3 + 3000 + 650) / 1000)


def test_od_matrix_refuses_points_in_another_crs():
    net = line_network(TM, calibration=None)
    origins = _points(o1=(500000, 6400300))
    with pytest.raises(DataError, match="origins are in EPSG:4326, the road network in EPSG:2154"):
        od_matrix(net, origins.to_crs(4326), origins, snap_rule=RULE)
    with pytest.raises(DataError, match="destinations are in EPSG:3857"):
        od_matrix(net, origins, origins.to_crs(3857), snap_rule=RULE)


def test_od_matrix_forward_and_reverse_searches_agree_on_one_way_roads():
    G = graph_from_lines(BDTOPO)  # P=0 (600000, 6500000), Q=2, S=3, R=4 (602000, 6500000)
    p, s, r = (600000, 6500100), (601000, 6501100), (602000, 6500100)
    many_to_one = od_matrix(G, _points(p=p, s=s), _points(r=r), snap_rule=RULE)
    one_to_many = od_matrix(G, _points(r=r), _points(p=p, s=s), snap_rule=RULE)
    access = 2 * 100 * PACE / 60
    by_pair = many_to_one.set_index(["origin", "destination"])["minutes"]
    assert by_pair[("p", "r")] == pytest.approx(access + (72 + 40) / 60)
    assert by_pair[("s", "r")] == pytest.approx(access + (120 + 40) / 60)
    back = one_to_many.set_index(["origin", "destination"])["minutes"]
    hyp = math.hypot(1000, 1000) * 3.6 / 55
    assert back[("r", "p")] == pytest.approx(access + (hyp + 120 + 72) / 60)
    assert back[("r", "s")] == pytest.approx(access + hyp / 60)
    # km of the fastest path R → S → Q → P
    assert one_to_many.set_index("destination").loc["p", "km"] == pytest.approx(
        (math.hypot(1000, 1000) + 2000 + 260) / 1000
    )


def test_od_matrix_same_point_is_zero_and_max_minutes_filters():
    net = line_network(TM, calibration=None)
    pts = _points(a=(500000, 6400300), f=(506000, 6408500))
    table = od_matrix(net, pts, pts, snap_rule=RULE)
    assert len(table) == 4
    diag = table[table["origin"] == table["destination"]]
    assert diag["minutes"].tolist() == [0.0, 0.0] and diag["km"].tolist() == [0.0, 0.0]
    short = od_matrix(net, pts, pts, snap_rule=RULE, max_minutes=5.0)
    assert sorted(short["origin"]) == ["a", "f"]  # only the diagonal is under 5 min
    assert od_matrix(od_network(net), pts, pts, snap_rule=RULE).equals(table)


def test_od_matrix_on_a_routing_graph_has_no_km():
    G = graph_from_lines(TM, calibration=None)
    table = od_matrix(
        routing_graph(G), _points(a=(500000, 6400300)), _points(f=(506000, 6408500)), snap_rule=RULE
    )
    assert len(table) == 1 and np.isnan(table["km"].iloc[0])


# --------------------------------------------------------------------------------------
# National communes
# --------------------------------------------------------------------------------------


def _square(x: float, y: float, half: float = 1000.0):
    return box(x - half, y - half, x + half, y + half)


def write_national(path: Path) -> Path:
    """Six communes around the Travel Mapping fixture: every repair case of the reader."""
    communes = gpd.GeoDataFrame(
        {
            "code": ["99001", "99002", "99003", "98001", "98002", "98003"],
            "nom": ["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"],
            "dep": ["99", "99", "99", "98", "98", "98"],
            "region": ["R"] * 6,
            "epci": ["E"] * 6,
            "population": [2000, 10000, 100, 50, 300, 10],
        },
        geometry=[
            _square(500000, 6400000),
            _square(506000, 6408000),
            _square(503000, 6404000),
            _square(506000, 6405000),
            None,
            None,
        ],
        crs=2154,
    )
    halls = gpd.GeoDataFrame(
        {"code": ["99001", "99002", "98001", "98002"]},
        geometry=[
            Point(500000, 6400300),
            Point(506000, 6408500),
            Point(520000, 6400000),  # 13 km away from Delta: replaced
            Point(503000, 6400000),
        ],
        crs=2154,
    )
    communes.to_file(path, layer="communes")
    halls.to_file(path, layer="mairies")
    return path


def test_national_communes_repairs(tmp_path):
    national = read_national_communes(write_national(tmp_path / "communes.gpkg"))
    table = national.table
    assert national.no_polygon == ("98002", "98003")
    assert national.halls_missing == ("99003",)
    assert list(national.halls_replaced) == ["98001"]
    assert national.no_location == ("98003",)
    assert table.loc["99003", "location"] == "inside polygon"
    assert table.loc["98001", "geometry"].within(_square(506000, 6405000))
    assert table.loc["98002", "location"] == "town hall" and np.isnan(table.loc["98002", "density"])
    assert table.loc["99002", "density"] == pytest.approx(2500.0)
    assert table.loc["98003", "geometry"] is None


def test_communes_selection(tmp_path, caplog):
    national = read_national_communes(write_national(tmp_path / "communes.gpkg"))
    assert communes_selection("99", national).index.tolist() == ["99001", "99002", "99003"]
    assert communes_selection("98", national).index.tolist() == ["98001", "98002"]  # no Zeta
    assert "without location left out" in caplog.text
    assert communes_selection("99002, 98", national).index.tolist() == ["98001", "98002", "99002"]
    assert len(communes_selection("all", national)) == 5
    with pytest.raises(DataError, match="unknown département or commune code.*'97'.*'99999'"):
        communes_selection("97,99999", national)
    delays = dense_delays(national.table, {"dense_delay_min": 2.0, "dense_density_per_km2": 1500.0})
    assert delays[delays > 0].index.tolist() == ["99002"] and delays["99002"] == 120.0


def test_matrix_command_and_cli(tmp_path, capsys):
    gpkg = write_national(tmp_path / "communes.gpkg")
    out = tmp_path / "m.csv"
    assert (
        main(
            [
                "matrix",
                "--network",
                str(TM),
                "--from",
                "99",
                "--to",
                "99001,98",
                "--out",
                str(out),
                "--communes",
                str(gpkg),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "9 of 9 pairs written" in printed and "missing" not in printed
    table = pd.read_csv(out, dtype={"origin": str, "destination": str})
    assert len(table) == 9 and table.columns.tolist() == ["origin", "destination", "minutes", "km"]
    # the same pairs through the library, with the shipped calibration and its delays
    net = line_network(TM)
    national = read_national_communes(gpkg)
    o = communes_selection("99", national).assign(delay_s=lambda t: dense_delays(t, net.attrs))
    d = communes_selection("99001,98", national).assign(
        delay_s=lambda t: dense_delays(t, net.attrs)
    )
    expected = od_matrix(net, o, d)
    assert table["minutes"].to_numpy() == pytest.approx(expected["minutes"].to_numpy(), abs=1e-3)
    beta = table.set_index(["origin", "destination"]).loc[("99002", "99001")]
    assert beta["minutes"] > net.attrs["dense_delay_min"]  # Beta is dense
    summary = matrix_command(TM, "99001", "99002", tmp_path / "one.csv", communes=gpkg)
    assert summary["pairs"] == 1 and summary["missing_pairs"] == 0


def test_national_matrix_lot_et_garonne(tmp_path, shared_dir):
    out = tmp_path / "m47.csv"
    layer = shared_dir / "roads" / "france_roads_travelmapping.gpkg"
    communes = shared_dir / "france" / "communes_2025.gpkg"
    summary = matrix_command(layer, "47", "47", out, communes=communes)
    assert summary["pairs"] == 319 * 319 and summary["route_seconds"] < 30
    table = pd.read_csv(out, dtype={"origin": str, "destination": str}).set_index(
        ["origin", "destination"]
    )
    assert 25 <= table.loc[("47001", "47323"), "minutes"] <= 40  # Agen → Villeneuve-sur-Lot
    assert 40 <= table.loc[("47001", "47157"), "minutes"] <= 60  # Agen → Marmande
