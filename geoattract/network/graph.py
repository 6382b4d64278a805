"""Road network: OSM loaders, drive filtering, strongly connected core, schematic fallback.

Every loader returns the package's graph model, a :class:`networkx.MultiDiGraph` with

* node attributes ``x``, ``y`` (EPSG:2154 metres);
* edge attributes ``length`` (m), ``highway`` (one class, str), ``speed_kph``,
  ``travel_time`` (s), plus ``speed_source`` / ``length_maxspeed`` (how much of the edge
  has a speed from a ``maxspeed`` tag) and, when known, ``geometry`` (LineString, EPSG:2154);
* graph attributes ``crs`` (``"EPSG:2154"``), ``source``, ``source_date``, ``params``
  (JSON string of the loader parameters), ``schematic`` (bool), ``dropped_nodes`` and
  ``dropped_km`` (what :func:`largest_scc` removed).

Loaders: :func:`graph_from_osm_online` (Overpass through osmnx), :func:`graph_from_pbf`
(pyrosm), :func:`graph_from_osm_xml` (osmnx), :func:`graph_from_file` (GraphML or a
GeoPackage written by :func:`save_graph_gpkg`), :func:`schematic_network` (offline fallback
built from commune geometry) and :func:`load_graph`, which dispatches on the source. All are
cached on disk (see :mod:`geoattract.network.cache`).
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import tempfile
import time
import warnings
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from geoattract import settings
from geoattract._util.io import require_file, write_gpkg_atomic
from geoattract.errors import DataError, NetworkError, format_values
from geoattract.network import cache as _cache
from geoattract.network.speeds import (
    DRIVE_HIGHWAYS,
    add_edge_speeds,
    add_edge_travel_times,
    highway_classes,
    main_highway,
    parse_maxspeed,
)

__all__ = [
    "DETOUR_FACTOR",
    "GRAPH_CRS",
    "LOT_ET_GARONNE_POLES",
    "MIN_SHARED_BORDER_M",
    "SCHEMATIC_LINK_CLASSES",
    "SCHEMATIC_SPEEDS",
    "SCHEMATIC_SOURCE",
    "filter_drivable",
    "graph_from_file",
    "graph_from_osm_online",
    "graph_from_osm_xml",
    "graph_from_pbf",
    "graph_summary",
    "graph_to_gdfs",
    "largest_scc",
    "load_graph",
    "network_command",
    "road_km",
    "save_graph_gpkg",
    "schematic_network",
    "town_hall_nodes",
]

logger = logging.getLogger(__name__)

#: CRS of every graph the package returns (Lambert-93).
GRAPH_CRS: str = settings.default_crs

#: ``access`` / ``motor_vehicle`` / ``motorcar`` values that close a way to cars.
CLOSED_ACCESS: frozenset[str] = frozenset({"no", "private"})

#: ``oneway`` values meaning "only in the drawing direction" / "only against it" (OSM wiki
#: Key:oneway, the values osmnx accepts).
ONEWAY_FORWARD: frozenset[str] = frozenset({"yes", "true", "1"})
ONEWAY_REVERSE: frozenset[str] = frozenset({"-1", "reverse"})

#: Classes that are one-way unless tagged otherwise (OSM wiki: ``oneway=yes`` is implied on
#: motorways; OSRM's car profile does the same), besides ``junction=roundabout``.
IMPLIED_ONEWAY_HIGHWAYS: frozenset[str] = frozenset({"motorway"})

#: Log a warning when :func:`largest_scc` drops more than this share of the nodes.
DROPPED_WARN_SHARE: float = 0.05

#: Timeout (s) of the TCP probe of the Overpass server made before an online download, so
#: that a machine without internet fails in seconds instead of waiting for osmnx's pauses.
ONLINE_PROBE_TIMEOUT_S: float = 5.0

#: Edge attributes summed (not listed) when osmnx simplification merges edges.
SIMPLIFY_SUMS: tuple[str, ...] = ("length", "travel_time", "length_maxspeed")

# --------------------------------------------------------------------------------------
# Schematic network constants
# --------------------------------------------------------------------------------------

#: Source label of schematic graphs.
SCHEMATIC_SOURCE: str = "schematic (commune geometry)"

#: Ratio road distance / straight-line distance applied to each schematic leg (town hall →
#: border point). Circuity factors measured between cities are 1.2–1.4 in most countries
#: (Ballou, Rahardja & Sakai 2002, "Selected country circuity factors for road travel
#: distance estimation", Transportation Research A 36(9); Boscoe et al. 2012 find 1.4 on
#: average for the US). The zigzag through border points and intermediate communes already
#: adds about 15 %, so 1.1 per leg gives a route about 1.28 times the crow-fly distance
#: between town halls (median from Agen to the 318 other study communes; 10–90 %: 1.21–1.37).
DETOUR_FACTOR: float = 1.1

#: Two communes are linked when their shared boundary is at least this long (m); a corner
#: touch (a single point or a few metres) is not taken as a road crossing.
MIN_SHARED_BORDER_M: float = 100.0

#: Prefecture and sub-prefectures of Lot-et-Garonne: Agen, Marmande, Nérac,
#: Villeneuve-sur-Lot. Links touching them are at least "secondary".
LOT_ET_GARONNE_POLES: tuple[str, ...] = ("47001", "47157", "47195", "47323")

#: Link classes by the smaller population of the two linked communes, most important first:
#: (minimum population, class). Links touching a pole are at least "secondary".
SCHEMATIC_LINK_CLASSES: tuple[tuple[float, str], ...] = (
    (5_000.0, "primary"),
    (1_000.0, "secondary"),
    (0.0, "tertiary"),
)

#: Average speed (km/h) of a schematic link between two town halls. A link bundles the
#: best road between two centres, including the slow crossing of both villages, so these are
#: inter-commune averages, not the OSM class averages of :data:`FRENCH_DEFAULT_SPEEDS`:
#: departmental roads limited to 80 km/h outside villages, 50 inside. There is no motorway
#: class: long trips that real drivers make on the A62 come out slower than reality.
SCHEMATIC_SPEEDS: dict[str, float] = {"primary": 80.0, "secondary": 70.0, "tertiary": 65.0}

#: Vintage of the commune geometry the schematic network is built from (COG 2025).
SCHEMATIC_SOURCE_DATE: str = "2025"


# --------------------------------------------------------------------------------------
# Shared pipeline
# --------------------------------------------------------------------------------------


def road_km(G: nx.MultiDiGraph, edges: Iterable[tuple[Any, Any, Any]] | None = None) -> float:
    """Kilometres of road: a two-way road (two directed edges of equal length) counts once.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Edges need ``length`` (m).
    edges : iterable of (u, v, key), optional
        Subset of edges; all edges when not given.

    Returns
    -------
    float
        Kilometres.
    """
    keys = G.edges(keys=True) if edges is None else edges
    seen: set[tuple[Any, Any, float]] = set()
    total = 0.0
    for u, v, k in keys:
        length = float(G.edges[u, v, k].get("length", 0.0))
        a, b = (u, v) if _sort_key(u) <= _sort_key(v) else (v, u)
        tag = (a, b, round(length, 1))
        if tag in seen:
            continue
        seen.add(tag)
        total += length
    return total / 1000.0


def _sort_key(node: Any) -> tuple[int, int, str]:
    """Total order on node ids of mixed types: integers first, then strings."""
    if isinstance(node, int | np.integer):
        return (0, int(node), "")
    return (1, 0, str(node))


def largest_scc(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Keep the largest strongly connected component; record what was dropped.

    Routing between any two nodes needs strong connectivity: dead ends created by the study
    area's edge or by one-way errors would otherwise give unreachable pairs.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Edges need ``length`` (m).

    Returns
    -------
    networkx.MultiDiGraph
        A new graph with graph attributes ``dropped_nodes`` (int) and ``dropped_km``
        (road km of the removed edges, a two-way road counted once). Ties between
        components of equal size go to the one holding the smallest node.

    Raises
    ------
    NetworkError
        If the graph has no node.
    """
    if G.number_of_nodes() == 0:
        raise NetworkError("the road graph is empty: no strongly connected component")
    comps = list(nx.strongly_connected_components(G))
    best = min(comps, key=lambda c: (-len(c), min(_sort_key(n) for n in c)))
    dropped = set(G.nodes) - best
    dropped_edges = [(u, v, k) for u, v, k in G.edges(keys=True) if u in dropped or v in dropped]
    km = road_km(G, dropped_edges)
    H = G.subgraph(best).copy()
    H.graph.update(G.graph)
    H.graph["dropped_nodes"] = len(dropped)
    H.graph["dropped_km"] = round(km, 3)
    share = len(dropped) / G.number_of_nodes()
    log = logger.warning if share > DROPPED_WARN_SHARE else logger.info
    log(
        "largest strongly connected component: kept %d of %d nodes; dropped %d nodes, %.2f km "
        "of road (%d components)",
        len(best),
        G.number_of_nodes(),
        len(dropped),
        km,
        len(comps),
    )
    return H


def filter_drivable(G: nx.MultiDiGraph, *, include_service: bool = False) -> nx.MultiDiGraph:
    """Keep the edges a car may use; drop the nodes left without edges.

    An edge is kept when **every** class of its ``highway`` attribute (osmnx lists merged
    ways) is in :data:`~geoattract.network.speeds.DRIVE_HIGHWAYS` (plus ``service`` when
    ``include_service``) and none of ``access``, ``motor_vehicle``, ``motorcar`` is ``no``
    or ``private``, and it is not an area (``area=yes``).

    Parameters
    ----------
    G : networkx.MultiDiGraph
        A road graph with ``highway`` on its edges.
    include_service : bool
        Keep ``service`` roads (driveways, parking aisles).

    Returns
    -------
    networkx.MultiDiGraph
        A new graph.
    """
    allowed = set(DRIVE_HIGHWAYS) | ({"service"} if include_service else set())
    H = G.copy()
    remove = []
    for u, v, k, data in H.edges(keys=True, data=True):
        classes = highway_classes(data.get("highway"))
        closed = any(
            value in CLOSED_ACCESS
            for tag in ("access", "motor_vehicle", "motorcar")
            for value in highway_classes(data.get(tag))
        )
        if (
            not classes
            or any(c not in allowed for c in classes)
            or closed
            or data.get("area") == "yes"
        ):
            remove.append((u, v, k))
    H.remove_edges_from(remove)
    H.remove_nodes_from([n for n in list(H.nodes) if H.degree(n) == 0])
    logger.debug("drive filter: removed %d of %d edges", len(remove), G.number_of_edges())
    return H


def _simplify(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Osmnx topological simplification keeping summed lengths and travel times."""
    import osmnx as ox

    aggs = {name: sum for name in SIMPLIFY_SUMS}
    H = ox.simplify_graph(G, edge_attr_aggs=aggs)
    for _, _, data in H.edges(data=True):
        data["highway"] = main_highway(data.get("highway"))
        tt = float(data["travel_time"])
        data["speed_kph"] = (
            float(data["length"]) / tt * 3.6 if tt > 0 else float(_first(data["speed_kph"]))
        )
        src = data.get("speed_source")
        if isinstance(src, list):
            data["speed_source"] = src[0] if len(set(src)) == 1 else "mixed"
    return H


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


def _finalize(
    G: nx.MultiDiGraph,
    *,
    source: str,
    source_date: str,
    params: Mapping[str, Any],
    schematic: bool = False,
) -> nx.MultiDiGraph:
    """Largest SCC + graph attributes of the model; NetworkError when nothing is left."""
    if G.number_of_edges() == 0:
        raise NetworkError(f"{source}: no drivable road in the area (0 edges after filtering)")
    H = largest_scc(G)
    H.graph.update(
        crs=GRAPH_CRS,
        source=source,
        source_date=source_date,
        params=json.dumps(dict(params), sort_keys=True, default=str),
        schematic=bool(schematic),
    )
    logger.info(
        "road graph from %s: %d nodes, %d edges, %.1f km of road",
        source,
        H.number_of_nodes(),
        H.number_of_edges(),
        road_km(H),
    )
    return H


def _osm_pipeline(
    G: nx.MultiDiGraph,
    *,
    simplify: bool,
    include_service: bool,
    source: str,
    source_date: str,
    params: Mapping[str, Any],
) -> nx.MultiDiGraph:
    """Drive filter → speeds → travel times → (simplify) → largest SCC → attributes."""
    H = filter_drivable(G, include_service=include_service)
    if H.number_of_edges() == 0:
        raise NetworkError(f"{source}: no drivable road in the area (0 edges after filtering)")
    H = add_edge_travel_times(add_edge_speeds(H))
    if simplify:
        H = _simplify(H)
    return _finalize(H, source=source, source_date=source_date, params=params)


def _polygon_2154(polygon: Any, crs: str) -> Polygon | MultiPolygon:
    if isinstance(polygon, gpd.GeoSeries | gpd.GeoDataFrame):
        crs = str(polygon.crs) if polygon.crs is not None else crs
        polygon = polygon.union_all() if hasattr(polygon, "union_all") else polygon.unary_union
    if not isinstance(polygon, Polygon | MultiPolygon) or polygon.is_empty:
        raise DataError(
            f"polygon must be a non-empty shapely Polygon or MultiPolygon; got {type(polygon).__name__}"
        )
    if not polygon.is_valid:
        polygon = shapely.make_valid(polygon)
    if pyproj.CRS(crs) != pyproj.CRS(GRAPH_CRS):
        tr = pyproj.Transformer.from_crs(crs, GRAPH_CRS, always_xy=True)
        polygon = shapely.transform(polygon, tr.transform, interleaved=False)
    return polygon


def _to_wgs84(polygon: Polygon | MultiPolygon) -> Polygon | MultiPolygon:
    tr = pyproj.Transformer.from_crs(GRAPH_CRS, "EPSG:4326", always_xy=True)
    return shapely.transform(polygon, tr.transform, interleaved=False)


def _project_nodes(G: nx.MultiDiGraph, from_crs: str) -> None:
    """Project node x/y in place from ``from_crs`` to :data:`GRAPH_CRS`."""
    nodes = list(G.nodes)
    xs = np.array([G.nodes[n]["x"] for n in nodes], dtype=float)
    ys = np.array([G.nodes[n]["y"] for n in nodes], dtype=float)
    tr = pyproj.Transformer.from_crs(from_crs, GRAPH_CRS, always_xy=True)
    px, py = tr.transform(xs, ys)
    for n, x, y in zip(nodes, px, py, strict=True):
        G.nodes[n]["x"] = float(x)
        G.nodes[n]["y"] = float(y)
        G.nodes[n].pop("lon", None)
        G.nodes[n].pop("lat", None)
    G.graph["crs"] = GRAPH_CRS


def _file_date(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).date().isoformat()


# --------------------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------------------


def graph_from_osm_online(
    polygon: Polygon | MultiPolygon | gpd.GeoSeries,
    *,
    network_type: str = "drive",
    crs: str = GRAPH_CRS,
    simplify: bool = True,
    include_service: bool = False,
) -> nx.MultiDiGraph:
    """Download the road network inside ``polygon`` from Overpass (osmnx).

    osmnx's own HTTP cache (``settings.cache_folder / "osmnx"``) and the graph cache are
    used when ``settings.use_cache``; requests time out after ``settings.http_timeout_s``.
    Before downloading, a TCP probe of the Overpass server (``ONLINE_PROBE_TIMEOUT_S``)
    makes a machine without internet fail in seconds.

    Parameters
    ----------
    polygon : Polygon, MultiPolygon or GeoSeries
        Study area plus buffer, in ``crs`` (a GeoSeries is dissolved, its own CRS used).
    network_type : str
        osmnx network type ("drive", "drive_service"...).
    crs : str
        CRS of ``polygon`` when it is a bare shapely geometry.
    simplify : bool
        Merge interstitial nodes (osmnx simplification), keeping summed travel times.
    include_service : bool
        Keep service roads in the drive filter.

    Returns
    -------
    networkx.MultiDiGraph
        The graph model, EPSG:2154.

    Raises
    ------
    NetworkError
        No internet / Overpass unreachable / HTTP error / no road in the polygon.
    DataError
        If ``polygon`` is not a polygon.
    """
    import osmnx as ox

    poly = _polygon_2154(polygon, crs)
    params = {
        "network_type": network_type,
        "simplify": simplify,
        "include_service": include_service,
    }
    identity = {"polygon_wkt": shapely.to_wkt(poly, rounding_precision=1)}

    def build() -> nx.MultiDiGraph:
        _probe_overpass(ox.settings.overpass_url)
        old = (ox.settings.requests_timeout, ox.settings.use_cache, ox.settings.cache_folder)
        ox.settings.requests_timeout = settings.http_timeout_s
        ox.settings.use_cache = settings.use_cache
        ox.settings.cache_folder = str(Path(settings.cache_folder) / "osmnx")
        try:
            G = ox.graph_from_polygon(
                _to_wgs84(poly), network_type=network_type, simplify=False, retain_all=True
            )
        except Exception as exc:
            raise _network_error(exc, ox.settings.overpass_url) from exc
        finally:
            ox.settings.requests_timeout, ox.settings.use_cache, ox.settings.cache_folder = old
        G = ox.project_graph(G, to_crs=GRAPH_CRS)
        today = datetime.now(UTC).date().isoformat()
        return _osm_pipeline(
            G,
            simplify=simplify,
            include_service=include_service,
            source=f"OpenStreetMap via Overpass ({ox.settings.overpass_url})",
            source_date=today,
            params=params,
        )

    return _cache.cached_graph("osm_online", identity, params, build)


def _probe_overpass(url: str) -> None:
    parsed = urlparse(url)
    host = parsed.hostname or ""
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=ONLINE_PROBE_TIMEOUT_S):
            pass
    except OSError as exc:
        raise NetworkError(
            f"cannot reach the Overpass server {url} ({exc}). No internet? Use a local "
            "OSM file (--source FILE.osm.pbf / .osm / .graphml / .gpkg) or --source schematic."
        ) from exc


def _network_error(exc: Exception, url: str) -> NetworkError:
    import osmnx as ox
    import requests

    if isinstance(exc, ox._errors.InsufficientResponseError):
        return NetworkError(f"Overpass ({url}) returned no road for the polygon: {exc}")
    if isinstance(
        exc, requests.exceptions.RequestException | OSError | ox._errors.ResponseStatusCodeError
    ):
        return NetworkError(
            f"download from Overpass ({url}) failed: {type(exc).__name__}: {exc}. No internet? "
            "Use a local OSM file or --source schematic."
        )
    return NetworkError(
        f"osmnx failed to build the graph from Overpass ({url}): {type(exc).__name__}: {exc}"
    )


def graph_from_pbf(
    path: str | os.PathLike,
    *,
    polygon: Polygon | MultiPolygon | gpd.GeoSeries | None = None,
    network_type: str = "driving",
    crs: str = GRAPH_CRS,
    simplify: bool = True,
    include_service: bool = False,
) -> nx.MultiDiGraph:
    """Build the road graph from a local ``.osm.pbf`` extract with pyrosm.

    pyrosm returns one edge per segment between consecutive way nodes. An edge is added in
    the drawing direction, and in the opposite direction unless the way is one-way:
    ``oneway`` in :data:`ONEWAY_FORWARD`, ``junction=roundabout`` or a class of
    :data:`IMPLIED_ONEWAY_HIGHWAYS` (forward only), ``oneway`` in :data:`ONEWAY_REVERSE`
    (reverse only). Lengths are pyrosm's (great-circle metres).

    Parameters
    ----------
    path : path-like
        The PBF file.
    polygon : Polygon, MultiPolygon or GeoSeries, optional
        Keep only the roads inside (its bounding box is passed to pyrosm, then nodes outside
        the polygon are dropped).
    network_type : str
        pyrosm network type ("driving", "driving+service").
    crs : str
        CRS of a bare shapely ``polygon``.
    simplify : bool
        osmnx topological simplification after travel times are computed.
    include_service : bool
        Keep service roads in the drive filter.

    Returns
    -------
    networkx.MultiDiGraph
        The graph model, EPSG:2154.

    Raises
    ------
    DataNotFoundError
        If the file does not exist.
    NetworkError
        If the file cannot be parsed (truncated, corrupt) or holds no road in the area.
    """
    p = require_file(path, "OSM PBF file")
    poly = None if polygon is None else _polygon_2154(polygon, crs)
    params = {
        "network_type": network_type,
        "simplify": simplify,
        "include_service": include_service,
        "polygon_wkt": None if poly is None else shapely.to_wkt(poly, rounding_precision=1),
    }

    def build() -> nx.MultiDiGraph:
        nodes, edges = _read_pbf(p, poly, network_type)
        G = _graph_from_segments(nodes, edges)
        if poly is not None:
            inside = shapely.contains_xy(
                poly, *np.array([[d["x"], d["y"]] for _, d in G.nodes(data=True)]).T
            )
            G.remove_nodes_from([n for n, ok in zip(list(G.nodes), inside, strict=True) if not ok])
        stamp = (
            pd.to_numeric(edges.get("timestamp"), errors="coerce").max()
            if "timestamp" in edges
            else np.nan
        )
        date = (
            datetime.fromtimestamp(int(stamp), UTC).date().isoformat() + " (latest edit)"
            if pd.notna(stamp) and stamp > 0
            else _file_date(p) + " (file date)"
        )
        return _osm_pipeline(
            G,
            simplify=simplify,
            include_service=include_service,
            source=f"OpenStreetMap PBF {p.name}",
            source_date=date,
            params=params,
        )

    return _cache.cached_graph("pbf", _cache.file_identity(p), params, build)


def _read_pbf(
    path: Path, poly: Polygon | MultiPolygon | None, network_type: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    import pyrosm

    bbox = None if poly is None else list(shapely.bounds(_to_wgs84(poly)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            osm = pyrosm.OSM(str(path), bounding_box=bbox)
            result = osm.get_network(
                network_type=network_type,
                nodes=True,
                extra_attributes=["junction", "access", "motor_vehicle", "motorcar", "area"],
            )
    except Exception as exc:  # pyrosm/protobuf raise many unrelated types on bad files
        raise NetworkError(
            f"{path}: cannot read the OSM PBF file (truncated or corrupt?): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    nodes, edges = result if isinstance(result, tuple) else (None, None)
    if nodes is None or edges is None or len(edges) == 0:
        raise NetworkError(
            f"{path}: no '{network_type}' road in the area"
            + ("" if poly is None else " of the polygon")
        )
    return pd.DataFrame(nodes.drop(columns="geometry")), pd.DataFrame(
        edges.drop(columns="geometry")
    )


def _graph_from_segments(nodes: pd.DataFrame, edges: pd.DataFrame) -> nx.MultiDiGraph:
    tr = pyproj.Transformer.from_crs("EPSG:4326", GRAPH_CRS, always_xy=True)
    x, y = tr.transform(nodes["lon"].to_numpy(float), nodes["lat"].to_numpy(float))
    G = nx.MultiDiGraph(crs=GRAPH_CRS)
    G.add_nodes_from(
        (int(n), {"x": float(a), "y": float(b)}) for n, a, b in zip(nodes["id"], x, y, strict=True)
    )
    keep = [
        "highway",
        "maxspeed",
        "name",
        "ref",
        "lanes",
        "access",
        "motor_vehicle",
        "motorcar",
        "area",
        "junction",
    ]
    cols = [c for c in keep if c in edges.columns]
    oneway = (
        edges["oneway"].astype("string").str.lower()
        if "oneway" in edges
        else pd.Series(pd.NA, index=edges.index, dtype="string")
    )
    junction = (
        edges["junction"].astype("string")
        if "junction" in edges
        else pd.Series(pd.NA, index=edges.index, dtype="string")
    )
    forward = (
        oneway.isin(ONEWAY_FORWARD)
        | (junction == "roundabout")
        | (edges["highway"].isin(IMPLIED_ONEWAY_HIGHWAYS) & ~oneway.isin({"no", "false", "0"}))
    )
    reverse = oneway.isin(ONEWAY_REVERSE)
    records = edges[cols].astype(object).where(edges[cols].notna(), None).to_dict("records")
    for rec, u, v, length, osmid, fwd, rev in zip(
        records,
        edges["u"],
        edges["v"],
        edges["length"],
        edges["id"],
        forward.fillna(False).to_numpy(bool),
        reverse.fillna(False).to_numpy(bool),
        strict=True,
    ):
        attrs = {k: val for k, val in rec.items() if val is not None}
        attrs.update(osmid=int(osmid), length=float(length), oneway=bool(fwd or rev))
        u, v = int(u), int(v)
        if u not in G or v not in G:
            continue
        if rev:
            G.add_edge(v, u, **attrs, reversed=True)
            continue
        G.add_edge(u, v, **attrs, reversed=False)
        if not fwd:
            G.add_edge(v, u, **attrs, reversed=True)
    return G


def graph_from_osm_xml(
    path: str | os.PathLike,
    *,
    simplify: bool = True,
    include_service: bool = False,
) -> nx.MultiDiGraph:
    """Build the road graph from an OSM XML file (``.osm``) with osmnx.

    osmnx reads every way of the file (``graph_from_xml`` applies no network-type filter)
    with ``retain_all=True`` and ``simplify=False``: the drive filter, travel times, the
    simplification and the strongly connected core are then applied as for the other
    loaders, so all of them give the same model. A clipped extract whose ways reference
    nodes absent from the file (osmnx refuses it) is first copied with each way cut to its
    longest run of present nodes (logged).

    Parameters
    ----------
    path : path-like
        The ``.osm`` file.
    simplify : bool
        osmnx topological simplification after travel times are computed.
    include_service : bool
        Keep service roads in the drive filter.

    Returns
    -------
    networkx.MultiDiGraph
        The graph model, EPSG:2154.

    Raises
    ------
    DataNotFoundError
        If the file does not exist.
    NetworkError
        If the file is not valid OSM XML or holds no drivable road.
    """
    p = require_file(path, "OSM XML file")
    params = {"simplify": simplify, "include_service": include_service}

    def build() -> nx.MultiDiGraph:
        try:
            G = _xml_graph(p)
        except ValueError as exc:
            if "missing nodes" not in str(exc):
                raise NetworkError(f"{p}: cannot read the OSM XML file: {exc}") from exc
            with tempfile.TemporaryDirectory(prefix="geoattract-osm-") as tmp:
                clean = Path(tmp) / "clipped.osm"
                _drop_missing_node_refs(p, clean)
                G = _xml_graph(clean, original=p)
        if G.number_of_edges() == 0:
            raise NetworkError(f"{p}: no way in the OSM XML file")
        _project_nodes(G, "EPSG:4326")
        return _osm_pipeline(
            G,
            simplify=simplify,
            include_service=include_service,
            source=f"OpenStreetMap XML {p.name}",
            source_date=_file_date(p) + " (file date)",
            params=params,
        )

    return _cache.cached_graph("osm_xml", _cache.file_identity(p), params, build)


def _xml_graph(path: Path, original: Path | None = None) -> nx.MultiDiGraph:
    import osmnx as ox

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ox.graph_from_xml(path, simplify=False, retain_all=True)
    except ValueError:
        raise
    except Exception as exc:  # ElementTree / osmnx errors
        raise NetworkError(
            f"{original or path}: cannot read the OSM XML file: {type(exc).__name__}: {exc}"
        ) from exc


def _drop_missing_node_refs(src: Path, dst: Path) -> None:
    """Copy an OSM file keeping, for each way, its longest run of nodes present in the file.

    Extracts clipped without ``complete_ways`` reference nodes they do not hold; osmnx
    refuses them. Ways with fewer than two present nodes are dropped; relations are not
    copied (the road graph does not use them).
    """
    import osmium

    try:
        present = {o.id for o in osmium.FileProcessor(str(src), osmium.osm.NODE)}
        truncated = dropped = 0
        with osmium.SimpleWriter(str(dst), overwrite=True) as writer:
            for obj in osmium.FileProcessor(str(src), osmium.osm.NODE | osmium.osm.WAY):
                if obj.is_node():
                    writer.add_node(obj)
                    continue
                refs = [r.ref for r in obj.nodes]
                runs: list[list[int]] = [[]]
                for ref in refs:
                    if ref in present:
                        runs[-1].append(ref)
                    elif runs[-1]:
                        runs.append([])
                best = max(runs, key=len)
                if len(best) < 2:
                    dropped += 1
                    continue
                truncated += len(best) != len(refs)
                writer.add_way(obj.replace(nodes=best))
    except RuntimeError as exc:
        raise NetworkError(f"{src}: cannot read the OSM XML file: {exc}") from exc
    logger.warning(
        "%s: clipped extract: %d ways cut to their longest run of present nodes, %d ways "
        "dropped (fewer than 2 nodes in the file)",
        src,
        truncated,
        dropped,
    )


def graph_from_file(
    path: str | os.PathLike,
    *,
    drive_only: bool = True,
    include_service: bool = False,
    recompute_speeds: bool = False,
) -> nx.MultiDiGraph:
    """Load a saved graph: osmnx GraphML (``.graphml``) or a GeoPackage of :func:`save_graph_gpkg`.

    GraphML graphs are projected to EPSG:2154 and, when ``drive_only``, filtered to
    drivable classes (:func:`filter_drivable`; osmnx graphs of network type "all" hold
    footways too). Edges without ``travel_time`` (or all edges when ``recompute_speeds``)
    get speeds and travel times from ``maxspeed``/``highway``; this needs ``length`` and
    ``highway``.

    Parameters
    ----------
    path : path-like
        ``.graphml`` or ``.gpkg``.
    drive_only : bool
        Keep drivable edges only (GraphML).
    include_service : bool
        Keep service roads in the drive filter.
    recompute_speeds : bool
        Recompute speeds even when travel times are present.

    Returns
    -------
    networkx.MultiDiGraph
        The graph model, EPSG:2154.

    Raises
    ------
    DataNotFoundError
        If the file does not exist.
    DataError
        If the format is unknown, or travel times are missing and ``length`` or ``highway``
        (named in the message) too.
    NetworkError
        If the file cannot be parsed or no drivable edge is left.
    """
    p = require_file(path, "road graph file")
    suffix = p.suffix.lower()
    if suffix not in {".graphml", ".gpkg"}:
        raise DataError(f"{p}: unknown graph format {suffix!r}; expected .graphml or .gpkg")
    params = {
        "drive_only": drive_only,
        "include_service": include_service,
        "recompute_speeds": recompute_speeds,
    }

    def build() -> nx.MultiDiGraph:
        if suffix == ".gpkg":
            return _read_graph_gpkg(p)
        return _read_graphml(
            p,
            drive_only=drive_only,
            include_service=include_service,
            recompute_speeds=recompute_speeds,
            params=params,
        )

    return _cache.cached_graph("file", _cache.file_identity(p), params, build)


def _read_graphml(
    p: Path,
    *,
    drive_only: bool,
    include_service: bool,
    recompute_speeds: bool,
    params: Mapping[str, Any],
) -> nx.MultiDiGraph:
    import osmnx as ox

    try:
        G = ox.load_graphml(p)
    except Exception as exc:  # XML / type-conversion errors
        raise NetworkError(
            f"{p}: cannot read the GraphML file: {type(exc).__name__}: {exc}"
        ) from exc
    crs = G.graph.get("crs")
    if crs is None:
        raise DataError(f"{p}: GraphML graph attribute 'crs' is missing")
    if pyproj.CRS(crs) != pyproj.CRS(GRAPH_CRS):
        G = ox.project_graph(G, to_crs=GRAPH_CRS)
    G.graph["crs"] = GRAPH_CRS
    if drive_only:
        missing_hw = sum(1 for *_, d in G.edges(data=True) if "highway" not in d)
        if missing_hw == G.number_of_edges() and G.number_of_edges():
            raise DataError(
                f"{p}: edge attribute 'highway' is missing on every edge; cannot filter "
                "drivable roads (pass drive_only=False for a graph already filtered)"
            )
        G = filter_drivable(G, include_service=include_service)
    if G.number_of_edges() == 0:
        raise NetworkError(f"{p}: no drivable edge in the graph")
    need = recompute_speeds or any("travel_time" not in d for *_, d in G.edges(data=True))
    if need:
        for attr in ("length", "highway"):
            lacking = sum(1 for *_, d in G.edges(data=True) if d.get(attr) is None)
            if lacking:
                raise DataError(
                    f"{p}: edges have no 'travel_time' and {lacking} of {G.number_of_edges()} "
                    f"edges lack the edge attribute {attr!r} needed to compute it"
                )
        G = add_edge_travel_times(add_edge_speeds(G))
    else:
        for _, _, d in G.edges(data=True):
            d["highway"] = main_highway(d.get("highway"))
            d.setdefault(
                "speed_kph",
                float(d["length"]) / float(d["travel_time"]) * 3.6
                if float(d["travel_time"]) > 0
                else math.nan,
            )
            tagged = not math.isnan(parse_maxspeed(d.get("maxspeed")))
            d.setdefault("speed_source", "maxspeed" if tagged else "default")
            d.setdefault("length_maxspeed", float(d["length"]) if tagged else 0.0)
    date = str(G.graph.get("created_date") or _file_date(p) + " (file date)")
    return _finalize(G, source=f"GraphML {p.name}", source_date=date, params=params)


def _read_graph_gpkg(p: Path) -> nx.MultiDiGraph:
    import pyogrio

    try:
        layers = {name for name, _ in pyogrio.list_layers(p)}
    except Exception as exc:
        raise NetworkError(f"{p}: cannot read the GeoPackage: {type(exc).__name__}: {exc}") from exc
    missing = {"nodes", "edges"} - layers
    if missing:
        raise DataError(
            f"{p}: layer(s) {format_values(sorted(missing))} missing; found {format_values(sorted(layers))}"
        )
    nodes = gpd.read_file(p, layer="nodes")
    edges = gpd.read_file(p, layer="edges")
    for frame, cols, layer in (
        (nodes, ("node", "x", "y"), "nodes"),
        (edges, ("u", "v", "key", "length", "highway", "speed_kph", "travel_time"), "edges"),
    ):
        lacking = [c for c in cols if c not in frame.columns]
        if lacking:
            raise DataError(f"{p}: layer {layer!r} lacks column(s) {format_values(lacking)}")
    bad = edges["travel_time"].isna() | ~(edges["travel_time"] >= 0)
    if bad.any():
        raise DataError(
            f"{p}: layer 'edges' has {int(bad.sum())} rows with a missing or negative travel_time"
        )
    meta: dict[str, Any] = {}
    if "metadata" in layers:
        m = pd.DataFrame(
            gpd.read_file(p, layer="metadata").drop(columns="geometry", errors="ignore")
        )
        meta = dict(zip(m["key"].astype(str), m["value"].astype(str), strict=True))
    G = nx.MultiDiGraph()
    for rec in pd.DataFrame(nodes.drop(columns="geometry")).to_dict("records"):
        n = rec.pop("node")
        G.add_node(_node_id(n), **{k: v for k, v in rec.items() if not _is_missing(v)})
    geoms = edges.geometry.to_numpy()
    for rec, geom in zip(
        pd.DataFrame(edges.drop(columns="geometry")).to_dict("records"), geoms, strict=True
    ):
        u, v, k = _node_id(rec.pop("u")), _node_id(rec.pop("v")), int(rec.pop("key"))
        attrs = {a: b for a, b in rec.items() if not _is_missing(b)}
        if geom is not None:
            attrs["geometry"] = geom
        G.add_edge(u, v, key=k, **attrs)
    G.graph.update(
        crs=meta.get("crs", GRAPH_CRS),
        source=meta.get("source", f"GeoPackage {p.name}"),
        source_date=meta.get("source_date", _file_date(p)),
        params=meta.get("params", "{}"),
        schematic=meta.get("schematic", "False") == "True",
        dropped_nodes=int(float(meta.get("dropped_nodes", 0))),
        dropped_km=float(meta.get("dropped_km", 0.0)),
    )
    if pyproj.CRS(G.graph["crs"]) != pyproj.CRS(GRAPH_CRS):
        raise DataError(f"{p}: metadata crs is {G.graph['crs']!r}; expected {GRAPH_CRS}")
    return G


def _node_id(value: Any) -> Any:
    if isinstance(value, int | np.integer):
        return int(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


# --------------------------------------------------------------------------------------
# Schematic network
# --------------------------------------------------------------------------------------


def schematic_network(
    territory: gpd.GeoDataFrame,
    *,
    detour_factor: float = DETOUR_FACTOR,
    min_shared_border_m: float = MIN_SHARED_BORDER_M,
    poles: Iterable[str] = LOT_ET_GARONNE_POLES,
    link_classes: Iterable[tuple[float, str]] = SCHEMATIC_LINK_CLASSES,
    speeds: Mapping[str, float] | None = None,
    source_date: str = SCHEMATIC_SOURCE_DATE,
) -> nx.MultiDiGraph:
    """Build a schematic road network from commune geometry (offline fallback).

    Nodes are the town halls and one point per shared border (the middle of the longest
    line of the boundary two communes share, when it is at least ``min_shared_border_m``
    long). Each pair of adjacent communes A, B is linked town hall A → border point →
    town hall B, in both directions. Each leg's length is its straight-line length times
    ``detour_factor``. The link class comes from the smaller population of A and B
    (``link_classes``; a missing population counts as 0, the lowest class) and is at
    least "secondary" when A or B is a pole; its speed from ``speeds``.

    A commune with no neighbour, and any group of communes cut off from the rest, is linked
    directly (town hall to town hall) to the nearest town hall outside it, repeatedly,
    until the graph is connected; as every link is two-way it is then strongly connected.

    Parameters
    ----------
    territory : GeoDataFrame
        From :func:`geoattract.territory.load.load_territory`: ``code``, ``population``,
        ``town_hall`` (points) and polygon geometry, in a projected CRS (EPSG:2154).
    detour_factor : float
        Road / straight-line ratio per leg (≥ 1).
    min_shared_border_m : float
        Minimum shared boundary length for two communes to be linked.
    poles : iterable of str
        Codes of the prefecture and sub-prefectures.
    link_classes : iterable of (float, str)
        (minimum population, class), most important first; the last should start at 0.
    speeds : mapping, optional
        Class → km/h; :data:`SCHEMATIC_SPEEDS` by default.
    source_date : str
        Vintage of the commune geometry.

    Returns
    -------
    networkx.MultiDiGraph
        The graph model with ``schematic=True``. Town-hall nodes carry ``kind="town_hall"``
        and ``code``; border nodes ``kind="border"`` and ``code="A|B"``. Node ids are
        integers: town halls first in code order, then border points in pair order.

    Raises
    ------
    DataError
        On missing columns, a geographic CRS, duplicate codes, empty town halls or bad
        parameters.
    """
    _check_territory(territory)
    speeds = dict(SCHEMATIC_SPEEDS if speeds is None else speeds)
    link_classes = tuple(sorted(((float(p), str(c)) for p, c in link_classes), reverse=True))
    poles = tuple(sorted(set(poles)))
    unknown = {c for _, c in link_classes} - set(speeds)
    if unknown or detour_factor < 1 or min_shared_border_m < 0:
        raise DataError(
            "schematic_network: detour_factor must be ≥ 1, min_shared_border_m ≥ 0 and every link "
            f"class needs a speed; got detour_factor={detour_factor}, min_shared_border_m="
            f"{min_shared_border_m}, classes without speed {format_values(sorted(unknown))}"
        )
    t0 = time.perf_counter()
    terr = territory.sort_values("code").reset_index(drop=True)
    codes = terr["code"].astype(str).to_numpy()
    pop = terr["population"].astype(float).fillna(0.0).to_numpy()
    is_pole = np.isin(codes, poles)
    geoms = terr.geometry.to_numpy()
    halls = terr["town_hall"].to_numpy()
    hx, hy = shapely.get_x(halls), shapely.get_y(halls)
    n = len(terr)

    G = nx.MultiDiGraph()
    for i in range(n):
        G.add_node(
            i,
            x=float(hx[i]),
            y=float(hy[i]),
            kind="town_hall",
            code=codes[i],
            nom=str(terr.at[i, "nom"]) if "nom" in terr else codes[i],
        )

    def link_class(i: int, j: int) -> str:
        smaller = min(pop[i], pop[j])
        cls = next(
            (c for threshold, c in link_classes if smaller >= threshold), link_classes[-1][1]
        )
        if (is_pole[i] or is_pole[j]) and _class_rank(cls, link_classes) > _class_rank(
            "secondary", link_classes
        ):
            cls = "secondary"
        return cls

    def add_leg(a: int, b: int, cls: str, link: str) -> None:
        pa = (G.nodes[a]["x"], G.nodes[a]["y"])
        pb = (G.nodes[b]["x"], G.nodes[b]["y"])
        straight = math.dist(pa, pb)
        length = straight * detour_factor
        speed = float(speeds[cls])
        for s, t, ps, pt in ((a, b, pa, pb), (b, a, pb, pa)):
            G.add_edge(
                s,
                t,
                length=length,
                highway=cls,
                speed_kph=speed,
                travel_time=length / (speed / 3.6),
                link=link,
                speed_source="schematic",
                length_maxspeed=0.0,
                geometry=LineString([ps, pt]),
            )

    # adjacency: STRtree on polygons, shared boundary length
    tree = shapely.STRtree(geoms)
    ii, jj = tree.query(geoms, predicate="intersects")
    keep = ii < jj
    ii, jj = ii[keep], jj[keep]
    bounds = shapely.boundary(geoms)
    shared = shapely.line_merge(shapely.intersection(bounds[ii], bounds[jj]))
    lengths = shapely.length(shared)
    ok = lengths >= max(min_shared_border_m, 1e-9)
    order = np.lexsort((jj[ok], ii[ok]))
    pairs = list(zip(ii[ok][order], jj[ok][order], np.asarray(shared)[ok][order], strict=True))
    next_id = n
    for i, j, line in pairs:
        point = _border_point(line)
        G.add_node(
            next_id,
            x=float(point.x),
            y=float(point.y),
            kind="border",
            code=f"{codes[i]}|{codes[j]}",
        )
        cls = link_class(int(i), int(j))
        link = f"{codes[i]}-{codes[j]}"
        add_leg(int(i), next_id, cls, link)
        add_leg(next_id, int(j), cls, link)
        next_id += 1

    # islands and cut-off groups: link to the nearest town hall outside, until connected
    bridges: list[str] = []
    while True:
        comps = sorted(
            (sorted(c) for c in nx.weakly_connected_components(G)), key=lambda c: (-len(c), c[0])
        )
        if len(comps) <= 1:
            break
        small = comps[-1]
        inside = [k for k in small if k < n]
        outside = np.array([k for k in range(n) if k not in set(small)])
        if not inside or outside.size == 0:
            raise DataError("schematic_network: a group of border nodes has no town hall")
        tree_out = cKDTree(np.c_[hx[outside], hy[outside]])
        dist, idx = tree_out.query(np.c_[hx[inside], hy[inside]])
        best = int(np.lexsort((idx, np.asarray(inside), dist))[0])
        a, b = inside[best], int(outside[idx[best]])
        a, b = min(a, b), max(a, b)
        add_leg(a, b, link_class(a, b), f"{codes[a]}-{codes[b]} (nearest, no shared border)")
        bridges.append(f"{codes[a]}-{codes[b]}")
    if bridges:
        logger.info(
            "schematic network: %d communes/groups without a neighbour linked to the nearest "
            "town hall: %s",
            len(bridges),
            format_values(bridges),
        )
    params = {
        "detour_factor": detour_factor,
        "min_shared_border_m": min_shared_border_m,
        "poles": list(poles),
        "link_classes": [list(c) for c in link_classes],
        "speeds": speeds,
        "bridges": bridges,
        "communes": n,
    }
    H = _finalize(
        G, source=SCHEMATIC_SOURCE, source_date=source_date, params=params, schematic=True
    )
    logger.info("schematic network built in %.2f s", time.perf_counter() - t0)
    return H


def _class_rank(cls: str, link_classes: tuple[tuple[float, str], ...]) -> int:
    names = [c for _, c in link_classes]
    return names.index(cls) if cls in names else len(names)


def _border_point(line: Any) -> Point:
    """Middle of the longest line of a shared boundary (a point of a lone point)."""
    parts = list(getattr(line, "geoms", [line]))
    lines = [g for g in parts if isinstance(g, LineString) and g.length > 0]
    if not lines:
        return shapely.point_on_surface(line)
    longest = max(lines, key=lambda g: (g.length, g.wkt))
    return longest.interpolate(0.5, normalized=True)


def _check_territory(territory: gpd.GeoDataFrame) -> None:
    required = ["code", "population", "town_hall", "geometry"]
    missing = [c for c in required if c not in territory.columns]
    if missing:
        raise DataError(f"territory: missing column(s) {format_values(missing)}")
    if territory.crs is None or pyproj.CRS(territory.crs).is_geographic:
        raise DataError(
            f"territory: needs a projected CRS in metres ({GRAPH_CRS}); got {territory.crs}"
        )
    dup = territory["code"][territory["code"].duplicated()]
    if len(dup):
        raise DataError(f"territory: duplicate commune code(s) {format_values(sorted(set(dup)))}")
    halls = territory["town_hall"]
    bad = territory["code"][halls.isna() | shapely.is_empty(halls.to_numpy())]
    if len(bad):
        raise DataError(f"territory: commune(s) without a town hall point: {format_values(bad)}")
    if len(territory) == 0:
        raise DataError("territory: no commune")


def town_hall_nodes(G: nx.MultiDiGraph) -> dict[str, int]:
    """Map commune code → town-hall node of a schematic graph."""
    return {d["code"]: n for n, d in G.nodes(data=True) if d.get("kind") == "town_hall"}


# --------------------------------------------------------------------------------------
# Output, summary, dispatcher
# --------------------------------------------------------------------------------------


def _edge_geometry(G: nx.MultiDiGraph, u: Any, v: Any, data: Mapping[str, Any]) -> LineString:
    geom = data.get("geometry")
    if geom is not None:
        return geom
    return LineString([(G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])])


def _to_column(values: list[Any]) -> list[Any]:
    """Make a column GeoPackage-writable: lists/dicts become JSON, mixed objects strings."""
    kinds = {type(v) for v in values if not _is_missing(v)}
    if kinds <= {int, float, np.int64, np.float64} or kinds <= {bool, np.bool_} or kinds <= {str}:
        return values
    return [
        None
        if _is_missing(v)
        else (json.dumps(v, default=str) if isinstance(v, list | dict | tuple) else str(v))
        for v in values
    ]


def graph_to_gdfs(G: nx.MultiDiGraph) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Nodes and edges of ``G`` as GeoDataFrames (EPSG:2154), writable to a GeoPackage.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        The graph model.

    Returns
    -------
    (GeoDataFrame, GeoDataFrame)
        Nodes (column ``node`` + attributes, point geometry) and edges (``u``, ``v``,
        ``key`` + attributes, line geometry; a straight line when the edge has none).
    """
    node_rows = [{"node": n, **{k: v for k, v in d.items()}} for n, d in G.nodes(data=True)]
    nodes = pd.DataFrame(node_rows)
    if "node" not in nodes:
        nodes = pd.DataFrame(columns=["node", "x", "y"])
    nodes = gpd.GeoDataFrame(
        {c: _to_column(nodes[c].tolist()) for c in nodes.columns},
        geometry=shapely.points(nodes["x"].to_numpy(float), nodes["y"].to_numpy(float)),
        crs=GRAPH_CRS,
    )
    edge_rows, geoms = [], []
    for u, v, k, d in G.edges(keys=True, data=True):
        edge_rows.append(
            {"u": u, "v": v, "key": k, **{a: b for a, b in d.items() if a != "geometry"}}
        )
        geoms.append(_edge_geometry(G, u, v, d))
    edges = pd.DataFrame(edge_rows)
    edges = gpd.GeoDataFrame(
        {c: _to_column(edges[c].tolist()) for c in edges.columns}, geometry=geoms, crs=GRAPH_CRS
    )
    return nodes, edges


def save_graph_gpkg(G: nx.MultiDiGraph, path: str | os.PathLike) -> Path:
    """Write ``G`` to a GeoPackage (layers ``nodes``, ``edges``, ``metadata``) atomically.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        The graph model (edges need ``travel_time``).
    path : path-like
        Target ``.gpkg``; written through a temporary file and renamed.

    Returns
    -------
    pathlib.Path
        The written file; read it back with :func:`graph_from_file`.

    Raises
    ------
    DataError
        If an edge lacks ``travel_time``.
    """
    lacking = [
        (u, v, k)
        for u, v, k, d in G.edges(keys=True, data=True)
        if _is_missing(d.get("travel_time"))
    ]
    if lacking:
        raise DataError(
            f"save_graph_gpkg: {len(lacking)} edges lack 'travel_time': {format_values(lacking)}"
        )
    nodes, edges = graph_to_gdfs(G)
    meta = {
        k: (json.dumps(v, default=str) if isinstance(v, dict | list) else v)
        for k, v in G.graph.items()
        if k
        in {"crs", "source", "source_date", "params", "schematic", "dropped_nodes", "dropped_km"}
    }
    return write_gpkg_atomic(path, {"nodes": nodes, "edges": edges}, metadata=meta)


def graph_summary(G: nx.MultiDiGraph) -> dict[str, Any]:
    """Figures describing a road graph, for logs, reports and the CLI.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        The graph model.

    Returns
    -------
    dict
        ``nodes``, ``edges``, ``road_km``, ``km_by_class`` (road km per highway class, a
        two-way road counted once), ``maxspeed_edge_share`` (share of edges whose speed
        comes, at least partly, from a maxspeed tag), ``maxspeed_km_share``,
        ``travel_time_missing`` (edges without a valid travel time),
        ``strongly_connected``, ``dropped_nodes``, ``dropped_km``, ``schematic``,
        ``source``, ``source_date``, ``crs``.
    """
    by_class: dict[str, list[tuple[Any, Any, Any]]] = {}
    tagged_edges = 0
    tagged_m = 0.0
    total_m = 0.0
    tt_missing = 0
    for u, v, k, d in G.edges(keys=True, data=True):
        by_class.setdefault(main_highway(d.get("highway")) or "unknown", []).append((u, v, k))
        lm = d.get("length_maxspeed")
        if lm is None:
            lm = (
                float(d.get("length", 0.0))
                if not math.isnan(parse_maxspeed(d.get("maxspeed")))
                else 0.0
            )
        tagged_edges += lm > 0
        tagged_m += float(lm)
        total_m += float(d.get("length", 0.0))
        tt = d.get("travel_time")
        tt_missing += _is_missing(tt) or not float(tt) >= 0
    m = G.number_of_edges()
    return {
        "nodes": G.number_of_nodes(),
        "edges": m,
        "road_km": round(road_km(G), 3),
        "km_by_class": {c: round(road_km(G, e), 3) for c, e in sorted(by_class.items())},
        "maxspeed_edge_share": round(tagged_edges / m, 4) if m else math.nan,
        "maxspeed_km_share": round(tagged_m / total_m, 4) if total_m else math.nan,
        "travel_time_missing": int(tt_missing),
        "strongly_connected": bool(G.number_of_nodes()) and nx.is_strongly_connected(G),
        "dropped_nodes": int(G.graph.get("dropped_nodes", 0)),
        "dropped_km": float(G.graph.get("dropped_km", 0.0)),
        "schematic": bool(G.graph.get("schematic", False)),
        "source": G.graph.get("source"),
        "source_date": G.graph.get("source_date"),
        "crs": G.graph.get("crs"),
    }


def load_graph(
    source: str | os.PathLike,
    *,
    polygon: Polygon | MultiPolygon | gpd.GeoSeries | None = None,
    territory: gpd.GeoDataFrame | None = None,
    data_dir: str | os.PathLike | None = None,
    **kwargs: Any,
) -> nx.MultiDiGraph:
    """Load a road graph from any supported source.

    Parameters
    ----------
    source : str or path-like
        ``"online"`` (Overpass), ``"schematic"`` (from commune geometry), or a file ending in
        ``.osm.pbf``/``.pbf``, ``.osm``/``.xml``, ``.graphml`` or ``.gpkg``.
    polygon : Polygon, MultiPolygon or GeoSeries, optional
        Area for "online" (required there unless the territory is used) and ``.pbf``.
    territory : GeoDataFrame, optional
        Territory for "schematic" and the default polygon of "online" (union of the study
        and buffer communes); loaded with :func:`geoattract.territory.load.load_territory` when
        needed and not given.
    data_dir : path-like, optional
        Data folder passed to ``load_territory``.
    **kwargs
        Passed to the loader.

    Returns
    -------
    networkx.MultiDiGraph
        The graph model.

    Raises
    ------
    DataNotFoundError, DataError, NetworkError
        From the loaders; DataError for an unknown source.
    """
    text = str(source)
    low = text.lower()
    if low in {"schematic", "online"}:
        if territory is None and (low == "schematic" or polygon is None):
            from geoattract.territory.load import load_territory

            territory = load_territory(data_dir=data_dir)
        if low == "schematic":
            return schematic_network(territory, **kwargs)
        return graph_from_osm_online(territory.geometry if polygon is None else polygon, **kwargs)
    if low.endswith((".osm.pbf", ".pbf")):
        return graph_from_pbf(text, polygon=polygon, **kwargs)
    if low.endswith((".osm", ".xml")):
        return graph_from_osm_xml(text, **kwargs)
    if low.endswith((".graphml", ".gpkg")):
        return graph_from_file(text, **kwargs)
    if not Path(text).exists() and Path(text).suffix == "":
        raise DataError(
            f"unknown network source {text!r}: use 'online', 'schematic' or a file "
            "(.osm.pbf, .osm, .graphml, .gpkg)"
        )
    raise DataError(
        f"{text}: unknown road network file type; expected .osm.pbf, .osm, .graphml or .gpkg"
    )


def network_command(
    source: str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    data_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Back end of ``geoattract network --source FILE|schematic [--out FILE.gpkg]``.

    Parameters
    ----------
    source : str or path-like
        As in :func:`load_graph`.
    out : path-like, optional
        GeoPackage to write with :func:`save_graph_gpkg`.
    data_dir : path-like, optional
        Data folder (territory for "schematic"/"online").

    Returns
    -------
    dict
        :func:`graph_summary` plus ``build_seconds`` and ``out`` (path or None).
    """
    t0 = time.perf_counter()
    G = load_graph(source, data_dir=data_dir)
    summary = graph_summary(G)
    summary["build_seconds"] = round(time.perf_counter() - t0, 3)
    summary["out"] = str(save_graph_gpkg(G, out)) if out is not None else None
    return summary
