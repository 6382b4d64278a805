"""Road graphs from line layers: one LineString per road piece between two junctions.

Classified-road layers (Travel Mapping, IGN ROUTE 500, IGN BD TOPO ``troncon_de_route``)
describe a network as lines whose end points meet at junctions. :func:`graph_from_lines`
turns such a layer into the package's graph model; :func:`line_network` does the same work
in arrays (a :class:`LineNetwork`) for callers that route directly on arrays (national
origin–destination matrices, the calibration), without the cost of a networkx graph.

Rules, all vectorised (numpy / shapely), no Python loop over features:

* **nodes** are the distinct end points (exact coordinates). With ``snap_tolerance_m > 0``,
  end points closer than the tolerance are merged (single linkage) into one node at their
  mean position, and the line ends are moved onto it; the number of end points merged is
  logged and stored in the graph attribute ``snap_merged``;
* **edges**: two directed edges per piece (the reverse one with the reversed geometry)
  unless the preset's direction column says forward only or reverse only; ``length`` is the
  geometry length (m, EPSG:2154) times the class detour factor (1 unless calibrated);
* **town halls** (``split_points``) join the lines where they meet them: the nearest
  snappable line of each is split at its orthogonal projection
  (:func:`geoattract.network.split.split_at_points`);
* **times**: ``travel_time = length / (speed_kph / 3.6)`` plus the calibrated edge rule
  (:func:`geoattract.network.line_model.edge_delays`): the winding pace times the edge's
  winding metres, the junction delay of the edge's class when its head node is a junction
  (:func:`geoattract.network.line_model.junction_nodes`), and the urban pace times its
  metres inside built-up areas (discs around the town halls of ``settlements``, by default
  every commune of ``france/communes_2025.gpkg``, read only when the calibration has an
  urban pace);
* **speeds**: the piece's speed column when the preset has one and the value is > 0,
  otherwise the calibrated route speed of its class when its road (all lines of the layer
  bearing its number) is long enough, otherwise the class speed (preset table, then the
  calibration, then the ``speeds`` argument);
* **snappable nodes**: a node is ``snappable`` when at least one incident edge belongs to a
  class a point may join (not ``motorway`` nor ``motorway_link``);
* the **largest strongly connected component** is kept, computed on the arrays with
  :func:`scipy.sparse.csgraph.connected_components` (the same tie rule and graph attributes as
  :func:`geoattract.network.largest_scc`, which would cost seconds on 350,000 edges), and every
  **island** holding a town hall (``split_points``): a component at least
  :data:`~geoattract.network.line_build.ISLAND_MIN_GAP_M` from the largest one (Corsica,
  Belle-Île…; :func:`~geoattract.network.line_build.kept_components`). Trips between islands
  are unreachable.

Builds from files are cached on disk (arrays, see :mod:`geoattract.network.cache`), keyed by
the file identity and every parameter.
"""

from __future__ import annotations

import json
import logging
import os
import time
import tomllib
from collections.abc import Mapping
from dataclasses import fields, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from geoattract import settings
from geoattract._util.io import require_file
from geoattract.errors import DataError, format_values
from geoattract.network import cache as _cache
from geoattract.network.edge_rule import (
    built_up_areas,
    edge_delays_of,
    in_default_crs,
    route_metres,
)
from geoattract.network.line_build import (
    PointSplit,
    build_arrays,
    column_map,
)
from geoattract.network.line_model import (
    BUILT_UP_DENSITY_KEY,
    LineNetwork,
)
from geoattract.network.presets import (
    BOTH,
    FORWARD,
    REVERSE,
    ClassRule,
    LinePreset,
    detect_preset,
    get_preset,
)
from geoattract.network.snapping import LINES_SNAP_MAX_DISTANCE_M
from geoattract.network.split import points_digest
from geoattract.network.validate import check_crs, pick_layer, repair_lines

logger = logging.getLogger(__name__)

#: Graph attribute ``kind`` of graphs built from line layers.
LINES_KIND: str = "lines"

#: Bump when the array layout or a building rule changes: older cache entries become stale.
LINES_FORMAT_VERSION: int = 4

#: Value of ``calibration`` meaning "the calibration file of the preset, if it has one".
DEFAULT_CALIBRATION: str = "default"

#: Package folder of the shipped calibration files.
CALIBRATION_PACKAGE: str = "geoattract.network"
CALIBRATION_FOLDER: str = "data"

#: Direction values accepted in a direction column given through ``columns={"oneway": …}``
#: (OSM ``oneway`` values and their English words), besides the preset's own values.
GENERIC_ONEWAY_VALUES: Mapping[str, str] = {
    "yes": FORWARD,
    "true": FORWARD,
    "1": FORWARD,
    "forward": FORWARD,
    "-1": REVERSE,
    "reverse": REVERSE,
    "backward": REVERSE,
    "no": BOTH,
    "false": BOTH,
    "0": BOTH,
    "both": BOTH,
}

#: Keys of the ``columns`` argument of :func:`graph_from_lines`.
COLUMN_ROLES: tuple[str, ...] = ("class", "oneway", "speed", "name")


# --------------------------------------------------------------------------------------
# Array form
# --------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------
# Calibration files
# --------------------------------------------------------------------------------------


def read_calibration(path: str | os.PathLike | None = None, *, name: str | None = None) -> dict:
    """Read the ``[calibration]`` table of a calibration TOML file.

    Parameters
    ----------
    path : path-like, optional
        A TOML file written by :func:`geoattract.network.calibrate.calibrate`.
    name : str, optional
        Instead of ``path``, the name of a file shipped in ``geoattract/network/data``.

    Returns
    -------
    dict
        The table: ``speeds_kph`` and ``detour`` (class → value), ``access_speed_kph``,
        ``access_detour``, ``dense_delay_min``, ``dense_density_per_km2`` and the fit
        figures.

    Raises
    ------
    DataError
        When the file is not TOML or has no ``[calibration]`` table with ``speeds_kph``.
    """
    if name is not None:
        text = (
            resources.files(CALIBRATION_PACKAGE)
            .joinpath(CALIBRATION_FOLDER, name)
            .read_text(encoding="utf-8")
        )
        where = f"{CALIBRATION_PACKAGE}/{CALIBRATION_FOLDER}/{name}"
    elif path is not None:
        p = require_file(path, "calibration file")
        text = p.read_text(encoding="utf-8")
        where = str(p)
    else:
        raise DataError("read_calibration: give a path or a name")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{where}: not a TOML file ({exc})") from exc
    table = doc.get("calibration")
    if not isinstance(table, dict) or not isinstance(table.get("speeds_kph"), dict):
        raise DataError(f"{where}: no [calibration] table with a speeds_kph table")
    return table


def _preset_calibration(preset: LinePreset | None, calibration: Any) -> dict | None:
    if calibration is None or calibration is False:
        return None
    if isinstance(calibration, Mapping):
        return dict(calibration)
    if calibration == DEFAULT_CALIBRATION:
        if preset is None or preset.calibration is None:
            return None
        return read_calibration(name=preset.calibration)
    return read_calibration(calibration)


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


def _resolve_spec(
    available: Mapping[str, str],
    preset: str | LinePreset | None,
    columns: Mapping[str, str] | None,
    where: str,
) -> LinePreset:
    """Return the preset to use, with the ``columns`` overrides applied."""
    spec = get_preset(preset) if preset is not None else detect_preset(available)
    columns = dict(columns or {})
    unknown = set(columns) - set(COLUMN_ROLES)
    if unknown:
        raise DataError(
            f"graph_from_lines: unknown key(s) in columns: {format_values(sorted(unknown))}; "
            f"use {format_values(COLUMN_ROLES)}"
        )
    if spec is None:
        if "class" not in columns:
            raise DataError(
                f"{where}: no line preset recognised from the columns "
                f"{format_values(sorted(available.values()))}; give preset= "
                "('travelmapping', 'bdtopo', 'route500') or columns={'class': …}"
            )
        spec = LinePreset(name="custom", label="line layer", class_column=columns["class"])
    changes: dict[str, Any] = {}
    if "class" in columns:
        changes.update(class_column=columns["class"], class_rules=())
    if "oneway" in columns:
        changes.update(
            oneway_column=(columns["oneway"],),
            oneway_values={**GENERIC_ONEWAY_VALUES, **spec.oneway_values},
        )
    if "speed" in columns:
        changes["speed_column"] = columns["speed"]
    if "name" in columns:
        changes["name_column"] = columns["name"]
    return replace(spec, **changes) if changes else spec


def _source_columns(
    source: Any, layer: str | None, preset: Any = None
) -> tuple[dict[str, str], str, str | None]:
    """Columns of the layer to read, the source's name, and the layer (picked at the door)."""
    if isinstance(source, gpd.GeoDataFrame):
        check_crs(source, "GeoDataFrame")  # at the door, before any other check
        columns = column_map(c for c in source.columns if c != source.geometry.name)
        return columns, "GeoDataFrame", None
    p = require_file(source, "line layer")
    if p.suffix.lower() not in {".parquet", ".geoparquet"}:
        name = preset.name if isinstance(preset, LinePreset) else preset
        layer = pick_layer(str(p), layer, name)
    try:
        info = pyogrio.read_info(p, layer=layer)
    except Exception as exc:  # pyogrio raises several unrelated types
        raise DataError(f"{p}: cannot be read as a vector layer ({exc})") from exc
    if info.get("crs") is None:
        raise DataError(f"{p}: no CRS; set one (e.g. EPSG:2154) before loading")
    if int(info.get("features", 1) or 0) == 0:
        raise DataError(f"{p}: the layer {layer or ''} is empty (no line)".replace("  ", " "))
    return column_map(info["fields"]), str(p), layer


def read_lines(
    source: str | os.PathLike | gpd.GeoDataFrame,
    *,
    columns: list[str] | None = None,
    layer: str | None = None,
    polygon: BaseGeometry | None = None,
) -> gpd.GeoDataFrame:
    """Read a line layer (GeoPackage, Shapefile, GeoJSON, GeoParquet) in EPSG:2154.

    Parameters
    ----------
    source : path-like or GeoDataFrame
        The layer (a GeoDataFrame is reprojected when needed, not copied otherwise).
    columns : list of str, optional
        Columns to read (all when not given).
    layer : str, optional
        Layer of a multi-layer file.
    polygon : shapely geometry, optional
        Area in EPSG:2154: only lines intersecting it are kept (files are read through its
        bounding box).

    Returns
    -------
    geopandas.GeoDataFrame

    Raises
    ------
    DataNotFoundError, DataError
        Missing file, unreadable or empty layer, no CRS or coordinates that do not fit it
        (:mod:`geoattract.network.validate`).
    """
    if isinstance(source, gpd.GeoDataFrame):
        gdf = source
        where = "GeoDataFrame"
    else:
        p = require_file(source, "line layer")
        where = str(p)
        try:
            if p.suffix.lower() in {".parquet", ".geoparquet"}:
                gdf = gpd.read_parquet(
                    p, columns=None if columns is None else [*columns, "geometry"]
                )
            else:
                bbox = None
                if polygon is not None and pyogrio.read_info(p, layer=layer)["crs"] == (
                    settings.default_crs
                ):
                    bbox = tuple(polygon.bounds)
                gdf = gpd.read_file(p, layer=layer, columns=columns, bbox=bbox)
        except Exception as exc:  # pyogrio / pyarrow raise several unrelated types
            raise DataError(f"{p}: cannot be read as a line layer ({exc})") from exc
    check_crs(gdf, where)
    gdf = repair_lines(gdf, where)
    if pyproj.CRS(gdf.crs) != pyproj.CRS(settings.default_crs):
        gdf = gdf.to_crs(settings.default_crs)
    if polygon is not None:
        gdf = gdf[shapely.intersects(gdf.geometry.to_numpy(), polygon)]
    return gdf


def _area(polygon: Any) -> BaseGeometry | None:
    """Return a polygon in EPSG:2154 from a shapely geometry (in EPSG:2154) or a GeoSeries."""
    if polygon is None:
        return None
    if isinstance(polygon, gpd.GeoSeries | gpd.GeoDataFrame):
        polygon = in_default_crs(polygon).union_all()
    if not isinstance(polygon, BaseGeometry) or polygon.is_empty:
        raise DataError(
            f"polygon must be a non-empty shapely geometry or GeoSeries; got {type(polygon).__name__}"
        )
    shapely.prepare(polygon)
    return polygon


# --------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------


def _speed_tables(
    spec: LinePreset,
    calibration: Mapping[str, Any] | None,
    speeds: Mapping[str, float] | None,
    detours: Mapping[str, float] | None,
) -> tuple[dict[str, float], dict[str, float]]:
    table = dict(spec.speeds)
    detour: dict[str, float] = {}
    if calibration:
        table.update({k: float(v) for k, v in calibration.get("speeds_kph", {}).items()})
        detour.update({k: float(v) for k, v in calibration.get("detour", {}).items()})
    table.update({k: float(v) for k, v in (speeds or {}).items()})
    detour.update({k: float(v) for k, v in (detours or {}).items()})
    return table, detour


def network_notes(preset: LinePreset, calibration: Mapping[str, Any] | None) -> str:
    """French clause of a line network's caption: what it holds, and its calibration error.

    The error is the held-out median relative error of the calibration's reference trips, as
    recorded in the calibration file: per reference from the longest trips to the shortest
    (by their median reference time: long trips from 3 h, medium from 40 min, short), then
    the trips under 20 min of the table with the most. A file without median reference times (an older one) gives the long
    trips and the trips under 20 min.
    """
    parts = [preset.notes_fr] if preset.notes_fr else []
    holdout = ((calibration or {}).get("fit") or {}).get("holdout_after") or {}
    figures = []
    if holdout and all("median_ref_min" in v for v in holdout.values()):
        by_label: dict[str, list[str]] = {}
        for v in sorted(holdout.values(), key=lambda v: -float(v["median_ref_min"])):
            minutes = float(v["median_ref_min"])
            label = (
                "sur les longs trajets"
                if minutes >= 180
                else "sur les trajets moyens"
                if minutes >= 40
                else "sur les trajets courts"
            )
            if v.get("median_abs_rel_error") is not None:
                by_label.setdefault(label, []).append(_percent_fr(v["median_abs_rel_error"]))
        figures += [" et ".join(values) + " " + label for label, values in by_label.items()]
        shorts = [v for v in holdout.values() if v.get("short_n")]
        if shorts:
            best = max(shorts, key=lambda v: int(v["short_n"]))
            figures.append(f"{_percent_fr(best['short_median_abs_rel_error'])} sous 20 min")
        source = "des temps de référence"
    elif holdout:
        long_err = [v.get("median_abs_rel_error") for v in holdout.values() if not v.get("short_n")]
        short_err = [
            v.get("short_median_abs_rel_error") for v in holdout.values() if v.get("short_n")
        ]
        if long_err and long_err[0] is not None:
            figures.append(f"{_percent_fr(long_err[0])} sur les longs trajets")
        if short_err and short_err[0] is not None:
            figures.append(f"{_percent_fr(short_err[0])} sous 20 min")
        source = "des temps OSRM de référence"
    if figures:
        parts.append(
            f"temps calibrés sur {source} (écart médian hors échantillon : "
            + ", ".join(figures)
            + ")"
        )
    return " ; ".join(parts)


def _percent_fr(share: Any) -> str:
    """A share as a French percentage with one decimal (0.0972 -> "9,7 %")."""
    return f"{100 * float(share):.1f} %".replace(".", ",")


def _snap_defaults(calibration: Mapping[str, Any] | None) -> dict[str, float]:
    """Access-leg values carried by the graph (from the calibration, when there is one)."""
    if not calibration:
        return {}
    out = {}
    if "access_speed_kph" in calibration:
        out["snap_speed_kph"] = float(calibration["access_speed_kph"])
    if "access_detour" in calibration:
        out["snap_detour"] = float(calibration["access_detour"])
    if "dense_delay_min" in calibration:
        out["dense_delay_min"] = float(calibration["dense_delay_min"])
    if "dense_density_per_km2" in calibration:
        out["dense_density_per_km2"] = float(calibration["dense_density_per_km2"])
    return out


def _split_xy(points: Any) -> Any:
    """(n, 2) coordinates of split points (array, shapely points or GeoSeries), EPSG:2154.

    A GeoSeries in another CRS is reprojected; missing and empty points are left out.
    """
    if points is None:
        return None
    if isinstance(points, gpd.GeoSeries | gpd.GeoDataFrame):
        geoms = in_default_crs(points).to_numpy()
        geoms = geoms[~pd.isna(geoms)]
        geoms = geoms[~shapely.is_empty(geoms)]
        return shapely.get_coordinates(geoms)
    raw = np.asarray(points)
    if raw.dtype == object:  # shapely points
        geoms = raw[~pd.isna(raw)]
        return shapely.get_coordinates(geoms[~shapely.is_empty(geoms)])
    xy = raw.astype(np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise DataError(f"split_points: expected (n, 2) coordinates; got shape {xy.shape}")
    return xy[np.isfinite(xy).all(axis=1)]


def line_network(
    source: str | os.PathLike | gpd.GeoDataFrame,
    *,
    preset: str | LinePreset | None = None,
    columns: Mapping[str, str] | None = None,
    snap_tolerance_m: float = 0.0,
    speeds: Mapping[str, float] | None = None,
    detours: Mapping[str, float] | None = None,
    calibration: str | os.PathLike | Mapping[str, Any] | None = DEFAULT_CALIBRATION,
    layer: str | None = None,
    polygon: Any = None,
    split_at_vertices: bool = True,
    split_points: Any = None,
    split_max_distance_m: float = LINES_SNAP_MAX_DISTANCE_M,
    strict: bool = False,
    settlements: gpd.GeoDataFrame | None = None,
    built_up_density_per_km2: float | None = None,
) -> LineNetwork:
    """Build the network of a line layer in arrays (see the module docstring for the rules).

    Parameters
    ----------
    source : path-like or GeoDataFrame
        GeoPackage, Shapefile, GeoJSON or GeoParquet file, or a GeoDataFrame of LineStrings.
    preset : str or LinePreset, optional
        ``"travelmapping"``, ``"bdtopo"``, ``"route500"`` or a custom preset; detected from
        the columns when not given.
    columns : mapping, optional
        Overrides of the preset's columns: keys ``class``, ``oneway``, ``speed``, ``name``.
    snap_tolerance_m : float
        Line ends closer than this are merged into one node (0: exact coordinates only).
    speeds : mapping of class to km/h, optional
        Class speeds replacing the preset's and the calibration's.
    detours : mapping of class to factor ≥ 1, optional
        Length multipliers per class (the geometry is shorter than the road).
    calibration : "default", path, mapping or None
        ``"default"``: the preset's shipped calibration (Travel Mapping); a TOML path or an
        already read ``[calibration]`` table; None: no calibration.
    layer : str, optional
        Layer of a multi-layer file.
    polygon : Polygon, MultiPolygon or GeoSeries, optional
        Study area (EPSG:2154 for a bare geometry): only lines intersecting it are used. The
        national layer's largest component is the mainland; Corsica (1,175 nodes split at its
        town halls) and the other islands with roads are kept when ``split_points`` holds
        their town halls.
    split_at_vertices : bool
        Split a line at an interior vertex that is exactly another line's end point (the
        Travel Mapping interchange links start on interior vertices of the motorway lines:
        without the split, 671 of the 822 exits would lead nowhere).
    split_points : GeoSeries of points or (n, 2) array, optional
        Points the network is joined at (the town halls of the communes routed): the
        nearest snappable line of each point within ``split_max_distance_m`` is split at the
        point's orthogonal projection (:func:`geoattract.network.split.split_at_points`),
        so that the point snaps there. Part of the cache key (a digest of the points).
    split_max_distance_m : float
        Points farther than this from every snappable line split nothing (the snapping
        limit of line networks).
    strict : bool
        Class values of the layer that the preset does not know are an error (a warning,
        listing them with their counts and the speed applied, otherwise).
    settlements : GeoDataFrame, optional
        Commune points with a ``population`` column whose built-up discs (at the
        calibration's ``built_up_density_per_km2``) slow the edges by its urban pace; read
        only when the calibration has one (or ``built_up_density_per_km2`` is given).
        Default: every commune of the national commune file. Part of the cache key (a
        digest).
    built_up_density_per_km2 : float, optional
        Measure every edge's metres inside built-up areas at this density even without an
        urban pace (the calibration does, to fit it); default the calibration's.

    Returns
    -------
    LineNetwork

    Raises
    ------
    DataNotFoundError, DataError, NetworkError
        Missing file, unknown preset or column, bad parameters, no road left.
    """
    if not snap_tolerance_m >= 0:
        raise DataError(f"snap_tolerance_m must be >= 0; got {snap_tolerance_m!r}")
    available, where, layer = _source_columns(source, layer, preset)
    spec = _resolve_spec(available, preset, columns, where)
    area = _area(polygon)
    calib = _preset_calibration(spec, calibration)
    table, detour = _speed_tables(spec, calib, speeds, detours)
    split_xy = _split_xy(split_points)
    split = None if split_xy is None else PointSplit(split_xy, float(split_max_distance_m))
    delays = edge_delays_of(calib)
    density, built_up_key, built_up = built_up_areas(
        calib, delays, settlements, built_up_density_per_km2
    )

    params = {
        "preset": spec.name,
        "spec": _canonical(spec),
        "snap_tolerance_m": float(snap_tolerance_m),
        "speeds": table,
        "detours": detour,
        "calibration": calib or {},
        "layer": layer,
        "polygon": None if area is None else area.wkt,
        "split_at_vertices": bool(split_at_vertices),
        "split_points": points_digest(split_xy),
        "split_max_distance_m": None if split is None else split.max_distance_m,
        "settlements": built_up_key,
        "built_up_density": density,
        "format": LINES_FORMAT_VERSION,
    }

    # what the caption says: recomputed on every call, also for a network read from the cache
    described = {
        "source": f"{spec.label} ({Path(where).name})" if where != "GeoDataFrame" else spec.label,
        "source_date": spec.vintage or _file_date(where),
        "notes": network_notes(spec, calib),
    }

    def build() -> LineNetwork:
        t0 = time.perf_counter()
        wanted = sorted(available[c] for c in spec.columns() if c in available)
        gdf = read_lines(
            source,
            columns=None if where == "GeoDataFrame" else wanted,
            layer=layer,
            polygon=area,
        )
        # road lengths over the whole layer: a clipped network keeps its roads' speeds
        route_m = None
        if area is None:
            route_m = route_metres(spec, gdf)
        elif delays.route_speeds_kph and spec.name_column:
            name = available.get(spec.name_column.lower())
            if name is not None:
                columns = None if where == "GeoDataFrame" else [name]
                route_m = route_metres(spec, read_lines(source, columns=columns, layer=layer))
        net, figures = build_arrays(
            gdf,
            spec,
            where=where,
            snap_tolerance_m=snap_tolerance_m,
            speeds=table,
            detours=detour,
            split_at_vertices=split_at_vertices,
            split=split,
            delays=delays,
            strict=strict,
            route_m=route_m,
            settlements=built_up(),
        )
        attrs = {
            "crs": settings.default_crs,
            **described,
            "kind": LINES_KIND,
            "preset": spec.name,
            "schematic": False,
            "params": json.dumps(
                {
                    k: params[k]
                    for k in ("preset", "snap_tolerance_m", "speeds", "detours", "layer")
                },
                sort_keys=True,
                default=str,
            ),
            "calibrated": bool(calib),
            **figures,
            **_snap_defaults(calib),
            **delays.attrs(),
            BUILT_UP_DENSITY_KEY: density,
        }
        net = replace(net, attrs=attrs)
        logger.info(
            "line network from %s: %d nodes, %d edges, %.1f km of road, built in %.1f s",
            where,
            net.n_nodes,
            net.n_edges,
            net.road_km(),
            time.perf_counter() - t0,
        )
        return net

    if where == "GeoDataFrame":
        return build()
    key = _cache.cache_key(LINES_KIND, _cache.file_identity(where), params)
    payload = _cache.load_payload(key, ".npz")
    if payload is not None:
        try:
            net = LineNetwork.from_bytes(payload)
            logger.info("line network loaded from cache (%s)", key[:12])
            net = replace(net, attrs={**net.attrs, **described})
            _recheck_classes(net, where, strict)
            return net
        except (ValueError, KeyError, TypeError) as exc:
            logger.warning("line network cache entry %s is unusable (%s); rebuilt", key[:12], exc)
    net = build()
    _cache.store_payload(key, net.to_bytes(), {"kind": LINES_KIND, "source": where}, ".npz")
    return net


def _recheck_classes(net: LineNetwork, where: str, strict: bool) -> None:
    """The class values a cached build found outside its preset: said again, or refused."""
    unknown = json.loads(str(net.attrs.get("unknown_classes") or "{}"))
    if not unknown:
        return
    listed = format_values([f"{k} ({v} lines)" for k, v in unknown.items()])
    message = f"{where}: class value(s) the preset does not know: {listed}"
    if strict:
        raise DataError(message)
    logger.warning("%s (strict=True / --strict refuses them)", message)


def _canonical(value: Any) -> Any:
    """Return a JSON-able, order-independent form of a preset (sets sorted), for cache keys."""
    if isinstance(value, LinePreset | ClassRule):
        return {f.name: _canonical(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, set | frozenset):
        return sorted(str(v) for v in value)
    if isinstance(value, tuple | list):
        return [_canonical(v) for v in value]
    return value


#: Layer names of a graph GeoPackage written by ``save_graph_gpkg`` (not a line layer).
GRAPH_GPKG_LAYERS: frozenset[str] = frozenset({"nodes", "edges"})

#: File suffixes a line layer may have.
LINE_LAYER_SUFFIXES: tuple[str, ...] = (
    ".gpkg",
    ".shp",
    ".geojson",
    ".json",
    ".fgb",
    ".parquet",
    ".geoparquet",
)


def is_line_layer(path: str | os.PathLike) -> bool:
    """Whether a file is a line layer for :func:`graph_from_lines`.

    True for an existing vector file (GeoPackage, Shapefile, GeoJSON, FlatGeobuf, GeoParquet)
    whose first layer holds (multi)line strings, except a graph GeoPackage written by
    ``save_graph_gpkg`` (layers ``nodes`` and ``edges``).
    """
    p = Path(path)
    if not p.is_file() or not p.name.lower().endswith(LINE_LAYER_SUFFIXES):
        return False
    if p.suffix.lower() in {".parquet", ".geoparquet"}:
        return True
    try:
        layers = pyogrio.list_layers(p)
    except Exception:  # pyogrio raises several unrelated types for unreadable files
        return False
    names = {str(name).lower() for name, _ in layers}
    if GRAPH_GPKG_LAYERS <= names or len(layers) == 0:
        return False
    return "linestring" in str(layers[0][1]).lower()


def _file_date(where: str) -> str:
    if where == "GeoDataFrame":
        return ""
    return datetime.fromtimestamp(Path(where).stat().st_mtime, UTC).date().isoformat()


def graph_from_lines(
    source: str | os.PathLike | gpd.GeoDataFrame,
    *,
    preset: str | LinePreset | None = None,
    columns: Mapping[str, str] | None = None,
    snap_tolerance_m: float = 0.0,
    speeds: Mapping[str, float] | None = None,
    detours: Mapping[str, float] | None = None,
    calibration: str | os.PathLike | Mapping[str, Any] | None = DEFAULT_CALIBRATION,
    layer: str | None = None,
    polygon: Any = None,
    split_at_vertices: bool = True,
    split_points: Any = None,
    split_max_distance_m: float = LINES_SNAP_MAX_DISTANCE_M,
    settlements: gpd.GeoDataFrame | None = None,
    built_up_density_per_km2: float | None = None,
) -> nx.MultiDiGraph:
    """Road graph of a line layer, in the package's graph model.

    Parameters are those of :func:`line_network`. Node ids are ``0..n-1`` (end points in
    coordinate order); nodes carry ``x``, ``y`` (EPSG:2154) and ``snappable``; edges
    ``length`` (m), ``highway``, ``speed_kph``, ``travel_time`` (s), ``speed_source``,
    ``geometry`` and ``ref`` (road number, when the layer has one).

    Returns
    -------
    networkx.MultiDiGraph
        Each part (the largest, the islands) strongly connected. Graph attributes: ``crs``, ``source``, ``source_date``,
        ``kind="lines"``, ``preset``, ``schematic=False``, ``params`` (JSON), ``calibrated``,
        ``snap_merged`` (end points merged by the tolerance), ``self_loops``, ``islands``
        (parts kept besides the largest), ``dropped_nodes``, ``dropped_km``, ``dropped_empty``, ``dropped_not_a_road`` and, when
        calibrated, ``snap_speed_kph``, ``snap_detour``, ``dense_delay_min``,
        ``dense_density_per_km2``.
    """
    net = line_network(
        source,
        preset=preset,
        columns=columns,
        snap_tolerance_m=snap_tolerance_m,
        speeds=speeds,
        detours=detours,
        calibration=calibration,
        layer=layer,
        polygon=polygon,
        split_at_vertices=split_at_vertices,
        split_points=split_points,
        split_max_distance_m=split_max_distance_m,
        settlements=settlements,
        built_up_density_per_km2=built_up_density_per_km2,
    )
    return net.to_graph()
