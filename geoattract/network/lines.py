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
* **speeds**: the piece's speed column when the preset has one and the value is > 0,
  otherwise the class speed (preset table, then the calibration, then the ``speeds``
  argument); ``travel_time = length / (speed_kph / 3.6)``;
* **snappable nodes**: a node is ``snappable`` when at least one incident edge belongs to a
  class a point may join (not ``motorway`` nor ``motorway_link``);
* the **largest strongly connected component** is kept, computed on the arrays with
  :func:`scipy.sparse.csgraph.connected_components` (the same rule and graph attributes as
  :func:`geoattract.network.largest_scc`, which would cost seconds on 350,000 edges).

Builds from files are cached on disk (arrays, see :mod:`geoattract.network.cache`), keyed by
the file identity and every parameter.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import logging
import os
import time
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
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
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from geoattract import settings
from geoattract._util.io import require_file
from geoattract.errors import DataError, NetworkError, format_values
from geoattract.network import cache as _cache
from geoattract.network.presets import (
    BOTH,
    FORWARD,
    REVERSE,
    ClassRule,
    LinePreset,
    detect_preset,
    get_preset,
)
from geoattract.network.speeds import DEFAULT_FALLBACK_SPEED_KPH

logger = logging.getLogger(__name__)

#: Graph attribute ``kind`` of graphs built from line layers.
LINES_KIND: str = "lines"

#: Bump when the array layout or a building rule changes: older cache entries become stale.
LINES_FORMAT_VERSION: int = 1

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

_DIRECTION_CODE = {BOTH: 0, FORWARD: 1, REVERSE: 2}


# --------------------------------------------------------------------------------------
# Array form
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LineNetwork:
    """A road network from a line layer, in arrays (nodes by position, directed edges).

    Attributes
    ----------
    x, y : numpy.ndarray
        Node coordinates, EPSG:2154 metres; node ``i`` has id ``i`` in :meth:`to_graph`.
    snappable : numpy.ndarray
        bool per node: at least one incident edge of a class a point may join.
    u, v : numpy.ndarray
        int64 end nodes of each directed edge.
    feature : numpy.ndarray
        int64 index of the edge's line in :attr:`geometries` (two edges share a line).
    reverse : numpy.ndarray
        bool per edge: the edge runs against the line's drawing direction.
    klass : numpy.ndarray
        int16 index of the edge's class in :attr:`classes`.
    classes : tuple of str
        Class names (OSM ``highway`` values).
    geometry_length : numpy.ndarray
        Length of the line (m).
    length : numpy.ndarray
        Edge length (m): geometry length × class detour.
    speed_kph, travel_time : numpy.ndarray
        km/h and seconds per edge.
    speed_from_column : numpy.ndarray
        bool per edge: speed read from the layer's speed column.
    geometries : numpy.ndarray
        LineStrings (EPSG:2154), drawing direction, one per line.
    refs : numpy.ndarray or None
        Road number of each line (the preset's name column).
    attrs : dict
        Graph attributes (``crs``, ``source``, ``kind``…), see :meth:`to_graph`.
    """

    x: np.ndarray
    y: np.ndarray
    snappable: np.ndarray
    u: np.ndarray
    v: np.ndarray
    feature: np.ndarray
    reverse: np.ndarray
    klass: np.ndarray
    classes: tuple[str, ...]
    geometry_length: np.ndarray
    length: np.ndarray
    speed_kph: np.ndarray
    travel_time: np.ndarray
    speed_from_column: np.ndarray
    geometries: np.ndarray
    refs: np.ndarray | None
    attrs: dict[str, Any]

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.x.size)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return int(self.u.size)

    @property
    def highway(self) -> np.ndarray:
        """Class name of every edge."""
        return np.asarray(self.classes, dtype=object)[self.klass]

    def nodes_frame(self) -> pd.DataFrame:
        """Nodes as a table (index = node id; ``x``, ``y``, ``snappable``) for snapping."""
        return pd.DataFrame({"x": self.x, "y": self.y, "snappable": self.snappable})

    def _first_edges(self) -> np.ndarray:
        """One edge per line (the first listed)."""
        first = np.full(self.geometries.size, -1, dtype=np.int64)
        first[self.feature[::-1]] = np.arange(self.n_edges - 1, -1, -1)
        return first[first >= 0]

    def road_km(self) -> float:
        """Kilometres of road: each line counted once, whatever its number of directions."""
        return float(self.length[self._first_edges()].sum() / 1000.0)

    def km_by_class(self) -> dict[str, float]:
        """Road km per class (each line once)."""
        first = self._first_edges()
        km = np.bincount(
            self.klass[first], weights=self.length[first], minlength=len(self.classes)
        )
        return {c: round(float(k) / 1000.0, 3) for c, k in zip(self.classes, km, strict=True)}

    def with_speeds(
        self,
        speeds: Mapping[str, float] | None = None,
        detours: Mapping[str, float] | None = None,
    ) -> LineNetwork:
        """A copy with new class speeds and/or detour factors (speed-column edges keep theirs).

        Parameters
        ----------
        speeds, detours : mapping of class to value, optional
            Classes not listed keep their current value.

        Returns
        -------
        LineNetwork
        """
        speed = self.speed_kph.copy()
        length = self.length.copy()
        by_class = _class_values(self.classes, speeds or {}, "speed")
        det = _class_values(self.classes, detours or {}, "detour", minimum=1.0)
        for k in range(len(self.classes)):
            on = self.klass == k
            if not np.isnan(det[k]):
                length[on] = self.geometry_length[on] * det[k]
            if not np.isnan(by_class[k]):
                speed[on & ~self.speed_from_column] = by_class[k]
        return replace(
            self, speed_kph=speed, length=length, travel_time=length / (speed / 3.6)
        )

    def to_graph(self) -> nx.MultiDiGraph:
        """The graph model: a MultiDiGraph with integer node ids ``0..n-1``.

        Nodes carry ``x``, ``y``, ``snappable``; edges ``length``, ``highway``,
        ``speed_kph``, ``travel_time``, ``speed_source`` (``class`` or ``column``),
        ``geometry`` (oriented from ``u`` to ``v``) and ``ref`` when the layer names roads.

        Returns
        -------
        networkx.MultiDiGraph
        """
        G = nx.MultiDiGraph()
        G.graph.update(self.attrs)
        geoms = self.geometries[self.feature]
        rev = self.reverse
        if rev.any():
            geoms[rev] = shapely.reverse(geoms[rev])
        with _gc_paused():
            G.add_nodes_from(
                (i, {"x": x, "y": y, "snappable": s})
                for i, (x, y, s) in enumerate(
                    zip(self.x.tolist(), self.y.tolist(), self.snappable.tolist(), strict=True)
                )
            )
            rows = zip(
                self.u.tolist(),
                self.v.tolist(),
                self.length.tolist(),
                self.highway.tolist(),
                self.speed_kph.tolist(),
                self.travel_time.tolist(),
                np.where(self.speed_from_column, "column", "class").tolist(),
                geoms.tolist(),
                strict=True,
            )
            refs = None if self.refs is None else self.refs[self.feature].tolist()
            _fill_edges(G, rows, refs)
        return G

    def to_bytes(self) -> bytes:
        """Serialise to an ``.npz`` payload (no pickle), for the on-disk cache."""
        coords, index = shapely.get_coordinates(self.geometries, return_index=True)
        arrays = {
            name: getattr(self, name)
            for name in (
                "x",
                "y",
                "snappable",
                "u",
                "v",
                "feature",
                "reverse",
                "klass",
                "geometry_length",
                "length",
                "speed_kph",
                "travel_time",
                "speed_from_column",
            )
        }
        arrays["classes"] = np.asarray(self.classes, dtype=str)
        arrays["coords"] = coords
        arrays["coord_index"] = index
        arrays["attrs"] = np.asarray(json.dumps(self.attrs, sort_keys=True, default=str))
        if self.refs is not None:
            arrays["refs"] = np.asarray(self.refs, dtype=str)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, payload: bytes) -> LineNetwork:
        """Inverse of :meth:`to_bytes`."""
        with np.load(io.BytesIO(payload), allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        n_lines = int(data["coord_index"].max()) + 1 if data["coord_index"].size else 0
        geoms = shapely.linestrings(data.pop("coords"), indices=data.pop("coord_index"))
        geometries = np.empty(n_lines, dtype=object)
        geometries[:] = list(geoms)
        refs = data.pop("refs", None)
        return cls(
            classes=tuple(str(c) for c in data.pop("classes")),
            attrs=json.loads(str(data.pop("attrs"))),
            geometries=geometries,
            refs=None if refs is None else refs.astype(object),
            **data,
        )


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while building many small containers.

    Each collection walks every live object; building 350,000 edge dicts triggers hundreds of
    them (2.5 times the CPU of the build itself). Nothing built here forms a cycle.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _fill_edges(G: nx.MultiDiGraph, rows: Iterable[tuple], refs: list[Any] | None) -> None:
    """Add edges to a graph whose nodes all exist.

    ``rows`` are ``(u, v, length, highway, speed_kph, travel_time, speed_source, geometry)``;
    ``refs`` the road number of each row, or None. Writes networkx's documented adjacency
    layout (``G._succ[u][v][key] = data``, the key dict shared with ``G._pred[v][u]``), keys
    0, 1… per node pair in input order: exactly what
    :meth:`networkx.MultiDiGraph.add_edges_from` produces, without its per-edge checks and
    attribute-dict copies (twice as fast on the 348,778 edges of the national layer).
    """
    succ, pred = G._succ, G._pred
    for i, (a, b, length, highway, speed, time_s, source, geom) in enumerate(rows):
        data = {
            "length": length,
            "highway": highway,
            "speed_kph": speed,
            "travel_time": time_s,
            "speed_source": source,
            "geometry": geom,
        }
        if refs is not None:
            data["ref"] = refs[i]
        keydict = succ[a].get(b)
        if keydict is None:
            keydict = {}
            succ[a][b] = keydict
            pred[b][a] = keydict
        keydict[len(keydict)] = data


def _class_values(
    classes: tuple[str, ...], table: Mapping[str, float], what: str, minimum: float = 0.0
) -> np.ndarray:
    """Per-class values of a table, NaN where absent.

    Speeds (``minimum=0``) must be > 0; detour factors (``minimum=1``) must be ≥ 1.
    """
    values = {k: float(v) for k, v in table.items()}
    bad = {
        k: v
        for k, v in values.items()
        if not (v > minimum if minimum == 0 else v >= minimum) or not np.isfinite(v)
    }
    if bad:
        rule = "> 0" if minimum == 0 else f">= {minimum:g}"
        raise DataError(
            f"line network: {what} values must be {rule}; got {format_values(bad.items())}"
        )
    return np.array([values.get(c, np.nan) for c in classes], dtype=np.float64)


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
        text = resources.files(CALIBRATION_PACKAGE).joinpath(CALIBRATION_FOLDER, name).read_text(
            encoding="utf-8"
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


def _column_map(columns: Any) -> dict[str, str]:
    """Lower-case name → actual name of the columns of a layer."""
    return {str(c).lower(): str(c) for c in columns}


def _as_text(series: pd.Series) -> pd.Series:
    """Values as stripped strings (object dtype); integral floats lose ``.0``; missing → NaN.

    The distinct values are converted once (:func:`pandas.factorize`), not every row.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    texts = []
    for value in uniques.tolist():
        if isinstance(value, float) and value == round(value):
            texts.append(str(int(value)))
        else:
            texts.append(str(value).strip())
    table = np.array([*texts, np.nan], dtype=object)
    return pd.Series(table[codes], index=series.index, dtype=object)


def _resolve_spec(
    available: Mapping[str, str],
    preset: str | LinePreset | None,
    columns: Mapping[str, str] | None,
    where: str,
) -> LinePreset:
    """The preset to use, with the ``columns`` overrides applied."""
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


def _source_columns(source: Any, layer: str | None) -> tuple[dict[str, str], str]:
    if isinstance(source, gpd.GeoDataFrame):
        return _column_map(c for c in source.columns if c != source.geometry.name), "GeoDataFrame"
    p = require_file(source, "line layer")
    try:
        info = pyogrio.read_info(p, layer=layer)
    except Exception as exc:  # pyogrio raises several unrelated types
        raise DataError(f"{p}: cannot be read as a vector layer ({exc})") from exc
    return _column_map(info["fields"]), str(p)


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
        Missing file, unreadable layer or no CRS.
    """
    if isinstance(source, gpd.GeoDataFrame):
        gdf = source
        where = "GeoDataFrame"
    else:
        p = require_file(source, "line layer")
        where = str(p)
        try:
            if p.suffix.lower() in {".parquet", ".geoparquet"}:
                gdf = gpd.read_parquet(p, columns=None if columns is None else [*columns, "geometry"])
            else:
                bbox = None
                if polygon is not None and pyogrio.read_info(p, layer=layer)["crs"] == (
                    settings.default_crs
                ):
                    bbox = tuple(polygon.bounds)
                gdf = gpd.read_file(p, layer=layer, columns=columns, bbox=bbox)
        except Exception as exc:  # pyogrio / pyarrow raise several unrelated types
            raise DataError(f"{p}: cannot be read as a line layer ({exc})") from exc
    if gdf.crs is None:
        raise DataError(f"{where}: no CRS; set one (e.g. EPSG:2154) before loading")
    if pyproj.CRS(gdf.crs) != pyproj.CRS(settings.default_crs):
        gdf = gdf.to_crs(settings.default_crs)
    if polygon is not None:
        gdf = gdf[shapely.intersects(gdf.geometry.to_numpy(), polygon)]
    return gdf


def _area(polygon: Any) -> BaseGeometry | None:
    """A polygon in EPSG:2154 from a shapely geometry (taken in EPSG:2154) or a GeoSeries."""
    if polygon is None:
        return None
    if isinstance(polygon, gpd.GeoSeries | gpd.GeoDataFrame):
        series = polygon.geometry if isinstance(polygon, gpd.GeoDataFrame) else polygon
        if series.crs is not None and pyproj.CRS(series.crs) != pyproj.CRS(settings.default_crs):
            series = series.to_crs(settings.default_crs)
        polygon = series.union_all()
    if not isinstance(polygon, BaseGeometry) or polygon.is_empty:
        raise DataError(
            f"polygon must be a non-empty shapely geometry or GeoSeries; got {type(polygon).__name__}"
        )
    shapely.prepare(polygon)
    return polygon


# --------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------


def _classify(
    gdf: gpd.GeoDataFrame, spec: LinePreset, cols: Mapping[str, str], where: str
) -> np.ndarray:
    """Class of every line (object array, None when no rule matches or a piece is excluded)."""
    n = len(gdf)

    def text(name: str) -> pd.Series:
        actual = cols.get(name.lower())
        if actual is None:
            raise DataError(
                f"{where}: column {name!r} needed by the line preset {spec.name!r} is missing; "
                f"columns: {format_values(sorted(cols.values()))}"
            )
        return _as_text(gdf[actual])

    if spec.class_column is not None:
        out = text(spec.class_column).to_numpy(dtype=object)
        out = np.where(pd.isna(out) | (out == ""), None, out)
    else:
        out = np.full(n, None, dtype=object)
        free = np.ones(n, dtype=bool)
        cache: dict[str, np.ndarray] = {}
        for rule in spec.class_rules:
            hit = free.copy()
            for col, values in rule.when.items():
                if col not in cache:
                    cache[col] = text(col).to_numpy(dtype=object)
                hit &= np.isin(cache[col], list(values))
            out[hit] = rule.highway
            free &= ~hit
    for col, values in spec.exclude.items():
        actual = cols.get(col.lower())
        if actual is not None:
            out[np.isin(_as_text(gdf[actual]).to_numpy(dtype=object), list(values))] = None
    return out


def _directions(gdf: gpd.GeoDataFrame, spec: LinePreset, cols: Mapping[str, str]) -> np.ndarray:
    """Direction code per line: 0 both, 1 forward, 2 reverse."""
    codes = np.zeros(len(gdf), dtype=np.int8)
    actual = next((cols[c.lower()] for c in spec.oneway_column if c.lower() in cols), None)
    if actual is None:
        if spec.oneway_column:
            logger.info("no direction column (%s): every line is two-way", spec.oneway_column)
        return codes
    values = _as_text(gdf[actual])
    lower = {k.lower(): _DIRECTION_CODE[d] for k, d in spec.oneway_values.items()}
    mapped = values.str.lower().map(lower).fillna(-1).to_numpy(dtype=np.int64)
    unknown = mapped < 0
    if unknown.any():
        logger.info(
            "%d line(s) with an unknown %s value are two-way: %s",
            int(unknown.sum()),
            actual,
            format_values(sorted(values[unknown].astype(str).unique())),
        )
    codes[:] = np.where(unknown, 0, mapped)
    return codes


def _merge_endpoints(xy: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Node coordinates and the node of every end point; the number of end points merged.

    Exact coordinates first (sorted by x then y, equal neighbours grouped); then, with a
    tolerance, the distinct points closer than it are grouped by single linkage (k-d tree
    pairs, connected components) and placed at their mean.
    """
    order = np.lexsort((xy[:, 1], xy[:, 0]))
    sxy = xy[order]
    new = np.ones(len(sxy), dtype=bool)
    new[1:] = (sxy[1:, 0] != sxy[:-1, 0]) | (sxy[1:, 1] != sxy[:-1, 1])
    inverse = np.empty(len(xy), dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    pts = sxy[new]
    if tolerance <= 0 or len(pts) < 2:
        return pts, inverse, 0
    pairs = cKDTree(pts).query_pairs(r=tolerance, output_type="ndarray")
    if pairs.size == 0:
        return pts, inverse, 0
    n = len(pts)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    n_groups, group = connected_components(graph, directed=False)
    # Number the merged nodes in the order of their first member (coordinate order).
    first = np.full(n_groups, n, dtype=np.int64)
    np.minimum.at(first, group, np.arange(n))
    rank = np.empty(n_groups, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(n_groups)
    group = rank[group]
    counts = np.bincount(group, minlength=n_groups)
    merged = np.c_[
        np.bincount(group, weights=pts[:, 0], minlength=n_groups) / counts,
        np.bincount(group, weights=pts[:, 1], minlength=n_groups) / counts,
    ]
    return merged, group[inverse], int(n - n_groups)


def _line_ends(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat coordinates of the lines, their line index, and the first/last vertex positions."""
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    first = np.searchsorted(index, np.arange(len(geoms)))
    last = np.r_[first[1:], len(index)] - 1
    return coords, index, np.c_[first, last]


def _move_ends(
    coords: np.ndarray, index: np.ndarray, ends: np.ndarray, start: np.ndarray, end: np.ndarray
) -> np.ndarray:
    """Lines rebuilt with their first and last vertices moved to ``start`` and ``end``."""
    coords = coords.copy()
    coords[ends[:, 0]] = start
    coords[ends[:, 1]] = end
    out = np.empty(len(ends), dtype=object)
    out[:] = list(shapely.linestrings(coords, indices=index))
    return out


def _largest_component(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bool per node: in the largest strongly connected component (ties: smallest node)."""
    graph = coo_matrix((np.ones(u.size), (u, v)), shape=(n, n)).tocsr()
    _, label = connected_components(graph, directed=True, connection="strong")
    sizes = np.bincount(label)
    first = np.full(sizes.size, n, dtype=np.int64)
    np.minimum.at(first, label, np.arange(n))
    best = min(range(sizes.size), key=lambda c: (-sizes[c], first[c]))
    return label == best


@dataclass(frozen=True)
class _Lines:
    """Cleaned lines: geometry, class, direction, speed, name."""

    geoms: np.ndarray
    highway: np.ndarray
    direction: np.ndarray
    speed: np.ndarray
    refs: np.ndarray | None
    dropped: dict[str, int]


def _clean_lines(gdf: gpd.GeoDataFrame, spec: LinePreset, where: str) -> _Lines:
    """Classify, drop what is not a road, split multi-part lines, force 2D."""
    cols = _column_map(c for c in gdf.columns if c != gdf.geometry.name)
    highway = _classify(gdf, spec, cols, where)
    direction = _directions(gdf, spec, cols)
    speed = np.full(len(gdf), np.nan)
    if spec.speed_column and spec.speed_column.lower() in cols:
        speed = pd.to_numeric(gdf[cols[spec.speed_column.lower()]], errors="coerce").to_numpy(
            dtype=float
        )
    refs = None
    if spec.name_column and spec.name_column.lower() in cols:
        refs = _as_text(gdf[cols[spec.name_column.lower()]]).fillna("").to_numpy(dtype=object)
    geoms = gdf.geometry.to_numpy()
    empty = pd.isna(geoms) | shapely.is_empty(np.where(pd.isna(geoms), None, geoms))
    no_class = pd.isna(highway)
    keep = ~empty & ~no_class
    dropped = {"empty": int(empty.sum()), "not_a_road": int((~empty & no_class).sum())}
    geoms = geoms[keep]
    if shapely.has_z(geoms).any():
        geoms = shapely.force_2d(geoms)
    idx = np.flatnonzero(keep)
    kinds = shapely.get_type_id(geoms)
    if (kinds != 1).any():  # multi-part lines: one line per part
        parts, owner = shapely.get_parts(geoms, return_index=True)
        geoms, idx = np.asarray(parts, dtype=object), idx[owner]
        kinds = shapely.get_type_id(geoms)
    if (kinds != 1).any():
        bad = sorted(set(kinds[kinds != 1].tolist()))
        raise DataError(f"{where}: expected LineStrings; found geometry type ids {bad}")
    return _Lines(
        geoms=np.asarray(geoms, dtype=object),
        highway=highway[idx],
        direction=direction[idx],
        speed=speed[idx],
        refs=None if refs is None else refs[idx],
        dropped=dropped,
    )


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


def _build(
    gdf: gpd.GeoDataFrame,
    spec: LinePreset,
    *,
    where: str,
    snap_tolerance_m: float,
    speeds: Mapping[str, float],
    detours: Mapping[str, float],
) -> tuple[LineNetwork, dict[str, Any]]:
    """The network arrays and the figures for the graph attributes."""
    lines = _clean_lines(gdf, spec, where)
    if len(lines.geoms) == 0:
        raise NetworkError(f"{where}: no road line left after classification")
    coords, index, ends = _line_ends(lines.geoms)
    m = len(lines.geoms)
    nodes, endpoint_node, merged = _merge_endpoints(
        np.vstack([coords[ends[:, 0]], coords[ends[:, 1]]]), snap_tolerance_m
    )
    a, b = endpoint_node[:m], endpoint_node[m:]
    geoms = lines.geoms
    if merged:
        geoms = _move_ends(coords, index, ends, nodes[a], nodes[b])
        logger.info(
            "line ends within %.1f m merged: %d end point(s) joined a neighbour",
            snap_tolerance_m,
            merged,
        )
    loops = a == b
    geom_len = shapely.length(geoms)
    fwd = (lines.direction != 2) & ~loops
    bwd = (lines.direction != 1) & ~loops
    feature = np.r_[np.flatnonzero(fwd), np.flatnonzero(bwd)]
    reverse = np.r_[np.zeros(int(fwd.sum()), bool), np.ones(int(bwd.sum()), bool)]
    u = np.where(reverse, b[feature], a[feature])
    v = np.where(reverse, a[feature], b[feature])

    keep_node = _largest_component(len(nodes), u, v)
    keep_edge = keep_node[u]  # an edge of the component has both ends in it
    used = np.zeros(m, dtype=bool)
    used[feature] = True
    kept = np.zeros(m, dtype=bool)
    kept[feature[keep_edge]] = True
    kept_features = np.flatnonzero(kept)
    dropped_features = np.flatnonzero(used & ~kept)
    new_node = np.cumsum(keep_node) - 1
    new_feature = np.full(m, -1, dtype=np.int64)
    new_feature[kept_features] = np.arange(kept_features.size)
    feat_class, names = pd.factorize(lines.highway, sort=True)
    classes = tuple(str(c) for c in names)
    feature = feature[keep_edge]
    klass = feat_class[feature].astype(np.int16)
    speed_col = lines.speed[feature]
    from_column = np.isfinite(speed_col) & (speed_col > 0)
    class_speed = _class_values(classes, speeds, "speed")
    missing = [c for c, s in zip(classes, class_speed, strict=True) if np.isnan(s)]
    if missing:
        logger.info(
            "line classes without a speed (%.0f km/h used): %s",
            DEFAULT_FALLBACK_SPEED_KPH,
            format_values(missing),
        )
        class_speed = np.where(np.isnan(class_speed), DEFAULT_FALLBACK_SPEED_KPH, class_speed)
    class_detour = np.nan_to_num(_class_values(classes, detours, "detour", 1.0), nan=1.0)
    speed = np.where(from_column, speed_col, class_speed[klass])
    length = geom_len[feature] * class_detour[klass]
    unsnappable = np.array([c in spec.unsnappable for c in classes], dtype=bool)
    snappable = np.zeros(len(nodes), dtype=bool)
    ok = ~unsnappable[klass]
    snappable[new_node[u[keep_edge][ok]]] = True
    snappable[new_node[v[keep_edge][ok]]] = True
    snappable = snappable[: int(keep_node.sum())]
    net = LineNetwork(
        x=nodes[keep_node, 0].copy(),
        y=nodes[keep_node, 1].copy(),
        snappable=snappable,
        u=new_node[u[keep_edge]],
        v=new_node[v[keep_edge]],
        feature=new_feature[feature],
        reverse=reverse[keep_edge],
        klass=klass,
        classes=classes,
        geometry_length=geom_len[feature],
        length=length,
        speed_kph=speed,
        travel_time=length / (speed / 3.6),
        speed_from_column=from_column,
        geometries=geoms[kept_features],
        refs=None if lines.refs is None else lines.refs[kept_features],
        attrs={},
    )
    dropped_nodes = int((~keep_node).sum())
    dropped_km = float((geom_len[dropped_features] * class_detour[feat_class[dropped_features]]).sum())
    log = logger.warning if dropped_nodes > 0.05 * len(nodes) else logger.info
    log(
        "largest strongly connected component: kept %d of %d nodes; dropped %d nodes, %.2f km "
        "of road",
        net.n_nodes,
        len(nodes),
        dropped_nodes,
        dropped_km / 1000.0,
    )
    figures = {
        "snap_merged": merged,
        "self_loops": int(loops.sum()),
        "dropped_nodes": dropped_nodes,
        "dropped_km": round(dropped_km / 1000.0, 3),
        "dropped_empty": lines.dropped["empty"],
        "dropped_not_a_road": lines.dropped["not_a_road"],
    }
    return net, figures


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
        national layer's largest component is the mainland; Corsica (833 nodes) needs a
        polygon around it.

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
    available, where = _source_columns(source, layer)
    spec = _resolve_spec(available, preset, columns, where)
    area = _area(polygon)
    calib = _preset_calibration(spec, calibration)
    table, detour = _speed_tables(spec, calib, speeds, detours)
    params = {
        "preset": spec.name,
        "spec": _canonical(spec),
        "snap_tolerance_m": float(snap_tolerance_m),
        "speeds": table,
        "detours": detour,
        "calibration": calib or {},
        "layer": layer,
        "polygon": None if area is None else area.wkt,
        "format": LINES_FORMAT_VERSION,
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
        net, figures = _build(
            gdf, spec, where=where, snap_tolerance_m=snap_tolerance_m, speeds=table, detours=detour
        )
        attrs = {
            "crs": settings.default_crs,
            "source": f"{spec.label} {Path(where).name}" if where != "GeoDataFrame" else spec.label,
            "source_date": _file_date(where),
            "kind": LINES_KIND,
            "preset": spec.name,
            "schematic": False,
            "params": json.dumps(
                {k: params[k] for k in ("preset", "snap_tolerance_m", "speeds", "detours", "layer")},
                sort_keys=True,
                default=str,
            ),
            "calibrated": bool(calib),
            **figures,
            **_snap_defaults(calib),
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
            return net
        except (ValueError, KeyError, TypeError) as exc:
            logger.warning("line network cache entry %s is unusable (%s); rebuilt", key[:12], exc)
    net = build()
    _cache.store_payload(key, net.to_bytes(), {"kind": LINES_KIND, "source": where}, ".npz")
    return net


def _canonical(value: Any) -> Any:
    """A JSON-able, order-independent form of a preset (sets sorted), for cache keys."""
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
) -> nx.MultiDiGraph:
    """Road graph of a line layer, in the package's graph model.

    Parameters are those of :func:`line_network`. Node ids are ``0..n-1`` (end points in
    coordinate order); nodes carry ``x``, ``y`` (EPSG:2154) and ``snappable``; edges
    ``length`` (m), ``highway``, ``speed_kph``, ``travel_time`` (s), ``speed_source``,
    ``geometry`` and ``ref`` (road number, when the layer has one).

    Returns
    -------
    networkx.MultiDiGraph
        Strongly connected. Graph attributes: ``crs``, ``source``, ``source_date``,
        ``kind="lines"``, ``preset``, ``schematic=False``, ``params`` (JSON), ``calibrated``,
        ``snap_merged`` (end points merged by the tolerance), ``self_loops``,
        ``dropped_nodes``, ``dropped_km``, ``dropped_empty``, ``dropped_not_a_road`` and, when
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
    )
    return net.to_graph()
