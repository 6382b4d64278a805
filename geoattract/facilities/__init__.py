"""Stage 3, offer: the facility catalogue and its source adapters (BPE, point files, tables, OSM, housing)."""

from __future__ import annotations

from geoattract.facilities.catalogue import (
    Catalogue,
    Category,
    Source,
    load_catalogue,
)
from geoattract.facilities.catalogue_schema import FRANCE, PILLARS
from geoattract.facilities.catchment_spec import (
    CATCHMENT_METHODS,
    SENSITIVITY_VARIANTS,
    TIME_ERROR_MODELS,
    CatchmentSpec,
    ExtraSupply,
)
from geoattract.facilities.coverage import (
    Adjustment,
    CoverageReport,
    check_coverage,
    supply_by_source,
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
from geoattract.facilities.demand import (
    AgeStructureSource,
    age_structure_table,
    share_column,
)
from geoattract.facilities.housing import (
    MIN_SALES,
    HousingSources,
    PriceSource,
    SocialHousingSource,
    housing_sources,
    housing_table,
)
from geoattract.facilities.offer import Offer, build_offer, check_study_coverage, resolved_catalogue
from geoattract.facilities.osm import facilities_from_osm_online, facilities_from_pbf
from geoattract.facilities.osm_features import (
    combined_tags,
    feature_ids,
    match_source,
    representative_points,
    tag_values,
)
from geoattract.facilities.placement import FACILITY_COLUMNS, FacilityReport
from geoattract.facilities.sources import load_facilities

__all__ = [
    "APL_BREAKS_MIN",
    "Adjustment",
    "CoverageReport",
    "check_coverage",
    "check_study_coverage",
    "resolved_catalogue",
    "supply_by_source",
    "APL_WEIGHTS",
    "AgeStructureSource",
    "CATCHMENT_METHODS",
    "Catalogue",
    "CatchmentSpec",
    "Category",
    "FRANCE",
    "Decay",
    "ExtraSupply",
    "FACILITY_COLUMNS",
    "FacilityReport",
    "HousingSources",
    "MIN_SALES",
    "Offer",
    "PILLARS",
    "PriceSource",
    "SENSITIVITY_VARIANTS",
    "SocialHousingSource",
    "Source",
    "TIME_ERROR_MODELS",
    "age_structure_table",
    "build_offer",
    "combined_tags",
    "decay_from_config",
    "facilities_from_osm_online",
    "facilities_from_pbf",
    "feature_ids",
    "flat_decay",
    "gaussian_decay",
    "housing_sources",
    "housing_table",
    "linear_decay",
    "load_catalogue",
    "load_facilities",
    "match_source",
    "representative_points",
    "share_column",
    "step_decay",
    "tag_values",
]
