"""Outputs of a study at national scale: per-département table and maps that scale.

A study of all of France (34,746 communes) writes the same GeoPackage and tables as a
département study, but no interactive map of every commune nor a report listing them:

- ``departements.csv``: one row per département (communes, population, population-weighted
  means of the main times, population over 45 min from a maternity, flags, median score);
- ``static/<column>.png``: one national map per main indicator, titled in French (the study's
  labels), its unit and which way is better in the legend (darker = better), sources and
  network caption under it; communes without a value or a location, and the areas no commune
  polygon covers, in the « Donnée manquante » grey;
- ``departements/<dep>.html``: an interactive map of one département, on request only.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoattract._util.io import write_text_atomic
from geoattract.errors import DataError, format_values
from geoattract.outputs.columns import columns_table
from geoattract.outputs.context import ReportContext
from geoattract.outputs.static import FigureJob, render_figures, static_map

logger = logging.getLogger(__name__)

#: Columns drawn as national maps (when present).
NATIONAL_MAP_COLUMNS: tuple[str, ...] = (
    "time_gp_min",
    "e2sfca_gp",
    "time_maternity_min",
    "time_prefecture_min",
    "time_regional_capital_min",
    "time_paris_min",
    "score_general",
)

#: Columns whose population-weighted mean ``departements.csv`` gives (when present).
POPMEAN_COLUMNS: tuple[str, ...] = (
    "time_gp_min",
    "e2sfca_gp",
    "time_maternity_min",
    "time_prefecture_min",
)

#: Polygon simplification of the national static maps (metres): invisible at that scale.
STATIC_SIMPLIFY_M: float = 300.0

#: Cell of the land mask that finds the areas no commune polygon covers (metres): about half
#: a pixel of a national map.
HOLE_CELL_M: float = 500.0

#: Width of the commune borders on a national map (points): 35,000 communes at 0.25 pt
#: turned the map into a grey mesh.
NATIONAL_EDGE_WIDTH: float = 0.1


def departement_summary(layer: pd.DataFrame) -> pd.DataFrame:
    """One row per département: communes, population, population-weighted means, flags."""
    pop = layer["population"].fillna(0.0)
    out = pd.DataFrame({"communes": layer.groupby("dep").size()})
    out["population"] = pop.groupby(layer["dep"]).sum()
    for col in POPMEAN_COLUMNS:
        if col in layer:
            ok = layer[col].notna()
            num = (layer[col].where(ok, 0.0) * pop).groupby(layer["dep"]).sum()
            den = pop.where(ok, 0.0).groupby(layer["dep"]).sum()
            out[f"{col}_popmean"] = num / den.replace(0.0, np.nan)
    if "time_maternity_min" in layer:
        far = (layer["time_maternity_min"] > 45).astype(float) * pop
        out["population_maternity_over_45min"] = far.groupby(layer["dep"]).sum()
    flags = [c for c in layer.columns if c.startswith("unreachable_")]
    for col in [*flags, "town_hall_unsnapped", "polygon_missing"]:
        if col in layer:
            out[col] = layer[col].fillna(False).astype(bool).groupby(layer["dep"]).sum()
    if "score_general" in layer:
        out["score_general_median"] = layer.groupby("dep")["score_general"].median()
    return out.reset_index()


def missing_areas(shapes: gpd.GeoSeries, cell: float = HOLE_CELL_M) -> gpd.GeoSeries:
    """Areas enclosed by the communes that no commune polygon covers, as polygons.

    A commune without a polygon (merged, or left out of the source) leaves a hole in a national
    map; these areas are drawn in the « Donnée manquante » grey under the communes instead of
    white. Found on a land mask of ``cell``-metre cells (holes of the mask, grown by a cell:
    the communes drawn over them hide the overlap).

    Parameters
    ----------
    shapes : GeoSeries
        Commune polygons in a projected CRS (missing and empty ones ignored).
    cell : float
        Cell of the mask, metres.

    Returns
    -------
    GeoSeries
        Polygons in the CRS of ``shapes`` (empty when the communes leave no hole).
    """
    from rasterio import features, transform
    from scipy import ndimage

    geoms = shapes[shapes.notna() & ~shapes.is_empty]
    if geoms.empty:
        return gpd.GeoSeries([], crs=shapes.crs)
    minx, miny, maxx, maxy = geoms.total_bounds
    width = int(np.ceil((maxx - minx) / cell)) + 2
    height = int(np.ceil((maxy - miny) / cell)) + 2
    affine = transform.Affine(cell, 0.0, minx - cell, 0.0, -cell, maxy + cell)
    land = features.rasterize(
        ((g, 1) for g in geoms.values),
        out_shape=(height, width),
        transform=affine,
        all_touched=True,
        dtype="uint8",
    ).astype(bool)
    holes = ndimage.binary_fill_holes(land) & ~land
    if not holes.any():
        return gpd.GeoSeries([], crs=shapes.crs)
    holes = ndimage.binary_dilation(holes)
    polygons = [
        shapely.geometry.shape(geom)
        for geom, _ in features.shapes(
            holes.astype("uint8"), mask=holes, transform=affine, connectivity=8
        )
    ]
    return gpd.GeoSeries(polygons, crs=shapes.crs)


def national_map_titles(columns: Sequence[str], context: ReportContext) -> dict[str, str]:
    """The French title of each national map, from the study's labels; never a column name.

    The indicator's label of the scoring configuration where it has one, else the label of
    the ``columns`` table (:func:`~geoattract.outputs.columns.columns_table`). A column the
    configuration does not describe gets no map (a warning says so).
    """
    table = columns_table(list(columns), context.labels, caption=context.caption)
    titles = {}
    for col, row in zip(columns, table.itertuples(index=False), strict=True):
        ind = context.labels.indicators.get(col)
        label = ind.label if ind is not None else str(row.label_fr)
        if ind is None and not row.definition:
            logger.warning("national maps: column %r has no French label; no map drawn", col)
            continue
        titles[col] = f"{context.name} — {label}"
    return titles


def national_map_jobs(
    layer: gpd.GeoDataFrame, context: ReportContext, folder: Path
) -> list[FigureJob]:
    """One printable national map per main indicator (:data:`NATIONAL_MAP_COLUMNS`), as jobs.

    French title (:func:`national_map_titles`), unit and direction in the legend, sources and
    network caption under the map; communes without a value or a polygon, and the areas no
    polygon covers (:func:`missing_areas`), in the « Donnée manquante » grey. Polygons are
    simplified by :data:`STATIC_SIMPLIFY_M`.
    """
    shapes = layer.copy()
    drawn = shapes.geometry.notna() & ~shapes.geometry.is_empty
    shapes.loc[drawn, shapes.geometry.name] = shapes.geometry[drawn].simplify(STATIC_SIMPLIFY_M)
    background = missing_areas(shapes.geometry)
    titles = national_map_titles([c for c in NATIONAL_MAP_COLUMNS if c in layer], context)
    return [
        FigureJob(
            col,
            folder / "static" / f"{col}.png",
            functools.partial(
                static_map,
                shapes,
                col,
                context,
                title=title,
                background=background,
                edge_width=NATIONAL_EDGE_WIDTH,
                legend_below=True,
            ),
        )
        for col, title in titles.items()
    ]


def national_static_maps(
    layer: gpd.GeoDataFrame, context: ReportContext, folder: Path
) -> dict[str, Path]:
    """Write the national maps of :func:`national_map_jobs`, drawn in parallel."""
    written = render_figures(national_map_jobs(layer, context, folder))
    return {f"static/{col}.png": path for col, path in written.items()}


def check_departements(departements: Sequence[str], available: Sequence[str]) -> list[str]:
    """The départements asked for, checked against those of the study (at the door).

    Raises
    ------
    DataError
        Naming the unknown codes and the study's.
    """
    wanted = [str(d) for d in departements]
    unknown = sorted(set(wanted) - {str(a) for a in available})
    if unknown:
        raise DataError(
            f"--departement-maps: unknown département(s) {format_values(unknown)}; the study "
            f"has {format_values(sorted({str(a) for a in available}))}"
        )
    return wanted


def departement_maps(
    layer: gpd.GeoDataFrame,
    departements: Sequence[str],
    context: ReportContext,
    folder: Path,
) -> dict[str, Path]:
    """An interactive map of the main score (or the GP time) of each requested département."""
    from geoattract.outputs.maps import choropleth_map, render_map_html

    check_departements(departements, layer["dep"].dropna().unique().tolist())
    column = "score_general" if "score_general" in layer else "time_gp_min"
    files = {}
    for dep in departements:
        rows = layer[(layer["dep"] == dep) & layer.geometry.notna()]
        title = f"{context.labels.column(column)} — département {dep}"
        m = choropleth_map(rows, column, context, title=title)
        files[f"departements/{dep}.html"] = write_text_atomic(
            folder / "departements" / f"{dep}.html", render_map_html(m)
        )
    return files


def write_departement_table(layer: pd.DataFrame, folder: Path) -> dict[str, Path]:
    """``departements.csv`` (see :func:`departement_summary`)."""
    table = departement_summary(layer)
    return {
        "departements.csv": write_text_atomic(
            folder / "departements.csv", table.to_csv(index=False, float_format="%.3f")
        )
    }
