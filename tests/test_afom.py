"""Tests of geoattract.scoring.afom: quartile rule by hand, rules, sentences, EPCI level."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geoattract import settings
from geoattract._util.ranks import percentile_rank
from geoattract.errors import ConfigError, DataError
from geoattract.scoring import (
    AFOM_COLUMNS,
    afom_epci,
    afom_sentences,
    afom_table,
    format_value_fr,
    load_scoring_config,
    scoring_config_from_dict,
)


def doc() -> dict:
    return {
        "method": {"min_coverage": 0.0},
        "pillars": {"services": {"label_fr": "Services"}, "transition": {"label_fr": "Transition"}},
        "indicators": {
            "time_pharmacy_min": {
                "pillar": "services",
                "direction": "lower_is_better",
                "label_fr": "temps d'accès à une pharmacie",
                "unit": "min",
                "better_fr": "les plus courts",
                "worse_fr": "les plus longs",
            },
            "count_gp": {
                "pillar": "services",
                "direction": "higher_is_better",
                "label_fr": "médecins proches",
            },
            "tr_pvd": {
                "pillar": "transition",
                "direction": "higher_is_better",
                "label_fr": "Petites villes de demain",
            },
            "tr_heat": {
                "pillar": "transition",
                "direction": "lower_is_better",
                "label_fr": "hausse des jours chauds",
                "unit": "j",
                "worse_fr": "les plus fortes",
            },
        },
        "profiles": {
            "general": {
                "label_fr": "G",
                "rationale": "r",
                "pillars": {"services": 1, "transition": 1},
            }
        },
        "afom": {
            "quantile": 0.25,
            "internal_pillars": ["services"],
            "opportunites": [
                {
                    "indicator": "tr_pvd",
                    "rule": "positive",
                    "text_fr": "programme Petites villes de demain",
                }
            ],
            "menaces": [
                {"indicator": "tr_heat", "rule": "worst_quantile"},
                {
                    "indicator": "tr_heat",
                    "rule": "at_least",
                    "value": 10.0,
                    "text_fr": "forte chaleur",
                },
            ],
        },
    }


def communes() -> pd.DataFrame:
    # 8 communes; pharmacy times 1..8 min; count_gp with a block of ties at 0
    return pd.DataFrame(
        {
            "code": [f"4700{i}" for i in range(1, 9)],
            "nom": list("ABCDEFGH"),
            "time_pharmacy_min": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            "count_gp": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0],
            "tr_pvd": [0, 0, 1, 0, 0, 0, 0, 0],
            "tr_heat": [2.0, 2.0, 3.0, 4.0, 5.0, 6.0, 11.0, 12.0],
            "population": [100.0, 200.0, 300.0, 400.0, 100.0, 100.0, 100.0, 100.0],
            "epci": ["E1", "E1", "E1", "E1", "E2", "E2", "E2", "E2"],
            "epci_nom": ["Un"] * 4 + ["Deux"] * 4,
        }
    )


def test_percentile_by_hand():
    # lower is better, times 1..8: worse = number of longer times, p = 100 (worse + 1/2) / 8
    # 1 min -> 7.5/8 = 93.75 ; 2 -> 81.25 ; 3 -> 68.75 ; ... ; 8 -> 0.5/8 = 6.25
    p = percentile_rank(pd.Series([1.0, 2, 3, 4, 5, 6, 7, 8]), "lower_is_better")
    assert p.tolist() == [93.75, 81.25, 68.75, 56.25, 43.75, 31.25, 18.75, 6.25]
    # ties: six zeros share worse = 0, equal = 6 -> 100 x 3 / 8 = 37.5 ; 1 -> 6.5/8 ; 2 -> 7.5/8
    q = percentile_rank(pd.Series([0.0, 0, 0, 0, 0, 0, 1, 2, np.nan]), "higher_is_better")
    assert q.tolist()[:8] == [37.5] * 6 + [81.25, 93.75] and np.isnan(q.iloc[8])
    with pytest.raises(ConfigError, match="unknown direction 'up'"):
        percentile_rank(pd.Series([1.0]), "up")


def test_quartile_rule_by_hand():
    t = afom_table(communes(), scoring_config_from_dict(doc()))
    assert tuple(t.columns) == AFOM_COLUMNS
    pharm = t[t["indicator"] == "time_pharmacy_min"]
    # atouts: p >= 75 -> 1 and 2 min (A, B); faiblesses: p <= 25 -> 7 and 8 min (G, H)
    assert sorted(pharm.loc[pharm["kind"] == "atout", "code"]) == ["47001", "47002"]
    assert sorted(pharm.loc[pharm["kind"] == "faiblesse", "code"]) == ["47007", "47008"]
    gp = t[t["indicator"] == "count_gp"]
    # the six tied zeros (p = 37.5) are neither; 1 and 2 doctors (81.25, 93.75) are atouts
    assert sorted(gp.loc[gp["kind"] == "atout", "code"]) == ["47007", "47008"]
    assert (gp["kind"] != "faiblesse").all()
    # opportunity: PVD member C only; threats: heat increase in the worst quarter (11, 12 days),
    # and at_least 10 days (same communes)
    assert t.loc[t["kind"] == "opportunite", "code"].tolist() == ["47003"]
    menace = t[t["kind"] == "menace"]
    assert sorted(menace.loc[menace["rule"] == "worst_quantile", "code"]) == ["47007", "47008"]
    assert sorted(menace.loc[menace["rule"] == "at_least", "code"]) == ["47007", "47008"]
    # transition indicators are not internal: no atout/faiblesse from tr_heat
    assert not ((t["indicator"] == "tr_heat") & t["kind"].isin(["atout", "faiblesse"])).any()
    row = pharm[pharm["code"] == "47001"].iloc[0]
    assert (
        row["value"] == 1.0
        and row["percentile"] == 93.75
        and row["label"] == "temps d'accès à une pharmacie"
    )


def test_sentences():
    t = afom_table(communes(), scoring_config_from_dict(doc()))
    s = afom_sentences(t, codes=communes()["code"])
    assert s["47001"] == [
        "Atout : temps d'accès à une pharmacie parmi les 25 % les plus courts du département (1 min)."
    ]
    assert s["47003"] == ["Opportunité : programme Petites villes de demain."]
    assert s["47004"] == []
    assert s["47008"] == [
        "Atout : médecins proches parmi les 25 % les plus favorables du département (2).",
        "Faiblesse : temps d'accès à une pharmacie parmi les 25 % les plus longs du département (8 min).",
        "Menace : hausse des jours chauds parmi les 25 % les plus fortes du département (12 j).",
        "Menace : forte chaleur (12 j).",
    ]
    short = afom_sentences(t, max_per_kind=1)
    assert len(short["47008"]) == 3  # one atout, one faiblesse, one menace


def test_epci_level():
    t = afom_epci(communes(), scoring_config_from_dict(doc()))
    # E1 pharmacy time: (100x1 + 200x2 + 300x3 + 400x4) / 1000 = 3 min ; E2: (5 + 6 + 7 + 8) / 4 = 6.5
    # two EPCIs: E1 p = 75 (atout), E2 p = 25 (faiblesse)
    pharm = t[t["indicator"] == "time_pharmacy_min"].set_index("code")
    assert pharm.loc["E1", "kind"] == "atout" and pharm.loc["E1", "value"] == pytest.approx(3.0)
    assert pharm.loc["E2", "kind"] == "faiblesse" and pharm.loc["E2", "value"] == pytest.approx(6.5)
    assert "des EPCI du département" in pharm.loc["E1", "sentence"]
    # E1 has a PVD commune (30 % of its population): positive -> opportunity
    assert t.loc[t["kind"] == "opportunite", "code"].tolist() == ["E1"]


def test_missing_rule_column_is_data_error():
    with pytest.raises(DataError, match=r"tr_heat.*available columns"):
        afom_table(communes().drop(columns="tr_heat"), scoring_config_from_dict(doc()))


def test_format_value_fr():
    assert format_value_fr(4.4, "min") == "4 min"
    assert format_value_fr(12.345, "%") == "12,3 %"
    assert format_value_fr(1234.0) == "1 234"
    assert format_value_fr(0.8512) == "0,851"
    assert format_value_fr(float("nan")) == "n.d."


def test_shipped_afom_rules_validate():
    cfg = load_scoring_config(settings.config_folder / "scoring.toml")
    kinds = {r["indicator"] for r in cfg.afom["opportunites"]}
    assert {"tr_pvd", "tr_rail_time_min"} <= kinds
    # the source's organic column is the converted share of the organic area, not the organic
    # share of the farmland: no organic opportunity (docs/transition.md, audit of the shares)
    assert not any("organic" in k for k in kinds) and not any(
        "organic" in c for c in cfg.indicators
    )
    assert {"tr_climate_tx35_delta", "env_drought", "env_impervious"} <= {
        r["indicator"] for r in cfg.afom["menaces"]
    }
    assert cfg.afom["quantile"] == 0.25
