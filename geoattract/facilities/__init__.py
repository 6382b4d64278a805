"""Stage 3, offer: the facility catalogue and its source adapters (BPE, point files, tables, OSM, housing)."""

from __future__ import annotations

from geoattract.facilities.catalogue import (
    MIN_SALES,
    PILLARS,
    Catalogue,
    Category,
    FacilityReport,
    Source,
    facilities_from_osm_online,
    facilities_from_pbf,
    housing_table,
    load_catalogue,
    load_facilities,
)
from geoattract.facilities.osm_features import (
    combined_tags,
    feature_ids,
    match_source,
    representative_points,
    tag_values,
)

__all__ = [
    "Catalogue",
    "Category",
    "FacilityReport",
    "MIN_SALES",
    "PILLARS",
    "Source",
    "combined_tags",
    "facilities_from_osm_online",
    "facilities_from_pbf",
    "feature_ids",
    "housing_table",
    "load_catalogue",
    "load_facilities",
    "match_source",
    "representative_points",
    "tag_values",
]
