"""``geoattract optimise``: site selection on the tiny study (by hand) and the real one."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest

from geoattract import settings
from geoattract.accessibility.siting import (
    candidate_sites,
    demand_weights,
    optimise_sites,
    siting_problem,
)
from geoattract.app.cli import main
from geoattract.config.plan import Objective, parse_objective
from geoattract.errors import DataError
from geoattract.scoring import FacilityChange, run_scenario

#: Intra-commune leg of a 16 km² commune at the tiny study's 30 km/h access pace (minutes).
LEG_MIN = 0.5 * math.sqrt(16e6 / math.pi) / (30 / 3.6) / 60
#: A départementale between neighbouring town halls of the tiny study: 4 km at 40 km/h.
STEP_MIN = 6.0


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "cache_folder", tmp_path / "cache")


def tiny_problem(state, objective: str, **kwargs):
    return siting_problem(
        state.accessibility.inputs,
        state.territory.communes,
        "gp",
        parse_objective(objective),
        **kwargs,
    )


def test_parse_objective():
    assert parse_objective("coverage:10") == Objective("coverage", minutes=10.0)
    assert parse_objective("apl") == Objective("apl")
    assert parse_objective("apl:80") == Objective("apl", target=80.0)
    assert parse_objective(" time ") == Objective("time")
    assert str(parse_objective("coverage:7.5")) == "coverage:7.5"
    for bad in ("coverage", "coverage:0", "time:3", "distance", "apl:-1", "coverage:abc"):
        with pytest.raises(DataError, match="--objective"):
            parse_objective(bad)


def test_coverage_on_the_tiny_study_by_hand(tiny_state):
    """GPs: 2 in 99005, 1 in 99003. Today every town hall is within 6 + 2.26 min of one; within
    5 min only 99005 and 99003 (their own GPs, 2.26 min across the commune). A new GP covers
    its own commune within 5 min (2.26 min) and no neighbour (8.26 min)."""
    sp = tiny_problem(tiny_state, "coverage:5")
    demand = sp.demand.set_index("code")
    assert demand.at["99002", "before"] == pytest.approx(STEP_MIN + LEG_MIN)
    assert demand.at["99005", "before"] == pytest.approx(LEG_MIN)
    one = optimise_sites(sp, 1)
    assert one.sites[["code", "added", "gain"]].to_dict("records") == [
        {"code": "99001", "added": 1, "gain": 1200.0}
    ]
    two = optimise_sites(sp, 2)
    assert two.sites["code"].tolist() == ["99001", "99004"]
    assert two.summary["value"] == 1200 + 900
    assert two.summary["before"] == 2100 + 1800
    assert two.summary["after"] == 2100 + 1800 + 1200 + 900
    assert two.summary["method"] == "exact" and two.summary["gap"] == 0
    after = two.communes.set_index("code")["after"]
    assert after["99001"] == pytest.approx(LEG_MIN)
    # within 10 min everybody is covered today: nothing to gain, no site placed
    assert optimise_sites(tiny_problem(tiny_state, "coverage:10"), 2).sites.empty


def test_time_on_the_tiny_study_by_hand(tiny_state):
    """A GP at a commune without one saves it 6 min (8.26 → 2.26) and its neighbours nothing
    (their GP is already one step away)."""
    two = optimise_sites(tiny_problem(tiny_state, "time"), 2)
    assert two.sites["code"].tolist() == ["99001", "99004"]
    assert two.summary["value"] == pytest.approx(STEP_MIN * (1200 + 900))
    total = 1200 + 600 + 1800 + 900 + 2100 + 400
    before = (LEG_MIN * (1800 + 2100) + (STEP_MIN + LEG_MIN) * (1200 + 600 + 900 + 400)) / total
    assert two.summary["before"] == pytest.approx(before)
    assert two.summary["after"] == pytest.approx(before - STEP_MIN * 2100 / total)


def test_chosen_sites_give_what_the_scenario_computes(tiny_state):
    """The times and the APL gains the optimiser uses are those of the scenario machinery."""
    state = tiny_state
    for objective, column in (("coverage:5", "time_gp_min"), ("apl:1000000000", "e2sfca_gp")):
        res = optimise_sites(tiny_problem(state, objective), 2)
        adds = [
            FacilityChange("gp", c, capacity=float(n))
            for c, n in zip(res.sites["code"], res.sites["added"], strict=True)
        ]
        sc = run_scenario(
            state.territory.communes, state.accessibility, state.transition, state.scores, add=adds
        )
        after = sc.indicators_after.set_index("code")[column]
        predicted = res.communes.set_index("code")["after"]
        if column == "time_gp_min":
            # the optimiser knows the new sites' times within the limit only
            assert (after <= 5).equals(predicted <= 5)
            assert after[predicted <= 5].to_numpy() == pytest.approx(
                predicted[predicted <= 5].to_numpy()
            )
        else:
            assert after.reindex(predicted.index).to_numpy() == pytest.approx(predicted.to_numpy())


def test_apl_objective_counts_the_gain_below_the_target(tiny_state):
    sp = tiny_problem(tiny_state, "apl")
    demand = sp.demand
    w = demand["population"].to_numpy()
    assert sp.target == pytest.approx(np.average(demand["before"], weights=w))
    res = optimise_sites(sp, 1)
    gain = res.communes["after"] - res.communes["before"]
    room = np.maximum(sp.target - demand["before"], 0)
    assert res.summary["value"] == pytest.approx(float((np.minimum(gain, room) * w).sum()))
    assert res.summary["value"] > 0


def test_candidate_communes_limit_the_choice(tiny_state):
    inputs = tiny_state.accessibility.inputs
    cands = candidate_sites(inputs, tiny_state.territory.communes, "gp", codes=["99002", "99006"])
    res = optimise_sites(tiny_problem(tiny_state, "coverage:5", candidates=cands), 1)
    assert res.sites["code"].tolist() == ["99002"]  # 600 inhabitants against 400


def test_a_target_band_needs_the_age_structure(tiny_state):
    inputs = tiny_state.accessibility.inputs
    study = inputs.communes.index[inputs.communes["in_study"]]
    weights, imputed = demand_weights(inputs, study)
    assert weights.tolist() == inputs.communes.loc[study, "population"].tolist()
    assert not imputed.any()
    with pytest.raises(DataError, match="target population '65_plus': no age share column"):
        demand_weights(inputs, study, "65_plus")


def test_candidate_points_take_their_commune(tiny_state, tmp_path):
    import geopandas as gpd

    from geoattract.accessibility.candidates import read_candidates

    terr = tiny_state.territory
    halls = terr.communes.set_index("code")["town_hall"]
    pts = gpd.GeoDataFrame(
        {"name": ["Maison de santé", "Ailleurs"]},
        geometry=[halls["99004"], halls["98002"]],
        crs=terr.communes.crs,
    ).to_crs("EPSG:4326")
    path = tmp_path / "sites.geojson"
    pts.to_file(path)
    with pytest.raises(DataError, match=r"candidate point\(s\) 1 \(row\) are outside the study"):
        read_candidates(path, terr.study)
    pts.iloc[:1].to_file(path)
    codes, points = read_candidates(path, terr.study)
    assert codes is None and points["code"].tolist() == ["99004"]
    inputs = tiny_state.accessibility.inputs
    cands = candidate_sites(inputs, terr.communes, "gp", points=points)
    # a point is not at the town hall: no intra-commune leg, no direct trip
    assert cands["intra_commune_m"].tolist() == [0.0]
    assert cands["nom"].tolist() == ["Maison de santé"]
    res = optimise_sites(tiny_problem(tiny_state, "coverage:5", candidates=cands), 1)
    assert res.sites["code"].tolist() == ["99004"] and res.summary["value"] == 900


@pytest.mark.parametrize("objective", ["coverage:5", "time", "apl"])
def test_optimise_command_on_the_tiny_study(tiny_config, tmp_path, objective):
    from geoattract.app.optimise import optimise_command

    out = tmp_path / "sites.csv"
    text, res = optimise_command(
        "gp", 2, objective=objective, out=out, config=tiny_config, data_dir=tiny_config.data_dir
    )
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "Sites retenus" in text
    sites = pd.read_csv(out, dtype={"code": str})
    assert sites["gain"].sum() == pytest.approx(res.summary["value"])
    if objective == "coverage:5":
        assert sites["code"].tolist() == ["99001", "99004"]


# ---------------------------------------------------------------------------- the real study


@pytest.mark.slow
def test_older_people_and_families_count_their_age_band(study_state):
    inputs = study_state.accessibility.inputs
    study = inputs.communes.index[inputs.communes["in_study"]]
    ages = inputs.age_structure.loc[study]
    pop = inputs.communes.loc[study, "population"]
    for band in ("65_plus", "under_25"):
        weights, imputed = demand_weights(inputs, study, band)
        assert weights.to_numpy() == pytest.approx((pop * ages[f"age_share_{band}"]).to_numpy())
        assert not imputed.any()  # every study commune has its age structure
    sp = siting_problem(
        inputs,
        study_state.territory.communes,
        "gp",
        parse_objective("coverage:10"),
        band="65_plus",
    )
    res = optimise_sites(sp, 1)
    older = sp.demand.set_index("code")["weight"]
    assert res.summary["value"] == pytest.approx(
        older[res.communes.loc[res.communes["gain"] > 0, "code"]].sum()
    )


@pytest.mark.slow
def test_two_gps_within_10_min_equal_brute_force_over_all_pairs(study_state):
    """On the 47 study: gp, 2 units, coverage:10 against every pair of candidate communes."""
    state = study_state
    sp = siting_problem(
        state.accessibility.inputs, state.territory.communes, "gp", parse_objective("coverage:10")
    )
    res = optimise_sites(sp, 2)
    assert len(sp.candidates) == 319
    # the coverage matrix from the routed pairs: commune i newly covered by candidate j
    pairs = sp.minutes
    before = sp.demand["before"].to_numpy()
    n_d, n_c = len(sp.demand), len(sp.candidates)
    cover = np.zeros((n_d, n_c), dtype=bool)
    d, c = pairs["demand"].to_numpy(), pairs["candidate"].to_numpy()
    cover[d, c] = pairs["minutes"].to_numpy() <= 10
    cover &= ~(before <= 10)[:, None]
    w = sp.demand["weight"].to_numpy()
    single = (cover * w[:, None]).sum(axis=0)
    overlap = (cover * w[:, None]).T.astype(float) @ cover.astype(float)
    both = single[:, None] + single[None, :] - overlap  # all 319 x 319 pairs at once
    iu = np.triu_indices(n_c, k=1)
    assert len(iu[0]) == 50_721
    assert res.summary["value"] == pytest.approx(both[iu].max())
    assert res.summary["value"] > 0
    # the sites really cover that: the scenario's GP times after adding them
    adds = [FacilityChange("gp", code, capacity=1.0) for code in res.sites["code"]]
    sc = run_scenario(
        state.territory.communes, state.accessibility, state.transition, state.scores, add=adds
    )
    b = sc.indicators_before.set_index("code")
    a = sc.indicators_after.set_index("code")
    newly = (a["time_gp_min"] <= 10) & ~(b["time_gp_min"] <= 10)
    assert b.loc[newly, "population"].sum() == pytest.approx(res.summary["value"])


# ---------------------------------------------------------------------------- the command line


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--category", "gpp", "--add", "2"], "--category 'gpp': unknown category"),
        (["--category", "gp", "--add", "0"], "--add 0: the number of new units must be"),
        (["--category", "gp", "--add", "2", "--objective", "cover:10"], "--objective"),
        (["--category", "gp", "--add", "1", "--profile", "retraites"], "--profile 'retraites'"),
    ],
)
def test_bad_input_is_refused_at_once(args, message, capsys):
    t0 = time.perf_counter()
    assert main(["optimise", *args]) == 2
    elapsed = time.perf_counter() - t0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert elapsed < 5.0


@pytest.mark.shared_data
def test_a_candidate_outside_the_study_is_refused(tmp_path, capsys):
    cands = tmp_path / "sites.csv"
    cands.write_text("code\n47001\n33063\n")
    t0 = time.perf_counter()
    assert main(["optimise", "--category", "gp", "--add", "1", "--candidates", str(cands)]) == 2
    assert time.perf_counter() - t0 < 5.0
    err = capsys.readouterr().err
    assert "candidate commune(s) '33063' are not communes of the study" in err


@pytest.mark.shared_data
def test_optimise_command_prints_and_writes(tmp_path, capsys):
    out = tmp_path / "sites.csv"
    args = ["optimise", "--category", "gp", "--add", "2", "--objective", "coverage:10"]
    assert main([*args, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "Sites retenus" in text and "Communes qui gagnent" in text
    sites = pd.read_csv(out, dtype={"code": str})
    assert list(sites.columns) == ["code", "nom", "added", "gain"]
    assert sites["added"].sum() == 2 and (sites["gain"] > 0).all()
    # the families' target population: the under-25 share of each commune
    assert main([*args, "--profile", "familles"]) == 0
    assert "under_25" in capsys.readouterr().out
