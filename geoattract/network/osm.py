"""OpenStreetMap loaders: Overpass (osmnx), ``.osm.pbf`` (pyrosm) and ``.osm`` XML (osmnx).

All three follow one pipeline: drive filter (:func:`filter_drivable`) → speeds → travel
times → osmnx simplification (summing lengths and travel times) → largest strongly
connected component → graph attributes (``kind="osm"``). Each result is cached on disk
(:mod:`geoattract.network.cache`).
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import warnings
from collections.abc import Mapping
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
from shapely.geometry import MultiPolygon, Polygon

from geoattract import settings
from geoattract._util.io import require_file
from geoattract.errors import DataError, NetworkError
from geoattract.network import cache
from geoattract.network.model import (
    FILE_DATE_NOTE,
    GRAPH_CRS,
    LATEST_EDIT_NOTE,
    file_date,
    finalize_graph,
)
from geoattract.network.speeds import (
    DRIVE_HIGHWAYS,
    add_edge_speeds,
    add_edge_travel_times,
    highway_classes,
    main_highway,
)

logger = logging.getLogger(__name__)

#: ``access`` / ``motor_vehicle`` / ``motorcar`` values that close a way to cars.
CLOSED_ACCESS: frozenset[str] = frozenset({"no", "private"})

#: ``oneway`` values meaning "only in the drawing direction" / "only against it" (OSM wiki
#: Key:oneway, the values osmnx accepts).
ONEWAY_FORWARD: frozenset[str] = frozenset({"yes", "true", "1"})
ONEWAY_REVERSE: frozenset[str] = frozenset({"-1", "reverse"})

#: ``oneway`` values that cancel an implied one-way.
ONEWAY_NO: frozenset[str] = frozenset({"no", "false", "0"})

#: Classes that are one-way unless tagged otherwise (OSM wiki: ``oneway=yes`` is implied on
#: motorways; OSRM's car profile does the same), besides ``junction=roundabout``.
IMPLIED_ONEWAY_HIGHWAYS: frozenset[str] = frozenset({"motorway"})

#: Timeout (s) of the TCP probe of the Overpass server made before an online download, so
#: that a machine without internet fails in seconds instead of waiting for osmnx's pauses.
ONLINE_PROBE_TIMEOUT_S: float = 5.0

#: Edge attributes summed (not listed) when osmnx simplification merges edges.
SIMPLIFY_SUMS: tuple[str, ...] = ("length", "travel_time", "length_maxspeed")

#: Way tags kept on the edges of a PBF graph.
PBF_EDGE_TAGS: tuple[str, ...] = (
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
)

#: Extra way tags asked from pyrosm (the drive filter and one-way rules need them).
PBF_EXTRA_TAGS: tuple[str, ...] = ("junction", "access", "motor_vehicle", "motorcar", "area")


# --------------------------------------------------------------------------------------
# Shared pipeline
# --------------------------------------------------------------------------------------


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
    """Run osmnx topological simplification, keeping summed lengths and travel times."""
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
    return finalize_graph(H, source=source, source_date=source_date, kind="osm", params=params)


def _reproject(geom: Any, from_crs: Any, to_crs: Any) -> Any:
    """Reproject a shapely geometry (coordinates in x/y order)."""
    tr = pyproj.Transformer.from_crs(from_crs, to_crs, always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def _polygon_2154(polygon: Any, crs: str) -> Polygon | MultiPolygon:
    if isinstance(polygon, gpd.GeoSeries | gpd.GeoDataFrame):
        crs = str(polygon.crs) if polygon.crs is not None else crs
        polygon = polygon.union_all()
    if not isinstance(polygon, Polygon | MultiPolygon) or polygon.is_empty:
        raise DataError(
            f"polygon must be a non-empty shapely Polygon or MultiPolygon; got {type(polygon).__name__}"
        )
    if not polygon.is_valid:
        polygon = shapely.make_valid(polygon)
    if pyproj.CRS(crs) != pyproj.CRS(GRAPH_CRS):
        polygon = _reproject(polygon, crs, GRAPH_CRS)
    return polygon


def _to_wgs84(polygon: Polygon | MultiPolygon) -> Polygon | MultiPolygon:
    return _reproject(polygon, GRAPH_CRS, "EPSG:4326")


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


# --------------------------------------------------------------------------------------
# Overpass
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

    return cache.cached_graph("osm_online", identity, params, build)


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


# --------------------------------------------------------------------------------------
# PBF
# --------------------------------------------------------------------------------------


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
        return _osm_pipeline(
            G,
            simplify=simplify,
            include_service=include_service,
            source=f"OpenStreetMap PBF {p.name}",
            source_date=_pbf_date(edges, p),
            params=params,
        )

    return cache.cached_graph("pbf", cache.file_identity(p), params, build)


def _pbf_date(edges: pd.DataFrame, path: Path) -> str:
    """Latest edit timestamp of the ways, else the file date."""
    if "timestamp" in edges:
        stamp = pd.to_numeric(edges["timestamp"], errors="coerce").max()
        if pd.notna(stamp) and stamp > 0:
            return datetime.fromtimestamp(int(stamp), UTC).date().isoformat() + LATEST_EDIT_NOTE
    return file_date(path) + FILE_DATE_NOTE


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
                network_type=network_type, nodes=True, extra_attributes=list(PBF_EXTRA_TAGS)
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


def _string_column(edges: pd.DataFrame, name: str) -> pd.Series:
    if name in edges:
        return edges[name].astype("string")
    return pd.Series(pd.NA, index=edges.index, dtype="string")


def _graph_from_segments(nodes: pd.DataFrame, edges: pd.DataFrame) -> nx.MultiDiGraph:
    tr = pyproj.Transformer.from_crs("EPSG:4326", GRAPH_CRS, always_xy=True)
    x, y = tr.transform(nodes["lon"].to_numpy(float), nodes["lat"].to_numpy(float))
    G = nx.MultiDiGraph(crs=GRAPH_CRS)
    G.add_nodes_from(
        (int(n), {"x": float(a), "y": float(b)}) for n, a, b in zip(nodes["id"], x, y, strict=True)
    )
    cols = [c for c in PBF_EDGE_TAGS if c in edges.columns]
    oneway = _string_column(edges, "oneway").str.lower()
    junction = _string_column(edges, "junction")
    forward = (
        oneway.isin(ONEWAY_FORWARD)
        | (junction == "roundabout")
        | (edges["highway"].isin(IMPLIED_ONEWAY_HIGHWAYS) & ~oneway.isin(ONEWAY_NO))
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
        attrs = {str(k): val for k, val in rec.items() if val is not None}
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


# --------------------------------------------------------------------------------------
# OSM XML
# --------------------------------------------------------------------------------------


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
            source_date=file_date(p) + FILE_DATE_NOTE,
            params=params,
        )

    return cache.cached_graph("osm_xml", cache.file_identity(p), params, build)


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


def _longest_present_run(refs: list[int], present: set[int]) -> list[int]:
    """Longest run of consecutive node ids that are all in ``present`` (the first on ties)."""
    runs: list[list[int]] = [[]]
    for ref in refs:
        if ref in present:
            runs[-1].append(ref)
        elif runs[-1]:
            runs.append([])
    return max(runs, key=len)


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
                if isinstance(obj, osmium.osm.Node):
                    writer.add_node(obj)
                    continue
                if not isinstance(obj, osmium.osm.Way):
                    continue
                refs = [r.ref for r in obj.nodes]
                best = _longest_present_run(refs, present)
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
