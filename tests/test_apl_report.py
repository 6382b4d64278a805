"""The report's APL texts: the method paragraph from the config and the robustness section."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geoattract.accessibility import CatchmentSensitivity
from geoattract.facilities import load_catalogue
from geoattract.outputs import Labels, catchment_sensitivity_html, method_paragraphs
from geoattract.outputs.apl_section import age_band_fr
from geoattract.outputs.report import write_report


def _labels(study_config) -> Labels:
    cat = load_catalogue(study_config.config_file("catalogue"), check_files=False)
    return Labels.from_configs(None, cat)


def test_method_section_states_the_apl_conventions(study_config):
    labels = _labels(study_config)
    text = " ".join(method_paragraphs(None, labels, buffer_km=30))
    apl = text[text.index("Accessibilité potentielle localisée (APL)") :]
    assert "paliers de 10, 15 et 20 min pondérés 1, 2/3 et 1/3" in apl
    gp = apl[apl.index("Médecin généraliste :") : apl.index("Chirurgien-dentiste, Infirmier")]
    assert "les professionnels de la commune sont à 0 min de ses habitants" in gp
    assert (
        "standardisée par l'âge, consommation relative 0,83 pour les moins de 25 ans, 1 pour "
        "les 25–64 ans, 2,8 pour les 65 ans et plus" in gp
    )
    assert "chaque centre de santé compte pour 1,76 médecin généraliste dans l'offre" in gp
    assert "les paliers sont nets" in gp
    other = apl[apl.index("Chirurgien-dentiste, Infirmier et Sage-femme :") :]
    assert "sans standardisation par l'âge" in other
    assert labels.column("e2sfca_gp") == "Accessibilité potentielle (APL) — Médecin généraliste"
    assert labels.column("e2sfca_pharmacy").endswith("(E2SFCA) — Pharmacie")


def test_age_band_names():
    assert age_band_fr("under_25") == "moins de 25 ans"
    assert age_band_fr("25_64") == "25–64 ans"
    assert age_band_fr("65_plus") == "65 ans et plus"
    assert age_band_fr("seniors") == "seniors"


def _sensitivity() -> CatchmentSensitivity:
    table = pd.DataFrame(
        {
            "category": ["gp", "gp"],
            "variant": ["age", "buffer_supply"],
            "applicable": [True, False],
            "note": ["", "no supply across the border in the offer"],
            "spearman": [0.9977, np.nan],
            "median_change_pct": [4.57, np.nan],
            "max_rank_move": [23.0, np.nan],
            "n_changed": [301.0, np.nan],
            "same_class_pct": [94.0, np.nan],
            "n_communes": [319.0, np.nan],
        }
    )
    movers = pd.DataFrame(
        {
            "category": ["gp"] * 2,
            "variant": ["age"] * 2,
            "code": ["47172", "47100"],
            "nom": ["Moncaut", "Foulayronnes"],
            "baseline": [72.4, 75.5],
            "value": [68.7, 70.3],
            "rank_baseline": [77.0, 73.0],
            "rank_variant": [100.0, 93.0],
            "rank_move": [-23.0, -20.0],
        }
    )
    return CatchmentSensitivity(table=table, movers=movers, baseline={})


def test_robustness_table_in_french(study_config):
    html = catchment_sensitivity_html(_sensitivity(), _labels(study_config))
    assert "<h3>Médecin généraliste</h3>" in html
    assert "sans standardisation par l&#x27;âge" in html
    assert "0,9977" in html and "4,6 %" in html and ">23<" in html and "301 / 319" in html
    assert "Communes modifiées (&gt; 1 %)" in html and ">94 %<" in html
    assert "Moncaut (77 → 100) ; Foulayronnes (73 → 93)" in html
    assert "sans l&#x27;offre hors département" in html
    assert "sans objet (pas d&#x27;offre hors département dans les données)" in html
    assert "non fournie" in catchment_sensitivity_html(None, Labels())


def test_report_has_the_robustness_section_only_when_given(study_config, tmp_path):
    communes = pd.DataFrame(
        {"code": ["47001"], "nom": ["Agen"], "score_general": [50.0], "rank_general": [1.0]}
    )
    from geoattract.outputs import ReportContext

    context = ReportContext.build("Test", labels=_labels(study_config))
    with_section = write_report(
        tmp_path / "a", communes, context, catchment_sensitivity=_sensitivity()
    ).read_text(encoding="utf-8")
    assert 'id="robustesse-apl"' in with_section and 'href="#robustesse-apl"' in with_section
    assert with_section.index('id="sensibilite"') < with_section.index('id="robustesse-apl"')
    without = write_report(tmp_path / "b", communes, context).read_text(encoding="utf-8")
    assert "robustesse-apl" not in without
