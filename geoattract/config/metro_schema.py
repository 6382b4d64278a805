"""Schema of the metropolitan reach of a study: ``[poles]``, ``[[rail_links]]``, ``[scenarios]``.

Read by :func:`geoattract.config.study.load_study_config` through :func:`validate_metropolitan`;
:mod:`geoattract.config.metro` turns the validated tables into a :class:`MetroSpec`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from geoattract.config.schema import (
    Field,
    non_negative,
    positive,
    positive_int,
    thresholds_field,
    validate,
)
from geoattract.errors import ConfigError

#: Roles of a pole of ``[poles]``: the metropoles a study measures its reach against, the
#: regional towns (nearest one per commune) and local towns (listed, not measured).
POLE_ROLES: tuple[str, ...] = ("metropole", "regional", "local")

#: Default thresholds (minutes) of the population within reach of each metropole.
METRO_THRESHOLDS_MIN: tuple[int, ...] = (30, 45, 60, 90)

#: Default threshold (minutes) of "population newly within reach" of a rail scenario.
METRO_REFERENCE_MIN = 60

#: Default transfer time (minutes) of a car + train trip: parking, walking to the platform and
#: waiting for a train whose time is known (no timetable wait), added once per trip.
RAIL_TRANSFER_MIN = 10.0

_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_UIC_RE = re.compile(r"^\d{8}$")


def _key(v: str) -> str | None:
    return None if _KEY_RE.match(v) else "must be lower-case letters, digits and '_'"


def _commune_code(v: str) -> str | None:
    return None if re.fullmatch(r"[0-9][0-9AB][0-9]{3}", v) else "must be a 5-character INSEE code"


def _station_ref(v: str) -> str | None:
    if _UIC_RE.match(v) or _KEY_RE.match(v):
        return None
    return "must be an 8-digit UIC code or the id of a scenario station"


#: One pole of ``[poles.<key>]``; the key names the columns (``time_<key>_min``).
POLE_SCHEMA: dict[str, Field] = {
    "code": Field(str, check=_commune_code, doc="INSEE code of the pole's commune"),
    "role": Field(str, choices=POLE_ROLES, doc="metropole, regional or local"),
    "label_fr": Field(str, doc="French name shown in outputs"),
}

#: One rail link of ``[[rail_links]]`` (or of a scenario's ``rail_links``).
RAIL_LINK_SCHEMA: dict[str, Field] = {
    "station": Field(
        str,
        check=_station_ref,
        doc="UIC code (8 digits) of a station of the station file, or a scenario station id",
    ),
    "pole": Field(str, doc="key of a pole of [poles] (a metropole or a regional or local town)"),
    "minutes": Field(
        float,
        check=positive,
        doc="fastest scheduled direct train, station to the pole's main station",
    ),
    "trains_per_weekday": Field(
        int, required=False, default=None, check=positive_int, doc="as published (unset: unknown)"
    ),
    "source": Field(str, doc="public timetable or document giving the figures"),
    "url": Field(str, required=False, default=""),
    "vintage": Field(str, doc="date of the timetable or document"),
    "note": Field(str, required=False, default=""),
}

#: A new station of a scenario (``[[scenarios.<name>.stations]]``).
SCENARIO_STATION_SCHEMA: dict[str, Field] = {
    "id": Field(str, check=_key, doc="identifier used by the scenario's rail links"),
    "name": Field(str, doc="French name"),
    "commune": Field(
        str, check=_commune_code, doc="commune of the station (placed at its town hall)"
    ),
    "x": Field(float, required=False, default=None, doc="Lambert-93 x, instead of the town hall"),
    "y": Field(float, required=False, default=None, doc="Lambert-93 y, instead of the town hall"),
    "source": Field(str, required=False, default=""),
}

#: A named scenario of ``[scenarios.<name>]``: rail links that replace the baseline link of the
#: same station and pole, or are added; new stations they may use.
SCENARIO_SCHEMA: dict[str, Field] = {
    "label_fr": Field(str, doc="French name of the scenario"),
    "description": Field(str, required=False, default=""),
    "stations": Field(list, items=dict, required=False, default=[]),
    "rail_links": Field(list, items=dict, required=False, default=[]),
}

#: ``[metropolitan]``: settings of the metropolitan reach (used when ``[poles]`` is set).
METROPOLITAN_SCHEMA: dict[str, Field] = {
    "thresholds_min": thresholds_field(
        METRO_THRESHOLDS_MIN, doc="population within these minutes of each metropole"
    ),
    "reference_min": Field(
        int,
        required=False,
        default=METRO_REFERENCE_MIN,
        check=positive_int,
        doc="threshold of the headline figures and of 'newly within reach' in scenarios",
    ),
    "transfer_min": Field(
        float,
        required=False,
        default=RAIL_TRANSFER_MIN,
        check=non_negative,
        doc="minutes added to every car + train trip (parking, platform, boarding; no "
        "timetable wait)",
    ),
    "communes": Field(
        str,
        required=False,
        default=None,
        doc="national commune file (layers communes, mairies), relative to the data folder: "
        "poles and map communes outside the territory",
    ),
    "station_category": Field(
        str,
        required=False,
        default="train_station",
        doc="catalogue category of the stations (facility_id = UIC code)",
    ),
    "title_fr": Field(str, required=False, default=None, doc="title of the report section"),
    "scenario": Field(
        str, required=False, default=None, doc="named scenario shown beside today in the report"
    ),
    "map_margin_km": Field(
        float, required=False, default=15.0, check=non_negative, doc="margin of the corridor map"
    ),
}


def _keyed_tables(
    doc: Mapping[str, Any], name: str, schema: Mapping[str, Field], source: Path
) -> dict[str, dict[str, Any]]:
    """Validate a table of named tables (``[poles.<key>]``, ``[scenarios.<key>]``)."""
    table = doc.get(name, {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"{source}: key '{name}' must be a table of tables, got {table!r}")
    out = {}
    for key, value in table.items():
        if _key(key) is not None or not isinstance(value, Mapping):
            raise ConfigError(
                f"{source}: '{name}.{key}' must be a table named with lower-case letters, "
                "digits and '_'"
            )
        out[key] = validate(value, schema, source, prefix=f"{name}.{key}.")
    return out


def _rail_links(links: list, prefix: str, poles: set[str], source: Path) -> list[dict[str, Any]]:
    out = []
    for i, link in enumerate(links):
        v = validate(link, RAIL_LINK_SCHEMA, source, prefix=f"{prefix}[{i}].")
        if v["pole"] not in poles:
            raise ConfigError(
                f"{source}: key '{prefix}[{i}].pole' names {v['pole']!r}, not a pole of "
                f"[poles] ({', '.join(sorted(poles)) or 'none'})"
            )
        out.append(v)
    return out


def validate_metropolitan(doc: Mapping[str, Any], source: Path) -> dict[str, Any]:
    """Validate ``[poles]``, ``[[rail_links]]`` and ``[scenarios]`` of a study file.

    Parameters
    ----------
    doc : mapping
        The parsed study file.
    source : Path
        The file, for messages.

    Returns
    -------
    dict
        ``poles``, ``rail_links`` and ``scenarios`` validated (empty when absent).

    Raises
    ------
    ConfigError
        Naming the dotted key: a pole, link or scenario key missing or of the wrong type, a
        link to a pole that is not in [poles], a link to an unknown scenario station.
    """
    poles = _keyed_tables(doc, "poles", POLE_SCHEMA, source)
    metropoles = {k for k, v in poles.items() if v["role"] == "metropole"}
    links = doc.get("rail_links", [])
    if not isinstance(links, list):
        raise ConfigError(f"{source}: key 'rail_links' must be an array of tables")
    if links and not metropoles:
        raise ConfigError(f"{source}: [[rail_links]] given but [poles] declares no metropole")
    out_links = _rail_links(links, "rail_links", set(poles), source)
    for i, link in enumerate(out_links):
        if _UIC_RE.match(link["station"]) is None:
            raise ConfigError(
                f"{source}: key 'rail_links[{i}].station' must be an 8-digit UIC code, got "
                f"{link['station']!r}"
            )
    scenarios = _keyed_tables(doc, "scenarios", SCENARIO_SCHEMA, source)
    for name, sc in scenarios.items():
        sc["stations"] = [
            validate(s, SCENARIO_STATION_SCHEMA, source, prefix=f"scenarios.{name}.stations[{i}].")
            for i, s in enumerate(sc["stations"])
        ]
        new = {s["id"] for s in sc["stations"]}
        sc["rail_links"] = _rail_links(
            sc["rail_links"], f"scenarios.{name}.rail_links", set(poles), source
        )
        for i, link in enumerate(sc["rail_links"]):
            if _UIC_RE.match(link["station"]) is None and link["station"] not in new:
                raise ConfigError(
                    f"{source}: key 'scenarios.{name}.rail_links[{i}].station' names "
                    f"{link['station']!r}, neither a UIC code nor a station of the scenario"
                )
    return {"poles": poles, "rail_links": out_links, "scenarios": scenarios}


#: Top-level keys of the metropolitan reach, validated by :func:`validate_metropolitan`.
METRO_KEYS: tuple[str, ...] = ("poles", "rail_links", "scenarios")
