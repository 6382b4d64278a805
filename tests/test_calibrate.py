"""Calibration of a line network against reference drive times: a synthetic truth on the
Travel Mapping fixture is recovered; reference readers, hold-out, TOML and the command."""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from geoattract import settings
from geoattract.app.cli import main
from geoattract.errors import DataError
from geoattract.network.calibrate import calibrate
from geoattract.network.calibration import DETOUR_PRIORS, group_errors, to_toml, trip_groups
from geoattract.network.lines import graph_from_lines, line_network, read_calibration
from geoattract.network.references import Holdout, read_reference
from geoattract.network.snapping import snap_points

# the package attribute `calibrate` is the function: reach the module through importlib
calibrate_module = importlib.import_module("geoattract.network.calibrate")

TM = Path(__file__).parent / "data" / "lines" / "travelmapping_tiny.geojson"

# Five communes near the nodes A, B, C, E, F of the fixture (distance to the node); c5 dense.
COMMUNES = {
    "c1": ((500000, 6400200), 0, 200.0),
    "c2": ((503000, 6400100), 1, 100.0),
    "c3": ((503100, 6404000), 2, 100.0),
    "c4": ((506000, 6405300), 4, 300.0),
    "c5": ((506000, 6408100), 5, 100.0),
}
TRUTH = {"secondary": 60.0, "motorway": 100.0, "motorway_link": 50.0}
ACCESS_KPH = 40.0
DELAY_S = 90.0
ACCESS_PACE = 1.3 / (ACCESS_KPH / 3.6)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "cache_folder", tmp_path / "cache")


def _table() -> gpd.GeoDataFrame:
    codes = list(COMMUNES)
    return gpd.GeoDataFrame(
        {
            "nom": [c.upper() for c in codes],
            "dep": ["99"] * 5,
            "population": [100.0] * 5,
            "density": [10.0, 10.0, 10.0, 10.0, 5000.0],
        },
        geometry=[Point(*COMMUNES[c][0]) for c in codes],
        index=pd.Index(codes, name="code"),
        crs=2154,
    )


def _truth_pairs(split: bool = False) -> pd.DataFrame:
    """Reference times of the truth; ``split``: on the network split at the town halls (as
    ``calibrate`` builds it from a file), town halls snapped on it."""
    halls = gpd.GeoSeries([Point(*COMMUNES[c][0]) for c in COMMUNES], crs=2154)
    G = graph_from_lines(
        TM,
        calibration=None,
        speeds=TRUTH,
        detours=dict(DETOUR_PRIORS),
        split_points=halls if split else None,
    )
    times = dict(nx.all_pairs_dijkstra_path_length(G, weight="travel_time"))
    ends = dict(COMMUNES)
    if split:
        nodes = pd.DataFrame.from_dict(dict(G.nodes(data=True)), orient="index")
        snapped = snap_points(nodes, halls, max_distance_m=10_000.0)
        ends = {
            c: (COMMUNES[c][0], int(n), float(a))
            for c, n, a in zip(COMMUNES, snapped["node"], snapped["snap_distance_m"], strict=True)
        }
    rows = []
    for o, (_, no, ao) in ends.items():
        for d, (_, nd, ad) in ends.items():
            if o == d:
                continue
            dense = DELAY_S * ((o == "c5") + (d == "c5"))
            seconds = times[no][nd] + (ao + ad) * ACCESS_PACE + dense
            rows.append({"origin": o, "destination": d, "minutes": seconds / 60})
    return pd.DataFrame(rows)


def test_synthetic_truth_is_recovered(tmp_path, monkeypatch):
    # 20 trips say little about the 300-m access legs: without the ridge towards the preset
    # values (the default weight pulls the access speed from 40 to 33 km/h here), the fit
    # finds the truth.
    monkeypatch.setattr(calibrate_module, "PRIOR_WEIGHT", 1e-12)
    net = line_network(TM, calibration=None)
    result = calibrate(
        net,
        [_truth_pairs()],
        holdout=Holdout(departements=(), commune_share=0.0),
        communes=_table(),
        dense_density_per_km2=1500.0,
    )
    speeds = result.params.speeds_kph()
    assert speeds["secondary"] == pytest.approx(60.0, rel=0.01)
    # motorway and ramp are always driven together (3 km + 1 km): their sum is identified
    pace = dict(zip(result.params.classes, result.params.pace, strict=True))
    truth_mw = 3000 * 1.025 / (100 / 3.6) + 1000 / (50 / 3.6)
    assert 3000 * pace["motorway"] + 1000 * pace["motorway_link"] == pytest.approx(
        truth_mw, rel=0.01
    )
    assert result.params.access_speed_kph() == pytest.approx(ACCESS_KPH, rel=0.02)
    assert result.params.dense_delay_s == pytest.approx(DELAY_S, abs=3.0)
    rel = result.trips["after_min"] / result.trips["ref_min"] - 1
    assert rel.abs().max() < 0.01
    assert (result.trips["before_min"] / result.trips["ref_min"] - 1).abs().max() > 0.05
    figures = result.figures()
    assert figures["set"].unique().tolist() == ["train"] and len(figures) == 2
    # km of c1 → c5: 15 km of geometry at the prior detours + access legs at 1.3
    km = result.trips.set_index(["origin", "destination"]).loc[("c1", "c5"), "km"]
    geometry_km = (3000 + 5000 + 3000) * 1.07 + 3000 * 1.025 + 1000
    assert km == pytest.approx((geometry_km + 300 * 1.3) / 1000)
    path = result.to_toml(tmp_path / "cal.toml")
    table = read_calibration(path)
    assert table["speeds_kph"] == result.calibration_table()["speeds_kph"]
    assert table["fit"]["train_after"]["reference"]["n"] == 20
    assert "km/h after" in result.report_text()
    # the calibrated network reproduces the reference times through the graph model
    G = graph_from_lines(TM, calibration=table)
    assert G.edges[0, 1, 0]["speed_kph"] == pytest.approx(speeds["secondary"])
    assert G.graph["snap_speed_kph"] == pytest.approx(result.params.access_speed_kph())


def test_read_reference_layouts(tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("origin,destination,osrm_minutes\n01001,01002,12.5\n")
    ref = read_reference(pairs)
    assert (ref.kind, ref.origin.tolist(), ref.minutes.tolist()) == ("pairs", ["01001"], [12.5])
    to_paris = tmp_path / "paris.csv"
    to_paris.write_text("code,osrm_minutes_to_paris\n47001,400.0\n")
    ref = read_reference(to_paris)
    assert (ref.kind, ref.destination.tolist()) == ("to_one", ["75056"])
    to_lyon = pd.DataFrame({"code": ["01001"], "minutes_to_lyon": [50.0]})
    with pytest.raises(DataError, match="names no known destination"):
        read_reference(to_lyon)
    assert read_reference(to_lyon, destination="69123").destination.tolist() == ["69123"]
    with pytest.raises(DataError, match="non-positive"):
        read_reference(pd.DataFrame({"origin": ["a"], "destination": ["b"], "minutes": [0.0]}))


def test_holdout_by_departement_and_commune():
    trips = pd.DataFrame(
        {
            "reference": ["paris"] * 3 + ["isere"] * 4,
            "kind": ["to_one"] * 3 + ["pairs"] * 4,
            "origin": ["24001", "47001", "47002", "a", "b", "c", "d"],
            "destination": ["75056"] * 3 + ["b", "a", "d", "c"],
            "origin_dep": ["24", "47", "47", "38", "38", "38", "38"],
        }
    )
    mask, deps, n = Holdout(departements=("47",), commune_share=0.25, seed=1).mask(trips)
    assert deps == ("47",) and n == 1
    assert mask[:3].tolist() == [False, True, True]
    assert mask[3:].sum() == 2  # the two pairs touching the held-out commune


def test_every_reference_has_held_out_trips():
    # three tables: long trips to one destination, a large and a tiny pair table (3 communes:
    # 20 % of them rounds to 0, yet one is held out)
    big = [(o, d) for o in "abcdefghij" for d in "abcdefghij" if o != d]
    trips = pd.DataFrame(
        {
            "reference": ["paris"] * 6 + ["isere"] * len(big) + ["pref"] * 6,
            "kind": ["to_one"] * 6 + ["pairs"] * (len(big) + 6),
            "origin": ["24001", "24002", "47001", "47002", "33001", "40001"]
            + [o for o, _ in big]
            + ["x", "y", "x", "z", "y", "z"],
            "destination": ["75056"] * 6 + [d for _, d in big] + ["y", "x", "z", "x", "z", "y"],
            "origin_dep": ["24", "24", "47", "47", "33", "40"] + ["38"] * len(big) + ["01"] * 6,
        }
    )
    for seed in (47, 1, 2):
        mask, deps, n = Holdout(seed=seed).mask(trips)
        held = pd.Series(mask).groupby(trips["reference"]).sum()
        paris = (trips["reference"] == "paris").to_numpy()
        assert len(deps) == 1  # 30 % of 4 départements, rounded
        assert held["paris"] == (paris & trips["origin_dep"].isin(deps).to_numpy()).sum() > 0
        pref = trips["reference"] == "pref"
        assert held["pref"] == 4  # one commune of three: the 4 pairs touching it
        assert 0 < held["isere"] < len(big) and n == 2 + 1  # 2 of 10 communes, 1 of 3
        # the draws are reproducible and the pairs touching a held-out commune go together
        again = Holdout(seed=seed).mask(trips)[0]
        assert (again == mask).all()
        assert not (mask[pref.to_numpy()] & ~mask[pref.to_numpy()]).any()
    assert len({Holdout(seed=s).mask(trips)[1] for s in (47, 1, 2, 3, 4, 5)}) > 1


def test_trip_groups_and_breakdown_by_hand():
    trips = pd.DataFrame(
        {
            "reference": ["r"] * 6 + ["s"] * 2,
            "holdout": [True] * 7 + [False],
            "ref_min": [10.0, 30.0, 50.0, 100.0, 200.0, 19.9, 60.0, 60.0],
            "after_min": [11.0, 27.0, 55.0, 104.0, 190.0, 23.88, 66.0, 60.0],
        }
    )
    groups = trip_groups(
        trips["ref_min"].to_numpy(),
        np.array([0.01, 0.03, 0.05, np.nan, 0.0199, 0.04, 0.02, 0.0]),
        np.array([0, 1, 0, 2, 0, 0, 1, 0]),
    )
    assert groups["band"].tolist() == [
        "< 20", "20-60", "20-60", "60-180", "> 180", "< 20", "60-180", "60-180"
    ]  # fmt: skip
    assert groups["terrain"].tolist() == [
        "flat", "rolling", "mountain", "unknown", "flat", "mountain", "rolling", "flat"
    ]  # fmt: skip
    assert groups["setting"].tolist() == ["rural", "urban", "rural", "urban"] + ["rural"] * 2 + [
        "urban",
        "rural",
    ]
    trips[groups.columns] = groups.to_numpy()
    held = trips[trips["holdout"]]
    band = group_errors(held, "band").set_index(["reference", "band"])
    # r, < 20: +10 % and +20 %: median |rel| 15 %; r, 20-60: -10 % and +10 %: 10 %, signed 0
    assert band.loc[("r", "< 20"), "n"] == 2
    assert band.loc[("r", "< 20"), "median_abs_rel_error"] == pytest.approx(0.15)
    assert band.loc[("r", "20-60"), "median_abs_rel_error"] == pytest.approx(0.10)
    assert band.loc[("r", "20-60"), "median_rel_error"] == pytest.approx(0.0)
    assert band.loc[("r", "> 180"), "median_rel_error"] == pytest.approx(-0.05)
    assert band.loc[("s", "60-180"), "n"] == 1  # the fitted trip of s is not counted
    terrain = group_errors(held, "terrain").set_index(["reference", "terrain"])
    assert terrain.loc[("r", "flat"), "median_abs_rel_error"] == pytest.approx(0.075)
    assert terrain.loc[("r", "mountain"), "median_abs_rel_error"] == pytest.approx(0.15)
    setting = group_errors(held, "setting").set_index(["reference", "setting"])
    assert setting.loc[("r", "urban"), "median_abs_rel_error"] == pytest.approx(0.07)


def test_to_toml_nested_tables():
    text = to_toml({"calibration": {"a": 1.5, "name": 'x"y', "t": {"b": [1, 2]}}})
    assert text.splitlines()[:4] == ["[calibration]", "a = 1.5", 'name = "x\\"y"', ""]
    assert "[calibration.t]\nb = [1, 2]" in text


def _communes_gpkg(path: Path) -> Path:
    table = _table()
    polygons = gpd.GeoDataFrame(
        {
            "code": table.index,
            "nom": table["nom"].to_numpy(),
            "dep": "99",
            "region": "R",
            "epci": "E",
            "population": [100, 100, 100, 100, 20000],
        },
        geometry=[box(p.x - 1000, p.y - 1000, p.x + 1000, p.y + 1000) for p in table.geometry],
        crs=2154,
    )
    polygons.to_file(path, layer="communes")
    gpd.GeoDataFrame({"code": table.index}, geometry=list(table.geometry), crs=2154).to_file(
        path, layer="mairies"
    )
    return path


def test_calibrate_command(tmp_path, capsys):
    gpkg = _communes_gpkg(tmp_path / "communes.gpkg")
    ref = tmp_path / "ref.csv"
    _truth_pairs(split=True).to_csv(ref, index=False)  # the command splits at the town halls
    out = tmp_path / "fitted.toml"
    argv = ["calibrate", "--network", str(TM), "--reference", str(ref), "--out", str(out)]
    extra = ["--weight", "ref=2", "--seeds", "1,47"]
    assert main([*argv, "--communes", str(gpkg), *extra]) == 0
    printed = capsys.readouterr().out
    assert "km/h after" in printed and "held out" in printed
    assert "by trip length" in printed and "by terrain" in printed and "by setting" in printed
    assert "under other hold-out seeds" in printed and "(weights: ref 2)" in printed
    table = read_calibration(out)
    assert table["fit"]["weights"] == {"ref": 2.0}
    assert main([*argv, "--communes", str(gpkg), "--weight", "ref"]) != 0
    assert "expected NAME=NUMBER, got 'ref'" in capsys.readouterr().err
    assert main([*argv, "--communes", str(gpkg), "--weight", "other=2"]) != 0
    assert "weights name no reference: 'other'" in capsys.readouterr().err
    # c1 is held out (seed 47): the straight D1 is driven by no fitted trip, so the secondary
    # pace and the winding pace are only identified together, through the winding D2 (5 km
    # of geometry, 1 km of winding metres): its time is the truth's
    pace = DETOUR_PRIORS["secondary"] / (table["speeds_kph"]["secondary"] / 3.6)
    d2_seconds = 5000 * pace + 1000 * table["winding_pace_s_per_m"]
    assert d2_seconds == pytest.approx(5000 * DETOUR_PRIORS["secondary"] / (60.0 / 3.6), rel=0.05)
    assert table["fit"]["holdout_after"]["ref"]["n"] == 8
    assert math.isclose(table["access_detour"], 1.3)
    assert np.isfinite(table["dense_delay_min"])


# A synthetic grid where every part of the edge rule is known: a 36-km départementale "D1"
# (a long road: route tier of 30 km), short départementales, a national road "N1", winding
# verticals, two towns whose built-up discs cover part of the grid.
GRID_X = [0, 1000, 3000, 6000, 10000, 15000, 21000, 28000, 36000]
GRID_Y = [0, 2000, 5000]
GRID_TRUTH = {
    "speeds_kph": {"secondary": 60.0, "trunk": 100.0},
    "detour": {"secondary": DETOUR_PRIORS["secondary"], "trunk": DETOUR_PRIORS["trunk"]},
    "route_speeds_kph": {"secondary": {"30": 80.0}},
    "junction_delay_s": {"secondary": 20.0, "trunk": 8.0},
    "winding_pace_s_per_m": 0.05,
    "urban_pace_s_per_m": 0.02,
    "built_up_density_per_km2": 2000.0,
}


def _grid() -> gpd.GeoDataFrame:
    rows = []

    def line(route, highway, coords):
        rows.append({"route": route, "system": "s", "highway": highway, "inferred_link": False,
                     "geometry": LineString(coords)})  # fmt: skip

    for i in range(len(GRID_X) - 1):
        a, b = GRID_X[i], GRID_X[i + 1]
        line("D1-99", "secondary", [(a, 0), (b, 0)])
        line(f"D{10 + i}-99", "secondary", [(a, 2000), (b, 2000)])
        line("N1", "trunk", [(a, 5000), (b, 5000)])
    for i, x in enumerate(GRID_X):
        line(f"D{30 + i}-99", "secondary", [(x, 0), (x, 2000)])
        line(f"D{50 + i}-99", "secondary", [(x, 2000), (x + 600, 3500), (x, 5000)])  # winding
    return gpd.GeoDataFrame(rows, crs=2154)


def _towns() -> gpd.GeoDataFrame:
    # discs of 2.0 km (25,000 inhabitants) and 1.1 km (8,000) at 2,000 inhabitants/km²
    return gpd.GeoDataFrame(
        {"population": [25000.0, 8000.0]}, geometry=[Point(10000, 2000), Point(28000, 0)], crs=2154
    )


def _grid_communes() -> gpd.GeoDataFrame:
    codes, points = [], []
    for x in GRID_X:
        for y in GRID_Y:
            codes.append(f"g{x}_{y}")
            points.append(Point(x, y + 100 * (len(codes) % 3)))  # 0, 100 or 200 m off the node
    return gpd.GeoDataFrame(
        {"nom": codes, "dep": "99", "population": 100.0, "density": 10.0},
        geometry=points,
        index=pd.Index(codes, name="code"),
        crs=2154,
    )


def test_synthetic_edge_rule_is_recovered(monkeypatch):
    monkeypatch.setattr(calibrate_module, "PRIOR_WEIGHT", 1e-12)
    grid, towns, communes = _grid(), _towns(), _grid_communes()
    G = graph_from_lines(grid, preset="travelmapping", calibration=GRID_TRUTH, settlements=towns)
    assert G.graph["junction_delay_s"] == {"secondary": 20.0, "trunk": 8.0}
    times = dict(nx.all_pairs_dijkstra_path_length(G, weight="travel_time"))
    nodes = pd.DataFrame.from_dict(dict(G.nodes(data=True)), orient="index")
    snapped = snap_points(nodes, communes.geometry, max_distance_m=1000.0)
    rows = []
    for o, no, ao in zip(communes.index, snapped["node"], snapped["snap_distance_m"], strict=True):
        for d, nd, ad in zip(
            communes.index, snapped["node"], snapped["snap_distance_m"], strict=True
        ):
            if o != d:
                seconds = times[no][nd] + (ao + ad) * ACCESS_PACE
                rows.append({"origin": o, "destination": d, "minutes": seconds / 60})
    net = line_network(
        grid, preset="travelmapping", calibration=None, settlements=towns,
        built_up_density_per_km2=2000.0,
    )  # fmt: skip
    assert net.urban_length.sum() > 0 and np.nanmax(net.route_length) == pytest.approx(36000.0)
    result = calibrate(
        net,
        [pd.DataFrame(rows)],
        holdout=Holdout(departements=(), commune_share=0.0),
        communes=communes,
        route_tiers=(("secondary", 30.0),),
        junction_groups=(("trunk",),),
    )
    q = result.params
    assert q.speeds_kph()["secondary"] == pytest.approx(60.0, rel=0.01)
    assert q.speeds_kph()["trunk"] == pytest.approx(100.0, rel=0.01)
    assert q.route_speeds_kph() == {"secondary": {"30": pytest.approx(80.0, rel=0.01)}}
    assert q.junction_delays() == {
        "secondary": pytest.approx(20.0, abs=0.3),
        "trunk": pytest.approx(8.0, abs=0.3),
    }
    assert q.winding_pace == pytest.approx(0.05, rel=0.02)
    assert q.urban_pace == pytest.approx(0.02, rel=0.02)
    assert q.access_speed_kph() == pytest.approx(ACCESS_KPH, rel=0.02)
    rel = result.trips["after_min"] / result.trips["ref_min"] - 1
    assert rel.abs().max() < 0.005 and len(rel) == 27 * 26
    assert (result.trips["before_min"] / result.trips["ref_min"] - 1).abs().median() > 0.05
    # the fitted table rebuilds the truth's network through the one edge rule
    table = result.calibration_table()
    H = graph_from_lines(grid, preset="travelmapping", calibration=table, settlements=towns)
    t_truth = nx.get_edge_attributes(G, "travel_time")
    t_fit = nx.get_edge_attributes(H, "travel_time")
    assert max(abs(t_fit[e] / t_truth[e] - 1) for e in t_truth) < 0.02


def test_edge_rule_by_hand():
    # A(0,0) -D5- B(1000,0) -D5- C(2000,0); B -N7- D(1000,1000) -N7- E(1000,2000); B is the
    # only junction. A town of 1,571 inhabitants at A: a disc of 500 m at 2,000 /km².
    gdf = gpd.GeoDataFrame(
        {"route": ["D5", "D5", "N7", "N7"], "highway": ["secondary"] * 2 + ["trunk"] * 2},
        geometry=[
            LineString([(0, 0), (1000, 0)]),
            LineString([(1000, 0), (2000, 0)]),
            LineString([(1000, 0), (1000, 1000)]),
            LineString([(1000, 1000), (1000, 2000)]),
        ],
        crs=2154,
    )
    town = gpd.GeoDataFrame(
        {"population": [2000 * math.pi * 0.25]}, geometry=[Point(0, 0)], crs=2154
    )
    calibration = {
        "speeds_kph": {"secondary": 50.0, "trunk": 100.0},
        "route_speeds_kph": {"secondary": {"1.5": 72.0}},  # D5 is 2 km long: 72 km/h
        "junction_delay_s": {"secondary": 10.0, "secondary>=1.5": 4.0, "trunk": 6.0},
        "urban_pace_s_per_m": 0.02,
        "built_up_density_per_km2": 2000.0,
    }
    net = line_network(
        gdf, columns={"class": "highway", "name": "route"}, calibration=calibration,
        settlements=town,
    )  # fmt: skip
    xy = {(0, 0): "A", (1000, 0): "B", (2000, 0): "C", (1000, 1000): "D", (1000, 2000): "E"}
    name = [xy[(round(x), round(y))] for x, y in zip(net.x, net.y, strict=True)]
    t = {name[a] + name[b]: s for a, b, s in zip(net.u, net.v, net.travel_time, strict=True)}
    # A→B: 1 km at 72 km/h (50 s) + junction B on a D5 of 2 km (4 s) + 500 m urban (10 s)
    assert t["AB"] == pytest.approx(64.0)
    assert t["BA"] == pytest.approx(60.0)  # A is no junction
    assert t["BC"] == pytest.approx(50.0) and t["CB"] == pytest.approx(54.0)
    assert t["DB"] == pytest.approx(36.0 + 6.0) and t["BD"] == pytest.approx(36.0)
    assert net.attrs["route_speeds_kph"] == {"secondary": {"1.5": 72.0}}
    # a class speed change keeps the route speed of D5 and the delays
    slower = net.with_speeds({"secondary": 30.0, "trunk": 50.0})
    assert np.allclose(slower.travel_time[net.klass == net.classes.index("secondary")],
                       net.travel_time[net.klass == net.classes.index("secondary")])  # fmt: skip
    d_to_b = (np.asarray(name)[net.u] == "D") & (np.asarray(name)[net.v] == "B")
    assert slower.travel_time[d_to_b] == pytest.approx([72.0 + 6.0])


def test_urban_pace_without_the_shared_data_is_left_out_with_a_warning(monkeypatch, caplog):
    """A line layer used where the national commune file is missing (a wheel without the shared
    data) builds without built-up discs, and says so, instead of failing."""
    from geoattract.errors import DataNotFoundError
    from geoattract.territory import national

    def missing(data_dir=None):
        raise DataNotFoundError("data folder not found")

    monkeypatch.setattr(national, "default_national_communes_path", missing)
    gdf = gpd.GeoDataFrame(
        {"route": ["D5", "D5"], "highway": ["secondary"] * 2},
        geometry=[LineString([(0, 0), (1000, 0)]), LineString([(1000, 0), (2000, 0)])],
        crs=2154,
    )
    calibration = {
        "speeds_kph": {"secondary": 72.0},
        "urban_pace_s_per_m": 0.02,
        "built_up_density_per_km2": 2000.0,
    }
    with caplog.at_level("WARNING", logger="geoattract.network.edge_rule"):
        net = line_network(gdf, columns={"class": "highway", "name": "route"},
                           calibration=calibration)  # fmt: skip
    assert "urban pace not applied" in caplog.text
    # 1 km at 72 km/h, no urban pace: 50 s each way (no junction: B joins one road)
    assert sorted(np.round(net.travel_time, 6).tolist()) == [50.0] * 4


def test_built_up_length_by_hand():
    from geoattract.network.line_model import built_up_length, built_up_radii

    lines = np.array([LineString([(0, 0), (1000, 0)]), LineString([(0, 5000), (0, 9000)])])
    # pieces of 100 m: midpoints 50, 150… 950; a disc of 200 m at x = 500 holds 350…650
    assert built_up_length(lines, np.array([[500.0, 0.0]]), np.array([200.0])).tolist() == [
        400.0,
        0.0,
    ]
    # a large disc (above 2 km) is searched from its centre: 3 km of the second line
    out = built_up_length(lines, np.array([[0.0, 9000.0]]), np.array([3000.0]))
    assert out.tolist() == [0.0, 3000.0]
    assert built_up_radii(np.array([2000 * math.pi, np.nan]), 2000.0).tolist() == [1000.0, 0.0]


def test_network_notes_name_every_reference_by_trip_length():
    from geoattract.network.lines import network_notes
    from geoattract.network.presets import TRAVELMAPPING

    def ref(minutes, err, short_n=0, short_err=None):
        row = {"median_ref_min": minutes, "median_abs_rel_error": err, "short_n": short_n}
        return row | ({"short_median_abs_rel_error": short_err} if short_err else {})

    calibration = {
        "fit": {
            "holdout_after": {
                "pref": ref(90.0, 0.0683),
                "isere": ref(64.0, 0.053, 986, 0.1187),
                "small": ref(30.0, 0.2, 10, 0.3),
                "paris": ref(450.0, 0.0175),
            }
        }
    }
    assert network_notes(TRAVELMAPPING, calibration) == (
        "autoroutes, nationales et départementales, sans voirie locale ; temps calibrés sur des "
        "temps de référence (écart médian hors échantillon : 1,8 % sur les longs trajets, "
        "6,8 % et 5,3 % sur les trajets moyens, 20,0 % sur les trajets courts, 11,9 % sous "
        "20 min)"
    )
