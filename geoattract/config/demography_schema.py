"""Schema of the population source of a study: ``[demography]`` of the study file.

The population dynamics stage (:mod:`geoattract.demography`) reads one INSEE commune table
holding two census populations and the births and deaths of some years (the *comparateur de
territoires* or the *dossier complet* of INSEE, or any table with the same fields), optionally
the age groups (``[demography.ages]``, from the same table or another one), and the ratios
compared between the study and its reference départements (``[[demography.indicators]]``).

Every key is optional: without ``source`` the study has no population dynamics and the report
says "non disponible". Column names default to INSEE's own (``P21_POP``, ``P15_POP``,
``NAIS1520``, ``DECE1520``) derived from ``census_years``.
"""

from __future__ import annotations

from geoattract.config.schema import Field, dep_code, positive

#: Directions of a compared indicator.
DIRECTIONS: tuple[str, ...] = ("higher_is_better", "lower_is_better")

#: Keyword of ``denominator``: the population of the later census of the main source.
POPULATION_DENOMINATOR = "population"


def _census_years(v: list) -> str | None:
    if len(v) != 2 or not v[0] < v[1]:
        return "must be two increasing census years [start, end]"
    return None


def _vital_years(v: list) -> str | None:
    if len(v) != 2 or v[0] > v[1]:
        return "must be [first, last] calendar years of the births and deaths (first <= last)"
    return None


def _two_columns(v: list) -> str | None:
    return None if len(v) == 2 else "must name two columns: [start census, end census]"


def _deps(v: list) -> str | None:
    bad = [d for d in v if dep_code(d)]
    return f"must be département codes such as '47' or '2A' ({bad})" if bad else None


def _non_empty(v: list) -> str | None:
    return None if v else "must name at least one column"


def _key(v: str) -> str | None:
    ok = v[:1].isalpha() and v.replace("_", "").isalnum() and v.isascii() and v == v.lower()
    return None if ok else "must be lower-case ASCII letters, digits and '_'"


#: ``[demography.ages]``: the age groups of the ageing index.
AGES_SCHEMA: dict[str, Field] = {
    "source": Field(
        str,
        required=False,
        default=None,
        doc="table of the age groups, relative to the data folder (default: the main source)",
    ),
    "code_column": Field(str, required=False, default=None, doc="INSEE code column"),
    "young_columns": Field(
        list, items=str, check=_non_empty, doc="columns summed into the young age group"
    ),
    "old_columns": Field(
        list, items=str, check=_non_empty, doc="columns summed into the old age group"
    ),
    "young_max_age": Field(int, doc="oldest age of the young group (19 for INSEE's index)"),
    "old_min_age": Field(int, doc="youngest age of the old group (65 for INSEE's index)"),
    "kind": Field(
        str,
        required=False,
        default="count",
        choices=("count", "share"),
        doc="'count' (people) or 'share' (% of the population)",
    ),
    "vintage": Field(str, required=False, default=""),
    "name": Field(str, required=False, default="", doc="source name shown in the outputs"),
}

#: One ``[[demography.indicators]]`` entry: a ratio of sums compared between territories.
INDICATOR_SCHEMA: dict[str, Field] = {
    "id": Field(str, check=_key, doc="short key of the indicator"),
    "label_fr": Field(str, doc="French label, lower case (« taux de chômage des 15-64 ans »)"),
    "numerator": Field(list, items=str, check=_non_empty, doc="columns summed as numerator"),
    "denominator": Field(
        str,
        doc="column of the same source, or 'population' (later census of the main source)",
    ),
    "scale": Field(float, required=False, default=1.0, check=positive, doc="100 for a %"),
    "unit": Field(str, required=False, default=""),
    "direction": Field(str, choices=DIRECTIONS),
    "source": Field(
        str, required=False, default=None, doc="table relative to the data folder (default: main)"
    ),
    "code_column": Field(str, required=False, default=None),
    "absent_is_zero": Field(
        bool,
        required=False,
        default=False,
        doc="a commune absent from the source counts 0 (lists of communes that have some)",
    ),
    "blank_is_zero": Field(
        bool,
        required=False,
        default=False,
        doc="a blank cell of a listed commune counts 0 (sources that leave zero counts empty)",
    ),
    "name": Field(str, required=False, default="", doc="source name shown in the outputs"),
    "vintage": Field(str, required=False, default=""),
    "decimals": Field(int, required=False, default=1),
}


#: ``[demography]`` of the study file (every key optional: no ``source``, no dynamics).
DEMOGRAPHY_SCHEMA: dict[str, Field] = {
    "source": Field(
        str,
        required=False,
        default=None,
        doc="INSEE commune table (comparateur de territoires, dossier complet), relative to the "
        "data folder; absent: no population dynamics",
    ),
    "name": Field(str, required=False, default="INSEE", doc="source name shown in the outputs"),
    "vintage": Field(str, required=False, default="", doc="edition and years of the source"),
    "licence": Field(str, required=False, default=""),
    "coverage": Field(
        list,
        items=str,
        required=False,
        default=None,
        check=_deps,
        doc="départements whose communes the source holds completely",
    ),
    "code_column": Field(str, required=False, default="CODGEO"),
    "departement_column": Field(
        str, required=False, default=None, doc="département code column (default: from the code)"
    ),
    "census_years": Field(
        list, items=int, required=False, default=None, check=_census_years, doc="[start, end]"
    ),
    "population_columns": Field(
        list,
        items=str,
        required=False,
        default=None,
        check=_two_columns,
        doc="populations at the two censuses (default INSEE's P15_POP, P21_POP)",
    ),
    "vital_years": Field(
        list,
        items=int,
        required=False,
        default=None,
        check=_vital_years,
        doc="first and last calendar years the births and deaths cover (default: the census "
        "interval, start to end - 1)",
    ),
    "births_column": Field(str, required=False, default=None, doc="default INSEE's NAIS1520"),
    "deaths_column": Field(str, required=False, default=None, doc="default INSEE's DECE1520"),
    "households_column": Field(str, required=False, default=None),
    "reference_departements": Field(
        list,
        items=str,
        required=False,
        default=None,
        check=_deps,
        doc="départements shown beside the study (default: the covered départements of the "
        "buffer zone)",
    ),
    "ages": Field(dict, required=False, default=None, schema=AGES_SCHEMA),
    "indicators": Field(
        list,
        items=dict,
        required=False,
        default=[],
        doc="ratios of sums compared between the study and the reference départements (each "
        "table checked against INDICATOR_SCHEMA by geoattract.demography.demography_source)",
    ),
}
