"""Tests of geoattract.outputs.report: report.html, index.html and the comparison page."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest_d.maps import (
    EVIL_IMG,
    EVIL_SCRIPT,
    PILLARS,
    PROFILE_LABELS_FR,
    PROFILES,
    SCHEMATIC_TEXT,
    Caption,
    study_labels,
)

from geoattract.errors import DataError, DataNotFoundError
from geoattract.outputs import ReportContext, compare, static
from geoattract.outputs import report as report
from geoattract.outputs.labels import ESTIMATED_COUNT_FR


@pytest.fixture(scope="module")
def inputs(map_inputs):
    return map_inputs


@pytest.fixture(scope="module")
def labels():
    """Labels of the shipped study configuration (no data needed)."""
    return study_labels()


@pytest.fixture(scope="module")
def pngs(inputs, tmp_path_factory):
    communes, *_, context = inputs
    small = communes[["code", "nom", "geometry", "score_general", "pillar_health"]]
    return static.make_static_maps(small, context, tmp_path_factory.mktemp("png"), dpi=30)


@pytest.fixture(scope="module")
def tables(inputs):
    communes = inputs[0]
    epci = communes.groupby(["epci", "epci_nom"], as_index=False).agg(
        n_communes=("code", "size"),
        population=("population", "sum"),
        **{f"score_{p}": (f"score_{p}", "mean") for p in PROFILES},
        **{f"pillar_{p}_{q}": (f"pillar_{p}", "mean") for p in PILLARS for q in PROFILES},
    )
    epci["partial"] = epci["epci"] == epci["epci"].iloc[0]
    # the scoring stage's long table: one row per profile and uncertainty factor
    sens = pd.DataFrame(
        {
            "input": ["weights", "normalisation", "thresholds"] * 2,
            "first_order": [0.676, 0.211, 0.028, 0.607, 0.238, 0.05],
            "total_order": [0.741, 0.270, 0.044, 0.663, 0.301, 0.07],
            "profile": ["general"] * 3 + ["jeunes"] * 3,
        }
    )
    afom = {
        code: ["Atout : <b>gare</b>", "Faiblesse : peu de médecins"]
        for code in communes["code"].head(8)
    }
    return epci, sens, afom


@pytest.fixture(scope="module")
def report_html(inputs, pngs, tables, tmp_path_factory):
    communes, *_, context = inputs
    epci, sens, afom = tables
    out = tmp_path_factory.mktemp("report")
    path = report.write_report(
        out,
        communes,
        context,
        epci_table=epci,
        afom=afom,
        sensitivity=sens,
        static_maps=pngs,
        top_n=10,
    )
    assert path == out / "report.html"
    return path.read_text(encoding="utf-8")


def _section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    nxt = html.find("<h2", start)
    return html[start : nxt if nxt > 0 else None]


def test_report_is_self_contained(report_html):
    assert "<script" not in report_html
    assert "<link" not in report_html
    assert not re.findall(r'(?:src|href)="(?!#|data:)', report_html)
    # the full tables travel inside the page as CSV downloads
    assert report_html.count('href="data:text/csv;base64,') == 2


def test_report_embeds_the_png_maps(report_html, pngs):
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', report_html)
    assert len(uris) == 2
    assert base64.b64decode(uris[0]) == pngs["score_general"].read_bytes()
    assert "Pilier — Santé" in report_html
    assert "<figcaption>Score — Population générale</figcaption>" in report_html


def test_report_top_and_bottom_with_rank_intervals(report_html, inputs):
    communes = inputs[0]
    section = _section(report_html, "profil-general")
    best = communes.sort_values(["rank_general", "nom"]).iloc[0]
    worst = communes.sort_values(["rank_general", "nom"]).iloc[-1]
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td>", section)
    assert len(rows) == 20  # 10 best + 10 worst
    r = int(best["rank_general"])
    low = max(1, r - 5)
    assert rows[0] == (
        f"{r}{'er' if r == 1 else 'e'} ({low}{'er' if low == 1 else 'e'}–{r + 7}e)",
        html.escape(best["nom"]),
    )
    assert rows[10] == (
        f"{int(worst['rank_general'])}e ({int(worst['rank_general']) - 5}e–319e)",
        html.escape(worst["nom"]),
    )
    # profile labels from scoring.toml, not from code
    assert "Classement — Travailleurs saisonniers" in report_html
    assert "Classement — Population générale" in report_html


def test_report_tables_sources_method(report_html, inputs, tables):
    communes = inputs[0]
    epci = _section(report_html, "epci")
    assert epci.count("<tr>") == 1 + communes["epci"].nunique()  # header + 12 EPCI
    sources = _section(report_html, "sources")
    assert "IGN Admin Express" in sources and "2025" in sources and "Licence Ouverte 2.0" in sources
    assert "<p>Deuxième paragraphe.</p>" in report_html
    assert f'<p class="caption">{html.escape(SCHEMATIC_TEXT)}</p>' in report_html


def _csv_of(section: str) -> pd.DataFrame:
    import io

    data = re.search(r'href="data:text/csv;base64,([^"]+)"', section)[1]
    return pd.read_csv(io.BytesIO(base64.b64decode(data)), encoding="utf-8-sig")


def test_epci_section_shows_scores_per_profile_and_links_the_full_table(report_html, tables):
    epci = tables[0]
    section = _section(report_html, "epci")
    headers = re.findall(r"<th>([^<]+)</th>", section)
    # 3 identity columns + one score per profile, not the 40 pillar columns
    assert headers == ["EPCI", "Communes", "Population", *PROFILE_LABELS_FR]
    best = epci.sort_values("score_general", ascending=False).iloc[0]
    first = re.search(r"<tbody>\s*<tr><td>([^<]+)</td>", section)[1]
    assert first == html.escape(best["epci_nom"] + (" *" if best["partial"] else ""))
    assert "* EPCI en partie hors du département" in section
    full = _csv_of(section)
    assert full.shape == epci.shape and list(full.columns) == list(epci.columns)


def test_sensitivity_section_is_french(report_html, tables):
    section = _section(report_html, "sensibilite")
    headers = re.findall(r"<th>([^<]+)</th>", section)
    assert headers == [
        "Profil",
        "Poids — 1er ordre",
        "Poids — total",
        "Normalisation — 1er ordre",
        "Normalisation — total",
        "Seuils de temps — 1er ordre",
        "Seuils de temps — total",
    ]
    rows = re.findall(r"<tr><td>([^<]+)</td>((?:<td[^>]*>[^<]*</td>)+)</tr>", section)
    assert [r[0] for r in rows] == ["Population générale", "Jeunes (15-29 ans)"]
    assert re.findall(r">([^<]+)</td>", rows[0][1])[:2] == ["0,68", "0,74"]
    assert "weights" not in section.split("<a ")[0]  # English only inside the CSV
    assert _csv_of(section).shape == tables[1].shape


def test_report_escapes_hostile_text(report_html):
    assert EVIL_SCRIPT not in report_html and EVIL_IMG not in report_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report_html
    assert "&lt;img src=x onerror=alert(1)&gt;" in report_html  # in the AFOM list
    assert "Atout : &lt;b&gt;gare&lt;/b&gt;" in report_html
    assert _section(report_html, "afom").count("<details>") == 8


def test_report_errors_name_the_problem(tiny_state, tmp_path):
    communes = tiny_state.communes_layer()
    with pytest.raises(DataNotFoundError, match="absent.png"):
        report.write_report(
            tmp_path, communes, static_maps={"score_general": tmp_path / "absent.png"}
        )
    with pytest.raises(DataError, match="score_<profile>"):
        report.write_report(tmp_path, communes[["code", "nom"]])
    with pytest.raises(DataError, match="'code'"):
        report.write_report(tmp_path, communes, afom=pd.DataFrame({"x": [1]}))


def test_index_links_are_relative_and_resolve(tmp_path):
    (tmp_path / "maps").mkdir()
    files = {
        "Carte — Familles": tmp_path / "maps" / "score_familles.html",
        "Rapport <complet>": tmp_path / "report.html",
        "Données (GeoPackage)": tmp_path / "communes v2.gpkg",
    }
    for p in files.values():
        p.write_text("x")
    context = ReportContext.build("Lot-et-Garonne", caption=Caption(SCHEMATIC_TEXT))
    path = report.write_index(tmp_path, files, context)
    html = path.read_text(encoding="utf-8")
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert hrefs == ["maps/score_familles.html", "report.html", "communes%20v2.gpkg"]
    from urllib.parse import unquote

    assert all((tmp_path / unquote(h)).is_file() for h in hrefs)
    assert "Rapport &lt;complet&gt;" in html
    assert html.count(SCHEMATIC_TEXT.replace("'", "&#x27;")) == 1


def test_compare_page_radar_geometry(tmp_path, labels):
    pillars = ["services", "health", "culture", "housing"]
    rows = pd.DataFrame(
        {
            "nom": ["Moyenne", EVIL_SCRIPT],
            "score_familles": [50.0, 70.0],
            "rank_familles": [10, 2],
            "rank_familles_p05": [8, 1],
            "rank_familles_p95": [14, 4],
        }
    )
    for p in pillars:
        rows[f"pillar_{p}"] = [50.0, 100.0]
    rows.loc[1, "pillar_housing"] = np.nan
    path = compare.compare_html(rows, "familles", tmp_path / "cmp.html", labels=labels)
    html = path.read_text(encoding="utf-8")
    cx = compare.RADAR_RADIUS + compare.RADAR_MARGIN_X  # 320
    cy = compare.RADAR_RADIUS + compare.RADAR_MARGIN_Y  # 190
    polys = re.findall(r'<polygon points="([^"]+)"', html)
    assert len(polys) == len(compare.RADAR_RINGS) + 2
    # 4 axes: up, right, down, left; value 50 → 75 units from the centre
    assert (
        polys[-2]
        == f"{cx:.1f},{cy - 75:.1f} {cx + 75:.1f},{cy:.1f} {cx:.1f},{cy + 75:.1f} {cx - 75:.1f},{cy:.1f}"
    )
    # 100 on three axes, missing housing drawn at the centre and flagged by a circle
    assert (
        polys[-1]
        == f"{cx:.1f},{cy - 150:.1f} {cx + 150:.1f},{cy:.1f} {cx:.1f},{cy + 150:.1f} {cx:.1f},{cy:.1f}"
    )
    assert html.count("<circle") == 1
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "2e (1er–4e)" in html and "Santé" in html
    assert "Comparaison de communes — profil Familles avec enfants" in html


def test_compare_page_needs_three_pillars(tmp_path):
    rows = pd.DataFrame(
        {"nom": ["A"], "score_general": [1.0], "pillar_a": [1.0], "pillar_b": [2.0]}
    )
    with pytest.raises(DataError, match="at least 3 pillars"):
        compare.compare_html(rows, "general", tmp_path / "x.html")
    with pytest.raises(DataError, match="score_jeunes"):
        compare.compare_html(rows, "jeunes", tmp_path / "x.html")
    assert not Path(tmp_path / "x.html").exists()


def test_afom_long_table_is_grouped_by_commune(tiny_state, tmp_path):
    communes = tiny_state.communes_layer()
    long = pd.DataFrame(
        {
            "code": ["99001", "99001", "99002"],
            "kind": ["atout", "faiblesse", "atout"],
            "sentence": ["Atout : gare.", "Faiblesse : <peu> de médecins.", "Atout : école."],
        }
    )
    text = report.write_report(tmp_path, communes, afom=long).read_text(encoding="utf-8")
    afom = _section(text, "afom")
    assert afom.count("<details>") == 2
    aubas = afom[afom.index("Aubas (99001)") :]
    aubas = aubas[: aubas.index("</details>")]
    assert aubas.count("<li>") == 2 and "Faiblesse : &lt;peu&gt; de médecins." in aubas


# ------------------------------------------------------------------------------ columns table


def test_columns_table_describes_the_patterns(labels):
    from geoattract.outputs import columns_table

    cols = [
        "code",
        "count_gp_20min",
        "count_cinema_30min",
        "e2sfca_maternity",
        "outside_unknown_gp",
        "tr_cyclability",
        "tr_cyclability_missing",
        "tr_ev_points_15min",
        "social_housing_20min_per_1000",
        "score_jeunes",
        "rank_jeunes_p95",
        "pillar_housing_saisonniers",
        "missing_pillars_general",
        "mystery",
    ]
    table = columns_table(cols, labels, caption=Caption(SCHEMATIC_TEXT)).set_index("column")
    assert list(table.columns) == ["label_fr", "unit", "definition", "source"]
    assert list(table.index) == cols
    row = table.loc["count_gp_20min"]
    # BPE 2017 GPs across the border count for the vintage factor: an estimate, said so
    assert row["label_fr"] == "Médecin généraliste à moins de 20 min" + ESTIMATED_COUNT_FR
    assert "d'où des valeurs non entières" in row["definition"]
    assert table.loc["count_cinema_30min", "label_fr"] == "Cinéma à moins de 30 min (sites)"
    assert row["unit"] == "équipements"
    assert row["source"] == (
        "bpe D265 ; counts ../france/bpe2017_general_practitioners.csv ; calcul geoattract sur "
        "le réseau schématique (limites communales) (COG 2025)"
    )
    assert table.loc["count_cinema_30min", "unit"] == "sites"
    assert table.loc["e2sfca_maternity", "unit"] == "accouchements pour 100 000 hab."
    assert "inconnue (et non nulle)" in table.loc["outside_unknown_gp", "definition"]
    # registry indicators: label, unit and the source with its vintage, from indicators.toml
    assert table.loc["tr_cyclability", "source"] == (
        "indicators/environment_health_social_communes_47.csv (compiled 2021–2023)"
    )
    assert table.loc["tr_cyclability_missing", "label_fr"] == (
        "Cyclabilité de la voirie : donnée manquante"
    )
    assert table.loc["tr_ev_points_15min", "label_fr"] == "Points de recharge à moins de 15 min"
    assert table.loc["score_jeunes", "label_fr"] == "Score — Jeunes (15-29 ans)"
    assert table.loc["rank_jeunes_p95", "definition"] == (
        "Rang (1 = le meilleur) du profil Jeunes (15-29 ans) : 95e centile des tirages Monte Carlo."
    )
    assert table.loc["pillar_housing_saisonniers", "label_fr"] == (
        "Pilier — Logement (profil Travailleurs saisonniers)"
    )
    assert table.loc["missing_pillars_general", "label_fr"] == (
        "Piliers manquants — profil Population générale"
    )
    # an unknown column is listed, never described by a guess
    assert table.loc["mystery", "definition"] == ""


@pytest.mark.slow
def test_columns_table_covers_every_column_of_the_real_layer(study_run, inputs, study_config):
    """Every one of the 459 columns of the real run's communes layer is described."""
    import pyogrio

    from geoattract.outputs import columns_table
    from geoattract.outputs.write import configured_columns

    columns = [*pyogrio.read_info(study_run / "communes.gpkg", layer="communes")["fields"]]
    columns.append("geometry")
    from geoattract.demography import COMMUNE_COLUMNS, commune_columns_info, demography_source

    # the metropolitan reach, broadband and the telework index describe themselves (TOML)
    extra = configured_columns(study_config)
    # so do the population dynamics (the source of [demography]) and the quadrants (their
    # thresholds come from the run: read back from the run's own columns table)
    extra |= commune_columns_info(demography_source(study_config))
    written = pyogrio.read_dataframe(study_run / "communes.gpkg", layer="columns")
    written = written.set_index("column")[["label_fr", "unit", "definition", "source"]]
    quadrants = [c for c in columns if c.startswith("quadrant_")]
    extra |= {c: tuple(written.loc[c]) for c in quadrants}
    assert len(quadrants) == 6 and set(COMMUNE_COLUMNS) <= set(columns)
    table = columns_table(columns, inputs[4].labels, caption=Caption(SCHEMATIC_TEXT), extra=extra)
    # 438 columns before the population dynamics (391 + 8 health-centre columns + 31
    # metropolitan, fibre and telework columns, then location_missing, the 6 columns of the
    # Agen pole and time_outside_min), + 16 population dynamics columns + 6 quadrants
    assert len(table) == len(columns) == 438 + 16 + 6
    assert table.set_index("column").loc["time_outside_min", "unit"] == "min"
    undescribed = table.loc[table["definition"] == "", "column"].tolist()
    assert undescribed == []
    assert table["label_fr"].is_unique  # no two columns read the same in a table or a legend
    assert (table["source"] != "").all()


def test_afom_is_grouped_by_epci_each_commune_folded(report_html, inputs):
    communes = inputs[0]
    section = _section(report_html, "afom")
    with_afom = communes.head(8)
    epcis = with_afom["epci_nom"].nunique()
    assert section.count('<details class="epci">') == epcis
    first = html.escape(str(with_afom["epci_nom"].iloc[0]))
    n_first = int((with_afom["epci_nom"] == with_afom["epci_nom"].iloc[0]).sum())
    assert f"<summary>{first} ({n_first} commune" in section
    # every commune block sits inside an EPCI block
    assert section.index('<details class="epci">') < section.index("<details><summary>")


def test_method_and_sources_close_the_report_as_annexes(report_html):
    body = report_html[report_html.index("<body>") :]
    heads = re.findall(r'<h2 id="([^"]+)"', body)
    assert heads[-2:] == ["methode", "sources"]
    assert "Annexe A — Méthode" in body and "Annexe B — Sources et millésimes" in body
