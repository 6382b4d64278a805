"""Maps: interactive folium maps (one HTML file each) and static PNG maps for printed reports.

Choices (see ``docs/maps.md``):

* classes from :mod:`mapclassify` (quantiles by default), the scheme named in the legend
  (``"Quantiles (5 classes)"``);
* the ColorBrewer sequential palette **YlGnBu** (yellow → green → blue, darker = higher score),
  which stays readable for the common colour-vision deficiencies and in grey-scale print;
  facility categories use the Okabe-Ito qualitative palette, also colour-blind safe;
* geometries simplified for the web (:data:`SIMPLIFY_TOLERANCE_M`, shared borders kept
  together) and coordinates rounded to :data:`COORD_DECIMALS` decimals in EPSG:4326 so that
  each map file stays under :data:`MAP_SIZE_BUDGET_BYTES`;
* every text that comes from data is HTML-escaped before it reaches a tooltip, popup, legend
  or layer name (Leaflet inserts those strings with ``innerHTML``);
* maps load Leaflet and Leaflet.markercluster from the CDN folium uses; with
  ``asset_dir`` they are inlined instead, so the file works without any network access.
"""

from __future__ import annotations

import json
import logging
import os
import re
import textwrap
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import mapclassify
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.plugins import FastMarkerCluster
from folium.template import Template
from tqdm.auto import tqdm

from geoattract._util.io import write_bytes_atomic, write_text_atomic
from geoattract.errors import ConfigError, DataError, DataNotFoundError, format_values
from geoattract.outputs import html as _html
from geoattract.outputs.html import esc, fr_number, rank_text

__all__ = [
    "ClassBreaks",
    "choropleth_map",
    "classify",
    "detect_pillars",
    "detect_profiles",
    "inline_web_assets",
    "isochrone_map",
    "make_maps",
    "make_static_maps",
    "render_map_html",
    "static_map",
]

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Tuning constants
# --------------------------------------------------------------------------------------------

#: Simplification tolerance of polygons drawn on web maps, in metres (EPSG:2154). 100 m is
#: invisible at the zoom levels of a département map (one pixel ≈ 150 m at zoom 10).
SIMPLIFY_TOLERANCE_M: float = 100.0

#: Decimals kept on longitude/latitude in the web maps: 5 decimals ≈ 1.1 m.
COORD_DECIMALS: int = 5

#: Size budget of one interactive map file, in bytes (checked by the tests, logged here).
MAP_SIZE_BUDGET_BYTES: int = 5_000_000

#: Default classification scheme and number of classes.
DEFAULT_SCHEME: str = "quantiles"
DEFAULT_K: int = 5

#: French names of the mapclassify schemes accepted by :func:`classify`.
SCHEME_LABELS: dict[str, str] = {
    "quantiles": "Quantiles",
    "fisherjenks": "Fisher-Jenks",
    "naturalbreaks": "Seuils naturels",
    "equalinterval": "Intervalles égaux",
    "jenkscaspall": "Jenks-Caspall",
    "maximumbreaks": "Écarts maximaux",
}

#: Sequential ColorBrewer palette of the choropleths (matplotlib colormap name).
PALETTE: str = "YlGnBu"

#: Part of the palette used: the palest 15 % is skipped so the lowest class stays visible on
#: a white background; the darkest end is kept for the best scores.
PALETTE_RANGE: tuple[float, float] = (0.15, 0.95)

#: Colour of communes with no value.
MISSING_COLOUR: str = "#bdbdbd"

#: Okabe-Ito qualitative palette (colour-blind safe) for facility categories, cycled.
CATEGORY_COLOURS: tuple[str, ...] = (
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#000000",
)

#: Isochrone colours by threshold (ColorBrewer "Oranges", distinct from the choropleth).
ISOCHRONE_COLOURS: dict[int, str] = {10: "#d94801", 20: "#fd8d3c", 30: "#fdd0a2"}

#: Colour for thresholds not in :data:`ISOCHRONE_COLOURS`.
ISOCHRONE_DEFAULT_COLOUR: str = "#fdae6b"

#: Fill opacity of isochrone polygons.
ISOCHRONE_FILL_OPACITY: float = 0.25

#: Number of main towns (largest population) whose isochrones are drawn by default.
N_MAIN_TOWNS: int = 4

#: Radius of facility markers, in pixels.
FACILITY_MARKER_RADIUS: int = 5

#: Zoom step of the interactive maps: quarter levels let ``fit_bounds`` fill the window.
ZOOM_SNAP: float = 0.25

#: Background tiles of the interactive maps (``None`` for a blank background). OpenStreetMap
#: needs no API key (folium warns that CartoDB tiles now do).
DEFAULT_TILES: str | None = "OpenStreetMap"

#: Maximum zoom of the interactive maps. Set on the map itself: without a tile layer Leaflet
#: has no maximum zoom, and Leaflet.markercluster refuses to start ("Map has no maxZoom").
MAX_ZOOM: int = 18

#: Caption shown on every map when the road network is schematic.
SCHEMATIC_CAPTION: str = (
    "Réseau routier schématique (construit à partir des limites communales) — temps indicatifs"
)

#: Size (inches) and resolution of the static maps.
STATIC_FIGSIZE: tuple[float, float] = (8.0, 8.5)
STATIC_DPI: int = 150

#: Characters per line of the source / caption notes under a static map (7 pt text).
STATIC_NOTE_WIDTH = 118

#: Height of one line of notes under a static map, inches.
STATIC_NOTE_LINE_IN = 0.13

#: French labels of the known profiles and pillars; others get a label from their name.
PROFILE_LABELS: dict[str, str] = {
    "general": "Tous publics",
    "jeunes": "Jeunes",
    "familles": "Familles",
    "personnel_medical": "Personnel médical",
    "saisonniers": "Travailleurs saisonniers",
    "teletravailleurs": "Télétravailleurs",
}
PILLAR_LABELS: dict[str, str] = {
    "services": "Services",
    "health": "Santé",
    "culture": "Culture et loisirs",
    "housing": "Logement",
    "transition": "Transition écologique",
    "environment": "Environnement",
}

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

#: CDN URLs of the assets the maps load → file name in an ``asset_dir`` (the layout of the
#: ``dist/`` folders of the npm packages ``leaflet@1.9.3`` and ``leaflet.markercluster@1.1.0``,
#: the versions folium 0.20 loads).
WEB_ASSETS: dict[str, str] = {
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": "leaflet.js",
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": "leaflet.css",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/leaflet.markercluster.js": "leaflet.markercluster.js",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css": "MarkerCluster.css",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.Default.css": "MarkerCluster.Default.css",
}

_SCORE_RE = re.compile(r"^score_(?P<name>.+)$")
_PILLAR_RE = re.compile(r"^pillar_(?P<name>.+)$")


# --------------------------------------------------------------------------------------------
# Column discovery and labels
# --------------------------------------------------------------------------------------------


#: Column-name endings that mark derived columns, never a profile or pillar of their own
#: (Monte Carlo summaries, before/after differences).
DERIVED_SUFFIXES: tuple[str, ...] = ("_p05", "_median", "_p95", "_change", "_before", "_after")


def _numeric(df: pd.DataFrame, column: str) -> bool:
    return pd.api.types.is_numeric_dtype(df[column]) and not pd.api.types.is_bool_dtype(df[column])


def detect_profiles(communes: pd.DataFrame) -> list[str]:
    """Profiles present in ``communes``: the ``<name>`` of every numeric ``score_<name>`` column.

    Derived columns (``score_<profile>_p05``, ``_median``, ``_p95``… see
    :data:`DERIVED_SUFFIXES`) are not profiles.

    Parameters
    ----------
    communes : DataFrame
        Scored communes.

    Returns
    -------
    list of str
        In column order.
    """
    out = []
    for col in communes.columns:
        m = _SCORE_RE.match(str(col))
        if m and not str(col).endswith(DERIVED_SUFFIXES) and _numeric(communes, col):
            out.append(m["name"])
    return out


def detect_pillars(communes: pd.DataFrame) -> list[str]:
    """Pillars present in ``communes``: the ``<name>`` of every numeric ``pillar_<name>`` column.

    Per-profile copies ``pillar_<pillar>_<profile>`` (for a detected profile) and derived
    columns (:data:`DERIVED_SUFFIXES`) are left out: the maps show the reference pillar scores.
    """
    profiles = tuple(f"_{p}" for p in detect_profiles(communes))
    out = []
    for col in communes.columns:
        m = _PILLAR_RE.match(str(col))
        if m and not str(col).endswith(DERIVED_SUFFIXES + profiles) and _numeric(communes, col):
            out.append(m["name"])
    return out


def _label(name: str, labels: Mapping[str, str]) -> str:
    return labels.get(name, name.replace("_", " ").capitalize())


def column_label(column: str) -> str:
    """French label of a score or pillar column (``score_familles`` → ``Score — Familles``)."""
    if m := _SCORE_RE.match(column):
        return f"Score — {_label(m['name'], PROFILE_LABELS)}"
    if m := _PILLAR_RE.match(column):
        return f"Pilier — {_label(m['name'], PILLAR_LABELS)}"
    return column.replace("_", " ").capitalize()


# --------------------------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassBreaks:
    """Result of :func:`classify`.

    Attributes
    ----------
    scheme : str
        mapclassify scheme name.
    bins : numpy.ndarray
        Upper bound of each class.
    lower : float
        Minimum of the classified values (lower bound of the first class).
    classes : numpy.ndarray
        Class index (0 = lowest) per input value, ``-1`` for missing values.
    colours : list of str
        Hex colour per class.
    """

    scheme: str
    bins: np.ndarray
    lower: float
    classes: np.ndarray
    colours: list[str]

    @property
    def k(self) -> int:
        """Number of classes actually produced (ties may merge quantile classes)."""
        return len(self.bins)

    @property
    def title(self) -> str:
        """Scheme named for the legend, for example ``Quantiles (5 classes)``."""
        return f"{SCHEME_LABELS[self.scheme]} ({self.k} classes)"

    def labels(self, decimals: int = 1) -> list[str]:
        """Class ranges in French, for example ``45,2 – 58,1``."""
        lows = [self.lower, *self.bins[:-1]]
        return [
            f"{fr_number(lo, decimals)} – {fr_number(hi, decimals)}"
            for lo, hi in zip(lows, self.bins, strict=True)
        ]

    def colour_of(self) -> list[str]:
        """Colour per input value (missing values get :data:`MISSING_COLOUR`)."""
        return [self.colours[c] if c >= 0 else MISSING_COLOUR for c in self.classes]


def palette_colours(n: int, cmap: str = PALETTE) -> list[str]:
    """``n`` hex colours sampled evenly from ``cmap`` within :data:`PALETTE_RANGE`."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    lo, hi = PALETTE_RANGE
    stops = np.linspace(lo, hi, n) if n > 1 else np.array([hi])
    return [to_hex(colormaps[cmap](float(s))) for s in stops]


def classify(
    values: Sequence[float] | pd.Series, scheme: str = DEFAULT_SCHEME, k: int = DEFAULT_K
) -> ClassBreaks:
    """Classify values with mapclassify and pick a colour per class.

    Parameters
    ----------
    values : sequence of float
        Values; NaN are left unclassified (class ``-1``).
    scheme : str
        A key of :data:`SCHEME_LABELS`.
    k : int
        Requested number of classes (quantiles may give fewer when values tie).

    Returns
    -------
    ClassBreaks

    Raises
    ------
    ConfigError
        Unknown scheme or ``k < 2``.
    DataError
        No finite value to classify.
    """
    if scheme not in SCHEME_LABELS:
        raise ConfigError(
            f"classification scheme {scheme!r} is not supported; "
            f"choose one of {format_values(SCHEME_LABELS)}"
        )
    if int(k) < 2:
        raise ConfigError(f"number of classes k must be at least 2, got {k}")
    y = np.asarray(values, dtype=float)
    ok = np.isfinite(y)
    if not ok.any():
        raise DataError("cannot classify: every value is missing (NaN)")
    with warnings.catch_warnings():  # mapclassify warns when ties merge quantile classes
        warnings.simplefilter("ignore")
        kwargs = {} if scheme == "jenkscaspall" and ok.sum() <= k else {"k": int(k)}
        clf = mapclassify.classify(y[ok], scheme=scheme, **kwargs)
    bins = np.asarray(clf.bins, dtype=float)
    # drop empty duplicate classes (identical upper bounds) so every class has a colour
    bins = np.unique(bins)
    classes = np.full(len(y), -1, dtype=int)
    classes[ok] = np.searchsorted(bins, y[ok], side="left")
    classes[ok] = np.minimum(classes[ok], len(bins) - 1)
    return ClassBreaks(
        scheme=scheme,
        bins=bins,
        lower=float(y[ok].min()),
        classes=classes,
        colours=palette_colours(len(bins)),
    )


# --------------------------------------------------------------------------------------------
# Geometry preparation
# --------------------------------------------------------------------------------------------


def _simplify(gdf: gpd.GeoDataFrame, tolerance: float, coverage: bool) -> gpd.GeoSeries:
    geoms = gdf.geometry.values
    if tolerance <= 0:
        return gdf.geometry
    out = None
    if coverage and hasattr(shapely, "coverage_simplify"):
        try:  # keeps shared borders identical: no slivers between neighbouring communes
            cand = shapely.coverage_simplify(np.asarray(geoms), tolerance)
            if shapely.is_valid(cand).all() and not shapely.is_empty(cand).any():
                out = cand
        except shapely.errors.GEOSException:
            out = None
    if out is None:
        out = shapely.simplify(np.asarray(geoms), tolerance, preserve_topology=True)
    return gpd.GeoSeries(out, index=gdf.index, crs=gdf.crs)


def to_web(
    gdf: gpd.GeoDataFrame, tolerance: float = SIMPLIFY_TOLERANCE_M, *, coverage: bool = False
) -> gpd.GeoDataFrame:
    """Simplify in the projected CRS, reproject to EPSG:4326 and round the coordinates.

    Parameters
    ----------
    gdf : GeoDataFrame
        Layer in a projected CRS (metres).
    tolerance : float
        Simplification tolerance in metres (0 keeps the geometry).
    coverage : bool
        The layer is a coverage (communes): simplify shared borders together.

    Returns
    -------
    GeoDataFrame
        A copy in EPSG:4326 with coordinates rounded to :data:`COORD_DECIMALS` decimals.
    """
    if gdf.crs is None:
        raise DataError("layer has no CRS; expected a projected CRS such as EPSG:2154")
    out = gdf.copy()
    if out.crs.is_projected:
        out = out.set_geometry(_simplify(out, tolerance, coverage))
    out = out.to_crs(4326)
    rounded = shapely.transform(out.geometry.values, lambda xy: np.round(xy, COORD_DECIMALS))
    return out.set_geometry(gpd.GeoSeries(rounded, index=out.index, crs=out.crs))


def _geojson(gdf: gpd.GeoDataFrame, properties: Sequence[str]) -> dict:
    """A compact GeoJSON dict with only ``properties`` (already strings)."""
    return json.loads(gdf[[*properties, "geometry"]].to_json(drop_id=True))


# --------------------------------------------------------------------------------------------
# Map controls (title, legend, caption)
# --------------------------------------------------------------------------------------------


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


_CONTROL_CSS = """
<style>
.ga-control{background:rgba(255,255,255,.93);padding:6px 9px;border-radius:5px;
  box-shadow:0 1px 5px rgba(0,0,0,.35);font:12px/1.35 system-ui,Arial,sans-serif;max-width:330px}
.ga-title{font-size:15px;font-weight:600}
.ga-caption{background:#fff3cd;border:1px solid #e0c36b}
.ga-legend i{display:inline-block;width:18px;height:12px;margin-right:6px;vertical-align:middle;
  border:1px solid #777}
.ga-legend .ga-scheme{color:#444;margin-bottom:3px}
.leaflet-tooltip{white-space:normal;width:max-content;max-width:420px}
.leaflet-tooltip table th{text-align:left;padding-right:6px;color:#444;vertical-align:top;
  white-space:normal !important;max-width:150px}
.leaflet-tooltip table td{min-width:120px;white-space:normal !important}
.leaflet-tooltip table{width:100%;table-layout:auto}
.leaflet-control-layers-expanded{max-height:55vh;max-width:270px;overflow-y:auto;
  font:11px/1.3 system-ui,Arial,sans-serif}
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
    bounds_from: gpd.GeoDataFrame, *, title: str, meta: Mapping[str, Any] | None, tiles: str | None
) -> folium.Map:
    m = folium.Map(
        tiles=tiles, control_scale=True, prefer_canvas=False, zoom_snap=ZOOM_SNAP, max_zoom=MAX_ZOOM
    )
    m.options["maxZoom"] = MAX_ZOOM
    m.default_js = [(n, u) for n, u in m.default_js if n not in UNUSED_DEFAULT_ASSETS]
    m.default_css = [(n, u) for n, u in m.default_css if n not in UNUSED_DEFAULT_ASSETS]
    m.get_root().header.add_child(folium.Element(_CONTROL_CSS))
    m.get_root().title = title
    minx, miny, maxx, maxy = bounds_from.to_crs(4326).total_bounds
    m.fit_bounds([[float(miny), float(minx)], [float(maxy), float(maxx)]])
    m.add_child(
        _HtmlControl(
            f'<div class="ga-title">{esc(title)}</div>', "topright", "ga-control ga-title-box"
        )
    )
    if meta and meta.get("schematic"):
        m.add_child(
            _HtmlControl(
                esc(meta.get("schematic_caption", SCHEMATIC_CAPTION)),
                "bottomleft",
                "ga-control ga-caption",
            )
        )
    return m


def _add_outline(m: folium.Map, outline: Any) -> None:
    if outline is None:
        return
    if isinstance(outline, gpd.GeoSeries):
        outline = gpd.GeoDataFrame(geometry=outline)
    web = to_web(outline[["geometry"]], SIMPLIFY_TOLERANCE_M)
    folium.GeoJson(
        _geojson(web, []),
        name="Limite départementale",
        interactive=False,
        style_function=lambda _f: {"color": "#222222", "weight": 2.5, "fill": False},
    ).add_to(m)


def _check_crs_columns(gdf: Any, columns: Iterable[str], what: str) -> None:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise DataError(f"{what}: expected a GeoDataFrame, got {type(gdf).__name__}")
    if gdf.crs is None:
        raise DataError(f"{what}: no CRS (expected EPSG:2154)")
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise DataError(
            f"{what}: missing column(s) {format_values(missing)}; "
            f"available: {format_values(gdf.columns, limit=40)}"
        )


def main_town_codes(communes: pd.DataFrame, n: int = N_MAIN_TOWNS) -> list[str]:
    """Codes of the ``n`` most populous communes (ties broken by code)."""
    if "population" not in communes.columns:
        raise DataError(
            "communes: missing column 'population' (needed to pick the main towns); "
            "pass isochrone_codes explicitly"
        )
    ordered = communes.sort_values(["population", "code"], ascending=[False, True])
    return ordered["code"].astype(str).head(n).tolist()


def _add_isochrones(
    m: folium.Map,
    isochrones: gpd.GeoDataFrame,
    communes: pd.DataFrame,
    codes: Sequence[str],
    show: bool,
) -> list[str]:
    _check_crs_columns(isochrones, ["code", "minutes", "geometry"], "isochrones")
    sel = isochrones[isochrones["code"].astype(str).isin([str(c) for c in codes])].copy()
    names = dict(zip(communes["code"].astype(str), communes["nom"], strict=False))
    layer_names = []
    if sel.empty:
        logger.warning("no isochrone for the requested communes %s", format_values(codes))
        return layer_names
    web = to_web(sel, SIMPLIFY_TOLERANCE_M)
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
    for minutes in sorted(web["minutes"].unique(), reverse=True):  # largest drawn first
        part = web[web["minutes"] == minutes]
        colour = ISOCHRONE_COLOURS.get(int(minutes), ISOCHRONE_DEFAULT_COLOUR)
        name = f"Isochrones {int(minutes)} min"
        group = folium.FeatureGroup(name=name, show=show)
        folium.GeoJson(
            _geojson(part, props),
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


def _add_facilities(
    m: folium.Map,
    facilities: gpd.GeoDataFrame,
    category_labels: Mapping[str, str] | None,
    show: bool,
) -> list[str]:
    _check_crs_columns(facilities, ["category", "geometry"], "facilities")
    labels = dict(category_labels or {})
    pts = facilities[facilities.geometry.notna() & ~facilities.geometry.is_empty]
    pts = pts[pts.geom_type == "Point"].to_crs(4326)
    layer_names = []
    for i, category in enumerate(sorted(pts["category"].astype(str).unique())):
        part = pts[pts["category"].astype(str) == category]
        label = labels.get(category, category)
        colour = CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)]
        rows = []
        names = part["name"] if "name" in part else pd.Series(np.nan, index=part.index)
        caps = part["capacity"] if "capacity" in part else pd.Series(np.nan, index=part.index)
        for geom, name, cap in zip(part.geometry, names, caps, strict=True):
            text = f"<b>{esc(name)}</b><br>{esc(label)}"
            if not _html.is_missing(cap):
                text += f"<br>Capacité : {esc(fr_number(cap))}"
            rows.append([round(geom.y, COORD_DECIMALS), round(geom.x, COORD_DECIMALS), text])
        layer_label = f"Équipements — {label} ({len(rows)})"
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


# --------------------------------------------------------------------------------------------
# Interactive maps
# --------------------------------------------------------------------------------------------


def _commune_properties(communes: gpd.GeoDataFrame, column: str) -> tuple[pd.DataFrame, list, list]:
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
    aliases.append(column_label(column))
    if m := _SCORE_RE.match(column):
        rank = f"rank_{m['name']}"
        if rank in communes:
            low = communes.get(f"{rank}_p05", pd.Series(np.nan, index=communes.index))
            high = communes.get(f"{rank}_p95", pd.Series(np.nan, index=communes.index))
            props["t_rang"] = [
                esc(rank_text(r, lo, hi))
                for r, lo, hi in zip(communes[rank], low, high, strict=True)
            ]
            fields.append("t_rang")
            aliases.append(f"Rang sur {len(communes)} (intervalle 5–95 %)")
    for col, alias in (("afom_atouts", "Atouts"), ("afom_faiblesses", "Faiblesses")):
        if col in communes:
            props[f"t_{col}"] = [esc(v) for v in communes[col]]
            fields.append(f"t_{col}")
            aliases.append(alias)
    return props, fields, aliases


def choropleth_map(
    communes: gpd.GeoDataFrame,
    column: str,
    *,
    title: str | None = None,
    scheme: str = DEFAULT_SCHEME,
    k: int = DEFAULT_K,
    isochrones: gpd.GeoDataFrame | None = None,
    isochrone_codes: Sequence[str] | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    category_labels: Mapping[str, str] | None = None,
    outline: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    meta: Mapping[str, Any] | None = None,
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
    title : str, optional
        Map title (default: French label of the column).
    scheme, k : str, int
        mapclassify scheme and number of classes (see :func:`classify`).
    isochrones : GeoDataFrame, optional
        ``code``, ``minutes``, geometry (and ``area_km2``, ``population_reached``); drawn for
        ``isochrone_codes`` (default: the :data:`N_MAIN_TOWNS` most populous communes), one
        layer per threshold.
    facilities : GeoDataFrame, optional
        ``category``, ``name``, ``capacity``, point geometry; one clustered layer per category.
    category_labels : mapping, optional
        Category → French label (default: ``meta["category_labels"]``, else the category).
    outline : GeoDataFrame or GeoSeries, optional
        Département outline.
    meta : mapping, optional
        Study metadata; ``meta["schematic"]`` true adds :data:`SCHEMATIC_CAPTION`.
    tiles : str or None
        Folium tiles name; ``None`` for a blank background (offline use, tests).
    show_isochrones, show_facilities : bool
        Whether those layers are switched on when the map opens.
    simplify_tolerance : float
        Polygon simplification tolerance in metres.

    Returns
    -------
    folium.Map
        Layers: the choropleth, isochrones per threshold, facilities per category, the
        outline, with a layer control, a legend and the title.
    """
    _check_crs_columns(communes, ["code", "nom", column, "geometry"], "communes")
    title = title or column_label(column)
    values = pd.to_numeric(communes[column], errors="coerce")
    breaks = classify(values, scheme, k)
    m = _base_map(communes, title=title, meta=meta, tiles=tiles)

    web = to_web(
        communes[[c for c in communes.columns if c != "town_hall"]],
        simplify_tolerance,
        coverage=True,
    )
    props, fields, aliases = _commune_properties(communes, column)
    web = gpd.GeoDataFrame(props, geometry=web.geometry.values, crs=web.crs, index=web.index)
    web["code"] = communes["code"].astype(str).map(esc).values
    web["fill"] = breaks.colour_of()
    folium.GeoJson(
        _geojson(web, ["code", "fill", *fields]),
        name=esc(title),
        style_function=lambda f: {
            "fillColor": f["properties"]["fill"],
            "color": "#555555",
            "weight": 0.6,
            "fillOpacity": 0.8,
        },
        highlight_function=lambda _f: {"weight": 2.5, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases, labels=True, sticky=True),
    ).add_to(m)

    if isochrones is not None:
        codes = isochrone_codes if isochrone_codes is not None else main_town_codes(communes)
        _add_isochrones(m, isochrones, communes, codes, show_isochrones)
    if facilities is not None:
        labels = category_labels or (meta or {}).get("category_labels")
        _add_facilities(m, facilities, labels, show_facilities)
    _add_outline(m, outline)
    m.add_child(
        _HtmlControl(
            _legend_html(title, breaks, int((breaks.classes < 0).sum())),
            "bottomright",
            "ga-control ga-legend",
        )
    )
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def isochrone_map(
    communes: gpd.GeoDataFrame,
    isochrones: gpd.GeoDataFrame,
    *,
    codes: Sequence[str] | None = None,
    title: str = "Isochrones depuis les principales communes",
    facilities: gpd.GeoDataFrame | None = None,
    category_labels: Mapping[str, str] | None = None,
    outline: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    meta: Mapping[str, Any] | None = None,
    tiles: str | None = DEFAULT_TILES,
) -> folium.Map:
    """Interactive map of isochrones (one layer per threshold) over the commune limits.

    Parameters
    ----------
    communes : GeoDataFrame
        Study communes (``code``, ``nom``, ``population``).
    isochrones : GeoDataFrame
        ``code``, ``minutes``, geometry (``area_km2``, ``population_reached`` optional).
    codes : sequence of str, optional
        Communes whose isochrones are drawn (default: the main towns).
    title, facilities, category_labels, outline, meta, tiles
        As in :func:`choropleth_map`.

    Returns
    -------
    folium.Map
    """
    _check_crs_columns(communes, ["code", "nom", "geometry"], "communes")
    m = _base_map(communes, title=title, meta=meta, tiles=tiles)
    web = to_web(communes[["code", "nom", "geometry"]], SIMPLIFY_TOLERANCE_M, coverage=True)
    web["t_nom"] = [esc(v) for v in web["nom"]]
    folium.GeoJson(
        _geojson(web, ["t_nom"]),
        name="Communes",
        style_function=lambda _f: {"color": "#777777", "weight": 0.6, "fillOpacity": 0.0},
        tooltip=folium.GeoJsonTooltip(fields=["t_nom"], aliases=["Commune"]),
    ).add_to(m)
    codes = list(codes) if codes is not None else main_town_codes(communes)
    _add_isochrones(m, isochrones, communes, codes, show=True)
    if facilities is not None:
        labels = category_labels or (meta or {}).get("category_labels")
        _add_facilities(m, facilities, labels, show=False)
    _add_outline(m, outline)
    legend = [f"<div><b>{esc('Temps de trajet en voiture')}</b></div>"]
    for minutes in sorted(pd.unique(isochrones["minutes"])):
        colour = ISOCHRONE_COLOURS.get(int(minutes), ISOCHRONE_DEFAULT_COLOUR)
        legend.append(f'<div><i style="background:{colour}"></i>≤ {int(minutes)} min</div>')
    m.add_child(_HtmlControl("".join(legend), "bottomright", "ga-control ga-legend"))
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def inline_web_assets(html: str, asset_dir: str | os.PathLike) -> str:
    """Replace the CDN ``<script src>``/``<link href>`` tags of :data:`WEB_ASSETS` by inline copies.

    Images referenced by the CSS (``url(images/layers.png)``) are embedded as data URIs when
    present beside the CSS under ``images/``.

    Parameters
    ----------
    html : str
        A rendered map page.
    asset_dir : path-like
        Folder holding the files named in :data:`WEB_ASSETS` (for example the ``dist/``
        folders of the npm packages, merged).

    Returns
    -------
    str
        The page with no reference to the CDN assets.

    Raises
    ------
    DataNotFoundError
        A needed file is missing from ``asset_dir``.
    """
    folder = Path(asset_dir)
    for url, filename in WEB_ASSETS.items():
        if url not in html:
            continue
        path = folder / filename
        if not path.is_file():
            raise DataNotFoundError(f"web asset {filename} (for {url}) not found in {folder}")
        text = path.read_text(encoding="utf-8")
        if filename.endswith(".css"):
            text = _embed_css_images(text, folder)
            pattern = re.compile(r'<link[^>]*href="' + re.escape(url) + r'"[^>]*/?>')
            repl = "<style>\n" + text + "\n</style>"
        else:
            text = text.replace("</script", "<\\/script")
            pattern = re.compile(r'<script[^>]*src="' + re.escape(url) + r'"[^>]*>\s*</script>')
            repl = "<script>\n" + text + "\n</script>"
        html, n = pattern.subn(lambda _m, r=repl: r, html)
        if n == 0:
            raise DataError(f"asset {url} is referenced but not as a plain tag; cannot inline it")
    return html


def _embed_css_images(css: str, folder: Path) -> str:
    def repl(match: re.Match) -> str:
        ref = match.group(2)
        path = folder / ref
        if ref.startswith("data:") or not path.is_file() or path.suffix.lower() != ".png":
            return match.group(0)
        return f'url("{_html.png_data_uri(path.read_bytes())}")'

    return re.sub(r"url\((['\"]?)([^'\")]+)\1\)", repl, css)


def render_map_html(m: folium.Map, asset_dir: str | os.PathLike | None = None) -> str:
    """Render a map to a complete HTML page, optionally with inlined Leaflet assets."""
    text = m.get_root().render()
    if asset_dir is not None:
        text = inline_web_assets(text, asset_dir)
    return text


def _write_map(m: folium.Map, path: Path, asset_dir: str | os.PathLike | None) -> Path:
    text = render_map_html(m, asset_dir)
    size = len(text.encode("utf-8"))
    if size > MAP_SIZE_BUDGET_BYTES:
        logger.warning(
            "%s is %.1f MB, above the %.1f MB budget", path, size / 1e6, MAP_SIZE_BUDGET_BYTES / 1e6
        )
    else:
        logger.debug("%s: %.2f MB", path, size / 1e6)
    return write_text_atomic(path, text)


def _map_columns(communes: pd.DataFrame, columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        columns = [f"score_{p}" for p in detect_profiles(communes)]
        columns += [f"pillar_{p}" for p in detect_pillars(communes)]
    columns = list(columns)
    if not columns:
        raise DataError(
            f"communes: no score_<profile> or pillar_<pillar> column; available: "
            f"{format_values(communes.columns, limit=40)}"
        )
    missing = [c for c in columns if c not in communes.columns]
    if missing:
        raise DataError(
            f"communes: missing column(s) {format_values(missing)}; available: "
            f"{format_values(communes.columns, limit=40)}"
        )
    return columns


def make_maps(
    communes: gpd.GeoDataFrame,
    isochrones: gpd.GeoDataFrame | None,
    facilities: gpd.GeoDataFrame | None,
    outline: gpd.GeoDataFrame | gpd.GeoSeries | None,
    meta: Mapping[str, Any] | None,
    out_dir: str | os.PathLike,
    *,
    category_labels: Mapping[str, str] | None = None,
    scheme: str = DEFAULT_SCHEME,
    k: int = DEFAULT_K,
    isochrone_codes: Sequence[str] | None = None,
    tiles: str | None = DEFAULT_TILES,
    asset_dir: str | os.PathLike | None = None,
    columns: Sequence[str] | None = None,
    verbose: bool = False,
) -> dict[str, Path]:
    """Write one interactive map per profile score and per pillar, plus ``isochrones.html``.

    Parameters
    ----------
    communes : GeoDataFrame
        Scored study communes (``score_<profile>`` and ``pillar_<pillar>`` columns).
    isochrones, facilities, outline : GeoDataFrame or None
        Extra layers (see :func:`choropleth_map`).
    meta : mapping or None
        Study metadata (``schematic``, ``category_labels``…).
    out_dir : path-like
        Output folder (created).
    category_labels, scheme, k, isochrone_codes, tiles
        As in :func:`choropleth_map`.
    asset_dir : path-like, optional
        Inline Leaflet from this folder (see :func:`inline_web_assets`) for offline files.
    columns : sequence of str, optional
        Columns to map (default: every ``score_<profile>`` then every ``pillar_<pillar>``).
    verbose : bool
        Show a progress bar.

    Returns
    -------
    dict
        Map name (``score_<profile>``, ``pillar_<pillar>``, ``isochrones``) → written path.
    """
    out = Path(out_dir)
    columns = _map_columns(communes, columns)
    written: dict[str, Path] = {}
    for column in tqdm(columns, desc="cartes", disable=not verbose):
        m = choropleth_map(
            communes,
            column,
            scheme=scheme,
            k=k,
            isochrones=isochrones,
            isochrone_codes=isochrone_codes,
            facilities=facilities,
            category_labels=category_labels,
            outline=outline,
            meta=meta,
            tiles=tiles,
        )
        written[column] = _write_map(m, out / f"{column}.html", asset_dir)
    if isochrones is not None:
        m = isochrone_map(
            communes,
            isochrones,
            codes=isochrone_codes,
            facilities=facilities,
            category_labels=category_labels,
            outline=outline,
            meta=meta,
            tiles=tiles,
        )
        written["isochrones"] = _write_map(m, out / "isochrones.html", asset_dir)
    return written


# --------------------------------------------------------------------------------------------
# Static maps
# --------------------------------------------------------------------------------------------


def source_line(meta: Mapping[str, Any] | None) -> str:
    """``Sources : name vintage (licence) ; …`` from ``meta["sources"]``."""
    parts = []
    for src in (meta or {}).get("sources", []) or []:
        text = str(src.get("name", "?"))
        if src.get("vintage"):
            text += f" {src['vintage']}"
        if src.get("licence"):
            text += f" ({src['licence']})"
        parts.append(text)
    return "Sources : " + " ; ".join(parts) if parts else ""


def static_map(
    communes: gpd.GeoDataFrame,
    column: str,
    *,
    title: str | None = None,
    source_text: str = "",
    schematic: bool = False,
    scheme: str = DEFAULT_SCHEME,
    k: int = DEFAULT_K,
    outline: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
):
    """Static choropleth (matplotlib Figure, Agg canvas) of one column, for printing.

    Parameters
    ----------
    communes : GeoDataFrame
        Communes in a projected CRS with ``column``.
    column : str
        Column to map.
    title : str, optional
        Figure title (default: French label of the column).
    source_text : str
        Source and vintage line printed under the map.
    schematic : bool
        Print :data:`SCHEMATIC_CAPTION` under the map.
    scheme, k : str, int
        Classification (same classes and colours as :func:`choropleth_map`).
    outline : GeoDataFrame or GeoSeries, optional
        Département outline drawn on top.

    Returns
    -------
    matplotlib.figure.Figure
        A figure bound to an Agg canvas (no display needed).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    _check_crs_columns(communes, [column, "geometry"], "communes")
    title = title or column_label(column)
    breaks = classify(pd.to_numeric(communes[column], errors="coerce"), scheme, k)
    notes = [
        t
        for t in (
            source_text,
            SCHEMATIC_CAPTION if schematic else "",
            f"Palette {PALETTE} (ColorBrewer) — {breaks.title}",
        )
        if t
    ]
    note_lines = [line for t in notes for line in textwrap.wrap(t, STATIC_NOTE_WIDTH)]
    # the notes get their own band under the map, sized to their line count: they never
    # cover the map or its legend, however long the list of sources
    note_h = STATIC_NOTE_LINE_IN * (len(note_lines) + 1)
    width, height = STATIC_FIGSIZE
    fig = Figure(figsize=(width, height + note_h), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 1, height_ratios=[height, note_h])
    ax = fig.add_subplot(grid[0])
    ax_notes = fig.add_subplot(grid[1])
    ax_notes.set_axis_off()
    communes.plot(ax=ax, color=breaks.colour_of(), edgecolor="#555555", linewidth=0.25)
    if outline is not None:
        outline.boundary.plot(ax=ax, color="#222222", linewidth=1.2)
    ax.set_axis_off()
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=14, fontweight="bold")
    handles = [
        Patch(facecolor=c, edgecolor="#555555", label=lab)
        for c, lab in zip(breaks.colours, breaks.labels(), strict=True)
    ]
    n_missing = int((breaks.classes < 0).sum())
    if n_missing:
        handles.append(
            Patch(
                facecolor=MISSING_COLOUR,
                edgecolor="#555555",
                label=f"Donnée manquante ({n_missing})",
            )
        )
    ax.legend(
        handles=handles,
        title=breaks.title,
        loc="lower left",
        fontsize=8,
        title_fontsize=9,
        frameon=True,
    )
    ax_notes.text(
        0.0,
        1.0,
        "\n".join(note_lines),
        fontsize=7,
        ha="left",
        va="top",
        transform=ax_notes.transAxes,
        color="#b35806" if schematic else "#333333",
    )
    return fig


#: Colours of the palette PNG the static maps are stored as: a 5-class map with its legend
#: and anti-aliased text needs far fewer than 256; 128 keeps edges smooth at a quarter of
#: the size of a true-colour PNG (about 130 kB instead of 475 kB at 150 dpi).
STATIC_PNG_COLOURS = 128


def figure_png(fig, dpi: int = STATIC_DPI, colours: int | None = STATIC_PNG_COLOURS) -> bytes:
    """PNG bytes of a matplotlib figure, quantised to a palette of ``colours`` (None: RGBA)."""
    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    if colours is None:
        return buf.getvalue()
    from PIL import Image

    buf.seek(0)
    with Image.open(buf) as im:
        small = im.convert("RGB").quantize(colors=colours, method=Image.Quantize.MEDIANCUT)
    out = BytesIO()
    small.save(out, format="PNG", optimize=True)
    return out.getvalue()


def make_static_maps(
    communes: gpd.GeoDataFrame,
    meta: Mapping[str, Any] | None,
    out_dir: str | os.PathLike,
    *,
    outline: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    scheme: str = DEFAULT_SCHEME,
    k: int = DEFAULT_K,
    dpi: int = STATIC_DPI,
    columns: Sequence[str] | None = None,
    verbose: bool = False,
) -> dict[str, Path]:
    """Write one PNG map per profile score and per pillar (atomic writes).

    Parameters
    ----------
    communes : GeoDataFrame
        Scored study communes.
    meta : mapping or None
        ``sources`` (list of dicts name/vintage/licence) and ``schematic``.
    out_dir : path-like
        Output folder (created).
    outline : GeoDataFrame or GeoSeries, optional
        Département outline.
    scheme, k : str, int
        Classification.
    dpi : int
        Resolution.
    columns : sequence of str, optional
        Columns to map (default: every ``score_<profile>`` then every ``pillar_<pillar>``).
    verbose : bool
        Show a progress bar.

    Returns
    -------
    dict
        ``score_<profile>`` / ``pillar_<pillar>`` → PNG path.
    """
    out = Path(out_dir)
    columns = _map_columns(communes, columns)
    src = source_line(meta)
    schematic = bool((meta or {}).get("schematic", False))
    written: dict[str, Path] = {}
    for column in tqdm(columns, desc="cartes PNG", disable=not verbose):
        fig = static_map(
            communes,
            column,
            source_text=src,
            schematic=schematic,
            scheme=scheme,
            k=k,
            outline=outline,
        )
        written[column] = write_bytes_atomic(out / f"{column}.png", figure_png(fig, dpi))
    return written
