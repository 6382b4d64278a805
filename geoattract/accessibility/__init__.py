"""Stage 5, accessibility: nearest times, counts, floating catchments, housing, site selection.

The subpackage is callable: ``geoattract.accessibility(origins, facilities, network,
method=...)`` runs :func:`~geoattract.accessibility.api.accessibility`, so that
``ga.accessibility(...)`` works however the package was imported.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from geoattract.accessibility.api import accessibility
from geoattract.accessibility.apl import (
    CatchmentProblem,
    age_factors,
    catchment_problem,
    category_decay,
    category_e2sfca,
    expected_step_weights,
    smoothed_step_decay,
    solve_catchment,
)
from geoattract.accessibility.catchment import PER_INHABITANTS, e2sfca
from geoattract.accessibility.housing import housing_accessibility
from geoattract.accessibility.inputs import (
    TOWN_HALL_SOURCES,
    AccessibilityInputs,
    intra_commune_legs,
    prepare_inputs,
)
from geoattract.accessibility.location import (
    LocationProblem,
    LocationSolution,
    attribute_gains,
    choose_sites,
    solve_exact,
    solve_greedy,
)
from geoattract.accessibility.metrics import category_accessibility
from geoattract.accessibility.metropolitan import (
    build_metropolitan,
    metro_scenario,
    population_summary,
    top_gains,
)
from geoattract.accessibility.poles import (
    MetropolitanAccess,
    MetroScenario,
    commune_table,
    metro_columns_info,
    population_within,
    time_column,
)
from geoattract.accessibility.rail import catalogue_stations, rail_times
from geoattract.accessibility.sensitivity import (
    CatchmentSensitivity,
    catchment_sensitivity,
    compare_rankings,
)
from geoattract.accessibility.sites import new_facilities
from geoattract.accessibility.siting import (
    SitingProblem,
    SitingResult,
    candidate_apl_gains,
    candidate_minutes,
    candidate_sites,
    demand_weights,
    optimise_sites,
    siting_problem,
)
from geoattract.accessibility.stage import (
    Accessibility,
    accessibility_table,
    build_accessibility,
)
from geoattract.accessibility.unknown_offer import (
    OUTSIDE_TIME_COLUMN,
    UNKNOWN_OFFER_FR,
    unknown_offer,
    unknown_offer_category,
    unknown_offer_text,
)
from geoattract.facilities.decay import (
    APL_BREAKS_MIN,
    APL_WEIGHTS,
    Decay,
    decay_from_config,
    flat_decay,
    gaussian_decay,
    linear_decay,
    step_decay,
)

__all__ = [
    "accessibility",
    "LocationProblem",
    "LocationSolution",
    "SitingProblem",
    "SitingResult",
    "attribute_gains",
    "candidate_apl_gains",
    "candidate_minutes",
    "candidate_sites",
    "choose_sites",
    "demand_weights",
    "new_facilities",
    "optimise_sites",
    "siting_problem",
    "solve_exact",
    "solve_greedy",
    "MetroScenario",
    "MetropolitanAccess",
    "build_metropolitan",
    "catalogue_stations",
    "commune_table",
    "metro_columns_info",
    "metro_scenario",
    "population_summary",
    "population_within",
    "rail_times",
    "time_column",
    "top_gains",
    "OUTSIDE_TIME_COLUMN",
    "UNKNOWN_OFFER_FR",
    "unknown_offer",
    "unknown_offer_category",
    "unknown_offer_text",
    "APL_BREAKS_MIN",
    "APL_WEIGHTS",
    "Accessibility",
    "AccessibilityInputs",
    "CatchmentProblem",
    "CatchmentSensitivity",
    "Decay",
    "PER_INHABITANTS",
    "TOWN_HALL_SOURCES",
    "accessibility_table",
    "age_factors",
    "build_accessibility",
    "catchment_problem",
    "catchment_sensitivity",
    "category_accessibility",
    "category_decay",
    "category_e2sfca",
    "compare_rankings",
    "decay_from_config",
    "e2sfca",
    "expected_step_weights",
    "flat_decay",
    "gaussian_decay",
    "housing_accessibility",
    "intra_commune_legs",
    "linear_decay",
    "prepare_inputs",
    "smoothed_step_decay",
    "solve_catchment",
    "step_decay",
]


class _CallableModule(types.ModuleType):
    """The subpackage, callable as :func:`~geoattract.accessibility.api.accessibility`."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run :func:`~geoattract.accessibility.api.accessibility`."""
        return accessibility(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
