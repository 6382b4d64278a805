"""Layers of the interactive maps: isochrones and facilities.

Isochrones are one layer per threshold (ColorBrewer "Oranges", distinct from the
choropleth). Facilities are one clustered layer per pillar (« Équipements — Santé »): the
layer list shows under it each category with its marker colour (Okabe-Ito, distinct within a
pillar) and its number of facilities in the unit of the category, as the accessibility stage
counts them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from folium.plugins import FastMarkerCluster

from geoattract.errors import format_values
from geoattract.outputs import html as _html
from geoattract.outputs.classes import CATEGORY_COLOURS
from geoattract.outputs.geometry import (
    COORD_DECIMALS,
    SIMPLIFY_TOLERANCE_M,
    check_crs_columns,
    geojson,
    to_web,
)
from geoattract.outputs.html import esc, fr_number
from geoattract.outputs.labels import Labels

logger = logging.getLogger(__name__)

#: Isochrone colours by threshold (ColorBrewer "Oranges", distinct from the choropleth).
ISOCHRONE_COLOURS: dict[int, str] = {10: "#d94801", 20: "#fd8d3c", 30: "#fdd0a2"}

#: Colour for thresholds not in :data:`ISOCHRONE_COLOURS`.
ISOCHRONE_DEFAULT_COLOUR: str = "#fdae6b"

#: Fill opacity of isochrone polygons.
ISOCHRONE_FILL_OPACITY: float = 0.25

#: Radius of facility markers, in pixels.
FACILITY_MARKER_RADIUS: int = 5


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


def add_isochrones(
    m: folium.Map,
    isochrones: gpd.GeoDataFrame,
    communes: pd.DataFrame,
    codes: Sequence[str],
    show: bool,
) -> list[str]:
    """Add one layer per isochrone threshold of ``codes`` (largest first); return their names.

    Parameters
    ----------
    m : folium.Map
        The map.
    isochrones : GeoDataFrame
        ``code``, ``minutes``, geometry (``area_km2``, ``population_reached`` optional).
    communes : DataFrame
        ``code`` and ``nom`` (tooltips).
    codes : sequence of str
        Communes whose isochrones are drawn.
    show : bool
        Whether the layers are on when the map opens.

    Returns
    -------
    list of str
    """
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
        {radius: %(radius)d, color: "#333333", weight: 1, fillColor: row[3],
         fillOpacity: 0.9});
    marker.bindTooltip(row[2]);
    return marker;
}
"""

#: Name of the pillar of the categories that have none.
OTHER_PILLAR: str = "Autres équipements"


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


@dataclass(frozen=True)
class FacilityLayer:
    """One category's clustered facility layer, ready to add to any number of maps.

    Attributes
    ----------
    name : str
        Layer name, e.g. ``Médecin généraliste (206 équipements)`` (escaped when added).
    rows : list
        ``[lat, lon, popup HTML, colour]`` per facility (names escaped).
    colour : str
        Marker colour.
    pillar : str
        Label of the category's pillar (:data:`OTHER_PILLAR` without one): the layers of a
        pillar are grouped in one overlay.
    """

    name: str
    rows: list[list[Any]]
    colour: str
    pillar: str = OTHER_PILLAR


def facility_layers(facilities: gpd.GeoDataFrame, labels: Labels) -> list[FacilityLayer]:
    """Prepare one clustered layer per facility category (once for every map of a run).

    Parameters
    ----------
    facilities : GeoDataFrame
        ``category``, ``name``, ``capacity``, point geometry.
    labels : Labels
        Category labels and capacity units.

    Returns
    -------
    list of FacilityLayer
        In the order of the catalogue (then of the other category ids); colours distinct
        within a pillar.
    """
    check_crs_columns(facilities, ["category", "geometry"], "facilities")
    pts = facilities[facilities.geometry.notna() & ~facilities.geometry.is_empty]
    pts = pts[pts.geom_type == "Point"].to_crs(4326)
    layers = []
    in_pillar: dict[str, int] = {}
    present = set(pts["category"].astype(str))
    order = [c for c in labels.categories if c in present] + sorted(
        present - set(labels.categories)
    )
    for category in order:
        part = pts[pts["category"].astype(str) == category]
        label = labels.category(category)
        cat = labels.categories.get(category)
        pillar = labels.pillar(cat.pillar) if cat is not None and cat.pillar else OTHER_PILLAR
        i = in_pillar[pillar] = in_pillar.get(pillar, -1) + 1
        colour = CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)]
        capacity_unit = cat.capacity if cat is not None else "count"
        unit = labels.category_unit(category)
        names = part["name"] if "name" in part else pd.Series(np.nan, index=part.index)
        caps = part["capacity"] if "capacity" in part else pd.Series(np.nan, index=part.index)
        rows = []
        for geom, name, cap in zip(part.geometry, names, caps, strict=True):
            text = f"<b>{esc(name)}</b><br>{esc(label)}"
            if not _html.is_missing(cap):
                text += f"<br>{esc(fr_number(cap))} {esc(unit)}"
            rows.append(
                [round(geom.y, COORD_DECIMALS), round(geom.x, COORD_DECIMALS), text, colour]
            )
        total, missing = facility_total(caps, capacity_unit)
        name = facility_layer_name(
            label, len(rows), total, unit, missing, counted=capacity_unit == "count"
        )
        layers.append(FacilityLayer(name, rows, colour, pillar))
    return layers


def pillar_layer_name(pillar: str, layers: Sequence[FacilityLayer]) -> str:
    """HTML name of a pillar's overlay: the pillar, then each category with its colour.

    Every text is escaped here (Leaflet's layer list inserts the name as HTML).
    """
    items = "".join(
        f'<span class="ga-cat"><i style="background:{layer.colour}"></i>{esc(layer.name)}</span>'
        for layer in layers
    )
    return f'<span class="ga-group">Équipements — {esc(pillar)}</span>{items}'


def add_facilities(
    m: folium.Map,
    facilities: gpd.GeoDataFrame | Sequence[FacilityLayer],
    labels: Labels,
    show: bool,
) -> list[str]:
    """Add one clustered layer per pillar of the facility categories; return the category names.

    Parameters
    ----------
    m : folium.Map
        The map.
    facilities : GeoDataFrame or sequence of FacilityLayer
        ``category``, ``name``, ``capacity``, point geometry; or the layers
        :func:`facility_layers` prepared from them (a run drawing many maps prepares them once).
    labels : Labels
        Category labels, capacity units and pillars.
    show : bool
        Whether the layers are on when the map opens.

    Returns
    -------
    list of str
        Category names such as ``Médecin généraliste (206 équipements)``, in the order of the
        layer list.
    """
    layers = (
        facility_layers(facilities, labels)
        if isinstance(facilities, gpd.GeoDataFrame)
        else list(facilities)
    )
    by_pillar: dict[str, list[FacilityLayer]] = {}
    for layer in layers:
        by_pillar.setdefault(layer.pillar, []).append(layer)
    names = []
    for pillar, group_layers in by_pillar.items():
        group = folium.FeatureGroup(name=pillar_layer_name(pillar, group_layers), show=show)
        FastMarkerCluster(
            [row for layer in group_layers for row in layer.rows],
            control=False,
            callback=_FACILITY_CALLBACK % {"radius": FACILITY_MARKER_RADIUS},
        ).add_to(group)
        group.add_to(m)
        names += [layer.name for layer in group_layers]
    return names
