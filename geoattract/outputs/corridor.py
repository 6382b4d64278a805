"""The study between its metropoles: the corridor map and the report sections.

* :func:`corridor_figure` draws one static map of the reach of each metropole: the limits of
  the reference time (60 min) and of the longest threshold (90 min) from each metropole, by
  road (solid) and by road or road + train, the faster (dashed), over the communes of the
  corridor; the study communes are shaded by their best time to any metropole. The
  population within the reference time of each metropole is printed in a box.
* :func:`make_corridor_maps` writes it for today and for the scenario of ``[metropolitan]
  scenario`` (``static/corridor.png``, ``static/corridor_<scenario>.png``).
* :func:`metropolitan_section` and :func:`connectivity_section` are the HTML of the report
  sections: the transfer margin of car + train trips, sentences on the population within
  45, 60 and 90 min written from the figures, population within reach today and under the
  scenario, per département and EPCI, the rail links with their sources and vintages, the
  communes that gain most; fibre per EPCI and the telework index.
"""

from __future__ import annotations

import functools
import logging
import os
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from geoattract.accessibility import MetropolitanAccess, population_summary, top_gains
from geoattract.accessibility.metropolitan import study_population_within
from geoattract.accessibility.rail import MODE_RAIL
from geoattract.network.caption import without_file_name
from geoattract.outputs.context import ReportContext
from geoattract.outputs.draw import draw_lines, draw_polygons
from geoattract.outputs.html import esc, fr_number, png_data_uri, table
from geoattract.outputs.report import csv_link
from geoattract.outputs.static import FigureJob, FigureRendering, map_figure, render_figures

logger = logging.getLogger(__name__)

#: Colours of the metropoles, in the order of ``[poles]``.
METROPOLE_COLOURS: tuple[str, ...] = ("#1f5fbf", "#d7301f", "#238b45", "#6a3d9a")

#: Legend of each kind of time: road (solid), the faster of road and road + train (dashed).
MODE_LINES: dict[str, str] = {"": "en voiture", "best": "en voiture ou voiture + train"}

#: Line width of the reference limit and of the outer one.
CONTOUR_WIDTHS: tuple[float, float] = (2.6, 1.2)

#: Shading of the study communes by their best time to a metropole: upper bounds (minutes)
#: and colours (light greens, darker = closer); beyond the last bound the last colour.
FILL_BOUNDS_MIN: tuple[float, ...] = (60.0, 75.0, 90.0, 120.0)
FILL_COLOURS: tuple[str, ...] = ("#31a354", "#78c679", "#c2e699", "#f7fcb9", "#ffffff")

#: Dash pattern (points on, off) of the faster-mode limits; each metropole's dashes start at
#: another offset, so that two limits on the same line alternate their colours.
DASH: tuple[float, float] = (4.0, 4.0)

#: Width (metres) of the band along the edge of the corridor where a limit is not drawn: there
#: the limit is the edge of the data, not a travel time.
EDGE_BAND_M = 300.0

#: Fill of the corridor communes outside the study, and of the communes' borders.
CORRIDOR_FILL = "#f3f3f3"
BORDER_COLOUR = "#c8c8c8"
OUTLINE_COLOUR = "#333333"

#: Characters per line of the name of a new station on the map.
NEW_STATION_LABEL_WIDTH = 24

#: Characters per line of the map title.
TITLE_WIDTH = 70

#: Resolution and palette size of the corridor PNG: the report embeds it and stays under its
#: size budget (about 150 kB at 120 dpi and 64 colours); the octree quantisation keeps the
#: greens of the few communes within 60 min (median cut turns them grey).
CORRIDOR_DPI = 120
CORRIDOR_PNG_COLOURS = 64
CORRIDOR_QUANTISATION = "FASTOCTREE"

#: Communes listed in the report among those whose best time falls most.
TOP_GAINS = 10


def _union(polygons: gpd.GeoSeries, mask: pd.Series) -> Any:
    geoms = polygons[mask.fillna(False).to_numpy(dtype=bool)]
    return shapely.union_all(geoms.to_numpy()) if len(geoms) else None


def _fill_colours(best: pd.Series) -> list[str]:
    out = []
    for v in best.to_numpy(dtype=float):
        i = sum(v > b for b in FILL_BOUNDS_MIN) if v == v else len(FILL_BOUNDS_MIN)
        out.append(FILL_COLOURS[i])
    return out


def _limits(metro: MetropolitanAccess) -> tuple[int, int]:
    spec = metro.spec
    return spec.reference_min, max(spec.thresholds_min)


def _population_box(metro: MetropolitanAccess, scenario: str | None) -> str:
    summary = population_summary(metro, scenario)
    col = "scenario" if scenario is not None else "today"
    lines = [f"Population du département à moins de {metro.spec.reference_min} min :"]
    for name, part in summary.groupby("pole_nom", sort=False):
        values = dict(zip(part["mode"], part[col], strict=True))
        lines.append(
            f"{name} : {fr_number(values.get('voiture'))} en voiture, "
            f"{fr_number(values.get('meilleur'))} avec le train"
        )
    return "\n".join(lines)


def _line_style(kind: str, j: int) -> Any:
    """Solid for the road; dashes offset by metropole for the faster mode."""
    return "-" if not kind else (j * DASH[0], DASH)


def _draw_contours(ax: Any, metro: MetropolitanAccess, times: pd.DataFrame) -> list[Any]:
    """Limits of the reach of each metropole; returns the legend handles."""
    from matplotlib.lines import Line2D

    corridor = metro.corridor
    edge = shapely.union_all(corridor.geometry.to_numpy()).boundary.buffer(EDGE_BAND_M)
    handles = []
    limits = _limits(metro)
    for j, p in enumerate(metro.spec.metropoles):
        colour = METROPOLE_COLOURS[j % len(METROPOLE_COLOURS)]
        for kind in MODE_LINES:
            col = f"time_{p.key}_{kind}_min" if kind else f"time_{p.key}_min"
            for limit, width in zip(limits, CONTOUR_WIDTHS, strict=True):
                area = _union(corridor.geometry, times[col] <= limit)
                if area is None:
                    continue
                line = area.boundary.difference(edge)
                if line.is_empty:
                    continue
                draw_lines(
                    ax,
                    gpd.GeoSeries([line], crs=corridor.crs),
                    color=colour,
                    linestyle=_line_style(kind, j),
                    linewidth=width,
                    zorder=4,
                )
        handles.append(Line2D([], [], color=colour, linewidth=2.5, label=p.label))
    for kind, text in MODE_LINES.items():
        handles.append(
            Line2D([], [], color="#444", linestyle=_line_style(kind, 0), linewidth=1.8, label=text)
        )
    for limit, width in zip(limits, CONTOUR_WIDTHS, strict=True):
        handles.append(Line2D([], [], color="#444", linewidth=width, label=f"{limit} min"))
    return handles


def _draw_points(ax: Any, metro: MetropolitanAccess, stations: gpd.GeoDataFrame) -> list[Any]:
    from matplotlib.lines import Line2D

    poles = metro.pole_points
    for j, p in enumerate(metro.spec.metropoles):
        pt = poles.geometry[p.key]
        colour = METROPOLE_COLOURS[j % len(METROPOLE_COLOURS)]
        ax.plot(pt.x, pt.y, marker="*", markersize=16, color=colour, mec="white", zorder=6)
        ax.annotate(
            p.label,
            (pt.x, pt.y),
            xytext=(6, 6),
            textcoords="offset points",
            fontsize=11,
            fontweight="bold",
            color=colour,
            zorder=7,
        )
    for p in metro.spec.regional:
        pt = poles.geometry[p.key]
        ax.plot(pt.x, pt.y, marker="o", markersize=4, color="#222", zorder=6)
        ax.annotate(
            p.label,
            (pt.x, pt.y),
            xytext=(4, -10),
            textcoords="offset points",
            fontsize=7.5,
            color="#222",
            zorder=7,
        )
    base = set(metro.routing.stations.index)
    for sid, row in stations.iterrows():
        new = sid not in base
        ax.plot(
            row.geometry.x,
            row.geometry.y,
            marker="^",
            markersize=8 if new else 6,
            color="#ff7f00" if new else "#111",
            mec="white",
            zorder=6,
        )
        if new:
            ax.annotate(
                "\n".join(textwrap.wrap(str(row["name"]), NEW_STATION_LABEL_WIDTH)),
                (row.geometry.x, row.geometry.y),
                xytext=(-8, -6),
                ha="right",
                va="top",
                textcoords="offset points",
                fontsize=7.5,
                color="#b35806",
                zorder=7,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 1},
            )
    handles = [
        Line2D([], [], marker="^", color="#111", linestyle="", label="gare d'une liaison"),
    ]
    if any(s not in base for s in stations.index):
        handles.append(
            Line2D([], [], marker="^", color="#ff7f00", linestyle="", label="gare nouvelle")
        )
    return handles


def corridor_figure(
    metro: MetropolitanAccess,
    context: ReportContext | None = None,
    *,
    scenario: str | None = None,
) -> Any:
    """The corridor map (matplotlib Figure on an Agg canvas), today or under a scenario.

    Parameters
    ----------
    metro : MetropolitanAccess
        The metropolitan reach (its corridor communes, poles, links and scenarios).
    context : ReportContext, optional
        Source line and network caption printed under the map.
    scenario : str, optional
        Named scenario whose times are drawn (default: today).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.patches import Patch

    corridor = metro.corridor
    spec = metro.spec
    if scenario is None:
        times, stations, label = corridor, metro.routing.stations, "aujourd'hui"
    else:
        sc = metro.scenarios[scenario]
        times, stations, label = sc.corridor, sc.stations, sc.label
    best_cols = [f"time_{p.key}_best_min" for p in spec.metropoles]
    best_all = times[best_cols].min(axis=1)
    notes = [
        "Voiture : réseau routier calibré, de mairie à mairie. Voiture + train : voiture jusqu'à "
        f"la gare, {fr_number(spec.transfer_min)} min de correspondance, train le plus rapide "
        "publié jusqu'à la gare centrale (liaisons et sources dans le rapport).",
    ]
    if context is not None:
        notes += [t for t in (context.source_line, context.caption_text) if t]
    fig, ax = map_figure(notes)
    outside = ~corridor["in_study"].astype(bool)
    draw_polygons(
        ax, corridor, color=CORRIDOR_FILL, edgecolor=BORDER_COLOUR, linewidth=0.2, rows=outside
    )
    study = corridor[~outside]
    draw_polygons(
        ax,
        corridor,
        color=_fill_colours(best_all[~outside]),
        edgecolor=BORDER_COLOUR,
        linewidth=0.25,
        rows=~outside,
    )
    draw_lines(
        ax,
        gpd.GeoSeries([shapely.union_all(study.geometry.to_numpy())], crs=corridor.crs).boundary,
        color=OUTLINE_COLOUR,
        linewidth=1.4,
        zorder=3,
    )
    handles = _draw_contours(ax, metro, times)
    handles += _draw_points(ax, metro, stations)
    bounds = ["≤ 60 min", "60–75 min", "75–90 min", "90–120 min", "> 120 min"]
    shade = [
        Patch(facecolor=c, edgecolor=BORDER_COLOUR, label=b)
        for c, b in zip(FILL_COLOURS, bounds, strict=True)
    ]
    leg = ax.legend(
        handles=handles,
        loc="upper right",
        fontsize=7.5,
        title="Limites d'accès",
        title_fontsize=8,
        frameon=True,
    )
    ax.add_artist(leg)
    ax.legend(
        handles=shade,
        loc="lower left",
        fontsize=7.5,
        frameon=True,
        title="Communes : métropole la plus proche\n(mode le plus rapide)",
        title_fontsize=8,
    )
    ax.text(
        0.01,
        0.99,
        _population_box(metro, scenario),
        transform=ax.transAxes,
        fontsize=8,
        va="top",
        ha="left",
        zorder=8,
        bbox={"facecolor": "white", "edgecolor": "#999", "alpha": 0.9},
    )
    minx, miny, maxx, maxy = corridor.total_bounds
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_axis_off()
    ax.set_aspect("equal")
    title = "\n".join(textwrap.wrap(f"{spec.title} — {label}", TITLE_WIDTH))
    ax.set_title(title, fontsize=12, fontweight="bold")
    return fig


def make_corridor_maps(
    metro: MetropolitanAccess,
    context: ReportContext | None,
    out_dir: str | os.PathLike,
    *,
    dpi: int = CORRIDOR_DPI,
    rendering: FigureRendering | None = None,
) -> dict[str, Path]:
    """Write the corridor map today and under ``[metropolitan] scenario`` (PNG, atomic).

    ``rendering`` queues them there (written by its ``finish``) instead of drawing them now.

    Returns
    -------
    dict
        ``corridor`` (and ``corridor_<scenario>``) → PNG path.
    """
    out = Path(out_dir)
    scenarios = [None] if metro.spec.scenario is None else [None, metro.spec.scenario]
    jobs = [
        FigureJob(
            "corridor" if name is None else f"corridor_{name}",
            out / ("corridor.png" if name is None else f"corridor_{name}.png"),
            functools.partial(corridor_figure, metro, context, scenario=name),
            dpi,
            CORRIDOR_PNG_COLOURS,
            CORRIDOR_QUANTISATION,
        )
        for name in scenarios
    ]
    return render_figures(jobs, rendering=rendering)


# --------------------------------------------------------------------------------------------
# Report sections
# --------------------------------------------------------------------------------------------


def _figure(path: str | os.PathLike, caption: str) -> str:
    data = Path(path).read_bytes()
    return (
        f'<figure><img alt="{esc(caption)}" src="{png_data_uri(data)}">'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def _headline(metro: MetropolitanAccess) -> str:
    name = metro.spec.scenario
    summary = population_summary(metro, name)
    summary["mode"] = summary["mode"].map(
        {"voiture": "voiture", "meilleur": "voiture ou voiture + train"}
    )
    cols = {"pole_nom": "Métropole", "mode": "Mode", "today": "Aujourd'hui"}
    if name is not None:
        cols |= {"scenario": metro.scenarios[name].label, "gain": "Gain"}
    return table(summary, cols, numeric=["today", "scenario", "gain"])


def _thresholds(metro: MetropolitanAccess, level: str) -> pd.DataFrame:
    pop = metro.population
    pop = pop[pop["level"] == level]
    wide = pop.pivot_table(
        index=["nom", "pole_nom", "mode"], columns="threshold_min", values="population_within"
    )
    wide.columns = [f"{int(c)} min" for c in wide.columns]
    wide = wide.reset_index()
    wide["mode"] = wide["mode"].map({"voiture": "voiture", "meilleur": "tous modes"})
    return wide


def _epci_wide(metro: MetropolitanAccess) -> pd.DataFrame:
    """Population of each EPCI within reach of each metropole, one row per EPCI.

    Columns: the population, then the population within the reference and the longest time
    of each metropole, by road and by the faster mode.
    """
    pop = metro.population
    limits = _limits(metro)
    pop = pop[(pop["level"] == "epci") & pop["threshold_min"].isin(limits)]
    mode = pop["mode"].map({"voiture": "voiture", "meilleur": "tous modes"})
    pop = pop.assign(
        col=pop["pole_nom"] + " ≤ " + pop["threshold_min"].astype(int).astype(str) + " min, " + mode
    )
    wide = pop.pivot_table(index="nom", columns="col", values="population_within", sort=False)
    total = pop.groupby("nom")["population"].first()
    out = pd.concat([total.rename("Population"), wide], axis=1).reset_index(names="EPCI")
    return out.sort_values("Population", ascending=False)


def _links_table(metro: MetropolitanAccess, links: Sequence[Any] | None = None) -> str:
    df = metro.link_table(links)
    stations = metro.routing.stations
    for name in metro.scenarios.values():
        stations = pd.concat([stations, name.stations[~name.stations.index.isin(stations.index)]])
    names = dict(zip(stations.index, stations["name"], strict=True))
    df["station"] = df["uic"].map(names).fillna(df["station"])
    df["source"] = [
        " — ".join(t for t in (s, u, n) if t)
        for s, u, n in zip(df["source"], df["url"], df["note"].fillna(""), strict=True)
    ]
    cols = {
        "station": "Gare",
        "pole": "Pôle",
        "minutes": "Train direct le plus rapide (min)",
        "transfer_min": "Correspondance ajoutée (min)",
        "trains_per_weekday": "Trains par jour de semaine",
        "vintage": "Millésime",
        "source": "Source",
    }
    return table(
        df, cols, numeric=["minutes", "transfer_min", "trains_per_weekday"], wrap=["source"]
    )


def _people(n: float, total: float) -> str:
    """``31 062 habitants (9,3 %)``; ``aucun habitant`` only where the figure is 0."""
    if n <= 0:
        return "aucun habitant"
    word = "habitant" if n == 1 else "habitants"
    if total > 0:
        return f"{fr_number(n)} {word} ({fr_number(100.0 * n / total, 1)} %)"
    return f"{fr_number(n)} {word}"


def _rail_stations(metro: MetropolitanAccess, key: str, threshold: int) -> list[str]:
    """Stations used by the study communes brought within the threshold by the train."""
    t = metro.table
    best, mode = t.get(f"time_{key}_best_min"), t.get(f"mode_{key}")
    if best is None or mode is None:
        return []
    used = t.loc[(best <= threshold) & (mode == MODE_RAIL), f"rail_station_{key}"].dropna()
    return list(used.value_counts().index)


def _reach_text(metro: MetropolitanAccess) -> str:
    """Sentences on the population within reach of each metropole, written from the figures.

    For every metropole and the thresholds shown (``[metropolitan] thresholds_min`` from
    45 min): the population of the study within reach by road and by road or road + train,
    "aucun habitant" only where the figure is 0, and the stations that bring communes within
    the reference time.
    """
    spec = metro.spec
    shown = [t for t in spec.thresholds_min if t >= 45] or list(spec.thresholds_min)
    parts = []
    for p in spec.metropoles:
        items = []
        for t in shown:
            road, total = study_population_within(metro.population, p.key, "voiture", t)
            best, _ = study_population_within(metro.population, p.key, "meilleur", t)
            if road == best:
                who = f"{_people(road, total)}, en voiture comme en voiture + train"
            else:
                who = (
                    f"{_people(road, total)} en voiture, {_people(best, total)} en voiture "
                    "ou voiture + train"
                )
            items.append(f"à moins de {t} min, {who}")
        text = f"Population du département à portée de {p.label} : " + " ; ".join(items) + "."
        stations = _rail_stations(metro, p.key, spec.reference_min)
        if stations:
            plural = "des gares" if len(stations) > 1 else "de la gare"
            text += (
                f" Le train met à moins de {spec.reference_min} min les communes autour "
                f"{plural} de {', '.join(stations)}."
            )
        parts.append(f"<p>{esc(text)}</p>")
    return "\n".join(parts)


def metropolitan_section(
    metro: MetropolitanAccess, maps: Mapping[str, str | os.PathLike] | None = None
) -> str:
    """HTML of the report section on the metropolitan reach (title excluded).

    Parameters
    ----------
    metro : MetropolitanAccess
        The metropolitan reach and its scenarios.
    maps : mapping, optional
        ``corridor`` / ``corridor_<scenario>`` → PNG path (:func:`make_corridor_maps`),
        embedded as data URIs.

    Returns
    -------
    str
    """
    spec = metro.spec
    ref = spec.reference_min
    names = " et ".join(p.label for p in spec.metropoles)
    transfer = esc(fr_number(spec.transfer_min))
    parts = [
        f"<p>Temps de chaque commune vers {esc(names)} : en voiture sur le réseau routier "
        f"({esc(without_file_name(metro.network_source))}), de mairie à mairie ; en voiture + "
        "train, voiture "
        f"jusqu'à la gare, une marge de correspondance de {transfer} min, puis le train direct "
        "le plus rapide publié jusqu'à la gare centrale (liaisons ci-dessous, chacune avec sa "
        "source et son millésime ; une liaison sans horaire publié trouvé est laissée de côté "
        "plutôt que devinée). Le mode retenu est le plus rapide des deux.</p>",
        f"<p>La marge de {transfer} min est ajoutée une fois à chaque trajet voiture + train : "
        "stationnement, marche jusqu'au quai et montée dans un train dont on connaît "
        "l'horaire ; l'attente d'un train (la fréquence) n'est pas comptée. Elle figure dans "
        "la colonne « Correspondance ajoutée » des liaisons ci-dessous et dans rail_links.csv."
        "</p>",
        _reach_text(metro),
    ]
    maps = dict(maps or {})
    if "corridor" in maps:
        parts.append(_figure(maps["corridor"], f"{spec.title} — aujourd'hui"))
    others = [Path(p).name for k, p in maps.items() if k != "corridor"]
    if others:  # files beside the report: the report stays light
        parts.append(
            f'<p class="note">La même carte sous le scénario : static/{esc(others[0])} dans le '
            "dossier des résultats.</p>"
        )
    parts.append(f"<h3>Population à moins de {ref} min d'une métropole</h3>")
    parts.append(_headline(metro))
    dep = _thresholds(metro, "departement")
    cols = {"nom": "Département", "pole_nom": "Métropole", "mode": "Mode"}
    cols |= {c: c for c in dep.columns if c.endswith(" min")}
    parts.append("<h3>Population à moins de 30, 45, 60 et 90 min, par département</h3>")
    parts.append(table(dep, cols, numeric=[c for c in dep.columns if c.endswith(" min")]))
    epci = _epci_wide(metro)
    parts.append(f"<h3>Par EPCI, à moins de {ref} et {max(spec.thresholds_min)} min</h3>")
    parts.append(
        table(epci, {c: c for c in epci.columns}, numeric=list(epci.columns[1:])).replace(
            "<table>", '<table class="compact">', 1
        )
    )
    parts.append(
        '<p class="note">Tableau complet, par seuil, métropole et mode : '
        "metropoles_population.csv dans le dossier des résultats.</p>"
    )
    parts.append("<h3>Liaisons ferroviaires retenues</h3>")
    parts.append(_links_table(metro))
    if spec.scenario is not None:
        parts.append(_scenario_html(metro, spec.scenario))
    return "\n".join(parts)


def _scenario_html(metro: MetropolitanAccess, name: str) -> str:
    sc = metro.scenarios[name]
    spec = metro.spec
    ref = spec.reference_min
    desc = spec.scenarios[name].description
    parts = [f"<h3>Scénario : {esc(sc.label)}</h3>"]
    if desc:
        parts.append(f"<p>{esc(desc)}</p>")
    edits = list(spec.scenarios[name].links)
    parts.append(_links_table(metro, edits))
    gains = top_gains(sc.changes, TOP_GAINS).copy()
    gains["gain"] = -gains["time_metropole_best_min_change"]
    parts.append(
        f"<p>Les {len(gains)} communes dont le temps porte-à-porte vers la métropole la "
        "plus proche baisse le plus :</p>"
    )
    parts.append(
        table(
            gains,
            {
                "nom": "Commune",
                "population": "Population",
                "time_metropole_best_min_before": "Aujourd'hui (min)",
                "time_metropole_best_min_after": "Scénario (min)",
                "gain": "Gain (min)",
            },
            numeric=[
                "population",
                "time_metropole_best_min_before",
                "time_metropole_best_min_after",
                "gain",
            ],
        )
    )
    epci = sc.epci[sc.epci["population_newly_within_metropole"] > 0]
    parts.append(f"<p>Population qui passe à moins de {ref} min d'une métropole, par EPCI :</p>")
    cols = {"epci_nom": "EPCI", "population": "Population"}
    cols |= {f"population_newly_within_{p.key}": f"… de {p.label}" for p in spec.metropoles}
    cols["population_newly_within_metropole"] = "… d'une métropole"
    parts.append(table(epci if len(epci) else sc.epci.head(0), cols, numeric=list(cols)[1:]))
    parts.append(
        f'<p class="note">Changements par commune et par EPCI : scenario_{esc(name)}_communes.csv '
        f"et scenario_{esc(name)}_epci.csv dans le dossier des résultats.</p>"
    )
    return "\n".join(parts)


def connectivity_section(connectivity: Any, telework: Any, communes: pd.DataFrame) -> str:
    """HTML of the report section on broadband and the telework index (title excluded).

    Parameters
    ----------
    connectivity : Connectivity or None
        Fibre per commune and EPCI (:class:`geoattract.transition.Connectivity`).
    telework : TeleworkSpec or None
        The telework index (its formula).
    communes : DataFrame
        The communes layer (``nom``, ``telework_index``, ``fibre_share_pct``…).

    Returns
    -------
    str
    """
    parts = []
    if connectivity is not None:
        src = connectivity.source
        epci = connectivity.epci
        total = epci["premises"].sum()
        without = epci["premises_without_fibre"].sum()
        share = 100.0 * (1 - without / total) if total else float("nan")
        parts.append(
            f"<p>{esc(fr_number(share, 1))} % des {esc(fr_number(total))} locaux de l'étude sont "
            f"éligibles à la fibre (FttH) ; {esc(fr_number(without))} ne le sont pas "
            f"({esc(src.source)}, {esc(src.vintage)}). Les autres locaux restent au DSL (cuivre), "
            "à la 4G fixe, à la radio ou au satellite : colonne « Technologies hors fibre ».</p>"
        )
        parts.append(
            table(
                epci,
                {
                    "epci_nom": "EPCI",
                    "premises": "Locaux",
                    "premises_without_fibre": "Locaux sans fibre",
                    "fibre_share_pct": "Part éligible à la fibre (%)",
                },
                numeric=["premises", "premises_without_fibre", "fibre_share_pct"],
                decimals={"fibre_share_pct": 1},
            )
        )
        parts.append(csv_link(epci, "fibre_epci.csv", "Fibre par EPCI (CSV)"))
    if telework is not None and "telework_index" in communes:
        parts.append(f"<p>{esc(telework.label)} : {esc(telework.definition())}</p>")
        top = communes.sort_values("telework_index", ascending=False).head(TOP_GAINS)
        cols = {"nom": "Commune", "telework_index": "Indice (0–100)"}
        cols |= {c.column: c.label for c in telework.components if c.column in communes}
        parts.append(table(top, cols, numeric=list(cols)[1:], decimals=dict.fromkeys(cols, 1)))
    return "\n".join(parts)
