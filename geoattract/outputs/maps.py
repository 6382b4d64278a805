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

import json
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from folium.plugins import FastMarkerCluster
from folium.template import Template
from tqdm.auto import tqdm

from geoattract._util.io import write_text_atomic
from geoattract.errors import format_values
from geoattract.outputs import html as _html
from geoattract.outputs.assets import external_resources, inline_web_assets
from geoattract.outputs.basemap import Basemap, add_basemap, map_page
from geoattract.outputs.classes import (
    CATEGORY_COLOURS,
    DEFAULT_K,
    DEFAULT_SCHEME,
    MISSING_COLOUR,
    PALETTE,
    ClassBreaks,
    classify,
)
from geoattract.outputs.context import ReportContext
from geoattract.outputs.geometry import (
    COORD_DECIMALS,
    SIMPLIFY_TOLERANCE_M,
    check_crs_columns,
    geojson,
    main_town_codes,
    to_web,
)
from geoattract.outputs.html import esc, fr_number, rank_text
from geoattract.outputs.labels import Labels, map_columns

logger = logging.getLogger(__name__)

#: Size budget of one interactive map file, in bytes (checked by the tests, logged here).
MAP_SIZE_BUDGET_BYTES: int = 5_000_000

#: Isochrone colours by threshold (ColorBrewer "Oranges", distinct from the choropleth).
ISOCHRONE_COLOURS: dict[int, str] = {10: "#d94801", 20: "#fd8d3c", 30: "#fdd0a2"}

#: Colour for thresholds not in :data:`ISOCHRONE_COLOURS`.
ISOCHRONE_DEFAULT_COLOUR: str = "#fdae6b"

#: Fill opacity of isochrone polygons.
ISOCHRONE_FILL_OPACITY: float = 0.25

#: Radius of facility markers, in pixels.
FACILITY_MARKER_RADIUS: int = 5

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

#: Background colour of the map pane without tiles (a pale sea-and-paper tone).
BACKGROUND_COLOUR: str = "#f7f7f4"

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


class _HtmlControl(MacroElement):
    """A Leaflet control holding fixed HTML built by this module (escaped pieces only)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
            div.innerHTML = {{ this.html|tojson }};
            L.DomEvent.disableClickPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, html: str, position: str = "bottomright", css_class: str = "ga-control"):
        super().__init__()
        self._name = "HtmlControl"
        self.html = html
        self.position = position
        self.css_class = css_class


_CONTROL_CSS = f"""
<style>
.leaflet-container{{background:{BACKGROUND_COLOUR}}}
.ga-control{{background:rgba(255,255,255,.93);padding:6px 9px;border-radius:5px;
  box-shadow:0 1px 5px rgba(0,0,0,.35);font:12px/1.35 system-ui,Arial,sans-serif;max-width:330px}}
.ga-title{{font-size:15px;font-weight:600}}
.ga-caption{{border:1px solid #999}}
.ga-caption.ga-schematic{{background:#fff3cd;border:1px solid #e0c36b}}
.ga-legend i{{display:inline-block;width:18px;height:12px;margin-right:6px;vertical-align:middle;
  border:1px solid #777}}
.ga-legend .ga-scheme{{color:#444;margin-bottom:3px}}
.leaflet-tooltip{{white-space:normal;width:max-content;max-width:420px}}
.leaflet-tooltip table th{{text-align:left;padding-right:6px;color:#444;vertical-align:top;
  white-space:normal !important;max-width:150px}}
.leaflet-tooltip table td{{min-width:120px;white-space:normal !important}}
.leaflet-tooltip table{{width:100%;table-layout:auto}}
.leaflet-control-layers-expanded{{max-height:55vh;max-width:290px;overflow-y:auto;
  font:11px/1.3 system-ui,Arial,sans-serif}}
</style>
"""


def _legend_html(title: str, breaks: ClassBreaks, n_missing: int) -> str:
    rows = [f"<div><b>{esc(title)}</b></div>", f'<div class="ga-scheme">{esc(breaks.title)}</div>']
    for colour, label in zip(breaks.colours, breaks.labels(), strict=True):
        rows.append(f'<div><i style="background:{colour}"></i>{esc(label)}</div>')
    if n_missing:
        rows.append(
            f'<div><i style="background:{MISSING_COLOUR}"></i>Donnée manquante ({n_missing})</div>'
        )
    rows.append(f'<div class="ga-scheme">Palette {esc(PALETTE)} (ColorBrewer)</div>')
    return "".join(rows)


def _base_map(
    bounds_from: gpd.GeoDataFrame,
    *,
    title: str,
    context: ReportContext | None,
    tiles: str | None,
    basemap: Basemap | None,
) -> folium.Map:
    m = folium.Map(
        tiles=tiles, control_scale=True, prefer_canvas=False, zoom_snap=ZOOM_SNAP, max_zoom=MAX_ZOOM
    )
    m.options["maxZoom"] = MAX_ZOOM
    m.default_js = [(n, u) for n, u in m.default_js if n not in UNUSED_DEFAULT_ASSETS]
    m.default_css = [(n, u) for n, u in m.default_css if n not in UNUSED_DEFAULT_ASSETS]
    map_page(m).header.add_child(folium.Element(_CONTROL_CSS))
    map_page(m).title = title
    minx, miny, maxx, maxy = bounds_from.to_crs(4326).total_bounds
    m.fit_bounds([[float(miny), float(minx)], [float(maxy), float(maxx)]])
    m.add_child(
        _HtmlControl(
            f'<div class="ga-title">{esc(title)}</div>', "topright", "ga-control ga-title-box"
        )
    )
    if context is not None and context.caption_text:
        css = "ga-control ga-caption" + (" ga-schematic" if context.schematic else "")
        m.add_child(_HtmlControl(esc(context.caption_text), "bottomleft", css))
    add_basemap(m, basemap, under=True)
    return m


def _isochrone_fields(web: gpd.GeoDataFrame, names: dict[str, Any]) -> tuple[list, list]:
    web["t_commune"] = [esc(names.get(str(c), c)) for c in web["code"]]
    web["t_minutes"] = [f"{int(v)} min" for v in web["minutes"]]
    props = ["t_commune", "t_minutes"]
    aliases = ["Commune", "Temps"]
    if "area_km2" in web:
        web["t_area"] = [esc(fr_number(v, 1) + " km²") for v in web["area_km2"]]
        props.append("t_area")
        aliases.append("Surface")
    if "population_reached" in web:
        web["t_pop"] = [esc(fr_number(v)) for v in web["population_reached"]]
        props.append("t_pop")
        aliases.append("Population atteinte")
    return props, aliases


def _add_isochrones(
    m: folium.Map,
    isochrones: gpd.GeoDataFrame,
    communes: pd.DataFrame,
    codes: Sequence[str],
    show: bool,
) -> list[str]:
    check_crs_columns(isochrones, ["code", "minutes", "geometry"], "isochrones")
    sel = isochrones[isochrones["code"].astype(str).isin([str(c) for c in codes])].copy()
    names = dict(zip(communes["code"].astype(str), communes["nom"], strict=False))
    layer_names: list[str] = []
    if sel.empty:
        logger.warning("no isochrone for the requested communes %s", format_values(codes))
        return layer_names
    web = to_web(sel, SIMPLIFY_TOLERANCE_M)
    props, aliases = _isochrone_fields(web, names)
    for minutes in sorted(web["minutes"].unique(), reverse=True):  # largest drawn first
        part = web[web["minutes"] == minutes]
        colour = ISOCHRONE_COLOURS.get(int(minutes), ISOCHRONE_DEFAULT_COLOUR)
        name = f"Isochrones {int(minutes)} min"
        group = folium.FeatureGroup(name=name, show=show)
        folium.GeoJson(
            geojson(part, props),
            style_function=lambda _f, c=colour: {
                "color": c,
                "weight": 1.5,
                "fillColor": c,
                "fillOpacity": ISOCHRONE_FILL_OPACITY,
            },
            tooltip=folium.GeoJsonTooltip(fields=props, aliases=aliases, labels=True),
        ).add_to(group)
        group.add_to(m)
        layer_names.append(name)
    return layer_names


_FACILITY_CALLBACK = """
function (row) {
    var marker = L.circleMarker(new L.LatLng(row[0], row[1]),
        {radius: %(radius)d, color: "#333333", weight: 1, fillColor: %(colour)s,
         fillOpacity: 0.9});
    marker.bindTooltip(row[2]);
    return marker;
}
"""


def facility_total(capacity: pd.Series, capacity_unit: str) -> tuple[float, int]:
    """Facilities a layer holds, in the unit of its category, and the unknown capacities.

    A row of a category counted in facilities (``count``) weighs its capacity (a BPE row
    groups several facilities of a commune; a row of unknown size counts as one); for a
    category measured in another unit (seats, births…), the capacities are summed.

    Parameters
    ----------
    capacity : Series
        Capacity per row.
    capacity_unit : str
        The catalogue's ``capacity`` of the category.

    Returns
    -------
    (float, int)
        Total, and the number of rows whose capacity is unknown (left out of a non-count
        total).
    """
    cap = pd.to_numeric(capacity, errors="coerce")
    missing = int(cap.isna().sum())
    if capacity_unit == "count":
        return float(cap.fillna(1.0).sum()), 0
    return float(cap.sum()), missing


def facility_layer_name(
    label: str, n_rows: int, total: float, unit: str, missing: int, *, counted: bool
) -> str:
    """Layer name of a facility category, counting facilities in its unit.

    ``Médecin généraliste (206 équipements)`` for a category counted in facilities
    (``counted``), ``Cinéma (42 sites, 15 550 fauteuils)`` for one measured in another unit.
    """
    if counted:
        return f"{label} ({fr_number(total)} {unit})"
    text = f"{label} ({fr_number(n_rows)} sites, {fr_number(total)} {unit}"
    return text + (f", {missing} de capacité inconnue)" if missing else ")")


def _add_facilities(
    m: folium.Map, facilities: gpd.GeoDataFrame, labels: Labels, show: bool
) -> list[str]:
    check_crs_columns(facilities, ["category", "geometry"], "facilities")
    pts = facilities[facilities.geometry.notna() & ~facilities.geometry.is_empty]
    pts = pts[pts.geom_type == "Point"].to_crs(4326)
    layer_names = []
    for i, category in enumerate(sorted(pts["category"].astype(str).unique())):
        part = pts[pts["category"].astype(str) == category]
        label = labels.category(category)
        cat = labels.categories.get(category)
        capacity_unit = cat.capacity if cat is not None else "count"
        unit = labels.category_unit(category)
        colour = CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)]
        names = part["name"] if "name" in part else pd.Series(np.nan, index=part.index)
        caps = part["capacity"] if "capacity" in part else pd.Series(np.nan, index=part.index)
        rows = []
        for geom, name, cap in zip(part.geometry, names, caps, strict=True):
            text = f"<b>{esc(name)}</b><br>{esc(label)}"
            if not _html.is_missing(cap):
                text += f"<br>{esc(fr_number(cap))} {esc(unit)}"
            rows.append([round(geom.y, COORD_DECIMALS), round(geom.x, COORD_DECIMALS), text])
        total, missing = facility_total(caps, capacity_unit)
        layer_label = facility_layer_name(
            label, len(rows), total, unit, missing, counted=capacity_unit == "count"
        )
        group = folium.FeatureGroup(name=esc(layer_label), show=show)
        FastMarkerCluster(
            rows,
            control=False,
            callback=_FACILITY_CALLBACK
            % {"radius": FACILITY_MARKER_RADIUS, "colour": json.dumps(colour)},
        ).add_to(group)
        group.add_to(m)
        layer_names.append(layer_label)
    return layer_names


def _rank_field(communes: gpd.GeoDataFrame, profile: str) -> list[str] | None:
    rank = f"rank_{profile}"
    if rank not in communes:
        return None
    low = communes.get(f"{rank}_p05", pd.Series(np.nan, index=communes.index))
    high = communes.get(f"{rank}_p95", pd.Series(np.nan, index=communes.index))
    return [esc(rank_text(r, lo, hi)) for r, lo, hi in zip(communes[rank], low, high, strict=True)]


def _commune_properties(
    communes: gpd.GeoDataFrame, column: str, labels: Labels
) -> tuple[pd.DataFrame, list, list]:
    """Escaped, pre-formatted tooltip fields (strings) and their French aliases."""
    props = pd.DataFrame(index=communes.index)
    props["t_nom"] = [esc(v) for v in communes["nom"]]
    aliases = ["Commune"]
    fields = ["t_nom"]
    if "population" in communes:
        props["t_population"] = [esc(fr_number(v)) for v in communes["population"]]
        fields.append("t_population")
        aliases.append("Population")
    props["t_valeur"] = [
        esc(fr_number(v, 1) + " / 100") if not _html.is_missing(v) else _html.MISSING_TEXT
        for v in communes[column]
    ]
    fields.append("t_valeur")
    aliases.append(labels.column(column))
    ranks = _rank_field(communes, column.removeprefix("score_"))
    if column.startswith("score_") and ranks is not None:
        props["t_rang"] = ranks
        fields.append("t_rang")
        aliases.append(f"Rang sur {len(communes)} (intervalle 5–95 %)")
    for col, alias in (("afom_atouts", "Atouts"), ("afom_faiblesses", "Faiblesses")):
        if col in communes:
            props[f"t_{col}"] = [esc(v) for v in communes[col]]
            fields.append(f"t_{col}")
            aliases.append(alias)
    return props, fields, aliases


def _finish(
    m: folium.Map,
    communes: pd.DataFrame,
    *,
    isochrones: gpd.GeoDataFrame | None,
    isochrone_codes: Sequence[str] | None,
    show_isochrones: bool,
    facilities: gpd.GeoDataFrame | None,
    show_facilities: bool,
    labels: Labels,
    basemap: Basemap | None,
    legend: str,
) -> folium.Map:
    """Add the isochrones, facilities, upper basemap, legend and layer control."""
    if isochrones is not None:
        codes = isochrone_codes if isochrone_codes is not None else main_town_codes(communes)
        _add_isochrones(m, isochrones, communes, codes, show_isochrones)
    if facilities is not None:
        _add_facilities(m, facilities, labels, show_facilities)
    add_basemap(m, basemap, under=False)
    m.add_child(_HtmlControl(legend, "bottomright", "ga-control ga-legend"))
    folium.LayerControl(collapsed=False).add_to(m)
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
    facilities: gpd.GeoDataFrame | None = None,
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
    facilities : GeoDataFrame, optional
        ``category``, ``name``, ``capacity``, point geometry; one clustered layer per
        category, named with the number of facilities in the category's unit.
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
    breaks = classify(pd.to_numeric(communes[column], errors="coerce"), scheme, k)
    m = _base_map(communes, title=title, context=context, tiles=tiles, basemap=basemap)
    web = to_web(communes[["geometry"]], simplify_tolerance, coverage=True)
    props, fields, aliases = _commune_properties(communes, column, labels)
    web = gpd.GeoDataFrame(props, geometry=web.geometry.values, crs=web.crs, index=web.index)
    web["code"] = communes["code"].astype(str).map(esc).values
    web["fill"] = breaks.colour_of()
    folium.GeoJson(
        geojson(web, ["code", "fill", *fields]),
        name=esc(title),
        style_function=lambda f: {
            "fillColor": f["properties"]["fill"],
            "color": "#555555",
            "weight": 0.6,
            "fillOpacity": CHOROPLETH_OPACITY,
        },
        highlight_function=lambda _f: {"weight": 2.5, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases, labels=True, sticky=True),
    ).add_to(m)
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
        legend=_legend_html(title, breaks, int((breaks.classes < 0).sum())),
    )


def isochrone_map(
    communes: gpd.GeoDataFrame,
    isochrones: gpd.GeoDataFrame,
    context: ReportContext | None = None,
    *,
    codes: Sequence[str] | None = None,
    title: str = ISOCHRONE_TITLE,
    facilities: gpd.GeoDataFrame | None = None,
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
    web = to_web(communes[["code", "nom", "geometry"]], SIMPLIFY_TOLERANCE_M, coverage=True)
    web["t_nom"] = [esc(v) for v in web["nom"]]
    folium.GeoJson(
        geojson(web, ["t_nom"]),
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

    Returns
    -------
    dict
        Map name (``score_<profile>``, ``pillar_<pillar>``, ``isochrones``) → written path.
    """
    out = Path(out_dir)
    columns = map_columns(communes, columns)
    written: dict[str, Path] = {}
    for column in tqdm(columns, desc="cartes", disable=not verbose):
        m = choropleth_map(
            communes,
            column,
            context,
            scheme=scheme,
            k=k,
            isochrones=isochrones,
            isochrone_codes=isochrone_codes,
            facilities=facilities,
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
            facilities=facilities,
            basemap=basemap,
            tiles=tiles,
        )
        written["isochrones"] = _write_map(m, out / "isochrones.html", offline, asset_dirs)
    return written
