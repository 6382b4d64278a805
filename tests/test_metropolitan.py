"""Metropolitan reach: poles, car + train, population within reach, rail scenarios, broadband.

Hand-checkable cases on small synthetic tables and a 6-node road graph, then slow tests on
the real Lot-et-Garonne study (the figures of the issue).
"""

from __future__ import annotations

import math
import time

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from geoattract.accessibility import (
    commune_table,
    population_within,
    rail_times,
)
from geoattract.accessibility.poles import drive_minutes
from geoattract.accessibility.rail import best_of
from geoattract.config import (
    MetroSpec,
    Pole,
    RailLink,
    apply_rail_edits,
    check_rail_edits,
    load_study_config,
    parse_rail_link,
    scenario_edits,
)
from geoattract.config.metro import NewStation, RailScenario
from geoattract.errors import ConfigError, DataError
from geoattract.network.snapping import SnapRule
from geoattract.routing import od_network
from geoattract.transition import (
    TeleworkComponent,
    TeleworkSpec,
    component_score,
    telework_index,
)

SPEC = MetroSpec(
    poles=(
        Pole("m", "00001", "metropole", "Métropole"),
        Pole("n", "00002", "metropole", "Nord"),
        Pole("r", "00003", "regional", "Régionale"),
    ),
    transfer_min=5.0,
)


# --------------------------------------------------------------------------------------------
# Car + train, best mode, population within reach
# --------------------------------------------------------------------------------------------


def test_rail_times_keep_the_fastest_link_and_its_station():
    # drive minutes from 3 origins to 2 stations; transfer 10 min
    drive = pd.DataFrame(
        {"S1": [5.0, 30.0, np.nan], "S2": [40.0, 8.0, 10.0]}, index=["a", "b", "c"]
    )
    links = [
        RailLink("S1", "m", 30.0),
        RailLink("S2", "m", 20.0),
        RailLink("S1", "n", 50.0),
    ]
    minutes, station = rail_times(drive, links, ["m", "n", "r"], 10.0)
    # a: S1 5+10+30 = 45 beats S2 40+10+20 = 70; b: S2 8+10+20 = 38 beats S1 70
    assert minutes.loc["a", "m"] == 45 and station.loc["a", "m"] == "S1"
    assert minutes.loc["b", "m"] == 38 and station.loc["b", "m"] == "S2"
    # c does not reach S1: only S2, 10+10+20 = 40; no link of c to n
    assert minutes.loc["c", "m"] == 40 and station.loc["c", "m"] == "S2"
    assert minutes.loc["a", "n"] == 65 and np.isnan(minutes.loc["c", "n"])
    assert minutes["r"].isna().all() and station.loc["c", "n"] is None
    with pytest.raises(DataError, match="no drive time to station"):
        rail_times(drive, [RailLink("S9", "m", 1.0)], ["m"], 10.0)


def test_best_mode_is_the_strictly_faster():
    road = pd.DataFrame({"m": [50.0, 30.0, np.nan, 20.0]})
    rail = pd.DataFrame({"m": [45.0, 30.0, 70.0, np.nan]})
    best, mode = best_of(road, rail)
    assert best["m"].tolist() == [45.0, 30.0, 70.0, 20.0]
    assert mode["m"].tolist() == ["voiture + train", "voiture", "voiture + train", "voiture"]


def test_population_within_thresholds():
    minutes = pd.DataFrame({"m": [20.0, 50.0, 70.0, np.nan, 30.0]}, index=list("abcde"))
    population = pd.Series([100, 200, 300, 400, 1000], index=list("abcde"))
    groups = pd.Series(["g1", "g1", "g1", "g1", "g2"], index=list("abcde"))
    out = population_within(minutes, population, groups, [30, 60, 90])
    got = out.set_index(["group", "threshold_min"])["population_within"]
    # g1: 100 within 30; +200 within 60; +300 within 90; d is unreachable (never within)
    assert got[("g1", 30)] == 100 and got[("g1", 60)] == 300 and got[("g1", 90)] == 600
    # a commune exactly at the threshold is within it
    assert got[("g2", 30)] == 1000
    share = out.set_index(["group", "threshold_min"])["share_pct"]
    assert share[("g1", 90)] == pytest.approx(60.0)


def test_commune_table_nearest_poles_and_modes():
    road = pd.DataFrame({"m": [80.0, 50.0], "n": [70.0, 90.0], "r": [12.0, 3.0]}, index=["a", "b"])
    rail = pd.DataFrame({"m": [60.0, 55.0], "n": [np.nan, np.nan]}, index=["a", "b"])
    station = pd.DataFrame({"m": ["S1", "S1"], "n": [None, None]}, index=["a", "b"])
    out = commune_table(SPEC, road, rail, station, {"S1": "Gare 1"})
    assert out.loc["a", "time_m_best_min"] == 60 and out.loc["a", "mode_m"] == "voiture + train"
    assert out.loc["a", "rail_station_m"] == "Gare 1"
    # nearest by road: n (70) for a, m (50) for b; best of all modes: m by train for a
    assert out.loc["a", "nearest_metropole"] == "Nord"
    assert out.loc["a", "time_nearest_metropole_min"] == 70
    assert out.loc["a", "metropole_best"] == "Métropole"
    assert out.loc["a", "time_metropole_best_min"] == 60
    assert out.loc["a", "metropole_best_mode"] == "voiture + train"
    assert out.loc["b", "metropole_best_mode"] == "voiture"
    assert out.loc["b", "regional_pole_code"] == "00003"
    assert out.loc["b", "time_regional_pole_min"] == 3


def test_rail_link_to_a_regional_pole():
    # links to the metropole m and to the regional pole r from station S1; transfer 5 min
    road = pd.DataFrame({"m": [80.0, 50.0], "n": [70.0, 90.0], "r": [40.0, 3.0]}, index=["a", "b"])
    drive = pd.DataFrame({"S1": [4.0, 30.0]}, index=["a", "b"])
    links = [RailLink("S1", "m", 50.0), RailLink("S1", "r", 20.0)]
    keys = [p.key for p in SPEC.rail_poles(links)]
    assert keys == ["m", "n", "r"]
    rail, station = rail_times(drive, links, keys, SPEC.transfer_min)
    out = commune_table(SPEC, road, rail, station, {"S1": "Gare 1"})
    # a: 4 + 5 + 20 = 29 min to r, faster than 40 by road; b: 30 + 5 + 20 = 55, the road (3) wins
    assert out.loc["a", "time_r_min"] == 40 and out.loc["a", "time_r_rail_min"] == 29
    assert out.loc["a", "time_r_best_min"] == 29 and out.loc["a", "mode_r"] == "voiture + train"
    assert out.loc["a", "rail_station_r"] == "Gare 1"
    # the nearest regional pole takes the train where it is faster
    assert out.loc["a", "time_regional_pole_min"] == 29
    assert out.loc["a", "regional_pole_mode"] == "voiture + train"
    assert out.loc["b", "time_regional_pole_min"] == 3
    assert out.loc["b", "regional_pole_mode"] == "voiture"
    # the metropole m: 4 + 5 + 50 = 59 beats 80 by road; n has no link
    assert out.loc["a", "time_m_best_min"] == 59 and np.isnan(out.loc["a", "time_n_rail_min"])
    # a study without link to r writes no car + train column for it
    bare = commune_table(SPEC, road, rail[["m", "n"]], station[["m", "n"]], {"S1": "Gare 1"})
    assert "time_r_rail_min" not in bare and bare.loc["a", "time_regional_pole_min"] == 40


def test_one_rule_for_uic_codes():
    from geoattract.accessibility.rail import uic8
    from geoattract.config.metro import uic_code

    # the station file holds 10 digits, the study file and the command line 8
    assert uic_code("0087586545") == uic_code("87586545") == uic_code(87586545) == "87586545"
    assert uic_code(" gpso_agen ") == "gpso_agen"
    codes = pd.Series(["0087586545", "87586008", "gpso_agen"])
    assert uic8(codes).tolist() == [uic_code(c) for c in codes]
    assert parse_rail_link("0087586545:agen:28").station == "87586545"


def test_rail_links_table_carries_the_transfer_and_the_source():
    from geoattract.accessibility.poles import RAIL_LINK_COLUMNS
    from geoattract.config.metro import link_record

    link = RailLink("87586545", "bordeaux", 37.0, None, "SNCF", "https://x", "2014", "ancien")
    row = link_record(link, {"87586545": "Marmande"}, {"bordeaux": "Bordeaux"}, 10.0)
    assert tuple(row) == RAIL_LINK_COLUMNS
    assert row["station"] == "Marmande" and row["pole"] == "Bordeaux"
    assert row["pole_key"] == "bordeaux" and row["transfer_min"] == 10.0
    assert (row["source"], row["url"], row["vintage"], row["note"]) == (
        "SNCF",
        "https://x",
        "2014",
        "ancien",
    )


def test_the_study_rail_links_are_sourced():
    from geoattract.config.metro import uic_code
    from geoattract.scoring.rail_check import station_ids

    cfg = load_study_config("geoattract/config/studies/lot-et-garonne/study.toml")
    spec = MetroSpec.from_config(cfg)
    assert spec is not None
    known = station_ids(cfg, spec.station_category)
    keys = [link.key for link in spec.links]
    assert len(keys) == len(set(keys))
    for link in spec.links:
        # the station identity is the UIC code of the station file
        assert link.station == uic_code(link.station) and link.station in known, link
        assert link.source and link.url.startswith("https://") and link.vintage, link
        # no repost on an unrelated site
        assert not any(h in link.url for h in ("sevicesclients", "bankruptcy-lawarticles")), link
    # Marmande (a main TER station) reaches Bordeaux, Toulouse and the regional pole Agen
    marmande = {link.pole: link.minutes for link in spec.links if link.station == "87586545"}
    assert marmande == {"bordeaux": 37.0, "toulouse": 92.0, "agen": 28.0}
    assert spec.transfer_min == 10.0


# --------------------------------------------------------------------------------------------
# A small road graph: drive legs and the door-to-metropole time
# --------------------------------------------------------------------------------------------


def _line_graph() -> nx.MultiDiGraph:
    """A(0)-B(1)-C(2)-D(3) 10 km apart, 10 min per edge except C-D (30 min); E(4) 5 min from D."""
    G = nx.MultiDiGraph(crs="EPSG:2154", source="test", kind="test", schematic=False)
    xs = {0: 0.0, 1: 10_000.0, 2: 20_000.0, 3: 30_000.0, 4: 30_000.0}
    ys = {0: 0.0, 1: 0.0, 2: 0.0, 3: 0.0, 4: 10_000.0}
    for n in xs:
        G.add_node(n, x=xs[n], y=ys[n])
    for u, v, minutes in ((0, 1, 10), (1, 2, 10), (2, 3, 30), (3, 4, 5)):
        for a, b in ((u, v), (v, u)):
            G.add_edge(a, b, travel_time=60.0 * minutes, length=10_000.0)
    return G


def _points(coords: dict[str, tuple[float, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"delay_s": 0.0},
        geometry=[Point(xy) for xy in coords.values()],
        index=list(coords),
        crs="EPSG:2154",
    )


def test_door_to_metropole_on_a_small_graph():
    onet = od_network(_line_graph())
    rule = SnapRule(max_distance_m=100.0, speed_kph=30.0)
    origins = _points({"A": (0, 0), "B": (10_000, 0), "E": (30_000, 10_000)})
    poles = _points({"m": (30_000, 0), "r": (10_000, 0)})
    stations = _points({"S": (20_000, 0)})
    road = drive_minutes(onet, origins, poles, rule)
    # A -> D: 10 + 10 + 30 = 50; E -> D: 5; B is the regional pole itself
    assert road.loc["A", "m"] == pytest.approx(50.0)
    assert road.loc["E", "m"] == pytest.approx(5.0)
    assert road.loc["B", "r"] == pytest.approx(0.0)
    drive = drive_minutes(onet, origins, stations, rule)
    assert drive.loc["A", "S"] == pytest.approx(20.0)
    spec = MetroSpec(
        poles=(Pole("m", "1", "metropole", "M"), Pole("r", "2", "regional", "R")),
        transfer_min=5.0,
    )
    rail, station = rail_times(drive, [RailLink("S", "m", 2.0)], ["m"], spec.transfer_min)
    out = commune_table(spec, road, rail, station, {"S": "Gare S"})
    # A: train 20 + 5 + 2 = 27 beats the road (50); B: 10 + 5 + 2 = 17 beats 40;
    # E: the road (5) beats the train (35 + 5 + 2 = 42)
    assert out.loc["A", "time_m_best_min"] == pytest.approx(27.0)
    assert out.loc["B", "time_m_best_min"] == pytest.approx(17.0)
    assert out.loc["E", "time_m_best_min"] == pytest.approx(5.0)
    assert out["mode_m"].tolist() == ["voiture + train", "voiture + train", "voiture"]


# --------------------------------------------------------------------------------------------
# Configuration and edits
# --------------------------------------------------------------------------------------------

POLES_TOML = """
[poles.bordeaux]
code = "33063"
role = "metropole"
label_fr = "Bordeaux"
[poles.agen]
code = "47001"
role = "regional"
label_fr = "Agen"
"""


def test_poles_and_links_are_validated(tiny_study):
    link = '[[rail_links]]\nstation = "87586008"\npole = "{pole}"\nminutes = 65\nsource = "x"\nvintage = "2025"\n'
    toml, data = tiny_study(toml_extra=POLES_TOML + link.format(pole="bordeaux"))
    cfg = load_study_config(toml, data_dir=data)
    spec = MetroSpec.from_config(cfg)
    assert spec is not None and [p.key for p in spec.metropoles] == ["bordeaux"]
    assert spec.links == (RailLink("87586008", "bordeaux", 65.0, source="x", vintage="2025"),)
    assert spec.thresholds_min == (30, 45, 60, 90) and spec.transfer_min == 10.0
    # a link may reach a regional town (Agen) as well as a metropole (issue 22: links to Agen
    # count; this was a configuration error while only metropoles could be reached)
    toml, data = tiny_study(toml_extra=POLES_TOML + link.format(pole="agen"))
    spec = MetroSpec.from_config(load_study_config(toml, data_dir=data))
    assert spec is not None and spec.links[0].pole == "agen"
    assert [p.key for p in spec.rail_poles()] == ["bordeaux", "agen"]
    toml, data = tiny_study(toml_extra=POLES_TOML + link.format(pole="paris"))
    with pytest.raises(ConfigError, match=r"rail_links\[0\]\.pole' names 'paris', not a pole"):
        load_study_config(toml, data_dir=data)
    bad = POLES_TOML.replace('role = "regional"', 'role = "capitale"')
    toml, data = tiny_study(toml_extra=bad)
    with pytest.raises(ConfigError, match=r"poles\.agen\.role' must be one of"):
        load_study_config(toml, data_dir=data)
    toml, data = tiny_study(toml_extra=POLES_TOML.replace('"47001"', '"4700"'))
    with pytest.raises(ConfigError, match=r"poles\.agen\.code' must be a 5-character INSEE"):
        load_study_config(toml, data_dir=data)
    scenario = (
        '[scenarios.lgv]\nlabel_fr = "LGV"\n[[scenarios.lgv.rail_links]]\nstation = "nouvelle"\n'
        'pole = "bordeaux"\nminutes = 35\nsource = "x"\nvintage = "2030"\n'
    )
    toml, data = tiny_study(toml_extra=POLES_TOML + scenario)
    with pytest.raises(ConfigError, match="neither a UIC code nor a station of the scenario"):
        load_study_config(toml, data_dir=data)


def test_study_without_poles_has_no_metropolitan_reach(tiny_study):
    toml, data = tiny_study()
    assert MetroSpec.from_config(load_study_config(toml, data_dir=data)) is None


def test_rail_link_edits():
    assert parse_rail_link("87586008:bordeaux:35") == RailLink(
        "87586008", "bordeaux", 35.0, source="ligne de commande (scénario)"
    )
    assert parse_rail_link("0087586008:toulouse:40.5:12").trains_per_weekday == 12
    assert parse_rail_link("0087586008:toulouse:40.5").station == "87586008"
    with pytest.raises(DataError, match="expected STATION:POLE:MINUTES"):
        parse_rail_link("87586008:bordeaux")
    base = (RailLink("S1", "m", 65.0), RailLink("S1", "n", 65.0))
    after = apply_rail_edits(base, [RailLink("S1", "m", 35.0), RailLink("S2", "m", 20.0)])
    assert [(e.station, e.pole, e.minutes) for e in after] == [
        ("S1", "m", 35.0),
        ("S1", "n", 65.0),
        ("S2", "m", 20.0),
    ]
    with pytest.raises(DataError, match=r"unknown station 'S9'"):
        check_rail_edits([RailLink("S9", "m", 1.0)], SPEC, {"S1"})
    # an edit may reach a regional pole (issue 22); it used to be refused as "not a metropole"
    assert check_rail_edits([RailLink("S1", "r", 1.0)], SPEC, {"S1"}) == [RailLink("S1", "r", 1.0)]
    with pytest.raises(DataError, match=r"unknown pole 'x'"):
        check_rail_edits([RailLink("S1", "x", 1.0)], SPEC, {"S1"})
    sc = RailScenario(
        "lgv", "LGV", stations=(NewStation("g", "Gare", "00001"),), links=(RailLink("g", "m", 9),)
    )
    spec = MetroSpec(poles=SPEC.poles, scenarios={"lgv": sc})
    stations, edits, label = scenario_edits(spec, ["lgv"], [RailLink("S1", "n", 5.0)])
    assert [s.id for s in stations] == ["g"] and len(edits) == 2 and label.startswith("LGV + ")
    with pytest.raises(DataError, match="unknown rail scenario 'tgv'"):
        scenario_edits(spec, ["tgv"])


def test_rail_edits_are_refused_at_the_door(capsys):
    from geoattract.app.cli import main

    t0 = time.perf_counter()
    assert main(["scenario", "--rail-link", "99999999:bordeaux:35"]) == 2
    assert main(["scenario", "--rail-link", "87586008:paris:35"]) == 2
    assert main(["scenario", "--rail-scenario", "nope"]) == 2
    assert time.perf_counter() - t0 < 15.0  # three checks, a few seconds each at most
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("geoattract scenario: error: rail link 99999999:bordeaux:35: unknown")
    assert "unknown pole 'paris'" in err[1]
    assert "unknown rail scenario 'nope'" in err[2]
    assert len(err) == 3


# --------------------------------------------------------------------------------------------
# Broadband and the telework index
# --------------------------------------------------------------------------------------------


def test_telework_index_with_fixed_goal_posts():
    spec = TeleworkSpec(
        "Indice",
        (
            TeleworkComponent("fibre", "fibre", 100.0, 0.0, 0.5, "fibre"),
            TeleworkComponent("metro", "metro", 45.0, 120.0, 0.3, "métropole"),
            TeleworkComponent("fs", "fs", 5.0, 30.0, 0.2, "France Services"),
        ),
    )
    frame = pd.DataFrame(
        {
            "fibre": [100.0, 50.0, 0.0, 80.0],
            "metro": [30.0, 82.5, 150.0, 60.0],
            "fs": [5.0, 17.5, 40.0, np.nan],
        }
    )
    assert component_score(frame["metro"], 45, 120).tolist() == [1.0, 0.5, 0.0, 0.8]
    out = telework_index(frame, spec)
    # 100 × (0.5×1 + 0.3×1 + 0.2×1); 100 × (0.5×0.5 + 0.3×0.5 + 0.2×0.5); all worst: 0
    assert out["telework_index"].tolist()[:3] == pytest.approx([100.0, 50.0, 0.0])
    assert math.isnan(out["telework_index"][3]) and out["telework_index_missing"].tolist() == [
        False,
        False,
        False,
        True,
    ]
    with pytest.raises(ConfigError, match="component column"):
        telework_index(frame.drop(columns="fs"), spec)
    assert "poids 50 %" in spec.definition()


def test_connectivity_indicators(tmp_path):
    from geoattract.transition import connectivity_indicators, load_connectivity

    (tmp_path / "fibre.csv").write_text(
        "code_insee,pct_fibre,pct_dsl,pct_4g_fixe,nb_locaux,nb_locaux_fibre\n"
        "99001,75.0,100.0,0.0,200,150\n99002,0.0,90.0,100.0,50,\n1001,100,0,0,10,10\n"
    )
    registry = tmp_path / "indicators.toml"
    registry.write_text(
        'indicators = []\n[connectivity]\nfile = "fibre.csv"\nvintage = "2024 (ARCEP)"\n'
        'source = "ARCEP"\ncode_column = "code_insee"\npremises_column = "nb_locaux"\n'
        'fibre_share_column = "pct_fibre"\nfibre_premises_column = "nb_locaux_fibre"\n'
        'label_fr = "Fibre"\n[connectivity.technologies]\n'
        'fixed_4g = { column = "pct_4g_fixe", label_fr = "4G fixe" }\n'
        'dsl = { column = "pct_dsl", label_fr = "DSL" }\n'
    )
    source, telework = load_connectivity(registry)
    assert source is not None and telework is None
    territory = gpd.GeoDataFrame(
        {
            "code": ["99001", "99002", "99003", "01001"],
            "in_study": [True, True, True, False],
            "epci": ["e1", "e1", "e2", "e3"],
            "epci_nom": ["E1", "E1", "E2", "E3"],
        },
        geometry=[Point(0, 0)] * 4,
        crs="EPSG:2154",
    )
    out = connectivity_indicators(source, tmp_path, territory)
    t = out.table
    assert t["fibre_share_pct"].tolist()[:2] == [75.0, 0.0]
    # 99003 is absent from the table: NaN and flagged, never 0
    assert math.isnan(t["fibre_share_pct"][2]) and t["fibre_share_pct_missing"].tolist() == [
        False,
        False,
        True,
    ]
    # an empty count of eligible premises is 0: all 50 premises of 99002 lack fibre
    assert t["premises_without_fibre"].tolist()[:2] == [50.0, 50.0]
    assert t["fibre_alternatives"].tolist()[:2] == ["DSL 100 %", "4G fixe 100 %, DSL 90 %"]
    epci = out.epci.set_index("epci")
    assert epci.loc["e1", "premises_without_fibre"] == 100
    assert epci.loc["e1", "fibre_share_pct"] == pytest.approx(60.0)


def test_afom_sentence_with_the_value_inside():
    from geoattract.scoring import afom_table, format_value_fr, scoring_config_from_dict

    rule = {
        "indicator": "fibre_share_pct",
        "rule": "at_most",
        "value": 50,
        "text_fr": "{value} des locaux éligibles à la fibre seulement",
    }
    cfg = scoring_config_from_dict(
        {
            "pillars": {"services": {"label_fr": "Services"}},
            "indicators": {
                "fibre_share_pct": {
                    "pillar": "services",
                    "direction": "higher_is_better",
                    "label_fr": "fibre",
                    "unit": "%",
                }
            },
            "profiles": {"g": {"label_fr": "G", "rationale": "r", "pillars": {"services": 1}}},
            "afom": {"internal_pillars": [], "menaces": [rule]},
        }
    )
    df = pd.DataFrame({"code": ["1", "2"], "nom": ["A", "B"], "fibre_share_pct": [32.14, 80.0]})
    got = afom_table(df, cfg)["sentence"].tolist()
    value = format_value_fr(32.14, "%")
    assert got == [f"Menace : {value} des locaux éligibles à la fibre seulement."]
    assert value.startswith("32,1")


# --------------------------------------------------------------------------------------------
# The real study
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_metropole_times_of_the_study(study_state):
    com = study_state.communes_layer().set_index("code")
    assert len(com) == 319
    for col in ("time_bordeaux_min", "time_toulouse_min", "fibre_share_pct", "telework_index"):
        assert com[col].notna().all(), col
    agen = com.loc["47001"]
    assert 80 <= agen["time_bordeaux_min"] <= 110
    assert 60 <= agen["time_toulouse_min"] <= 95
    # Marmande is nearer Bordeaux, Villeneuve-sur-Lot nearer Toulouse by road
    assert com.loc["47157", "nearest_metropole"] == "Bordeaux"
    assert com.loc["47157", "regional_pole_nom"] == "Marmande"
    metro = study_state.accessibility.metropolitan
    pop = metro.population
    dep = pop[(pop["level"] == "departement") & (pop["mode"] == "voiture")]
    # the population within reach grows with the threshold
    for _, part in dep.groupby("pole"):
        assert part.sort_values("threshold_min")["population_within"].is_monotonic_increasing
    assert pop.loc[pop["level"] == "epci", "code"].nunique() == com["epci"].nunique()
    scfg = study_state.scores.config
    assert scfg.profile_weights("teletravailleurs")[0]["telework_index"] > 0


@pytest.mark.slow
def test_marmande_reaches_bordeaux_by_car_and_train(study_state):
    com = study_state.communes_layer().set_index("code")
    metro = study_state.accessibility.metropolitan
    marmande = com.loc["47157"]
    # the drive from the town hall of Marmande to its station (UIC 87586545) on the network
    access = metro.routing.station_minutes.loc["47157", "87586545"]
    assert access == pytest.approx(1.30, abs=0.05)
    # car + train = access + the transfer margin (10 min) + Intercités 4754, Marmande 13:52 ->
    # Bordeaux-Saint-Jean 14:29 (37 min, SNCF GTFS export 2013-2014): 1.30 + 10 + 37 = 48.30
    assert metro.spec.transfer_min == 10.0
    assert marmande["time_bordeaux_rail_min"] == pytest.approx(access + 10.0 + 37.0, abs=1e-6)
    assert marmande["time_bordeaux_rail_min"] == pytest.approx(48.30, abs=0.05)
    assert marmande["rail_station_bordeaux"] == "Marmande"
    assert marmande["mode_bordeaux"] == "voiture + train"
    assert marmande["time_bordeaux_best_min"] < marmande["time_bordeaux_min"]
    # the link and its source are in rail_links.csv's table
    links = metro.link_table().set_index(["uic", "pole_key"])
    row = links.loc[("87586545", "bordeaux")]
    assert row["minutes"] == 37 and row["transfer_min"] == 10
    assert row["source"].startswith("SNCF") and row["vintage"] and row["url"]
    # a link to the regional pole Agen: 1.30 + 10 + 28 (Intercités 4669, 18:09 -> 18:37)
    assert marmande["time_agen_rail_min"] == pytest.approx(access + 10.0 + 28.0, abs=1e-6)
    assert marmande["time_agen_best_min"] <= marmande["time_agen_min"]


@pytest.mark.slow
def test_high_speed_line_scenario(study_state):
    from geoattract.scoring import run_rail_scenario

    res = run_rail_scenario(
        study_state.territory.communes,
        study_state.accessibility,
        study_state.transition,
        study_state.scores,
        scenarios=["gpso"],
    )
    changes = res.metro.changes.set_index("code")
    # Agen: 35 min of train from the new station, 10 min of transfer and 14.9 min of drive (the
    # new station, placed at the nearest node of the town hall of Sainte-Colombe-en-Bruilhois,
    # on the road by the town hall): 59.9 min, within the hour. Before: 76.3 min to Toulouse
    # from the central station (5.3 min of drive + 10 + the Intercités' 61 min)
    agen = changes.loc["47001"]
    assert agen["time_metropole_best_min_before"] == pytest.approx(76.26, abs=0.1)
    assert agen["time_metropole_best_min_after"] == pytest.approx(59.88, abs=0.1)
    assert agen["newly_within_metropole"]
    # no commune loses time: links are only added or made faster
    assert (changes["time_metropole_best_min_change"] <= 1e-9).all()
    # 12 communes of the Agen area, 46,875 inhabitants (Agen: 32,801)
    newly = changes.index[changes["newly_within_metropole"].astype(bool)]
    assert len(newly) == 12 and {"47001", "47238", "47040"} <= set(newly)
    assert res.metro.epci["population_newly_within_metropole"].sum() == pytest.approx(
        46_875, rel=0.01
    )
    assert {"time_metropole_best_min", "telework_index"} <= set(res.changed_columns)
    assert res.changes["teletravailleurs"]["score_change"].abs().max() > 0


@pytest.mark.slow
def test_report_shows_the_corridor_and_the_populations(study_run):
    report = (study_run / "report.html").read_text(encoding="utf-8")
    assert 'id="metropoles">Le Lot-et-Garonne entre Bordeaux et Toulouse</h2>' in report
    assert "Le Lot-et-Garonne entre Bordeaux et Toulouse — aujourd&#x27;hui" in report
    assert "Population à moins de 60 min d'une métropole" in report
    assert "Ligne nouvelle Bordeaux-Toulouse (GPSO)" in report
    assert 'id="fibre">Fibre et télétravail</h2>' in report
    for name in (
        "static/corridor.png",
        "static/corridor_gpso.png",
        "rail_links.csv",
        "metropoles_population.csv",
        "scenario_gpso_communes.csv",
        "fibre_epci.csv",
        "time_metropole_best_min.html",
        "telework_index.html",
    ):
        assert (study_run / name).is_file(), name
    pop = pd.read_csv(study_run / "metropoles_population.csv", dtype={"code": str})
    dep = pop[(pop["level"] == "departement") & (pop["threshold_min"] == 60)]
    # the report's table and the CSV give the same figures
    for value in dep["population_within"]:
        assert f"{value:,.0f}".replace(",", "\u202f") in report
    # the sentences follow the figures: "aucun habitant" only where the CSV says 0
    assert "marge de correspondance de 10 min" in report
    dep = pop[(pop["level"] == "departement") & (pop["mode"] == "meilleur")]
    for (name, t), part in dep.groupby(["pole_nom", "threshold_min"]):
        if t < 45:
            continue
        sentence = report.split(f"Population du département à portée de {name} :")[1]
        sentence = sentence.split(f"à moins de {t} min, ")[1].split(" ;")[0].split(".")[0]
        n = part["population_within"].sum()
        expected = f"{n:,.0f}".replace(",", "\u202f") if n > 0 else "aucun habitant"
        assert expected in sentence, (name, t, sentence)
    # Marmande brings communes within 60 min of Bordeaux by car + train (issue 22)
    sixty = dep[(dep["pole"] == "bordeaux") & (dep["threshold_min"] == 60)]
    assert sixty["population_within"].sum() > 17_000
    links = pd.read_csv(study_run / "rail_links.csv", dtype={"uic": str})
    assert {"transfer_min", "source", "url", "vintage"} <= set(links.columns)
    assert links[["source", "url", "vintage"]].notna().all().all()
    assert (links["transfer_min"] == 10).all()
