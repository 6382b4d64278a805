"""Stage 7, composite scores: normalisation, aggregation, uncertainty, sensitivity, EPCI, AFOM and what-if scenarios.

The pipeline calls :func:`build_scores`, which returns a :class:`Scores`;
:func:`run_scenario` reuses a finished study's typed results.
"""

from __future__ import annotations

from geoattract.scoring.actions import ActionEffect, access_gains, apply_actions
from geoattract.scoring.afom import (
    AFOM_COLUMNS,
    AFOM_KINDS,
    afom_epci,
    afom_sentences,
    afom_summary,
    afom_table,
    format_value_fr,
)
from geoattract.scoring.aggregate import (
    REFERENCE_PROFILE,
    aggregate,
    composite_scores,
    pillar_scores,
    rank_scores,
    score_all_profiles,
    score_changes,
)
from geoattract.scoring.atelier import (
    AtelierModel,
    Contributions,
    ModelScores,
    atelier_model,
    model_scores,
    score_contributions,
)
from geoattract.scoring.config import (
    AGGREGATIONS,
    NORMALISATIONS,
    ScoringConfig,
    load_scoring_config,
    scoring_config_from_dict,
)
from geoattract.scoring.consensus import MergeResult, merge_summary, merge_weight_sets
from geoattract.scoring.dynamics import (
    QUADRANT_LABELS_FR,
    QUADRANTS,
    DynamicsAnalysis,
    analyse_dynamics,
    offer_quadrants,
    quadrant_counts,
    score_correlations,
)
from geoattract.scoring.epci import epci_scores
from geoattract.scoring.gains import GainsModel, gains_model, indicator_associations
from geoattract.scoring.levers import LeversResult, quintile_breaks, try_levers
from geoattract.scoring.model import usable_indicators
from geoattract.scoring.normalise import normalise, winsorise
from geoattract.scoring.plan import PLAN_ID, PlanResult, evaluate_plan
from geoattract.scoring.rail_scenario import RailScenarioResult, run_rail_scenario
from geoattract.scoring.scenario import (
    FacilityChange,
    ScenarioResult,
    changed_indicators,
    parse_change,
    run_scenario,
    validate_changes,
    weighting_profiles,
)
from geoattract.scoring.stage import IDENTITY_COLUMNS, Scores, build_scores, indicator_table
from geoattract.scoring.uncertainty import (
    MC_QUANTILES,
    draw_quantiles,
    monte_carlo_all_profiles,
    monte_carlo_draws,
    monte_carlo_ranks,
    sensitivity,
)
from geoattract.scoring.weights import (
    WeightSet,
    apply_weight_set,
    check_weight_set,
    profile_weight_set,
    read_weight_set,
)

__all__ = [
    "AFOM_COLUMNS",
    "AFOM_KINDS",
    "AGGREGATIONS",
    "AtelierModel",
    "Contributions",
    "FacilityChange",
    "QUADRANTS",
    "QUADRANT_LABELS_FR",
    "DynamicsAnalysis",
    "GainsModel",
    "analyse_dynamics",
    "gains_model",
    "indicator_associations",
    "offer_quadrants",
    "quadrant_counts",
    "score_correlations",
    "IDENTITY_COLUMNS",
    "MC_QUANTILES",
    "MergeResult",
    "ModelScores",
    "NORMALISATIONS",
    "REFERENCE_PROFILE",
    "ActionEffect",
    "LeversResult",
    "PLAN_ID",
    "PlanResult",
    "RailScenarioResult",
    "ScenarioResult",
    "Scores",
    "ScoringConfig",
    "WeightSet",
    "access_gains",
    "afom_epci",
    "afom_sentences",
    "afom_summary",
    "afom_table",
    "aggregate",
    "apply_weight_set",
    "atelier_model",
    "build_scores",
    "check_weight_set",
    "apply_actions",
    "build_scores",
    "changed_indicators",
    "composite_scores",
    "draw_quantiles",
    "epci_scores",
    "evaluate_plan",
    "format_value_fr",
    "indicator_table",
    "load_scoring_config",
    "merge_summary",
    "merge_weight_sets",
    "model_scores",
    "monte_carlo_all_profiles",
    "monte_carlo_draws",
    "monte_carlo_ranks",
    "normalise",
    "parse_change",
    "pillar_scores",
    "profile_weight_set",
    "quintile_breaks",
    "rank_scores",
    "read_weight_set",
    "run_rail_scenario",
    "run_scenario",
    "score_all_profiles",
    "score_changes",
    "score_contributions",
    "scoring_config_from_dict",
    "sensitivity",
    "try_levers",
    "usable_indicators",
    "validate_changes",
    "weighting_profiles",
    "winsorise",
]
