"""Scenario outputs that explain themselves: which profiles weight what changed, and only what moves."""

from __future__ import annotations

import pytest

from geoattract.app.cli import main
from geoattract.outputs import Labels
from geoattract.outputs.scenario_text import explained_table, moved, scenario_table
from geoattract.scoring import FacilityChange, changed_indicators, run_scenario, weighting_profiles


def test_weighting_profiles(tiny_state):
    scfg = tiny_state.scores.config
    got = weighting_profiles(scfg, ["time_gp_min", "env_forest_cover", "not_scored"])
    assert got == {"general": ["time_gp_min", "env_forest_cover"], "nature": ["env_forest_cover"]}


def test_a_gp_in_the_tiny_study(tiny_state):
    state = tiny_state
    sc = run_scenario(
        state.territory.communes,
        state.accessibility,
        state.transition,
        state.scores,
        add=[FacilityChange("gp", "99001", capacity=1)],
    )
    scfg = state.scores.config
    labels = Labels.from_configs(scfg, state.offer.catalogue)
    changed = changed_indicators(sc.indicators_before, sc.indicators_after, scfg)
    assert set(changed) == {"time_gp_min", "count_gp_20min", "e2sfca_gp"}

    def table(rows):
        return scenario_table(rows, labels)

    lines = explained_table(sc.changes, "nature", changed, scfg, labels, table)
    assert lines[-1].startswith("Profil « Amoureux de la nature » : aucune commune ne change")
    assert "aucun des indicateurs modifiés n'y est pondéré" in lines[-1]
    assert "voir Population générale" in lines[-1]
    assert "Profils qui pondèrent ces indicateurs : Population générale" in lines[1]
    lines = explained_table(sc.changes, "general", changed, scfg, labels, table, top=15)
    rows = moved(sc.changes["general"])
    assert (rows["score_change"].abs() > 0).all()
    assert rows["score_change"].abs().is_monotonic_decreasing
    blocks = lines[-1].split("\n\n")  # a table wider than 100 columns comes in blocks
    assert all(len(line) <= 100 for b in blocks for line in b.splitlines())
    for block in blocks:  # each: the header and the communes that move, no padding
        assert len(block.splitlines()) == 1 + len(rows)
    headers = " ".join(b.splitlines()[0] for b in blocks)
    assert "dont santé" in headers and "dont environnement" not in headers


@pytest.mark.shared_data
def test_the_gpso_scenario_names_the_profiles_it_changes(capsys):
    assert main(["-q", "scenario", "--rail-scenario", "gpso"]) == 0
    out = capsys.readouterr().out
    weighting = next(x for x in out.splitlines() if x.startswith("Profils qui pondèrent"))
    for name in ("Jeunes", "Personnels médicaux et soignants", "Télétravailleurs"):
        assert name in weighting
    assert "Population générale" not in weighting
    counts = next(x for x in out.splitlines() if x.startswith("Communes dont le score change"))
    assert "Population générale 0" in counts and "Jeunes (15-29 ans) 0" not in counts
    # the general profile weights none of them: one line, and it stops
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("Profil « Population générale » : aucune commune ne change")


@pytest.mark.shared_data
def test_a_facility_scenario_lists_only_the_communes_that_move(capsys):
    assert main(["-q", "scenario", "--add", "gp:47311:2", "--top", "15"]) == 0
    out = capsys.readouterr().out.rstrip().splitlines()
    title = next(x for x in out if x.startswith("Profil « Population générale »"))
    n = int(title.split(" : ")[1].split()[0])
    head = out.index(title) + 1
    rows = out[head + 1 :]
    assert n >= 1 and len(rows) == min(n, 15)  # only the communes that move: no padding
    assert rows[0].split()[0] == "47311"  # the largest change first: the commune of the GPs
