"""Accessibility metrics checked on examples computed by hand."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from geoattract.accessibility import (
    Accessibility,
    build_accessibility,
    category_accessibility,
    e2sfca,
    intra_commune_legs,
    prepare_inputs,
)
from geoattract.config import StudyConfig
from geoattract.errors import ConfigError
from geoattract.facilities import Catalogue, Category, Offer, Source
from geoattract.facilities.decay import decay_from_config, flat_decay, step_decay
from geoattract.network import Network
from geoattract.network.snapping import SnapRule


def test_apl_step_decay_values():
    apl = decay_from_config({"type": "apl"})
    t = np.array([0, 10, 10.0001, 15, 17, 20, 20.5, np.inf, np.nan])
    np.testing.assert_allclose(apl(t), [1, 1, 2 / 3, 2 / 3, 1 / 3, 1 / 3, 0, 0, 0])
    assert apl.catchment_min == 20


def test_decay_config_errors():
    with pytest.raises(ConfigError, match="unknown type 'cubic'"):
        decay_from_config({"type": "cubic"})
    with pytest.raises(ConfigError, match="strictly increasing"):
        step_decay([10, 5], [1, 0.5])
    with pytest.raises(ConfigError, match="missing key 'catchment_min'"):
        decay_from_config({"type": "flat"})


def test_e2sfca_three_communes_two_facilities_by_hand():
    # Communes A, B, C with 1000, 2000, 500 inhabitants; facilities X (2 GPs) and Y (1 GP).
    # Step decay: ≤10 min → 1, ≤20 min → 0.5, beyond → 0.
    #   times: A–X 5, A–Y 25 (out), B–X 15, B–Y 8, C–Y 18.
    # Step 1: weighted demand X = 1000·1 + 2000·0.5 = 2000 → R_X = 2/2000 = 0.001
    #                         Y = 2000·1 + 500·0.5 = 2250 → R_Y = 1/2250
    # Step 2: A = 1·0.001 = 0.001 → 100 per 100,000
    #         B = 0.5·0.001 + 1/2250 = 0.0005 + 0.000444… = 0.000944… → 94.444…
    #         C = 0.5/2250 = 0.000222… → 22.222…
    decay = step_decay([10, 20], [1.0, 0.5])
    demand_idx = np.array([0, 0, 1, 1, 2])
    supply_idx = np.array([0, 1, 0, 1, 1])
    minutes = np.array([5, 25, 15, 8, 18])
    a = e2sfca(
        demand_idx, supply_idx, minutes, np.array([1000, 2000, 500]), np.array([2, 1]), decay
    )
    np.testing.assert_allclose(a, [100.0, 94.44444444, 22.22222222])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(1, 1e5), min_size=1, max_size=8),
    st.lists(st.floats(0.5, 50), min_size=1, max_size=6),
    st.randoms(use_true_random=False),
)
def test_e2sfca_conservation_with_flat_catchment(pops, supplies, rnd):
    # every commune reaches every facility within the flat catchment → Σ P_i A_i = Σ S_j
    n, m = len(pops), len(supplies)
    di, si = np.meshgrid(np.arange(n), np.arange(m), indexing="ij")
    minutes = np.array([rnd.uniform(0, 30) for _ in range(n * m)])
    a = e2sfca(
        di.ravel(), si.ravel(), minutes, np.array(pops), np.array(supplies), flat_decay(30), per=1
    )
    assert np.dot(pops, a) == pytest.approx(sum(supplies), rel=1e-9)


def test_e2sfca_unreached_facility_serves_nobody():
    a = e2sfca(
        np.array([0]),
        np.array([0]),
        np.array([45.0]),
        np.array([100.0]),
        np.array([3.0]),
        flat_decay(30),
    )
    assert a.tolist() == [0.0]


# --- per-commune metrics on a hand-made network ------------------------------------------------
#
#   A(0) ──60 s── (1) ──60 s── B(2)        C(3) isolated
#
# Town hall A lies 100 m from node 0 (access leg 100 m at 15 km/h = 24 s), B on node 2,
# C on the isolated node 3. One GP practice of 2 doctors on node 0 (in commune A).


def _line_graph() -> nx.MultiDiGraph:
    G = nx.MultiDiGraph(crs="EPSG:2154", schematic=False)
    for n in range(4):
        G.add_node(n, x=1000.0 * n, y=0.0)
    for u, v in [(0, 1), (1, 2)]:
        for a, b in [(u, v), (v, u)]:
            G.add_edge(a, b, length=1000.0, highway="residential", speed_kph=60.0, travel_time=60.0)
    return G


def _hand_study(extra_gp_at_b: bool = False):
    territory = gpd.GeoDataFrame(
        {
            "code": ["99001", "99002", "99003"],
            "nom": ["A", "B", "C"],
            "population": [100.0, 300.0, 50.0],
            "in_study": [True, True, True],
            "town_hall": gpd.GeoSeries(
                [Point(0, 100), Point(2000, 0), Point(3000, 0)], crs="EPSG:2154"
            ),
        },
        geometry=[
            box(-500, -500, 500, 500),
            box(1500, -500, 2500, 500),
            box(2500, -500, 3500, 500),
        ],
        crs="EPSG:2154",
    )
    pts = [Point(0, 0)] + ([Point(2000, 0)] if extra_gp_at_b else [])
    facilities = gpd.GeoDataFrame(
        {
            "category": ["gp"] * len(pts),
            "facility_id": [f"gp{i}" for i in range(len(pts))],
            "name": ["Cabinet"] * len(pts),
            "capacity": [2.0] * len(pts),
            "code": ["99001", "99002"][: len(pts)],
            "in_study": [True] * len(pts),
        },
        geometry=pts,
        crs="EPSG:2154",
    )
    facilities.attrs["capacity_unit"] = {"gp": "count"}
    facilities.attrs["covers_buffer"] = {"gp": True}
    cat = Category(
        id="gp",
        pillar="health",
        label_fr="Médecin",
        label_en="GP",
        sources=(Source(type="points"),),
        thresholds_min=(1, 2, 3),
        decay=flat_decay(30),
    )
    catalogue = Catalogue(categories={"gp": cat}, path=Path("hand.toml"))
    return territory, facilities, catalogue


def test_metrics_on_hand_network():
    territory, facilities, catalogue = _hand_study()
    inputs = prepare_inputs(
        _line_graph(), territory, facilities, catalogue, snap_rule=SnapRule(max_distance_m=500)
    )
    acc = category_accessibility(inputs)
    # A: facility in the origin commune → time = the snap times only (24 s + 0 s)
    # B: 120 s on the graph; C: no road to the practice → NaN and flag, never 0
    np.testing.assert_allclose(acc["time_gp_min"].iloc[:2], [0.4, 2.0])
    assert np.isnan(acc["time_gp_min"].iloc[2])
    assert acc["unreachable_gp"].tolist() == [False, False, True]
    # counts are doctors (capacity of a count unit): B reaches them exactly at 2 min
    assert acc["count_gp_1min"].tolist() == [2, 0, 0]
    assert acc["count_gp_2min"].tolist() == [2, 2, 0]
    assert acc["count_gp_3min"].tolist() == [2, 2, 0]
    # E2SFCA, flat 30 min: R = 2 / (100 + 300); A = B = 2/400 · 100,000 = 500; C reaches none
    np.testing.assert_allclose(acc["e2sfca_gp"], [500.0, 500.0, 0.0])
    # the whole offer is inside the study area
    np.testing.assert_allclose(acc["outside_share_gp"].iloc[:2], [0.0, 0.0])
    assert np.isnan(acc["outside_share_gp"].iloc[2])


def test_counts_never_decrease_with_threshold():
    territory, facilities, catalogue = _hand_study(extra_gp_at_b=True)
    acc = category_accessibility(
        prepare_inputs(
            _line_graph(), territory, facilities, catalogue, snap_rule=SnapRule(max_distance_m=500)
        )
    )
    c = acc[["count_gp_1min", "count_gp_2min", "count_gp_3min"]].to_numpy()
    assert (np.diff(c, axis=1) >= 0).all()
    assert acc["count_gp_3min"].tolist() == [4, 4, 0]


def test_facility_known_by_commune_gets_the_intra_commune_leg():
    # the same practice, known only as a BPE count of commune A (1 km² square): placed at A's
    # town hall with an access leg of 0.5·√(1 km²/π) = 282.09 m at 15 km/h = 67.70 s
    territory, facilities, catalogue = _hand_study()
    facilities["source"] = "bpe"
    facilities["geometry"] = [Point(0, 100)]
    acc = category_accessibility(
        prepare_inputs(
            _line_graph(), territory, facilities, catalogue, snap_rule=SnapRule(max_distance_m=500)
        )
    )
    leg = 0.5 * np.sqrt(1e6 / np.pi) / (15 / 3.6)
    # origin A, its own commune: the direct trip across the commune, the intra-commune leg
    # only (not 24 s to the node and 24 s back)
    assert acc["time_gp_min"].iloc[0] == pytest.approx(leg / 60)
    # origin B: its town-hall leg, the road, then the facility leg (24 s to the node from A's
    # town hall + intra-commune 67.70 s)
    assert acc["time_gp_min"].iloc[1] == pytest.approx((24 + leg + 120) / 60)


def test_snapping_warnings_name_the_dataset_and_the_communes(caplog):
    # limit 50 m: A's town hall (100 m from node 0) and the practice moved 80 m off node 2
    territory, facilities, catalogue = _hand_study(extra_gp_at_b=True)
    facilities["geometry"] = [Point(0, 0), Point(2000, 80)]
    with caplog.at_level(logging.WARNING, logger="geoattract"):
        inputs = prepare_inputs(
            _line_graph(), territory, facilities, catalogue, snap_rule=SnapRule(max_distance_m=50)
        )
    assert (
        "1 town halls farther than 50 m from the road network: 'A (99001) (100 m)'" in caplog.text
    )
    assert "1 facilities farther than 50 m from the road network: 'gp gp1 (80 m)'" in caplog.text
    assert inputs.communes["too_far"].tolist() == [True, False, False]
    assert inputs.dropped_facilities["facility_id"].tolist() == ["gp1"]
    assert inputs.snap_rule.max_distance_m == 50


def test_snap_rule_defaults_to_the_graph_kind():
    territory, facilities, catalogue = _hand_study()
    inputs = prepare_inputs(_line_graph(), territory, facilities, catalogue)
    assert inputs.snap_rule == SnapRule()  # package defaults: 2 km at 15 km/h
    # a new point snaps with the inputs' rule: 300 m off node 1 → 300 m at 15 km/h = 72 s
    snapped = inputs.snap([Point(1000, 300)], ids=["new"])
    assert snapped.loc["new", "node"] == 1
    assert snapped.loc["new", "snap_time_s"] == pytest.approx(72.0)


def test_intra_commune_leg_follows_the_snap_rule():
    # the rule's detour and speed apply to the intra-commune leg too: 282.09 m × 1.5 at 30 km/h
    territory, facilities, catalogue = _hand_study()
    facilities["source"] = "bpe"
    rule = SnapRule(max_distance_m=500, speed_kph=30, detour=1.5)
    inputs = prepare_inputs(_line_graph(), territory, facilities, catalogue, snap_rule=rule)
    leg_m = 0.5 * np.sqrt(1e6 / np.pi)
    assert inputs.facilities["intra_commune_m"].item() == pytest.approx(leg_m)
    assert inputs.facilities["snap_s"].item() == pytest.approx(leg_m * 1.5 / (30 / 3.6))
    np.testing.assert_allclose(intra_commune_legs(facilities, territory, rule), [leg_m])


def test_build_accessibility_on_hand_network():
    """The stage entry point on the hand network: snap columns, GP metrics and housing.

    Housing within 2 minutes: A reaches only itself (24 + 24 s; B is 24 + 120 s away), B only
    itself, C only itself. Social dwellings 20 / 30 / 0 for 100 / 300 / 50 inhabitants → 200,
    100 and 0 per 1,000. House prices 1,000 €/m² (10 sales) and 2,000 (30 sales): the
    sales-weighted median is 2,000, so A's ratio 0.5 shrinks to (10·0.5 + 5) / 15 = 2/3 and
    B's stays 1; C has no sale (NaN).
    """
    territory, facilities, catalogue = _hand_study()
    housing = pd.DataFrame(
        {
            "code": ["99001", "99002", "99003"],
            "price_m2_house": [1000.0, 2000.0, np.nan],
            "price_m2_flat": [np.nan, np.nan, np.nan],
            "n_sales_house": [10.0, 30.0, 0.0],
            "n_sales_flat": [0.0, 0.0, 0.0],
            "few_sales_house": [False, False, True],
            "few_sales_flat": [True, True, True],
            "social_housing": [20.0, 30.0, 0.0],
        },
        index=territory.index,
    )
    offer = Offer(catalogue=catalogue, facilities=facilities, housing=housing)
    network = Network.from_graph(_line_graph(), SnapRule(max_distance_m=500))
    config = StudyConfig(
        path=Path("hand.toml"),
        data_dir=Path("."),
        raw={"accessibility": {"housing_threshold_min": 2}},
    )

    acc = build_accessibility(config, territory, network, offer)

    assert isinstance(acc, Accessibility) and acc.inputs.snap_rule is network.snap_rule
    table = acc.table
    assert list(table.index) == list(territory.index)
    assert list(table.columns[:3]) == [
        "town_hall_snap_m",
        "town_hall_snap_s",
        "town_hall_unsnapped",
    ]
    np.testing.assert_allclose(table["town_hall_snap_m"], [100.0, 0.0, 0.0])
    np.testing.assert_allclose(table["town_hall_snap_s"], [24.0, 0.0, 0.0])
    assert table["town_hall_unsnapped"].tolist() == [False, False, False]
    np.testing.assert_allclose(table["time_gp_min"], [0.4, 2.0, np.nan])
    np.testing.assert_allclose(table["e2sfca_gp"], [500.0, 500.0, 0.0])
    np.testing.assert_allclose(table["social_housing_2min_per_1000"], [200.0, 100.0, 0.0])
    np.testing.assert_allclose(table["housing_sales_2min"], [10.0, 30.0, 0.0])
    np.testing.assert_allclose(table["housing_price_house_rel"], [2 / 3, 1.0, np.nan])
    assert table["few_sales_house"].tolist() == [False, False, True]
    # without housing data the table has the snap and category columns only
    bare = build_accessibility(config, territory, network, Offer(catalogue, facilities, None))
    assert list(bare.table.columns) == list(table.columns[: len(bare.table.columns)])
    assert "social_housing_2min_per_1000" not in bare.table


# --- the Python API on the real study gives the run's values ------------------------------------
#: Pharmacy times (minutes) of `geoattract run` on the schematic network (communes.gpkg at
#: 43f0bf2): Agen, Agmé, Marmande, Nérac, Villeneuve-sur-Lot.
RUN_PHARMACY_MIN = {
    "47001": 1.432394,
    "47002": 7.917410,
    "47157": 2.834407,
    "47195": 3.353201,
    "47323": 3.816557,
}


def test_python_api_with_the_study_rule_gives_the_run_pharmacy_times(study_config, territory):
    import geoattract as ga
    from geoattract.facilities import load_catalogue, load_facilities

    G = ga.load_graph("schematic", territory=territory)
    catalogue = load_catalogue(
        study_config.config_file("catalogue"), data_dir=study_config.data_dir
    )
    fac = load_facilities(territory, catalogue, categories=["pharmacy"])
    rule = SnapRule.from_section(study_config.section("network"), schematic=True)
    assert (rule.max_distance_m, rule.speed_kph) == (15000.0, 40.0)
    inputs = prepare_inputs(G, territory, fac, catalogue, snap_rule=rule)
    acc = category_accessibility(inputs, ["pharmacy"])
    times = acc["time_pharmacy_min"].set_axis(territory.loc[acc.index, "code"])
    got = times.loc[list(RUN_PHARMACY_MIN)]
    np.testing.assert_allclose(got, list(RUN_PHARMACY_MIN.values()), atol=1e-6)
    # Agen's pharmacies are BPE counts at its town hall, itself a node of the schematic
    # network: the time is the intra-commune leg 0.5·√(area/π) at 40 km/h
    agen = territory.set_index("code").loc["47001"]
    leg_min = 0.5 * np.sqrt(agen.geometry.area / np.pi) / (40 / 3.6) / 60
    assert got["47001"] == pytest.approx(leg_min, rel=1e-9)
    # without the study's rule the package defaults (15 km/h) make that leg 40/15 times longer
    default = prepare_inputs(G, territory, fac, catalogue, rg=inputs.rg)
    acc0 = category_accessibility(default, ["pharmacy"])
    agen_row = territory.index[territory["code"] == "47001"][0]
    assert acc0.loc[agen_row, "time_pharmacy_min"] == pytest.approx(leg_min * 40 / 15, rel=1e-9)
