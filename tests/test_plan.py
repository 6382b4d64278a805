"""The action plan: plan.toml checked at the door, actions alone and together, the chapter."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geoattract.app.cli import main
from geoattract.config.plan import (
    ACTION_TYPES,
    Action,
    StudyFacts,
    check_actions,
    load_levers,
    load_plan,
)
from geoattract.errors import ConfigError
from geoattract.scoring import PLAN_ID, evaluate_plan
from geoattract.scoring.actions import access_gains

#: Intra-commune leg of a 16 km² commune at the tiny study's 30 km/h access pace (minutes).
LEG_MIN = 0.5 * (16e6 / np.pi) ** 0.5 / (30 / 3.6) / 60

GOOD_ACTION = """
[[actions]]
id = "msp"
label_fr = "Maison de santé"
type = "add"
category = "gp"
commune = "99001"
capacity = 2
cost_eur = 1_000_000
owner = "Communauté de communes"
target_date = "2028-06"
profiles = ["general"]
afom = { kind = "faiblesse", indicator = "time_gp_min" }
"""


def write_plan(tmp_path: Path, actions: str = GOOD_ACTION, head: str | None = None) -> Path:
    path = tmp_path / "plan.toml"
    head = '[plan]\ntitle_fr = "Plan test"\n' if head is None else head
    path.write_text(head + actions)
    return path


FACTS = StudyFacts(
    categories=["gp", "pharmacy"],
    communes={"99001", "99002"},
    profiles=["general", "nature"],
    indicators=["time_gp_min", "fibre_share_pct"],
)


def test_a_plan_is_read_with_its_actions(tmp_path):
    plan = load_plan(write_plan(tmp_path))
    (a,) = plan.actions
    assert (plan.title, a.id, a.type, a.commune) == ("Plan test", "msp", "add", "99001")
    assert a.params == {"category": "gp", "commune": "99001", "capacity": 2.0}
    assert (a.cost_eur, a.owner, a.target_date) == (
        1_000_000.0,
        "Communauté de communes",
        "2028-06",
    )
    assert a.profiles == ("general",)
    assert a.afom == {"kind": "faiblesse", "indicator": "time_gp_min"}
    check_actions(plan.actions, FACTS, "plan.toml")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('type = "add"', 'type = "build"'), r"key 'actions\[0\]\.type' must be one of"),
        (("cost_eur = 1_000_000\n", ""), r"missing key 'actions\[0\]\.cost_eur'"),
        (
            ("capacity = 2\n", 'capacity = 2\nstation = "87586008"\n'),
            r"unknown key\(s\) actions\[0\]\.station",
        ),
        (('target_date = "2028-06"', 'target_date = "juin 2028"'), "must be a date YYYY"),
        (('kind = "faiblesse"', 'kind = "weakness"'), r"'actions\[0\]\.afom\.kind' must be one of"),
        (("capacity = 2", "capacity = 0"), "must be > 0"),
        (('id = "msp"', 'id = "Maison de santé"'), "must be an identifier"),
        (('profiles = ["general"]', "profiles = []"), "must not be empty"),
    ],
)
def test_a_malformed_plan_is_one_line(tmp_path, edit, message):
    old, new = edit
    path = write_plan(tmp_path, GOOD_ACTION.replace(old, new))
    with pytest.raises(ConfigError, match=message) as err:
        load_plan(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_plan_file_structure(tmp_path):
    with pytest.raises(ConfigError, match=r"no \[\[actions\]\]"):
        load_plan(write_plan(tmp_path, ""))
    with pytest.raises(ConfigError, match="duplicate action id"):
        load_plan(write_plan(tmp_path, GOOD_ACTION + GOOD_ACTION))
    with pytest.raises(ConfigError, match="missing key 'plan.title_fr'"):
        load_plan(write_plan(tmp_path, head=""))
    with pytest.raises(ConfigError, match=r"unknown table\(s\) 'levers'"):
        load_plan(write_plan(tmp_path, GOOD_ACTION + "[[levers]]\nid = 'x'\n"))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('category = "gp"', 'category = "gpp"'), "unknown category 'gpp'"),
        (
            ('commune = "99001"', 'commune = "47001"'),
            "commune '47001' is not a commune of the study",
        ),
        (('profiles = ["general"]', 'profiles = ["seniors"]'), "unknown profile"),
        (('indicator = "time_gp_min"', 'indicator = "time_gpp_min"'), "not a scored indicator"),
    ],
)
def test_actions_are_checked_against_the_study(tmp_path, edit, message):
    old, new = edit
    plan = load_plan(write_plan(tmp_path, GOOD_ACTION.replace(old, new)))
    with pytest.raises(ConfigError, match=message):
        check_actions(plan.actions, FACTS, "plan.toml")


def test_rail_and_fibre_actions_need_what_the_study_lacks():
    base = {"cost_eur": 1.0, "owner": "x", "target_date": "2030", "profiles": ("general",)}
    stop = Action("arret", "Arrêt", "rail_stop", {"commune": "99001", "links": None}, **base)
    with pytest.raises(ConfigError, match=r"declares no metropole"):
        check_actions([stop], FACTS, "p.toml")
    fibre = Action("fibre", "Fibre", "fibre", {"commune": "99001", "share_pct": 100.0}, **base)
    with pytest.raises(ConfigError, match=r"no broadband table"):
        check_actions([fibre], FACTS, "p.toml")
    link = Action(
        "train", "Train", "rail_link", {"station": "1", "pole": "paris", "minutes": 30.0}, **base
    )
    facts = StudyFacts(["gp"], {"99001"}, ["general"], [], stations={"2"}, poles=["bordeaux"])
    with pytest.raises(ConfigError, match=r"unknown pole 'paris'"):
        check_actions([link], facts, "p.toml")


def test_the_shipped_plan_and_levers_are_valid():
    folder = Path(__file__).resolve().parent.parent / "geoattract/config/studies/lot-et-garonne"
    plan = load_plan(folder / "plan.toml")
    assert len(plan.actions) == 3
    assert all(a.cost_eur is not None and a.owner and a.afom for a in plan.actions)
    levers = load_levers(folder / "levers.toml")
    assert [lv.type for lv in levers] == ["add", "add", "add", "fibre", "rail_stop"]
    assert set(ACTION_TYPES) >= {lv.type for lv in levers}


# ------------------------------------------------------------------ evaluation, tiny study


def tiny_plan(tmp_path: Path) -> Path:
    """Two GPs in 99001, as two actions: alone each brings 99001 within 5 min; together too."""
    action = GOOD_ACTION.replace("capacity = 2", "capacity = 1\naccess_min = 5")
    second = action.replace('id = "msp"', 'id = "msp_bis"').replace("1_000_000", "500_000")
    return write_plan(tmp_path, action + second)


def test_actions_alone_and_together_on_the_tiny_study(tiny_state, tmp_path):
    plan = load_plan(tiny_plan(tmp_path))
    result = evaluate_plan(tiny_state, plan)
    assert [o.id for o in result.outcomes] == ["msp", "msp_bis", PLAN_ID]
    one, two, joint = result.outcomes
    # alone, each GP brings 99001 from 6 + 2.26 min (the GP of 99003 by the motorway) to 2.26
    code = one.effect.before["code"]
    row = code.index[code == "99001"][0]
    assert one.effect.before.at[row, "time_gp_min"] == pytest.approx(6 + LEG_MIN)
    assert one.effect.after.at[row, "time_gp_min"] == pytest.approx(LEG_MIN)
    assert one.gains[row] == 1200 and one.gains.sum() == 1200
    # together: the time falls once, the count rises twice; 1,200 inhabitants counted once
    assert joint.effect.after.at[row, "time_gp_min"] == pytest.approx(LEG_MIN)
    assert joint.effect.after.at[row, "count_gp_10min"] == (
        one.effect.before.at[row, "count_gp_10min"] + 2
    )
    assert joint.gains.sum() == 1200
    table = result.actions_table().set_index("scenario")
    assert table.at["msp", "cost_per_inhabitant_eur"] == pytest.approx(1_000_000 / 1200)
    assert table.at[PLAN_ID, "cost_eur"] == 1_500_000
    assert table.at[PLAN_ID, "cost_per_inhabitant_eur"] == pytest.approx(1_500_000 / 1200)
    inter = result.interaction().set_index("measure")
    assert inter.at["population_gaining_access", "sum_separate"] == 2400
    assert inter.at["population_gaining_access", "difference"] == -1200
    # the second GP's time gain is not counted twice: the joint score change is below the sum
    assert inter.at["general", "joint"] < inter.at["general", "sum_separate"]
    assert inter.at["nature", "joint"] == 0  # the nature profile weighs no health indicator
    # the tables: ASCII column names, one row per commune and profile that moves
    communes = result.communes_table()
    assert all(c.isascii() for c in communes.columns)
    assert set(communes["scenario"]) == {"msp", "msp_bis", PLAN_ID}
    epci = result.epci_table()
    assert {"score_before", "score_after", "rank_change", "population_gaining_access"} <= set(
        epci.columns
    )
    ind = result.indicators_table()
    gp = ind[(ind["scenario"] == PLAN_ID) & (ind["indicator"] == "time_gp_min")]
    assert gp["code"].tolist() == ["99001"]
    # every column of every table is described in French
    from geoattract.app.optimise import SITE_COLUMNS
    from geoattract.outputs.plan_section import plan_tables

    tables = plan_tables(result)
    described = set(tables.pop("plan_columns.csv")["column"])
    used = {c for t in tables.values() for c in t.columns} | set(SITE_COLUMNS)
    assert used <= described, used - described


def test_fibre_gains_follow_the_premises():
    before = pd.DataFrame({"population": [1000.0, 500.0], "fibre_share_pct": [20.0, np.nan]})
    after = before.assign(fibre_share_pct=[100.0, np.nan])
    fibre = Action("f", "Fibre", "fibre", {"commune": "x", "share_pct": 100.0})
    assert access_gains(fibre, before, after, None).tolist() == [800.0, 0.0]


def test_the_chapter_escapes_and_names_everything(tiny_state, tmp_path):
    from geoattract.outputs import Labels
    from geoattract.outputs.plan_section import plan_section, write_plan_page

    path = tiny_plan(tmp_path)
    path.write_text(path.read_text().replace("Maison de santé", "Maison <b>de</b> santé"))
    result = evaluate_plan(tiny_state, load_plan(path))
    labels = Labels.from_configs(tiny_state.scores.config, tiny_state.offer.catalogue)
    html = plan_section(result, labels)
    assert "Maison &lt;b&gt;de&lt;/b&gt; santé" in html and "<b>de</b>" not in html
    for text in ("Les actions", "Le plan complet et la somme de ses actions", "plan_epci.csv"):
        assert text in html
    assert len(html.encode()) < 30_000  # the detailed tables are files, not embedded
    page = write_plan_page(tmp_path, result, labels, "Tiny").read_text()
    assert '<h2 id="plan-action">Plan d&#x27;action</h2>' in page


# ------------------------------------------------------------------ the real study


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('type = "add"', 'type = "build"'), "must be one of"),
        (('category = "gp"', 'category = "gpp"'), "unknown category 'gpp'"),
        (('commune = "47001"', 'commune = "33063"'), "'33063' is not a commune of the study"),
        (("cost_eur = 1_000_000\n", ""), "missing key 'actions[0].cost_eur'"),
    ],
)
def test_plan_command_refuses_bad_plans_at_once(tmp_path, capsys, edit, message):
    old, new = edit
    actions = GOOD_ACTION.replace('"99001"', '"47001"')
    path = write_plan(tmp_path, actions.replace(old, new))
    t0 = time.perf_counter()
    assert main(["plan", str(path), "--out", str(tmp_path / "out")]) == 2
    assert time.perf_counter() - t0 < 5.0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_the_example_plan_of_the_47_study(study_state):
    from geoattract.scoring.plan_check import check_plan

    cfg = study_state.config
    plan = check_plan(cfg, cfg.config_file("plan"))
    result = evaluate_plan(study_state, plan)
    table = result.actions_table().set_index("scenario")
    assert list(table.index) == ["msp_ledat", "france_services_madaillan", "fibre_lafitte", PLAN_ID]
    ind = study_state.scores.indicators.set_index("code")
    # fibre for every premises of Lafitte-sur-Lot (0 % today): its inhabitants gain it
    fibre = result.outcomes[2]
    assert ind.at["47127", "fibre_share_pct"] == 0
    assert table.at["fibre_lafitte", "population_gaining_access"] == ind.at["47127", "population"]
    assert table.at["fibre_lafitte", "cost_per_inhabitant_eur"] == pytest.approx(
        790_000 / ind.at["47127", "population"]
    )
    assert fibre.effect.changed == ["fibre_share_pct", "telework_index"]
    moved = {p for p, ch in fibre.changes.items() if (ch["score_change"].abs() > 1e-9).any()}
    assert moved == {"teletravailleurs"}  # the only profile weighting the telework index
    # France Services in Madaillan: the communes newly within 10 min of one, from the tables
    fs = result.outcomes[1]
    b = fs.effect.before.set_index("code")["time_france_services_min"]
    a = fs.effect.after.set_index("code")["time_france_services_min"]
    newly = (a <= 10) & ~(b <= 10)
    assert newly["47155"]
    assert table.at["france_services_madaillan", "population_gaining_access"] == pytest.approx(
        ind.loc[newly[newly].index, "population"].sum()
    )
    # the AFOM weaknesses each action answers are there today and lifted
    assert table.loc[
        ["msp_ledat", "france_services_madaillan", "fibre_lafitte"], "afom_lifted"
    ].all()
    # the three actions touch different communes' access: the joint gains are their sum
    assert table.at[PLAN_ID, "population_gaining_access"] == pytest.approx(
        table["population_gaining_access"].iloc[:3].sum()
    )
    assert table.at[PLAN_ID, "cost_eur"] == 2_590_000


@pytest.mark.slow
def test_a_rail_action_is_the_rail_scenario(study_state):
    """The GPSO as a plan action: the indicator table of `scenario --rail-scenario gpso`, and
    its inhabitants newly within 60 min of a metropole gain access."""
    from geoattract.scoring import apply_actions, run_rail_scenario

    state = study_state
    gpso = Action(
        "gpso", "LGV", "rail_scenario", {"scenario": "gpso"}, 1e9, "État", "2040", ("jeunes",)
    )
    effect = apply_actions(
        state.territory.communes, state.accessibility, state.transition, state.scores, [gpso]
    )
    res = run_rail_scenario(
        state.territory.communes,
        state.accessibility,
        state.transition,
        state.scores,
        scenarios=["gpso"],
    )
    assert effect.changed == res.changed_columns
    for col in res.changed_columns:
        assert effect.after[col].equals(res.indicators_after[col]), col
    metro = state.accessibility.metropolitan
    gains = access_gains(
        gpso, effect.before, effect.after, state.accessibility.inputs.catalogue, metro.spec
    )
    newly = res.metro.epci["population_newly_within_metropole"].sum()
    assert gains.sum() == pytest.approx(newly) and newly > 10_000


@pytest.mark.slow
def test_the_chapter_is_in_the_report(study_run):
    report = (study_run / "report.html").read_text()
    assert '<h2 id="plan-action">Plan d&#x27;action</h2>' in report
    assert "Maison de santé de Lédat" in report
    assert (study_run / "plan_columns.csv").is_file()
    actions = pd.read_csv(study_run / "plan_actions.csv")
    assert actions["scenario"].tolist()[-1] == PLAN_ID
    index = (study_run / "index.html").read_text()
    assert "plan_communes.csv" in index
