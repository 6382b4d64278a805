"""Fixtures of the atelier tests: a small synthetic scoring study, the real study's page.

* ``synthetic_scoring``: a scoring configuration of three pillars and six indicators and a
  table of 40 communes with missing values (seeded), small enough to check by hand and
  large enough to exercise the re-weighting over missing values and the minimum weight share;
* ``atelier_47``: ``atelier.html`` of the Lot-et-Garonne study, written from the typed stage
  results (``study_state``) as a run writes it, with the inputs the tests compare with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

STUDY = "Étude test"

SYNTHETIC_SCORING: dict[str, Any] = {
    "method": {"normalisation": "minmax", "aggregation": "arithmetic", "min_weight_share": 0.5},
    "pillars": {
        "services": {"label_fr": "Services"},
        "health": {"label_fr": "Santé"},
        "environment": {"label_fr": "Environnement"},
    },
    "indicators": {
        "time_a_min": {
            "pillar": "services",
            "direction": "lower_is_better",
            "label_fr": "temps d'accès à A",
            "unit": "min",
        },
        "count_b": {
            "pillar": "services",
            "direction": "higher_is_better",
            "label_fr": "nombre de B",
            "weight": 0.5,
        },
        "time_gp_min": {
            "pillar": "health",
            "direction": "lower_is_better",
            "label_fr": "temps d'accès à un médecin généraliste",
            "unit": "min",
        },
        "e2sfca_gp": {"pillar": "health", "direction": "higher_is_better", "label_fr": "APL"},
        "forest_pct": {
            "pillar": "environment",
            "direction": "higher_is_better",
            "label_fr": "couvert forestier",
            "unit": "%",
        },
        "fibre_pct": {
            "pillar": "environment",
            "direction": "higher_is_better",
            "label_fr": "fibre",
            "unit": "%",
            "weight": 0,
        },
    },
    "profiles": {
        "general": {
            "label_fr": "Population générale",
            "rationale": "Poids égaux.",
            "pillars": {"services": 1, "health": 1, "environment": 1},
        },
        "familles": {
            "label_fr": "Familles",
            "rationale": "Services d'abord.",
            "pillars": {"health": 1, "services": 2, "environment": 0.5},
            "indicator_weights": {"time_a_min": 3, "fibre_pct": 1},
        },
    },
    "montecarlo": {"n": 40, "seed": 3},
}


@pytest.fixture(scope="session")
def synthetic_scoring():
    """(config, indicator table): 40 communes, missing values in three indicators."""
    from geoattract.scoring import scoring_config_from_dict

    cfg = scoring_config_from_dict(SYNTHETIC_SCORING)
    rng = np.random.default_rng(26)
    n = 40
    df = pd.DataFrame(
        {
            "code": [f"99{i:03d}" for i in range(n)][::-1],  # codes not in table order
            "nom": [f"Commune {i}" for i in range(n)],
            "time_a_min": rng.uniform(1, 40, n).round(1),
            "count_b": rng.integers(0, 6, n).astype(float),
            "time_gp_min": rng.uniform(2, 30, n).round(0),
            "e2sfca_gp": rng.uniform(10, 200, n),
            "forest_pct": rng.uniform(0, 60, n),
            "fibre_pct": rng.uniform(0, 100, n),
        }
    )
    df.loc[[3, 7, 11], "time_gp_min"] = np.nan
    df.loc[[7, 20], "e2sfca_gp"] = np.nan  # commune 7: the health pillar cannot be computed
    df.loc[[5, 6], "count_b"] = np.nan
    df.loc[[12, 13], "count_b"] = df.loc[12, "count_b"]  # ties
    df.loc[[14, 15], ["time_a_min", "count_b", "time_gp_min", "e2sfca_gp", "forest_pct"]] = df.loc[
        14, ["time_a_min", "count_b", "time_gp_min", "e2sfca_gp", "forest_pct"]
    ].to_numpy()
    df.loc[[14, 15], "fibre_pct"] = 50.0  # two identical communes: equal scores, ranks by code
    return cfg, df


@dataclass(frozen=True)
class AtelierPage:
    """The real study's atelier page and what it was made from."""

    path: Path
    indicators: pd.DataFrame
    config: Any
    study: str
    communes: pd.DataFrame


@pytest.fixture(scope="session")
def atelier_47(study_state, tmp_path_factory) -> AtelierPage:
    """``atelier.html`` of the Lot-et-Garonne study, written as ``geoattract run`` writes it."""
    from geoattract.outputs import make_basemap, roads_from_graph, write_atelier
    from geoattract.outputs.write import report_context

    out = tmp_path_factory.mktemp("atelier47")
    communes = study_state.communes_layer()
    path = write_atelier(
        out,
        communes,
        study_state.scores.indicators,
        study_state.scores.config,
        study=study_state.config.name,
        context=report_context(study_state),
        afom=study_state.scores.afom,
        basemap=make_basemap(
            study_state.territory.communes, roads_from_graph(study_state.network.graph)
        ),
    )
    return AtelierPage(
        path=path,
        indicators=study_state.scores.indicators,
        config=study_state.scores.config,
        study=study_state.config.name,
        communes=communes,
    )
