"""Static PNG maps for printed reports (matplotlib, Agg canvas: no display needed).

Same classes and colours as the interactive maps; under each map, in a band of its own, the
source line, the network caption and the classification.
"""

from __future__ import annotations

import functools
import os
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geoattract._util.io import write_bytes_atomic
from geoattract._util.parallel import ForkedTasks
from geoattract.outputs.basemap import Basemap, draw_basemap
from geoattract.outputs.classes import (
    DEFAULT_K,
    DEFAULT_SCHEME,
    MISSING_COLOUR,
    MISSING_LABEL,
    PALETTE,
    ClassBreaks,
    classify,
)
from geoattract.outputs.context import ReportContext
from geoattract.outputs.draw import draw_polygons
from geoattract.outputs.geometry import check_crs_columns
from geoattract.outputs.labels import Labels, map_columns

#: Size (inches) and resolution of the static maps. 130 dpi: 1,040 pixels across, printed
#: at 155 dpi over the 17 cm of an A4 page; the report embeds its 17 figures in 4.7 MB
#: (5.3 MB at 150 dpi).
STATIC_FIGSIZE: tuple[float, float] = (8.0, 8.5)
STATIC_DPI: int = 130

#: Characters per line of the source / caption notes under a static map (7 pt text).
STATIC_NOTE_WIDTH = 118

#: Height of one line of notes under a static map, inches.
STATIC_NOTE_LINE_IN = 0.13

#: Characters per line of a map title (14 pt bold across the 8-inch figure).
STATIC_TITLE_WIDTH = 60

#: Margin around the study area, as a share of its extent (the neighbours show in it).
STATIC_MARGIN = 0.04

#: Colour of the notes; the schematic-network caption is printed in :data:`WARNING_COLOUR`.
NOTE_COLOUR = "#333333"
WARNING_COLOUR = "#b35806"

#: Colours of the palette PNG the static maps are stored as: a 5-class map with its legend
#: and anti-aliased text needs far fewer than 256; 128 keeps edges smooth at a quarter of
#: the size of a true-colour PNG (about 130 kB instead of 475 kB at 150 dpi).
STATIC_PNG_COLOURS = 128

#: zlib level of the palette PNGs: level 6 encodes a map of the study in 0.03 s instead of
#: 0.08 s at level 8, 5 % larger (159 kB instead of 151 kB with the octree palette).
STATIC_PNG_COMPRESSION = 6

#: Quantisation of the palette PNGs (Pillow's ``Image.Quantize``): the octree takes 0.01 s for
#: a map of the study where median cut takes 0.09 s, keeps the few flat colours of a class map
#: and its legend swatches, and compresses better (159 kB against 207 kB); mean error 1.3 of
#: 255 per channel, on anti-aliased edges.
STATIC_PNG_METHOD = "FASTOCTREE"


#: Where the legend of a printed map goes: under the map, on columns (it never hides a
#: commune; in the study's lower left corner it covered the south-west).
LEGEND_BELOW: dict[str, Any] = {"loc": "upper center", "bbox_to_anchor": (0.5, 0.0), "ncol": 3}


def _frame(ax: Any, communes: gpd.GeoDataFrame) -> None:
    minx, miny, maxx, maxy = communes.total_bounds
    dx, dy = (maxx - minx) * STATIC_MARGIN, (maxy - miny) * STATIC_MARGIN
    ax.set_xlim(minx - dx, maxx + dx)
    ax.set_ylim(miny - dy, maxy + dy)


def legend_title(breaks: ClassBreaks, unit: str = "") -> str:
    """Title of a choropleth legend: the classification and unit, then which way is better."""
    return f"{breaks.scheme_text(unit)}\n{breaks.reading}"


def static_map(
    communes: gpd.GeoDataFrame,
    column: str,
    context: ReportContext | None = None,
    *,
    title: str | None = None,
    scheme: str = DEFAULT_SCHEME,
    k: int = DEFAULT_K,
    basemap: Basemap | None = None,
    background: gpd.GeoSeries | None = None,
    edge_width: float = 0.25,
    legend_below: bool = True,
):
    """Draw a static choropleth (matplotlib Figure, Agg canvas) of one column, for printing.

    Darker is better (:mod:`geoattract.outputs.classes`); communes without a value or without
    a polygon are counted in the legend as « Donnée manquante ».

    Parameters
    ----------
    communes : GeoDataFrame
        Communes in a projected CRS with ``column`` (rows without geometry are counted, not
        drawn).
    column : str
        Column to map.
    context : ReportContext, optional
        Labels (title, unit, direction), source line and network caption (printed under the
        map).
    title : str, optional
        Figure title (default: French label of the column).
    scheme, k : str, int
        Classification (same classes and colours as the interactive maps).
    basemap : Basemap, optional
        Outline, neighbouring communes, main roads and town names drawn around the data.
    background : GeoSeries, optional
        Land drawn in the « Donnée manquante » grey under the communes: where no commune
        polygon covers it (a commune without a polygon), it shows grey, not white.
    edge_width : float
        Width of the commune borders, points.
    legend_below : bool
        Legend under the map, on two rows (default: it never hides a commune), instead of
        its lower left corner.

    Returns
    -------
    matplotlib.figure.Figure
        A figure bound to an Agg canvas (no display needed).
    """
    from matplotlib.patches import Patch

    check_crs_columns(communes, [column, "geometry"], "communes")
    labels = context.labels if context is not None else Labels()
    title = title or labels.column(column)
    values = pd.to_numeric(communes[column], errors="coerce")
    breaks = classify(values, scheme, k, higher_is_better=labels.higher_is_better(column))
    caption = context.caption_text if context is not None else ""
    notes = [
        t
        for t in (
            context.source_line if context is not None else "",
            caption,
            f"Palette {PALETTE} (ColorBrewer) — {breaks.title}",
        )
        if t
    ]
    schematic = context is not None and context.schematic
    fig, ax = map_figure(notes, WARNING_COLOUR if schematic else NOTE_COLOUR)
    draw_basemap(ax, basemap, under=True)
    if background is not None:
        draw_polygons(ax, background, color=MISSING_COLOUR, linewidth=0.0)
    draw_polygons(ax, communes, color=breaks.colour_of(), edgecolor="#555555", linewidth=edge_width)
    draw_basemap(ax, basemap, under=False)
    _frame(ax, communes)
    ax.set_axis_off()
    ax.set_aspect("equal")
    ax.set_title(
        "\n".join(textwrap.wrap(title, STATIC_TITLE_WIDTH)), fontsize=14, fontweight="bold"
    )
    handles = [
        Patch(facecolor=c, edgecolor="#555555", label=lab)
        for c, lab in zip(breaks.colours, breaks.labels(), strict=True)
    ]
    no_shape = communes.geometry.isna() | communes.geometry.is_empty
    n_missing = int(((breaks.classes < 0) | no_shape.to_numpy()).sum())
    if n_missing:
        handles.append(
            Patch(
                facecolor=MISSING_COLOUR,
                edgecolor="#555555",
                label=f"{MISSING_LABEL} ({n_missing})",
            )
        )
    where = LEGEND_BELOW if legend_below else {"loc": "lower left"}
    ax.legend(
        handles=handles,
        title=legend_title(breaks, labels.unit(column)),
        fontsize=8,
        title_fontsize=9,
        frameon=True,
        **where,
    )
    return fig


@functools.cache
def _render_on_save_canvas() -> type:
    """An Agg canvas class that renders a figure only when it is saved.

    geopandas asks the canvas for a redraw (``draw_idle``) after every layer it plots; Agg
    honours it at once, so a map of six layers was rendered seven times (about 45 s of the
    48 s of the printed maps of the study). Nothing here is shown on screen: the one
    rendering that counts is ``savefig``'s.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    class RenderOnSaveCanvas(FigureCanvasAgg):
        def draw_idle(self, *args: Any, **kwargs: Any) -> None:
            """Skip the redraw: the figure is rendered by ``savefig``."""

    return RenderOnSaveCanvas


def map_figure(notes: Sequence[str], colour: str = NOTE_COLOUR) -> tuple[Any, Any]:
    """A map figure (Agg canvas) with its notes printed in a band of their own under the map.

    The band is sized to the line count of the notes: they never cover the map or its
    legend, however long the list of sources.

    Parameters
    ----------
    notes : sequence of str
        Paragraphs (source line, network caption…), wrapped to :data:`STATIC_NOTE_WIDTH`.
    colour : str
        Colour of the notes.

    Returns
    -------
    (matplotlib.figure.Figure, matplotlib.axes.Axes)
        The figure and the axes of the map.
    """
    from matplotlib.figure import Figure

    lines = [line for t in notes for line in textwrap.wrap(t, STATIC_NOTE_WIDTH)]
    note_h = STATIC_NOTE_LINE_IN * (len(lines) + 1)
    width, height = STATIC_FIGSIZE
    fig = Figure(figsize=(width, height + note_h), layout="constrained")
    _render_on_save_canvas()(fig)
    grid = fig.add_gridspec(2, 1, height_ratios=[height, note_h])
    ax = fig.add_subplot(grid[0])
    ax_notes = fig.add_subplot(grid[1])
    ax_notes.set_axis_off()
    ax_notes.text(
        0.0,
        1.0,
        "\n".join(lines),
        fontsize=7,
        ha="left",
        va="top",
        transform=ax_notes.transAxes,
        color=colour,
    )
    return fig, ax


def figure_png(
    fig,
    dpi: int = STATIC_DPI,
    colours: int | None = STATIC_PNG_COLOURS,
    method: str = STATIC_PNG_METHOD,
) -> bytes:
    """PNG bytes of a matplotlib figure, quantised to a palette of ``colours`` (None: RGBA).

    The figure is rendered once, to raw pixels, and encoded once (the palette PNG).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    dpi : int
        Resolution.
    colours : int or None
        Palette size of the PNG; None keeps true colour.
    method : str
        Quantisation method of Pillow (``Image.Quantize`` name): ``MEDIANCUT`` keeps smooth
        edges; ``FASTOCTREE`` keeps a colour that covers few pixels (a legend swatch).

    Returns
    -------
    bytes
    """
    buf = BytesIO()
    if colours is None:
        fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
        return buf.getvalue()
    from PIL import Image

    fig.savefig(buf, format="rgba", dpi=dpi, facecolor="white")
    raw = buf.getvalue()
    width = int(fig.get_figwidth() * dpi)  # the renderer's size (matplotlib truncates too)
    height = len(raw) // (4 * width)
    if width * height * 4 != len(raw):
        raise ValueError(f"figure of {len(raw)} bytes is not {width} pixels wide")
    im = Image.frombuffer("RGBA", (width, height), raw, "raw", "RGBA", 0, 1)
    small = im.convert("RGB").quantize(colors=colours, method=Image.Quantize[method])
    out = BytesIO()
    small.save(out, format="PNG", compress_level=STATIC_PNG_COMPRESSION)
    return out.getvalue()


@dataclass(frozen=True)
class FigureJob:
    """One printed figure to draw and write: its name, its file and how to draw it.

    Attributes
    ----------
    name : str
        Key of the figure in the dictionaries of written files.
    path : Path
        PNG file to write.
    draw : callable
        Returns the matplotlib figure (called in a worker process).
    dpi, colours, method
        As in :func:`figure_png`.
    """

    name: str
    path: Path
    draw: Callable[[], Any]
    dpi: int = STATIC_DPI
    colours: int | None = STATIC_PNG_COLOURS
    method: str = STATIC_PNG_METHOD

    def png(self) -> bytes:
        """Draw the figure and return its PNG bytes."""
        return figure_png(self.draw(), self.dpi, self.colours, self.method)


class FigureRendering:
    """Printed figures drawn in parallel while the caller goes on, written when it asks.

    Figure writers (:func:`make_static_maps`, the corridor and population-dynamics figures)
    :meth:`add` their jobs and return the paths the files will have; :meth:`start` forks the
    workers (:class:`~geoattract._util.parallel.ForkedTasks`, one per core) and returns at
    once; :meth:`finish` waits for the figures and writes them (atomic writes). Each figure is
    rendered once, in one worker; without a started rendering they are drawn by
    :meth:`finish`, in this process.

    Parameters
    ----------
    n_workers : int, optional
        Worker processes (default: the cores this process may use,
        :func:`~geoattract._util.parallel.thread_count`).
    """

    def __init__(self, n_workers: int | None = None) -> None:
        self.n_workers = n_workers
        self.jobs: list[FigureJob] = []
        self._tasks: ForkedTasks[bytes] | None = None

    def add(self, jobs: Iterable[FigureJob]) -> dict[str, Path]:
        """Queue figure jobs; return name → path of the files :meth:`finish` will write."""
        if self._tasks is not None:
            raise RuntimeError("figures added after the rendering started")
        jobs = list(jobs)
        self.jobs += jobs
        return {job.name: job.path for job in jobs}

    def start(self) -> None:
        """Start drawing the queued figures in worker processes."""
        if self._tasks is None:
            self._tasks = ForkedTasks([job.png for job in self.jobs], self.n_workers)
            self._tasks.__enter__()

    def finish(self) -> dict[str, Path]:
        """Wait for every figure and write it; return name → written path."""
        self.start()
        assert self._tasks is not None
        try:
            pngs = self._tasks.results()
        finally:
            self.close()
        return {
            job.name: write_bytes_atomic(job.path, png)
            for job, png in zip(self.jobs, pngs, strict=True)
        }

    def close(self) -> None:
        """Stop the workers (a failed run does not wait for the figures it no longer needs)."""
        if self._tasks is not None:
            self._tasks.__exit__(None, None, None)

    def __enter__(self) -> FigureRendering:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._tasks is not None:
            self._tasks.__exit__(exc_type, exc, tb)


def render_figures(
    jobs: Iterable[FigureJob],
    n_workers: int | None = None,
    *,
    rendering: FigureRendering | None = None,
) -> dict[str, Path]:
    """Draw and write figure jobs in parallel (see :class:`FigureRendering`).

    With ``rendering`` the jobs are queued there instead (written by its ``finish``); the
    returned paths are the same.
    """
    if rendering is not None:
        return rendering.add(jobs)
    with FigureRendering(n_workers) as own:
        own.add(jobs)
        return own.finish()


def make_static_maps(
    communes: gpd.GeoDataFrame,
    context: ReportContext | None,
    out_dir: str | os.PathLike,
    *,
    basemap: Basemap | None = None,
    scheme: str = DEFAULT_SCHEME,
    k: int = DEFAULT_K,
    dpi: int = STATIC_DPI,
    columns: Sequence[str] | None = None,
    rendering: FigureRendering | None = None,
) -> dict[str, Path]:
    """Write one PNG map per profile score and per pillar (atomic writes), in parallel.

    Parameters
    ----------
    communes : GeoDataFrame
        Scored study communes.
    context : ReportContext or None
        Labels, sources and network caption.
    out_dir : path-like
        Output folder (created).
    basemap : Basemap, optional
        Outline, neighbours, roads and town names.
    scheme, k : str, int
        Classification.
    dpi : int
        Resolution.
    columns : sequence of str, optional
        Columns to map (default: every ``score_<profile>`` then every ``pillar_<pillar>``).
    rendering : FigureRendering, optional
        Queue the maps there (written by its ``finish``) instead of drawing them now.

    Returns
    -------
    dict
        ``score_<profile>`` / ``pillar_<pillar>`` → PNG path.
    """
    out = Path(out_dir)
    jobs = [
        FigureJob(
            column,
            out / f"{column}.png",
            functools.partial(
                static_map, communes, column, context, scheme=scheme, k=k, basemap=basemap
            ),
            dpi,
        )
        for column in map_columns(communes, columns)
    ]
    return render_figures(jobs, rendering=rendering)
