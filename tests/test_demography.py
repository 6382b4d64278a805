"""Population dynamics (geoattract.demography): INSEE's rates by hand, the source adapter, bad inputs.

The 3-commune example (``tiny_study``: Alpha 99001 and Beta 99002 in the study, Gamma 98001 in
the buffer, département 98 the reference) and its figures, worked out by hand:

====== ===== ===== ===== ====== ============================ ============ ============
commune  P15   P21   SN   Pm     growth 100((P21/P15)^(1/6)-1) natural       migration
====== ===== ===== ===== ====== ============================ ============ ============
Alpha    1000  1100  +20  1050   1.6012 %                     +0.3175 %     +1.2698 %
Beta      500   470  -30   485  -1.0260 %                     -1.0309 %      0
study    1500  1570  -10  1535   0.7631 %                     -0.1086 %     +0.8686 %
dép. 98  1000  1020   -4  1010   0.3306 %                     -0.0660 %     +0.3960 %
====== ===== ===== ===== ====== ============================ ============ ============

natural = 100 SN / (6 Pm), migration = 100 (P21 - P15 - SN) / (6 Pm). The study's rates come
from its summed counts, not from the mean of Alpha's and Beta's rates (0.29 % a year).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import geoattract as ga
from geoattract._util.weighted import weighted_median, weighted_spearman
from geoattract.demography import (
    CompareSpec,
    RatioIndicator,
    TerritoryGroup,
    ageing_index,
    aggregate_counts,
    build_demography,
    commune_dynamics,
    demography_source,
    dynamics_rates,
    ratio_values,
    strengths_weaknesses,
    territory_rates,
)
from geoattract.errors import ConfigError, DataError

#: The INSEE dossier complet's own column names (defaults of [demography]), ';'-separated.
POPULATION_CSV = (
    "CODGEO;P15_POP;P21_POP;NAIS1520;DECE1520;P21_MEN\n"
    "99001;1000;1100;60;40;450\n"
    "99002;500;470;10;40;200\n"
    "98001;200;230;12;6;100\n"
    "98002;800;790;40;50;350\n"
)

DEMOGRAPHY_TOML = """
[demography]
source = "demography.csv"
name = "INSEE, dossier complet"
vintage = "2024"
coverage = ["99", "98"]
census_years = [2015, 2021]
households_column = "P21_MEN"
"""


def _study(tiny_study, csv: str = POPULATION_CSV, toml: str = DEMOGRAPHY_TOML):
    path, data = tiny_study(toml_extra=toml)
    (data / "demography.csv").write_text(csv, encoding="utf-8")
    cfg = ga.load_study_config(path, data_dir=data)
    return cfg, ga.load_territory(cfg)


# ------------------------------------------------------------------------------ rates by hand


def test_rates_of_the_three_communes_by_hand():
    counts = pd.DataFrame(
        {
            "pop_start": [1000, 500, 0],
            "pop_end": [1100, 470, 12],
            "births": [60, 10, 1],
            "deaths": [40, 40, 0],
        },
        index=["99001", "99002", "99003"],
    )
    r = dynamics_rates(counts, years=6)
    assert r.loc["99001", "growth_rate_pct"] == pytest.approx(1.6011868, abs=1e-6)
    assert r.loc["99001", "natural_rate_pct"] == pytest.approx(100 * 20 / (6 * 1050))
    assert r.loc["99001", "migration_rate_pct"] == pytest.approx(100 * 80 / (6 * 1050))
    assert r.loc["99002", "growth_rate_pct"] == pytest.approx(-1.0259575, abs=1e-6)
    assert r.loc["99002", "natural_rate_pct"] == pytest.approx(-1.0309278, abs=1e-6)
    assert r.loc["99002", "migration_rate_pct"] == pytest.approx(0.0, abs=1e-12)
    assert r.loc["99002", "migration_balance"] == 0
    # no population at the first census: no rate (never a zero)
    assert r.loc["99003", ["growth_rate_pct", "natural_rate_pct"]].isna().all()


def test_the_two_balances_add_up_to_the_arithmetic_rate():
    counts = pd.DataFrame(
        {"pop_start": [333_417.0], "pop_end": [331_229.0], "births": [3000.0], "deaths": [4000.0]}
    )
    r = dynamics_rates(counts, years=6, vital_years=1).iloc[0]
    arithmetic = 100 * (331_229 - 333_417) / (6 * (331_229 + 333_417) / 2)
    assert r["natural_rate_pct"] + r["migration_rate_pct"] == pytest.approx(arithmetic)
    assert abs(arithmetic - r["growth_rate_pct"]) < 0.001  # second-order gap


def test_births_of_one_year_are_scaled_to_the_interval():
    """2022 only: the balance of the year times 6 years (the comparateur's case)."""
    counts = pd.DataFrame({"pop_start": [1000], "pop_end": [1100], "births": [10], "deaths": [7]})
    r = dynamics_rates(counts, years=6, vital_years=1).iloc[0]
    assert r["natural_balance"] == 18
    assert r["natural_rate_pct"] == pytest.approx(100 * 18 / (6 * 1050))  # 0.2857
    assert r["migration_rate_pct"] == pytest.approx(100 * 82 / (6 * 1050))  # 1.3016


def test_territories_sum_their_counts_never_average_their_rates():
    counts = pd.DataFrame(
        {
            "pop_start": [1000, 500],
            "pop_end": [1100, 470],
            "births": [60, 10],
            "deaths": [40, 40],
            "young": [250.0, 100.0],
            "old": [200.0, 150.0],
        },
        index=["99001", "99002"],
    )
    sums = aggregate_counts(counts, pd.Series("99", index=counts.index))
    r = territory_rates(sums, 6).loc["99"]
    assert (r["pop_start"], r["pop_end"], r["births"], r["deaths"]) == (1500, 1570, 70, 80)
    assert r["growth_rate_pct"] == pytest.approx(0.7630719, abs=1e-6)
    assert r["natural_rate_pct"] == pytest.approx(-0.1085776, abs=1e-6)
    assert r["migration_rate_pct"] == pytest.approx(0.8686211, abs=1e-6)
    mean_of_rates = dynamics_rates(counts, 6)["growth_rate_pct"].mean()
    assert mean_of_rates == pytest.approx(0.2876, abs=1e-4) != pytest.approx(r["growth_rate_pct"])
    assert r["ageing_index"] == pytest.approx(100 * 350 / 350)


def test_a_row_left_out_is_counted_not_summed_as_zero():
    counts = pd.DataFrame(
        {
            "pop_start": [1000, 500],
            "pop_end": [1100, np.nan],
            "births": [60, 10],
            "deaths": [40, 40],
        }
    )
    sums = aggregate_counts(counts, pd.Series(["a", "a"]), usable=pd.Series([True, False]))
    assert sums.loc["a", ["pop_start", "n_communes", "n_left_out"]].tolist() == [1000, 1, 1]


def test_ageing_index():
    idx = ageing_index(pd.Series([25.0, 0.0, np.nan]), pd.Series([30.0, 10.0, 5.0]))
    assert idx.iloc[0] == pytest.approx(120.0)
    assert idx.iloc[1:].isna().all()  # no young people, or unknown: no index


# ------------------------------------------------------------------------------ the adapter


def test_three_commune_study_by_hand(tiny_study):
    cfg, terr = _study(tiny_study)
    demo = build_demography(cfg, terr)
    assert demo.available and demo.note == ""
    src = demo.source
    assert (src.population_columns, src.births_column, src.deaths_column) == (
        ("P15_POP", "P21_POP"),
        "NAIS1520",
        "DECE1520",
    )  # INSEE's names, from the census years
    assert src.vital_years == (2015, 2020) and not src.natural_estimated
    t = demo.table.set_index(terr.loc[terr["in_study"], "code"])
    assert t.loc["99001", "demo_growth_rate_pct"] == pytest.approx(1.6011868, abs=1e-6)
    assert t.loc["99002", "demo_natural_rate_pct"] == pytest.approx(-1.0309278, abs=1e-6)
    assert t.loc["99001", "demo_households"] == 450
    assert not t["demo_missing"].any() and not t["demo_natural_estimated"].any()
    terrs = demo.territories
    assert list(terrs.index) == ["99", "98"]  # the study, then the buffer's département
    assert terrs.loc["99", "growth_rate_pct"] == pytest.approx(0.7630719, abs=1e-6)
    assert terrs.loc["99", "migration_rate_pct"] == pytest.approx(0.8686211, abs=1e-6)
    # the reference département sums every row of the file in it, 98002 included
    assert terrs.loc["98", ["pop_start", "pop_end", "n_communes"]].tolist() == [1000, 1020, 2]
    assert terrs.loc["98", "growth_rate_pct"] == pytest.approx(0.3305890, abs=1e-6)
    assert terrs.loc["98", "natural_rate_pct"] == pytest.approx(-0.0660066, abs=1e-6)
    assert terrs.loc["98", "migration_rate_pct"] == pytest.approx(0.3960396, abs=1e-6)
    epci = demo.epci.set_index("epci")
    assert epci.loc["200000001", "growth_rate_pct"] == pytest.approx(0.7630719, abs=1e-6)
    assert not epci.loc["200000001", "partial"]
    info = demo.columns_info()
    assert info["demo_growth_rate_pct"][0] == "Taux de variation annuel moyen 2015-2021"
    assert "(estimation)" not in info["demo_natural_rate_pct"][0]


def test_one_year_of_births_is_flagged_an_estimate(tiny_study):
    csv = "code,p2015,p2021,naissances_2022,deces_2022\n99001,1000,1100,10,7\n99002,500,470,2,7\n"
    toml = """
[demography]
source = "demography.csv"
code_column = "code"
census_years = [2015, 2021]
population_columns = ["p2015", "p2021"]
vital_years = [2022, 2022]
births_column = "naissances_2022"
deaths_column = "deces_2022"
"""
    cfg, terr = _study(tiny_study, csv, toml)
    demo = build_demography(cfg, terr)
    assert demo.source.natural_estimated
    t = demo.table
    assert t["demo_natural_estimated"].all()
    assert t["demo_natural_balance"].tolist() == [18, -30]
    assert t["demo_natural_rate_pct"].iloc[0] == pytest.approx(100 * 18 / (6 * 1050))
    assert "estimé" in demo.source.natural_note_fr()
    assert demo.columns_info()["demo_natural_rate_pct"][0].endswith("(estimation)")
    assert list(demo.territories.index) == ["99"]  # no coverage declared: no reference


def test_repeated_identical_rows_are_read_once(tiny_study, caplog):
    """The comparateur repeats a commune once per postal code: counted once."""
    lines = POPULATION_CSV.splitlines()
    csv = "\n".join([*lines, lines[1], lines[1], lines[3]]) + "\n"
    cfg, terr = _study(tiny_study, csv)
    with caplog.at_level("INFO"):
        demo = build_demography(cfg, terr)
    assert demo.territories.loc["99", "pop_start"] == 1500
    assert demo.territories.loc["98", "pop_start"] == 1000
    assert "3 repeated row(s) of 2 commune(s) read once" in caplog.text


def test_repeated_rows_that_disagree_are_an_error(tiny_study):
    csv = POPULATION_CSV + "99001;1000;1200;60;40;450\n"
    cfg, terr = _study(tiny_study, csv)
    with pytest.raises(
        DataError, match=r"demography\.csv: rows of the same commune code disagree.*'99001'"
    ):
        build_demography(cfg, terr)


# ------------------------------------------------------------------------------ bad inputs


def test_another_geography_is_an_error_naming_the_file(tiny_study):
    csv = POPULATION_CSV.replace("99001", "200000001").replace("99002", "200000002")
    cfg, terr = _study(tiny_study, csv)
    with pytest.raises(
        DataError, match=r"demography\.csv: only 0 of the 2 study communes found.*another geography"
    ):
        build_demography(cfg, terr)


def test_a_missing_census_year_is_an_error_naming_the_column(tiny_study):
    csv = POPULATION_CSV.replace("P15_POP", "P16_POP")
    cfg, terr = _study(tiny_study, csv)
    with pytest.raises(DataError, match=r"demography\.csv: missing column\(s\) 'P15_POP'"):
        build_demography(cfg, terr)


def test_missing_births_of_the_declared_years(tiny_study):
    toml = DEMOGRAPHY_TOML.replace("census_years = [2015, 2021]", "census_years = [2014, 2020]")
    cfg, terr = _study(tiny_study, toml=toml)
    with pytest.raises(DataError, match=r"missing column\(s\) 'P14_POP', 'P20_POP', 'NAIS1419'"):
        build_demography(cfg, terr)


def test_a_negative_count_flags_the_commune(tiny_study, caplog):
    csv = POPULATION_CSV.replace("99002;500;470;10;40", "99002;500;470;-10;40")
    cfg, terr = _study(tiny_study, csv)
    with caplog.at_level("WARNING"):
        demo = build_demography(cfg, terr)
    t = demo.table
    assert t["demo_missing"].tolist() == [False, True]
    assert t["demo_issue"].iloc[1] == "NAIS1520 négatif"
    assert t.iloc[1][["demo_growth_rate_pct", "demo_births", "demo_pop_start"]].isna().all()
    # the study's rates leave Beta out (counted), never as zeros
    study = demo.territories.loc["99"]
    assert (study["pop_start"], study["n_communes"], study["n_left_out"]) == (1000, 1, 1)
    assert study["growth_rate_pct"] == pytest.approx(1.6011868, abs=1e-6)
    assert "99002 (NAIS1520 négatif)" in caplog.text


def test_a_commune_absent_from_the_file_is_flagged(tiny_study):
    csv = "\n".join(line for line in POPULATION_CSV.splitlines() if not line.startswith("99002"))
    cfg, terr = _study(tiny_study, csv + "\n")
    t = build_demography(cfg, terr).table
    assert t["demo_missing"].tolist() == [False, True]
    assert t["demo_issue"].iloc[1] == "absente de la source"


def test_an_absent_file_leaves_the_dynamics_not_available(tiny_study, caplog):
    path, data = tiny_study(toml_extra=DEMOGRAPHY_TOML)
    cfg = ga.load_study_config(path, data_dir=data)
    with caplog.at_level("WARNING"):
        demo = build_demography(cfg, ga.load_territory(cfg))
    assert not demo.available
    assert demo.note.startswith("fichier de population absent") and "demography.csv" in demo.note
    assert demo.table.shape[1] == 0 and len(demo.table) == 2
    assert "population dynamics not available" in caplog.text


def test_no_source_declared(tiny_study):
    path, data = tiny_study()
    cfg = ga.load_study_config(path, data_dir=data)
    demo = build_demography(cfg, ga.load_territory(cfg))
    assert not demo.available and demo.source is None and demo.columns_info() == {}


def test_a_source_that_does_not_cover_the_study(tiny_study):
    cfg, terr = _study(tiny_study, toml=DEMOGRAPHY_TOML.replace('["99", "98"]', '["98"]'))
    with pytest.raises(DataError, match=r"does not cover the study département\(s\) '99'"):
        build_demography(cfg, terr)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[demography]\nsource = "x.csv"\n', "missing key 'demography.census_years'"),
        (
            '[demography]\nsource = "x.csv"\ncensus_years = [2021, 2015]\n',
            "'demography.census_years' must be two increasing census years",
        ),
        (
            '[demography]\nsource = "x.csv"\ncensus_years = [2015, 2021]\nvital_years = [2022, 2020]\n',
            "'demography.vital_years' must be",
        ),
        (
            '[demography]\nsource = "x.csv"\ncensus_years = [2015, 2021]\n'
            '[[demography.indicators]]\nid = "x"\nlabel_fr = "x"\nnumerator = ["a"]\n'
            'denominator = "b"\ndirection = "up"\n',
            r"'demography.indicators\[0\].direction' must be one of",
        ),
    ],
)
def test_config_errors_name_the_file_and_key(tiny_study, extra, message):
    path, data = tiny_study(toml_extra=extra)
    with pytest.raises(ConfigError, match=message):
        cfg = ga.load_study_config(path, data_dir=data)
        demography_source(cfg)


# ------------------------------------------------------------------------- compared ratios


def test_ratio_values_are_ratios_of_sums(tiny_study):
    table = pd.DataFrame(
        {"num": [10.0, 30.0, 5.0, np.nan], "den": [100.0, 200.0, 50.0, 10.0]},
        index=["99001", "99002", "98001", "98002"],
    )
    groups = {
        "99": TerritoryGroup(pd.Index(["99001", "99002"]), "99"),
        "98": TerritoryGroup(pd.Index(["98001", "98002"]), "98"),
    }
    ind = RatioIndicator("u", "chômage", ("c",), "a", "lower_is_better", scale=100)
    out = ratio_values(ind, table, pd.Series(dtype=float), groups)
    assert out["99"] == pytest.approx(100 * 40 / 300)  # not the mean of 10 % and 15 %
    assert np.isnan(out["98"])  # 1 of 2 communes known: below the 95 % coverage
    listed = RatioIndicator(
        "s", "logements", ("n",), "population", "higher_is_better", 1000, absent_is_zero=True
    )
    pop = pd.Series({"99001": 1000.0, "99002": 250.0, "98001": 40.0, "98002": 60.0})
    only = pd.DataFrame({"num": [25.0], "den": [np.nan]}, index=["99001"])
    out = ratio_values(listed, only, pop, groups)
    assert out["99"] == pytest.approx(1000 * 25 / 1250) and out["98"] == 0


def test_strongest_and_weakest_points_by_hand():
    values = pd.DataFrame(
        {"up": [5.0, 1.0, 2.0, 3.0], "down": [5.0, 1.0, 2.0, 3.0], "flat": [2.0, 1.0, 2.0, 3.0]},
        index=["47", "24", "32", "33"],
    )
    specs = {
        "up": CompareSpec("a", "%", True),
        "down": CompareSpec("b", "%", False),
        "flat": CompareSpec("c", "%", True),
    }
    pts = strengths_weaknesses(values, specs, "47", n=5).set_index("indicator")
    sd = np.sqrt(2 / 3)  # population sd of 1, 2, 3
    assert pts.loc["up", ["rank", "side"]].tolist() == [1, "fort"]
    assert pts.loc["up", "z"] == pytest.approx(3 / sd)
    assert pts.loc["down", ["rank", "side"]].tolist() == [4, "faible"]
    assert pts.loc["down", "z"] == pytest.approx(-3 / sd)
    assert pts.loc["up", "reference_median"] == 2
    assert "flat" not in pts.index  # at the median: neither strong nor weak


# ------------------------------------------------------------------------- weighted statistics


def test_weighted_spearman_is_spearman_of_the_replicated_rows():
    rng = np.random.default_rng(3)
    x = pd.Series(rng.normal(size=40).round(1))
    y = pd.Series(x + rng.normal(size=40))
    w = pd.Series(rng.integers(1, 6, size=40))
    plain = stats.spearmanr(x, y).statistic
    assert weighted_spearman(x, y) == pytest.approx(plain)
    rep = stats.spearmanr(np.repeat(x, w), np.repeat(y, w)).statistic
    assert weighted_spearman(x, y, w) == pytest.approx(rep)


def test_weighted_median():
    assert weighted_median(pd.Series([1.0, 2.0, 3.0]), pd.Series([1.0, 1.0, 5.0])) == 3.0
    assert weighted_median(pd.Series([1.0, 2.0, 3.0]), pd.Series([3.0, 1.0, 1.0])) == 1.0


def test_commune_dynamics_without_ages():
    counts = pd.DataFrame(
        {"pop_start": [100.0], "pop_end": [90.0], "births": [1.0], "deaths": [4.0], "issue": [""]}
    )
    out = commune_dynamics(counts, 6)
    assert out["demo_ageing_index_missing"].all() and not out["demo_missing"].any()


# ------------------------------------------------------------------------------ the real study


@pytest.mark.slow
def test_lot_et_garonne_and_its_neighbours(study_state, study_config):
    """47 lost 0.11 % a year over 2015-2021: deaths over births, not departures.

    The rates of the study come from the ``communes`` layer's own columns, summed. Gironde
    grew 1.11 % a year: the issue's +0.98 % summed the comparateur's repeated rows (one per
    postal code: Bordeaux five times), which the adapter reads once.
    """
    layer = study_state.communes_layer()
    cols = ["demo_growth_rate_pct", "demo_natural_rate_pct", "demo_migration_rate_pct"]
    assert len(layer) == 319 and layer[cols].notna().all().all()
    assert layer["demo_natural_estimated"].all()  # births and deaths of 2022 only
    p0, p1 = layer["demo_pop_start"].sum(), layer["demo_pop_end"].sum()
    assert (p0, p1) == (333_417, 331_229)
    assert round(100 * ((p1 / p0) ** (1 / 6) - 1), 2) == -0.11
    terr = study_state.demography.territories
    assert list(terr.index) == ["47", "24", "32", "33", "40", "46", "82"]
    rounded = terr[["growth_rate_pct", "natural_rate_pct", "migration_rate_pct"]].round(2)
    assert rounded.loc["47"].tolist() == [-0.11, -0.47, 0.36]
    assert rounded.loc["33"].tolist() == [1.11, 0.09, 1.02]
    assert rounded.loc["40", "growth_rate_pct"] == 0.80
    assert terr.loc["33", ["pop_start", "pop_end"]].tolist() == [1_548_478, 1_654_970]
    raw = pd.read_csv(study_state.demography.source.path, dtype={"insee_dep": str})
    g = raw[raw["insee_dep"] == "33"][["population_2015", "population_2021"]].sum()
    assert round(100 * ((g.iloc[1] / g.iloc[0]) ** (1 / 6) - 1), 2) == 0.98  # rows repeated
    # the EPCI rates add up to the département's counts
    epci = study_state.demography.epci
    assert epci["pop_start"].sum() == p0 and epci["n_communes"].sum() == 319
    assert terr.loc["47", "ageing_index"] == pytest.approx(104.55, abs=0.01)
    dyn = study_state.dynamics
    assert len(dyn.correlations) == 6 and dyn.correlations["n"].eq(319).all()
    assert dyn.model.n_communes == 319 and dyn.model.cv_r2 < 0.2  # offer predicts gains badly


@pytest.mark.slow
def test_real_run_writes_the_dynamics_and_opens_the_report_with_them(study_run):
    import geopandas as gpd

    communes = gpd.read_file(study_run / "communes.gpkg", layer="communes")
    cols = ["demo_growth_rate_pct", "demo_natural_rate_pct", "demo_migration_rate_pct"]
    assert len(communes) == 319 and communes[cols].notna().all().all()
    p0, p1 = communes["demo_pop_start"].sum(), communes["demo_pop_end"].sum()
    assert round(100 * ((p1 / p0) ** (1 / 6) - 1), 2) == -0.11
    html = (study_run / "report.html").read_text(encoding="utf-8")
    body = html[html.index("<body>") :]
    assert body.index('id="synthese"') < body.index("<nav>") < body.index('id="profil-general"')
    synth = body[body.index('id="synthese"') : body.index("</section>")]
    for name in ("Lot-et-Garonne (47)", "Dordogne (24)", "Gironde (33)", "Tarn-et-Garonne (82)"):
        assert f"<td>{name}</td>" in synth
    assert "−0,11" in synth and "+1,11" in synth
    dyn = body[body.index('id="dynamique"') : body.index('id="profil-general"')]
    assert 'alt="Quadrants offre / solde migratoire"' in dyn
    assert dyn.count("<tr>") > 30 and "ρ de Spearman" in dyn
