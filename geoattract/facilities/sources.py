"""Facility loading: the file source adapters and :func:`load_facilities`.

:func:`load_facilities` turns the catalogue into one GeoDataFrame of points in the territory's
CRS, one row per facility (or per commune x category for tables of counts such as the INSEE
BPE). Each source type of the catalogue has an adapter:

- ``bpe``: the BPE count tables of ``[bpe]`` (TYPEQU columns summed), placed at the town hall;
- ``points``: a point layer, placed by its commune code or by spatial join;
- ``table``: a CSV of facilities without coordinates (latest year of each unit), at the town
  hall;
- ``counts``: a CSV of counts per commune, at the town hall;
- ``osm``: OpenStreetMap features (:mod:`geoattract.facilities.osm`), with ``source="osm"``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract._util.io import read_csv, read_vector, require_columns
from geoattract._util.progress import progress_bar
from geoattract.errors import DataError, format_values
from geoattract.facilities.catalogue import Catalogue, Category, Source
from geoattract.facilities.coverage import CoverageReport, check_coverage, supply_by_source
from geoattract.facilities.osm import load_osm_facilities
from geoattract.facilities.placement import (
    LoadContext,
    at_town_halls,
    empty_category,
    finish,
    place_points,
    select_categories,
)
from geoattract.facilities.tables import (
    index_by_code,
    normalise_codes,
    numeric_values,
)
from geoattract.territory import check_territory

logger = logging.getLogger(__name__)

#: Where :func:`load_facilities` takes facilities from.
SOURCE_MODES: tuple[str, ...] = ("files", "osm")


def _apply_filter(df: pd.DataFrame, src: Source, path: Path) -> pd.DataFrame:
    if src.filter_column is None:
        return df
    require_columns(df, [src.filter_column], path)
    wanted = {str(v) for v in src.filter_values}
    keep = df[src.filter_column].astype("string").isin(wanted).fillna(False).astype(bool)
    return df.loc[keep.to_numpy()]


def _source_path(ctx: LoadContext, src: Source) -> Path:
    assert src.file is not None  # the schemas of file sources require a file
    return ctx.data_dir / src.file


def _bpe_table(ctx: LoadContext, path: Path) -> pd.DataFrame:
    """Read a BPE count table once per load, with normalised unique codes."""
    key = f"bpe:{path}"
    if key not in ctx.cache:
        column = ctx.catalogue.bpe_code_column
        if column is None:
            raise DataError(f"{ctx.catalogue.path}: [bpe] has no code_column")
        table = read_csv(path, code_columns=[column], sep=ctx.catalogue.bpe_sep)
        ctx.cache[key] = index_by_code(table, column, path).reset_index()
    return ctx.cache[key]


def load_bpe(ctx: LoadContext, cat: Category, src: Source) -> gpd.GeoDataFrame:
    """Adapter of ``bpe`` sources: TYPEQU counts summed per commune, at the town hall."""
    catalogue = ctx.catalogue
    frames = []
    found: set[str] = set()
    for rel in catalogue.bpe_files:
        path = ctx.data_dir / rel
        table = _bpe_table(ctx, path)
        code_column = str(catalogue.bpe_code_column)
        cols = [c for c in src.typequ if c in table.columns]
        if not cols:
            continue
        found.update(cols)
        counts = pd.DataFrame({c: numeric_values(table[c], path, c) for c in cols})
        missing = table.loc[counts.isna().any(axis=1), code_column]
        if len(missing):
            raise DataError(
                f"{path}: empty counts in column(s) {format_values(cols)} for codes {format_values(missing)}"
            )
        frames.append(
            pd.DataFrame(
                {"code": table[code_column].to_numpy(), "count": counts.sum(axis=1).to_numpy()}
            )
        )
    absent = [c for c in src.typequ if c not in found]
    if absent:
        raise DataError(
            f"category '{cat.id}': TYPEQU column(s) {format_values(absent)} absent from the BPE tables "
            f"{format_values(catalogue.bpe_files)}"
        )
    totals = pd.concat(frames).groupby("code", as_index=False)["count"].sum()
    totals = totals.loc[totals["count"] > 0]
    codes = totals["code"].astype(str)
    out = pd.DataFrame(
        {
            "code": codes.to_numpy(),
            "facility_id": [f"bpe:{'+'.join(src.typequ)}:{c}" for c in codes],
            "name": [f"{cat.label_fr} ({ctx.commune_name(c)})" for c in codes],
            "capacity": totals["count"].to_numpy(dtype=float),
        }
    )
    return at_town_halls(ctx, cat, src, out, ctx.data_dir / catalogue.bpe_files[0])


def _read_vector_cached(ctx: LoadContext, path: Path) -> gpd.GeoDataFrame:
    key = f"vector:{path}"
    if key not in ctx.cache:
        ctx.cache[key] = read_vector(path).to_crs(ctx.territory.crs)
    return ctx.cache[key]


def _capacity(table: pd.DataFrame, src: Source, path: Path) -> np.ndarray:
    """Return the capacity column as numbers, or 1 per row without one."""
    if not src.capacity_column:
        return np.ones(len(table))
    return numeric_values(table[src.capacity_column], path, src.capacity_column).to_numpy()


def load_points(ctx: LoadContext, cat: Category, src: Source) -> gpd.GeoDataFrame:
    """Adapter of ``points`` sources: a point layer, placed by code or spatial join."""
    path = _source_path(ctx, src)
    layer = _read_vector_cached(ctx, path)
    named = (src.capacity_column, src.code_column, src.id_column, src.name_column)
    require_columns(layer, [c for c in (*named, src.filter_column) if c], path)
    layer = _apply_filter(layer, src, path)
    frame = gpd.GeoDataFrame(
        {
            "facility_id": (
                layer[src.id_column].astype(str).to_numpy()
                if src.id_column
                else [f"{path.stem}:{i}" for i in layer.index]
            ),
            "name": layer[src.name_column].astype(object).to_numpy() if src.name_column else None,
            "capacity": _capacity(layer, src, path),
        },
        geometry=layer.geometry.to_numpy(),
        crs=ctx.territory.crs,
    )
    file_codes = pd.Series(layer[src.code_column].to_numpy()) if src.code_column else None
    return place_points(ctx, cat, frame, file_codes, str(path))


def _latest_year(
    ctx: LoadContext, cat: Category, src: Source, table: pd.DataFrame, path: Path
) -> pd.DataFrame:
    """Rows of the file's latest year; units absent from it are closed (reported)."""
    assert src.year_column is not None and src.id_column is not None
    years = numeric_values(table[src.year_column], path, src.year_column)
    table = table.assign(_year=years.to_numpy()).sort_values("_year", kind="stable")
    latest = table.groupby(src.id_column).tail(1)
    last_year = latest["_year"].max()
    closed = latest.loc[latest["_year"] < last_year]
    if len(closed):
        names = closed[src.name_column] if src.name_column else closed[src.id_column]
        ids = [
            f"{i} ({n}, last {int(y)})"
            for i, n, y in zip(closed[src.id_column], names, closed["_year"], strict=True)
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
    return latest.loc[latest["_year"] == last_year]


def load_table(ctx: LoadContext, cat: Category, src: Source) -> gpd.GeoDataFrame:
    """Adapter of ``table`` sources: facilities without coordinates, at the town hall."""
    path = _source_path(ctx, src)
    assert src.code_column is not None and src.id_column is not None  # required by the schema
    cols = [c for c in (src.name_column, src.year_column, src.capacity_column) if c]
    table = read_csv(path, columns=cols, code_columns=[src.code_column, src.id_column])
    table = _apply_filter(table, src, path)
    table[src.code_column] = normalise_codes(table[src.code_column])
    if src.year_column and src.latest_only:
        table = _latest_year(ctx, cat, src, table, path)
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
            "capacity": _capacity(table, src, path),
        }
    )
    return at_town_halls(ctx, cat, src, out, path)


def load_counts(ctx: LoadContext, cat: Category, src: Source) -> gpd.GeoDataFrame:
    """Adapter of ``counts`` sources: a count per commune, one row at the town hall."""
    path = _source_path(ctx, src)
    assert src.code_column is not None and src.count_column is not None  # required by the schema
    table = read_csv(path, columns=[src.count_column], code_columns=[src.code_column])
    table = _apply_filter(table, src, path)
    counts = numeric_values(table[src.count_column], path, src.count_column)
    grouped = (
        pd.DataFrame(
            {
                "code": normalise_codes(table[src.code_column]).to_numpy(),
                "count": counts.to_numpy(),
            }
        )
        .groupby("code", as_index=False)["count"]
        .sum(min_count=1)
    )
    grouped = grouped.loc[grouped["count"] > 0]
    out = pd.DataFrame(
        {
            "code": grouped["code"].to_numpy(),
            "facility_id": [f"{path.stem}:{cat.id}:{c}" for c in grouped["code"]],
            "name": [f"{cat.label_fr} ({ctx.commune_name(c)})" for c in grouped["code"]],
            "capacity": grouped["count"].to_numpy(dtype=float),
        }
    )
    return at_town_halls(ctx, cat, src, out, path)


#: Adapter of each file source type.
FILE_ADAPTERS: dict[str, Callable[[LoadContext, Category, Source], gpd.GeoDataFrame]] = {
    "bpe": load_bpe,
    "points": load_points,
    "table": load_table,
    "counts": load_counts,
}


def _departement_of(territory: gpd.GeoDataFrame) -> pd.Series:
    """Département of each territory commune, indexed by code."""
    codes = territory["code"].astype(str)
    deps = territory["dep"].astype(str) if "dep" in territory else codes.str[:2]
    return pd.Series(deps.to_numpy(), index=codes.to_numpy())


def _load_files(ctx: LoadContext, cats: list[Category], verbose: bool) -> gpd.GeoDataFrame:
    frames = []
    dep_of = _departement_of(ctx.territory)
    for cat in progress_bar(cats, desc="facilities", enabled=verbose):
        srcs = cat.sources_of("files")
        loaded = []
        for src in srcs:
            part = FILE_ADAPTERS[src.type](ctx, cat, src)
            part["source"] = src.type
            loaded.append((src, part))
        parts, _, adjustments = supply_by_source(cat, loaded, dep_of)
        _record_vintages(ctx, cat, loaded, parts, dep_of)
        if adjustments:
            ctx.report.adjustments[cat.id] = [a.describe() for a in adjustments]
            ctx.report.adjustments_fr[cat.id] = [a.describe_fr() for a in adjustments]
            for a in adjustments:
                logger.info("category %s: vintage adjustment %s", cat.id, a.describe())
        parts = [p for p in parts if len(p)]
        if not parts:
            empty_category(ctx, cat, srcs)
            continue
        frame = pd.concat(parts, ignore_index=True)
        frame["category"] = cat.id
        frames.append(frame)
    return finish(ctx, frames)


def _record_vintages(
    ctx: LoadContext,
    cat: Category,
    loaded: list[tuple[Source, gpd.GeoDataFrame]],
    parts: list[gpd.GeoDataFrame],
    dep_of: pd.Series,
) -> None:
    """``report.vintages[cat]``: each source's vintage and the départements it supplied."""
    items = []
    for (src, _), part in zip(loaded, parts, strict=True):
        if len(part):
            deps = sorted(set(part["code"].map(dep_of).dropna()))
            items.append(f"{src.describe()}: {src.vintage} ({', '.join(deps)})")
    ctx.report.vintages[cat.id] = "; ".join(items)


def _finalise_report(
    ctx: LoadContext,
    out: gpd.GeoDataFrame,
    cats: list[Category],
    mode: str,
    coverage: CoverageReport | None,
) -> None:
    for cat in cats:
        rows = out.loc[out["category"] == cat.id, "code"]
        ctx.report.departements[cat.id] = sorted(set(rows.str[:2]))
        covers = True
        if mode == "files" and coverage is not None:
            covers = coverage.covers_buffer.get(cat.id, True)
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
        From :func:`geoattract.territory.load_territory` (study + buffer communes).
    catalogue : Catalogue
        From :func:`geoattract.facilities.load_catalogue`.
    data_dir : path-like, optional
        Data folder; defaults to the one the catalogue was checked against.
    source : {"files", "osm"}
        ``"files"``: the BPE, point, table and count sources of the catalogue.
        ``"osm"``: the catalogue's OSM sources only (categories without one are skipped).
    osm : GeoDataFrame, path-like or None
        With ``source="osm"``: features already extracted by
        :func:`geoattract.facilities.facilities_from_pbf` or
        :func:`geoattract.facilities.facilities_from_osm_online`, a ``.osm.pbf`` path, or
        None to query Overpass.
    categories : iterable of str, optional
        Restrict to these category ids.
    verbose : bool
        Show a progress bar.

    Returns
    -------
    GeoDataFrame
        CRS of the territory, columns ``category``, ``facility_id`` (unique within a
        category), ``name``, ``capacity`` (float: the count for BPE and count tables, the
        capacity column for point/table sources, 1 otherwise), ``capacity_missing`` (capacity
        NaN in the source), ``code`` (INSEE code of the commune), ``in_study``, ``source``
        (bpe/points/table/counts/osm) and a Point geometry. Tables without coordinates are
        placed at the commune's town hall (one row per commune x category).
        ``attrs["report"]`` is a :class:`~geoattract.facilities.FacilityReport`;
        ``attrs["covers_buffer"]`` maps each category to whether its buffer offer is known,
        ``attrs["capacity_unit"]`` to the unit of its capacity.

    Raises
    ------
    DataError
        The sources of non-optional categories do not cover the territory's départements
        (:func:`~geoattract.facilities.coverage.check_coverage`: the message names the
        categories and the départements), a non-optional category has no facility (the message
        names it and its sources), a file lacks a column, a count or capacity is not a number,
        no data folder is known.
    DataNotFoundError
        A source file is missing.
    """
    check_territory(territory, town_halls=True, what="offer")
    if source not in SOURCE_MODES:
        raise ValueError(f"source must be 'files' or 'osm', got {source!r}")
    ddir = Path(data_dir) if data_dir is not None else catalogue.data_dir
    if source == "files" and ddir is None:
        raise DataError(
            "load_facilities: no data folder (catalogue loaded with check_files=False); pass data_dir"
        )
    ctx = LoadContext.create(territory, catalogue, ddir)
    cats = select_categories(catalogue, categories)
    coverage = None
    if source == "osm":
        out = load_osm_facilities(ctx, cats, osm)
    else:
        dep_of = _departement_of(territory)
        study = sorted(set(dep_of[territory["in_study"].to_numpy(dtype=bool)]))
        coverage = check_coverage(
            catalogue,
            study,
            sorted(set(dep_of) - set(study)),
            categories=[c.id for c in cats],
        )
        ctx.report.left_out = dict(coverage.left_out)
        cats = [c for c in cats if c.id not in coverage.left_out]
        out = _load_files(ctx, cats, verbose)
    _finalise_report(ctx, out, cats, source, coverage)
    out.attrs["report"] = ctx.report
    out.attrs["covers_buffer"] = dict(ctx.report.covers_buffer)
    out.attrs["capacity_unit"] = dict(ctx.report.capacity_unit)
    out.attrs["source"] = source
    _log_totals(out, ctx, source)
    return out


def _log_totals(out: gpd.GeoDataFrame, ctx: LoadContext, source: str) -> None:
    units = ctx.report.capacity_unit
    counts = out.groupby("category")["capacity"].sum()
    logger.info(
        "facilities (%s): %d rows, %d categories; %s",
        source,
        len(out),
        out["category"].nunique(),
        ", ".join(
            f"{k}={v:g}" + ("" if units.get(k, "count") == "count" else f" {units[k]}")
            for k, v in counts.items()
        ),
    )
