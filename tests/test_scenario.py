"""What-if scenarios: adding or removing facilities, on the tiny study and the real one."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from geoattract.errors import DataError
from geoattract.scoring import (
    FacilityChange,
    parse_change,
    run_scenario,
    validate_changes,
)


@pytest.fixture(scope="module")
def state(study_state):
    return study_state


def scenario(state, **kwargs):
    return run_scenario(
        state.territory.communes, state.accessibility, state.transition, state.scores, **kwargs
    )


def test_parse_change():
    assert parse_change("gp:47157:2", "add") == FacilityChange("gp", "47157", "add", 2.0)
    assert parse_change("maternity:47323", "remove").capacity is None
    assert str(parse_change("gp:47157:2", "add")) == "add gp:47157:2"
    with pytest.raises(DataError, match="CATEGORY:CODE"):
        parse_change("gp-47157", "add")
    with pytest.raises(DataError, match="capacity must be > 0"):
        parse_change("gp:47001:0", "add")


def test_edits_are_refused_at_the_door(tiny_config, tiny_territory):
    # the checks a command runs before the study: no routing, no scoring
    from geoattract.facilities.catalogue import load_catalogue

    catalogue = load_catalogue(tiny_config.config_file("catalogue"), data_dir=tiny_config.data_dir)
    territory = tiny_territory.communes
    t0 = time.perf_counter()
    with pytest.raises(
        DataError, match=r"^scenario \(add gp:99999:2\): unknown commune code '99999'"
    ):
        validate_changes([parse_change("gp:99999:2", "add")], catalogue, territory)
    with pytest.raises(DataError, match=r"unknown category 'gpp'"):
        validate_changes([FacilityChange("gpp", "99001")], catalogue, territory)
    with pytest.raises(DataError, match="nothing to do"):
        validate_changes([], catalogue, territory)
    assert time.perf_counter() - t0 < 1.0
    # the table of facilities also checks that a removal has something to remove
    fac = pd.DataFrame({"category": ["gp"], "code": ["99005"], "capacity": [2.0]})
    validate_changes([FacilityChange("gp", "99005", "remove", 2.0)], catalogue, territory, fac)
    with pytest.raises(DataError, match="cannot remove 3 from 'gp' in 99005: capacity is 2"):
        validate_changes([FacilityChange("gp", "99005", "remove", 3.0)], catalogue, territory, fac)


def test_scenario_errors(tiny_state):
    with pytest.raises(DataError, match="unknown category 'gpp'"):
        scenario(tiny_state, add=[FacilityChange("gpp", "99001")])
    with pytest.raises(DataError, match="no 'pharmacy' facility in commune 99001"):
        scenario(tiny_state, remove=[FacilityChange("pharmacy", "99001", capacity=None)])
    with pytest.raises(DataError, match="nothing to do"):
        scenario(tiny_state)


def test_new_gp_on_the_tiny_study(tiny_state):
    """A GP in 99001 (tiny study, see tests/test_tiny_study.py for the times)."""
    sc = scenario(tiny_state, add=[FacilityChange("gp", "99001", capacity=1)])
    leg_m = 0.5 * (16e6 / 3.141592653589793) ** 0.5  # intra-commune leg of a 16 km² commune
    row = sc.facilities[sc.facilities["source"] == "scenario"].iloc[0]
    assert (row["code"], row["snap_m"]) == ("99001", 0.0)  # the town hall is a road node
    assert row["intra_commune_m"] == pytest.approx(leg_m)
    assert row["snap_s"] == pytest.approx(leg_m / (30 / 3.6))
    before = sc.indicators_before.set_index("code")
    after = sc.indicators_after.set_index("code")
    assert before.at["99001", "time_gp_min"] == pytest.approx(6 + leg_m / (30 / 3.6) / 60)
    assert after.at["99001", "time_gp_min"] == pytest.approx(leg_m / (30 / 3.6) / 60)
    # within 10 min: the new GP and the one of 99003 (motorway, 6 + 2.26 min)
    assert (before.at["99001", "count_gp_10min"], after.at["99001", "count_gp_10min"]) == (1, 2)
    # E2SFCA: the new site's weighted demand (APL): 99001-99004 within 10 min (weight 1),
    # 99005 and 99006 at 12 + 2.26 min (2/3); the other sites' ratios are unchanged
    demand = 1200 + 600 + 1800 + 900 + 2 / 3 * (2100 + 400)
    assert after.at["99001", "e2sfca_gp"] == pytest.approx(
        before.at["99001", "e2sfca_gp"] + 1 / demand * 100_000
    )
    changed = [c for c in before.columns if not before[c].equals(after[c])]
    assert changed and all("_gp" in c for c in changed)
    assert (sc.changes["general"]["pillar_health_change"] >= -1e-9).all()
    assert (sc.changes["nature"]["score_change"] == 0).all()  # no health in "nature"


def _town_hall(state, code: str) -> dict[str, float]:
    """Snap distance and access seconds (delay included) of a town hall, and the area."""
    com = state.accessibility.inputs.communes.set_index("code")
    area = state.territory.communes.set_index("code").geometry.area
    return {
        "snap_m": float(com.at[code, "snap_m"]),
        "snap_s": float(com.at[code, "snap_s"]),
        "area_m2": float(area[code]),
    }


def _population(state, code: str) -> float:
    return float(state.territory.communes.set_index("code").at[code, "population"])


def _commune_without_gp(state):
    fac = state.accessibility.inputs.facilities
    with_gp = set(fac.loc[fac["category"] == "gp", "code"])
    ind = state.scores.indicators
    candidates = ind[~ind["code"].isin(with_gp)].sort_values("e2sfca_gp")
    return candidates.iloc[0]["code"]


@pytest.mark.slow
def test_stage_results_are_typed_and_aligned(state, territory):
    study = territory[territory["in_study"]]
    assert state.transition.table.index.equals(study.index)
    assert state.scores.indicators.index.equals(study.index)
    assert state.scores.scores.index.equals(study.index)
    assert state.transition.params.ev_category == "ev_charging"
    assert state.transition.params.rail_category == "train_station"
    assert "tr_ev_points_15min" in state.transition.table.columns
    # an EPCI with communes in the buffer zone is flagged partial
    epci = state.scores.epci.set_index("epci")
    outside = set(territory.loc[~territory["in_study"] & territory["epci"].notna(), "epci"])
    assert epci["partial"].to_dict() == {e: e in outside for e in epci.index}
    assert set(state.scores.sensitivity["profile"]) == set(state.scores.config.profiles)


@pytest.mark.slow
def test_new_gp_raises_access_and_never_lowers_health(state):
    code = _commune_without_gp(state)
    sc = scenario(state, add=[FacilityChange("gp", code, capacity=1)])
    before = sc.indicators_before.set_index("code")
    after = sc.indicators_after.set_index("code")
    assert after.at[code, "e2sfca_gp"] > before.at[code, "e2sfca_gp"]
    assert after.at[code, "time_gp_min"] < before.at[code, "time_gp_min"]
    assert sc.categories == ["gp"]
    # only the GP columns changed
    changed = [c for c in before.columns if not before[c].equals(after[c])]
    assert changed and all("_gp" in c for c in changed)
    for profile, ch in sc.changes.items():
        assert (ch["pillar_health_change"] >= -1e-9).all(), profile
        assert (ch["score_change"] >= -1e-9).all(), profile
        # with arithmetic aggregation the pillar contributions add up to the score change
        contrib = ch.filter(like="contribution_").sum(axis=1)
        assert contrib.to_numpy() == pytest.approx(ch["score_change"].to_numpy(), abs=1e-9)


@pytest.mark.slow
def test_new_facility_at_the_town_hall_gets_the_intra_commune_leg(state):
    code = _commune_without_gp(state)
    sc = scenario(state, add=[FacilityChange("gp", code, capacity=1)])
    row = sc.facilities[sc.facilities["source"] == "scenario"].iloc[0]
    rule = state.accessibility.inputs.snap_rule
    area = float(state.territory.communes.set_index("code").geometry.area[code])
    assert row["intra_commune_m"] == pytest.approx(
        rule.intra_commune_factor * (area / 3.141592653589793) ** 0.5
    )
    # both legs are driven at the rule's speed with its detour (1.3 on the line network), plus
    # the commune's dense-commune delay, as every facility of the offer
    delay = float(rule.end_delay_s(_population(state, code), area))
    assert row["snap_s"] == pytest.approx(
        (row["snap_m"] + row["intra_commune_m"]) * rule.detour / (rule.speed_kph / 3.6) + delay
    )
    # in a dense commune (Agen) the new facility pays the delay, as Agen's own facilities do
    agen = scenario(state, add=[FacilityChange("gp", "47001", capacity=1)])
    new = agen.facilities[agen.facilities["source"] == "scenario"].iloc[0]
    own = state.accessibility.inputs.facilities
    own = own[(own["category"] == "gp") & (own["code"] == "47001") & (own["source"] == "bpe")]
    assert rule.dense_delay_s > 0
    assert new["snap_s"] == pytest.approx(float(own["snap_s"].iloc[0]))


@pytest.mark.slow
def test_closing_a_maternity_unit(state):
    sc = scenario(state, remove=[FacilityChange("maternity", "47323", capacity=None)])
    before = sc.indicators_before.set_index("code")
    after = sc.indicators_after.set_index("code")
    # its own unit, at the town hall: the same-commune rule takes the direct trip across the
    # commune (the intra-commune leg of an 81 km² commune at the access pace), not the town
    # hall's access leg out to the network and back
    rule = state.accessibility.inputs.snap_rule
    hall = _town_hall(state, "47323")
    leg_m = float(rule.intra_commune_m(hall["area_m2"]))
    expected_s = float(rule.access_time_s(leg_m))
    assert before.at["47323", "time_maternity_min"] == pytest.approx(expected_s / 60)
    assert after.at["47323", "time_maternity_min"] > 10  # the next unit is Agen or beyond
    ch = sc.changes["familles"].set_index("code")
    assert ch.at["47323", "score_change"] < 0
    assert (ch["pillar_health_change"] <= 1e-9).all()


@pytest.mark.slow
def test_new_station_moves_the_transition_pillar(state):
    # Lagarrigue (47129) has no station; its rail time and service come from the network stage
    before_t = state.scores.indicators.set_index("code").at["47129", "tr_rail_time_min"]
    sc = scenario(state, add=[FacilityChange("train_station", "47129")])
    after = sc.indicators_after.set_index("code")
    # the new station sits at the town hall, like every facility known only by its commune:
    # from its own town hall the trip crosses the commune (the intra-commune leg at the access
    # pace), it does not go out to the network and back (the town hall's access leg, then the
    # station's access and intra-commune legs: 2.06 min here)
    rule = state.accessibility.inputs.snap_rule
    row = sc.facilities[sc.facilities["source"] == "scenario"].iloc[0]
    direct_s = float(rule.access_time_s(row["intra_commune_m"]))
    network_s = _town_hall(state, "47129")["snap_s"] + float(
        rule.access_time_s(row["snap_m"] + row["intra_commune_m"])
    )
    assert direct_s < network_s
    assert after.at["47129", "time_train_station_min"] == pytest.approx(direct_s / 60)
    assert after.at["47129", "tr_rail_time_min"] < before_t
    assert after.at["47129", "tr_rail_service"] > 0
    ch = sc.changes["general"].set_index("code")
    assert ch.at["47129", "pillar_transition_change"] > 0
    assert (ch["pillar_transition_change"] >= -1e-9).all()


@pytest.mark.slow
def test_gain_beyond_the_baseline_range_is_flagged(state):
    # 300 more GPs in Agen push its counts past the best baseline value: the capped gain is flagged
    sc = scenario(state, add=[FacilityChange("gp", "47001", capacity=300)])
    ch = sc.changes["general"].set_index("code")
    assert ch.at["47001", "beyond_baseline_range"]
    assert ch["beyond_baseline_range"].dtype == bool
