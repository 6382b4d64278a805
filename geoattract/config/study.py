"""Study configuration: safe TOML loading and validation.

Every configuration file in ``data/`` is plain TOML, read with :mod:`tomllib` (no code
execution) and checked against a small schema: unknown keys, missing keys and values of the
wrong type raise :class:`~geoattract.errors.ConfigError` naming the file, the dotted key and
the expected type.

The study file (``data/lot-et-garonne.toml``) is described by :data:`STUDY_SCHEMA`; later
stages (catalogue, indicators, scoring) declare their own schemas with :class:`Field` and
validate them with :func:`validate`.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geoattract import settings
from geoattract._util.io import resolve_data_dir
from geoattract.config.territory import TERRITORY_SOURCES, TerritorySpec, territory_spec
from geoattract.errors import ConfigError, DataNotFoundError

_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    list: "a list",
    dict: "a table",
}


#: One accepted type or a tuple of them.
TypeSpec = type | tuple[type, ...]


@dataclass(frozen=True)
class Field:
    """One key of a configuration schema.

    Parameters
    ----------
    type : type or tuple of types
        Accepted Python type(s) after TOML parsing. ``float`` also accepts integers.
    required : bool
        Whether the key must be present.
    default : Any
        Value used when the key is absent and not required.
    choices : tuple, optional
        Allowed values.
    check : callable, optional
        Extra predicate; returns an error message (str) or ``None``.
    items : type, optional
        For lists: the type of every item.
    schema : mapping, optional
        For tables: the nested schema.
    doc : str
        What the key means (shown in errors and documentation).
    """

    type: TypeSpec
    required: bool = True
    default: Any = None
    choices: tuple | None = None
    check: Callable[[Any], str | None] | None = None
    items: TypeSpec | None = None
    schema: Mapping[str, Field] | None = None
    doc: str = ""


#: Longest value representation quoted in an error message.
MAX_REPR = 120


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_REPR else text[: MAX_REPR - 1] + "…"


def _type_name(t: type | tuple[type, ...]) -> str:
    if isinstance(t, tuple):
        return " or ".join(_type_name(x) for x in t)
    return _TYPE_NAMES.get(t, t.__name__)


def _is_instance(value: Any, t: type | tuple[type, ...]) -> bool:
    types = t if isinstance(t, tuple) else (t,)
    for ty in types:
        if ty is float and isinstance(value, int | float) and not isinstance(value, bool):
            return True
        if ty is int and isinstance(value, bool):
            continue
        if isinstance(value, ty):
            return True
    return False


def validate(
    doc: Mapping[str, Any],
    schema: Mapping[str, Field],
    source: str | os.PathLike = "<config>",
    prefix: str = "",
    allow_extra: bool = False,
) -> dict[str, Any]:
    """Check ``doc`` against ``schema`` and return a copy with defaults filled in.

    Parameters
    ----------
    doc : mapping
        Parsed TOML.
    schema : mapping of str to Field
        Expected keys.
    source : path-like
        File name for error messages.
    prefix : str
        Dotted path of ``doc`` inside the file (for nested tables).
    allow_extra : bool
        Keep unknown keys instead of rejecting them.

    Raises
    ------
    ConfigError
        On an unknown key, a missing key, a wrong type or a value outside ``choices``.
    """
    out: dict[str, Any] = {}
    unknown = sorted(set(doc) - set(schema))
    if unknown and not allow_extra:
        raise ConfigError(
            f"{source}: unknown key(s) {', '.join(prefix + k for k in unknown)}; "
            f"expected keys in [{prefix.rstrip('.') or 'top level'}]: {', '.join(sorted(schema))}"
        )
    for key, fld in schema.items():
        dotted = prefix + key
        if key not in doc:
            if fld.required:
                raise ConfigError(
                    f"{source}: missing key '{dotted}' ({_type_name(fld.type)}){': ' + fld.doc if fld.doc else ''}"
                )
            out[key] = fld.default
            continue
        out[key] = _check_value(doc[key], fld, source, dotted)
    if allow_extra:
        for k in unknown:
            out[k] = doc[k]
    return out


def _check_value(value: Any, fld: Field, source: str | os.PathLike, dotted: str) -> Any:
    """Check one present value against its field; return it (nested tables validated)."""
    if not _is_instance(value, fld.type):
        raise ConfigError(
            f"{source}: key '{dotted}' must be {_type_name(fld.type)}, "
            f"got {type(value).__name__} {_short(value)}"
        )
    if fld.items is not None and isinstance(value, list):
        for i, item in enumerate(value):
            if not _is_instance(item, fld.items):
                raise ConfigError(
                    f"{source}: key '{dotted}[{i}]' must be {_type_name(fld.items)}, got {item!r}"
                )
    if fld.choices is not None and value not in fld.choices:
        raise ConfigError(
            f"{source}: key '{dotted}' must be one of {list(fld.choices)}, got {value!r}"
        )
    if fld.schema is not None and isinstance(value, Mapping):
        value = validate(value, fld.schema, source, prefix=dotted + ".")
    if fld.check is not None:
        msg = fld.check(value)
        if msg:
            raise ConfigError(f"{source}: key '{dotted}' {msg}, got {value!r}")
    if isinstance(value, float | int) and not isinstance(value, bool) and fld.type is float:
        value = float(value)
    return value


def load_toml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a TOML file safely.

    Raises
    ------
    DataNotFoundError
        If the file does not exist.
    ConfigError
        If it is not valid TOML (the message carries the parser's line and column).
    """
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"configuration file not found: {p}")
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: malformed TOML: {exc}") from exc


def _positive(v: float) -> str | None:
    return None if v > 0 else "must be > 0"


def _non_negative(v: float) -> str | None:
    return None if v >= 0 else "must be >= 0"


def _dep_code(v: str) -> str | None:
    return (
        None
        if (len(v) in (2, 3) and v[:2].isalnum())
        else "must be a département code such as '47' or '2A'"
    )


def check_thresholds(v: list) -> str | None:
    """Field check: a non-empty, strictly increasing list of positive minutes."""
    if not v:
        return "must not be empty"
    if any(x <= 0 for x in v) or sorted(v) != list(v) or len(set(v)) != len(v):
        return "must be strictly increasing positive minutes"
    return None


def _sources(v: list) -> str | None:
    for i, item in enumerate(v):
        missing = {"name", "vintage"} - set(item)
        if missing:
            return f"entry {i} lacks {sorted(missing)} (each source needs name, vintage, licence)"
    return None


STUDY_SCHEMA: dict[str, Field] = {
    "sources": Field(
        list,
        items=dict,
        required=False,
        default=[],
        check=_sources,
        doc="data sources and vintages shown in the report",
    ),
    "study": Field(
        dict,
        schema={
            "name": Field(str, doc="study name shown in reports"),
            "departement": Field(
                str,
                required=False,
                default=None,
                check=_dep_code,
                doc="INSEE code of the study département (shorthand of [territory] departements)",
            ),
            "data_subdir": Field(str, doc="sub-folder of the shared data folder"),
            "buffer_km": Field(
                float,
                required=False,
                default=settings.buffer_m / 1000,
                check=_non_negative,
                doc="neighbouring communes within this distance form the buffer zone",
            ),
            "crs": Field(str, required=False, default=settings.default_crs),
            "output_dir": Field(
                str,
                required=False,
                default="maps",
                doc="output folder, relative to the current folder",
            ),
            "thresholds_min": Field(
                list,
                items=int,
                required=False,
                default=list(settings.thresholds_min),
                check=check_thresholds,
            ),
            "town_hall_tolerance_m": Field(
                float, required=False, default=settings.town_hall_tolerance_m, check=_non_negative
            ),
        },
    ),
    "inputs": Field(
        dict,
        required=False,
        default=None,
        schema={
            "departements": Field(
                list,
                items=str,
                required=False,
                default=None,
                doc="départements whose communes the files hold completely (the territory is "
                "read from them only when they cover the study and its buffer)",
            ),
            "communes": Field(str, doc="commune polygons (code, nom)"),
            "town_halls": Field(str, doc="town-hall points (code)"),
            "population": Field(str, doc="legal population (code, population)"),
            "epci": Field(str, doc="commune → EPCI table (code_commune, epci_code, epci_nom)"),
            "departement_outline": Field(str, required=False, default=None),
        },
    ),
}


@dataclass
class StudyConfig:
    """A validated study configuration.

    Attributes
    ----------
    path : Path
        The TOML file it was read from.
    data_dir : Path
        Resolved data folder.
    raw : dict
        The whole validated document, including sections later stages read.
    """

    path: Path
    data_dir: Path
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def study(self) -> dict[str, Any]:
        """The ``[study]`` section."""
        return self.raw["study"]

    @property
    def name(self) -> str:
        """Study name."""
        return self.study["name"]

    @property
    def territory(self) -> TerritorySpec:
        """The study territory (``[territory]``, or the ``[study] departement`` shorthand)."""
        return territory_spec(self.section("territory"), self.study.get("departement"), self.path)

    @property
    def departement(self) -> str | None:
        """INSEE code of the study département; None when the territory is not one département."""
        spec = self.territory
        if spec.kind == "departements" and len(spec.codes) == 1:
            return spec.codes[0]
        return None

    @property
    def has_inputs(self) -> bool:
        """Whether the study has its own ``[inputs]`` territory files."""
        return bool(self.raw.get("inputs"))

    @property
    def crs(self) -> str:
        """Working CRS."""
        return self.study["crs"]

    @property
    def buffer_m(self) -> float:
        """Buffer distance in metres."""
        return self.study["buffer_km"] * 1000.0

    @property
    def thresholds_min(self) -> list[int]:
        """Travel-time thresholds in minutes."""
        return list(self.study["thresholds_min"])

    def input_path(self, key: str) -> Path:
        """Absolute path of the input file named ``inputs.<key>``."""
        rel = (self.raw.get("inputs") or {}).get(key)
        if rel is None:
            raise ConfigError(f"{self.path}: no input file configured for 'inputs.{key}'")
        return self.data_dir / rel

    def section(self, name: str) -> dict[str, Any]:
        """A top-level section other stages declare (empty dict when absent)."""
        return dict(self.raw.get(name, {}))

    def with_section(self, name: str, **values: Any) -> StudyConfig:
        """A copy with keys of one section replaced (e.g. ``with_section("network", source=…)``).

        Raises
        ------
        ConfigError
            An unknown section or key.
        """
        schema = SECTION_SCHEMAS.get(name)
        if schema is None:
            raise ConfigError(f"{self.path}: no section [{name}] can be overridden")
        unknown = sorted(set(values) - set(schema))
        if unknown:
            raise ConfigError(
                f"{self.path}: unknown key(s) {', '.join(f'{name}.{k}' for k in unknown)}"
            )
        merged = {k: v for k, v in {**self.section(name), **values}.items() if v is not None}
        section = validate(merged, schema, self.path, prefix=name + ".")
        raw = {**self.raw, name: section}
        return StudyConfig(path=self.path, data_dir=self.data_dir, raw=raw)

    def config_file(self, key: str) -> Path:
        """Path of a companion configuration file named in ``[configs]`` (relative to this file)."""
        rel = self.raw.get("configs", {}).get(key)
        if rel is None:
            raise ConfigError(f"{self.path}: no companion file configured for 'configs.{key}'")
        return (self.path.parent / rel).resolve()


def _at_least_one(v: float) -> str | None:
    return None if v >= 1.0 else "must be >= 1"


def _positive_int(v: int) -> str | None:
    return None if v > 0 else "must be > 0"


def _min_draws(v: int) -> str | None:
    return None if v >= MIN_MONTECARLO_DRAWS else f"must be >= {MIN_MONTECARLO_DRAWS}"


#: Fewest Monte Carlo draws accepted (quantiles 5 % / 95 % need a few dozen).
MIN_MONTECARLO_DRAWS = 20

#: Defaults of the stage sections of the study file (also used by the pipeline).
HOUSING_THRESHOLD_MIN = 20
EV_THRESHOLD_MIN = 15
RAIL_CATCHMENT_MIN = 45

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
    "pole": Field(str, doc="key of a metropole of [poles]"),
    "minutes": Field(
        float, check=_positive, doc="fastest scheduled train, station to the pole's main station"
    ),
    "trains_per_weekday": Field(
        int, required=False, default=None, check=_positive_int, doc="as published (unset: unknown)"
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
    "thresholds_min": Field(
        list,
        items=int,
        required=False,
        default=list(METRO_THRESHOLDS_MIN),
        check=check_thresholds,
        doc="population within these minutes of each metropole",
    ),
    "reference_min": Field(
        int,
        required=False,
        default=METRO_REFERENCE_MIN,
        check=_positive_int,
        doc="threshold of the headline figures and of 'newly within reach' in scenarios",
    ),
    "transfer_min": Field(
        float,
        required=False,
        default=RAIL_TRANSFER_MIN,
        check=_non_negative,
        doc="minutes added to every car + train trip (parking, platform, wait)",
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
        float, required=False, default=15.0, check=_non_negative, doc="margin of the corridor map"
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


def _rail_links(
    links: list, prefix: str, metropoles: set[str], source: Path
) -> list[dict[str, Any]]:
    out = []
    for i, link in enumerate(links):
        v = validate(link, RAIL_LINK_SCHEMA, source, prefix=f"{prefix}[{i}].")
        if v["pole"] not in metropoles:
            raise ConfigError(
                f"{source}: key '{prefix}[{i}].pole' names {v['pole']!r}, not a metropole of "
                f"[poles] ({', '.join(sorted(metropoles)) or 'none'})"
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
        link to a pole that is not a metropole, a link to an unknown scenario station.
    """
    poles = _keyed_tables(doc, "poles", POLE_SCHEMA, source)
    metropoles = {k for k, v in poles.items() if v["role"] == "metropole"}
    links = doc.get("rail_links", [])
    if not isinstance(links, list):
        raise ConfigError(f"{source}: key 'rail_links' must be an array of tables")
    if links and not metropoles:
        raise ConfigError(f"{source}: [[rail_links]] given but [poles] declares no metropole")
    out_links = _rail_links(links, "rail_links", metropoles, source)
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
            sc["rail_links"], f"scenarios.{name}.rail_links", metropoles, source
        )
        for i, link in enumerate(sc["rail_links"]):
            if _UIC_RE.match(link["station"]) is None and link["station"] not in new:
                raise ConfigError(
                    f"{source}: key 'scenarios.{name}.rail_links[{i}].station' names "
                    f"{link['station']!r}, neither a UIC code nor a station of the scenario"
                )
    return {"poles": poles, "rail_links": out_links, "scenarios": scenarios}


#: Sections of the study file read by the later stages, with their keys.
SECTION_SCHEMAS: dict[str, dict[str, Field]] = {
    "configs": {
        "catalogue": Field(str, required=False, default="facilities.toml"),
        "indicators": Field(str, required=False, default="indicators.toml"),
        "scoring": Field(str, required=False, default="scoring.toml"),
        "places": Field(
            str,
            required=False,
            default=None,
            doc="places the national indicators time (préfectures, regional capitals, Paris)",
        ),
    },
    "territory": {
        "departements": Field(list, items=str, required=False, default=None),
        "epci": Field(list, items=str, required=False, default=None),
        "communes": Field(list, items=str, required=False, default=None),
        "france": Field(bool, required=False, default=None),
        "source": Field(str, required=False, default="auto", choices=TERRITORY_SOURCES),
        "communes_file": Field(
            str,
            required=False,
            default=None,
            doc="national commune file (layers communes, mairies), relative to the data folder",
        ),
    },
    "partitions": {
        "enabled": Field(
            bool,
            required=False,
            default=False,
            doc="run the study as a national job partitioned by département (dask)",
        ),
        "by": Field(str, required=False, default="departement", choices=("departement",)),
        "radius_min": Field(
            float,
            required=False,
            default=None,
            check=_positive,
            doc="initial radius of a partition's buffer in travel time (default: twice the "
            "largest E2SFCA catchment, at least the largest count threshold)",
        ),
        "max_widenings": Field(int, required=False, default=6, check=_non_negative),
    },
    "dask": {
        "workers": Field(int, required=False, default=2, check=_positive_int),
        "threads_per_worker": Field(int, required=False, default=1, check=_positive_int),
        "memory_limit": Field(str, required=False, default="auto"),
        "retries": Field(int, required=False, default=1, check=_non_negative),
    },
    "network": {
        "source": Field(
            str,
            required=False,
            default="schematic",
            doc="'schematic', 'online' or an OSM file (.osm.pbf, .osm, .graphml, .gpkg)",
        ),
        "snap_max_distance_m": Field(float, required=False, default=None, check=_positive),
        "snap_speed_kph": Field(float, required=False, default=None, check=_positive),
        "schematic_snap_max_distance_m": Field(
            float, required=False, default=None, check=_positive
        ),
        "schematic_snap_speed_kph": Field(float, required=False, default=None, check=_positive),
        "snap_detour": Field(float, required=False, default=None, check=_at_least_one),
        "preset": Field(
            str,
            required=False,
            default=None,
            doc="line-layer preset (travelmapping, bdtopo, route500); detected when absent",
        ),
        "calibration": Field(
            str,
            required=False,
            default=None,
            doc="line-layer calibration: 'none', or a calibration TOML (relative to the data "
            "folder); the preset's shipped calibration when absent",
        ),
        "schematic_snap_detour": Field(float, required=False, default=None, check=_at_least_one),
        "schematic_poles": Field(
            list,
            items=str,
            required=False,
            default=None,
            doc="commune codes of the prefecture and sub-prefectures: links of the schematic "
            "network touching them are at least 'secondary' (default: the most populous "
            "study communes)",
        ),
    },
    "accessibility": {
        "housing_threshold_min": Field(
            int, required=False, default=HOUSING_THRESHOLD_MIN, check=_positive_int
        ),
    },
    "transition": {
        "ev_threshold_min": Field(
            int, required=False, default=EV_THRESHOLD_MIN, check=_positive_int
        ),
        "rail_catchment_min": Field(
            float, required=False, default=RAIL_CATCHMENT_MIN, check=_positive
        ),
    },
    "scoring": {
        "montecarlo_draws": Field(int, required=False, default=None, check=_min_draws),
        "sensitivity_draws": Field(int, required=False, default=None, check=_min_draws),
        "seed": Field(int, required=False, default=None),
    },
    "metropolitan": METROPOLITAN_SCHEMA,
    "maps": {
        "isochrone_communes": Field(list, items=str, required=False, default=None),
        "isochrone_shape": Field(
            str,
            required=False,
            default="area",
            choices=("area", "band"),
            doc="isochrones drawn as the area within reach (holes below isochrone_hole_max_km2 "
            "filled) or as the band along the reached roads",
        ),
        "isochrone_resolution_m": Field(
            float,
            required=False,
            default=None,
            check=_positive,
            doc="grid step of the isochrone polygons (default geoattract.routing.GRID_RESOLUTION_M)",
        ),
        "isochrone_hole_max_km2": Field(
            float,
            required=False,
            default=None,
            check=_non_negative,
            doc="holes smaller than this are filled in the 'area' shape (default "
            "geoattract.routing.HOLE_MAX_KM2)",
        ),
        "tiles": Field(
            str,
            required=False,
            default=None,
            doc="background tiles of the interactive maps (e.g. 'OpenStreetMap'); none by "
            "default: the offline basemap drawn from the data",
        ),
    },
}


#: Top-level keys of the metropolitan reach, validated by :func:`validate_metropolitan`.
METRO_KEYS: tuple[str, ...] = ("poles", "rail_links", "scenarios")


def shipped_studies() -> list[str]:
    """Names of the study configurations shipped inside the package."""
    folder = settings.studies_folder
    return sorted(d.name for d in folder.iterdir() if (d / STUDY_FILE).is_file())


#: File name of a shipped study's main configuration inside its folder.
STUDY_FILE = "study.toml"


def resolve_study_path(path: str | os.PathLike | None) -> Path:
    """The TOML file of a study given as a path or as the name of a shipped study.

    Raises
    ------
    ConfigError
        A bare name that is neither a file nor a shipped study.
    """
    if path is None:
        return settings.studies_folder / settings.default_study / STUDY_FILE
    p = Path(path)
    if p.is_file() or p.suffix.lower() == ".toml" or len(p.parts) > 1:
        return p
    shipped = settings.studies_folder / str(path) / STUDY_FILE
    if shipped.is_file():
        return shipped
    raise ConfigError(
        f"unknown study {str(path)!r}: not a file and not a shipped study; shipped studies: "
        f"{', '.join(shipped_studies())}"
    )


def load_study_config(
    path: str | os.PathLike | None = None, data_dir: str | os.PathLike | None = None
) -> StudyConfig:
    """Load and validate a study configuration.

    Parameters
    ----------
    path : path-like or str, optional
        A TOML file, or the name of a study shipped with the package (``lot-et-garonne``,
        ``france``: see :func:`shipped_studies`); defaults to
        :data:`geoattract.settings.default_study`.
    data_dir : path-like, optional
        Data folder override; else ``GEOATTRACT_DATA_DIR``; else ``../shared/data/<data_subdir>``.

    Returns
    -------
    StudyConfig

    Raises
    ------
    ConfigError
        Unknown study name, invalid TOML, unknown or missing key, wrong type.
    DataNotFoundError
        Missing file or data folder.
    """
    p = resolve_study_path(path)
    doc = load_toml(p)
    schema = dict(STUDY_SCHEMA)
    for name, section in SECTION_SCHEMAS.items():
        schema[name] = Field(dict, required=False, default={}, schema=section)
    for name in METRO_KEYS:  # validated by validate_metropolitan
        schema[name] = Field((dict, list), required=False, default=None)
    raw = validate(doc, schema, p)
    raw.update(validate_metropolitan(doc, p))
    for name, section in SECTION_SCHEMAS.items():  # absent sections get their defaults too
        if not doc.get(name):
            raw[name] = validate({}, section, p, prefix=name + ".")
    spec = territory_spec(raw["territory"], raw["study"].get("departement"), p)
    if spec.source == "inputs" and not raw.get("inputs"):
        raise ConfigError(f"{p}: 'territory.source' is 'inputs' but the study has no [inputs]")
    ddir = resolve_data_dir(data_dir, raw["study"]["data_subdir"])
    return StudyConfig(path=p.resolve(), data_dir=ddir, raw=raw)
