"""Stage 6, population dynamics: population change, natural and migration balances, ageing, the study beside its neighbouring départements.

The pipeline calls :func:`build_demography`, which returns a :class:`Demography`. It ranks
beside the transition stage: it imports the territory and the core only.
"""

from __future__ import annotations

from geoattract.demography.compare import (
    MIN_COVERAGE,
    CompareSpec,
    TerritoryGroup,
    ratio_values,
    strengths_weaknesses,
)
from geoattract.demography.departements import (
    DEPARTEMENT_NAMES,
    departement_name,
    departement_of,
)
from geoattract.demography.rates import (
    COUNT_COLUMNS,
    RATE_COLUMNS,
    ageing_index,
    aggregate_counts,
    dynamics_rates,
    territory_rates,
)
from geoattract.demography.source import (
    AgeSpec,
    DemographySource,
    RatioIndicator,
    demography_source,
    read_ages,
    read_population,
    read_ratio,
)
from geoattract.demography.stage import (
    COMMUNE_COLUMNS,
    Demography,
    build_demography,
    commune_columns_info,
    commune_dynamics,
)

__all__ = [
    "COMMUNE_COLUMNS",
    "COUNT_COLUMNS",
    "DEPARTEMENT_NAMES",
    "MIN_COVERAGE",
    "RATE_COLUMNS",
    "AgeSpec",
    "CompareSpec",
    "Demography",
    "DemographySource",
    "RatioIndicator",
    "TerritoryGroup",
    "ageing_index",
    "aggregate_counts",
    "build_demography",
    "commune_columns_info",
    "commune_dynamics",
    "demography_source",
    "departement_name",
    "departement_of",
    "dynamics_rates",
    "ratio_values",
    "read_ages",
    "read_population",
    "read_ratio",
    "strengths_weaknesses",
    "territory_rates",
]
