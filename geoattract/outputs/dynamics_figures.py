"""Figures of the population dynamics: decomposition bars, migration map, quadrant maps.

All drawn with matplotlib on an Agg canvas (no display), written as palette PNGs beside the
report and embedded in it; sources printed under each figure.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract.demography import Demography
from geoattract.outputs.basemap import Basemap, draw_basemap
from geoattract.outputs.classes import MISSING_COLOUR
from geoattract.outputs.context import ReportContext
from geoattract.outputs.draw import draw_polygons
from geoattract.outputs.labels import Labels
from geoattract.outputs.static import (
    LEGEND_BELOW,
    STATIC_DPI,
    FigureJob,
    FigureRendering,
    map_figure,
    render_figures,
)
from geoattract.scoring import QUADRANT_LABELS_FR, QUADRANTS, DynamicsAnalysis

#: Colours of the quadrants (ColorBrewer RdYlGn, colour-blind safe at four classes).
QUADRANT_COLOURS: dict[str, str] = {
    "haut_gain": "#1a9641",
    "bas_gain": "#a6d96a",
    "haut_perte": "#fdae61",
    "bas_perte": "#d7191c",
}

#: Classes of the migration-rate map (% a year) and their colours (ColorBrewer RdBu).
MIGRATION_BREAKS: tuple[float, ...] = (-1.0, -0.5, 0.0, 0.5, 1.0)
MIGRATION_COLOURS: tuple[str, ...] = (
    "#b2182b",
    "#ef8a62",
    "#fddbc7",
    "#d1e5f0",
    "#67a9cf",
    "#2166ac",
)

#: Legend title of the migration map: a diverging palette says which side is favourable.
MIGRATION_LEGEND_TITLE: str = (
    "% par an (communes)\nbleu : gain migratoire (favorable)\nrouge : perte migratoire"
)

#: Characters per line and line height (inches) of the notes under a figure.
NOTE_WIDTH = 130
NOTE_LINE_IN = 0.13

#: Colours of the decomposition bars.
NATURAL_COLOUR = "#8c6bb1"
MIGRATION_COLOUR = "#41ab5d"


def _figure(size: tuple[float, float], notes: str = "") -> tuple[Any, Any]:
    """A figure on an Agg canvas (no display) and the subfigure to draw in, notes under it.

    The notes (sources) get a band of their own under the drawing: they never cover it.
    """
    import textwrap

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    lines = textwrap.wrap(notes, NOTE_WIDTH) if notes else []
    note_h = NOTE_LINE_IN * (len(lines) + 1) if lines else 0.0
    fig = Figure(figsize=(size[0], size[1] + note_h), layout="constrained")
    FigureCanvasAgg(fig)
    if not lines:
        return fig, fig
    top, bottom = np.asarray(fig.subfigures(2, 1, height_ratios=[size[1], note_h])).ravel()
    bottom.text(0.0, 1.0, "\n".join(lines), fontsize=7, ha="left", va="top", color="#333333")
    return fig, top


def _pct(v: float) -> str:
    text = f"{abs(v):.1f}".replace(".", ",")
    return ("−" if v < 0 else "+" if v > 0 else "") + text


def decomposition_figure(demo: Demography, notes: str = "") -> Any:
    """Bars of the natural and migration balance rates, and the growth rate, per territory.

    Returns
    -------
    matplotlib.figure.Figure
    """
    terr = demo.territories.iloc[::-1]
    n = len(terr)
    fig, sub = _figure((8.0, 0.5 * n + 1.4), notes)
    ax = sub.add_subplot()
    y = np.arange(n)
    h = 0.36
    ax.barh(y + h / 2, terr["natural_rate_pct"], h, color=NATURAL_COLOUR, label="solde naturel")
    ax.barh(
        y - h / 2,
        terr["migration_rate_pct"],
        h,
        color=MIGRATION_COLOUR,
        label="solde migratoire apparent",
    )
    ax.scatter(
        terr["growth_rate_pct"], y, marker="D", color="black", zorder=3, label="variation totale"
    )
    ax.axvline(0, color="#333333", linewidth=0.8)
    ax.set_yticks(y, [str(v) for v in terr["nom"]])
    key = demo.study_key
    for lab, k in zip(ax.get_yticklabels(), terr.index, strict=True):
        if k == key:
            lab.set_fontweight("bold")
    src = demo.source
    period = src.period_fr if src is not None else ""
    ax.set_xlabel(f"% par an, {period}")
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    sub.legend(loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    ax.set_title(
        f"Variation annuelle de la population et ses deux composantes, {period}", fontsize=11
    )
    return fig


def _frame(ax: Any, gdf: gpd.GeoDataFrame, margin: float = 0.03) -> None:
    minx, miny, maxx, maxy = gdf.total_bounds
    dx, dy = (maxx - minx) * margin, (maxy - miny) * margin
    ax.set_xlim(minx - dx, maxx + dx)
    ax.set_ylim(miny - dy, maxy + dy)
    ax.set_axis_off()
    ax.set_aspect("equal")


def migration_map(
    communes: gpd.GeoDataFrame,
    demo: Demography,
    context: ReportContext | None = None,
    basemap: Basemap | None = None,
) -> Any:
    """Map of the apparent migration balance rate per commune (diverging classes around 0)."""
    from matplotlib.patches import Patch

    rate = pd.to_numeric(communes["demo_migration_rate_pct"], errors="coerce")
    classes = np.digitize(rate.fillna(0.0), MIGRATION_BREAKS, right=True)
    colours = [
        MISSING_COLOUR if pd.isna(r) else MIGRATION_COLOURS[c]
        for r, c in zip(rate, classes, strict=True)
    ]
    src = demo.source
    notes = [context.source_line if context is not None else ""]
    if src is not None and src.natural_estimated:
        notes.append(src.natural_note_fr())
    notes.append(
        "Taux des petites communes très variables : quelques arrivées ou départs y déplacent le "
        "taux de plusieurs points."
    )
    fig, ax = map_figure([t for t in notes if t])
    draw_basemap(ax, basemap, under=True)
    draw_polygons(ax, communes, color=colours, edgecolor="#555555", linewidth=0.25)
    draw_basemap(ax, basemap, under=False)
    _frame(ax, communes)
    period = src.period_fr if src is not None else ""
    ax.set_title(f"Solde migratoire apparent {period} (% par an)", fontsize=14, fontweight="bold")
    edges = ["", *[_pct(b) for b in MIGRATION_BREAKS], ""]
    labels = []
    for i in range(len(MIGRATION_COLOURS)):
        lo, hi = edges[i], edges[i + 1]
        n = int(((classes == i) & rate.notna()).sum())
        text = f"≤ {hi}" if not lo else (f"> {lo}" if not hi else f"{lo} à {hi}")
        labels.append(f"{text} ({n})")
    handles = [
        Patch(facecolor=c, edgecolor="#555555", label=lab)
        for c, lab in zip(MIGRATION_COLOURS, labels, strict=True)
    ][::-1]
    n_missing = int(rate.isna().sum())
    if n_missing:
        handles.append(Patch(facecolor=MISSING_COLOUR, label=f"Donnée manquante ({n_missing})"))
    ax.legend(handles=handles, title=MIGRATION_LEGEND_TITLE, fontsize=8, **LEGEND_BELOW)
    return fig


def quadrant_figure(
    communes: gpd.GeoDataFrame,
    dynamics: DynamicsAnalysis,
    labels: Labels,
    notes: str = "",
) -> Any:
    """Small maps, one per profile: the quadrant of each commune (offer against migration)."""
    from matplotlib.patches import Patch

    cols = list(dynamics.quadrants.columns)
    ncol = 3 if len(cols) > 4 else max(len(cols), 1)
    nrow = int(np.ceil(len(cols) / ncol))
    fig, sub = _figure((9.0, 3.3 * nrow + 1.0), notes)
    axes = sub.subplots(nrow, ncol, squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for ax, col in zip(axes.ravel(), cols, strict=False):
        quad = communes[col]
        colours = [QUADRANT_COLOURS.get(str(q), MISSING_COLOUR) for q in quad]
        draw_polygons(ax, communes, color=colours, edgecolor="#777777", linewidth=0.15)
        _frame(ax, communes)
        profile = col.removeprefix("quadrant_")
        ax.set_title(labels.profile(profile), fontsize=10)
    handles = [
        Patch(facecolor=QUADRANT_COLOURS[q], edgecolor="#555555", label=QUADRANT_LABELS_FR[q])
        for q in QUADRANTS
    ]
    sub.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    title = "Offre de chaque profil et solde migratoire apparent, par commune"
    sub.suptitle(title, fontsize=12, fontweight="bold")
    return fig


def make_dynamics_figures(
    communes: gpd.GeoDataFrame,
    demography: Demography | None,
    dynamics: DynamicsAnalysis | None,
    context: ReportContext,
    out_dir: str | os.PathLike,
    *,
    basemap: Basemap | None = None,
    dpi: int = STATIC_DPI,
    rendering: FigureRendering | None = None,
) -> dict[str, Path]:
    """Write the figures of the population dynamics (none without them).

    ``rendering`` queues them there (written by its ``finish``) instead of drawing them now.

    Returns
    -------
    dict
        ``demography_decomposition``, ``demo_migration_rate_pct``, ``quadrants`` → PNG path.
    """
    out = Path(out_dir)
    if demography is None or not demography.available:
        return {}
    src = demography.source
    assert src is not None
    line = f"Source : {src.source_text}."
    if src.natural_estimated:
        line += " " + src.natural_note_fr()
    quad = (
        "Scores : calcul geoattract (sources en annexe du rapport). Solde migratoire : "
        f"{src.source_text}. Offre haute : score au moins égal au score médian pondéré par "
        "la population."
    )
    draws: dict[str, Callable[[], Any]] = {
        "demography_decomposition": functools.partial(decomposition_figure, demography, line),
        "demo_migration_rate_pct": functools.partial(
            migration_map, communes, demography, context, basemap
        ),
    }
    if dynamics is not None:
        draws["quadrants"] = functools.partial(
            quadrant_figure, communes, dynamics, context.labels, quad
        )
    jobs = [FigureJob(name, out / f"{name}.png", draw, dpi) for name, draw in draws.items()]
    return render_figures(jobs, rendering=rendering)
