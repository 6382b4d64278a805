"""The APL catchment method: each option on a 3-commune example computed by hand, properties."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoattract.accessibility import (
    CatchmentProblem,
    age_factors,
    catchment_sensitivity,
    compare_rankings,
    e2sfca,
    expected_step_weights,
    prepare_inputs,
    smoothed_step_decay,
    solve_catchment,
)
from geoattract.errors import ConfigError, DataError
from geoattract.facilities import (
    Catalogue,
    CatchmentSpec,
    Category,
    ExtraSupply,
    Source,
    age_structure_table,
    load_catalogue,
    step_decay,
)
from geoattract.facilities.catchment_spec import catchment_spec, check_catchments
from geoattract.facilities.demand import age_structure_source
from geoattract.network.snapping import SnapRule

# ----------------------------------------------------------------------------------------------
# The hand example. Communes A, B, C (1,000 / 2,000 / 500 inhabitants). GP practices: 2 GPs in
# A (j0), 1 GP in C (j1, a large commune: its own GP is 11 min from its town hall); a health
# centre in B (j2). Routed minutes (DREES bands: ≤10 → 1, ≤15 → 2/3, ≤20 → 1/3):
#
#          j0 (A)   j1 (C)   j2 (B, centre)
#     A      3        18        14
#     B     12         9         2
#     C     18        11        16
APL = step_decay()


def _problem() -> CatchmentProblem:
    demand = pd.DataFrame(
        {
            "code": ["A", "B", "C"],
            "population": [1000.0, 2000.0, 500.0],
            "in_study": [True, True, True],
            "age_factor": np.nan,
            "age_imputed": False,
        },
        index=[10, 11, 12],
    )
    supply = pd.DataFrame(
        {
            "code": ["A", "C", "B"],
            "capacity": [2.0, 1.0, 1.0],
            "in_study": [True, True, True],
            "category": ["gp", "gp", "health_centre"],
        }
    )
    pairs = pd.DataFrame(
        {
            "demand": [0, 1, 2, 2, 1, 0, 1, 0, 2],
            "supply": [0, 0, 0, 1, 1, 1, 2, 2, 2],
            "minutes": [3.0, 12, 18, 11, 9, 18, 2, 14, 16],
            "same_commune": [True, False, False, True, False, False, True, False, False],
        }
    )
    return CatchmentProblem("gp", demand, supply, pairs, closed=False)


def test_plain_drees_bands_by_hand():
    # j0: D = 1000·1 + 2000·2/3 + 500·1/3 = 2500 → R0 = 2/2500 = 8.0e-4
    # j1: D = 500·2/3 + 2000·1 + 1000·1/3 = 2666.67 → R1 = 3.75e-4
    # A = R0 + R1/3 = 9.25e-4; B = 2/3·R0 + R1 = 9.0833e-4; C = R0/3 + 2/3·R1 = 5.1667e-4
    a = solve_catchment(_problem(), CatchmentSpec(method="apl", same_commune=False), APL)
    np.testing.assert_allclose(a, [92.5, 90.8333, 51.6667], atol=1e-4)
    assert list(a.index) == [10, 11, 12]


def test_same_commune_time_zero_by_hand():
    # C's own GP moves from 11 min (2/3) to 0 min (1): j1: D = 500 + 2000 + 1000/3 = 2833.33,
    # R1 = 3/8500; A = 2/2500 + 1/8500 = 9.17647e-4, B = 2/3·8e-4 + 3/8500, C = 8e-4/3 + 3/8500
    a = solve_catchment(_problem(), CatchmentSpec(method="apl", same_commune=True), APL)
    np.testing.assert_allclose(a, [91.7647, 88.6275, 61.9608], atol=1e-4)
    # a non-zero same-commune time is a value too: 12 min puts C's own GP at 2/3 as routed
    b = solve_catchment(
        _problem(), CatchmentSpec(method="apl", same_commune=True, same_commune_min=12.0), APL
    )
    # A's own practice goes from 3 to 12 min (weight 2/3) and B's centre is not supply
    # j0: D = 1000·2/3 + 2000·2/3 + 500/3 = 2166.67 → R0 = 9.2308e-4; j1 as in the plain case
    np.testing.assert_allclose(b.iloc[0], 1e5 * (2 / 3 * 2 / 2166.6667 + 3.75e-4 / 3), rtol=1e-6)


def test_age_standardised_demand_by_hand():
    # shares (<25, 25-64, 65+): A .2/.5/.3, B .3/.6/.1, C .1/.4/.5; weights 0.5 / 1 / 2
    # raw Σ s·w: A 1.2, B 0.95, C 1.45; study mean (pop-weighted) 3825/3500 = 1.092857
    # f = 1.098039 / 0.869281 / 1.326797 → standardised pops 1098.04 / 1738.56 / 663.40
    shares = np.array([[0.2, 0.5, 0.3], [0.3, 0.6, 0.1], [0.1, 0.4, 0.5]])
    f = age_factors(shares, [0.5, 1.0, 2.0], np.array([1000.0, 2000, 500]), np.ones(3, bool))
    np.testing.assert_allclose(f, [1.098039, 0.869281, 1.326797], atol=1e-6)
    p = _problem()
    p.demand["age_factor"] = f
    spec = CatchmentSpec(method="apl", same_commune=True, age_weights={"a": 0.5, "b": 1, "c": 2})
    # j0: D = 1098.04 + 2/3·1738.56 + 1/3·663.40 = 2478.21 → R0 = 8.07032e-4
    # j1: D = 663.40 + 1738.56 + 1/3·1098.04 = 2767.97 → R1 = 3.61275e-4
    # A = R0 + R1/3 = 9.27457e-4; B = 2/3·R0 + R1 = 8.99296e-4; C = R0/3 + R1 = 6.30286e-4
    np.testing.assert_allclose(
        solve_catchment(p, spec, APL), [92.7457, 89.9296, 63.0286], atol=2e-4
    )


def test_health_centres_as_extra_supply_by_hand():
    # the centre counts 1.76 GPs: j2 (own commune B at 0 min): D = 2000 + 1000·2/3 + 500/3
    # = 2833.33 → R2 = 1.76/2833.33 = 6.21176e-4, added to A (·2/3), B (·1), C (·1/3)
    spec = CatchmentSpec(
        method="apl", same_commune=True, extra_supply=(ExtraSupply("health_centre", 1.76),)
    )
    a = solve_catchment(_problem(), spec, APL)
    np.testing.assert_allclose(
        a, [91.7647 + 41.4118, 88.6275 + 62.1176, 61.9608 + 20.7059], atol=2e-4
    )
    # the per-unit value is the spec's: 0 GP per centre gives the case without centres
    zero = solve_catchment(_problem(), spec, APL, per_unit={"health_centre": 0.0})
    np.testing.assert_allclose(zero, [91.7647, 88.6275, 61.9608], atol=1e-4)


def test_smoothing_uniform_error_by_hand():
    # uniform error e = 0.1: true time in [0.8 t, 1.2 t]; expected weight = Σ w · overlap / 0.4 t
    # 12 → [9.6, 14.4]: (0.4·1 + 4.4·2/3)/4.8 = 0.694444; 18 → [14.4, 21.6]: (0.6·2/3 + 5·1/3)/7.2
    # = 0.287037; 11 → [8.8, 13.2]: (1.2 + 3.2·2/3)/4.4 = 0.757576; 9 → [7.2, 10.8]:
    # (2.8 + 0.8·2/3)/3.6 = 0.925926; 3 → 1; 0 (same commune) → 1; beyond 20/0.8 = 25 → 0
    w = expected_step_weights(
        np.array([3, 12, 18, 11, 9, 0, 25, np.nan]), [10, 15, 20], [1, 2 / 3, 1 / 3], 0.1, "uniform"
    )
    np.testing.assert_allclose(w, [1, 0.694444, 0.287037, 0.757576, 0.925926, 1, 0, 0], atol=1e-6)
    # j0: D = 1000 + 2000·0.694444 + 500·0.287037 = 2532.407 → R0 = 7.897623e-4
    # j1: D = 500·0.757576 + 2000·0.925926 + 1000·0.287037 = 2517.677 → R1 = 3.971915e-4
    # A = R0 + 0.287037·R1 = 7.897623e-4 + 1.140087e-4 = 9.037710e-4
    spec = CatchmentSpec(method="apl", smoothing=True, time_error=0.1, time_error_model="uniform")
    a = solve_catchment(_problem(), spec, APL)
    assert a.iloc[0] == pytest.approx(90.3771, abs=1e-4)


def test_smoothing_lognormal_at_a_band_edge():
    # e = 0.1 → σ = ln 1.1 / 0.67449 = 0.141307; at t = 10 min: P(T ≤ 10) = 1/2,
    # P(10 < T ≤ 15) = Φ(ln 1.5 / σ) − 1/2 = Φ(2.86938) − 1/2, the rest ≤ 20 min
    s = math.log(1.1) / 0.6744897501960817
    phi = 0.5 * (1 + math.erf(math.log(1.5) / s / math.sqrt(2)))
    phi2 = 0.5 * (1 + math.erf(math.log(2.0) / s / math.sqrt(2)))
    expected = 0.5 + (phi - 0.5) * 2 / 3 + (phi2 - phi) / 3
    w = expected_step_weights(np.array([9.9, 10.0, 10.1]), [10, 15, 20], [1, 2 / 3, 1 / 3], 0.1)
    assert w[1] == pytest.approx(expected, abs=1e-9)
    assert expected == pytest.approx(0.83265, abs=1e-5)
    # 9.9 and 10.1 min are 0.02 apart, not 1/3 (the plain bands)
    assert w[0] - w[2] < 0.025
    plain = expected_step_weights(np.array([9.9, 10.1]), [10, 15, 20], [1, 2 / 3, 1 / 3], 0.0)
    np.testing.assert_allclose(plain, [1.0, 2 / 3])
    # the smoothed decay reaches beyond 20 min: 20 · exp(3σ) = 30.6 min
    decay = smoothed_step_decay([10, 15, 20], [1, 2 / 3, 1 / 3], 0.1)
    assert decay.catchment_min == pytest.approx(20 * math.exp(3 * s))
    assert 0 < decay(np.array([21.0]))[0] < 1 / 3


def test_buffer_supply_switch_closes_the_study():
    # a GP across the border (in D, a buffer commune of 1,000 inhabitants, 5 min from C)
    p = _problem()
    demand = pd.concat(
        [
            p.demand,
            pd.DataFrame(
                {
                    "code": ["D"],
                    "population": [1000.0],
                    "in_study": [False],
                    "age_factor": np.nan,
                    "age_imputed": False,
                },
                index=[13],
            ),
        ]
    )
    supply = pd.concat(
        [
            p.supply,
            pd.DataFrame(
                {"code": ["D"], "capacity": [1.0], "in_study": [False], "category": ["gp"]}
            ),
        ],
        ignore_index=True,
    )
    pairs = pd.concat(
        [
            p.pairs,
            pd.DataFrame(
                {
                    "demand": [3, 2, 3],
                    "supply": [3, 3, 1],
                    "minutes": [0.0, 5, 14],
                    "same_commune": [True, False, False],
                }
            ),
        ],
        ignore_index=True,
    )
    q = CatchmentProblem("gp", demand, supply, pairs, closed=False)
    spec = CatchmentSpec(method="apl", same_commune=True)
    opened = solve_catchment(q, spec, APL)
    closed = solve_catchment(q, spec.switched("buffer_supply"), APL)
    # closed: D is neither demand nor supply → the plain time-0 values of A, B, C
    np.testing.assert_allclose(closed, [91.7647, 88.6275, 61.9608], atol=1e-4)
    assert list(closed.index) == [10, 11, 12] and list(opened.index) == [10, 11, 12, 13]
    # opened: j3: D = 1000 + 500 = 1500 → R3 = 1/1500, added to C; j1 gets D's 2/3·1000 demand
    r1 = 1 / (500 + 2000 + 1000 / 3 + 1000 * 2 / 3)
    assert opened.iloc[2] == pytest.approx(1e5 * (8e-4 / 3 + r1 + 1 / 1500), rel=1e-6)


# --- properties --------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(
    bump=st.integers(0, 1),
    factor=st.floats(1.01, 5.0),
    scale=st.floats(0.001, 1000.0),
    wscale=st.floats(0.01, 100.0),
)
def test_monotone_in_supply_and_scale_invariant(bump, factor, scale, wscale):
    p = _problem()
    shares = np.array([[0.2, 0.5, 0.3], [0.3, 0.6, 0.1], [0.1, 0.4, 0.5]])
    weights = np.array([0.5, 1.0, 2.0])
    pop = p.demand["population"].to_numpy()
    p.demand["age_factor"] = age_factors(shares, weights, pop, np.ones(3, bool))
    spec = CatchmentSpec(
        method="apl",
        same_commune=True,
        age_weights={"a": 0.5, "b": 1, "c": 2},
        extra_supply=(ExtraSupply("health_centre", 1.76),),
    )
    base = solve_catchment(p, spec, APL).to_numpy()
    # more supply at one facility never lowers anyone's access
    more = _problem()
    more.demand["age_factor"] = p.demand["age_factor"]
    more.supply.loc[bump, "capacity"] *= factor
    assert (solve_catchment(more, spec, APL).to_numpy() >= base - 1e-12).all()
    # population in other units (hundreds, thousands…): access scales by 1/k, exactly
    scaled = _problem()
    scaled.demand["population"] *= scale
    scaled.demand["age_factor"] = age_factors(
        shares, weights * wscale, pop * scale, np.ones(3, bool)
    )
    np.testing.assert_allclose(
        solve_catchment(scaled, spec, APL).to_numpy() * scale, base, rtol=1e-9
    )
    # the age factors do not depend on the units of the population or of the weights
    np.testing.assert_allclose(scaled.demand["age_factor"], p.demand["age_factor"], rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    t=st.floats(0.5, 40.0), e=st.floats(0.01, 0.4), model=st.sampled_from(["lognormal", "uniform"])
)
def test_expected_weights_stay_within_the_band_weights(t, e, model):
    w = expected_step_weights(np.array([t, t * 1.001]), [10, 15, 20], [1, 2 / 3, 1 / 3], e, model)
    assert ((w >= 0) & (w <= 1 + 1e-12)).all()
    assert w[1] <= w[0] + 1e-9  # non-increasing in time, like the bands


def test_e2sfca_of_the_problem_matches_the_pure_function():
    # the plain spec is the pure e2sfca on the pairs (no option changes anything)
    p = _problem()
    keep = p.supply["category"] == "gp"
    pairs = p.pairs[keep.to_numpy()[p.pairs["supply"]]]
    pure = e2sfca(
        pairs["demand"],
        pairs["supply"],
        pairs["minutes"],
        p.demand["population"],
        np.where(keep, p.supply["capacity"], 0.0),
        APL,
    )
    np.testing.assert_allclose(solve_catchment(p, CatchmentSpec(), APL), pure)


# --- the spec and its validation ---------------------------------------------------------------
def test_catchment_spec_defaults_and_errors():
    apl = catchment_spec({"method": "apl"}, "f.toml", "categories.gp", "apl")
    assert apl.same_commune and apl.same_commune_min == 0 and not apl.age_standardised
    assert catchment_spec(None, "f.toml", "categories.gp", "step") == CatchmentSpec()
    with pytest.raises(ConfigError, match=r"'categories.gp.decay.type' is 'step'"):
        catchment_spec({"method": "apl"}, "f.toml", "categories.gp", "step")
    with pytest.raises(ConfigError, match="smoothing' is true but time_error"):
        catchment_spec({"method": "apl", "smoothing": True}, "f.toml", "categories.gp", "apl")
    with pytest.raises(ConfigError, match="unknown variant"):
        catchment_spec({"sensitivity": ["age", "weather"]}, "f.toml", "categories.gp", "apl")
    with pytest.raises(ConfigError, match=r"age_weights' must map each age band"):
        catchment_spec({"age_weights": {"a": 0}}, "f.toml", "categories.gp", "apl")
    with pytest.raises(ConfigError, match="time_error' must be in"):
        catchment_spec({"time_error": 0.6}, "f.toml", "categories.gp", "apl")
    spec = CatchmentSpec(extra_supply=(ExtraSupply("nope", 1.0),))
    with pytest.raises(ConfigError, match="names category 'nope'"):
        check_catchments({"gp": spec}, None, "f.toml")
    aged = CatchmentSpec(age_weights={"young": 1.0})
    with pytest.raises(ConfigError, match=r"needs an \[age_structure\] table"):
        check_catchments({"gp": aged}, None, "f.toml")
    with pytest.raises(ConfigError, match="has bands"):
        check_catchments({"gp": aged}, ["old", "young"], "f.toml")
    assert aged.switched("age") == CatchmentSpec()
    assert apl.switched("same_commune").same_commune is False


def test_shipped_catalogue_uses_the_apl_for_gps(study_config):
    cat = load_catalogue(study_config.config_file("catalogue"), check_files=False)
    gp = cat["gp"].catchment
    assert gp.method == "apl" and gp.same_commune and gp.same_commune_min == 0.0
    assert gp.age_weights == {"under_25": 0.83, "25_64": 1.0, "65_plus": 2.8}
    assert gp.extra_supply == (ExtraSupply("health_centre", 1.76),)
    assert gp.time_error == 0.10 and not gp.smoothing
    assert [s for s in cat["health_centre"].sources if s.type == "bpe"][0].typequ == ("D108",)
    for cid in ("dentist", "nurse", "midwife"):
        assert cat[cid].catchment.method == "apl" and cat[cid].decay_spec["type"] == "apl"
    assert cat.age_structure is not None and list(cat.age_structure.bands) == list(gp.age_weights)


# --- the age structure -------------------------------------------------------------------------
def test_age_structure_table_imputes_the_study_mean(tmp_path: Path):
    (tmp_path / "ages.csv").write_text(
        "code,jeunes,adultes,seniors\n99001,20,50,30\n99002,30.1,60,10\n99003,,,\n",
        encoding="utf-8",
    )
    src = age_structure_source(
        {
            "file": "ages.csv",
            "code_column": "code",
            "bands": {"young": "jeunes", "adult": "adultes", "old": "seniors"},
        },
        "f.toml",
    )
    territory = pd.DataFrame(
        {
            "code": ["99001", "99002", "99003", "98001"],
            "in_study": [True, True, True, False],
            "population": [100.0, 300.0, 50.0, 1000.0],
        },
        index=[5, 6, 7, 8],
    )
    out = age_structure_table(territory, src, tmp_path)
    # shares renormalised to sum 1 (30.1 + 60 + 10 = 100.1 %)
    assert out.loc[6, "age_share_young"] == pytest.approx(30.1 / 100.1)
    # 99003 (no values) and 98001 (absent) take the population-weighted mean of 99001, 99002
    mean_young = (100 * 0.2 + 300 * 30.1 / 100.1) / 400
    assert out.loc[7, "age_share_young"] == pytest.approx(mean_young)
    assert out.loc[8, "age_share_young"] == pytest.approx(mean_young)
    assert out["age_imputed"].tolist() == [False, False, True, True]
    assert out.attrs["imputed_study"] == ["99003"]
    (tmp_path / "bad.csv").write_text("code,jeunes,adultes,seniors\n99001,20,50,10\n")
    bad = age_structure_source(
        {
            "file": "bad.csv",
            "code_column": "code",
            "bands": {"young": "jeunes", "adult": "adultes", "old": "seniors"},
        },
        "f.toml",
    )
    with pytest.raises(DataError, match=r"do not sum to 100 %.*99001 \(80.0 %\)"):
        age_structure_table(territory, bad, tmp_path)


# --- on snapped inputs: same-commune pairs, the stage's sensitivity ----------------------------
def _line_inputs(spec: CatchmentSpec):
    """Two communes on a 2-node road 12 km apart (12 min at 60 km/h); one GP in each.

    The GP of commune A is known by commune only (BPE): placed at A's town hall, 1.9 km off
    the road: routed 1.9 km at 15 km/h = 7.6 min each way, 15.2 min from A's own town hall.
    """
    import geopandas as gpd
    import networkx as nx
    from shapely.geometry import Point, box

    G = nx.MultiDiGraph(crs="EPSG:2154", schematic=False)
    G.add_node(0, x=0.0, y=0.0)
    G.add_node(1, x=12000.0, y=0.0)
    for a, b in [(0, 1), (1, 0)]:
        G.add_edge(a, b, length=12000.0, highway="secondary", speed_kph=60.0, travel_time=720.0)
    territory = gpd.GeoDataFrame(
        {
            "code": ["99001", "99002"],
            "nom": ["Alpha", "Beta"],
            "population": [1000.0, 1000.0],
            "in_study": [True, True],
            "town_hall": gpd.GeoSeries([Point(0, 1900), Point(12000, 0)], crs="EPSG:2154"),
        },
        geometry=[box(-100, -100, 100, 100), box(11900, -100, 12100, 100)],
        crs="EPSG:2154",
    )
    facilities = gpd.GeoDataFrame(
        {
            "category": ["gp", "gp"],
            "facility_id": ["a", "b"],
            "name": ["GP A", "GP B"],
            "capacity": [1.0, 1.0],
            "code": ["99001", "99002"],
            "in_study": [True, True],
        },
        geometry=[Point(0, 1900), Point(12000, 0)],
        crs="EPSG:2154",
    )
    facilities.attrs["covers_buffer"] = {"gp": True}
    cat = Category(
        id="gp",
        pillar="health",
        label_fr="Médecin",
        label_en="GP",
        sources=(Source(type="points"),),
        decay=APL,
        decay_spec={"type": "apl"},
        catchment=spec,
    )
    catalogue = Catalogue(categories={"gp": cat}, path=Path("hand.toml"))
    return prepare_inputs(
        G, territory, facilities, catalogue, snap_rule=SnapRule(max_distance_m=2000)
    )


def test_same_commune_pairs_on_snapped_inputs():
    # A's own GP is 15.2 min away (2 × 7.6 min of access legs): 1/3 routed, 1 at time 0.
    # B's GP is 12 + 7.6 = 19.6 min from A (1/3) and 0 min from B.
    from geoattract.accessibility import category_e2sfca

    routed = category_e2sfca(_line_inputs(CatchmentSpec(method="apl", same_commune=False)), "gp")
    # GP A: D = 1000/3 + 1000/3 → R = 1.5e-3; GP B: D = 1000/3 + 1000 → R = 7.5e-4
    # A = R_A/3 + R_B/3 = 7.5e-4; B = R_A/3 + R_B = 1.25e-3
    np.testing.assert_allclose(routed, [75.0, 125.0])
    zero = category_e2sfca(_line_inputs(CatchmentSpec(method="apl", same_commune=True)), "gp")
    # GP A: D = 1000 + 1000/3 → R = 7.5e-4; GP B the same; A = R_A + R_B/3 = 1e-3
    np.testing.assert_allclose(zero, [100.0, 100.0])


def test_catchment_sensitivity_on_snapped_inputs():
    spec = CatchmentSpec(
        method="apl", same_commune=True, sensitivity=("same_commune", "age", "buffer_supply")
    )
    sens = catchment_sensitivity(_line_inputs(spec), pd.Series(["Alpha", "Beta"], index=[0, 1]))
    t = sens.for_category("gp").set_index("variant")
    assert t.loc["age", "applicable"] == False  # noqa: E712 (numpy bool)
    assert t.loc["age", "note"] == "no age weights"
    assert t.loc["buffer_supply", "note"] == "no supply across the border in the offer"
    # time 0 off: 100/100 → 75/125: Alpha falls from rank 1.5 (tie) to 2; the baseline ranking
    # is a tie, so no rank correlation
    assert np.isnan(t.loc["same_commune", "spearman"])
    assert t.loc["same_commune", "max_rank_move"] == 0.5
    assert t.loc["same_commune", "median_change_pct"] == pytest.approx(25.0)
    movers = sens.movers.set_index("code")
    assert movers.loc["99001", "nom"] == "Alpha"
    assert movers.loc["99001", "rank_move"] == pytest.approx(-0.5)
    np.testing.assert_allclose(sens.baseline["gp"], [100.0, 100.0])


def test_compare_rankings_by_hand():
    base = pd.Series([10.0, 20.0, 30.0, 40.0], index=list("abcd"))
    var = pd.Series([40.0, 20.0, 30.0, 10.0], index=list("abcd"))
    codes = pd.Series(["1", "2", "3", "4"], index=list("abcd"))
    stats, movers = compare_rankings(base, var, codes, codes.radd("n"), top=2)
    # ranks 4,3,2,1 → 1,3,2,4: Spearman = 1 − 6·(9 + 0 + 0 + 9)/(4·15) = −0.8
    assert stats["spearman"] == pytest.approx(-0.8)
    assert stats["max_rank_move"] == 3 and stats["n_communes"] == 4
    assert stats["n_changed"] == 2  # a and d move by 300 % and 75 %, b and c not at all
    assert np.isnan(stats["same_class_pct"])  # fewer communes than quintiles
    ten = pd.Series(np.arange(10.0), index=range(10))
    swap = ten.copy()
    swap[[0, 9]] = [9.0, 0.0]  # the first and the last swap quintiles, 8 of 10 stay
    stats10, _ = compare_rankings(ten, swap, ten.astype(str), ten.astype(str))
    assert stats10["same_class_pct"] == pytest.approx(80.0)
    # |rel change|: 3, 0, 0, 0.75 → median 0.375
    assert stats["median_change_pct"] == pytest.approx(37.5)
    assert movers["code"].tolist() == ["1", "4"] and movers["rank_move"].tolist() == [3.0, -3.0]
    assert movers["nom"].tolist() == ["n1", "n4"]


def test_supply_across_the_border_from_the_offer_is_used_and_switchable():
    # the offer gives a GP in a buffer commune (Beta, in_study false, covers_buffer true):
    # Beta's residents are demand and its GP is supply; the variant closes the study.
    from geoattract.accessibility import catchment_problem, category_decay

    inputs = _line_inputs(
        CatchmentSpec(method="apl", same_commune=True, sensitivity=("buffer_supply",))
    )
    inputs.communes.loc[1, "in_study"] = False
    inputs.facilities.loc[inputs.facilities["code"] == "99002", "in_study"] = False
    problem = catchment_problem(inputs, "gp")
    assert problem.demand["code"].tolist() == ["99001", "99002"] and not problem.closed
    spec = inputs.catalogue["gp"].catchment
    # open: GP A: D = 1000 + 1000/3; GP B: D = 1000 + 1000/3; Alpha = R_A + R_B/3 = 1e-3
    opened = solve_catchment(problem, spec, category_decay(inputs, "gp"))
    np.testing.assert_allclose(opened, [100.0, 100.0])
    # closed: Alpha alone with its GP: R = 1/1000 → 100, Beta left out
    closed = solve_catchment(problem, spec.switched("buffer_supply"), category_decay(inputs, "gp"))
    np.testing.assert_allclose(closed, [100.0])
    sens = catchment_sensitivity(inputs)
    row = sens.table.iloc[0]
    assert row["variant"] == "buffer_supply" and bool(row["applicable"]) and row["n_communes"] == 1
