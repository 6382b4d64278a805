"""QGIS-ready GeoPackages: French field aliases and a default style for every layer.

Opened as written by GDAL, a GeoPackage shows its snake_case field names and a random colour.
:func:`make_qgis_ready` adds, to a GeoPackage whose layers are written (inside
:func:`~geoattract._util.io.write_gpkg_atomic`, before the file is renamed into place):

* the GeoPackage **schema extension**: table ``gpkg_data_columns`` (registered in
  ``gpkg_extensions`` as ``gpkg_schema``) gives every field of every table its French label
  (``name``), its label with its unit (``title``) and its definition, unit and source
  (``description``), from the column dictionary
  (:func:`~geoattract.outputs.columns.columns_table`, labels of the study configuration used).
  GDAL ≥ 3.7 reads them as the fields' alternative names and comments, which QGIS shows as
  aliases and tooltips;
* a **default style** per table in ``layer_styles``, the table QGIS writes its own styles to
  and reads when it opens a layer: the communes coloured by the score of the first profile
  in the classes and palette of the printed maps (darker = better) with the town names,
  the facilities by category (colours of the interactive maps), the isochrones by threshold,
  the territory by study and buffer zone, the town halls as points. Each style also carries
  the aliases (``<aliases>``): QGIS built on GDAL < 3.7 (QGIS 3.22 of Debian 12) ignores
  ``gpkg_data_columns`` but applies the style.

The styles are QGIS style documents (QML) of the 3.22 format, which later versions read.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sqlite3
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from geoattract.outputs.basemap import NEIGHBOUR_BORDER, NEIGHBOUR_FILL, main_towns
from geoattract.outputs.classes import (
    CATEGORY_COLOURS,
    DEFAULT_K,
    DEFAULT_SCHEME,
    MISSING_COLOUR,
    PALETTE,
    classify,
    palette_colours,
)
from geoattract.outputs.columns import columns_table
from geoattract.outputs.labels import Labels, detect_profiles
from geoattract.outputs.layers import (
    ISOCHRONE_COLOURS,
    ISOCHRONE_DEFAULT_COLOUR,
    ISOCHRONE_FILL_OPACITY,
)

logger = logging.getLogger(__name__)

#: QGIS version written in the styles (the oldest one they are checked with).
QML_VERSION = "3.22.0"

#: Name of the default styles in ``layer_styles`` (a user's own styles keep theirs).
STYLE_NAME = "geoattract"

#: ``gpkg_extensions`` definition of the schema extension (as GDAL registers it).
SCHEMA_EXTENSION = "http://www.geopackage.org/spec121/#extension_schema"

#: Scale denominator below which (zoomed in) every commune is named; the main towns of the
#: printed maps (:func:`~geoattract.outputs.basemap.main_towns`) are named at every scale.
ALL_NAMES_SCALE = 150_000

#: Outline of the commune polygons (the printed maps' edge colour), millimetres.
OUTLINE_COLOUR = "#555555"
OUTLINE_WIDTH_MM = 0.15

#: Mapping of the classification schemes of :mod:`~geoattract.outputs.classes` to QGIS's
#: classification methods (re-classifying in QGIS keeps the method).
QGIS_METHODS: dict[str, str] = {
    "quantiles": "Quantile",
    "equalinterval": "EqualInterval",
    "fisherjenks": "Jenks",
    "naturalbreaks": "Jenks",
}

#: Marker shapes of the facility categories: the colours of the interactive maps repeat
#: after eight categories, the shape changes with each round.
MARKER_SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "diamond", "pentagon")

#: QGIS geometry types (``QgsWkbTypes::GeometryType``) of the GeoPackage geometry type names.
GEOMETRY_TYPES: dict[str, int] = {
    "POINT": 0,
    "MULTIPOINT": 0,
    "LINESTRING": 1,
    "MULTILINESTRING": 1,
    "POLYGON": 2,
    "MULTIPOLYGON": 2,
}

_DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"

_DDL = (
    """CREATE TABLE IF NOT EXISTS gpkg_extensions (
    table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL,
    definition TEXT NOT NULL, scope TEXT NOT NULL,
    CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))""",
    """CREATE TABLE IF NOT EXISTS gpkg_data_columns (
    table_name TEXT NOT NULL, column_name TEXT NOT NULL, name TEXT, title TEXT,
    description TEXT, mime_type TEXT, constraint_name TEXT,
    CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name),
    CONSTRAINT gdc_tn UNIQUE (table_name, name))""",
    """CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (
    constraint_name TEXT NOT NULL, constraint_type TEXT NOT NULL, value TEXT,
    min NUMERIC, min_is_inclusive BOOLEAN, max NUMERIC, max_is_inclusive BOOLEAN,
    description TEXT,
    CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value))""",
    # the table QGIS creates in a GeoPackage (same columns and types)
    """CREATE TABLE IF NOT EXISTS "layer_styles" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "f_table_catalog" TEXT(256),
    "f_table_schema" TEXT(256), "f_table_name" TEXT(256), "f_geometry_column" TEXT(256),
    "styleName" TEXT(30), "styleQML" TEXT, "styleSLD" TEXT, "useAsDefault" BOOLEAN,
    "description" TEXT, "owner" TEXT(30), "ui" TEXT(30),
    "update_time" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))""",
)


@dataclass(frozen=True)
class _Table:
    """A table of the GeoPackage: its fields in order and its geometry column."""

    name: str
    fields: list[str]
    geometry: str = ""
    geometry_type: str = ""


def make_qgis_ready(
    path: str | Path,
    layers: Mapping[str, pd.DataFrame],
    labels: Labels,
    *,
    caption: Any = None,
    extra: Mapping[str, tuple[str, str, str, str]] | None = None,
    scheme: str = DEFAULT_SCHEME,
    k: int = DEFAULT_K,
    isochrone_codes: Sequence[str] = (),
) -> dict[str, int]:
    """Add French field aliases and a default QGIS style to every table of a GeoPackage.

    Call it on the file just written (for example as ``finish`` of
    :func:`~geoattract._util.io.write_gpkg_atomic`, so the tables are in the file before it is
    renamed into place). Everything is written in one SQLite transaction: on error the file is
    left as it was. Calling it again replaces what it wrote.

    Parameters
    ----------
    path : path-like
        The GeoPackage.
    layers : mapping
        Layer name → the frame written (the style reads its values: score classes, facility
        categories, isochrone thresholds). A table of the file not given here (``metadata``)
        gets its aliases only.
    labels : Labels
        Labels of the study configuration (the aliases come from them through
        :func:`~geoattract.outputs.columns.columns_table`).
    caption : object, optional
        Network caption, the source of the travel-time fields.
    extra : mapping, optional
        Column → (label, unit, definition, source) of the columns the stages describe
        themselves (as for :func:`~geoattract.outputs.columns.columns_table`).
    scheme, k : str, int
        Classification of the communes' score (the printed maps' default).
    isochrone_codes : sequence of str
        Communes whose isochrones are drawn by default (those of the maps); the others are
        listed in the legend, unticked. Empty: every commune's isochrones are drawn.

    Returns
    -------
    dict
        Table → number of fields described (and aliased in its style).
    """
    start = time.perf_counter()
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        tables = _tables(con)
        rows: list[tuple[str, str, str, str, str]] = []
        styles: list[tuple[str, str, str, str]] = []
        for table in tables:
            aliases = _dictionary(table, labels, caption, extra)
            rows += [(table.name, col, *desc) for col, desc in aliases.items()]
            frame = layers.get(table.name)
            qml, description = layer_style(
                frame,
                {c: a[0] for c, a in aliases.items() if c in table.fields},
                labels,
                geometry_type=table.geometry_type,
                scheme=scheme,
                k=k,
                isochrone_codes=isochrone_codes,
            )
            styles.append((table.name, table.geometry, qml, description))
        _write(con, rows, styles)
    counts = {t.name: len(t.fields) for t in tables}
    logger.debug(
        "%s: %d fields aliased in %d tables, %d default styles (%.2f s)",
        Path(path).name,
        sum(counts.values()),
        len(counts),
        len(styles),
        time.perf_counter() - start,
    )
    return counts


def _tables(con: sqlite3.Connection) -> list[_Table]:
    """Feature and attribute tables of the GeoPackage, with their fields in QGIS order."""
    found = con.execute(
        "SELECT c.table_name, g.column_name, g.geometry_type_name FROM gpkg_contents c "
        "LEFT JOIN gpkg_geometry_columns g ON g.table_name = c.table_name "
        "WHERE c.data_type IN ('features', 'attributes') AND c.table_name != 'layer_styles' "
        "ORDER BY c.rowid"
    ).fetchall()
    out = []
    for name, geometry, geometry_type in found:
        info = con.execute(f'PRAGMA table_info("{name}")').fetchall()
        fields = [r[1] for r in info if r[1] != geometry]
        out.append(_Table(name, fields, geometry or "", str(geometry_type or "").upper()))
    return out


def _dictionary(
    table: _Table,
    labels: Labels,
    caption: Any,
    extra: Mapping[str, tuple[str, str, str, str]] | None,
) -> dict[str, tuple[str, str, str]]:
    """Column → (name, title, description) of a table, from :func:`columns_table`."""
    columns = [*table.fields, *([table.geometry] if table.geometry else [])]
    named = ["geometry" if c == table.geometry else c for c in columns]
    described = columns_table(named, labels, caption=caption, extra=extra, layer=table.name)
    out: dict[str, tuple[str, str, str]] = {}
    seen: set[str] = set()
    for column, row in zip(columns, described.to_dict("records"), strict=True):
        label = str(row["label_fr"]) or column
        if label in seen:  # gpkg_data_columns wants one name per column of a table
            logger.debug("%s: label %r of %r already used; name added", table.name, label, column)
            label = f"{label} ({column})"
        seen.add(label)
        unit, source = str(row["unit"]), str(row["source"])
        title = f"{label} ({unit})" if unit else label
        parts = [str(row["definition"]).strip()]
        parts += [f"Unité : {unit}." if unit else "", f"Source : {source}." if source else ""]
        out[column] = (label, title, " ".join(p for p in parts if p))
    return out


def _write(
    con: sqlite3.Connection,
    rows: Sequence[tuple[str, str, str, str, str]],
    styles: Sequence[tuple[str, str, str, str]],
) -> None:
    for ddl in _DDL:
        con.execute(ddl)
    for table in ("gpkg_data_columns", "gpkg_data_column_constraints"):
        known = con.execute(
            "SELECT 1 FROM gpkg_extensions WHERE table_name = ? AND extension_name = 'gpkg_schema'",
            (table,),
        ).fetchone()
        if not known:
            con.execute(
                "INSERT INTO gpkg_extensions VALUES (?, NULL, 'gpkg_schema', ?, 'read-write')",
                (table, SCHEMA_EXTENSION),
            )
    con.executemany(
        "INSERT OR REPLACE INTO gpkg_data_columns "
        "(table_name, column_name, name, title, description, mime_type, constraint_name) "
        "VALUES (?, ?, ?, ?, ?, NULL, NULL)",
        rows,
    )
    con.execute(
        "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, "
        "last_change) VALUES ('layer_styles', 'attributes', 'layer_styles', '', "
        "strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
    )
    con.execute("DELETE FROM layer_styles WHERE styleName = ?", (STYLE_NAME,))
    for name, geometry, qml, description in styles:
        con.execute("UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = ?", (name,))
        con.execute(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
            "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
            "owner, ui) VALUES ('', '', ?, ?, ?, ?, '', 1, ?, 'geoattract', NULL)",
            (name, geometry, STYLE_NAME, qml, description),
        )


# ---------------------------------------------------------------------------------- styles


def layer_style(
    frame: pd.DataFrame | None,
    aliases: Mapping[str, str],
    labels: Labels,
    *,
    geometry_type: str = "",
    scheme: str = DEFAULT_SCHEME,
    k: int = DEFAULT_K,
    isochrone_codes: Sequence[str] = (),
) -> tuple[str, str]:
    """The default QGIS style (QML) of one layer, and its description in French.

    The renderer follows the layer's content: a ``score_<profile>`` column (the first
    profile's score in classes, with the town names), ``minutes`` (isochrones), ``category``
    on points (facilities), ``in_study`` on polygons (study and buffer zone), other points,
    other geometries; a table without geometry gets its aliases only.

    Parameters
    ----------
    frame : DataFrame or None
        The layer's data (None: aliases only).
    aliases : mapping
        Field → French alias, in field order (the ``fid`` first, as QGIS numbers them).
    labels : Labels
        Category labels of the facilities.
    geometry_type : str
        GeoPackage geometry type name (``MULTIPOLYGON``, ``POINT``…); empty for a table.
    scheme, k : str, int
        Classification of the score.
    isochrone_codes : sequence of str
        Communes whose isochrones are drawn (the others unticked in the legend).

    Returns
    -------
    tuple of str
        The QML document and the style's description.
    """
    kind = GEOMETRY_TYPES.get(geometry_type.upper(), -1) if geometry_type else -1
    root = ET.Element(
        "qgis",
        version=QML_VERSION,
        styleCategories="AllStyleCategories",
        labelsEnabled="0",
        hasScaleBasedVisibilityFlag="0",
    )
    description = "Alias français des champs"
    if frame is not None and kind >= 0:
        description = _symbology(root, frame, labels, kind, (scheme, k), isochrone_codes)
    aliases_el = ET.SubElement(root, "aliases")
    for i, (field, alias) in enumerate(aliases.items()):
        ET.SubElement(aliases_el, "alias", field=field, index=str(i), name=alias)
    for field in ("nom", "name"):
        if field in aliases:
            ET.SubElement(root, "previewExpression").text = _field(field)
            break
    if kind >= 0:
        ET.SubElement(root, "layerGeometryType").text = str(kind)
    ET.indent(root, space=" ")
    return _DOCTYPE + ET.tostring(root, encoding="unicode") + "\n", description


def _symbology(
    root: ET.Element,
    frame: pd.DataFrame,
    labels: Labels,
    kind: int,
    classes: tuple[str, int],
    isochrone_codes: Sequence[str],
) -> str:
    """Add the renderer (and labels) of a layer to ``root``; return the style's description."""
    profiles = detect_profiles(frame)
    if kind == 2 and profiles:
        column = f"score_{profiles[0]}"
        root.append(_score_renderer(frame, column, *classes))
        towns = _town_labels(frame)
        if towns is not None:
            root.append(towns)
            root.set("labelsEnabled", "1")
        what = labels.column(column)
        return f"{what} : classes et palette {PALETTE} des cartes imprimées (plus foncé = meilleur)"
    if "minutes" in frame.columns:
        root.append(_isochrone_renderer(frame, kind, isochrone_codes))
        shown = "des communes des cartes" if isochrone_codes else "de chaque commune"
        return f"Isochrones {shown} par seuil de temps (palette Oranges des cartes)"
    if kind == 0 and "category" in frame.columns:
        root.append(_category_renderer(frame, labels))
        return "Équipements par catégorie (couleurs des cartes interactives)"
    if kind == 2 and "in_study" in frame.columns:
        root.append(_territory_renderer())
        return "Zone d'étude et zone tampon"
    if kind == 0:
        root.append(_single(_marker("#333333", 1.6)))
        return "Points"
    root.append(_single(_fill("#cccccc", OUTLINE_COLOUR) if kind == 2 else _line("#555555")))
    return "Symbole unique"


def _score_renderer(frame: pd.DataFrame, column: str, scheme: str, k: int) -> ET.Element:
    """Graduated renderer: the printed maps' classes, colours and French class labels.

    Communes without a value are drawn grey in a first class « Donnée manquante (n) », as on
    the printed maps (the renderer classifies ``coalesce(score, sentinel)``, the sentinel below
    every score).
    """
    values = pd.to_numeric(frame[column], errors="coerce")
    breaks = classify(values, scheme, k)
    n_missing = int(values.isna().sum())
    ranges: list[tuple[float, float, str, str]] = []
    attr = _field(column)
    if n_missing:
        sentinel = float(math.floor(breaks.lower) - 1)
        attr = f"coalesce({attr}, {sentinel:g})"
        ranges.append((sentinel, sentinel, MISSING_COLOUR, f"Donnée manquante ({n_missing})"))
    lows = [breaks.lower, *breaks.bins[:-1]]
    for lo, hi, colour, label in zip(
        lows, breaks.bins, breaks.colours, breaks.labels(), strict=True
    ):
        ranges.append((float(lo), float(hi), colour, label))
    el = ET.Element(
        "renderer-v2",
        type="graduatedSymbol",
        attr=attr,
        graduatedMethod="GraduatedColor",
        symbollevels="0",
        forceraster="0",
        enableorderby="0",
    )
    ranges_el = ET.SubElement(el, "ranges")
    symbols = ET.SubElement(el, "symbols")
    for i, (lo, hi, colour, label) in enumerate(ranges):
        ET.SubElement(
            ranges_el,
            "range",
            lower=repr(lo),
            upper=repr(hi),
            symbol=str(i),
            label=label,
            render="true",
        )
        symbols.append(_fill(colour, OUTLINE_COLOUR, name=str(i)))
    source = _fill(palette_colours(1)[0], OUTLINE_COLOUR, name="0")
    ET.SubElement(el, "source-symbol").append(source)
    el.append(_colour_ramp())
    method = QGIS_METHODS.get(scheme)
    if method:
        cm = ET.SubElement(el, "classificationMethod", id=method)
        ET.SubElement(cm, "symmetricMode", enabled="0", symmetrypoint="0", astride="0")
        ET.SubElement(cm, "labelFormat", format="%1 – %2", labelprecision="1", trimtrailingzero="0")
    return el


def _colour_ramp(steps: int = 9) -> ET.Element:
    """The palette of the printed maps as a QGIS gradient (used when re-classifying)."""
    colours = [_rgba(c) for c in palette_colours(steps)]
    stops = ":".join(f"{i / (steps - 1):.4g};{c}" for i, c in enumerate(colours[1:-1], 1))
    el = ET.Element("colorramp", type="gradient", name="[source]")
    _options(
        el,
        {
            "color1": colours[0],
            "color2": colours[-1],
            "discrete": "0",
            "rampType": "gradient",
            "stops": stops,
        },
    )
    return el


def _town_labels(frame: pd.DataFrame) -> ET.Element | None:
    """Rule-based labels: the printed maps' main towns always, every commune zoomed in."""
    if not {"code", "nom", "population"} <= set(frame.columns):
        return None
    towns = main_towns(frame) if len(frame) else None
    el = ET.Element("labeling", type="rule-based")
    rules = ET.SubElement(el, "rules")
    if towns is not None:
        codes = ", ".join(_literal(c) for c in towns["code"].astype(str))
        main = ET.SubElement(
            rules, "rule", description="Villes principales", filter=f'"code" IN ({codes})'
        )
        main.append(_label_settings(size=9.5, bold=True, priority=10))
    other = ET.SubElement(
        rules,
        "rule",
        description=f"Autres communes (plus près que 1:{ALL_NAMES_SCALE:,})".replace(",", " "),
        filter="ELSE",
        scalemaxdenom=str(ALL_NAMES_SCALE),
        scalemindenom="0",
    )
    other.append(_label_settings(size=7.5, bold=False, priority=5))
    return el


def _label_settings(*, size: float, bold: bool, priority: int) -> ET.Element:
    """Label settings: the commune name over its polygon, in a white halo."""
    settings = ET.Element("settings", calloutType="simple")
    style = ET.SubElement(
        settings,
        "text-style",
        fieldName="nom",
        isExpression="0",
        fontSize=f"{size:g}",
        fontSizeUnit="Point",
        fontWeight="75" if bold else "50",
        textColor="34,34,34,255",
        textOpacity="1",
    )
    ET.SubElement(
        style,
        "text-buffer",
        bufferDraw="1",
        bufferSize="0.8",
        bufferSizeUnits="MM",
        bufferColor="255,255,255,255",
        bufferOpacity="0.85",
    )
    ET.SubElement(settings, "text-format", multilineAlign="3", autoWrapLength="0")
    ET.SubElement(
        settings,
        "placement",
        placement="1",  # over the point: the polygon's centroid
        centroidInside="1",
        centroidWhole="0",
        fitInPolygonOnly="0",
        priority=str(priority),
        dist="0",
    )
    ET.SubElement(
        settings,
        "rendering",
        obstacle="1",
        obstacleFactor="1",
        displayAll="0",
        upsidedownLabels="0",
        labelPerPart="0",
        drawLabels="1",
        scaleVisibility="0",
    )
    return settings


def _isochrone_renderer(frame: pd.DataFrame, kind: int, codes: Sequence[str]) -> ET.Element:
    """One rule per threshold, the largest drawn first (the smaller ones stay visible).

    With ``codes``, the rules draw those communes' isochrones; the other communes' rules are
    listed after them, unticked (a user ticks them in the legend).
    """
    el = ET.Element(
        "renderer-v2", type="RuleRenderer", symbollevels="0", forceraster="0", enableorderby="1"
    )
    rules = ET.SubElement(el, "rules")
    symbols = ET.SubElement(el, "symbols")
    minutes = sorted(pd.to_numeric(frame["minutes"], errors="coerce").dropna().unique())
    chosen = f'"code" IN ({", ".join(_literal(str(c)) for c in codes)})' if codes else ""
    groups = [("", "1")] if not codes else [(chosen, "1"), (f"NOT {chosen}", "0")]
    for where, active in groups:
        for m in minutes:
            i = len(symbols)
            colour = ISOCHRONE_COLOURS.get(int(m), ISOCHRONE_DEFAULT_COLOUR)
            label = f"{m:g} min".replace(".", ",")
            if where:
                label += " — communes des cartes" if active == "1" else " — autres communes"
            test = f"{_field('minutes')} = {m:g}" + (f" AND {where}" if where else "")
            rule = ET.SubElement(rules, "rule", filter=test, symbol=str(i), label=label)
            if active == "0":
                rule.set("checkstate", "0")
            if kind == 2:
                fill = _fill(colour, colour, name=str(i), alpha=ISOCHRONE_FILL_OPACITY, width=0.4)
                symbols.append(fill)
            else:
                symbols.append(_line(colour, name=str(i)))
    order = ET.SubElement(el, "orderby")
    ET.SubElement(order, "orderByClause", asc="0", nullsFirst="0").text = _field("minutes")
    return el


def _category_renderer(frame: pd.DataFrame, labels: Labels) -> ET.Element:
    """Categories of facilities, in the interactive maps' colours and order (shapes vary)."""
    el = ET.Element(
        "renderer-v2",
        type="categorizedSymbol",
        attr="category",
        symbollevels="0",
        forceraster="0",
        enableorderby="0",
    )
    categories = ET.SubElement(el, "categories")
    symbols = ET.SubElement(el, "symbols")
    for i, category in enumerate(sorted(frame["category"].dropna().astype(str).unique())):
        colour = CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)]
        shape = MARKER_SHAPES[(i // len(CATEGORY_COLOURS)) % len(MARKER_SHAPES)]
        ET.SubElement(
            categories,
            "category",
            value=category,
            symbol=str(i),
            label=labels.category(category),
            render="true",
        )
        symbols.append(_marker(colour, 2.2, name=str(i), shape=shape))
    return el


def _territory_renderer() -> ET.Element:
    """The study communes over white, the buffer communes in the basemap's grey."""
    el = ET.Element("renderer-v2", type="RuleRenderer", symbollevels="0", forceraster="0")
    rules = ET.SubElement(el, "rules")
    ET.SubElement(rules, "rule", filter='"in_study"', symbol="0", label="Zone d'étude")
    ET.SubElement(rules, "rule", filter="ELSE", symbol="1", label="Zone tampon")
    symbols = ET.SubElement(el, "symbols")
    symbols.append(_fill("#ffffff", OUTLINE_COLOUR, name="0"))
    symbols.append(_fill(NEIGHBOUR_FILL, NEIGHBOUR_BORDER, name="1"))
    return el


def _single(symbol: ET.Element) -> ET.Element:
    el = ET.Element("renderer-v2", type="singleSymbol", symbollevels="0", forceraster="0")
    symbol.set("name", "0")
    ET.SubElement(el, "symbols").append(symbol)
    return el


# ---------------------------------------------------------------------------------- symbols


def _fill(
    colour: str,
    outline: str,
    *,
    name: str = "0",
    alpha: float = 1.0,
    width: float = OUTLINE_WIDTH_MM,
) -> ET.Element:
    """A fill symbol: ``colour`` at ``alpha``, outline ``outline`` of ``width`` mm."""
    return _symbol(
        "fill",
        "SimpleFill",
        {
            "color": _rgba(colour, alpha),
            "style": "solid",
            "outline_color": _rgba(outline),
            "outline_style": "solid",
            "outline_width": f"{width:g}",
            "outline_width_unit": "MM",
            "joinstyle": "bevel",
        },
        name,
    )


def _marker(colour: str, size_mm: float, *, name: str = "0", shape: str = "circle") -> ET.Element:
    """A marker of ``size_mm`` (``circle``, ``square``…) with a white outline."""
    return _symbol(
        "marker",
        "SimpleMarker",
        {
            "name": shape,
            "color": _rgba(colour),
            "outline_color": "255,255,255,255",
            "outline_style": "solid",
            "outline_width": "0.3",
            "outline_width_unit": "MM",
            "size": f"{size_mm:g}",
            "size_unit": "MM",
            "scale_method": "diameter",
        },
        name,
    )


def _line(colour: str, *, name: str = "0") -> ET.Element:
    return _symbol(
        "line",
        "SimpleLine",
        {"line_color": _rgba(colour), "line_width": "0.4", "line_width_unit": "MM"},
        name,
    )


def _symbol(kind: str, layer_class: str, props: Mapping[str, str], name: str) -> ET.Element:
    symbol = ET.Element("symbol", type=kind, name=name, alpha="1", clip_to_extent="1")
    layer = ET.SubElement(symbol, "layer", {"class": layer_class}, enabled="1", locked="0")
    layer.set("pass", "0")
    _options(layer, props)
    for key, value in props.items():  # QGIS 3.22 writes both forms; older readers want <prop>
        ET.SubElement(layer, "prop", k=key, v=value)
    return symbol


def _options(parent: ET.Element, props: Mapping[str, str]) -> None:
    """``<Option type="Map">`` of string options (the QGIS ≥ 3.16 form of properties)."""
    options = ET.SubElement(parent, "Option", type="Map")
    for key, value in props.items():
        ET.SubElement(options, "Option", name=key, type="QString", value=value)


def _rgba(colour: str, alpha: float = 1.0) -> str:
    """``#rrggbb`` → ``r,g,b,a`` (0–255), the QGIS colour notation."""
    h = colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(alpha * 255)}"


def _field(name: str) -> str:
    """A field in a QGIS expression (double quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    """A string literal in a QGIS expression (single quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"
