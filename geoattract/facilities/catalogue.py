"""Facility catalogue and facility loading: the offer side of accessibility.

The catalogue (``data/facilities.toml``) lists the facility categories (GP, pharmacy,
school...), the pillar each belongs to, the tables their facilities come from, their capacity
unit, their travel-time thresholds and the distance decay of the enhanced two-step floating
catchment area (E2SFCA). :func:`load_catalogue` validates it against the data files;
:func:`load_facilities` turns it into one GeoDataFrame of points in Lambert-93, one row per
facility (or per commune x category for tables of counts such as the INSEE BPE).

Coverage matters: the BPE extract covers the study département only, so for BPE categories
the offer across the border is *unknown*, not zero. Each category says so with
``covers_buffer``; the accessibility stage must report the outside share as unknown for them.

OpenStreetMap is an alternative source through the same catalogue:
:func:`facilities_from_osm_online` (osmnx / Overpass) and :func:`facilities_from_pbf`
(pyrosm, a local ``.osm.pbf``).

:func:`housing_table` gathers the housing-pillar data per commune (DVF prices, RPLS social
housing).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from tqdm.auto import tqdm

from geoattract import settings
from geoattract._util.io import read_csv, read_vector, require_columns, require_file
from geoattract.accessibility.decay import Decay, decay_from_config
from geoattract.config.study import Field, check_thresholds, load_study_config, load_toml, validate
from geoattract.errors import ConfigError, DataError, NetworkError, format_values
from geoattract.facilities import osm_features as _osm_features

__all__ = [
    "MIN_SALES",
    "PILLARS",
    "Catalogue",
    "Category",
    "FacilityReport",
    "Source",
    "facilities_from_osm_online",
    "facilities_from_pbf",
    "housing_table",
    "load_catalogue",
    "load_facilities",
]

logger = logging.getLogger(__name__)

#: The catalogue shipped with the project.
DEFAULT_CATALOGUE: Path = settings.config_folder / "facilities.toml"

#: Pillars of the attractiveness score a category can feed.
PILLARS: tuple[str, ...] = ("services", "health", "culture", "housing", "transition")

#: Source types a category can list.
SOURCE_TYPES: tuple[str, ...] = ("bpe", "points", "table", "counts", "osm")

#: Source types read from the data folder (``source="files"``).
FILE_SOURCE_TYPES: tuple[str, ...] = ("bpe", "points", "table", "counts")

#: Source types that are per-commune counts of the study département only: a category using
#: one of them does not cover the buffer unless the catalogue says otherwise.
STUDY_ONLY_SOURCE_TYPES: tuple[str, ...] = ("bpe", "counts")

#: Default E2SFCA decay: the three-zone weights of Luo & Qi (2009, Health & Place 15,
#: 1100-1107), 1.00 / 0.68 / 0.22 for 0-10 / 10-20 / 20-30 minutes.
DEFAULT_DECAY: dict[str, Any] = {
    "type": "step",
    "breaks_min": [10.0, 20.0, 30.0],
    "weights": [1.0, 0.68, 0.22],
}

#: Columns of the GeoDataFrame :func:`load_facilities` returns, in order.
FACILITY_COLUMNS: list[str] = [
    "category",
    "facility_id",
    "name",
    "capacity",
    "capacity_missing",
    "code",
    "in_study",
    "source",
    "geometry",
]

#: A commune with fewer sales than this in DVF has an unreliable median price (flagged).
MIN_SALES: int = 5

#: DVF median prices per commune (relative to the data folder).
DVF_FILE: str = "indicators/housing_prices_dvf_2024_2025.csv"

#: RPLS social housing per commune (relative to the data folder).
RPLS_FILE: str = "indicators/social_housing_rpls_2024.csv"

#: Length of an INSEE commune code.
CODE_LENGTH: int = 5


# --------------------------------------------------------------------------- data model
@dataclass(frozen=True)
class Source:
    """One table a category takes its facilities from (see ``data/facilities.toml``)."""

    type: str
    file: str | None = None
    typequ: tuple[str, ...] = ()
    filter_column: str | None = None
    filter_values: tuple[Any, ...] = ()
    capacity_column: str | None = None
    code_column: str | None = None
    id_column: str | None = None
    name_column: str | None = None
    year_column: str | None = None
    count_column: str | None = None
    latest_only: bool = True
    tags: Mapping[str, Any] = field(default_factory=dict)
    require: Mapping[str, Any] = field(default_factory=dict)
    exclude: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """Short human description, used in logs and error messages."""
        if self.type == "bpe":
            return f"bpe {'+'.join(self.typequ)}"
        if self.type == "osm":
            extra = f" requiring {dict(self.require)}" if self.require else ""
            return f"osm {dict(self.tags)}{extra}"
        flt = f" [{self.filter_column} in {list(self.filter_values)}]" if self.filter_column else ""
        return f"{self.type} {self.file}{flt}"


@dataclass(frozen=True)
class Category:
    """A facility category of the catalogue.

    Attributes
    ----------
    id, pillar, label_fr, label_en : str
        Identity and labels.
    sources : tuple of Source
        Tables the facilities come from (all used together).
    capacity : str
        ``"count"`` or the unit of the capacity columns (``"births"``, ``"seats"``...).
    thresholds_min : tuple of int
        Travel-time thresholds for counts and isochrones.
    decay : geoattract.accessibility.decay.Decay
        E2SFCA distance decay (callable on minutes), built from ``decay_spec`` by
        :func:`geoattract.accessibility.decay.decay_from_config`.
    decay_spec : mapping
        The decay table as written in the catalogue.
    optional : bool
        An empty optional category is logged, not an error.
    covers_buffer : bool
        Whether the file sources cover the buffer zone; false means the offer outside the
        study département is unknown (not 0).
    description : str
        Source choice and caveats.
    """

    id: str
    pillar: str
    label_fr: str
    label_en: str
    sources: tuple[Source, ...]
    capacity: str = "count"
    thresholds_min: tuple[int, ...] = settings.thresholds_min
    decay: Decay | None = None
    decay_spec: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_DECAY))
    optional: bool = False
    covers_buffer: bool = True
    description: str = ""

    def sources_of(self, mode: str) -> tuple[Source, ...]:
        """Sources used with ``source="files"`` or ``source="osm"``."""
        if mode == "osm":
            return tuple(s for s in self.sources if s.type == "osm")
        return tuple(s for s in self.sources if s.type in FILE_SOURCE_TYPES)


@dataclass
class Catalogue:
    """The validated facility catalogue.

    Attributes
    ----------
    categories : dict
        Category id → :class:`Category`, in file order.
    path : Path
        The TOML file.
    data_dir : Path or None
        Data folder the file sources were checked against.
    bpe_files, bpe_code_files : tuple of str
        BPE count tables and TYPEQU code lists (relative to the data folder).
    bpe_code_column, bpe_sep : str
        Commune code column and field separator of the BPE tables.
    typequ_labels : dict
        TYPEQU code → label, from the code lists.
    """

    categories: dict[str, Category]
    path: Path
    data_dir: Path | None = None
    bpe_files: tuple[str, ...] = ()
    bpe_code_files: tuple[str, ...] = ()
    bpe_code_column: str = "CODGEO"
    bpe_sep: str = ";"
    typequ_labels: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Category:
        try:
            return self.categories[key]
        except KeyError:
            raise KeyError(
                f"unknown facility category {key!r}; known: {format_values(self.categories, limit=50)}"
            ) from None

    def __iter__(self):
        return iter(self.categories.values())

    def __len__(self) -> int:
        return len(self.categories)

    def __contains__(self, key: object) -> bool:
        return key in self.categories

    @property
    def ids(self) -> list[str]:
        """Category ids in file order."""
        return list(self.categories)

    def by_pillar(self, pillar: str) -> list[Category]:
        """Categories of one pillar."""
        return [c for c in self if c.pillar == pillar]

    def covers_buffer(self) -> dict[str, bool]:
        """Category id → whether its file sources cover the buffer zone."""
        return {c.id: c.covers_buffer for c in self}

    def to_frame(self) -> pd.DataFrame:
        """One row per category: id, pillar, labels, sources, capacity, decay, covers_buffer."""
        rows = []
        for c in self:
            decay = c.decay.name if c.decay is not None else "-"
            rows.append(
                {
                    "id": c.id,
                    "pillar": c.pillar,
                    "label_fr": c.label_fr,
                    "label_en": c.label_en,
                    "sources": "; ".join(s.describe() for s in c.sources_of("files")) or "-",
                    "osm": "; ".join(s.describe() for s in c.sources_of("osm")) or "-",
                    "capacity": c.capacity,
                    "thresholds_min": list(c.thresholds_min),
                    "decay": decay,
                    "covers_buffer": c.covers_buffer,
                    "optional": c.optional,
                }
            )
        return pd.DataFrame(rows)


@dataclass
class FacilityReport:
    """What :func:`load_facilities` found; stored in ``facilities.attrs["report"]``.

    Attributes
    ----------
    unmatched_codes : dict
        Category → commune codes of the study département found in a table but absent from
        the territory (older geography, merged communes). Their facilities are not placed.
    outside_dropped : dict
        Category → number of facilities outside the territory (study + buffer), dropped.
    code_replaced : dict
        Category → number of points whose file code is not a territory code and whose
        commune was taken from a spatial join instead.
    closed_units : dict
        Category → ids of units absent from the latest year of a yearly table (dropped).
    departements : dict
        Category → départements where facilities were found.
    covers_buffer : dict
        Category → whether the buffer offer is known (from the catalogue).
    capacity_unit : dict
        Category → unit of the ``capacity`` column ("count", "births", "seats"...).
    empty_optional : list
        Optional categories without any facility.
    """

    unmatched_codes: dict[str, list[str]] = field(default_factory=dict)
    outside_dropped: dict[str, int] = field(default_factory=dict)
    code_replaced: dict[str, int] = field(default_factory=dict)
    closed_units: dict[str, list[str]] = field(default_factory=dict)
    departements: dict[str, list[str]] = field(default_factory=dict)
    covers_buffer: dict[str, bool] = field(default_factory=dict)
    capacity_unit: dict[str, str] = field(default_factory=dict)
    empty_optional: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line per finding."""
        lines = []
        for cat, codes in self.unmatched_codes.items():
            if codes:
                lines.append(f"{cat}: codes not in the territory: {format_values(codes)}")
        for cat, n in self.outside_dropped.items():
            if n:
                lines.append(f"{cat}: {n} facilities outside the territory dropped")
        for cat, ids in self.closed_units.items():
            if ids:
                lines.append(f"{cat}: closed units dropped: {format_values(ids)}")
        if self.empty_optional:
            lines.append(f"empty optional categories: {format_values(self.empty_optional)}")
        unknown = [c for c, v in self.covers_buffer.items() if not v]
        if unknown:
            lines.append(
                f"buffer offer unknown (study-only sources): {format_values(unknown, limit=40)}"
            )
        return "\n".join(lines) or "no issue found"


# --------------------------------------------------------------------------- catalogue
def _tag_spec(v: Mapping) -> str | None:
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


_FILTER_SCHEMA = {
    "column": Field(str, doc="column to filter on"),
    "values": Field(list, doc="values kept"),
}

_DECAY_SCHEMA = {
    "type": Field(str, choices=("apl", "step", "flat", "linear", "gaussian")),
    "breaks_min": Field(list, required=False, default=None, items=float),
    "weights": Field(list, required=False, default=None, items=float),
    "catchment_min": Field(float, required=False, default=None),
    "sigma_min": Field(float, required=False, default=None),
}

_SOURCE_SCHEMAS: dict[str, dict[str, Field]] = {
    "bpe": {
        "type": Field(str),
        "typequ": Field(list, items=str, doc="INSEE BPE TYPEQU codes (summed)"),
    },
    "points": {
        "type": Field(str),
        "file": Field(str, doc="point layer, relative to the data folder"),
        "filter": Field(dict, required=False, default=None, schema=_FILTER_SCHEMA),
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
        "filter": Field(dict, required=False, default=None, schema=_FILTER_SCHEMA),
    },
    "counts": {
        "type": Field(str),
        "file": Field(str, doc="CSV of counts per commune"),
        "code_column": Field(str),
        "count_column": Field(str),
        "filter": Field(dict, required=False, default=None, schema=_FILTER_SCHEMA),
    },
    "osm": {
        "type": Field(str),
        "tags": Field(dict, check=_tag_spec, doc="OR-ed OSM tags"),
        "require": Field(dict, required=False, default={}, check=_tag_spec),
        "exclude": Field(dict, required=False, default={}, check=_tag_spec),
    },
}

_CATEGORY_SCHEMA = {
    "id": Field(str, required=False, default=None, doc="defaults to the table name"),
    "pillar": Field(str, choices=PILLARS),
    "label_fr": Field(str),
    "label_en": Field(str),
    "sources": Field(list, items=dict),
    "capacity": Field(
        str, required=False, default="count", doc='"count" or the unit of the capacity columns'
    ),
    "thresholds_min": Field(
        list,
        items=int,
        required=False,
        default=list(settings.thresholds_min),
        check=check_thresholds,
    ),
    "decay": Field(dict, required=False, default=DEFAULT_DECAY, schema=_DECAY_SCHEMA),
    "optional": Field(bool, required=False, default=False),
    "covers_buffer": Field(bool, required=False, default=None),
    "description": Field(str, required=False, default=""),
}

_CATALOGUE_SCHEMA = {
    "bpe": Field(
        dict,
        required=False,
        default={},
        schema={
            "files": Field(list, items=str, doc="BPE count tables, relative to the data folder"),
            "code_files": Field(list, items=str, doc="TYPEQU code lists (code;libelle)"),
            "code_column": Field(str, required=False, default="CODGEO"),
            "sep": Field(str, required=False, default=";"),
        },
    ),
    "categories": Field(dict),
}


def _build_decay(raw: Mapping[str, Any], source: Path, key: str) -> tuple[Decay, dict[str, Any]]:
    """Validate a decay table and build it with :func:`geoattract.accessibility.decay.decay_from_config`."""
    spec = {k: v for k, v in raw.items() if v is not None}
    if spec["type"] == "step":
        breaks, weights = spec.get("breaks_min"), spec.get("weights")
        if not breaks or not weights or len(breaks) != len(weights):
            raise ConfigError(
                f"{source}: key '{key}.decay' of type 'step' needs breaks_min and weights of the "
                f"same non-zero length, got {breaks!r} and {weights!r}"
            )
        if any(w < 0 or w > 1 for w in weights) or any(
            a < b for a, b in zip(weights, weights[1:], strict=False)
        ):
            raise ConfigError(
                f"{source}: key '{key}.decay.weights' must be in [0, 1] and non-increasing, got {weights!r}"
            )
    try:
        decay = decay_from_config(spec)
    except ConfigError as exc:
        raise ConfigError(f"{source}: key '{key}.decay': {exc}") from exc
    return decay, spec


def _build_source(raw: Mapping[str, Any], source: Path, key: str) -> Source:
    stype = raw.get("type")
    if stype not in _SOURCE_SCHEMAS:
        raise ConfigError(
            f"{source}: key '{key}.type' must be one of {list(SOURCE_TYPES)}, got {stype!r}"
        )
    doc = validate(raw, _SOURCE_SCHEMAS[stype], source, prefix=key + ".")
    flt = doc.get("filter") or {}
    return Source(
        type=stype,
        file=doc.get("file"),
        typequ=tuple(doc.get("typequ") or ()),
        filter_column=flt.get("column"),
        filter_values=tuple(flt.get("values") or ()),
        capacity_column=doc.get("capacity_column"),
        code_column=doc.get("code_column"),
        id_column=doc.get("id_column"),
        name_column=doc.get("name_column"),
        year_column=doc.get("year_column"),
        count_column=doc.get("count_column"),
        latest_only=doc.get("latest_only", True),
        tags=dict(doc.get("tags") or {}),
        require=dict(doc.get("require") or {}),
        exclude=dict(doc.get("exclude") or {}),
    )


def _columns_of(path: Path, sep: str | None = None) -> list[str]:
    """Column names of a CSV or vector file, read without loading the data."""
    require_file(path, "facility source file")
    if path.suffix.lower() == ".csv":
        head = pd.read_csv(
            path, nrows=0, sep=sep, engine="python" if sep is None else "c", encoding="utf-8-sig"
        )
        return [str(c).strip() for c in head.columns]
    info = pyogrio.read_info(path)
    return [str(c) for c in info["fields"]]


def _check_source_columns(cat_id: str, src: Source, data_dir: Path) -> None:
    if src.type not in ("points", "table", "counts"):
        return
    path = data_dir / src.file
    available = _columns_of(path)
    wanted = {
        "filter column": src.filter_column,
        "capacity_column": src.capacity_column,
        "code_column": src.code_column,
        "id_column": src.id_column,
        "name_column": src.name_column,
        "year_column": src.year_column,
        "count_column": src.count_column,
    }
    missing = {k: v for k, v in wanted.items() if v is not None and v not in available}
    if missing:
        raise DataError(
            f"{path}: category '{cat_id}' ({src.describe()}) names unknown column(s) "
            f"{', '.join(f'{k}={v!r}' for k, v in missing.items())}; "
            f"available: {format_values(available, limit=60)}"
        )


def _read_typequ_labels(data_dir: Path, code_files: Iterable[str], sep: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for rel in code_files:
        codes = read_csv(data_dir / rel, columns=["code"], sep=sep)
        label_col = "libelle" if "libelle" in codes.columns else codes.columns[-1]
        labels.update(
            dict(
                zip(
                    codes["code"].astype(str).str.strip(), codes[label_col].astype(str), strict=True
                )
            )
        )
    return labels


def load_catalogue(
    path: str | os.PathLike | None = None,
    *,
    data_dir: str | os.PathLike | None = None,
    check_files: bool = True,
) -> Catalogue:
    """Load and validate the facility catalogue.

    Parameters
    ----------
    path : path-like, optional
        TOML file; defaults to ``data/facilities.toml``.
    data_dir : path-like, optional
        Data folder the file sources are checked against; defaults to the Lot-et-Garonne
        study's data folder.
    check_files : bool
        Check that every file exists, that every named column exists and that every TYPEQU
        code is in the BPE code lists. Turn off only to inspect a catalogue without data.

    Returns
    -------
    Catalogue

    Raises
    ------
    ConfigError
        Malformed TOML, unknown or missing key, unknown pillar or source type, duplicate
        category id, decay without consistent breaks and weights, TYPEQU code absent from the
        BPE code lists (the message names the category and the code), a category whose
        capacity is not "count" but has a source without capacity column.
    DataError
        A points/table/counts source names a column its file does not have (the message lists
        the available columns).
    DataNotFoundError
        A file of the catalogue is missing.
    """
    p = Path(path) if path is not None else DEFAULT_CATALOGUE
    doc = validate(load_toml(p), _CATALOGUE_SCHEMA, p)
    bpe = doc["bpe"] or {}
    ddir: Path | None = None
    if check_files:
        ddir = Path(data_dir) if data_dir is not None else load_study_config().data_dir
    categories: dict[str, Category] = {}
    for table_key, raw in doc["categories"].items():
        key = f"categories.{table_key}"
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{p}: key '{key}' must be a table, got {type(raw).__name__}")
        c = validate(raw, _CATEGORY_SCHEMA, p, prefix=key + ".")
        cid = c["id"] or table_key
        if cid in categories:
            raise ConfigError(
                f"{p}: duplicate category id {cid!r} (in [{key}] and an earlier table)"
            )
        if not c["sources"]:
            raise ConfigError(f"{p}: key '{key}.sources' must list at least one source")
        sources = tuple(
            _build_source(s, p, f"{key}.sources[{i}]") for i, s in enumerate(c["sources"])
        )
        if c["capacity"] != "count":
            bad = [
                s.describe()
                for s in sources
                if s.type in STUDY_ONLY_SOURCE_TYPES
                or (s.type in ("points", "table") and not s.capacity_column)
            ]
            if bad:
                raise ConfigError(
                    f"{p}: category '{cid}' has capacity {c['capacity']!r} but source(s) without a "
                    f'capacity column: {format_values(bad)}; use capacity = "count" or add capacity_column'
                )
        decay, decay_spec = _build_decay(c["decay"], p, key)
        covers = c["covers_buffer"]
        if covers is None:
            covers = not any(s.type in STUDY_ONLY_SOURCE_TYPES for s in sources)
        categories[cid] = Category(
            id=cid,
            pillar=c["pillar"],
            label_fr=c["label_fr"],
            label_en=c["label_en"],
            sources=sources,
            capacity=c["capacity"],
            thresholds_min=tuple(c["thresholds_min"]),
            decay=decay,
            decay_spec=decay_spec,
            optional=c["optional"],
            covers_buffer=bool(covers),
            description=c["description"],
        )
    if not categories:
        raise ConfigError(f"{p}: no category in [categories]")
    uses_bpe = [c.id for c in categories.values() if any(s.type == "bpe" for s in c.sources)]
    if uses_bpe and not bpe:
        raise ConfigError(
            f"{p}: categories {format_values(uses_bpe)} use BPE sources but there is no [bpe] table"
        )
    cat = Catalogue(
        categories=categories,
        path=p.resolve(),
        data_dir=ddir,
        bpe_files=tuple(bpe.get("files", ())),
        bpe_code_files=tuple(bpe.get("code_files", ())),
        bpe_code_column=bpe.get("code_column", "CODGEO"),
        bpe_sep=bpe.get("sep", ";"),
    )
    if check_files:
        assert ddir is not None
        if uses_bpe:
            cat.typequ_labels = _read_typequ_labels(ddir, cat.bpe_code_files, cat.bpe_sep)
        for c in categories.values():
            for s in c.sources:
                unknown = [code for code in s.typequ if code not in cat.typequ_labels]
                if unknown:
                    raise ConfigError(
                        f"{p}: category '{c.id}': unknown TYPEQU code(s) {format_values(unknown)}: "
                        f"not in the BPE code lists {format_values(cat.bpe_code_files)}"
                    )
                _check_source_columns(c.id, s, ddir)
    logger.debug("catalogue %s: %d categories", p, len(categories))
    return cat


# --------------------------------------------------------------------------- loading helpers
def _normalise_codes(values: pd.Series) -> pd.Series:
    """INSEE codes as 5-character strings ('1001' → '01001', '47001.0' → '47001')."""
    s = values.astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    digits = s.str.fullmatch(r"\d+").fillna(False).astype(bool)
    s = s.where(~digits, s.str.zfill(CODE_LENGTH))
    return s.astype(object).where(s.notna(), None)


def _numeric(values: pd.Series, path: Path, column: str) -> pd.Series:
    """Numbers from a column; NaN stays NaN, text that is not a number is an error."""
    raw = values.astype("string").str.strip().str.replace(",", ".", regex=False)
    num = pd.to_numeric(raw, errors="coerce")
    bad = raw[num.isna() & raw.notna() & (raw != "")]
    if len(bad):
        raise DataError(
            f"{path}: non-numeric values in column {column!r}: {format_values(sorted(set(bad)))}"
        )
    negative = raw[(num < 0).fillna(False).astype(bool)]
    if len(negative):
        raise DataError(
            f"{path}: negative values in column {column!r}: {format_values(sorted(set(negative)))}"
        )
    return num.astype(float)


def _apply_filter(df: pd.DataFrame, src: Source, path: Path) -> pd.DataFrame:
    if src.filter_column is None:
        return df
    require_columns(df, [src.filter_column], path)
    wanted = {str(v) for v in src.filter_values}
    keep = df[src.filter_column].astype("string").isin(wanted).fillna(False).astype(bool)
    return df.loc[keep.to_numpy()]


@dataclass
class _Context:
    territory: gpd.GeoDataFrame
    catalogue: Catalogue
    data_dir: Path
    report: FacilityReport
    study_dep: str
    codes: pd.Index
    town_halls: gpd.GeoSeries
    names: pd.Series
    code_set: set[str] = field(default_factory=set)
    cache: dict[str, Any] = field(default_factory=dict)


def _empty_frame(crs: Any) -> gpd.GeoDataFrame:
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in FACILITY_COLUMNS if c != "geometry"})
    df["capacity"] = df["capacity"].astype(float)
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _report_unmatched(
    ctx: _Context, cat: Category, src: Source, codes: Iterable[str], path: Path
) -> None:
    """Codes absent from the territory: study-département codes are mismatches (reported), others
    are outside the buffer (counted)."""
    codes = sorted(set(codes))
    study = [c for c in codes if c.startswith(ctx.study_dep)]
    other = [c for c in codes if not c.startswith(ctx.study_dep)]
    if study:
        ctx.report.unmatched_codes.setdefault(cat.id, []).extend(study)
        logger.warning(
            "%s: category %s (%s): %d commune code(s) of département %s not in the territory "
            "(older geography or merged communes), their facilities are not placed: %s",
            path,
            cat.id,
            src.describe(),
            len(study),
            ctx.study_dep,
            format_values(study),
        )
    if other:
        logger.info(
            "%s: category %s: %d commune code(s) outside the territory ignored",
            path,
            cat.id,
            len(other),
        )


def _at_town_halls(
    ctx: _Context, cat: Category, src: Source, table: pd.DataFrame, path: Path
) -> gpd.GeoDataFrame:
    """Place rows with columns code, facility_id, name, capacity at their commune's town hall."""
    known = table["code"].isin(ctx.codes)
    _report_unmatched(ctx, cat, src, table.loc[~known, "code"], path)
    outside = int((~known & ~table["code"].str.startswith(ctx.study_dep)).sum())
    if outside:
        ctx.report.outside_dropped[cat.id] = ctx.report.outside_dropped.get(cat.id, 0) + outside
    table = table.loc[known]
    geoms = ctx.town_halls.reindex(table["code"]).to_numpy()
    out = gpd.GeoDataFrame(
        table.reset_index(drop=True), geometry=list(geoms), crs=ctx.territory.crs
    )
    return out


def _load_bpe(ctx: _Context, cat: Category, src: Source) -> gpd.GeoDataFrame:
    cat_cfg = ctx.catalogue
    frames = []
    found: set[str] = set()
    for rel in cat_cfg.bpe_files:
        path = ctx.data_dir / rel
        key = f"bpe:{path}"
        if key not in ctx.cache:
            table = read_csv(path, code_columns=[cat_cfg.bpe_code_column], sep=cat_cfg.bpe_sep)
            table[cat_cfg.bpe_code_column] = _normalise_codes(table[cat_cfg.bpe_code_column])
            dup = table[cat_cfg.bpe_code_column][table[cat_cfg.bpe_code_column].duplicated()]
            if len(dup):
                raise DataError(
                    f"{path}: duplicate codes in column {cat_cfg.bpe_code_column!r}: {format_values(dup)}"
                )
            ctx.cache[key] = table
        table = ctx.cache[key]
        cols = [c for c in src.typequ if c in table.columns]
        if not cols:
            continue
        found.update(cols)
        counts = pd.DataFrame({c: _numeric(table[c], path, c) for c in cols})
        missing = table.loc[counts.isna().any(axis=1), cat_cfg.bpe_code_column]
        if len(missing):
            raise DataError(
                f"{path}: empty counts in column(s) {format_values(cols)} for codes {format_values(missing)}"
            )
        frames.append(
            pd.DataFrame(
                {
                    "code": table[cat_cfg.bpe_code_column].to_numpy(),
                    "count": counts.sum(axis=1).to_numpy(),
                }
            )
        )
    absent = [c for c in src.typequ if c not in found]
    if absent:
        raise DataError(
            f"category '{cat.id}': TYPEQU column(s) {format_values(absent)} absent from the BPE tables "
            f"{format_values(cat_cfg.bpe_files)}"
        )
    table = pd.concat(frames).groupby("code", as_index=False)["count"].sum()
    table = table.loc[table["count"] > 0]
    codes = table["code"].astype(str)
    out = pd.DataFrame(
        {
            "code": codes.to_numpy(),
            "facility_id": [f"bpe:{'+'.join(src.typequ)}:{c}" for c in codes],
            "name": [f"{cat.label_fr} ({ctx.names.get(c, c)})" for c in codes],
            "capacity": table["count"].to_numpy(dtype=float),
        }
    )
    return _at_town_halls(ctx, cat, src, out, ctx.data_dir / cat_cfg.bpe_files[0])


def _read_vector_cached(ctx: _Context, path: Path) -> gpd.GeoDataFrame:
    key = f"vector:{path}"
    if key not in ctx.cache:
        ctx.cache[key] = read_vector(path).to_crs(ctx.territory.crs)
    return ctx.cache[key]


def _spatial_codes(ctx: _Context, points: np.ndarray) -> np.ndarray:
    """Territory commune code of each point (None outside the territory)."""
    codes = np.full(len(points), None, dtype=object)
    if len(points) == 0:
        return codes
    pt_idx, poly_idx = ctx.territory.sindex.query(points, predicate="within")
    # a point on a shared boundary may match two communes: keep the first
    first = ~pd.Series(pt_idx).duplicated().to_numpy()
    codes[pt_idx[first]] = ctx.territory["code"].to_numpy()[poly_idx[first]]
    return codes


def _place_points(
    ctx: _Context, cat: Category, frame: gpd.GeoDataFrame, file_codes: pd.Series | None, label: str
) -> gpd.GeoDataFrame:
    """Give points a territory code (file code when it is a territory code, else spatial join);
    drop those outside the territory with a logged count."""
    geoms = _osm_features.representative_points(frame.geometry.to_numpy())
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        logger.warning(
            "%s: category %s: %d feature(s) without geometry dropped",
            label,
            cat.id,
            int(empty.sum()),
        )
    spatial = _spatial_codes(ctx, geoms)
    spatial[empty] = None
    if file_codes is not None:
        fc = _normalise_codes(file_codes).to_numpy(dtype=object)
        in_terr = np.array([c is not None and c in ctx.code_set for c in fc], dtype=bool) & ~empty
        code = np.where(in_terr, fc, spatial)
        has_spatial = np.array([c is not None for c in spatial], dtype=bool)
        replaced = int((~in_terr & has_spatial).sum())
        if replaced:
            ctx.report.code_replaced[cat.id] = ctx.report.code_replaced.get(cat.id, 0) + replaced
            logger.info(
                "%s: category %s: %d point(s) whose commune code is not a territory code "
                "placed by spatial join",
                label,
                cat.id,
                replaced,
            )
    else:
        code = spatial
    keep = np.array([c is not None for c in code], dtype=bool)
    dropped = int((~keep).sum())
    if dropped:
        ctx.report.outside_dropped[cat.id] = ctx.report.outside_dropped.get(cat.id, 0) + dropped
        logger.info(
            "%s: category %s: %d facility(ies) outside the territory dropped",
            label,
            cat.id,
            dropped,
        )
    out = frame.loc[keep].copy()
    out["code"] = code[keep]
    out = out.set_geometry(list(geoms[keep]), crs=ctx.territory.crs)
    return out


def _load_points(ctx: _Context, cat: Category, src: Source) -> gpd.GeoDataFrame:
    path = ctx.data_dir / src.file
    layer = _read_vector_cached(ctx, path)
    require_columns(
        layer,
        [
            c
            for c in (
                src.capacity_column,
                src.code_column,
                src.id_column,
                src.name_column,
                src.filter_column,
            )
            if c
        ],
        path,
    )
    layer = _apply_filter(layer, src, path)
    frame = gpd.GeoDataFrame(
        {
            "facility_id": (
                layer[src.id_column].astype(str).to_numpy()
                if src.id_column
                else [f"{Path(src.file).stem}:{i}" for i in layer.index]
            ),
            "name": layer[src.name_column].astype(object).to_numpy() if src.name_column else None,
            "capacity": (
                _numeric(layer[src.capacity_column], path, src.capacity_column).to_numpy()
                if src.capacity_column
                else np.ones(len(layer))
            ),
        },
        geometry=layer.geometry.to_numpy(),
        crs=ctx.territory.crs,
    )
    file_codes = pd.Series(layer[src.code_column].to_numpy()) if src.code_column else None
    return _place_points(ctx, cat, frame, file_codes, str(path))


def _load_table(ctx: _Context, cat: Category, src: Source) -> gpd.GeoDataFrame:
    path = ctx.data_dir / src.file
    cols = [c for c in (src.name_column, src.year_column, src.capacity_column) if c]
    table = read_csv(path, columns=cols, code_columns=[src.code_column, src.id_column])
    table = _apply_filter(table, src, path)
    table[src.code_column] = _normalise_codes(table[src.code_column])
    if src.year_column and src.latest_only:
        years = _numeric(table[src.year_column], path, src.year_column)
        table = table.assign(_year=years.to_numpy()).sort_values("_year", kind="stable")
        latest = table.groupby(src.id_column).tail(1)
        last_year = latest["_year"].max()
        closed = latest.loc[latest["_year"] < last_year]
        if len(closed):
            ids = [
                f"{i} ({n}, last {int(y)})"
                for i, n, y in zip(
                    closed[src.id_column],
                    closed[src.name_column] if src.name_column else closed[src.id_column],
                    closed["_year"],
                    strict=True,
                )
            ]
            ctx.report.closed_units[cat.id] = sorted(closed[src.id_column].astype(str))
            logger.info(
                "%s: category %s: %d unit(s) absent from the latest year %d treated as closed: %s",
                path,
                cat.id,
                len(closed),
                int(last_year),
                format_values(ids),
            )
        table = latest.loc[latest["_year"] == last_year]
    else:
        dup = table[src.id_column][table[src.id_column].duplicated()]
        if len(dup):
            raise DataError(
                f"{path}: duplicate ids in column {src.id_column!r}: {format_values(sorted(set(dup)))}; "
                f"set year_column to keep the latest year"
            )
    out = pd.DataFrame(
        {
            "code": table[src.code_column].to_numpy(),
            "facility_id": table[src.id_column].astype(str).to_numpy(),
            "name": table[src.name_column].to_numpy() if src.name_column else None,
            "capacity": (
                _numeric(table[src.capacity_column], path, src.capacity_column).to_numpy()
                if src.capacity_column
                else np.ones(len(table))
            ),
        }
    )
    return _at_town_halls(ctx, cat, src, out, path)


def _load_counts(ctx: _Context, cat: Category, src: Source) -> gpd.GeoDataFrame:
    path = ctx.data_dir / src.file
    table = read_csv(path, columns=[src.count_column], code_columns=[src.code_column])
    table = _apply_filter(table, src, path)
    counts = _numeric(table[src.count_column], path, src.count_column)
    grouped = (
        pd.DataFrame(
            {
                "code": _normalise_codes(table[src.code_column]).to_numpy(),
                "count": counts.to_numpy(),
            }
        )
        .groupby("code", as_index=False)["count"]
        .sum(min_count=1)
    )
    grouped = grouped.loc[grouped["count"] > 0]
    stem = Path(src.file).stem
    out = pd.DataFrame(
        {
            "code": grouped["code"].to_numpy(),
            "facility_id": [f"{stem}:{cat.id}:{c}" for c in grouped["code"]],
            "name": [f"{cat.label_fr} ({ctx.names.get(c, c)})" for c in grouped["code"]],
            "capacity": grouped["count"].to_numpy(dtype=float),
        }
    )
    return _at_town_halls(ctx, cat, src, out, path)


_LOADERS = {"bpe": _load_bpe, "points": _load_points, "table": _load_table, "counts": _load_counts}


def _unique_ids(ids: pd.Series) -> pd.Series:
    """Make ids unique by suffixing repeats with '#2', '#3'..."""
    rank = ids.groupby(ids).cumcount()
    return ids.where(rank == 0, ids + "#" + (rank + 1).astype(str))


def _finish(ctx: _Context, frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    crs = ctx.territory.crs
    frames = [f for f in frames if len(f)]
    if not frames:
        return _empty_frame(crs)
    out = pd.concat(frames, ignore_index=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=crs)
    out["facility_id"] = out.groupby("category", group_keys=False)["facility_id"].apply(_unique_ids)
    out["capacity"] = out["capacity"].astype(float)
    out["capacity_missing"] = out["capacity"].isna()
    in_study = pd.Series(
        ctx.territory["in_study"].to_numpy(), index=ctx.territory["code"].to_numpy()
    )
    out["in_study"] = out["code"].map(in_study).astype(bool)
    out["name"] = out["name"].astype(object)
    return out[FACILITY_COLUMNS].reset_index(drop=True)


def _check_territory(territory: gpd.GeoDataFrame) -> None:
    if not isinstance(territory, gpd.GeoDataFrame):
        raise DataError(
            f"territory must be a GeoDataFrame (from load_territory), got {type(territory).__name__}"
        )
    require_columns(territory, ["code", "in_study", "town_hall", "geometry"], "territory")
    if territory.crs is None:
        raise DataError("territory: layer has no CRS")
    if not territory["in_study"].any():
        raise DataError("territory: no commune has in_study = True")


def _context(territory: gpd.GeoDataFrame, catalogue: Catalogue, data_dir: Path | None) -> _Context:
    study_deps = territory.loc[territory["in_study"], "code"].str[:2].unique()
    study_dep = str(territory.attrs.get("departement", study_deps[0]))
    codes = pd.Index(territory["code"].astype(str))
    halls = gpd.GeoSeries(territory["town_hall"].to_numpy(), index=codes, crs=territory.crs)
    names = pd.Series(
        territory["nom"].to_numpy() if "nom" in territory else codes.to_numpy(), index=codes
    )
    ctx = _Context(
        territory=territory,
        catalogue=catalogue,
        data_dir=data_dir or Path("."),
        report=FacilityReport(),
        study_dep=study_dep,
        codes=codes,
        town_halls=halls,
        names=names,
        code_set=set(codes),
    )
    return ctx


def _select(catalogue: Catalogue, categories: Iterable[str] | None) -> list[Category]:
    if categories is None:
        return list(catalogue)
    return [catalogue[c] for c in categories]


def _empty_category(ctx: _Context, cat: Category, sources: tuple[Source, ...]) -> None:
    described = format_values([s.describe() for s in sources])
    if cat.optional:
        ctx.report.empty_optional.append(cat.id)
        logger.warning("optional category %s: no facility found in %s", cat.id, described)
        return
    raise DataError(
        f"category '{cat.id}': no facility found in the territory from source(s) {described}; "
        f"fix the sources or set optional = true"
    )


def _finalise_report(ctx: _Context, out: gpd.GeoDataFrame, cats: list[Category], mode: str) -> None:
    for cat in cats:
        rows = out.loc[out["category"] == cat.id, "code"]
        ctx.report.departements[cat.id] = sorted(set(rows.str[:2]))
        covers = cat.covers_buffer if mode == "files" else True
        ctx.report.covers_buffer[cat.id] = covers
        ctx.report.capacity_unit[cat.id] = cat.capacity if mode == "files" else "count"
        if covers and len(rows) and set(ctx.report.departements[cat.id]) == {ctx.study_dep}:
            logger.warning(
                "category %s: covers_buffer is true but every facility is in département %s",
                cat.id,
                ctx.study_dep,
            )


def load_facilities(
    territory: gpd.GeoDataFrame,
    catalogue: Catalogue,
    data_dir: str | os.PathLike | None = None,
    *,
    source: str = "files",
    osm: Any = None,
    categories: Iterable[str] | None = None,
    verbose: bool = False,
) -> gpd.GeoDataFrame:
    """Load the facilities of every catalogue category inside the territory.

    Parameters
    ----------
    territory : GeoDataFrame
        From :func:`geoattract.territory.load.load_territory` (study + buffer communes).
    catalogue : Catalogue
        From :func:`load_catalogue`.
    data_dir : path-like, optional
        Data folder; defaults to the one the catalogue was checked against.
    source : {"files", "osm"}
        ``"files"``: the BPE, point, table and count sources of the catalogue.
        ``"osm"``: the catalogue's OSM sources only (categories without one are skipped).
    osm : GeoDataFrame, path-like or None
        With ``source="osm"``: features already extracted by :func:`facilities_from_pbf` or
        :func:`facilities_from_osm_online`, a ``.osm.pbf`` path, or None to query Overpass.
    categories : iterable of str, optional
        Restrict to these category ids.
    verbose : bool
        Show a progress bar.

    Returns
    -------
    GeoDataFrame
        EPSG of the territory (Lambert-93), columns ``category``, ``facility_id`` (unique
        within a category), ``name``, ``capacity`` (float: the count for BPE and count
        tables, the capacity column for point/table sources, 1 otherwise),
        ``capacity_missing`` (capacity NaN in the source), ``code`` (INSEE code of the
        commune), ``in_study``, ``source`` (bpe/points/table/counts/osm) and a Point
        geometry. Tables without coordinates are placed at the commune's town hall (one row
        per commune x category). ``attrs["report"]`` is a :class:`FacilityReport`;
        ``attrs["covers_buffer"]`` maps each category to whether its buffer offer is known.

    Raises
    ------
    DataError
        A non-optional category has no facility (the message names it and its sources), a
        file lacks a column, a count or capacity is not a number.
    DataNotFoundError
        A source file is missing.
    """
    _check_territory(territory)
    if source not in ("files", "osm"):
        raise ValueError(f"source must be 'files' or 'osm', got {source!r}")
    ddir = Path(data_dir) if data_dir is not None else catalogue.data_dir
    if source == "files" and ddir is None:
        raise DataError(
            "load_facilities: no data folder (catalogue loaded with check_files=False); pass data_dir"
        )
    ctx = _context(territory, catalogue, ddir)
    cats = _select(catalogue, categories)
    if source == "osm":
        out = _load_osm(ctx, cats, osm)
    else:
        frames = []
        for cat in tqdm(cats, desc="facilities", disable=not verbose):
            srcs = cat.sources_of("files")
            parts = []
            for src in srcs:
                part = _LOADERS[src.type](ctx, cat, src)
                part["source"] = src.type
                parts.append(part)
            parts = [p for p in parts if len(p)]
            if not parts:
                _empty_category(ctx, cat, srcs)
                continue
            frame = pd.concat(parts, ignore_index=True)
            frame["category"] = cat.id
            frames.append(frame)
        out = _finish(ctx, frames)
    _finalise_report(ctx, out, cats, source)
    out.attrs["report"] = ctx.report
    out.attrs["covers_buffer"] = dict(ctx.report.covers_buffer)
    out.attrs["capacity_unit"] = dict(ctx.report.capacity_unit)
    out.attrs["source"] = source
    counts = out.groupby("category")["capacity"].sum()
    logger.info(
        "facilities (%s): %d rows, %d categories; %s",
        source,
        len(out),
        out["category"].nunique(),
        ", ".join(
            f"{k}={v:g}"
            + (
                ""
                if ctx.report.capacity_unit.get(k, "count") == "count"
                else f" {ctx.report.capacity_unit[k]}"
            )
            for k, v in counts.items()
        ),
    )
    return out


# --------------------------------------------------------------------------- OpenStreetMap
def _osm_categories(catalogue: Catalogue, categories: Iterable[str] | None) -> list[Category]:
    return [c for c in _select(catalogue, categories) if c.sources_of("osm")]


def _polygon_4326(polygon: Any, polygon_crs: str) -> shapely.Geometry:
    if isinstance(polygon, gpd.GeoDataFrame | gpd.GeoSeries):
        if polygon.crs is None:
            raise DataError("polygon: GeoSeries/GeoDataFrame without CRS")
        return shapely.union_all(polygon.to_crs(settings.source_crs).geometry.to_numpy())
    if not isinstance(polygon, shapely.Geometry) or polygon.geom_type not in (
        "Polygon",
        "MultiPolygon",
    ):
        raise DataError(
            f"polygon must be a shapely (Multi)Polygon or a GeoSeries, got {type(polygon).__name__}"
        )
    return gpd.GeoSeries([polygon], crs=polygon_crs).to_crs(settings.source_crs).iloc[0]


def _classify(features: gpd.GeoDataFrame, cats: list[Category], crs: str) -> gpd.GeoDataFrame:
    """One row per (feature, category) it matches; representative points; target CRS."""
    columns = ["category", "facility_id", "name", "capacity", "source", "geometry"]
    if features is None or len(features) == 0:
        return gpd.GeoDataFrame(
            {c: [] for c in columns[:-1]}, geometry=gpd.GeoSeries([], crs=crs), crs=crs
        )
    if features.crs is None:
        features = features.set_crs(settings.source_crs)
    ids = _osm_features.feature_ids(features)
    names = (
        features["name"] if "name" in features.columns else pd.Series(None, index=features.index)
    )
    points = _osm_features.representative_points(features.geometry.to_numpy())
    frames = []
    for cat in cats:
        mask = pd.Series(False, index=features.index)
        for src in cat.sources_of("osm"):
            mask |= _osm_features.match_source(features, src.tags, src.require, src.exclude)
        m = mask.to_numpy()
        if not m.any():
            continue
        frames.append(
            gpd.GeoDataFrame(
                {
                    "category": cat.id,
                    "facility_id": ids.to_numpy()[m],
                    "name": names.to_numpy()[m],
                    "capacity": 1.0,
                    "source": "osm",
                },
                geometry=list(points[m]),
                crs=features.crs,
            )
        )
    if not frames:
        return _classify(None, cats, crs)
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=features.crs).to_crs(crs)


def facilities_from_osm_online(
    polygon: Any,
    catalogue: Catalogue,
    *,
    polygon_crs: str = settings.source_crs,
    crs: str = settings.default_crs,
    categories: Iterable[str] | None = None,
) -> gpd.GeoDataFrame:
    """Download the catalogue's OSM facilities inside a polygon (osmnx / Overpass).

    Parameters
    ----------
    polygon : shapely (Multi)Polygon, GeoSeries or GeoDataFrame
        Area to query; a bare shapely geometry is in ``polygon_crs``.
    catalogue : Catalogue
        Its ``osm`` sources give the tags.
    polygon_crs : str
        CRS of a bare shapely ``polygon`` (default EPSG:4326, the osmnx convention).
    crs : str
        CRS of the result.
    categories : iterable of str, optional
        Restrict to these category ids.

    Returns
    -------
    GeoDataFrame
        Columns ``category``, ``facility_id`` (``osm:<element>/<id>``), ``name``,
        ``capacity`` (1.0), ``source`` ("osm"), Point geometry (polygons → a point on their
        surface). A feature matching two categories gives two rows.

    Raises
    ------
    NetworkError
        Overpass cannot be reached.
    """
    import osmnx as ox

    cats = _osm_categories(catalogue, categories)
    tags = _osm_features.combined_tags(s.tags for c in cats for s in c.sources_of("osm"))
    poly = _polygon_4326(polygon, polygon_crs)
    try:
        features = ox.features_from_polygon(poly, tags)
    except ox._errors.InsufficientResponseError:
        logger.warning("Overpass returned no feature for tags %s", tags)
        features = None
    except (ConnectionError, OSError) as exc:
        raise NetworkError(
            f"cannot download OSM features from Overpass ({exc}); use a local .osm.pbf "
            f"with facilities_from_pbf"
        ) from exc
    except Exception as exc:  # requests' exceptions do not all derive from OSError
        if type(exc).__module__.startswith(("requests", "urllib3")):
            raise NetworkError(f"cannot download OSM features from Overpass ({exc})") from exc
        raise
    return _classify(features, cats, crs)


def facilities_from_pbf(
    path: str | os.PathLike,
    catalogue: Catalogue,
    polygon: Any = None,
    *,
    polygon_crs: str = settings.source_crs,
    crs: str = settings.default_crs,
    categories: Iterable[str] | None = None,
) -> gpd.GeoDataFrame:
    """Read the catalogue's OSM facilities from a local ``.osm.pbf`` file (pyrosm).

    Parameters
    ----------
    path : path-like
        The PBF extract.
    catalogue : Catalogue
        Its ``osm`` sources give the tags.
    polygon : shapely (Multi)Polygon, GeoSeries or GeoDataFrame, optional
        Keep only features inside it (pyrosm ``bounding_box``).
    polygon_crs : str
        CRS of a bare shapely ``polygon`` (default EPSG:4326).
    crs : str
        CRS of the result.
    categories : iterable of str, optional
        Restrict to these category ids.

    Returns
    -------
    GeoDataFrame
        Same columns as :func:`facilities_from_osm_online`.

    Raises
    ------
    DataNotFoundError
        The file does not exist.
    DataError
        The file cannot be parsed as OSM PBF.
    """
    import pyrosm

    p = require_file(path, "OSM PBF file")
    cats = _osm_categories(catalogue, categories)
    tags = _osm_features.combined_tags(s.tags for c in cats for s in c.sources_of("osm"))
    bbox = _polygon_4326(polygon, polygon_crs) if polygon is not None else None
    try:
        reader = pyrosm.OSM(str(p), bounding_box=bbox)
        with warnings.catch_warnings():
            # pyrosm warns when nothing matches; an empty category is reported by the caller
            warnings.filterwarnings(
                "ignore", message="Could not find any POIs", category=UserWarning
            )
            features = reader.get_pois(
                custom_filter={k: (True if v is True else list(v)) for k, v in tags.items()}
            )
    except (ValueError, KeyError, RuntimeError, OSError) as exc:
        raise DataError(f"{p}: cannot read OSM features ({exc})") from exc
    if features is not None and len(features):
        features = gpd.GeoDataFrame(
            features, geometry="geometry", crs=features.crs or settings.source_crs
        )
    return _classify(features, cats, crs)


def _load_osm(ctx: _Context, cats: list[Category], osm: Any) -> gpd.GeoDataFrame:
    with_osm = [c for c in cats if c.sources_of("osm")]
    skipped = [c.id for c in cats if not c.sources_of("osm")]
    if skipped:
        logger.info(
            "source='osm': categories without an OSM source skipped: %s",
            format_values(skipped, limit=40),
        )
    ids = [c.id for c in with_osm]
    if osm is None:
        features = facilities_from_osm_online(
            ctx.territory, ctx.catalogue, crs=ctx.territory.crs, categories=ids
        )
    elif isinstance(osm, gpd.GeoDataFrame):
        require_columns(osm, ["category", "facility_id", "geometry"], "osm features")
        features = osm.to_crs(ctx.territory.crs)
        features = features.loc[features["category"].isin(ids)]
    else:
        features = facilities_from_pbf(
            osm, ctx.catalogue, ctx.territory, crs=ctx.territory.crs, categories=ids
        )
    frames = []
    for cat in with_osm:
        part = features.loc[features["category"] == cat.id]
        part = gpd.GeoDataFrame(
            part.drop(columns=["code"], errors="ignore"), geometry="geometry", crs=ctx.territory.crs
        )
        if len(part):
            part = _place_points(ctx, cat, part, None, "OSM")
        if not len(part):
            _empty_category(ctx, cat, cat.sources_of("osm"))
            continue
        part = part.assign(category=cat.id, source="osm")
        if "capacity" not in part:
            part["capacity"] = 1.0
        if "name" not in part:
            part["name"] = None
        frames.append(part)
    return _finish(ctx, frames)


# --------------------------------------------------------------------------- housing
def housing_table(
    territory: gpd.GeoDataFrame,
    data_dir: str | os.PathLike | None = None,
    *,
    dvf_file: str = DVF_FILE,
    rpls_file: str = RPLS_FILE,
    min_sales: int = MIN_SALES,
) -> pd.DataFrame:
    """Housing-pillar data per commune: DVF median prices and RPLS social housing.

    Parameters
    ----------
    territory : GeoDataFrame
        From :func:`geoattract.territory.load.load_territory`.
    data_dir : path-like, optional
        Data folder; defaults to the Lot-et-Garonne study's.
    dvf_file, rpls_file : str
        Files relative to the data folder.
    min_sales : int
        Fewer sales than this flag the median price as unreliable.

    Returns
    -------
    DataFrame
        Aligned on ``territory.index``: ``code``, ``price_m2_house`` and ``price_m2_flat``
        (median €/m², NaN without sale), ``n_sales_house`` and ``n_sales_flat`` (sales
        between 2024-08-15 and 2025-08-15; 0 for a commune of a covered département absent
        from DVF; NaN when the département is not covered), ``few_sales_house`` and
        ``few_sales_flat`` (fewer than ``min_sales`` sales or unknown), ``social_housing``
        (RPLS ``nb_ls``: every dwelling of the social landlords' stock, let, vacant, empty,
        let to associations, or occupied otherwise), ``social_housing_let`` (``nb_loues``),
        ``social_housing_per_1000`` (per 1,000 inhabitants) and ``social_housing_missing``
        (département absent from RPLS). The RPLS is an exhaustive register: a commune of a
        covered département absent from it has no social dwelling (0). ``attrs["report"]``
        lists codes of the study département absent from the territory.

    Raises
    ------
    DataError
        Missing column, duplicate code or non-numeric value.
    """
    _check_territory(territory)
    ddir = Path(data_dir) if data_dir is not None else load_study_config().data_dir
    codes = territory["code"].astype(str)
    deps = codes.str[:2]
    study_dep = str(
        territory.attrs.get(
            "departement", territory.loc[territory["in_study"], "code"].str[:2].iloc[0]
        )
    )
    report: dict[str, list[str]] = {}
    out = pd.DataFrame({"code": codes.to_numpy()}, index=territory.index)

    dvf_path = ddir / dvf_file
    dvf = read_csv(
        dvf_path,
        columns=[
            "median_eur_m2_maison",
            "median_eur_m2_appartement",
            "n_ventes_maison",
            "n_ventes_appartement",
        ],
        code_columns=["code_commune"],
    )
    dvf = _indexed(dvf, "code_commune", dvf_path)
    dvf_deps = set(dvf.index.str[:2])
    covered = deps.isin(dvf_deps).to_numpy()
    for kind, col_price, col_n in (
        ("house", "median_eur_m2_maison", "n_ventes_maison"),
        ("flat", "median_eur_m2_appartement", "n_ventes_appartement"),
    ):
        price = _numeric(dvf[col_price], dvf_path, col_price)
        n = _numeric(dvf[col_n], dvf_path, col_n)
        out[f"price_m2_{kind}"] = codes.map(price).to_numpy(dtype=float)
        n_sales = codes.map(n).to_numpy(dtype=float)
        n_sales = np.where(covered & np.isnan(n_sales), 0.0, n_sales)
        out[f"n_sales_{kind}"] = n_sales
        out[f"few_sales_{kind}"] = ~(n_sales >= min_sales)
    report["dvf_codes_not_in_territory"] = sorted(
        c for c in set(dvf.index) - set(codes) if c.startswith(study_dep)
    )

    rpls_path = ddir / rpls_file
    rpls = read_csv(rpls_path, columns=["nb_ls", "nb_loues"], code_columns=["DEPCOM_ARM"])
    rpls = _indexed(rpls, "DEPCOM_ARM", rpls_path)
    rpls_covered = deps.isin(set(rpls.index.str[:2])).to_numpy()
    stock = codes.map(_numeric(rpls["nb_ls"], rpls_path, "nb_ls")).to_numpy(dtype=float)
    let = codes.map(_numeric(rpls["nb_loues"], rpls_path, "nb_loues")).to_numpy(dtype=float)
    absent = np.isnan(stock)
    out["social_housing"] = np.where(rpls_covered & absent, 0.0, stock)
    out["social_housing_let"] = np.where(rpls_covered & absent, 0.0, let)
    pop = (
        territory["population"].to_numpy(dtype=float)
        if "population" in territory
        else np.full(len(out), np.nan)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        out["social_housing_per_1000"] = np.where(
            pop > 0, out["social_housing"].to_numpy() / pop * 1000.0, np.nan
        )
    out["social_housing_missing"] = ~rpls_covered
    report["rpls_codes_not_in_territory"] = sorted(
        c for c in set(rpls.index) - set(codes) if c.startswith(study_dep)
    )
    for key, values in report.items():
        if values:
            logger.warning("housing: %s: %s", key.replace("_", " "), format_values(values))
    out.attrs["report"] = report
    out.attrs["min_sales"] = min_sales
    return out


def _indexed(df: pd.DataFrame, code_column: str, path: Path) -> pd.DataFrame:
    df = df.copy()
    df[code_column] = _normalise_codes(df[code_column])
    dup = df[code_column][df[code_column].duplicated()]
    if len(dup):
        raise DataError(
            f"{path}: duplicate codes in column {code_column!r}: {format_values(sorted(set(dup)))}"
        )
    return df.set_index(code_column)
