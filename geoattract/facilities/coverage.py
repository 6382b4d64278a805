"""Source coverage: which départements each source holds, which source supplies each one.

Every file source of the catalogue declares the départements it holds completely
(``coverage``: codes or ``"france"``) and its ``vintage``. Two rules follow:

1. **Coverage check** (:func:`check_coverage`): a category's sources together must cover every
   département of the territory, study and buffer. Otherwise the category is an error; an
   ``optional`` one is left out with a warning naming it and the uncovered départements. A
   category with ``covers_buffer = false`` needs the study départements only: its offer in the
   buffer is *unknown*, which every output says (``outside_unknown_<id>``, E2SFCA closed on
   the study). Never a silent gradient at a border.
2. **Precedence** (:func:`supply_by_source`): the sources of a category are alternatives for
   a département, not additions. The first source in catalogue order whose coverage holds a
   département supplies it; a later source only fills départements no earlier source covers
   (BPE 2024 for 47, the national BPE 2017 table for the other départements). Rows of a source
   outside its declared coverage are left out (counted).

A later, older source may carry a vintage adjustment (``adjust``): a factor on its
capacities, or ``"overlap"``: the ratio of the earlier sources' total to its own over the
départements both cover (47 GPs: 206 in BPE 2024 / 259 in BPE 2017 = 0.795), with
per-département overrides (``adjust_departements``). The factor is an assumption, stated in
the facility report and the outputs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract.errors import DataError, format_values
from geoattract.facilities.catalogue import Catalogue, Category, Source
from geoattract.facilities.catalogue_schema import ADJUST_OVERLAP

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Adjustment:
    """The vintage factor applied to one source of a category.

    Attributes
    ----------
    source : str
        The source (:meth:`Source.describe`) and its vintage.
    factors : dict
        Département → factor applied to the capacities of that département.
    basis : str
        How the default factor was obtained (``"47: 206 / 259"``, ``"configured"``).
    basis_fr : str
        The same in French, for the study's report.
    source_fr : str
        The source in French words, without file names (:func:`source_fr`).
    """

    source: str
    factors: dict[str, float]
    basis: str
    basis_fr: str = ""
    source_fr: str = ""

    def describe(self) -> str:
        """One sentence for reports and the columns table."""
        values = sorted(set(self.factors.values()))
        shown = ", ".join(f"{v:.3f}" for v in values)
        return (
            f"{self.source}: capacities × {shown} in {format_values(sorted(self.factors))} "
            f"(assumption: {self.basis})"
        )

    def describe_fr(self) -> str:
        """The same sentence in French, for the study's report."""
        values = sorted(set(self.factors.values()))
        shown = " ; ".join(f"{v:.3f}".replace(".", ",") for v in values)
        deps = ", ".join(sorted(self.factors))
        return (
            f"Hypothèse : l'offre de la source « {self.source_fr or self.source} » est "
            f"multipliée par {shown} dans les départements {deps} ({self.basis_fr or self.basis}) : "
            "chacun de ces équipements compte pour ce facteur, et les nombres d'équipements à "
            "portée sont des estimations, non des nombres entiers."
        )


@dataclass
class CoverageReport:
    """What :func:`check_coverage` found for a territory.

    Attributes
    ----------
    study, buffer : tuple of str
        Study départements and the other départements of the buffer.
    left_out : dict
        Optional category → départements its sources do not cover (the category is left out).
    buffer_unknown : dict
        Category with ``covers_buffer = false`` → buffer départements without offer data.
    covers_buffer : dict
        Category → whether its offer is known in the whole buffer.
    """

    study: tuple[str, ...]
    buffer: tuple[str, ...]
    left_out: dict[str, list[str]] = field(default_factory=dict)
    buffer_unknown: dict[str, list[str]] = field(default_factory=dict)
    covers_buffer: dict[str, bool] = field(default_factory=dict)


def uncovered(category: Category, departements: Iterable[str]) -> list[str]:
    """Départements none of the category's file sources covers, sorted."""
    sources = category.sources_of("files")
    return sorted(d for d in set(departements) if not any(s.covers(d) for s in sources))


def _describe_sources(category: Category) -> str:
    parts = []
    for s in category.sources_of("files"):
        where = "France" if s.national else ", ".join(s.coverage)
        parts.append(f"{s.describe()} covers {where} ({s.vintage})")
    return "; ".join(parts) or "no file source"


def check_coverage(
    catalogue: Catalogue,
    study: Sequence[str],
    buffer: Sequence[str],
    *,
    categories: Iterable[str] | None = None,
) -> CoverageReport:
    """Check that each category's sources cover the territory's départements.

    Parameters
    ----------
    catalogue : Catalogue
        With every file source's coverage declared (:func:`~geoattract.facilities.load_catalogue`).
    study, buffer : sequence of str
        Study départements, and the other départements the buffer reaches.
    categories : iterable of str, optional
        Check only these categories.

    Returns
    -------
    CoverageReport

    Raises
    ------
    DataError
        Non-optional categories whose sources miss départements: one message naming every
        such category with its uncovered départements and its sources.
    """
    report = CoverageReport(study=tuple(sorted(study)), buffer=tuple(sorted(buffer)))
    ids = list(categories) if categories is not None else catalogue.ids
    failures = []
    for cid in ids:
        cat = catalogue[cid]
        missing_study = uncovered(cat, study)
        missing_buffer = uncovered(cat, buffer)
        if cat.covers_buffer is False:
            report.buffer_unknown[cid] = missing_buffer
            missing_buffer = []
        missing = sorted(set(missing_study) | set(missing_buffer))
        report.covers_buffer[cid] = not uncovered(cat, buffer)
        if not missing:
            continue
        if cat.optional:
            report.left_out[cid] = missing
            logger.warning(
                "optional category %s left out: its sources do not cover département(s) %s (%s)",
                cid,
                format_values(missing),
                _describe_sources(cat),
            )
            continue
        failures.append(f"{cid} (départements {', '.join(missing)}: {_describe_sources(cat)})")
    if failures:
        raise DataError(
            f"{catalogue.path}: the sources of {len(failures)} categor"
            f"{'y' if len(failures) == 1 else 'ies'} do not cover the territory (study "
            f"{', '.join(report.study)}; buffer {', '.join(report.buffer) or '-'}): "
            f"{'; '.join(failures)}. Add a source covering them (coverage = [...] or "
            f'"france"), set optional = true to leave the category out, or covers_buffer = '
            f"false to accept an unknown offer outside the study départements"
        )
    for cid, deps in report.buffer_unknown.items():
        if deps:
            logger.info(
                "category %s: offer unknown in buffer département(s) %s (covers_buffer = false)",
                cid,
                format_values(deps),
            )
    return report


#: French name of each kind of file source (the file itself is never named in French text).
SOURCE_KINDS_FR: dict[str, str] = {
    "bpe": "Base permanente des équipements (INSEE)",
    "counts": "table des effectifs par commune",
    "table": "table des équipements",
    "points": "couche de points des équipements",
    "osm": "OpenStreetMap",
}


def source_fr(src: Source) -> str:
    """A file source in French words, with its vintage: ``table des effectifs par commune, 2017``.

    The reports say which source an assumption touches without a file path or a source key.
    """
    kind = SOURCE_KINDS_FR.get(src.type, "source")
    return f"{kind}, {src.vintage}" if src.vintage else kind


def _fr(x: float, fmt: str = "g") -> str:
    """A number written the French way (decimal comma)."""
    return format(x, fmt).replace(".", ",")


def _factors(
    src: Source, earlier: pd.DataFrame, part: pd.DataFrame, dep: pd.Series, taken: set[str]
) -> tuple[dict[str, float], tuple[str, str]]:
    """Vintage factor of ``src`` per département of ``part``, and its basis (English, French)."""
    deps = sorted(set(dep))
    if src.adjust is None:
        factor, basis, basis_fr = 1.0, "", ""
    elif src.adjust == ADJUST_OVERLAP:
        shared = sorted(d for d in taken if src.covers(d))
        mine = part.loc[dep.isin(shared).to_numpy(), "capacity"].sum()
        theirs = earlier.loc[earlier["_dep"].isin(shared).to_numpy(), "capacity"].sum()
        if not shared or not mine > 0:
            raise DataError(
                f"source {src.describe()}: adjust = {ADJUST_OVERLAP!r} needs a département "
                f"covered by an earlier source of the category and by this one, with facilities "
                f"in both; shared: {format_values(shared) or 'none'}"
            )
        factor = float(theirs / mine)
        where = ", ".join(shared)
        basis = (
            f"the change observed in {where} between the vintages: "
            f"{theirs:g} (source of higher precedence) / {mine:g} ({src.vintage}) = "
            f"{factor:.3f}, applied to the other départements"
        )
        basis_fr = (
            f"évolution observée dans le(s) département(s) {where} entre les deux millésimes : "
            f"{_fr(theirs)} (source prioritaire) / {_fr(mine)} ({src.vintage}) = "
            f"{_fr(factor, '.3f')}, appliquée aux autres départements"
        )
    else:
        factor = float(src.adjust)
        basis, basis_fr = f"configured factor {factor:g}", f"facteur configuré {_fr(factor)}"
    out = {d: float(src.adjust_departements.get(d, factor)) for d in deps}
    if src.adjust_departements:
        configured = ", ".join(sorted(src.adjust_departements))
        basis += "; per-département factors configured for " + configured
        basis_fr += " ; facteurs configurés pour le(s) département(s) " + configured
    return out, (basis, basis_fr)


def supply_by_source(
    category: Category,
    parts: Sequence[tuple[Source, gpd.GeoDataFrame]],
    departement_of: pd.Series,
) -> tuple[list[gpd.GeoDataFrame], dict[str, int], list[Adjustment]]:
    """Apply the precedence rule and the vintage adjustments to a category's source tables.

    Parameters
    ----------
    category : Category
        The category.
    parts : sequence of (Source, GeoDataFrame)
        Each file source and its facilities in the territory (column ``code``, ``capacity``),
        in catalogue order.
    departement_of : pandas.Series
        Département of each territory commune, indexed by code.

    Returns
    -------
    frames : list of GeoDataFrame
        Each source's rows in the départements it supplies, capacities adjusted.
    dropped : dict
        Source description → rows left out (outside its coverage, or in a département an
        earlier source supplies).
    adjustments : list of Adjustment
        The vintage factors applied (factor 1 is not listed).
    """
    taken: set[str] = set()
    earlier = pd.DataFrame({"capacity": [], "_dep": []})
    frames, dropped, adjustments = [], {}, []
    for src, part in parts:
        dep = part["code"].map(departement_of).fillna(part["code"].str[:2]).astype(str)
        inside = np.array([src.covers(d) for d in dep], dtype=bool)
        fresh = inside & ~dep.isin(taken).to_numpy()
        n_out = int((~fresh).sum())
        if n_out:
            dropped[src.describe()] = n_out
            logger.info(
                "category %s: %d row(s) of %s left out (outside its coverage, or in a département "
                "an earlier source supplies)",
                category.id,
                n_out,
                src.describe(),
            )
        factors, basis = _factors(src, earlier, part, dep, taken)
        kept = part.loc[fresh].copy()
        scale = dep[fresh].map(factors).to_numpy(dtype=float)
        if not np.allclose(scale, 1.0):
            kept["capacity"] = kept["capacity"].to_numpy(dtype=float) * scale
            applied = {d: f for d, f in factors.items() if d in set(dep[fresh]) and f != 1.0}
            adjustments.append(
                Adjustment(
                    f"{src.describe()} ({src.vintage})", applied, basis[0], basis[1], source_fr(src)
                )
            )
        frames.append(kept)
        earlier = pd.concat(
            [earlier, pd.DataFrame({"capacity": kept["capacity"], "_dep": dep[fresh]})],
            ignore_index=True,
        )
        taken |= {d for d in set(departement_of.astype(str)) | set(dep) if src.covers(d)}
    return frames, dropped, adjustments
