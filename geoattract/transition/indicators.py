"""Climate-transition and environment indicators per commune.

The indicators are declared in a registry (``data/indicators.toml``, validated here) and come
from two kinds of sources:

* **tables** (``kind = "table"``): a numeric column of a CSV file keyed by INSEE code
  (forest cover, impervious surface, cyclability, organic farmland…), joined on the commune
  code; ``kind = "membership"``: a list of member communes (the "Petites villes de demain"
  programme) turned into 0/1;
* **rasters** (``kind = "raster"`` / ``"raster_delta"``): area-weighted means of GeoTIFF bands
  over each commune (:func:`geoattract.transition.zonal.zonal_stats`), and the difference between a
  scenario raster and a reference raster (DRIAS RCP4.5 near term minus the 1976–2005
  reference: days above 35 °C, tropical nights, heatwave days).

Output columns are ``tr_<id>`` (pillar "transition") and ``env_<id>`` (pillar "environment"),
each followed by a boolean ``<column>_missing``. Nothing is imputed: a commune absent from a
table, or with an empty cell, gets NaN and the flag. The one exception is membership: the
programme list names its members, so a commune absent from it is a non-member (0), not an
unknown.

Codes of a table that match no commune of the territory are never dropped silently: codes of
the study département (typically communes merged since the table was made, or an older
geography) are logged with :func:`logging.warning` and listed in
``result.attrs["report"].unmatched_codes``; codes of other départements outside the
territory are counted in ``outside_codes``.

The module also prepares the point layers the routing stage needs for the network-based
transition indicators: :func:`ev_charging_points` (charging stations with their number of
charging points and commune code) and :func:`train_stations` (stations with a ridership-based
``service_weight``).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract import settings
from geoattract._util.io import read_csv, read_vector, resolve_data_dir
from geoattract.config.study import Field, load_study_config, load_toml, validate
from geoattract.errors import ConfigError, DataError, DataNotFoundError, format_values
from geoattract.transition.zonal import raster_band_names, zonal_stats

__all__ = [
    "DEFAULT_REGISTRY",
    "DIRECTIONS",
    "KINDS",
    "PILLAR_PREFIX",
    "Indicator",
    "TransitionReport",
    "ev_charging_points",
    "load_indicator_registry",
    "raster_indicators",
    "registry_table",
    "table_indicators",
    "train_stations",
    "transition_indicators",
]

logger = logging.getLogger(__name__)

#: Registry shipped with the project.
DEFAULT_REGISTRY: Path = settings.config_folder / "indicators.toml"

#: Prefix of the output column of each pillar.
PILLAR_PREFIX = {"transition": "tr_", "environment": "env_"}

#: Allowed values of ``direction``.
DIRECTIONS = ("higher_is_better", "lower_is_better")

#: Allowed values of ``kind``.
KINDS = ("table", "membership", "raster", "raster_delta")

#: Keys each kind needs besides the common ones.
_REQUIRED_BY_KIND = {
    "table": ("column", "code_column"),
    "membership": ("code_column",),
    "raster": ("band",),
    "raster_delta": ("band", "reference_source"),
}

#: EV charging stations, relative to the data folder (IRVE consolidation, 2023-03).
EV_CHARGING_FILE = "facilities/ev_charging_stations_2023.geojson"

#: Two records of the same charging-station id closer than this (metres) are one station
#: listed twice (the IRVE file has one row per charging point or per operator declaration);
#: farther apart they are kept as distinct places and reported.
EV_DUPLICATE_TOLERANCE_M = 50.0

#: Train stations (SNCF, UIC code, DRG segment) and their annual ridership.
TRAIN_STATIONS_FILE = "facilities/train_stations.geojson"
TRAIN_RIDERSHIP_FILE = "facilities/train_stations_ridership.csv"

#: Ridership year behind ``service_weight``: 2019, the last year before the Covid-19 drop
#: (2020 ridership is about a third lower at most stations).
RIDERSHIP_YEAR = 2019

#: Weight of each SNCF DRG station segment (a: national/international, b: regional with
#: significant traffic, c: local halts), offered as ``segment_weight``.
DRG_SEGMENT_WEIGHTS = {"A": 3.0, "B": 2.0, "C": 1.0}

_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


def _identifier(value: str) -> str | None:
    return (
        None
        if _ID_PATTERN.match(value)
        else "must be lower-case letters, digits and '_' (start with a letter)"
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

#: Schema of the registry file.
REGISTRY_SCHEMA: dict[str, Field] = {
    "description": Field(str, required=False, default=""),
    "indicators": Field(list, items=dict, doc="one table per indicator"),
}


@dataclass(frozen=True)
class Indicator:
    """One validated registry entry (see ``data/indicators.toml`` for the meaning of the keys)."""

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


@dataclass
class TransitionReport:
    """What joining the indicator sources found; stored in ``result.attrs["report"]``.

    Attributes
    ----------
    unmatched_codes : dict
        Source file → codes of the study département that match no commune of the territory
        (merged communes, older geography). Logged as warnings.
    outside_codes : dict
        Source file → number of codes of other départements outside the territory.
    missing : dict
        Output column → number of study communes with NaN.
    empty_columns : list of str
        Output columns with no value at all for the study communes.
    raster_coverage_min : dict
        Raster file → smallest share of a commune area covered by valid cells.
    """

    unmatched_codes: dict[str, list[str]] = field(default_factory=dict)
    outside_codes: dict[str, int] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    empty_columns: list[str] = field(default_factory=list)
    raster_coverage_min: dict[str, float] = field(default_factory=dict)

    def merge(self, other: TransitionReport) -> TransitionReport:
        """A new report holding the findings of both."""
        return TransitionReport(
            unmatched_codes={**self.unmatched_codes, **other.unmatched_codes},
            outside_codes={**self.outside_codes, **other.outside_codes},
            missing={**self.missing, **other.missing},
            empty_columns=self.empty_columns + other.empty_columns,
            raster_coverage_min={**self.raster_coverage_min, **other.raster_coverage_min},
        )

    def summary(self) -> str:
        """One line per finding, for logs and reports."""
        lines = [
            f"unmatched codes in {src}: {format_values(codes)}"
            for src, codes in self.unmatched_codes.items()
            if codes
        ]
        lines += [
            f"{n} code(s) outside the territory in {src}"
            for src, n in self.outside_codes.items()
            if n
        ]
        lines += [f"{col}: {n} commune(s) without value" for col, n in self.missing.items() if n]
        if self.empty_columns:
            lines.append(f"empty indicator(s): {format_values(self.empty_columns)}")
        return "\n".join(lines) or "no issue found"


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------


def load_indicator_registry(path: str | os.PathLike | None = None) -> list[Indicator]:
    """Read and validate an indicator registry.

    Parameters
    ----------
    path : path-like, optional
        TOML file; defaults to :data:`DEFAULT_REGISTRY` (``data/indicators.toml``).

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
    p = Path(path) if path is not None else DEFAULT_REGISTRY
    doc = validate(load_toml(p), REGISTRY_SCHEMA, p)
    out: list[Indicator] = []
    seen: set[str] = set()
    for i, entry in enumerate(doc["indicators"]):
        ident = entry.get("id")
        prefix = f"indicators.{ident}." if isinstance(ident, str) else f"indicators[{i}]."
        v = validate(entry, INDICATOR_SCHEMA, p, prefix=prefix)
        for key in _REQUIRED_BY_KIND[v["kind"]]:
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


def registry_table(registry: Sequence[Indicator]) -> pd.DataFrame:
    """The registry as a table (one row per indicator), for reports and documentation.

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
    rows = []
    for ind in registry:
        rows.append(
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
        )
    return pd.DataFrame(rows).set_index("output_column")


def _as_registry(registry: Sequence[Indicator] | str | os.PathLike | None) -> list[Indicator]:
    if registry is None or isinstance(registry, str | os.PathLike):
        return load_indicator_registry(registry)
    items = list(registry)
    bad = [type(x).__name__ for x in items if not isinstance(x, Indicator)]
    if bad:
        raise ConfigError(f"registry must hold Indicator objects, got {format_values(bad)}")
    return items


def _data_dir(data_dir: str | os.PathLike | None) -> Path:
    if data_dir is None:
        return load_study_config().data_dir
    return resolve_data_dir(data_dir)


def _source_path(ind: Indicator, data_dir: Path, key: str = "source") -> Path:
    rel = getattr(ind, key)
    p = data_dir / rel
    if not p.is_file():
        raise DataNotFoundError(
            f"indicator {ind.id!r}: file {rel!r} (key '{key}' in {ind.origin}) not found: {p}"
        )
    return p


# ---------------------------------------------------------------------------------------------
# Territory helpers
# ---------------------------------------------------------------------------------------------


def _study_rows(territory: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if not isinstance(territory, gpd.GeoDataFrame):
        raise DataError(f"territory must be a GeoDataFrame, got {type(territory).__name__}")
    if "code" not in territory.columns:
        raise DataError(
            f"territory: missing column 'code'; available: {format_values(territory.columns, limit=40)}"
        )
    study = (
        territory[territory["in_study"].astype(bool)]
        if "in_study" in territory.columns
        else territory
    )
    codes = study["code"].astype(str)
    dup = codes[codes.duplicated(keep=False)]
    if len(dup):
        raise DataError(f"territory: duplicate commune codes {format_values(sorted(set(dup)))}")
    if study.empty:
        raise DataError("territory: no study commune (column 'in_study' is False everywhere)")
    return study


def _study_departements(territory: gpd.GeoDataFrame, study: gpd.GeoDataFrame) -> set[str]:
    dep = territory.attrs.get("departement")
    if dep:
        return {str(dep)}
    if "dep" in study.columns:
        return set(study["dep"].astype(str))
    return set(study["code"].astype(str).str[:2])


def _classify_codes(
    table_codes: pd.Series,
    territory: gpd.GeoDataFrame,
    study_deps: set[str],
    rel: str,
    report: TransitionReport,
) -> None:
    """Record codes of a table that match no commune of the territory."""
    all_codes = set(territory["code"].astype(str))
    absent = sorted(set(table_codes) - all_codes)
    unmatched = [c for c in absent if c[:2] in study_deps or c[:3] in study_deps]
    outside = len(absent) - len(unmatched)
    report.unmatched_codes[rel] = unmatched
    report.outside_codes[rel] = outside
    if unmatched:
        logger.warning(
            "%s: %d code(s) of the study département match no commune of the territory "
            "(merged communes or older geography?): %s",
            rel,
            len(unmatched),
            format_values(unmatched),
        )
    if outside:
        logger.info("%s: %d code(s) outside the territory ignored", rel, outside)


def _finish(out: pd.DataFrame, report: TransitionReport) -> pd.DataFrame:
    for col in out.columns:
        if col.endswith("_missing"):
            value_col = col[: -len("_missing")]
            n = int(out[col].sum())
            report.missing[value_col] = n
            if n == len(out):
                report.empty_columns.append(value_col)
                logger.warning(
                    "indicator %s has no value for any of the %d study communes", value_col, n
                )
    out.attrs["report"] = report
    return out


# ---------------------------------------------------------------------------------------------
# Table indicators
# ---------------------------------------------------------------------------------------------


def table_indicators(
    territory: gpd.GeoDataFrame,
    registry: Sequence[Indicator] | str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Indicators read from tables keyed by INSEE code (``kind`` table and membership).

    Parameters
    ----------
    territory : GeoDataFrame
        From :func:`geoattract.territory.load.load_territory`; only rows with ``in_study`` are
        returned (every row when the column is absent).
    registry : list of Indicator or path-like, optional
        Default :data:`DEFAULT_REGISTRY`.
    data_dir : path-like, optional
        Data folder; default the study configuration's.

    Returns
    -------
    DataFrame
        Indexed like the study rows of ``territory``. For a table indicator: the value column
        (float) and ``<column>_missing`` (commune absent from the table or empty cell; no
        imputation). For a membership indicator: 0/1 (int), no flag: absence from the list of
        members means "not a member". ``attrs["report"]`` holds a :class:`TransitionReport`.

    Raises
    ------
    DataNotFoundError
        A source file does not exist (the message names the indicator and the file).
    DataError
        A column is missing (the message lists the available ones), a table has duplicate
        codes, or a value column holds non-numeric text.
    """
    registry = _as_registry(registry)
    ddir = _data_dir(data_dir)
    study = _study_rows(territory)
    deps = _study_departements(territory, study)
    codes = study["code"].astype(str)
    report = TransitionReport()
    out = pd.DataFrame(index=study.index)
    tables: dict[tuple[str, str], pd.DataFrame] = {}

    for ind in registry:
        if ind.kind not in ("table", "membership"):
            continue
        path = _source_path(ind, ddir)
        key = (ind.source, ind.code_column)
        if key not in tables:
            try:
                df = read_csv(path, code_columns=[ind.code_column], sep=ind.sep)
            except DataError as exc:
                raise DataError(
                    f"indicator {ind.id!r} ({ind.origin}), key 'code_column': {exc}"
                ) from exc
            df[ind.code_column] = df[ind.code_column].astype(str).str.strip()
            tables[key] = df
            _classify_codes(df[ind.code_column], territory, deps, ind.source, report)
        df = tables[key]
        col = ind.output_column
        if ind.kind == "membership":
            members = set(df[ind.code_column])
            out[col] = codes.isin(members).astype("int64").to_numpy()
            continue
        _require_indicator_columns(ind, df, [ind.column], path)
        dup = df[ind.code_column][df[ind.code_column].duplicated(keep=False)]
        if len(dup):
            raise DataError(
                f"{path}: duplicate codes in column {ind.code_column!r}: {format_values(sorted(set(dup)))}"
            )
        values = _numeric(df[ind.column], path, ind.column)
        series = pd.Series(values.to_numpy(), index=df[ind.code_column].to_numpy())
        out[col] = codes.map(series).astype("float64").to_numpy()
        out[f"{col}_missing"] = out[col].isna()
    return _finish(out, report)


def _require_indicator_columns(
    ind: Indicator, df: pd.DataFrame, columns: list[str], path: Path
) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(
            f"indicator {ind.id!r} ({ind.origin}): column(s) {format_values(missing)} not in {path}; "
            f"available columns: {format_values(df.columns, limit=60)}"
        )


def _numeric(values: pd.Series, path: Path, column: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    text = values.astype("string").str.strip()
    num = pd.to_numeric(text, errors="coerce")
    bad = text[num.isna() & text.notna() & (text != "")]
    if len(bad):
        raise DataError(
            f"{path}: non-numeric value(s) in column {column!r}: {format_values(sorted(set(bad)))}"
        )
    return num.astype("float64")


# ---------------------------------------------------------------------------------------------
# Raster indicators
# ---------------------------------------------------------------------------------------------


def raster_indicators(
    territory: gpd.GeoDataFrame,
    registry: Sequence[Indicator] | str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    *,
    verbose: bool = False,
) -> pd.DataFrame:
    """Indicators computed from rasters (``kind`` raster and raster_delta).

    Each raster band is averaged over each study commune with exact area weights
    (:func:`geoattract.transition.zonal.zonal_stats`); a ``raster_delta`` is the commune mean of
    ``source`` minus the commune mean of ``reference_source``.

    Parameters
    ----------
    territory : GeoDataFrame
        From :func:`geoattract.territory.load.load_territory` (any CRS).
    registry : list of Indicator or path-like, optional
        Default :data:`DEFAULT_REGISTRY`.
    data_dir : path-like, optional
        Data folder; default the study configuration's.
    verbose : bool
        Progress bars.

    Returns
    -------
    DataFrame
        Indexed like the study rows; per indicator the value (float) and
        ``<column>_missing`` (commune outside the raster or over nodata only; for a delta,
        missing in either raster). ``attrs["report"]`` holds a :class:`TransitionReport`.

    Raises
    ------
    DataNotFoundError
        A raster does not exist.
    DataError
        A band name is not in the raster (the message lists the available ones).
    """
    registry = _as_registry(registry)
    ddir = _data_dir(data_dir)
    study = _study_rows(territory)
    report = TransitionReport()
    out = pd.DataFrame(index=study.index)
    cache: dict[Path, pd.DataFrame] = {}

    def stats(ind: Indicator, key: str) -> pd.DataFrame:
        path = _source_path(ind, ddir, key)
        names = raster_band_names(path, ind.bands)
        if ind.band not in names:
            raise DataError(
                f"indicator {ind.id!r} ({ind.origin}): band {ind.band!r} not in {path}; "
                f"available bands: {format_values(names)}"
            )
        if path not in cache:
            cache[path] = zonal_stats(study, path, band_names=ind.bands, verbose=verbose)
            report.raster_coverage_min[str(path.relative_to(ddir))] = float(
                cache[path]["coverage"].min()
            )
        return cache[path]

    for ind in registry:
        if ind.kind not in ("raster", "raster_delta"):
            continue
        col = ind.output_column
        z = stats(ind, "source")
        value = z[ind.band]
        missing = z[f"{ind.band}_missing"]
        if ind.kind == "raster_delta":
            zr = stats(ind, "reference_source")
            value = value - zr[ind.band]
            missing = missing | zr[f"{ind.band}_missing"]
        out[col] = value.to_numpy()
        out[f"{col}_missing"] = missing.to_numpy()
    return _finish(out, report)


def transition_indicators(
    territory: gpd.GeoDataFrame,
    registry: Sequence[Indicator] | str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    *,
    verbose: bool = False,
) -> pd.DataFrame:
    """Every table and raster indicator of the registry for the study communes.

    Parameters
    ----------
    territory : GeoDataFrame
        From :func:`geoattract.territory.load.load_territory`.
    registry : list of Indicator or path-like, optional
        Default :data:`DEFAULT_REGISTRY`.
    data_dir : path-like, optional
        Data folder; default the study configuration's.
    verbose : bool
        Progress bars.

    Returns
    -------
    DataFrame
        Indexed like the study rows of ``territory``; ``code`` then the ``tr_*`` / ``env_*``
        columns in registry order, each followed by its ``_missing`` flag (membership
        indicators have none). ``attrs["report"]`` holds the merged :class:`TransitionReport`.
    """
    registry = _as_registry(registry)
    ddir = _data_dir(data_dir)
    study = _study_rows(territory)
    tables = table_indicators(territory, registry, ddir)
    rasters = raster_indicators(territory, registry, ddir, verbose=verbose)
    both = pd.concat([tables, rasters], axis=1)
    order: list[str] = []
    for ind in registry:
        col = ind.output_column
        order.append(col)
        if f"{col}_missing" in both.columns:
            order.append(f"{col}_missing")
    out = pd.concat([study[["code"]].astype({"code": str}), both[order]], axis=1)
    report = tables.attrs["report"].merge(rasters.attrs["report"])
    out.attrs["report"] = report
    logger.info(
        "transition indicators: %d columns for %d communes; %s",
        len(registry),
        len(out),
        report.summary().replace("\n", "; "),
    )
    return out


# ---------------------------------------------------------------------------------------------
# Point layers for the network-based indicators
# ---------------------------------------------------------------------------------------------


def _commune_polygons(
    data_dir: Path, communes: gpd.GeoDataFrame | None, crs: Any
) -> gpd.GeoDataFrame:
    if communes is None:
        cfg = load_study_config(data_dir=data_dir)
        communes = read_vector(cfg.input_path("communes"), columns=["code"])
    elif "code" not in communes.columns:
        raise DataError(
            f"communes: missing column 'code'; available: {format_values(communes.columns, limit=40)}"
        )
    if communes.crs is None:
        raise DataError("communes have no CRS")
    polys = communes[["code", communes.geometry.name]].to_crs(crs)
    polys["code"] = polys["code"].astype(str)
    return polys.rename_geometry("geometry") if polys.geometry.name != "geometry" else polys


def _attach_code(points: gpd.GeoDataFrame, polys: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    joined = gpd.sjoin(points, polys[["code", "geometry"]], how="left", predicate="intersects")
    joined = joined[~joined.index.duplicated(keep="first")].drop(columns="index_right")
    return joined


def ev_charging_points(
    data_dir: str | os.PathLike | None = None,
    crs: Any = settings.default_crs,
    *,
    communes: gpd.GeoDataFrame | None = None,
    path: str | os.PathLike | None = None,
) -> gpd.GeoDataFrame:
    """EV charging stations with their capacity and commune code, for the routing stage.

    The IRVE file has no commune code, so each station is joined spatially to the commune
    polygon that contains it. Records sharing a station id within
    :data:`EV_DUPLICATE_TOLERANCE_M` of each other are one station listed twice: the first is
    kept (with the highest power of the duplicates), the others are dropped and reported.
    Records sharing an id farther apart are kept and reported (a coordinate error in one of
    them is likely).

    Parameters
    ----------
    data_dir : path-like, optional
        Data folder; default the study configuration's.
    crs : CRS-like
        Output CRS (default EPSG:2154).
    communes : GeoDataFrame, optional
        Commune polygons with a ``code`` column; default the study's commune file
        (département and its neighbours).
    path : path-like, optional
        Charging-station file; default :data:`EV_CHARGING_FILE` in the data folder.

    Returns
    -------
    GeoDataFrame
        Columns ``station_id``, ``nbre_pdc`` (int, number of charging points),
        ``power_kw`` (float, nominal power), ``code`` (INSEE code of the commune containing
        the station; NaN outside every polygon), ``code_missing`` and point ``geometry``.
        ``attrs["report"]`` holds ``duplicates_dropped``, ``same_id_apart`` and
        ``outside_communes`` (station ids).

    Raises
    ------
    DataNotFoundError
        The file does not exist.
    DataError
        Missing columns, or a number of charging points that is not a positive integer.
    """
    ddir = _data_dir(data_dir)
    src = Path(path) if path is not None else ddir / EV_CHARGING_FILE
    raw = read_vector(src, columns=["id_station_itinerance", "nbre_pdc", "puissance_nominale"])
    n_pdc = pd.to_numeric(raw["nbre_pdc"], errors="coerce")
    bad = raw.loc[n_pdc.isna() | (n_pdc < 1) | (n_pdc != n_pdc.round()), "nbre_pdc"]
    if len(bad):
        raise DataError(
            f"{src}: column 'nbre_pdc' must hold positive integers; bad value(s): "
            f"{format_values(sorted(set(map(str, bad))))}"
        )
    power = pd.to_numeric(raw["puissance_nominale"], errors="coerce") / 1000.0
    pts = gpd.GeoDataFrame(
        {
            "station_id": raw["id_station_itinerance"].astype(str).to_numpy(),
            "nbre_pdc": n_pdc.astype("int64").to_numpy(),
            "power_kw": power.to_numpy(),
        },
        geometry=raw.geometry.to_crs(crs).to_numpy(),
        crs=crs,
    )
    pts, dropped, apart = _dedupe_stations(pts)
    if dropped:
        logger.warning(
            "%s: %d duplicate record(s) of the same station dropped: %s",
            src,
            len(dropped),
            format_values(dropped),
        )
    if apart:
        logger.warning(
            "%s: station id(s) listed at several places more than %.0f m apart (kept): %s",
            src,
            EV_DUPLICATE_TOLERANCE_M,
            format_values(apart),
        )
    polys = _commune_polygons(ddir, communes, crs)
    pts = _attach_code(pts, polys)
    pts["code_missing"] = pts["code"].isna()
    outside = sorted(pts.loc[pts["code_missing"], "station_id"])
    if outside:
        logger.info("%s: %d station(s) outside every commune polygon (code NaN)", src, len(outside))
    pts = pts[
        ["station_id", "nbre_pdc", "power_kw", "code", "code_missing", "geometry"]
    ].reset_index(drop=True)
    pts.attrs["report"] = {
        "duplicates_dropped": dropped,
        "same_id_apart": apart,
        "outside_communes": outside,
    }
    return pts


def _dedupe_stations(pts: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[str], list[str]]:
    drop: list[int] = []
    dropped: list[str] = []
    apart: list[str] = []
    power = pts["power_kw"].to_numpy().copy()
    dup_ids = pts["station_id"][pts["station_id"].duplicated(keep=False)].unique()
    for sid in dup_ids:
        rows = np.flatnonzero(pts["station_id"].to_numpy() == sid)
        kept: list[int] = []
        for r in rows:
            g = pts.geometry.iloc[r]
            near = [k for k in kept if g.distance(pts.geometry.iloc[k]) <= EV_DUPLICATE_TOLERANCE_M]
            if near:
                drop.append(r)
                dropped.append(sid)
                power[near[0]] = np.fmax(power[near[0]], power[r])
            else:
                kept.append(r)
        if len(kept) > 1:
            apart.append(sid)
    out = pts.copy()
    out["power_kw"] = power
    out = out.drop(index=out.index[drop])
    return out, sorted(dropped), sorted(apart)


def _uic8(codes: pd.Series, src: Path, column: str) -> pd.Series:
    """Normalise UIC codes to 8 digits (``0087586008`` and ``87586008`` → ``87586008``)."""
    text = codes.astype(str).str.strip()
    padded = text.str.zfill(10)
    bad = text[~text.str.fullmatch(r"\d{1,10}") | (padded.str[:2] != "00")]
    if len(bad):
        raise DataError(
            f"{src}: column {column!r} holds value(s) that are not UIC codes: {format_values(sorted(set(bad)))}"
        )
    return padded.str[-8:]


def train_stations(
    data_dir: str | os.PathLike | None = None,
    crs: Any = settings.default_crs,
    *,
    year: int = RIDERSHIP_YEAR,
) -> gpd.GeoDataFrame:
    """Passenger train stations with a ridership-based service weight, for the routing stage.

    The station file gives UIC codes on 10 characters (``0087586008``), the ridership file on
    8 (``87586008``); both are normalised to 8 digits before the join. The weight is

    ``service_weight = log10(1 + passengers in `year`)``

    (Agen, 1.21 million passengers in 2019: 6.08; a halt with 5,000: 3.70; no passenger: 0).
    The logarithm keeps a regional hub from drowning every halt while still ranking them.
    ``segment_weight`` is an alternative from the SNCF DRG segment (A 3, B 2, C 1).

    Parameters
    ----------
    data_dir : path-like, optional
        Data folder; default the study configuration's.
    crs : CRS-like
        Output CRS (default EPSG:2154).
    year : int
        Ridership year (2015–2020 in the file; default :data:`RIDERSHIP_YEAR`).

    Returns
    -------
    GeoDataFrame
        Columns ``uic`` (8 digits), ``name``, ``code`` (INSEE commune), ``dep``,
        ``drg_segment`` (A/B/C), ``segment_weight``, ``active`` (False when the platform has an
        end-of-validity date), ``ridership`` (passengers in ``year``; NaN when the station has
        no ridership row), ``ridership_missing``, ``service_weight`` (NaN when ridership is
        missing) and point ``geometry``. ``attrs["report"]`` lists ``no_ridership`` (station
        UICs) and ``ridership_only`` (ridership UICs with no station).

    Raises
    ------
    DataNotFoundError
        A file does not exist.
    DataError
        Missing columns (the message lists the available ones, e.g. another ridership year),
        malformed UIC codes or duplicate UIC codes in the ridership file.
    """
    ddir = _data_dir(data_dir)
    st_path = ddir / TRAIN_STATIONS_FILE
    rd_path = ddir / TRAIN_RIDERSHIP_FILE
    st_cols = [
        "Code UIC",
        "Intitulé gare",
        "code_commune",
        "Code département",
        "Segment DRG",
        "Date fin validité plateforme",
    ]
    stations = read_vector(st_path, columns=st_cols)
    riders_col = f"Total Voyageurs {year}"
    ridership = read_csv(rd_path, columns=[riders_col], code_columns=["Code UIC complet"])

    st_uic = _uic8(stations["Code UIC"], st_path, "Code UIC")
    rd_uic = _uic8(ridership["Code UIC complet"], rd_path, "Code UIC complet")
    dup = rd_uic[rd_uic.duplicated(keep=False)]
    if len(dup):
        raise DataError(f"{rd_path}: duplicate UIC codes {format_values(sorted(set(dup)))}")
    riders = pd.Series(
        _numeric(ridership[riders_col], rd_path, riders_col).to_numpy(), index=rd_uic.to_numpy()
    )

    out = gpd.GeoDataFrame(
        {
            "uic": st_uic.to_numpy(),
            "name": stations["Intitulé gare"].astype(str).to_numpy(),
            "code": stations["code_commune"].astype(str).to_numpy(),
            "dep": stations["Code département"].astype(str).to_numpy(),
            "drg_segment": stations["Segment DRG"].astype(str).str.upper().to_numpy(),
        },
        geometry=stations.geometry.to_crs(crs).to_numpy(),
        crs=crs,
    )
    out["segment_weight"] = out["drg_segment"].map(DRG_SEGMENT_WEIGHTS).astype("float64")
    out["active"] = stations["Date fin validité plateforme"].isna().to_numpy()
    out["ridership"] = out["uic"].map(riders).astype("float64")
    out["ridership_missing"] = out["ridership"].isna()
    out["service_weight"] = np.log10(1.0 + out["ridership"])
    out = out[
        [
            "uic",
            "name",
            "code",
            "dep",
            "drg_segment",
            "segment_weight",
            "active",
            "ridership",
            "ridership_missing",
            "service_weight",
            "geometry",
        ]
    ]

    no_riders = sorted(out.loc[out["ridership_missing"], "uic"])
    only_riders = sorted(set(rd_uic) - set(out["uic"]))
    if no_riders:
        logger.warning(
            "%s: %d station(s) without ridership in %s (service_weight NaN): %s",
            st_path,
            len(no_riders),
            rd_path.name,
            format_values(no_riders),
        )
    if only_riders:
        logger.warning(
            "%s: %d ridership row(s) match no station of %s: %s",
            rd_path,
            len(only_riders),
            st_path.name,
            format_values(only_riders),
        )
    if out["segment_weight"].isna().any():
        unknown = sorted(set(out.loc[out["segment_weight"].isna(), "drg_segment"]))
        logger.warning(
            "%s: unknown DRG segment(s) %s (segment_weight NaN)", st_path, format_values(unknown)
        )
    out.attrs["report"] = {"no_ridership": no_riders, "ridership_only": only_riders}
    return out


# --------------------------------------------------------------------------------------------
# Indicators through the road network
# --------------------------------------------------------------------------------------------

#: Threshold of the EV charging-point count, minutes.
EV_THRESHOLD_MIN = 15

#: Catchment of the rail service indicator, minutes (a station farther away adds nothing).
RAIL_CATCHMENT_MIN = 45


def _charging_points(ev: gpd.GeoDataFrame) -> np.ndarray:
    """Charging points per station; a station of unknown size counts as one point (it exists),
    logged."""
    pts = ev["nbre_pdc"].to_numpy(float)
    missing = np.isnan(pts)
    if missing.any():
        logger.warning(
            "%d EV station(s) without a number of charging points: counted as 1", int(missing.sum())
        )
    return np.where(missing, 1.0, pts)


def network_indicators(
    inputs: Any,
    ev_points: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    *,
    ev_threshold_min: float = EV_THRESHOLD_MIN,
    rail_catchment_min: float = RAIL_CATCHMENT_MIN,
) -> pd.DataFrame:
    """EV charging and rail indicators per study commune, through the road network.

    Parameters
    ----------
    inputs : geoattract.accessibility.metrics.AccessibilityInputs
        Snapped town halls and the routing structure (:func:`~geoattract.accessibility.metrics.prepare_inputs`).
    ev_points : GeoDataFrame
        From :func:`ev_charging_points` (``nbre_pdc`` charging points per station).
    stations : GeoDataFrame
        From :func:`train_stations` (``service_weight``, ``active``).
    ev_threshold_min : float
        Threshold of ``tr_ev_points_15min``.
    rail_catchment_min : float
        Catchment of ``tr_rail_service`` (linear decay to 0 at this time).

    Returns
    -------
    DataFrame
        Indexed like the study rows: ``tr_ev_time_min`` (nearest charging station),
        ``tr_ev_points_15min`` (charging points within the threshold), ``tr_rail_time_min``
        (nearest active passenger station), ``tr_rail_service`` (best
        ``service_weight × (1 - t / catchment)`` over the stations within the catchment: a
        busy station a little farther beats a halt next door; 0 when none), and ``_missing``
        flags where the town hall could not be snapped or nothing is reachable.
    """
    from geoattract.routing import facility_access, reach

    com = inputs.communes
    study = com[com["in_study"]]
    ok = study[~study["too_far"]]
    out = pd.DataFrame(index=study.index)

    def snapped(points: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
        # same snapping limit and access speed as the facilities of the accessibility stage
        sn = inputs.snap(points.geometry.to_crs(settings.default_crs))
        keep = ~sn["too_far"].to_numpy(bool)
        return points.loc[keep], sn.loc[keep]

    ev, ev_sn = snapped(ev_points)
    st = (
        stations[stations["active"].fillna(True).astype(bool)] if "active" in stations else stations
    )
    st, st_sn = snapped(st)
    specs = {
        "ev": (
            ev_sn["node"].to_numpy(),
            _charging_points(ev),
            ev_sn["snap_time_s"].to_numpy(float),
        ),
        "rail": (st_sn["node"].to_numpy(), None, st_sn["snap_time_s"].to_numpy(float)),
    }
    acc = facility_access(
        inputs.rg,
        ok["node"].to_numpy(),
        specs,
        [ev_threshold_min * 60.0],
        origin_offsets=ok["snap_s"].to_numpy(float),
    )
    for name, col in (("ev", "tr_ev_time_min"), ("rail", "tr_rail_time_min")):
        t = pd.Series(acc.nearest_s[name] / 60.0, index=ok.index).reindex(study.index)
        t[~np.isfinite(t)] = np.nan
        out[col] = t
        out[f"{col}_missing"] = t.isna()
    out[f"tr_ev_points_{int(ev_threshold_min)}min"] = pd.Series(
        acc.counts["ev"][:, 0], index=ok.index
    ).reindex(study.index)
    out[f"tr_ev_points_{int(ev_threshold_min)}min_missing"] = out[
        f"tr_ev_points_{int(ev_threshold_min)}min"
    ].isna()
    table = reach(
        inputs.rg,
        ok["node"].to_numpy(),
        st_sn["node"].to_numpy(),
        rail_catchment_min * 60.0,
        origin_offsets=ok["snap_s"].to_numpy(float),
        target_offsets=st_sn["snap_time_s"].to_numpy(float),
    )
    # a station of unknown ridership (closed, or missing from the SNCF table) adds no service
    # level: it still counts for the nearest-station time, and the commune's rail service is
    # then flagged when it has no better station
    weight = st["service_weight"].to_numpy(float)
    unknown = np.isnan(weight)
    weight = np.where(unknown, 0.0, weight)
    value = weight[table.target] * np.clip(1.0 - table.time / (rail_catchment_min * 60.0), 0.0, 1.0)
    best = np.zeros(len(ok))
    np.maximum.at(best, table.origin, value)
    out["tr_rail_service"] = pd.Series(best, index=ok.index).reindex(study.index)
    out["tr_rail_service_missing"] = out["tr_rail_service"].isna()
    partial = np.zeros(len(ok), bool)
    partial[table.origin[unknown[table.target]]] = True
    out["tr_rail_service_partial"] = (
        pd.Series(partial, index=ok.index).reindex(study.index).fillna(False)
    )
    return out
