"""Outputs of a study at national scale: per-département table and maps that scale.

A study of all of France (34,746 communes) writes the same GeoPackage and tables as a
département study, but no interactive map of every commune nor a report listing them:

- ``departements.csv``: one row per département (communes, population, population-weighted
  means of the main times, population over 45 min from a maternity, flags, median score);
- ``static/<column>.png``: one national map per main indicator, titled in French with its
  unit, sources and network caption (the study's labels); communes without a location drawn
  as « Donnée manquante »;
- ``departements/<dep>.html``: an interactive map of one département, on request only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract._util.io import write_bytes_atomic, write_text_atomic
from geoattract.errors import DataError, format_values
from geoattract.outputs.context import ReportContext

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


def national_static_maps(
    layer: gpd.GeoDataFrame, context: ReportContext, folder: Path
) -> dict[str, Path]:
    """One printable national map per main indicator, in French (« Donnée manquante » holes).

    Polygons are simplified by :data:`STATIC_SIMPLIFY_M`; titles, units, sources and the
    network caption come from the study's labels (``context``).
    """
    from geoattract.outputs.static import figure_png, static_map

    shapes = layer[layer.geometry.notna() & ~layer.geometry.is_empty].copy()
    shapes["geometry"] = shapes.geometry.simplify(STATIC_SIMPLIFY_M)
    files = {}
    for col in [c for c in NATIONAL_MAP_COLUMNS if c in layer]:
        title = f"{context.name} — {context.labels.column(col)}"
        fig = static_map(shapes, col, context, title=title)
        files[f"static/{col}.png"] = write_bytes_atomic(
            folder / "static" / f"{col}.png", figure_png(fig)
        )
    return files


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
