"""The population dynamics stage: rates per commune, per EPCI, for the study and its neighbours.

:func:`commune_dynamics` is the library function (population counts in, rates aligned on the
communes out); :func:`build_demography`, the pipeline's entry point, reads the study's
population source (:mod:`geoattract.demography.source`), checks it against the territory at
the door, and returns a :class:`Demography`.

A study without ``[demography] source``, or whose file is absent, gets a :class:`Demography`
whose ``available`` is False and whose ``note`` says why: the report then says "non
disponible" and the run goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract.config.study import StudyConfig
from geoattract.demography.compare import (
    CompareSpec,
    TerritoryGroup,
    ratio_values,
    strengths_weaknesses,
)
from geoattract.demography.departements import departement_name
from geoattract.demography.rates import (
    ageing_index,
    aggregate_counts,
    dynamics_rates,
    territory_rates,
)
from geoattract.demography.source import (
    DemographySource,
    demography_source,
    read_ages,
    read_population,
    read_ratio,
)
from geoattract.errors import DataError, DataNotFoundError, format_values
from geoattract.territory import check_territory, study_departements, study_rows

logger = logging.getLogger(__name__)

#: Below this share of study communes found in the population source, the source is taken
#: for another geography (an error); above it, the communes not found are flagged.
MIN_MATCHED_SHARE = 0.5

#: Key of the study row of :attr:`Demography.territories` when the study is not one département.
STUDY_KEY = "etude"

#: Compared indicators computed by the stage itself: column → (French label, unit, direction).
BUILTIN_COMPARED: dict[str, tuple[str, str, bool]] = {
    "growth_rate_pct": ("variation annuelle de la population", "% par an", True),
    "natural_rate_pct": ("variation annuelle due au solde naturel", "% par an", True),
    "migration_rate_pct": (
        "variation annuelle due au solde migratoire apparent",
        "% par an",
        True,
    ),
}

#: Columns of the commune table (prefix ``demo_``), in order.
COMMUNE_COLUMNS: tuple[str, ...] = (
    "demo_pop_start",
    "demo_pop_end",
    "demo_births",
    "demo_deaths",
    "demo_households",
    "demo_change",
    "demo_natural_balance",
    "demo_migration_balance",
    "demo_growth_rate_pct",
    "demo_natural_rate_pct",
    "demo_migration_rate_pct",
    "demo_natural_estimated",
    "demo_ageing_index",
    "demo_ageing_index_missing",
    "demo_missing",
    "demo_issue",
)


@dataclass(frozen=True)
class Demography:
    """Result of the population dynamics stage.

    Attributes
    ----------
    source : DemographySource or None
        The population source (None: the study declares none).
    table : DataFrame
        Aligned on the study communes: :data:`COMMUNE_COLUMNS` (no column when unavailable).
    epci : DataFrame
        Per EPCI of the study: ``epci``, ``epci_nom``, the summed populations and counts, the
        rates (:func:`~geoattract.demography.rates.territory_rates`).
    territories : DataFrame
        The study and its reference départements side by side (index: territory key;
        ``nom``, ``kind`` ``"etude"`` / ``"reference"``, sums and rates).
    compared : DataFrame
        Index territory key, one column per compared indicator (rates, ageing index, the
        ratios of ``[[demography.indicators]]``).
    points : DataFrame
        The study's strongest and weakest points against the references
        (:func:`~geoattract.demography.compare.strengths_weaknesses`).
    specs : dict
        Compared indicator → :class:`~geoattract.demography.compare.CompareSpec`.
    note : str
        Why the dynamics are not available ("" when they are).
    """

    source: DemographySource | None
    table: pd.DataFrame
    epci: pd.DataFrame = field(default_factory=pd.DataFrame)
    territories: pd.DataFrame = field(default_factory=pd.DataFrame)
    compared: pd.DataFrame = field(default_factory=pd.DataFrame)
    points: pd.DataFrame = field(default_factory=pd.DataFrame)
    specs: dict[str, CompareSpec] = field(default_factory=dict)
    note: str = ""

    @property
    def available(self) -> bool:
        """Whether the study has population dynamics."""
        return self.source is not None and not self.note and "demo_growth_rate_pct" in self.table

    @property
    def study_key(self) -> str:
        """Key of the study row of :attr:`territories`."""
        kinds = self.territories.get("kind")
        if kinds is None:
            return STUDY_KEY
        return str(kinds[kinds == "etude"].index[0])

    def columns_info(self) -> dict[str, tuple[str, str, str, str]]:
        """Column → (label, unit, definition, source) of the commune table, in French."""
        src = self.source
        if src is None or not self.available:
            return {}
        return commune_columns_info(src)


def commune_columns_info(src: DemographySource) -> dict[str, tuple[str, str, str, str]]:
    """French label, unit, definition and source of every :data:`COMMUNE_COLUMNS` column."""
    t0, t1 = src.census_years
    text = src.source_text
    period = src.period_fr
    est = " (estimation)" if src.natural_estimated else ""
    ages = src.ages
    age_src = text
    if ages is not None:
        age_src = (ages.name or text) + (f" ({ages.vintage})" if ages.vintage else "")
    info = {
        "demo_pop_start": (
            f"Population {t0}",
            "habitants",
            f"Population au recensement {t0}.",
            text,
        ),
        "demo_pop_end": (f"Population {t1}", "habitants", f"Population au recensement {t1}.", text),
        "demo_births": (
            f"Naissances {src.vital_period_fr}",
            "naissances",
            f"Naissances domiciliées de {src.vital_period_fr} (état civil).",
            text,
        ),
        "demo_deaths": (
            f"Décès {src.vital_period_fr}",
            "décès",
            f"Décès domiciliés de {src.vital_period_fr} (état civil).",
            text,
        ),
        "demo_households": (
            f"Ménages {t1}",
            "ménages",
            f"Nombre de ménages au recensement {t1}.",
            text,
        ),
        "demo_change": (
            f"Variation de population {period}",
            "habitants",
            f"Population {t1} moins population {t0}.",
            text,
        ),
        "demo_natural_balance": (
            f"Solde naturel {period}{est}",
            "habitants",
            src.natural_note_fr(),
            text,
        ),
        "demo_migration_balance": (
            f"Solde migratoire apparent {period}{est}",
            "habitants",
            "Solde apparent des entrées-sorties : variation de population moins solde naturel.",
            text,
        ),
        "demo_growth_rate_pct": (
            f"Taux de variation annuel moyen {period}",
            "% par an",
            f"100 × ((P{t1} / P{t0})^(1/{src.interval_years}) − 1).",
            text,
        ),
        "demo_natural_rate_pct": (
            f"Taux annuel dû au solde naturel {period}{est}",
            "% par an",
            f"100 × solde naturel / ({src.interval_years} × population moyenne), population "
            f"moyenne = (P{t0} + P{t1}) / 2.",
            text,
        ),
        "demo_migration_rate_pct": (
            f"Taux annuel dû au solde migratoire apparent {period}{est}",
            "% par an",
            f"100 × solde apparent des entrées-sorties / ({src.interval_years} × population "
            "moyenne).",
            text,
        ),
        "demo_natural_estimated": (
            "Solde naturel estimé",
            "oui/non",
            "Les naissances et décès ne couvrent pas la période des recensements : soldes "
            "naturel et migratoire estimés.",
            text,
        ),
        "demo_missing": (
            "Dynamique démographique manquante",
            "oui/non",
            "Commune absente de la source de population ou effectifs manquants, non numériques "
            "ou négatifs : taux non calculés.",
            text,
        ),
        "demo_issue": (
            "Motif de l'absence de dynamique",
            "",
            "Pourquoi les taux de la commune manquent (vide si calculés).",
            text,
        ),
    }
    if ages is not None:
        info["demo_ageing_index"] = (
            ages.label_fr[0].upper() + ages.label_fr[1:],
            "pour 100",
            f"100 × population de {ages.old_min_age} ans et plus / population de moins de "
            f"{ages.young_max_age + 1} ans.",
            age_src,
        )
        info["demo_ageing_index_missing"] = (
            "Indice de vieillissement manquant",
            "oui/non",
            "Groupes d'âge absents de la source.",
            age_src,
        )
    return info


def unavailable(source: DemographySource | None, note: str, index: pd.Index) -> Demography:
    """The result of a study without population dynamics (``note`` says why)."""
    (logger.warning if source is not None else logger.info)(
        "population dynamics not available: %s", note
    )
    return Demography(source=source, table=pd.DataFrame(index=index), note=note)


def commune_dynamics(
    counts: pd.DataFrame,
    years: float,
    vital_years: float = 0.0,
    *,
    estimated: bool = False,
) -> pd.DataFrame:
    """Rates of each commune, with its counts and flags (the ``demo_*`` columns).

    Parameters
    ----------
    counts : DataFrame
        Aligned on the communes: ``pop_start``, ``pop_end``, ``births``, ``deaths``,
        ``households``, optionally ``young`` / ``old`` (age groups, counts or shares) and
        ``issue`` ("" or why the commune's counts are unusable; NaN = not in the source).
    years, vital_years : float
        Census interval; years of births and deaths (0: the interval).
    estimated : bool
        Whether the natural balance is an estimate (flag of every commune with rates).

    Returns
    -------
    DataFrame
        :data:`COMMUNE_COLUMNS`, aligned on ``counts``; the rates of a commune with an issue
        are NaN and ``demo_missing`` is True.
    """
    issue = counts.get("issue", pd.Series("", index=counts.index)).fillna("absente de la source")
    bad = issue.astype(str) != ""
    usable = counts.where(~bad, np.nan)
    rates = dynamics_rates(usable, years, vital_years)
    missing = bad | rates["growth_rate_pct"].isna()
    issue = issue.where(~(missing & (issue == "")), "population de départ nulle")
    nan = pd.Series(np.nan, index=counts.index)
    cols: dict[str, pd.Series] = {
        f"demo_{name}": pd.to_numeric(counts.get(name, nan), errors="coerce").where(~bad)
        for name in ("pop_start", "pop_end", "births", "deaths", "households")
    }
    cols |= {f"demo_{name}": rates[name] for name in rates.columns}
    cols["demo_natural_estimated"] = bool(estimated) & ~missing
    ageing = (
        ageing_index(counts["young"], counts["old"])
        if "young" in counts and "old" in counts
        else nan
    )
    cols["demo_ageing_index"] = ageing
    cols["demo_ageing_index_missing"] = ageing.isna()
    cols["demo_missing"] = missing
    cols["demo_issue"] = issue.astype(str)
    out = pd.DataFrame(cols, index=counts.index)  # built at once: one block per dtype
    return out[list(COMMUNE_COLUMNS)]


def _check_coverage(
    src: DemographySource, study_deps: tuple[str, ...], references: tuple[str, ...]
) -> None:
    if src.coverage is None:
        return
    uncovered = [d for d in study_deps if d not in src.coverage]
    if uncovered:
        raise DataError(
            f"{src.path}: the population source does not cover the study département(s) "
            f"{format_values(uncovered)} (declared coverage: {format_values(src.coverage)})"
        )
    outside = [d for d in references if d not in src.coverage]
    if outside:
        raise DataError(
            f"{src.config_file}: demography.reference_departements {format_values(outside)} "
            f"are not covered by {src.path} (declared coverage: {format_values(src.coverage)})"
        )


def _references(
    src: DemographySource, territory: gpd.GeoDataFrame, study_deps: tuple[str, ...]
) -> tuple[str, ...]:
    if src.reference_departements is not None:
        return tuple(d for d in src.reference_departements if d not in study_deps)
    if src.coverage is None:
        logger.info("%s: no coverage declared, no reference département", src.path)
        return ()
    buffer = territory.loc[~territory["in_study"].astype(bool), "dep"].astype(str)
    return tuple(sorted(d for d in set(buffer) if d in src.coverage and d not in study_deps))


def _match_study(
    population: pd.DataFrame, study: gpd.GeoDataFrame, src: DemographySource, whole: bool
) -> None:
    codes = study["code"].astype(str)
    found = codes.isin(population.index)
    if found.mean() < MIN_MATCHED_SHARE:
        sample = format_values(list(population.index[:5]))
        raise DataError(
            f"{src.path}: only {int(found.sum())} of the {len(codes)} study communes found in "
            f"column {src.code_column!r} (its codes look like {sample}); another geography? "
            f"Expected INSEE commune codes such as {format_values(list(codes[:3]))}"
        )
    if not found.all():
        logger.warning(
            "%s: %d study commune(s) not found, left without rates (flag demo_missing): %s",
            src.path,
            int((~found).sum()),
            format_values(list(codes[~found])),
        )
    if whole:
        deps = set(study["dep"].astype(str))
        extra = population.index[population["dep"].isin(deps) & ~population.index.isin(codes)]
        if len(extra):
            logger.warning(
                "%s: %d code(s) of the study département(s) match no study commune (older "
                "geography, merged communes?), not counted in the study: %s",
                src.path,
                len(extra),
                format_values(list(extra)),
            )


def build_demography(config: StudyConfig, territory: gpd.GeoDataFrame) -> Demography:
    """Run the population dynamics stage of a study.

    Parameters
    ----------
    config : StudyConfig
        The study (its ``[demography]`` section).
    territory : GeoDataFrame
        Study and buffer communes (``code``, ``dep``, ``epci``, ``epci_nom``, ``in_study``).

    Returns
    -------
    Demography

    Raises
    ------
    ConfigError
        A malformed ``[demography]`` section.
    DataError
        A declared column absent (a census year, the births or deaths of the declared
        years), repeated rows of a code that disagree, a source of another geography (fewer
        than half the study communes found) or one that does not cover the study.
    """
    check_territory(territory, ["dep", "epci", "epci_nom"], what="build_demography")
    study = study_rows(territory)
    src = demography_source(config)
    if src is None:
        return unavailable(
            None,
            "aucune source de population déclarée dans la configuration de l'étude",
            study.index,
        )
    if not src.path.is_file():
        return unavailable(src, f"fichier de population absent : {src.path.name}", study.index)
    deps = study_departements(territory)
    references = _references(src, territory, deps)
    _check_coverage(src, deps, references)
    population = read_population(src)
    whole = config.territory.kind == "departements"
    _match_study(population, study, src, whole)
    try:
        ages = read_ages(src.ages, src) if src.ages is not None else None
    except DataNotFoundError as exc:
        logger.warning("ageing index not available: %s", exc)
        ages = None
    counts = population.copy()
    if ages is not None:
        counts = counts.join(ages, how="left")
        if src.ages is not None and src.ages.kind == "share":  # shares → people
            counts["young"] = counts["young"] / 100.0 * counts["pop_end"]
            counts["old"] = counts["old"] / 100.0 * counts["pop_end"]
    codes = study["code"].astype(str)
    study_counts = counts.reindex(codes.to_numpy())
    study_counts.index = study.index
    table = commune_dynamics(
        study_counts,
        src.interval_years,
        src.vital_span,
        estimated=src.natural_estimated,
    )
    usable = ~table["demo_missing"]
    per_commune = study_counts.assign(epci=study["epci"], epci_nom=study["epci_nom"])
    epci = _epci_table(per_commune, usable, src)
    outside = set(territory.loc[~territory["in_study"].astype(bool), "epci"].dropna().astype(str))
    epci.insert(2, "partial", epci["epci"].isin(outside))  # EPCI straddling the study area
    groups = _groups(config, study, codes, counts, references)
    territories = _territories(counts, study_counts, usable, groups, src, config.name)
    compared, specs = _compared(src, territories, counts, groups)
    key = next(iter(groups))
    points = strengths_weaknesses(compared, specs, key)
    logger.info(
        "population dynamics %s: %s %+.2f %%/yr (natural %+.2f, migration %+.2f)",
        src.period_fr,
        territories.at[key, "nom"],
        territories.at[key, "growth_rate_pct"],
        territories.at[key, "natural_rate_pct"],
        territories.at[key, "migration_rate_pct"],
    )
    return Demography(
        source=src,
        table=table,
        epci=epci,
        territories=territories,
        compared=compared,
        points=points,
        specs=specs,
    )


def _epci_table(
    per_commune: pd.DataFrame, usable: pd.Series, src: DemographySource
) -> pd.DataFrame:
    keys = per_commune["epci"].astype(str)
    sums = aggregate_counts(per_commune, keys, usable)
    out = territory_rates(sums, src.interval_years, src.vital_span)
    if "ageing_index" not in out:
        out["ageing_index"] = np.nan
    names = per_commune.groupby(keys)["epci_nom"].first()
    out.insert(0, "epci_nom", names.reindex(out.index))
    out.index.name = "epci"
    return out.reset_index()


def _groups(
    config: StudyConfig,
    study: gpd.GeoDataFrame,
    codes: pd.Series,
    counts: pd.DataFrame,
    references: tuple[str, ...],
) -> dict[str, TerritoryGroup]:
    dep = config.departement
    key = dep if dep is not None else STUDY_KEY
    groups = {key: TerritoryGroup(pd.Index(codes), dep)}
    for d in references:
        groups[d] = TerritoryGroup(counts.index[counts["dep"] == d], d)
    return groups


def _territories(
    counts: pd.DataFrame,
    study_counts: pd.DataFrame,
    usable: pd.Series,
    groups: dict[str, TerritoryGroup],
    src: DemographySource,
    study_name: str,
) -> pd.DataFrame:
    key = next(iter(groups))
    frames = [aggregate_counts(study_counts, pd.Series(key, index=study_counts.index), usable)]
    refs = [k for k in groups if k != key]
    if refs:
        rows = counts[counts["dep"].isin(refs)]
        frames.append(aggregate_counts(rows, rows["dep"], rows["issue"] == ""))
    sums = pd.concat(frames)
    out = territory_rates(sums, src.interval_years, src.vital_span)
    if "ageing_index" not in out:
        out["ageing_index"] = np.nan
    out.insert(0, "kind", ["etude" if k == key else "reference" for k in out.index])
    names = [
        departement_name(str(k)) if groups[str(k)].departement else study_name for k in out.index
    ]
    out.insert(0, "nom", names)
    out.index.name = "territory"
    return out.reindex(list(groups))


def _compared(
    src: DemographySource,
    territories: pd.DataFrame,
    counts: pd.DataFrame,
    groups: dict[str, TerritoryGroup],
) -> tuple[pd.DataFrame, dict[str, CompareSpec]]:
    specs: dict[str, CompareSpec] = {
        col: CompareSpec(label, unit, better, 2, src.source_text)
        for col, (label, unit, better) in BUILTIN_COMPARED.items()
    }
    compared = territories[list(BUILTIN_COMPARED)].copy()
    if src.ages is not None and territories["ageing_index"].notna().sum() > 2:
        specs["ageing_index"] = CompareSpec(src.ages.label_fr, "pour 100", False, 0, src.ages.name)
        compared["ageing_index"] = territories["ageing_index"]
    population = counts["pop_end"].where(counts["issue"] == "")
    for ind in src.indicators:
        table = read_ratio(ind, src)
        compared[ind.id] = ratio_values(ind, table, population, groups)
        source = ind.name + (f" ({ind.vintage})" if ind.vintage else "")
        specs[ind.id] = CompareSpec(
            ind.label_fr, ind.unit, ind.higher_is_better, ind.decimals, source or src.source_text
        )
    return compared, specs
