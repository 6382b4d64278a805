"""Interactive maps: one self-contained folium HTML file per score, pillar and isochrone map.

Choices (see ``docs/maps.md``):

* classes and colours from :mod:`geoattract.outputs.classes` (quantiles, YlGnBu), facility
  categories in the Okabe-Ito palette, both colour-blind safe;
* geometries simplified and coordinates rounded (:mod:`geoattract.outputs.geometry`) so that
  each file stays under :data:`MAP_SIZE_BUDGET_BYTES`;
* every text that comes from data is HTML-escaped before it reaches a tooltip, popup, legend
  or layer name (Leaflet inserts those strings with ``innerHTML``);
* Leaflet and Leaflet.markercluster inlined (:mod:`geoattract.outputs.assets`) and no
  background tiles by default: a plain basemap drawn from the data
  (:mod:`geoattract.outputs.basemap`) instead, so a map makes no request to any host.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract._util.io import write_text_atomic
from geoattract._util.progress import progress_bar
from geoattract.errors import format_values
from geoattract.outputs import html as _html
from geoattract.outputs.assets import external_resources, inline_web_assets
from geoattract.outputs.basemap import Basemap, add_basemap, map_page
from geoattract.outputs.classes import (
    DEFAULT_K,
    DEFAULT_SCHEME,
    MISSING_LABEL,
    classify,
)
from geoattract.outputs.context import ReportContext
from geoattract.outputs.controls import (
    CONTROL_CSS,
    POPUP_HINT_CLASS,
    HtmlControl,
    MetricScale,
    legend_html,
)
from geoattract.outputs.geometry import (
    SIMPLIFY_TOLERANCE_M,
    check_crs_columns,
    geometry_dicts,
    main_town_codes,
)
from geoattract.outputs.html import esc, fr_number, fr_ordinal
from geoattract.outputs.labels import Labels, map_columns
from geoattract.outputs.layers import (
    ISOCHRONE_COLOURS,
    ISOCHRONE_DEFAULT_COLOUR,
    FacilityLayer,
    add_facilities,
    add_isochrones,
    facility_layers,
)

logger = logging.getLogger(__name__)

#: Size budget of one interactive map file, in bytes (checked by the tests, logged here).
MAP_SIZE_BUDGET_BYTES: int = 5_000_000

#: Zoom step of the interactive maps: quarter levels let ``fit_bounds`` fill the window.
ZOOM_SNAP: float = 0.25

#: Background tiles of the interactive maps: none by default (the plain offline basemap);
#: a folium tiles name such as ``"OpenStreetMap"`` (``[maps] tiles`` of the study file) adds
#: them, with the offline basemap still drawn underneath as a fallback.
DEFAULT_TILES: str | None = None

#: Fill opacity of the choropleth.
CHOROPLETH_OPACITY: float = 0.8

#: Maximum zoom of the interactive maps. Set on the map itself: without a tile layer Leaflet
#: has no maximum zoom, and Leaflet.markercluster refuses to start ("Map has no maxZoom").
MAX_ZOOM: int = 18

#: Folium's default assets that these maps do not use (jQuery, Bootstrap, Font Awesome,
#: awesome-markers): removed so that a map needs only Leaflet and Leaflet.markercluster.
UNUSED_DEFAULT_ASSETS: frozenset[str] = frozenset(
    {
        "jquery",
        "bootstrap",
        "awesome_markers",
        "bootstrap_css",
        "glyphicons_css",
        "awesome_markers_font_css",
        "awesome_markers_css",
        "awesome_rotate_css",
    }
)

#: Title of :func:`isochrone_map`.
ISOCHRONE_TITLE: str = "Isochrones depuis les principales communes"


def _base_map(
    bounds_from: gpd.GeoDataFrame,
    *,
    title: str,
    context: ReportContext | None,
    tiles: str | None,
    basemap: Basemap | None,
) -> folium.Map:
    m = folium.Map(
        tiles=tiles,
        control_scale=False,
        prefer_canvas=False,
        zoom_snap=ZOOM_SNAP,
        max_zoom=MAX_ZOOM,
    )
    m.add_child(MetricScale())
    m.options["maxZoom"] = MAX_ZOOM
    m.default_js = [(n, u) for n, u in m.default_js if n not in UNUSED_DEFAULT_ASSETS]
    m.default_css = [(n, u) for n, u in m.default_css if n not in UNUSED_DEFAULT_ASSETS]
    map_page(m).header.add_child(folium.Element(CONTROL_CSS))
    map_page(m).title = title
    minx, miny, maxx, maxy = bounds_from.to_crs(4326).total_bounds
    m.fit_bounds([[float(miny), float(minx)], [float(maxy), float(maxx)]])
    m.add_child(
        HtmlControl(
            f'<div class="ga-title">{esc(title)}</div>', "topright", "ga-control ga-title-box"
        )
    )
    if context is not None and context.caption_text:
        css = "ga-control ga-caption" + (" ga-schematic" if context.schematic else "")
        m.add_child(HtmlControl(esc(context.caption_text), "bottomleft", css))
    add_basemap(m, basemap, under=True)
    return m


def value_text(value: Any, column: str, labels: Labels) -> str:
    """A value of a mapped column with its unit, in French (``54,3 / 100``, ``42,5 min``).

    A missing value reads « Donnée manquante », as in the legend.
    """
    if _html.is_missing(value):
        return MISSING_LABEL
    unit = labels.unit(column)
    if unit == "0–100":
        return f"{fr_number(value, 1)} / 100"
    return f"{fr_number(value, 1)} {unit}".strip()


#: Width of the popup of a commune (its strengths and weaknesses), pixels.
POPUP_WIDTH: int = 320

#: Word before the value in a tooltip (the map's title names the column), by column prefix.
VALUE_WORDS: dict[str, str] = {"score_": "Score", "pillar_": "Score du pilier"}


def commune_tooltips(communes: pd.DataFrame, column: str, labels: Labels) -> list[str]:
    """Compact tooltip of each commune, escaped HTML: two or three short lines.

    The commune and its population, the mapped value with its unit (the map's title names
    the column), and for a score its rank with the 5–95 % interval; the strengths and
    weaknesses (AFOM) are in the popup a click opens (:func:`commune_popups`).
    """
    word = next((w for p, w in VALUE_WORDS.items() if column.startswith(p)), "Valeur")
    n = len(communes)
    population = communes["population"] if "population" in communes else None
    profile = column.removeprefix("score_")
    rank_col = f"rank_{profile}"
    ranked = column.startswith("score_") and rank_col in communes
    nan = pd.Series(np.nan, index=communes.index)
    low = communes.get(f"{rank_col}_p05", nan)
    high = communes.get(f"{rank_col}_p95", nan)
    out = []
    for i, (name, value) in enumerate(zip(communes["nom"], communes[column], strict=True)):
        lines = [f"<b>{esc(name)}</b>"]
        if population is not None and not _html.is_missing(population.iloc[i]):
            lines[0] += f" · {esc(fr_number(population.iloc[i]))} hab."
        lines.append(f"{word} : <b>{esc(value_text(value, column, labels))}</b>")
        if ranked and not _html.is_missing(communes[rank_col].iloc[i]):
            rank = f"Rang : {fr_ordinal(communes[rank_col].iloc[i])} sur {n}"
            lo, hi = low.iloc[i], high.iloc[i]
            if not (_html.is_missing(lo) or _html.is_missing(hi)):
                rank += f" (5–95 % : {fr_ordinal(lo)}–{fr_ordinal(hi)})"
            lines.append(esc(rank))
        out.append("<br>".join(lines))
    return out


def commune_popups(communes: pd.DataFrame) -> list[str] | None:
    """Popup of each commune (escaped HTML): its strengths and weaknesses; None without AFOM."""
    titles = {"afom_atouts": "Atouts", "afom_faiblesses": "Faiblesses"}
    parts = [(c, t) for c, t in titles.items() if c in communes]
    if not parts:
        return None
    out = []
    for i, name in enumerate(communes["nom"]):
        rows = [f"<b>{esc(name)}</b>"]
        for col, title in parts:
            value = communes[col].iloc[i]
            text = _html.MISSING_TEXT if _html.is_missing(value) or not str(value) else value
            rows.append(f"<b>{title}</b> : {esc(text)}")
        out.append("<br>".join(rows))
    return out


def _finish(
    m: folium.Map,
    communes: pd.DataFrame,
    *,
    isochrones: gpd.GeoDataFrame | None,
    isochrone_codes: Sequence[str] | None,
    show_isochrones: bool,
    facilities: gpd.GeoDataFrame | Sequence[FacilityLayer] | None,
    show_facilities: bool,
    labels: Labels,
    basemap: Basemap | None,
    legend: str,
) -> folium.Map:
    """Add the isochrones, facilities, upper basemap, legend and layer control."""
    if isochrones is not None:
        codes = isochrone_codes if isochrone_codes is not None else main_town_codes(communes)
        add_isochrones(m, isochrones, communes, codes, show_isochrones)
    if facilities is not None:
        add_facilities(m, facilities, labels, show_facilities)
    add_basemap(m, basemap, under=False)
    m.add_child(HtmlControl(legend, "bottomright", "ga-control ga-legend"))
    folium.LayerControl(collapsed=True).add_to(m)  # folded: the map first, layers on demand
    return m


def choropleth_map(
    communes: gpd.GeoDataFrame,
    column: str,
    context: ReportContext | None = None,
    *,
    title: str | None = None,
    scheme: str = DEFAULT_SCHEME,
    k: int = DEFAULT_K,
    isochrones: gpd.GeoDataFrame | None = None,
    isochrone_codes: Sequence[str] | None = None,
    facilities: gpd.GeoDataFrame | Sequence[FacilityLayer] | None = None,
    basemap: Basemap | None = None,
    tiles: str | None = DEFAULT_TILES,
    show_isochrones: bool = False,
    show_facilities: bool = False,
    simplify_tolerance: float = SIMPLIFY_TOLERANCE_M,
) -> folium.Map:
    """Interactive choropleth of one score or pillar column.

    Parameters
    ----------
    communes : GeoDataFrame
        Study communes in a projected CRS with ``code``, ``nom``, ``population`` and
        ``column``; the tooltip also shows ``rank_<profile>`` with ``_p05``/``_p95`` and
        ``afom_atouts``/``afom_faiblesses`` when present.
    column : str
        Column to map (values 0–100).
    context : ReportContext, optional
        Labels and network caption (shown on the map); default: labels from the names.
    title : str, optional
        Map title (default: French label of the column).
    scheme, k : str, int
        mapclassify scheme and number of classes (see :func:`~geoattract.outputs.classes`).
    isochrones : GeoDataFrame, optional
        ``code``, ``minutes``, geometry (and ``area_km2``, ``population_reached``); drawn for
        ``isochrone_codes`` (default: the most populous communes), one layer per threshold.
    facilities : GeoDataFrame or sequence of FacilityLayer, optional
        ``category``, ``name``, ``capacity``, point geometry; one clustered layer per
        category, named with the number of facilities in the category's unit (or the layers
        :func:`~geoattract.outputs.layers.facility_layers` prepared once for many maps).
    basemap : Basemap, optional
        Offline basemap (outline, neighbouring communes, main roads, town names).
    tiles : str or None
        Folium tiles name; None (default) for no tiles, only the offline basemap.
    show_isochrones, show_facilities : bool
        Whether those layers are switched on when the map opens.
    simplify_tolerance : float
        Polygon simplification tolerance in metres.

    Returns
    -------
    folium.Map
    """
    check_crs_columns(communes, ["code", "nom", column, "geometry"], "communes")
    labels = context.labels if context is not None else Labels()
    title = title or labels.column(column)
    breaks = classify(
        pd.to_numeric(communes[column], errors="coerce"),
        scheme,
        k,
        higher_is_better=labels.higher_is_better(column),
    )
    m = _base_map(communes, title=title, context=context, tiles=tiles, basemap=basemap)
    shapes = geometry_dicts(communes.geometry, simplify_tolerance, coverage=True)
    codes = [esc(c) for c in communes["code"].astype(str)]
    tips = commune_tooltips(communes, column, labels)
    popups = commune_popups(communes)
    features = []
    for i, (code, fill, tip, shape) in enumerate(
        zip(codes, breaks.colour_of(), tips, shapes, strict=True)
    ):
        props = {"code": code, "fill": fill, "t_tip": tip}
        if popups is not None:
            props["t_popup"] = popups[i]
        features.append({"type": "Feature", "properties": props, "geometry": shape})
    layer = folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=esc(title),
        style_function=lambda f: {
            "fillColor": f["properties"]["fill"],
            "color": "#555555",
            "weight": 0.6,
            "fillOpacity": CHOROPLETH_OPACITY,
        },
        highlight_function=lambda _f: {"weight": 2.5, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(
            fields=["t_tip"],
            labels=False,
            sticky=True,
            class_name=POPUP_HINT_CLASS if popups is not None else "foliumtooltip",
        ),
        popup=(
            folium.GeoJsonPopup(fields=["t_popup"], labels=False, max_width=POPUP_WIDTH)
            if popups is not None
            else None
        ),
    )
    layer.add_to(m)
    return _finish(
        m,
        communes,
        isochrones=isochrones,
        isochrone_codes=isochrone_codes,
        show_isochrones=show_isochrones,
        facilities=facilities,
        show_facilities=show_facilities,
        labels=labels,
        basemap=basemap,
        legend=legend_html(
            title, breaks, int((breaks.classes < 0).sum()), unit=labels.unit(column)
        ),
    )


def isochrone_map(
    communes: gpd.GeoDataFrame,
    isochrones: gpd.GeoDataFrame,
    context: ReportContext | None = None,
    *,
    codes: Sequence[str] | None = None,
    title: str = ISOCHRONE_TITLE,
    facilities: gpd.GeoDataFrame | Sequence[FacilityLayer] | None = None,
    basemap: Basemap | None = None,
    tiles: str | None = DEFAULT_TILES,
) -> folium.Map:
    """Interactive map of isochrones (one layer per threshold) over the commune limits.

    Parameters
    ----------
    communes : GeoDataFrame
        Study communes (``code``, ``nom``, ``population``).
    isochrones : GeoDataFrame
        ``code``, ``minutes``, geometry (``area_km2``, ``population_reached`` optional).
    context : ReportContext, optional
        Labels and network caption.
    codes : sequence of str, optional
        Communes whose isochrones are drawn (default: the main towns).
    title, facilities, basemap, tiles
        As in :func:`choropleth_map`.

    Returns
    -------
    folium.Map
    """
    check_crs_columns(communes, ["code", "nom", "geometry"], "communes")
    labels = context.labels if context is not None else Labels()
    m = _base_map(communes, title=title, context=context, tiles=tiles, basemap=basemap)
    shapes = geometry_dicts(communes.geometry, SIMPLIFY_TOLERANCE_M, coverage=True)
    features = [
        {"type": "Feature", "properties": {"t_nom": esc(name)}, "geometry": shape}
        for name, shape in zip(communes["nom"], shapes, strict=True)
    ]
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name="Communes",
        style_function=lambda _f: {"color": "#777777", "weight": 0.6, "fillOpacity": 0.0},
        tooltip=folium.GeoJsonTooltip(fields=["t_nom"], aliases=["Commune"]),
    ).add_to(m)
    legend = [f"<div><b>{esc('Temps de trajet en voiture')}</b></div>"]
    for minutes in sorted(pd.unique(isochrones["minutes"])):
        colour = ISOCHRONE_COLOURS.get(int(minutes), ISOCHRONE_DEFAULT_COLOUR)
        legend.append(f'<div><i style="background:{colour}"></i>≤ {int(minutes)} min</div>')
    return _finish(
        m,
        communes,
        isochrones=isochrones,
        isochrone_codes=list(codes) if codes is not None else None,
        show_isochrones=True,
        facilities=facilities,
        show_facilities=False,
        labels=labels,
        basemap=basemap,
        legend="".join(legend),
    )


def render_map_html(
    m: folium.Map,
    *,
    offline: bool = True,
    asset_dirs: str | os.PathLike | Iterable[str | os.PathLike] | None = None,
) -> str:
    """Render a map to a complete HTML page, by default with Leaflet inlined.

    Parameters
    ----------
    m : folium.Map
        The map.
    offline : bool
        Inline the scripts and stylesheets (:func:`~geoattract.outputs.assets.inline_web_assets`);
        False keeps folium's CDN tags.
    asset_dirs : path-like or iterable, optional
        Folders holding the asset files (default: the installed XStatic packages).

    Returns
    -------
    str
    """
    text = map_page(m).render()
    if offline:
        text = inline_web_assets(text, asset_dirs)
    return text


def _write_map(m: folium.Map, path: Path, offline: bool, asset_dirs: Any) -> Path:
    text = render_map_html(m, offline=offline, asset_dirs=asset_dirs)
    size = len(text.encode("utf-8"))
    if size > MAP_SIZE_BUDGET_BYTES:
        logger.warning(
            "%s is %.1f MB, above the %.1f MB budget", path, size / 1e6, MAP_SIZE_BUDGET_BYTES / 1e6
        )
    else:
        logger.debug("%s: %.2f MB", path, size / 1e6)
    if offline and (remote := external_resources(text)):
        logger.warning("%s loads remote resources: %s", path, format_values(remote))
    return write_text_atomic(path, text)


def make_maps(
    communes: gpd.GeoDataFrame,
    context: ReportContext | None,
    out_dir: str | os.PathLike,
    *,
    isochrones: gpd.GeoDataFrame | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    basemap: Basemap | None = None,
    scheme: str = DEFAULT_SCHEME,
    k: int = DEFAULT_K,
    isochrone_codes: Sequence[str] | None = None,
    tiles: str | None = DEFAULT_TILES,
    columns: Sequence[str] | None = None,
    offline: bool = True,
    asset_dirs: str | os.PathLike | Iterable[str | os.PathLike] | None = None,
    verbose: bool = False,
    choropleths: bool = True,
) -> dict[str, Path]:
    """Write one interactive map per profile score and per pillar, plus ``isochrones.html``.

    Parameters
    ----------
    communes : GeoDataFrame
        Scored study communes (``score_<profile>`` and ``pillar_<pillar>`` columns).
    context : ReportContext or None
        Labels and network caption.
    out_dir : path-like
        Output folder (created).
    isochrones, facilities, basemap, scheme, k, isochrone_codes, tiles
        As in :func:`choropleth_map`.
    columns : sequence of str, optional
        Columns to map (default: every ``score_<profile>`` then every ``pillar_<pillar>``).
    offline, asset_dirs
        As in :func:`render_map_html`: by default every file is self-contained.
    verbose : bool
        Show a progress bar.
    choropleths : bool
        False writes ``isochrones.html`` only (the atelier page holds the scores and pillars:
        :mod:`geoattract.outputs.atelier`).

    Returns
    -------
    dict
        Map name (``score_<profile>``, ``pillar_<pillar>``, ``isochrones``) → written path.
    """
    out = Path(out_dir)
    columns = map_columns(communes, columns) if choropleths else []
    written: dict[str, Path] = {}
    labels = context.labels if context is not None else Labels()
    layers = facility_layers(facilities, labels) if facilities is not None else None
    for column in progress_bar(columns, desc="cartes", enabled=verbose):
        m = choropleth_map(
            communes,
            column,
            context,
            scheme=scheme,
            k=k,
            isochrones=isochrones,
            isochrone_codes=isochrone_codes,
            facilities=layers,
            basemap=basemap,
            tiles=tiles,
        )
        written[column] = _write_map(m, out / f"{column}.html", offline, asset_dirs)
    if isochrones is not None:
        m = isochrone_map(
            communes,
            isochrones,
            context,
            codes=isochrone_codes,
            facilities=layers,
            basemap=basemap,
            tiles=tiles,
        )
        written["isochrones"] = _write_map(m, out / "isochrones.html", offline, asset_dirs)
    return written
