"""Placing facilities in the territory: the machinery every source adapter shares.

A source adapter (BPE, point file, table, counts, OpenStreetMap) reads its rows; the helpers
here give each row a commune of the territory (its file code when that is a territory code,
else a spatial join; the town hall for rows known only by commune), drop and count the rows
outside the territory, record what they found in a :class:`FacilityReport`, and assemble the
final table with the columns of :data:`FACILITY_COLUMNS`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoattract.errors import DataError, format_values
from geoattract.facilities.catalogue import Catalogue, Category, Source
from geoattract.facilities.osm_features import representative_points
from geoattract.facilities.tables import normalise_codes, study_departement

logger = logging.getLogger(__name__)

#: Columns of the GeoDataFrame :func:`geoattract.facilities.load_facilities` returns, in order.
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


@dataclass
class FacilityReport:
    """What :func:`geoattract.facilities.load_facilities` found (``facilities.attrs["report"]``).

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
    left_out : dict
        Optional category → départements its sources do not cover (category left out).
    adjustments_fr : dict
        The same sentences in French (for the study's report).
    adjustments : dict
        Category → vintage adjustments applied to its sources (sentences stating the
        assumption).
    vintages : dict
        Category → vintage of each source that supplied facilities (``"bpe D265: 2024 (47);
        counts ...: 2017 (24, 32, ...)"``).
    """

    unmatched_codes: dict[str, list[str]] = field(default_factory=dict)
    outside_dropped: dict[str, int] = field(default_factory=dict)
    code_replaced: dict[str, int] = field(default_factory=dict)
    closed_units: dict[str, list[str]] = field(default_factory=dict)
    departements: dict[str, list[str]] = field(default_factory=dict)
    covers_buffer: dict[str, bool] = field(default_factory=dict)
    capacity_unit: dict[str, str] = field(default_factory=dict)
    empty_optional: list[str] = field(default_factory=list)
    left_out: dict[str, list[str]] = field(default_factory=dict)
    adjustments: dict[str, list[str]] = field(default_factory=dict)
    adjustments_fr: dict[str, list[str]] = field(default_factory=dict)
    vintages: dict[str, str] = field(default_factory=dict)

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
        for cat, deps in self.left_out.items():
            lines.append(f"{cat}: left out, sources do not cover {format_values(deps)}")
        for cat, sentences in self.adjustments.items():
            lines.extend(f"{cat}: {text}" for text in sentences)
        unknown = [c for c, v in self.covers_buffer.items() if not v]
        if unknown:
            lines.append(
                f"buffer offer unknown (study-only sources): {format_values(unknown, limit=40)}"
            )
        return "\n".join(lines) or "no issue found"

    def add_dropped(self, category: str, n: int) -> None:
        """Count ``n`` more facilities of ``category`` dropped outside the territory."""
        if n:
            self.outside_dropped[category] = self.outside_dropped.get(category, 0) + n


@dataclass
class LoadContext:
    """What the source adapters share while loading one territory's facilities.

    Attributes
    ----------
    territory : GeoDataFrame
        Study and buffer communes.
    catalogue : Catalogue
    data_dir : Path
        Folder the file sources are relative to.
    report : FacilityReport
        Filled by the adapters.
    study_dep : str
        Study département code.
    codes : pandas.Index
        Territory commune codes.
    town_halls : GeoSeries
        Town hall of each commune, indexed by code.
    names : pandas.Series
        Commune name by code (the code when the territory has no ``nom``).
    cache : dict
        Files already read (several categories share a file).
    """

    territory: gpd.GeoDataFrame
    catalogue: Catalogue
    data_dir: Path
    report: FacilityReport
    study_dep: str
    codes: pd.Index
    town_halls: gpd.GeoSeries
    names: pd.Series
    cache: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(
        cls, territory: gpd.GeoDataFrame, catalogue: Catalogue, data_dir: Path | None
    ) -> LoadContext:
        """Build the context of ``territory`` (checked with ``check_territory`` beforehand)."""
        codes = pd.Index(territory["code"].astype(str))
        names = territory["nom"].to_numpy() if "nom" in territory else codes.to_numpy()
        return cls(
            territory=territory,
            catalogue=catalogue,
            data_dir=data_dir or Path("."),
            report=FacilityReport(),
            study_dep=study_departement(territory),
            codes=codes,
            town_halls=gpd.GeoSeries(
                territory["town_hall"].to_numpy(), index=codes, crs=territory.crs
            ),
            names=pd.Series(names, index=codes),
        )

    def commune_name(self, code: str) -> str:
        """Name of a territory commune (the code itself when unknown)."""
        return str(self.names.get(code, code))


def select_categories(catalogue: Catalogue, categories: Iterable[str] | None) -> list[Category]:
    """Return the catalogue's categories, or the named ones (unknown ids raise ``KeyError``)."""
    if categories is None:
        return list(catalogue)
    return [catalogue[c] for c in categories]


def empty_frame(crs: Any) -> gpd.GeoDataFrame:
    """Return an empty facility table with the columns of :data:`FACILITY_COLUMNS`."""
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in FACILITY_COLUMNS if c != "geometry"})
    df["capacity"] = df["capacity"].astype(float)
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def report_unmatched(
    ctx: LoadContext, cat: Category, src: Source, codes: Iterable[str], path: Path
) -> None:
    """Record codes absent from the territory.

    Codes of the study département are mismatches (older geography, merged communes: reported
    and logged with their codes); others are outside the buffer (counted in the log).
    """
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


def at_town_halls(
    ctx: LoadContext, cat: Category, src: Source, table: pd.DataFrame, path: Path
) -> gpd.GeoDataFrame:
    """Place rows with columns code, facility_id, name, capacity at their commune's town hall."""
    known = table["code"].isin(ctx.codes)
    report_unmatched(ctx, cat, src, table.loc[~known, "code"], path)
    ctx.report.add_dropped(
        cat.id, int((~known & ~table["code"].str.startswith(ctx.study_dep)).sum())
    )
    table = table.loc[known]
    geoms = ctx.town_halls.reindex(table["code"]).to_numpy()
    return gpd.GeoDataFrame(
        table.reset_index(drop=True), geometry=list(geoms), crs=ctx.territory.crs
    )


def _spatial_codes(ctx: LoadContext, points: np.ndarray) -> np.ndarray:
    """Territory commune code of each point (None outside the territory)."""
    codes = np.full(len(points), None, dtype=object)
    if len(points) == 0:
        return codes
    pt_idx, poly_idx = ctx.territory.sindex.query(points, predicate="within")
    # a point on a shared boundary may match two communes: keep the first
    first = ~pd.Series(pt_idx).duplicated().to_numpy()
    codes[pt_idx[first]] = ctx.territory["code"].to_numpy()[poly_idx[first]]
    return codes


def _codes_from_file(
    ctx: LoadContext,
    cat: Category,
    file_codes: pd.Series,
    spatial: np.ndarray,
    empty: np.ndarray,
    label: str,
) -> np.ndarray:
    """Return the file's code where it is a territory code, else the spatial join's (counted)."""
    fc = normalise_codes(file_codes).to_numpy(dtype=object)
    code_set = set(ctx.codes)
    in_terr = np.array([c is not None and c in code_set for c in fc], dtype=bool) & ~empty
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
    return np.where(in_terr, fc, spatial)


def place_points(
    ctx: LoadContext,
    cat: Category,
    frame: gpd.GeoDataFrame,
    file_codes: pd.Series | None,
    label: str,
) -> gpd.GeoDataFrame:
    """Give points a territory code and drop those outside the territory.

    Parameters
    ----------
    ctx : LoadContext
    cat : Category
    frame : GeoDataFrame
        The facilities (any geometry: polygons and lines become a point on their surface).
    file_codes : pandas.Series, optional
        Commune codes the file gives, positionally aligned on ``frame``; a code that is not a
        territory code is replaced by the spatial join's. None: spatial join only.
    label : str
        The source, named in logs.

    Returns
    -------
    GeoDataFrame
        The rows inside the territory with a ``code`` column and point geometries; the
        dropped rows are counted in ``ctx.report.outside_dropped``.
    """
    geoms = representative_points(frame.geometry.to_numpy())
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
    code = (
        spatial
        if file_codes is None
        else _codes_from_file(ctx, cat, file_codes, spatial, empty, label)
    )
    keep = np.array([c is not None for c in code], dtype=bool)
    dropped = int((~keep).sum())
    ctx.report.add_dropped(cat.id, dropped)
    if dropped:
        logger.info(
            "%s: category %s: %d facility(ies) outside the territory dropped",
            label,
            cat.id,
            dropped,
        )
    out = frame.loc[keep].copy()
    out["code"] = code[keep]
    return out.set_geometry(list(geoms[keep]), crs=ctx.territory.crs)


def _unique_ids(ids: pd.Series) -> pd.Series:
    """Make ids unique by suffixing repeats with '#2', '#3'..."""
    rank = ids.groupby(ids).cumcount()
    return ids.where(rank == 0, ids + "#" + (rank + 1).astype(str))


def finish(ctx: LoadContext, frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Concatenate placed facilities into the final table (:data:`FACILITY_COLUMNS`).

    Ids are made unique within a category, ``capacity_missing`` and ``in_study`` are set.
    """
    crs = ctx.territory.crs
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_frame(crs)
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


def empty_category(ctx: LoadContext, cat: Category, sources: tuple[Source, ...]) -> None:
    """Handle a category without any facility: logged when optional, else an error.

    Raises
    ------
    DataError
        The category is not optional (the message names it and its sources).
    """
    described = format_values([s.describe() for s in sources])
    if cat.optional:
        ctx.report.empty_optional.append(cat.id)
        logger.warning("optional category %s: no facility found in %s", cat.id, described)
        return
    raise DataError(
        f"category '{cat.id}': no facility found in the territory from source(s) {described}; "
        f"fix the sources or set optional = true"
    )
