"""Speeds and travel times: maxspeed parsing table, hand-made graph with exact times."""

from __future__ import annotations

import math

import networkx as nx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geoattract.errors import DataError
from geoattract.network.speeds import (
    DEFAULT_FALLBACK_SPEED_KPH,
    FRENCH_DEFAULT_SPEEDS,
    MPH_TO_KPH,
    add_edge_speeds,
    add_edge_travel_times,
    main_highway,
    parse_maxspeed,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("50", 50.0),
        (50, 50.0),
        (" 90 ", 90.0),
        ("50 km/h", 50.0),
        ("30 mph", 30 * 1.609344),
        ("FR:urban", 50.0),
        ("FR:rural", 80.0),
        ("FR:motorway", 130.0),
        ("FR:zone30", 30.0),
        ("FR:walk", 6.0),
        ("none", 130.0),
        ("50;70", 60.0),  # several values: mean
        ("30|50", 40.0),
        (["50", "70"], 60.0),
        (["50", "signals"], 50.0),  # unparseable items are ignored
        ("['50', '30']", 40.0),  # list stringified by GraphML
        ("signals", math.nan),
        ("", math.nan),
        ("0", math.nan),
        ("-30", math.nan),
        (None, math.nan),
        (math.nan, math.nan),
        ([], math.nan),
        ("FR:unknown", math.nan),
    ],
)
def test_parse_maxspeed_table(value, expected):
    got = parse_maxspeed(value)
    if math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(expected)


@given(st.integers(min_value=1, max_value=300))
def test_parse_maxspeed_numbers_and_mph(n):
    assert parse_maxspeed(str(n)) == n
    assert parse_maxspeed(f"{n} mph") == pytest.approx(n * MPH_TO_KPH)


@given(st.text(max_size=20))
def test_parse_maxspeed_never_raises(text):
    v = parse_maxspeed(text)
    assert math.isnan(v) or v > 0


def test_main_highway_picks_most_important_class():
    assert main_highway(["residential", "primary"]) == "primary"
    assert main_highway("['service', 'tertiary']") == "tertiary"
    assert main_highway("residential") == "residential"
    assert main_highway(None) == ""


def test_default_speed_table_is_a_hierarchy():
    order = [
        "motorway",
        "trunk",
        "primary",
        "secondary",
        "tertiary",
        "residential",
        "living_street",
    ]
    speeds = [FRENCH_DEFAULT_SPEEDS[c] for c in order]
    assert speeds == sorted(speeds, reverse=True)
    # averages, not limits: below the French legal limits (130, 110, 80/90, 50, 20)
    assert FRENCH_DEFAULT_SPEEDS["motorway"] < 130
    assert FRENCH_DEFAULT_SPEEDS["living_street"] < 20
    for ramp in ("motorway_link", "trunk_link", "primary_link"):
        assert FRENCH_DEFAULT_SPEEDS[ramp] < FRENCH_DEFAULT_SPEEDS[ramp.removesuffix("_link")]


def _tiny() -> nx.MultiDiGraph:
    G = nx.MultiDiGraph(crs="EPSG:2154")
    for n in range(6):
        G.add_node(n, x=float(n * 1000), y=0.0)
    G.add_edge(0, 1, length=1000.0, highway="residential")  # default 30 km/h
    G.add_edge(1, 2, length=1000.0, highway="residential", maxspeed="50")  # tag wins
    G.add_edge(2, 3, length=1000.0, highway=["residential", "primary"])  # primary 70
    G.add_edge(3, 4, length=500.0, highway="track")  # unknown class: fallback 40
    G.add_edge(4, 5, length=1500.0, highway="secondary", maxspeed="FR:rural")  # 80
    return G


def test_travel_time_is_length_over_speed_exactly():
    H = add_edge_travel_times(add_edge_speeds(_tiny()))
    expected = {
        (0, 1): (30.0, 1000 / (30 / 3.6), "default"),  # 120 s
        (1, 2): (50.0, 1000 / (50 / 3.6), "maxspeed"),  # 72 s
        (2, 3): (70.0, 1000 / (70 / 3.6), "default"),
        (3, 4): (DEFAULT_FALLBACK_SPEED_KPH, 500 / (40 / 3.6), "default"),  # 45 s
        (4, 5): (80.0, 1500 / (80 / 3.6), "maxspeed"),  # 67.5 s
    }
    for (u, v), (speed, tt, src) in expected.items():
        d = H.edges[u, v, 0]
        assert d["speed_kph"] == speed
        assert d["travel_time"] == pytest.approx(tt, rel=1e-12)
        assert d["speed_source"] == src
    assert H.edges[0, 1, 0]["travel_time"] == pytest.approx(120.0)
    assert H.edges[1, 2, 0]["travel_time"] == pytest.approx(72.0)
    assert H.edges[2, 3, 0]["highway"] == "primary"
    assert H.edges[1, 2, 0]["length_maxspeed"] == 1000.0
    assert H.edges[0, 1, 0]["length_maxspeed"] == 0.0
    # the input graph is untouched
    assert "speed_kph" not in _tiny().edges[0, 1, 0]


def test_penalty_and_custom_defaults():
    H = add_edge_speeds(
        _tiny(), defaults={"residential": 20.0, "primary": 60.0}, penalty={"residential": 0.5}
    )
    assert H.edges[0, 1, 0]["speed_kph"] == 10.0  # 20 × 0.5
    assert H.edges[1, 2, 0]["speed_kph"] == 25.0  # tagged 50 × 0.5
    assert H.edges[2, 3, 0]["speed_kph"] == 60.0
    assert H.edges[3, 4, 0]["speed_kph"] == DEFAULT_FALLBACK_SPEED_KPH


def test_bad_speed_tables_and_missing_lengths():
    with pytest.raises(DataError, match="must be > 0"):
        add_edge_speeds(_tiny(), defaults={"residential": 0.0})
    G = _tiny()
    del G.edges[0, 1, 0]["length"]
    with pytest.raises(DataError, match=r"\(0, 1, 0\)"):
        add_edge_travel_times(add_edge_speeds(G))
