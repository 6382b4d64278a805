"""Offer against population dynamics (geoattract.scoring.dynamics, .gains) and its report parts."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from geoattract.scoring import (
    QUADRANTS,
    gains_model,
    offer_quadrants,
    quadrant_counts,
    score_correlations,
    scoring_config_from_dict,
)
from geoattract.scoring.gains import cross_validated, indicator_associations

# ------------------------------------------------------------------------------- quadrants


def test_quadrants_by_hand():
    """Four communes; the high-offer threshold is the population-weighted median score.

    Scores 10, 20, 30, 40 with populations 100, 100, 100, 700: half the weight (500) is
    reached at the 4th commune, so the threshold is 40 and only that commune is "haut".
    """
    scores = pd.DataFrame({"score_g": [10.0, 20.0, 30.0, 40.0]}, index=list("abcd"))
    mig = pd.Series([0.5, -0.2, np.nan, -1.0], index=list("abcd"))
    w = pd.Series([100.0, 100.0, 100.0, 700.0], index=list("abcd"))
    quad, thr = offer_quadrants(scores, mig, w, ["g"])
    assert thr == {"g": 40.0}
    assert quad["quadrant_g"].tolist()[:2] == ["bas_gain", "bas_perte"]
    assert pd.isna(quad.loc["c", "quadrant_g"])  # no migration rate: no quadrant
    assert quad.loc["d", "quadrant_g"] == "haut_perte"
    counts = quadrant_counts(quad, pd.Series(["E1", "E1", "E1", "E2"], index=list("abcd")), w)
    e1 = counts[counts["group"] == "E1"].set_index("quadrant")
    assert list(e1.index) == list(QUADRANTS)  # every quadrant listed, zeros included
    assert e1.loc["bas_gain", ["n_communes", "population"]].tolist() == [1, 100.0]
    assert e1.loc["haut_gain", "n_communes"] == 0


def test_score_correlations_plain_and_weighted():
    scores = pd.DataFrame({"score_g": [1.0, 2.0, 3.0, 4.0, 5.0]})
    dyn = pd.DataFrame(
        {
            "demo_migration_rate_pct": [0.1, 0.2, 0.3, 0.5, 0.4],
            "demo_growth_rate_pct": [-1.0, -0.5, 0.0, 0.5, 1.0],
        }
    )
    corr = score_correlations(scores, dyn, pd.Series([1.0] * 5), ["g"]).iloc[0]
    assert corr["spearman_migration"] == pytest.approx(0.9)  # 1 - 6·2 / (5·24)
    assert corr["weighted_spearman_migration"] == pytest.approx(0.9)
    assert corr["spearman_growth"] == pytest.approx(1.0)
    assert corr["n"] == 5


# ---------------------------------------------------------------------- what goes with gains


def _config(columns):
    return scoring_config_from_dict(
        {
            "pillars": {"p": {"label_fr": "P"}},
            "indicators": {
                c: {"pillar": "p", "direction": "higher_is_better", "label_fr": c} for c in columns
            },
            "profiles": {"g": {"label_fr": "G", "rationale": "test", "pillars": {"p": 1}}},
        }
    )


def test_cross_validated_r2_finds_a_real_signal_and_no_false_one():
    rng = np.random.default_rng(0)
    n = 200
    X = rng.normal(size=(n, 3))
    w = rng.uniform(50, 5000, size=n)
    signal = 2.0 * X[:, 0] + rng.normal(scale=0.5, size=n)
    r2, rho = cross_validated(X, signal, w, repeats=3)
    assert np.mean(r2) > 0.85 and np.mean(rho) > 0.85
    noise = rng.normal(size=n)
    r2, _ = cross_validated(X, noise, w, repeats=3)
    assert np.mean(r2) < 0.05  # nothing to find: no better than the weighted mean


def test_gains_model_and_associations_on_a_table():
    rng = np.random.default_rng(1)
    n = 120
    ind = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.normal(size=n)})
    ind.loc[:5, "c"] = np.nan  # 5 % missing: kept, those communes left out of the model
    mig = pd.Series(-1.5 * ind["a"] + rng.normal(scale=0.3, size=n))
    w = pd.Series(rng.uniform(100, 2000, size=n))
    cfg = _config(["a", "b", "c"])
    model = gains_model(ind, mig, w, cfg, repeats=2)
    assert model.indicators == ("a", "b", "c")
    assert model.n_communes == n - 6
    assert model.cv_r2 > 0.8
    assert model.coefficients["a"] < -1.0 and abs(model.coefficients["b"]) < 0.2
    assoc = indicator_associations(ind, mig, w, cfg)
    assert assoc.iloc[0]["indicator"] == "a" and assoc.iloc[0]["rho"] < -0.9
    assert assoc.iloc[0]["favourable_rho"] == assoc.iloc[0]["rho"]  # higher is better


# -------------------------------------------------------------------- the tiny study, end to end


#: Populations of the tiny study's communes: code → (P15, P21, births and deaths 2015-2020).
TINY_POPULATION: dict[str, tuple[int, int, int, int]] = {
    "99001": (1100, 1200, 80, 60),
    "99002": (650, 600, 20, 50),
    "99003": (1700, 1800, 100, 70),
    "99004": (950, 900, 30, 60),
    "99005": (2000, 2100, 130, 100),
    "99006": (450, 400, 10, 40),
    "98001": (300, 300, 10, 10),
    "98002": (480, 500, 20, 20),
    "98003": (650, 700, 30, 20),
}


def tiny_with_population(tiny_config, root, rows=TINY_POPULATION):
    """A copy of the tiny study's TOML (tests/data/tiny) with a [demography] source."""
    csv = root / "pop.csv"
    csv.write_text(
        "CODGEO;P15_POP;P21_POP;NAIS1520;DECE1520\n"
        + "".join(f"{c};{a};{b};{n};{d}\n" for c, (a, b, n, d) in rows.items())
    )
    text = tiny_config.path.read_text(encoding="utf-8")
    folder = tiny_config.path.parent
    for key in ("facilities", "indicators", "scoring"):
        text = text.replace(f'"{key}.toml"', f'"{(folder / f"{key}.toml").as_posix()}"')
    text += (
        f'\n[demography]\nsource = "{csv.as_posix()}"\ncensus_years = [2015, 2021]\n'
        'coverage = ["99", "98"]\n'
    )
    toml = root / "study.toml"
    toml.write_text(text, encoding="utf-8")
    return toml


@pytest.fixture(scope="module")
def tiny_dyn_state(tiny_config, tmp_path_factory):
    """The tiny study (tests/data/tiny) with a population source: 6 communes of 99, 3 of 98."""
    from geoattract import settings
    from geoattract.app.pipeline import compute_study
    from geoattract.config import load_study_config

    toml = tiny_with_population(tiny_config, tmp_path_factory.mktemp("tiny-demo"))
    cfg = load_study_config(toml, data_dir=tiny_config.data_dir)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(settings, "cache_folder", tmp_path_factory.mktemp("cache"))
        return compute_study(cfg, isochrones=False)


def test_tiny_study_with_dynamics(tiny_dyn_state):
    state = tiny_dyn_state
    demo, dyn = state.demography, state.dynamics
    assert demo.available and dyn is not None
    layer = state.communes_layer().set_index("code")
    assert layer["demo_growth_rate_pct"].notna().all()
    # study: P15 6850, P21 7000, SN = 370 - 380 = -10, Pm = 6925
    study = demo.territories.loc["99"]
    assert study["growth_rate_pct"] == pytest.approx(100 * ((7000 / 6850) ** (1 / 6) - 1))
    assert study["natural_rate_pct"] == pytest.approx(100 * -10 / (6 * 6925))
    assert study["migration_rate_pct"] == pytest.approx(100 * 160 / (6 * 6925))
    # from the layer's columns, as a user of communes.gpkg would
    p0, p1 = layer["demo_pop_start"].sum(), layer["demo_pop_end"].sum()
    assert 100 * ((p1 / p0) ** (1 / 6) - 1) == pytest.approx(study["growth_rate_pct"])
    assert set(dyn.quadrants.columns) == {f"quadrant_{p}" for p in state.scores.config.profiles}
    assert set(layer[dyn.quadrants.columns[0]]) <= set(QUADRANTS)
    # the analysis never touches the scores
    assert dataclasses.replace(state, demography=None, dynamics=None).scores is state.scores


def test_tiny_report_opens_with_the_synthesis(tiny_dyn_state, tmp_path):
    from geoattract.outputs.write import write_outputs

    files = write_outputs(tiny_dyn_state, tmp_path, [], {}, maps=True)
    html = files["report.html"].read_text(encoding="utf-8")
    body = html[html.index("<body>") :]
    first_h2 = re.search(r"<h2 id=\"([^\"]+)\"", body).group(1)
    assert first_h2 == "synthese"
    order = [
        body.index(f'id="{a}"') for a in ("synthese", "dynamique", "afom", "methode", "sources")
    ]
    assert order == sorted(order)  # method and sources close the report, as annexes
    synth = body[body.index('id="synthese"') : body.index("</section>")]
    assert "département 99 : 6 850 habitants en 2015, 7 000 en 2021" in synth.replace("\u202f", " ")
    assert "Solde migratoire apparent" in synth
    # one reference département only (98): no strongest and weakest points, and why
    assert "voisins : non disponible (au moins deux départements de référence" in synth
    assert "Plus fortes hausses, en habitants : Aubas (+100" in synth.replace("\u202f", " ")
    assert "Plus fortes baisses : " in synth
    assert "Formules" not in synth  # method text stays in the annex
    dyn = body[body.index('id="dynamique"') : body.index('id="profil-')]
    assert "ρ de Spearman" in dyn  # printed whatever its value
    # 6 communes: too few for 5-fold cross-validation, and said so
    assert "gains migratoires : non disponible (trop peu de communes)" in dyn
    assert dyn.count("<img") == 3  # decomposition, migration map, quadrants
    assert 'class="epci"' in body[body.index('id="afom"') :]
    methode = body[body.index('id="methode"') :]
    assert "P2021 / P2015" in methode and "solde apparent des entrées-sorties" in methode
    columns = pd.read_csv(files["columns.csv"]).set_index("column")
    assert columns.loc["demo_migration_rate_pct", "label_fr"].startswith(
        "Taux annuel dû au solde migratoire apparent"
    )
    assert "haut_gain" in columns.loc["quadrant_general", "definition"]
    for name in ("demographie_territoires.csv", "quadrants_epci.csv", "correlations_migration.csv"):
        assert name in files


def test_tiny_report_without_population_source(tiny_state, tmp_path):
    """The tiny study declares no population source: the run goes on, "non disponible"."""
    from geoattract.outputs.write import write_outputs

    assert tiny_state.demography is not None and not tiny_state.demography.available
    assert tiny_state.dynamics is None
    files = write_outputs(tiny_state, tmp_path, [], {}, maps=True)
    html = files["report.html"].read_text(encoding="utf-8")
    synth = html[html.index('id="synthese"') : html.index("</section>")]
    assert "Dynamique démographique : non disponible" in synth
    assert "demo_growth_rate_pct" not in pd.read_csv(files["columns.csv"])["column"].tolist()


def test_a_population_file_of_another_geography_stops_the_run_at_the_door(
    tiny_config, tmp_path, capsys
):
    """Exit code 2, one line naming the file, before the network is built; nothing written."""
    from geoattract.app.cli import main

    rows = {f"47{c[2:]}": v for c, v in TINY_POPULATION.items()}
    toml = tiny_with_population(tiny_config, tmp_path, rows)
    out = tmp_path / "out"
    args = ["run", "--config", str(toml), "--data-dir", str(tiny_config.data_dir)]
    assert main([*args, "--out", str(out), "--no-maps"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "pop.csv: only 0 of the 6 study communes found" in err[0]
    assert "another geography" in err[0] and "Traceback" not in err[0]
    assert not out.exists()
