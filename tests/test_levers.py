"""Levers: the smallest single action that lifts a commune by one quintile of a profile."""

from __future__ import annotations

import time

import numpy as np
import pytest

from geoattract.app.cli import main
from geoattract.config.plan import load_levers
from geoattract.scoring.levers import NONE_SUFFICES, quintile, quintile_breaks, try_levers


def test_quintiles_by_hand():
    breaks = quintile_breaks(np.arange(0, 101, 10))  # 0, 10, … 100
    assert breaks.tolist() == pytest.approx([20, 40, 60, 80])
    assert [quintile(v, breaks) for v in (0, 19.9, 20, 59, 80, 100)] == [1, 1, 2, 3, 5, 5]
    assert quintile(np.nan, breaks) == 0


@pytest.fixture(scope="module")
def levers(study_config):
    return load_levers(study_config.config_file("levers"))


@pytest.mark.slow
def test_no_lever_lifts_tourliac_for_families(study_state, levers):
    """Tourliac is far below the first break of the families' scores: nothing suffices."""
    res = try_levers(study_state, "47311", "familles", levers)
    assert res.quintile == 1 and res.needed - res.score > 20
    assert res.smallest is None
    assert [o.lever.id for o in res.outcomes] == [lv.id for lv in levers]
    creche = next(o for o in res.outcomes if o.lever.id == "creche")
    assert creche.changed == [] and creche.score_after == creche.score_before  # not scored


@pytest.mark.slow
def test_fibre_lifts_laparade_for_teleworkers(study_state, levers):
    """Laparade (3.4 % of premises eligible to fibre) is 0.26 point below the 4th quintile of
    the teleworkers' score. In a catalogue of a crèche then fibre, fibre is the smallest lever
    that suffices: it raises the telework index by 100 × 0.5 × (100 − 3.4) / 100 = 48.3 points
    (fibre weighs 0.5 of the index's weights 0.5 + 0.3 + 0.2)."""
    by_id = {lv.id: lv for lv in levers}
    res = try_levers(study_state, "47135", "teletravailleurs", [by_id["creche"], by_id["fibre"]])
    assert res.quintile == 3
    creche, fibre = res.outcomes
    assert not creche.lifted and fibre.lifted
    assert res.smallest is fibre
    assert fibre.quintile_after == 4 and fibre.score_after >= res.needed
    assert fibre.weighted == ["telework_index"]
    ind = study_state.scores.indicators.set_index("code")
    share = ind.at["47135", "fibre_share_pct"]
    assert share == pytest.approx(3.4)
    from geoattract.scoring import apply_actions

    effect = apply_actions(
        study_state.territory.communes,
        study_state.accessibility,
        study_state.transition,
        study_state.scores,
        [fibre.lever],
    )
    after = effect.after.set_index("code")
    assert after.at["47135", "telework_index"] - ind.at["47135", "telework_index"] == pytest.approx(
        100 * 0.5 * (100 - share) / 100
    )


@pytest.mark.shared_data
def test_levers_command(capsys):
    assert main(["-q", "levers", "47311", "--profile", "familles"]) == 0
    out = capsys.readouterr().out
    assert NONE_SUFFICES in out and "quintile 1 sur 5" in out
    assert "Hypothèse" in out  # the rail stop's trains


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["47311", "--profile", "retraites"], "--profile 'retraites': unknown profile"),
        (["99999", "--profile", "familles"], "unknown commune '99999'"),
    ],
)
def test_levers_bad_input(args, message, capsys):
    t0 = time.perf_counter()
    assert main(["levers", *args]) == 2
    assert time.perf_counter() - t0 < 5.0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
