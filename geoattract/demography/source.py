"""The population source adapter: ``[demography]`` of the study file, and its readers.

:func:`demography_source` turns the validated ``[demography]`` section into a
:class:`DemographySource` (file, vintage, coverage, the columns of the two censuses, of the
births and deaths, of the households and of the age groups, the compared ratios); column
names default to INSEE's (``P15_POP``, ``P21_POP``, ``NAIS1520``, ``DECE1520``) derived from
the census years, so the *dossier complet* and the *comparateur de territoires* of INSEE are
read as published.

:func:`read_population` reads the table once, per commune code:

* identical rows repeated for one code (the comparateur repeats a commune once per postal
  code) are read once and counted; rows of one code that disagree are an error;
* a missing column (a census year or the births of the declared years absent) is an error
  naming the file and the columns;
* a missing, non-numeric or negative count leaves the commune's values NaN with the reason
  in ``issue`` (never a zero).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from geoattract._util.io import read_csv, require_file
from geoattract.config.demography_schema import INDICATOR_SCHEMA, POPULATION_DENOMINATOR
from geoattract.config.schema import validate
from geoattract.config.study import StudyConfig
from geoattract.demography.departements import departement_of
from geoattract.errors import ConfigError, DataError, format_values

logger = logging.getLogger(__name__)

#: Standard names of the count columns read from the population source.
POPULATION_FIELDS: tuple[str, ...] = ("pop_start", "pop_end", "births", "deaths")


def _yy(year: int) -> str:
    return f"{year % 100:02d}"


@dataclass(frozen=True)
class AgeSpec:
    """The age groups of the ageing index (``[demography.ages]``).

    Attributes
    ----------
    path : Path or None
        Table holding the groups (None: the main source).
    code_column : str or None
        Its INSEE code column (None: the main source's).
    young_columns, old_columns : tuple of str
        Columns summed into the young and the old group.
    young_max_age, old_min_age : int
        Oldest age of the young group, youngest of the old one.
    kind : str
        ``"count"`` (people) or ``"share"`` (% of the commune's population).
    name, vintage : str
        Source shown in the outputs.
    """

    path: Path | None
    code_column: str | None
    young_columns: tuple[str, ...]
    old_columns: tuple[str, ...]
    young_max_age: int
    old_min_age: int
    kind: str = "count"
    name: str = ""
    vintage: str = ""

    @property
    def label_fr(self) -> str:
        """« indice de vieillissement (65 ans et plus pour 100 moins de 25 ans) »."""
        return (
            f"indice de vieillissement ({self.old_min_age} ans et plus pour 100 moins de "
            f"{self.young_max_age + 1} ans)"
        )


@dataclass(frozen=True)
class RatioIndicator:
    """A ratio of sums compared between the study and its reference départements.

    ``scale × Σ numerator / Σ denominator`` over the communes of a territory (see
    ``[[demography.indicators]]`` in :mod:`geoattract.config.demography_schema`).
    """

    id: str
    label_fr: str
    numerator: tuple[str, ...]
    denominator: str
    direction: str
    scale: float = 1.0
    unit: str = ""
    path: Path | None = None
    code_column: str | None = None
    absent_is_zero: bool = False
    blank_is_zero: bool = False
    name: str = ""
    vintage: str = ""
    decimals: int = 1

    @property
    def higher_is_better(self) -> bool:
        """Whether a higher value is the favourable end."""
        return self.direction == "higher_is_better"


@dataclass(frozen=True)
class DemographySource:
    """The population source of a study, as declared in ``[demography]``.

    Attributes
    ----------
    path : Path
        The INSEE commune table.
    name, vintage, licence : str
        Shown in the outputs.
    coverage : tuple of str or None
        Départements whose communes the table holds completely (None: not declared).
    code_column, departement_column : str
        INSEE commune code column; département column (None: from the code).
    census_years : tuple of int
        The two censuses ``(t0, t1)``.
    population_columns : tuple of str
        Populations at ``t0`` and ``t1``.
    vital_years : tuple of int
        First and last calendar years the births and deaths cover.
    births_column, deaths_column : str
    households_column : str or None
    reference_departements : tuple of str or None
        Départements shown beside the study (None: the covered départements of the buffer).
    ages : AgeSpec or None
    indicators : tuple of RatioIndicator
    config_file : Path
        The study file (error messages).
    """

    path: Path
    name: str
    vintage: str
    licence: str
    coverage: tuple[str, ...] | None
    code_column: str
    departement_column: str | None
    census_years: tuple[int, int]
    population_columns: tuple[str, str]
    vital_years: tuple[int, int]
    births_column: str
    deaths_column: str
    households_column: str | None = None
    reference_departements: tuple[str, ...] | None = None
    ages: AgeSpec | None = None
    indicators: tuple[RatioIndicator, ...] = ()
    config_file: Path = Path("study.toml")

    @property
    def interval_years(self) -> int:
        """Years between the two censuses."""
        return self.census_years[1] - self.census_years[0]

    @property
    def vital_span(self) -> int:
        """Number of calendar years the births and deaths cover."""
        return self.vital_years[1] - self.vital_years[0] + 1

    @property
    def natural_estimated(self) -> bool:
        """Whether the births and deaths cover other years than the census interval.

        The interval from the census of 1 January ``t0`` to that of 1 January ``t1`` holds the
        births and deaths of the calendar years ``t0`` to ``t1 - 1``.
        """
        t0, t1 = self.census_years
        return tuple(self.vital_years) != (t0, t1 - 1)

    @property
    def period_fr(self) -> str:
        """``2015-2021``."""
        return f"{self.census_years[0]}-{self.census_years[1]}"

    @property
    def vital_period_fr(self) -> str:
        """``2022`` or ``2015-2020``."""
        a, b = self.vital_years
        return str(a) if a == b else f"{a}-{b}"

    @property
    def source_text(self) -> str:
        """``name (vintage)``."""
        return f"{self.name} ({self.vintage})" if self.vintage else self.name

    def natural_note_fr(self) -> str:
        """French sentence on how the natural balance of the interval is obtained."""
        t0, t1 = self.census_years
        if not self.natural_estimated:
            return (
                f"Solde naturel : naissances moins décès de {self.vital_period_fr}, entre les "
                f"recensements de {t0} et de {t1}."
            )
        return (
            f"Solde naturel estimé : les naissances et décès connus couvrent "
            f"{self.vital_period_fr} et non la période {t0}-{t1 - 1} des recensements ; le "
            f"solde annuel moyen de {self.vital_period_fr} est appliqué aux "
            f"{self.interval_years} années de la période. Le solde migratoire apparent, qui "
            "s'en déduit, est estimé de même."
        )


def _ages_spec(section: dict | None, config: StudyConfig) -> AgeSpec | None:
    if not section:
        return None
    return AgeSpec(
        path=config.data_dir / section["source"] if section.get("source") else None,
        code_column=section.get("code_column"),
        young_columns=tuple(section["young_columns"]),
        old_columns=tuple(section["old_columns"]),
        young_max_age=int(section["young_max_age"]),
        old_min_age=int(section["old_min_age"]),
        kind=section.get("kind") or "count",
        name=section.get("name") or "",
        vintage=section.get("vintage") or "",
    )


def _indicator(item: dict, i: int, config: StudyConfig) -> RatioIndicator:
    v = validate(item, INDICATOR_SCHEMA, config.path, prefix=f"demography.indicators[{i}].")
    return RatioIndicator(
        id=v["id"],
        label_fr=v["label_fr"],
        numerator=tuple(v["numerator"]),
        denominator=v["denominator"],
        direction=v["direction"],
        scale=float(v["scale"]),
        unit=v["unit"],
        path=config.data_dir / v["source"] if v.get("source") else None,
        code_column=v.get("code_column"),
        absent_is_zero=bool(v["absent_is_zero"]),
        blank_is_zero=bool(v["blank_is_zero"]),
        name=v["name"],
        vintage=v["vintage"],
        decimals=int(v["decimals"]),
    )


def demography_source(config: StudyConfig) -> DemographySource | None:
    """The study's population source, from ``[demography]`` (None when it declares none).

    Raises
    ------
    ConfigError
        ``source`` without ``census_years``, vital years out of order, a malformed
        ``[[demography.indicators]]`` table or two with the same id (the file and key named).
    """
    sec = config.section("demography")
    if not sec.get("source"):
        return None
    years = sec.get("census_years")
    if not years:
        raise ConfigError(
            f"{config.path}: missing key 'demography.census_years' (the two census years, "
            "e.g. [2015, 2021])"
        )
    t0, t1 = int(years[0]), int(years[1])
    vital = sec.get("vital_years") or [t0, t1 - 1]
    pops = sec.get("population_columns") or [f"P{_yy(t0)}_POP", f"P{_yy(t1)}_POP"]
    tag = f"{_yy(vital[0])}{_yy(vital[1])}"
    indicators = tuple(_indicator(item, i, config) for i, item in enumerate(sec["indicators"]))
    ids = [ind.id for ind in indicators]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ConfigError(f"{config.path}: duplicate id(s) in [[demography.indicators]]: {dup}")
    return DemographySource(
        path=config.data_dir / sec["source"],
        name=sec.get("name") or "INSEE",
        vintage=sec.get("vintage") or "",
        licence=sec.get("licence") or "",
        coverage=tuple(sec["coverage"]) if sec.get("coverage") else None,
        code_column=sec.get("code_column") or "CODGEO",
        departement_column=sec.get("departement_column"),
        census_years=(t0, t1),
        population_columns=(str(pops[0]), str(pops[1])),
        vital_years=(int(vital[0]), int(vital[1])),
        births_column=sec.get("births_column") or f"NAIS{tag}",
        deaths_column=sec.get("deaths_column") or f"DECE{tag}",
        households_column=sec.get("households_column"),
        reference_departements=(
            tuple(sec["reference_departements"]) if sec.get("reference_departements") else None
        ),
        ages=_ages_spec(sec.get("ages"), config),
        indicators=indicators,
        config_file=config.path,
    )


# ------------------------------------------------------------------------------------ reading


def collapse_duplicates(
    frame: pd.DataFrame, code: str, columns: list[str], path: Path, *, log: bool = True
) -> pd.DataFrame:
    """One row per code: identical repeated rows read once; disagreeing rows are an error.

    ``log``: say how many repeated rows were read once (info).

    Raises
    ------
    DataError
        Two rows of one code differ on one of ``columns`` (the file and codes named).
    """
    dup = frame[code].duplicated(keep=False)
    if not dup.any():
        return frame
    rows = frame.loc[dup, [code, *columns]]
    differing = rows.groupby(code)[columns].nunique(dropna=False).gt(1).any(axis=1)
    if differing.any():
        bad = sorted(differing[differing].index)
        raise DataError(
            f"{path}: rows of the same commune code disagree on {format_values(columns)}: "
            f"{format_values(bad)}"
        )
    n_codes = rows[code].nunique()
    extra = int(dup.sum()) - n_codes
    (logger.info if log else logger.debug)(
        "%s: %d repeated row(s) of %d commune(s) read once (identical values), e.g. %s",
        path,
        extra,
        n_codes,
        format_values(sorted(rows[code].unique()), limit=5),
    )
    return frame.drop_duplicates(subset=[code], keep="first")


def numeric_counts(frame: pd.DataFrame, columns: dict[str, str], path: Path) -> pd.DataFrame:
    """Columns as numbers, renamed; a non-numeric or negative count is NaN with its reason.

    Parameters
    ----------
    frame : DataFrame
        The rows read.
    columns : dict
        Standard name → column of the file.
    path : Path
        The file (reasons and logs).

    Returns
    -------
    DataFrame
        The standard columns, and ``issue``: "" or the French reason the row is unusable.
    """
    out = pd.DataFrame(index=frame.index)
    issue = pd.Series("", index=frame.index, dtype=object)
    for name, col in columns.items():
        raw = frame[col]
        values = pd.to_numeric(raw, errors="coerce").astype(float)
        blank = raw.isna() | raw.astype(str).str.strip().eq("")
        text = values.isna() & ~blank
        neg = values < 0
        for mask, why in ((blank, "vide"), (text, "non numérique"), (neg, "négatif")):
            if mask.any():
                issue[mask] = issue[mask] + f"{col} {why} ; "
        out[name] = values.where(~neg)
    out["issue"] = issue.str.rstrip(" ;")
    bad = out["issue"] != ""
    if bad.any():
        logger.warning(
            "%s: %d commune(s) with a missing, non-numeric or negative count, left without "
            "rates: %s",
            path,
            int(bad.sum()),
            format_values(
                [
                    f"{c} ({w})"
                    for c, w in zip(frame.index[bad], out.loc[bad, "issue"], strict=True)
                ],
                limit=5,
            ),
        )
    return out


def read_population(source: DemographySource) -> pd.DataFrame:
    """Read the population source: one row per commune code.

    Returns
    -------
    DataFrame
        Index: commune code; ``dep``, :data:`POPULATION_FIELDS`, ``households`` (when
        declared; NaN otherwise), ``issue`` ("" or why the row has no usable counts).

    Raises
    ------
    DataNotFoundError
        The file is absent.
    DataError
        A declared column is absent (a census year, the births or deaths of the declared
        years), or repeated rows of one code disagree.
    """
    path = require_file(source.path, "population source ([demography] source)")
    fields = {
        "pop_start": source.population_columns[0],
        "pop_end": source.population_columns[1],
        "births": source.births_column,
        "deaths": source.deaths_column,
    }
    if source.households_column:
        fields["households"] = source.households_column
    codes = [source.departement_column] if source.departement_column else []
    frame = read_csv(
        path,
        columns=list(fields.values()),
        code_columns=codes,
        commune_columns=[source.code_column],
    )
    frame = collapse_duplicates(frame, source.code_column, list(fields.values()), path)
    frame = frame.set_index(source.code_column)
    out = numeric_counts(frame, fields, path)
    if "households" not in out.columns:
        out["households"] = np.nan
    if source.departement_column:
        dep = frame[source.departement_column].astype(str).str.strip()
        dep = dep.where(dep.str.len() > 1, "0" + dep)  # "1" written as a number → "01"
    else:
        dep = pd.Series([departement_of(c) for c in frame.index], index=frame.index)
    out.insert(0, "dep", dep)
    out.index.name = "code"
    return out


def read_ages(spec: AgeSpec, source: DemographySource) -> pd.DataFrame:
    """Read the age groups: index commune code, ``young`` and ``old`` (summed columns).

    Shares are returned as read (% of the commune's population); a missing, non-numeric or
    negative value is NaN.

    Raises
    ------
    DataNotFoundError, DataError
        The file or a declared column is absent; repeated rows of one code disagree.
    """
    path = require_file(spec.path or source.path, "age source ([demography.ages] source)")
    code = spec.code_column or source.code_column
    cols = [*spec.young_columns, *spec.old_columns]
    frame = read_csv(path, columns=cols, commune_columns=[code])
    frame = collapse_duplicates(frame, code, cols, path).set_index(code)
    values = frame[cols].apply(pd.to_numeric, errors="coerce").astype(float)
    values = values.where(values >= 0)
    out = pd.DataFrame(
        {
            "young": values[list(spec.young_columns)].sum(
                axis=1, min_count=len(spec.young_columns)
            ),
            "old": values[list(spec.old_columns)].sum(axis=1, min_count=len(spec.old_columns)),
        },
        index=frame.index,
    )
    out.index.name = "code"
    return out


def read_ratio(indicator: RatioIndicator, source: DemographySource) -> pd.DataFrame:
    """Read the columns of a compared ratio: index commune code, ``num`` and ``den``.

    ``den`` is NaN when the denominator is the population of the main source (joined later).

    Raises
    ------
    DataNotFoundError, DataError
        The file or a declared column is absent; repeated rows of one code disagree.
    """
    path = require_file(indicator.path or source.path, f"source of indicator {indicator.id!r}")
    code = indicator.code_column or source.code_column
    cols = list(indicator.numerator)
    if indicator.denominator != POPULATION_DENOMINATOR:
        cols.append(indicator.denominator)
    frame = read_csv(path, columns=cols, commune_columns=[code])
    main = indicator.path is None or indicator.path == source.path
    frame = collapse_duplicates(frame, code, cols, path, log=not main).set_index(code)
    values = frame[cols].apply(pd.to_numeric, errors="coerce").astype(float)
    if indicator.blank_is_zero:
        blank = frame[cols].isna() | frame[cols].astype(str).apply(lambda c: c.str.strip() == "")
        values = values.mask(blank, 0.0)
    values = values.where(values >= 0)
    if indicator.absent_is_zero:  # a list of communes that have some: blank is 0 too
        num = values[list(indicator.numerator)].fillna(0.0).sum(axis=1)
    else:
        num = values[list(indicator.numerator)].sum(axis=1, min_count=len(indicator.numerator))
    den = (
        values[indicator.denominator]
        if indicator.denominator != POPULATION_DENOMINATOR
        else pd.Series(np.nan, index=values.index)
    )
    out = pd.DataFrame({"num": num, "den": den}, index=frame.index)
    out.index.name = "code"
    return out
