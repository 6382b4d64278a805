"""The facility catalogue: what counts as "offer" for each accessibility category.

The catalogue (``facilities.toml`` beside the study file) lists the facility categories (GP,
pharmacy, school...), the pillar each belongs to, the tables their facilities come from, their
capacity unit, their travel-time thresholds and the distance decay of the enhanced two-step
floating catchment area (E2SFCA); its ``[housing]`` table names the study's housing files
(:mod:`geoattract.facilities.housing`). :func:`load_catalogue` validates it against the data
files.

Coverage matters: a per-commune count table of the study département (INSEE BPE...) leaves
the offer across the border *unknown*, not zero. Every file source declares the départements
it holds completely (``coverage``, a list of codes or ``"france"``) and its ``vintage``:
inline, in the ``[coverage]`` table for its file, or in ``[bpe]`` for the BPE sources.
:func:`geoattract.facilities.coverage.check_coverage` checks them against a territory; a
category may accept an unknown buffer offer with ``covers_buffer = false`` (flagged in every
output), never silently.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import pyogrio

from geoattract import settings
from geoattract._util.io import read_csv, require_file
from geoattract.config.schema import load_toml, validate
from geoattract.errors import ConfigError, DataError, format_values
from geoattract.facilities.catalogue_schema import (
    BPE_SEP,
    CATALOGUE_FILE,
    CATALOGUE_SCHEMA,
    CATEGORY_SCHEMA,
    DEFAULT_DECAY,
    FILE_COVERAGE_SCHEMA,
    FILE_SOURCE_TYPES,
    FRANCE,
    SOURCE_SCHEMAS,
    SOURCE_TYPES,
    STUDY_ONLY_SOURCE_TYPES,
    UNDECLARED,
)
from geoattract.facilities.catchment_spec import CatchmentSpec, catchment_spec, check_catchments
from geoattract.facilities.decay import Decay, decay_from_config
from geoattract.facilities.demand import AgeStructureSource, age_structure_source
from geoattract.facilities.housing import HousingSources, housing_sources

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    """One table a category takes its facilities from (a ``sources`` entry of the catalogue)."""

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
    coverage: tuple[str, ...] = ()
    vintage: str | None = None
    adjust: float | str | None = None
    adjust_departements: Mapping[str, float] = field(default_factory=dict)

    @property
    def national(self) -> bool:
        """Whether the source covers every département (``"france"``, or undeclared)."""
        return self.coverage in ((FRANCE,), (UNDECLARED,))

    def covers(self, departement: str) -> bool:
        """Whether the source holds every facility of ``departement``."""
        return self.national or departement in self.coverage

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
    decay : geoattract.facilities.decay.Decay
        E2SFCA distance decay (callable on minutes), built from ``decay_spec`` by
        :func:`geoattract.facilities.decay.decay_from_config`.
    decay_spec : mapping
        The decay table as written in the catalogue.
    optional : bool
        An empty optional category is logged, not an error; an optional category whose
        sources do not cover the territory is left out with a warning.
    covers_buffer : bool or None
        None (default): the sources must cover the buffer départements too (checked against
        their ``coverage``). False: the catalogue accepts that the offer outside the study
        départements is unknown (not 0); every output flags it.
    description : str
        Source choice and caveats.
    catchment : CatchmentSpec
        How ``e2sfca_<id>`` is computed (plain E2SFCA or the APL conventions).
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
    covers_buffer: bool | None = None
    description: str = ""
    catchment: CatchmentSpec = field(default_factory=CatchmentSpec)

    def sources_of(self, mode: str) -> tuple[Source, ...]:
        """Return the sources used with ``source="files"`` or ``source="osm"``."""
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
    bpe_code_column : str or None
        Commune code column of the BPE tables.
    bpe_sep : str
        Field separator of the BPE tables.
    typequ_labels : dict
        TYPEQU code → label, from the code lists.
    housing : HousingSources or None
        The study's housing files (the ``[housing]`` table), None when it has none.
    age_structure : AgeStructureSource or None
        The age shares per commune (``[age_structure]``), for age-standardised demand.
    """

    categories: dict[str, Category]
    path: Path
    data_dir: Path | None = None
    bpe_files: tuple[str, ...] = ()
    bpe_code_files: tuple[str, ...] = ()
    bpe_code_column: str | None = None
    bpe_sep: str = BPE_SEP
    typequ_labels: dict[str, str] = field(default_factory=dict)
    housing: HousingSources | None = None
    age_structure: AgeStructureSource | None = None

    def __getitem__(self, key: str) -> Category:
        """Return the category ``key`` (``KeyError`` listing the known ids)."""
        try:
            return self.categories[key]
        except KeyError:
            raise KeyError(
                f"unknown facility category {key!r}; known: {format_values(self.categories, limit=50)}"
            ) from None

    def __iter__(self) -> Iterator[Category]:
        """Iterate over the categories in file order."""
        return iter(self.categories.values())

    def __len__(self) -> int:
        """Return the number of categories."""
        return len(self.categories)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is a category id."""
        return key in self.categories

    @property
    def ids(self) -> list[str]:
        """Category ids in file order."""
        return list(self.categories)

    def by_pillar(self, pillar: str) -> list[Category]:
        """Categories of one pillar."""
        return [c for c in self if c.pillar == pillar]

    def covers_buffer(self) -> dict[str, bool | None]:
        """Category id → ``covers_buffer`` as written (None: checked against the coverage)."""
        return {c.id: c.covers_buffer for c in self}

    def without(self, ids: Iterable[str]) -> Catalogue:
        """A copy of the catalogue without the categories ``ids``."""
        drop = set(ids)
        return replace(self, categories={k: v for k, v in self.categories.items() if k not in drop})

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


# --------------------------------------------------------------------------- catalogue
def _build_decay(raw: Mapping[str, Any], source: Path, key: str) -> tuple[Decay, dict[str, Any]]:
    """Validate a decay table and build it with :func:`geoattract.facilities.decay.decay_from_config`."""
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
    if stype not in SOURCE_SCHEMAS:
        raise ConfigError(
            f"{source}: key '{key}.type' must be one of {list(SOURCE_TYPES)}, got {stype!r}"
        )
    doc = validate(raw, SOURCE_SCHEMAS[stype], source, prefix=key + ".")
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
        coverage=_coverage_tuple(doc.get("coverage")),
        vintage=doc.get("vintage"),
        adjust=doc.get("adjust"),
        adjust_departements={
            str(k): float(v) for k, v in (doc.get("adjust_departements") or {}).items()
        },
    )


def _coverage_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (FRANCE,)
    return tuple(sorted(str(d).upper() for d in value))


def _declare_coverage(
    categories: dict[str, Category], bpe: Mapping[str, Any], files: Mapping[str, Any], p: Path
) -> dict[str, Category]:
    """Give every file source its coverage and vintage: inline, else ``[coverage]``, else ``[bpe]``.

    A source with no coverage anywhere is logged and taken as covering every département
    (older catalogues); its category keeps ``covers_buffer = false`` when the source is a BPE
    or count table, the default before coverage was declared.
    """
    tables: dict[str, dict[str, Any]] = {}
    for key, value in files.items():
        if not isinstance(value, Mapping):
            raise ConfigError(
                f"{p}: key 'coverage.{key}' must be a table {{departements, vintage}}, "
                f"got {value!r}"
            )
        tables[str(key)] = validate(value, FILE_COVERAGE_SCHEMA, p, prefix=f"coverage.{key}.")
    out = {}
    for cid, cat in categories.items():
        sources = []
        for i, src in enumerate(cat.sources):
            if src.type not in FILE_SOURCE_TYPES:
                sources.append(src)
                continue
            table = bpe if src.type == "bpe" else tables.get(str(src.file), {})
            coverage = src.coverage or _coverage_tuple(
                table.get("coverage", table.get("departements"))
            )
            vintage = src.vintage or table.get("vintage")
            if not coverage or not vintage:
                where = "[bpe]" if src.type == "bpe" else f'[coverage] "{src.file}"'
                logger.warning(
                    "%s: source categories.%s.sources[%d] (%s) declares no %s: add coverage = "
                    '[département codes] or "%s" and vintage = "YYYY" to it or to %s; taken '
                    "as covering every département",
                    p,
                    cid,
                    i,
                    src.describe(),
                    "coverage" if not coverage else "vintage",
                    FRANCE,
                    where,
                )
                if (
                    not coverage
                    and src.type in STUDY_ONLY_SOURCE_TYPES
                    and cat.covers_buffer is None
                ):
                    cat = replace(cat, covers_buffer=False)  # the old default of such tables
            sources.append(
                replace(src, coverage=coverage or (UNDECLARED,), vintage=vintage or "unknown")
            )
        out[cid] = replace(cat, sources=tuple(sources))
    return out


def _columns_of(path: Path) -> list[str]:
    """Column names of a CSV or vector file, read without loading the data."""
    require_file(path, "facility source file")
    if path.suffix.lower() == ".csv":
        head = pd.read_csv(path, nrows=0, sep=None, engine="python", encoding="utf-8-sig")
        return [str(c).strip() for c in head.columns]
    info = pyogrio.read_info(path)
    return [str(c) for c in info["fields"]]


def _check_source_columns(cat_id: str, src: Source, data_dir: Path) -> None:
    if src.type not in ("points", "table", "counts"):
        return
    assert src.file is not None  # the schemas of these types require a file
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


def _check_housing_columns(housing: HousingSources, data_dir: Path) -> None:
    for key, (rel, wanted) in housing.files().items():
        path = data_dir / rel
        available = _columns_of(path)
        missing = [c for c in wanted if c not in available]
        if missing:
            raise DataError(
                f"{path}: [{key}] names unknown column(s) {format_values(missing)}; "
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


def _build_category(table_key: str, raw: Any, p: Path) -> Category:
    """Validate one ``[categories.<key>]`` table."""
    key = f"categories.{table_key}"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{p}: key '{key}' must be a table, got {type(raw).__name__}")
    c = validate(raw, CATEGORY_SCHEMA, p, prefix=key + ".")
    cid = c["id"] or table_key
    if not c["sources"]:
        raise ConfigError(f"{p}: key '{key}.sources' must list at least one source")
    sources = tuple(_build_source(s, p, f"{key}.sources[{i}]") for i, s in enumerate(c["sources"]))
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
    return Category(
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
        covers_buffer=c["covers_buffer"],
        description=c["description"],
        catchment=catchment_spec(c["catchment"], p, key, decay_spec.get("type")),
    )


def _check_files(cat: Catalogue, data_dir: Path) -> None:
    """Every file exists, every named column exists, every TYPEQU code is known."""
    if any(s.type == "bpe" for c in cat for s in c.sources):
        cat.typequ_labels = _read_typequ_labels(data_dir, cat.bpe_code_files, cat.bpe_sep)
    for c in cat:
        for s in c.sources:
            unknown = [code for code in s.typequ if code not in cat.typequ_labels]
            if unknown:
                raise ConfigError(
                    f"{cat.path}: category '{c.id}': unknown TYPEQU code(s) "
                    f"{format_values(unknown)}: not in the BPE code lists "
                    f"{format_values(cat.bpe_code_files)}"
                )
            _check_source_columns(c.id, s, data_dir)
    if cat.housing is not None:
        _check_housing_columns(cat.housing, data_dir)
    if cat.age_structure is not None:
        path = data_dir / cat.age_structure.file
        available = _columns_of(path)
        missing = [c for c in cat.age_structure.columns if c not in available]
        if missing:
            raise DataError(
                f"{path}: [age_structure] names unknown column(s) {format_values(missing)}; "
                f"available: {format_values(available, limit=60)}"
            )


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
        TOML file; defaults to the catalogue of the shipped study
        (``settings.config_folder / "facilities.toml"``). A study names its own in
        ``[configs] catalogue`` (:meth:`geoattract.config.StudyConfig.config_file`).
    data_dir : path-like, optional
        The study's data folder (``StudyConfig.data_dir``) the file sources are checked
        against; required when ``check_files`` is true.
    check_files : bool
        Check that every file exists, that every named column exists (the housing files'
        too) and that every TYPEQU code is in the BPE code lists. Turn off only to inspect a
        catalogue without data.

    Returns
    -------
    Catalogue

    Raises
    ------
    ConfigError
        Malformed TOML, unknown or missing key, unknown pillar or source type, duplicate
        category id, decay without consistent breaks and weights, TYPEQU code absent from the
        BPE code lists (the message names the category and the code), a category whose
        capacity is not "count" but has a source without capacity column; ``check_files``
        without ``data_dir``.
    DataError
        A source names a column its file does not have (the message lists the available
        columns).
    DataNotFoundError
        A file of the catalogue is missing.
    """
    p = Path(path) if path is not None else settings.config_folder / CATALOGUE_FILE
    if check_files and data_dir is None:
        raise ConfigError(
            f"load_catalogue({p}): check_files needs data_dir, the study's data folder "
            f"(StudyConfig.data_dir); pass check_files=False to read the catalogue alone"
        )
    doc = validate(load_toml(p), CATALOGUE_SCHEMA, p)
    categories: dict[str, Category] = {}
    for table_key, raw in doc["categories"].items():
        cat = _build_category(table_key, raw, p)
        if cat.id in categories:
            raise ConfigError(
                f"{p}: duplicate category id {cat.id!r} (in [categories.{table_key}] and an "
                f"earlier table)"
            )
        categories[cat.id] = cat
    if not categories:
        raise ConfigError(f"{p}: no category in [categories]")
    bpe = doc["bpe"] or {}
    uses_bpe = [c.id for c in categories.values() if any(s.type == "bpe" for s in c.sources)]
    if uses_bpe and not bpe:
        raise ConfigError(
            f"{p}: categories {format_values(uses_bpe)} use BPE sources but there is no [bpe] table"
        )
    categories = _declare_coverage(categories, bpe, doc["coverage"] or {}, p)
    catalogue = Catalogue(
        categories=categories,
        path=p.resolve(),
        data_dir=Path(data_dir) if check_files and data_dir is not None else None,
        bpe_files=tuple(bpe.get("files", ())),
        bpe_code_files=tuple(bpe.get("code_files", ())),
        bpe_code_column=bpe.get("code_column"),
        bpe_sep=bpe.get("sep", BPE_SEP),
        housing=housing_sources(doc["housing"], p) if doc["housing"] is not None else None,
        age_structure=(
            age_structure_source(doc["age_structure"], p)
            if doc["age_structure"] is not None
            else None
        ),
    )
    age = catalogue.age_structure
    check_catchments(
        {c.id: c.catchment for c in categories.values()},
        list(age.bands) if age is not None else None,
        p,
    )
    if catalogue.data_dir is not None:
        _check_files(catalogue, catalogue.data_dir)
    logger.debug("catalogue %s: %d categories", p, len(categories))
    return catalogue
