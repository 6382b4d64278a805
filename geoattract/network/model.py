"""The road graph model: connectivity, graph attributes, export, summary and caption.

Every loader returns a :class:`networkx.MultiDiGraph` with

* node attributes ``x``, ``y`` (EPSG:2154 metres);
* edge attributes ``length`` (m), ``highway`` (one class, str), ``speed_kph``,
  ``travel_time`` (s), plus ``speed_source`` / ``length_maxspeed`` (how much of the edge
  has a speed from a ``maxspeed`` tag) and, when known, ``geometry`` (LineString, EPSG:2154);
* graph attributes ``crs`` (``"EPSG:2154"``), ``source``, ``source_date``, ``kind`` (one of
  :data:`GRAPH_KINDS`), ``params`` (JSON string of the loader parameters), ``schematic``
  (bool), ``dropped_nodes`` and ``dropped_km`` (what :func:`largest_scc` removed) and,
  optionally, ``notes`` (a French clause on the network's limits, shown in its caption).

:func:`finalize_graph` gives a loaded graph its strongly connected core and these attributes;
:func:`~geoattract.network.caption.network_caption` turns them into the caption every output
shows.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString

from geoattract import settings
from geoattract._util.io import write_gpkg_atomic
from geoattract.errors import DataError, NetworkError, format_values
from geoattract.network.speeds import main_highway, parse_maxspeed

logger = logging.getLogger(__name__)

#: CRS of every graph the package returns (Lambert-93).
GRAPH_CRS: str = settings.default_crs

#: Values of the graph attribute ``kind``: which family of loader built the graph.
GRAPH_KINDS: tuple[str, ...] = ("osm", "file", "schematic", "lines")

#: Notes after the date in ``source_date``: the file's modification date stands for the
#: vintage of a file that holds none; an OSM extract's vintage is its latest edit.
FILE_DATE_NOTE: str = " (file date)"
LATEST_EDIT_NOTE: str = " (latest edit)"

#: Log a warning when :func:`largest_scc` drops more than this share of the nodes.
DROPPED_WARN_SHARE: float = 0.05

#: Graph attributes written to the ``metadata`` layer by :func:`save_graph_gpkg`.
METADATA_KEYS: tuple[str, ...] = (
    "crs",
    "source",
    "source_date",
    "kind",
    "params",
    "schematic",
    "notes",
    "dropped_nodes",
    "dropped_km",
)


# --------------------------------------------------------------------------------------
# Connectivity and graph attributes
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


def finalize_graph(
    G: nx.MultiDiGraph,
    *,
    source: str,
    source_date: str,
    kind: str,
    params: Mapping[str, Any],
    schematic: bool = False,
    notes: str | None = None,
) -> nx.MultiDiGraph:
    """Keep the largest strongly connected component and set the model's graph attributes.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        A loaded graph with ``length`` and ``travel_time`` on its edges.
    source, source_date : str
        Where the roads come from and their vintage.
    kind : str
        One of :data:`GRAPH_KINDS`.
    params : mapping
        Loader parameters (stored as a JSON string).
    schematic : bool
        Whether the graph is the schematic fallback.
    notes : str, optional
        French clause on the network's limits, added to its caption.

    Returns
    -------
    networkx.MultiDiGraph
        A new graph.

    Raises
    ------
    NetworkError
        If ``G`` has no edge.
    DataError
        If ``kind`` is not in :data:`GRAPH_KINDS`.
    """
    check_kind(kind, source)
    if G.number_of_edges() == 0:
        raise NetworkError(f"{source}: no drivable road in the area (0 edges after filtering)")
    H = largest_scc(G)
    H.graph.update(
        crs=GRAPH_CRS,
        source=source,
        source_date=source_date,
        kind=kind,
        params=json.dumps(dict(params), sort_keys=True, default=str),
        schematic=bool(schematic),
    )
    if notes:
        H.graph["notes"] = notes
    logger.info(
        "road graph from %s: %d nodes, %d edges, %.1f km of road",
        source,
        H.number_of_nodes(),
        H.number_of_edges(),
        road_km(H),
    )
    return H


def check_kind(kind: str, source: str) -> None:
    """Raise a DataError naming ``source`` when ``kind`` is not one of :data:`GRAPH_KINDS`."""
    if kind not in GRAPH_KINDS:
        raise DataError(f"{source}: graph kind {kind!r} is not one of {format_values(GRAPH_KINDS)}")


def is_missing(value: Any) -> bool:
    """Whether an attribute value is missing (None or a float NaN)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def file_date(path: str | os.PathLike) -> str:
    """Modification date (ISO, UTC) of a source file: the vintage of a file without one."""
    return datetime.fromtimestamp(Path(path).stat().st_mtime, UTC).date().isoformat()


# --------------------------------------------------------------------------------------
# Export and summary
# --------------------------------------------------------------------------------------


def _edge_geometry(G: nx.MultiDiGraph, u: Any, v: Any, data: Mapping[str, Any]) -> LineString:
    geom = data.get("geometry")
    if geom is not None:
        return geom
    return LineString([(G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])])


def _to_column(values: list[Any]) -> list[Any]:
    """Make a column GeoPackage-writable: lists/dicts become JSON, mixed objects strings."""
    kinds = {type(v) for v in values if not is_missing(v)}
    if kinds <= {int, float, np.int64, np.float64} or kinds <= {bool, np.bool_} or kinds <= {str}:
        return values
    return [
        None
        if is_missing(v)
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
    node_rows = [{"node": n, **dict(d)} for n, d in G.nodes(data=True)]
    frame = pd.DataFrame(node_rows)
    if "node" not in frame:
        frame = pd.DataFrame(columns=["node", "x", "y"])
    nodes = gpd.GeoDataFrame(
        {c: _to_column(frame[c].tolist()) for c in frame.columns},
        geometry=shapely.points(frame["x"].to_numpy(float), frame["y"].to_numpy(float)),
        crs=GRAPH_CRS,
    )
    edge_rows, geoms = [], []
    for u, v, k, d in G.edges(keys=True, data=True):
        edge_rows.append(
            {"u": u, "v": v, "key": k, **{a: b for a, b in d.items() if a != "geometry"}}
        )
        geoms.append(_edge_geometry(G, u, v, d))
    table = pd.DataFrame(edge_rows)
    edges = gpd.GeoDataFrame(
        {c: _to_column(table[c].tolist()) for c in table.columns}, geometry=geoms, crs=GRAPH_CRS
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
        The written file; read it back with
        :func:`~geoattract.network.files.graph_from_file`.

    Raises
    ------
    DataError
        If an edge lacks ``travel_time``.
    """
    lacking = [
        (u, v, k)
        for u, v, k, d in G.edges(keys=True, data=True)
        if is_missing(d.get("travel_time"))
    ]
    if lacking:
        raise DataError(
            f"save_graph_gpkg: {len(lacking)} edges lack 'travel_time': {format_values(lacking)}"
        )
    nodes, edges = graph_to_gdfs(G)
    meta = {
        k: (json.dumps(v, default=str) if isinstance(v, dict | list) else v)
        for k, v in G.graph.items()
        if k in METADATA_KEYS and v is not None
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
            tagged = not math.isnan(parse_maxspeed(d.get("maxspeed")))
            lm = float(d.get("length", 0.0)) if tagged else 0.0
        tagged_edges += lm > 0
        tagged_m += float(lm)
        total_m += float(d.get("length", 0.0))
        tt = d.get("travel_time")
        tt_missing += is_missing(tt) or not float(tt) >= 0
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
