"""The indicator registry of a study (``indicators.toml``): schema, validation, source adapters.

The file declares

* one ``[[indicators]]`` table per table, membership or raster indicator
  (:class:`Indicator`);
* the point layers of the network indicators, each described as a source adapter: the file,
  its columns and its vintage. ``[ev_charging]`` (:class:`EvChargingSource`) for the public
  charging stations, ``[rail]`` (:class:`RailSource`) for the passenger stations and their
  ridership.

Nothing here knows a study: file names, column names and vintages all come from the TOML.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from geoattract._util.ranks import DIRECTIONS
from geoattract.config.schema import Field, load_toml, positive, validate
from geoattract.errors import ConfigError, DataNotFoundError, format_values

#: Prefix of the output column of each pillar.
PILLAR_PREFIX = {"transition": "tr_", "environment": "env_"}

#: Allowed values of ``kind``.
KINDS = ("table", "membership", "raster", "raster_delta")

#: Keys each kind needs besides the common ones.
REQUIRED_BY_KIND = {
    "table": ("column", "code_column"),
    "membership": ("code_column",),
    "raster": ("band",),
    "raster_delta": ("band", "reference_source"),
}

#: Placeholder of the year in :attr:`RailSource.ridership_column`.
YEAR_PLACEHOLDER = "{year}"

_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


def _identifier(value: str) -> str | None:
    return (
        None
        if _ID_PATTERN.match(value)
        else "must be lower-case letters, digits and '_' (start with a letter)"
    )


def _weights(value: Mapping[str, Any]) -> str | None:
    bad = [
        k
        for k, v in value.items()
        if isinstance(v, bool) or not isinstance(v, int | float) or not v >= 0
    ]
    return f"must map segments to numbers >= 0 (bad: {format_values(bad)})" if bad else None


def _year_template(value: str) -> str | None:
    return None if YEAR_PLACEHOLDER in value else f"must contain {YEAR_PLACEHOLDER}"


def _scenario_category(indicators: str) -> Field:
    """The ``category`` key of a point source: the catalogue category that moves its indicators."""
    return Field(
        str,
        required=False,
        default=None,
        doc=f"catalogue category whose scenario edits also move the {indicators} indicators",
    )


#: Schema of one ``[[indicators]]`` entry.
INDICATOR_SCHEMA: dict[str, Field] = {
    "id": Field(str, check=_identifier, doc="identifier; output column tr_<id> or env_<id>"),
    "label_fr": Field(str, doc="French label"),
    "label_en": Field(str, doc="English label"),
    "pillar": Field(str, choices=tuple(PILLAR_PREFIX), doc="transition or environment"),
    "kind": Field(str, required=False, default="table", choices=KINDS),
    "source": Field(str, doc="file relative to the data folder (CSV or GeoTIFF)"),
    "column": Field(str, required=False, doc="value column of a table"),
    "code_column": Field(str, required=False, doc="INSEE code column of a table"),
    "reference_source": Field(str, required=False, doc="reference raster of a raster_delta"),
    "band": Field(str, required=False, doc="band name of a raster"),
    "bands": Field(
        list,
        required=False,
        items=str,
        doc="band names in order, for a raster without band descriptions",
    ),
    "sep": Field(
        str,
        required=False,
        doc="CSV separator of a table (default: sniffed; declare it for one-column files)",
    ),
    "unit": Field(str),
    "direction": Field(str, choices=DIRECTIONS),
    "vintage": Field(str),
    "scored": Field(bool, required=False, default=True, doc="meant to enter a composite score"),
    "note": Field(str, required=False, default=""),
}

#: Schema of ``[ev_charging]``: the public EV charging stations.
EV_CHARGING_SCHEMA: dict[str, Field] = {
    "file": Field(str, doc="point file relative to the data folder"),
    "vintage": Field(str),
    "id_column": Field(str, doc="station id (records of one station share it)"),
    "points_column": Field(str, doc="number of charging points of the record"),
    "power_column": Field(str, doc="nominal power of the record"),
    "power_per_kw": Field(
        float,
        required=False,
        default=1.0,
        check=positive,
        doc="units of the power column in one kW (1000 when the file gives watts)",
    ),
    "category": _scenario_category("EV"),
}

#: Schema of ``[rail]``: the annual ridership of the passenger stations, and the columns of the
#: station file the rail indicators read besides those of the catalogue's station category
#: (the one declaration of the stations: its points source gives the file, UIC, name, commune).
RAIL_SCHEMA: dict[str, Field] = {
    "ridership_file": Field(str, doc="ridership table relative to the data folder"),
    "vintage": Field(str),
    "ridership_year": Field(int, doc="year of the ridership behind service_weight"),
    "dep_column": Field(str, doc="département code"),
    "segment_column": Field(str, doc="station segment (SNCF DRG: A, B, C)"),
    "closed_column": Field(str, doc="end-of-validity date: a station with a value here is closed"),
    "ridership_uic_column": Field(str, doc="UIC code in the ridership table"),
    "ridership_column": Field(
        str, check=_year_template, doc="passengers column, with {year} for the year"
    ),
    "segment_weights": Field(
        dict, check=_weights, doc="segment -> weight (offered as segment_weight)"
    ),
    "category": Field(
        str,
        doc="catalogue category of the stations: its points source declares them (file, UIC "
        "code, name, commune); its scenario edits also move the rail indicators",
    ),
}

#: Schema of the registry file.
REGISTRY_SCHEMA: dict[str, Field] = {
    "description": Field(str, required=False, default=""),
    "indicators": Field(list, items=dict, doc="one table per indicator"),
    "ev_charging": Field(dict, required=False, default=None, schema=EV_CHARGING_SCHEMA),
    "rail": Field(dict, required=False, default=None, schema=RAIL_SCHEMA),
    # validated by geoattract.transition.connectivity.load_connectivity
    "connectivity": Field(dict, required=False, default=None, doc="fixed broadband table"),
    "telework": Field(dict, required=False, default=None, doc="combined telework indicator"),
}


@dataclass(frozen=True)
class Indicator:
    """One validated registry entry (see the study's ``indicators.toml`` for the keys)."""

    id: str
    label_fr: str
    label_en: str
    pillar: str
    kind: str
    source: str
    unit: str
    direction: str
    vintage: str
    column: str | None = None
    code_column: str | None = None
    reference_source: str | None = None
    band: str | None = None
    bands: tuple[str, ...] | None = None
    sep: str | None = None
    scored: bool = True
    note: str = ""
    origin: str = "<registry>"

    @property
    def output_column(self) -> str:
        """Name of the output column: ``tr_<id>`` or ``env_<id>``."""
        return PILLAR_PREFIX[self.pillar] + self.id

    def source_path(self, data_dir: Path, key: str = "source") -> Path:
        """Absolute path of the file named by ``key`` (``source`` or ``reference_source``).

        Raises
        ------
        DataNotFoundError
            The file does not exist (the message names the indicator, the key and the file).
        """
        rel = getattr(self, key)
        p = data_dir / rel
        if not p.is_file():
            raise DataNotFoundError(
                f"indicator {self.id!r}: file {rel!r} (key '{key}' in {self.origin}) not found: {p}"
            )
        return p


@dataclass(frozen=True)
class EvChargingSource:
    """Where the public EV charging stations are and how their file is laid out.

    Attributes
    ----------
    file : str
        Point file, relative to the data folder (or absolute).
    vintage : str
        Date of the extract.
    id_column, points_column, power_column : str
        Station id, number of charging points, nominal power.
    power_per_kw : float
        Units of the power column in one kW (the power is divided by it).
    category : str, optional
        Catalogue category whose scenario edits also move the EV indicators.
    origin : str
        File the description was read from, for messages.
    """

    file: str
    vintage: str
    id_column: str
    points_column: str
    power_column: str
    power_per_kw: float = 1.0
    category: str | None = None
    origin: str = "<registry>"


@dataclass(frozen=True)
class RailSource:
    """Where the passenger stations and their ridership are and how the files are laid out.

    Attributes
    ----------
    ridership_file : str
        Ridership table relative to the data folder (or absolute).
    vintage : str
        Date of the files.
    ridership_year : int
        Default year of the ridership behind ``service_weight``.
    dep_column, segment_column, closed_column : str
        Columns of the station file besides those its catalogue category declares.
    ridership_uic_column : str
        UIC code column of the ridership table.
    ridership_column : str
        Passengers column of the ridership table, ``{year}`` standing for the year.
    segment_weights : dict
        Station segment → weight (``segment_weight``).
    category : str
        Catalogue category of the stations (their one declaration); its scenario edits also
        move the rail indicators.
    origin : str
        File the description was read from, for messages.
    """

    ridership_file: str
    vintage: str
    ridership_year: int
    dep_column: str
    segment_column: str
    closed_column: str
    ridership_uic_column: str
    ridership_column: str
    category: str
    segment_weights: dict[str, float] = field(default_factory=dict)
    origin: str = "<registry>"

    def passengers_column(self, year: int | None = None) -> str:
        """Name of the passengers column of ``year`` (default :attr:`ridership_year`)."""
        y = self.ridership_year if year is None else int(year)
        return self.ridership_column.replace(YEAR_PLACEHOLDER, str(y))


@dataclass(frozen=True)
class PointSources:
    """The source adapters of the network indicators: EV charging stations and rail."""

    ev_charging: EvChargingSource
    rail: RailSource


def _read_registry(path: str | os.PathLike) -> tuple[Path, dict[str, Any]]:
    p = Path(path)
    return p, validate(load_toml(p), REGISTRY_SCHEMA, p)


def load_indicator_registry(path: str | os.PathLike) -> list[Indicator]:
    """Read and validate the ``[[indicators]]`` of a registry file.

    Parameters
    ----------
    path : path-like
        TOML file (a study's ``indicators.toml``, ``StudyConfig.config_file("indicators")``).

    Returns
    -------
    list of Indicator
        In file order.

    Raises
    ------
    DataNotFoundError
        The file does not exist.
    ConfigError
        Malformed TOML, unknown or missing key, bad ``direction`` / ``pillar`` / ``kind``
        (the message names the file and the key, e.g. ``indicators.forest_cover.direction``),
        a key the kind needs is missing, or two indicators share an id.
    """
    p, doc = _read_registry(path)
    out: list[Indicator] = []
    seen: set[str] = set()
    for i, entry in enumerate(doc["indicators"]):
        ident = entry.get("id")
        prefix = f"indicators.{ident}." if isinstance(ident, str) else f"indicators[{i}]."
        v = validate(entry, INDICATOR_SCHEMA, p, prefix=prefix)
        for key in REQUIRED_BY_KIND[v["kind"]]:
            if v[key] is None:
                raise ConfigError(
                    f"{p}: missing key '{prefix}{key}' (required for kind = {v['kind']!r})"
                )
        if v["id"] in seen:
            raise ConfigError(f"{p}: duplicate indicator id {v['id']!r} at 'indicators[{i}].id'")
        seen.add(v["id"])
        v["bands"] = tuple(v["bands"]) if v["bands"] is not None else None
        out.append(Indicator(origin=str(p), **v))
    return out


def load_point_sources(path: str | os.PathLike) -> PointSources:
    """Read the ``[ev_charging]`` and ``[rail]`` source adapters of a registry file.

    Parameters
    ----------
    path : path-like
        TOML file (a study's ``indicators.toml``).

    Returns
    -------
    PointSources

    Raises
    ------
    DataNotFoundError
        The file does not exist.
    ConfigError
        A table is missing or malformed (the message names the file and the key).
    """
    p, doc = _read_registry(path)
    for key in ("ev_charging", "rail"):
        if doc[key] is None:
            raise ConfigError(
                f"{p}: missing table [{key}] (the source of the network indicators: file, "
                f"columns and vintage)"
            )
    ev = EvChargingSource(origin=str(p), **doc["ev_charging"])
    rail_doc = dict(doc["rail"])
    rail_doc["segment_weights"] = {str(k): float(v) for k, v in rail_doc["segment_weights"].items()}
    return PointSources(ev_charging=ev, rail=RailSource(origin=str(p), **rail_doc))


def registry_table(registry: Sequence[Indicator]) -> pd.DataFrame:
    """Show the registry as a table (one row per indicator), for reports and documentation.

    Parameters
    ----------
    registry : sequence of Indicator
        From :func:`load_indicator_registry`.

    Returns
    -------
    DataFrame
        Indexed by output column, with id, pillar, kind, labels, source, column or band,
        unit, direction, vintage, scored and note.
    """
    rows = [
        {
            "output_column": ind.output_column,
            "id": ind.id,
            "pillar": ind.pillar,
            "kind": ind.kind,
            "label_fr": ind.label_fr,
            "label_en": ind.label_en,
            "source": ind.source,
            "reference_source": ind.reference_source,
            "column": ind.column if ind.column is not None else ind.band,
            "unit": ind.unit,
            "direction": ind.direction,
            "vintage": ind.vintage,
            "scored": ind.scored,
            "note": ind.note,
        }
        for ind in registry
    ]
    return pd.DataFrame(rows).set_index("output_column")


def resolve_registry(registry: Sequence[Indicator] | str | os.PathLike) -> list[Indicator]:
    """Turn a registry given as indicators or as a file into a list of :class:`Indicator`.

    Parameters
    ----------
    registry : sequence of Indicator or path-like
        Indicators, or a TOML file read with :func:`load_indicator_registry`.

    Returns
    -------
    list of Indicator

    Raises
    ------
    ConfigError
        The sequence holds something else than indicators.
    """
    if isinstance(registry, str | os.PathLike):
        return load_indicator_registry(registry)
    items = list(registry)
    bad = [type(x).__name__ for x in items if not isinstance(x, Indicator)]
    if bad:
        raise ConfigError(f"registry must hold Indicator objects, got {format_values(bad)}")
    return items
