"""A plain offline basemap drawn from the study's own data.

Background tiles need the network; the maps of this package do not. Under the data they draw
the département outline, the neighbouring (buffer) communes in light grey, the main roads when
the road network has classes (motorway, trunk, primary) and the names of the main towns, so a
map stays readable with tiles switched off or unreachable.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import shapely
from branca.element import Figure
from folium.map import Layer
from folium.template import Template

from geoattract.errors import DataError
from geoattract.outputs.draw import draw_lines, draw_polygons
from geoattract.outputs.geometry import SIMPLIFY_TOLERANCE_M, WEB_CACHE, geojson_text
from geoattract.outputs.html import esc

logger = logging.getLogger(__name__)

#: Road classes drawn on the basemap, most important first.
MAIN_ROAD_CLASSES: tuple[str, ...] = ("motorway", "trunk", "primary")

#: Line colour and width (pixels) of each main road class.
ROAD_STYLES: dict[str, tuple[str, float]] = {
    "motorway": ("#c0392b", 2.5),
    "trunk": ("#e67e22", 2.0),
    "primary": ("#b7950b", 1.5),
}

#: Number of main towns (largest population of the study) named on the basemap.
N_TOWN_NAMES: int = 8

#: Smallest distance between two named towns, metres: a suburb next to a larger town (Le
#: Passage beside Agen) is not named, so the labels do not cover each other at the zoom of a
#: département map.
MIN_TOWN_SPACING_M: float = 12_000.0

#: Fill and border colours of the neighbouring communes.
NEIGHBOUR_FILL: str = "#eeeeee"
NEIGHBOUR_BORDER: str = "#c8c8c8"

#: Simplification tolerance of the neighbouring communes, metres, and decimals of their
#: coordinates (about 11 m): a grey background needs no more, and the 884 neighbours of
#: Lot-et-Garonne then weigh about 0.33 MB per map instead of 0.56 MB at 250 m / 5 decimals.
NEIGHBOUR_TOLERANCE_M: float = 500.0
NEIGHBOUR_DECIMALS: int = 4

#: Simplification tolerance of the main roads, metres.
ROAD_TOLERANCE_M: float = 50.0

#: CSS of the town names (a white halo keeps them readable on any fill).
TOWN_CSS: str = (
    ".ga-town{font:600 12px/1.1 system-ui,Arial,sans-serif;color:#222;width:max-content;"
    "text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 3px #fff;pointer-events:none;"
    "transform:translate(-50%,-50%)}"
)


class JsonLayer(Layer):
    """A plain GeoJSON layer: a serialised FeatureCollection and one style, not interactive.

    The basemap layers are the same on every map of a run: their text is built once
    (:func:`~geoattract.outputs.geometry.geojson_text`) and embedded as it is, without
    folium's per-feature styling.

    Parameters
    ----------
    data : str
        GeoJSON text of geometries only (no text from the data: nothing to escape).
    style : dict
        Leaflet path options (``color``, ``weight``, ``fillColor``…).
    name : str, optional
        Name in the layer list (escaped by the caller).
    control : bool
        Whether the layer is listed.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.geoJson({{ this.data }}, {{ this.options|tojson }});
        {% endmacro %}
    """)

    def __init__(
        self, data: str, style: dict[str, Any], name: str | None = None, control: bool = True
    ) -> None:
        super().__init__(name=name, overlay=True, control=control, show=True)
        self._name = "JsonLayer"
        self.data = data
        self.options = {"interactive": False, "style": style}


def map_page(m: folium.Map) -> Figure:
    """Return the page (branca Figure) of a folium map: its header, title and renderer."""
    root = m.get_root()
    if not isinstance(root, Figure):
        raise TypeError(f"folium map is not attached to a page: {type(root).__name__}")
    return root


@dataclass(frozen=True)
class Basemap:
    """Layers of the offline basemap, each optional, in a projected CRS.

    Attributes
    ----------
    outline : GeoDataFrame or None
        Outline of the study area (union of the study communes).
    neighbours : GeoDataFrame or None
        Buffer-zone communes (polygons).
    roads : GeoDataFrame or None
        Main roads: ``highway`` (one of :data:`MAIN_ROAD_CLASSES`) and LineStrings.
    towns : GeoDataFrame or None
        Named points: ``nom`` and a point geometry.
    """

    outline: gpd.GeoDataFrame | None = None
    neighbours: gpd.GeoDataFrame | None = None
    roads: gpd.GeoDataFrame | None = None
    towns: gpd.GeoDataFrame | None = None


def main_roads(
    roads: gpd.GeoDataFrame | None, classes: Sequence[str] = MAIN_ROAD_CLASSES
) -> gpd.GeoDataFrame | None:
    """Keep the main roads of a road layer: rows whose ``highway`` is in ``classes``.

    Parameters
    ----------
    roads : GeoDataFrame or None
        Road lines with a ``highway`` column (OSM classes).
    classes : sequence of str
        Classes kept.

    Returns
    -------
    GeoDataFrame or None
        ``highway`` and geometry; None when there is no such road (a schematic network has
        no classes).
    """
    if roads is None or roads.empty:
        return None
    if "highway" not in roads.columns:
        raise DataError(f"roads: missing column 'highway'; available: {list(roads.columns)}")
    keep = roads[roads["highway"].astype(str).isin(classes)]
    if keep.empty:
        return None
    return gpd.GeoDataFrame(
        {"highway": keep["highway"].astype(str).to_numpy()},
        geometry=keep.geometry.to_numpy(),
        crs=roads.crs,
    )


def roads_from_graph(G: Any, classes: Sequence[str] = MAIN_ROAD_CLASSES) -> gpd.GeoDataFrame:
    """Extract the main roads of a road graph (``x``/``y`` nodes, ``highway`` edges).

    A two-way road is drawn once; an edge without ``geometry`` is the straight line between
    its nodes. A schematic graph (``G.graph["schematic"]``) links town halls, not roads: it
    gives no road.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Graph with node ``x``, ``y`` in ``G.graph["crs"]`` and edge ``highway``.
    classes : sequence of str
        Classes kept.

    Returns
    -------
    GeoDataFrame
        ``highway`` and LineStrings in the graph's CRS (empty without such edges).
    """
    seen: set[tuple[Any, Any]] = set()
    rows: list[tuple[str, Any]] = []
    crs = G.graph.get("crs", "EPSG:2154")
    if G.graph.get("schematic"):  # links between town halls, not roads: nothing to draw
        return gpd.GeoDataFrame({"highway": []}, geometry=[], crs=crs)
    for u, v, d in G.edges(data=True):
        highway = str(d.get("highway", ""))
        if highway not in classes or (v, u) in seen or (u, v) in seen:
            continue
        seen.add((u, v))
        geom = d.get("geometry")
        if geom is None:
            a, b = G.nodes[u], G.nodes[v]
            geom = shapely.LineString([(a["x"], a["y"]), (b["x"], b["y"])])
        rows.append((highway, geom))
    return gpd.GeoDataFrame(
        {"highway": [r[0] for r in rows]}, geometry=[r[1] for r in rows], crs=crs
    )


def make_basemap(
    territory: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame | None = None,
    *,
    n_towns: int = N_TOWN_NAMES,
) -> Basemap:
    """Build the offline basemap of a study territory.

    Parameters
    ----------
    territory : GeoDataFrame
        Study and buffer communes (``in_study``, ``nom``, ``population``, polygons; a
        ``town_hall`` point column, when present, places the names).
    roads : GeoDataFrame, optional
        Road lines with ``highway`` (see :func:`main_roads`, :func:`roads_from_graph`).
    n_towns : int
        Number of study towns named (largest population first).

    Returns
    -------
    Basemap
    """
    for col in ("in_study", "nom"):
        if col not in territory.columns:
            raise DataError(f"territory: missing column {col!r} for the basemap")
    in_study = territory["in_study"].astype(bool)
    study = territory[in_study]
    outline = gpd.GeoDataFrame(
        geometry=[shapely.union_all(study.geometry.values)], crs=territory.crs
    )
    neighbours = territory.loc[~in_study, [territory.geometry.name]]
    towns = main_towns(study, n_towns) if "population" in study.columns else None
    return Basemap(
        outline=outline,
        neighbours=neighbours if not neighbours.empty else None,
        roads=main_roads(roads),
        towns=towns,
    )


def main_towns(study: gpd.GeoDataFrame, n_towns: int = N_TOWN_NAMES) -> gpd.GeoDataFrame | None:
    """Pick the ``n_towns`` most populous communes at least :data:`MIN_TOWN_SPACING_M` apart.

    Returns ``code``, ``nom`` and the town hall (or a point inside the commune), most populous
    first; None when there is no commune.
    """
    ordered = study.sort_values(["population", "code"], ascending=[False, True])
    if "town_hall" in ordered.columns:
        points = gpd.GeoSeries(ordered["town_hall"], crs=study.crs)
    else:
        points = ordered.geometry.representative_point()
    kept: list[int] = []
    for i, point in enumerate(points):
        if len(kept) >= n_towns:
            break
        if all(point.distance(points.iloc[j]) >= MIN_TOWN_SPACING_M for j in kept):
            kept.append(i)
    if not kept:
        return None
    return gpd.GeoDataFrame(
        {c: ordered[c].iloc[kept].to_numpy() for c in ("code", "nom")},
        geometry=points.iloc[kept].to_numpy(),
        crs=study.crs,
    )


def add_basemap(m: folium.Map, basemap: Basemap | None, *, under: bool) -> None:
    """Add the basemap layers to a folium map.

    Call it twice: with ``under=True`` before the data (neighbouring communes), with
    ``under=False`` after it (main roads, outline, town names), so the data sits in between
    and the roads stay visible over the choropleth.

    Parameters
    ----------
    m : folium.Map
        The map.
    basemap : Basemap or None
        The layers (nothing is drawn for None).
    under : bool
        Which half to draw.
    """
    if basemap is None:
        return
    if under:
        _add_neighbours(m, basemap.neighbours)
        return
    _add_roads(m, basemap.roads)
    if basemap.outline is not None:
        JsonLayer(
            geojson_text(basemap.outline.geometry, SIMPLIFY_TOLERANCE_M),
            {"color": "#222222", "weight": 2.5, "fill": False},
            name="Limite départementale",
        ).add_to(m)
    _add_towns(m, basemap.towns)


def _add_neighbours(m: folium.Map, neighbours: gpd.GeoDataFrame | None) -> None:
    if neighbours is None:
        return
    JsonLayer(
        geojson_text(
            neighbours.geometry,
            NEIGHBOUR_TOLERANCE_M,
            coverage=True,
            decimals=NEIGHBOUR_DECIMALS,
        ),
        {"color": NEIGHBOUR_BORDER, "weight": 0.6, "fillColor": NEIGHBOUR_FILL, "fillOpacity": 1.0},
        name="Communes voisines (zone tampon)",
    ).add_to(m)


def _add_roads(m: folium.Map, roads: gpd.GeoDataFrame | None) -> None:
    if roads is None:
        return
    classes = roads["highway"].astype(str)
    group = folium.FeatureGroup(name="Routes principales")
    for cls in [c for c in MAIN_ROAD_CLASSES if c in set(classes)]:
        colour, width = ROAD_STYLES[cls]
        part = _road_class(roads, cls)
        JsonLayer(
            geojson_text(part.geometry, ROAD_TOLERANCE_M),
            {"color": colour, "weight": width, "opacity": 0.9},
            control=False,
        ).add_to(group)
    group.add_to(m)


def _road_class(roads: gpd.GeoDataFrame, cls: str) -> gpd.GeoDataFrame:
    """The roads of one class, the same frame for every map (serialised once)."""
    return WEB_CACHE.get(
        roads.geometry.values,
        ("road_class", cls),
        lambda: roads[roads["highway"].astype(str) == cls],
    )


def _add_towns(m: folium.Map, towns: gpd.GeoDataFrame | None) -> None:
    if towns is None or towns.empty:
        return
    map_page(m).header.add_child(folium.Element(f"<style>{TOWN_CSS}</style>"))
    group = folium.FeatureGroup(name="Villes principales")
    for name, point in zip(towns["nom"], towns.to_crs(4326).geometry, strict=True):
        folium.Marker(
            [round(point.y, 5), round(point.x, 5)],
            icon=folium.DivIcon(html=f'<div class="ga-town">{esc(name)}</div>', icon_size=(0, 0)),
            interactive=False,
        ).add_to(group)
    group.add_to(m)


def draw_basemap(ax: Any, basemap: Basemap | None, *, under: bool) -> None:
    """Draw the basemap on a matplotlib axes (same two halves as :func:`add_basemap`).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes in the basemap's projected CRS.
    basemap : Basemap or None
        The layers.
    under : bool
        Neighbours (True) or roads, outline and town names (False).
    """
    if basemap is None:
        return
    if under:
        if basemap.neighbours is not None:
            draw_polygons(
                ax,
                basemap.neighbours,
                color=NEIGHBOUR_FILL,
                edgecolor=NEIGHBOUR_BORDER,
                linewidth=0.3,
            )
        return
    if basemap.roads is not None:
        classes = basemap.roads["highway"]
        for cls in sorted(classes.unique()):  # the order of a groupby
            colour, width = ROAD_STYLES.get(str(cls), ("#888888", 1.0))
            draw_lines(ax, basemap.roads, color=colour, linewidth=width * 0.4, rows=classes == cls)
    if basemap.outline is not None:
        draw_lines(ax, basemap.outline.boundary, color="#222222", linewidth=1.2)
    if basemap.towns is not None:
        import matplotlib.patheffects as pe

        halo = [pe.withStroke(linewidth=2.5, foreground="white")]
        for name, point in zip(basemap.towns["nom"], basemap.towns.geometry, strict=True):
            ax.annotate(
                str(name),
                (point.x, point.y),
                ha="center",
                va="center",
                fontsize=7,
                fontweight="bold",
                path_effects=halo,
            )
