"""What-if scenarios on the real study: adding or removing facilities."""

from __future__ import annotations

import pytest

from geoattract.errors import DataError
from geoattract.scoring.scenario import FacilityChange, parse_change, run_scenario

pytestmark = pytest.mark.slow


def test_parse_change():
    assert parse_change("gp:47157:2", "add") == FacilityChange("gp", "47157", "add", 2.0)
    assert parse_change("maternity:47323", "remove").capacity is None
    with pytest.raises(DataError, match="CATEGORY:CODE"):
        parse_change("gp-47157", "add")
    with pytest.raises(DataError, match="capacity must be > 0"):
        parse_change("gp:47001:0", "add")


def _commune_without_gp(state):
    fac = state["inputs"].facilities
    with_gp = set(fac.loc[fac["category"] == "gp", "code"])
    ind = state["indicators"]
    candidates = ind[~ind["code"].isin(with_gp)].sort_values("e2sfca_gp")
    return candidates.iloc[0]["code"]


def test_new_gp_raises_access_and_never_lowers_health(study_state):
    code = _commune_without_gp(study_state)
    sc = run_scenario(study_state, add=[FacilityChange("gp", code, capacity=1)])
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


def test_closing_a_maternity_unit(study_state):
    sc = run_scenario(study_state, remove=[FacilityChange("maternity", "47323", capacity=None)])
    before = sc.indicators_before.set_index("code")
    after = sc.indicators_after.set_index("code")
    # its own unit, at the town hall: the intra-commune leg of an 81 km² commune, 3.8 min
    assert before.at["47323", "time_maternity_min"] < 5
    assert after.at["47323", "time_maternity_min"] > 10  # the next unit is Agen or beyond
    ch = sc.changes["familles"].set_index("code")
    assert ch.at["47323", "score_change"] < 0
    assert (ch["pillar_health_change"] <= 1e-9).all()


def test_scenario_errors(study_state):
    with pytest.raises(DataError, match="unknown category 'gpp'"):
        run_scenario(study_state, add=[FacilityChange("gpp", "47001")])
    with pytest.raises(DataError, match="no 'maternity' facility in commune 47002"):
        run_scenario(study_state, remove=[FacilityChange("maternity", "47002", capacity=None)])
    with pytest.raises(DataError, match="nothing to do"):
        run_scenario(study_state)


def test_new_station_moves_the_transition_pillar(study_state):
    # Lagarrigue (47129) has no station; its rail time and service come from the network stage
    before_t = study_state["indicators"].set_index("code").at["47129", "tr_rail_time_min"]
    sc = run_scenario(study_state, add=[FacilityChange("train_station", "47129")])
    after = sc.indicators_after.set_index("code")
    assert after.at["47129", "time_train_station_min"] < 3
    assert after.at["47129", "tr_rail_time_min"] < before_t
    assert after.at["47129", "tr_rail_service"] > 0
    ch = sc.changes["general"].set_index("code")
    assert ch.at["47129", "pillar_transition_change"] > 0
    assert (ch["pillar_transition_change"] >= -1e-9).all()


def test_gain_beyond_the_baseline_range_is_flagged(study_state):
    # 300 more GPs in Agen push its counts past the best baseline value: the capped gain is flagged
    sc = run_scenario(study_state, add=[FacilityChange("gp", "47001", capacity=300)])
    ch = sc.changes["general"].set_index("code")
    assert ch.at["47001", "beyond_baseline_range"]
    assert ch["beyond_baseline_range"].dtype == bool
