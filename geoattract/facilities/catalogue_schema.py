"""Schema of the facility catalogue (``facilities.toml``): its constants, tables and checks.

:func:`geoattract.facilities.catalogue.load_catalogue` validates a catalogue with these schemas
(:func:`geoattract.config.validate`) and builds its :class:`~geoattract.facilities.Catalogue`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from geoattract import settings
from geoattract.config.schema import Field, thresholds_field

#: File name of the catalogue in a study's configuration folder.
CATALOGUE_FILE: str = "facilities.toml"

#: Pillars of the attractiveness score a category can feed.
PILLARS: tuple[str, ...] = ("services", "health", "culture", "housing", "transition")

#: Source types a category can list.
SOURCE_TYPES: tuple[str, ...] = ("bpe", "points", "table", "counts", "osm")

#: Source types read from the data folder (``source="files"``).
FILE_SOURCE_TYPES: tuple[str, ...] = ("bpe", "points", "table", "counts")

#: Source types that are per-commune counts of the study département only: a category using
#: one of them does not cover the buffer unless the catalogue says otherwise.
STUDY_ONLY_SOURCE_TYPES: tuple[str, ...] = ("bpe", "counts")

#: ``coverage`` of a source that holds every département of metropolitan France.
FRANCE: str = "france"

#: ``coverage`` of a source whose catalogue declares none (an older catalogue): taken as
#: covering every département, with a warning; its category keeps the old default
#: ``covers_buffer = false`` when the source is a BPE or count table.
UNDECLARED: str = "undeclared"

#: ``adjust`` value computing a source's vintage factor from a département it shares with the
#: sources listed before it.
ADJUST_OVERLAP: str = "overlap"

#: Default field separator of the BPE tables (INSEE publishes them with ";").
BPE_SEP: str = ";"

#: Default E2SFCA decay: the three-zone weights of Luo & Qi (2009, Health & Place 15,
#: 1100-1107), 1.00 / 0.68 / 0.22 for 0-10 / 10-20 / 20-30 minutes.
DEFAULT_DECAY: dict[str, Any] = {
    "type": "step",
    "breaks_min": [10.0, 20.0, 30.0],
    "weights": [1.0, 0.68, 0.22],
}


# --------------------------------------------------------------------------- data model


def check_tag_spec(v: Mapping) -> str | None:
    """Check OSM tag filters map each key to true, a string or a list of strings."""
    for key, values in v.items():
        if values is True or isinstance(values, str):
            continue
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(x, str) for x in values)
        ):
            return f"must map each OSM key to true, a string or a non-empty list of strings (key {key!r})"
    return None


FILTER_SCHEMA = {
    "column": Field(str, doc="column to filter on"),
    "values": Field(list, doc="values kept"),
}

DECAY_SCHEMA = {
    "type": Field(str, choices=("apl", "step", "flat", "linear", "gaussian")),
    "breaks_min": Field(list, required=False, default=None, items=float),
    "weights": Field(list, required=False, default=None, items=float),
    "catchment_min": Field(float, required=False, default=None),
    "sigma_min": Field(float, required=False, default=None),
}


def check_coverage_value(v: Any) -> str | None:
    """Check a ``coverage``: ``"france"`` or a list of département codes."""
    if isinstance(v, str):
        return None if v == FRANCE else f'must be "{FRANCE}" or a list of département codes'
    bad = [d for d in v if not isinstance(d, str) or len(d) not in (2, 3)]
    if not v or bad:
        return f'must be "{FRANCE}" or a non-empty list of département codes such as "47"'
    return None


def check_adjust(v: Any) -> str | None:
    """Check a vintage adjustment: a factor > 0 or ``"overlap"``."""
    if isinstance(v, str):
        return None if v == ADJUST_OVERLAP else f'must be a factor > 0 or "{ADJUST_OVERLAP}"'
    return None if v > 0 else f'must be a factor > 0 or "{ADJUST_OVERLAP}"'


def check_factors(v: Mapping) -> str | None:
    """Check per-département vintage factors are numbers > 0."""
    for key, value in v.items():
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            return f"must map département codes to factors > 0 (key {key!r})"
    return None


#: Keys every file source may carry: what it covers, when, and its vintage adjustment.
COVERAGE_FIELDS: dict[str, Field] = {
    "coverage": Field(
        (list, str),
        required=False,
        default=None,
        check=check_coverage_value,
        doc='départements the source holds completely, or "france"',
    ),
    "vintage": Field(str, required=False, default=None, doc="year(s) the data describe"),
    "adjust": Field(
        (float, str),
        required=False,
        default=None,
        check=check_adjust,
        doc='capacity factor of an older vintage, or "overlap": the ratio of the sources '
        "listed before it to this one over the départements both cover",
    ),
    "adjust_departements": Field(
        dict, required=False, default={}, check=check_factors, doc="factor per département"
    ),
}

SOURCE_SCHEMAS: dict[str, dict[str, Field]] = {
    "bpe": {
        "type": Field(str),
        "typequ": Field(list, items=str, doc="INSEE BPE TYPEQU codes (summed)"),
    },
    "points": {
        "type": Field(str),
        "file": Field(str, doc="point layer, relative to the data folder"),
        "filter": Field(dict, required=False, default=None, schema=FILTER_SCHEMA),
        "capacity_column": Field(str, required=False, default=None),
        "code_column": Field(
            str, required=False, default=None, doc="commune code; spatial join when absent"
        ),
        "id_column": Field(str, required=False, default=None),
        "name_column": Field(str, required=False, default=None),
    },
    "table": {
        "type": Field(str),
        "file": Field(str, doc="CSV of facilities without coordinates, placed at the town hall"),
        "code_column": Field(str),
        "id_column": Field(str),
        "name_column": Field(str, required=False, default=None),
        "year_column": Field(str, required=False, default=None),
        "capacity_column": Field(str, required=False, default=None),
        "latest_only": Field(
            bool,
            required=False,
            default=True,
            doc="keep the latest year of each id; drop ids absent from the file's latest year",
        ),
        "filter": Field(dict, required=False, default=None, schema=FILTER_SCHEMA),
    },
    "counts": {
        "type": Field(str),
        "file": Field(str, doc="CSV of counts per commune"),
        "code_column": Field(str),
        "count_column": Field(str),
        "filter": Field(dict, required=False, default=None, schema=FILTER_SCHEMA),
    },
    "osm": {
        "type": Field(str),
        "tags": Field(dict, check=check_tag_spec, doc="OR-ed OSM tags"),
        "require": Field(dict, required=False, default={}, check=check_tag_spec),
        "exclude": Field(dict, required=False, default={}, check=check_tag_spec),
    },
}

for _stype, _schema in SOURCE_SCHEMAS.items():
    if _stype in FILE_SOURCE_TYPES:
        _schema.update(COVERAGE_FIELDS)

CATEGORY_SCHEMA = {
    "id": Field(str, required=False, default=None, doc="defaults to the table name"),
    "pillar": Field(str, choices=PILLARS),
    "label_fr": Field(str),
    "label_en": Field(str),
    "sources": Field(list, items=dict),
    "capacity": Field(
        str, required=False, default="count", doc='"count" or the unit of the capacity columns'
    ),
    "thresholds_min": thresholds_field(settings.thresholds_min),
    "decay": Field(dict, required=False, default=DEFAULT_DECAY, schema=DECAY_SCHEMA),
    "optional": Field(bool, required=False, default=False),
    "covers_buffer": Field(bool, required=False, default=None),
    "description": Field(str, required=False, default=""),
    "catchment": Field(
        dict,
        required=False,
        default=None,
        doc="catchment method (geoattract.facilities.catchment_spec)",
    ),
}

CATALOGUE_SCHEMA = {
    "bpe": Field(
        dict,
        required=False,
        default={},
        schema={
            "files": Field(list, items=str, doc="BPE count tables, relative to the data folder"),
            "code_files": Field(list, items=str, doc="TYPEQU code lists (code;libelle)"),
            "code_column": Field(str, doc="commune code column of the BPE tables"),
            "sep": Field(str, required=False, default=BPE_SEP),
            "coverage": COVERAGE_FIELDS["coverage"],
            "vintage": COVERAGE_FIELDS["vintage"],
        },
    ),
    "coverage": Field(
        dict,
        required=False,
        default={},
        doc="coverage and vintage of the files the sources name: file = {departements, vintage}",
    ),
    "housing": Field(
        dict, required=False, default=None, doc="housing files (geoattract.facilities.housing)"
    ),
    "age_structure": Field(
        dict,
        required=False,
        default=None,
        doc="age shares per commune (geoattract.facilities.demand)",
    ),
    "categories": Field(dict),
}


FILE_COVERAGE_SCHEMA = {
    "departements": COVERAGE_FIELDS["coverage"],
    "vintage": COVERAGE_FIELDS["vintage"],
}
