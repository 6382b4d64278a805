"""Saved road graphs: osmnx GraphML files and GeoPackages written by ``save_graph_gpkg``.

:func:`graph_from_file` reads either into the package's graph model (cached on disk, see
:mod:`geoattract.network.cache`). A GraphML written by OSMnx holds OpenStreetMap data and is
of kind ``"osm"``, any other GraphML of kind ``"file"``; a GeoPackage keeps the kind it was
saved with.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj

from geoattract._util.io import require_file
from geoattract.errors import DataError, NetworkError, format_values
from geoattract.network import cache
from geoattract.network.model import (
    FILE_DATE_NOTE,
    GRAPH_CRS,
    file_date,
    finalize_graph,
    is_missing,
)
from geoattract.network.osm import filter_drivable
from geoattract.network.speeds import (
    add_edge_speeds,
    add_edge_travel_times,
    main_highway,
    parse_maxspeed,
)

#: Graph-file formats :func:`graph_from_file` reads.
GRAPH_FILE_SUFFIXES: tuple[str, ...] = (".graphml", ".gpkg")

#: Start of the ``created_with`` graph attribute of GraphML files written by OSMnx.
OSMNX_SIGNATURE: str = "OSMnx"

#: Columns each layer of a graph GeoPackage must hold.
GPKG_COLUMNS: dict[str, tuple[str, ...]] = {
    "nodes": ("node", "x", "y"),
    "edges": ("u", "v", "key", "length", "highway", "speed_kph", "travel_time"),
}


def graph_from_file(
    path: str | os.PathLike,
    *,
    drive_only: bool = True,
    include_service: bool = False,
    recompute_speeds: bool = False,
) -> nx.MultiDiGraph:
    """Load a saved graph: osmnx GraphML (``.graphml``) or a GeoPackage of ``save_graph_gpkg``.

    GraphML graphs are projected to EPSG:2154 and, when ``drive_only``, filtered to
    drivable classes (:func:`~geoattract.network.osm.filter_drivable`; osmnx graphs of
    network type "all" hold footways too). Edges without ``travel_time`` (or all edges when
    ``recompute_speeds``) get speeds and travel times from ``maxspeed``/``highway``; this
    needs ``length`` and ``highway``.

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
    if suffix not in GRAPH_FILE_SUFFIXES:
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

    return cache.cached_graph("file", cache.file_identity(p), params, build)


# --------------------------------------------------------------------------------------
# GraphML
# --------------------------------------------------------------------------------------


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
        _require_highway(G, p)
        G = filter_drivable(G, include_service=include_service)
    if G.number_of_edges() == 0:
        raise NetworkError(f"{p}: no drivable edge in the graph")
    G = _graphml_speeds(G, p, recompute=recompute_speeds)
    date = str(G.graph.get("created_date") or file_date(p) + FILE_DATE_NOTE)
    osm = str(G.graph.get("created_with", "")).startswith(OSMNX_SIGNATURE)
    return finalize_graph(
        G,
        source=f"GraphML {p.name}",
        source_date=date,
        kind="osm" if osm else "file",
        params=params,
    )


def _require_highway(G: nx.MultiDiGraph, p: Path) -> None:
    missing_hw = sum(1 for *_, d in G.edges(data=True) if "highway" not in d)
    if missing_hw == G.number_of_edges() and G.number_of_edges():
        raise DataError(
            f"{p}: edge attribute 'highway' is missing on every edge; cannot filter "
            "drivable roads (pass drive_only=False for a graph already filtered)"
        )


def _graphml_speeds(G: nx.MultiDiGraph, p: Path, *, recompute: bool) -> nx.MultiDiGraph:
    """Speeds and travel times of a GraphML graph: computed when missing, else completed."""
    if recompute or any("travel_time" not in d for *_, d in G.edges(data=True)):
        for attr in ("length", "highway"):
            lacking = sum(1 for *_, d in G.edges(data=True) if d.get(attr) is None)
            if lacking:
                raise DataError(
                    f"{p}: edges have no 'travel_time' and {lacking} of {G.number_of_edges()} "
                    f"edges lack the edge attribute {attr!r} needed to compute it"
                )
        return add_edge_travel_times(add_edge_speeds(G))
    for _, _, d in G.edges(data=True):
        d["highway"] = main_highway(d.get("highway"))
        tt = float(d["travel_time"])
        d.setdefault("speed_kph", float(d["length"]) / tt * 3.6 if tt > 0 else math.nan)
        tagged = not math.isnan(parse_maxspeed(d.get("maxspeed")))
        d.setdefault("speed_source", "maxspeed" if tagged else "default")
        d.setdefault("length_maxspeed", float(d["length"]) if tagged else 0.0)
    return G


# --------------------------------------------------------------------------------------
# GeoPackage
# --------------------------------------------------------------------------------------


def _gpkg_layers(p: Path) -> set[str]:
    import pyogrio

    try:
        layers = {str(name) for name, _ in pyogrio.list_layers(p)}
    except Exception as exc:
        raise NetworkError(f"{p}: cannot read the GeoPackage: {type(exc).__name__}: {exc}") from exc
    missing = set(GPKG_COLUMNS) - layers
    if missing:
        raise DataError(
            f"{p}: layer(s) {format_values(sorted(missing))} missing; found {format_values(sorted(layers))}"
        )
    return layers


def _gpkg_metadata(p: Path, layers: set[str]) -> dict[str, str]:
    if "metadata" not in layers:
        return {}
    m = pd.DataFrame(gpd.read_file(p, layer="metadata").drop(columns="geometry", errors="ignore"))
    return dict(zip(m["key"].astype(str), m["value"].astype(str), strict=True))


def _read_graph_gpkg(p: Path) -> nx.MultiDiGraph:
    layers = _gpkg_layers(p)
    nodes = gpd.read_file(p, layer="nodes")
    edges = gpd.read_file(p, layer="edges")
    for layer, frame in (("nodes", nodes), ("edges", edges)):
        lacking = [c for c in GPKG_COLUMNS[layer] if c not in frame.columns]
        if lacking:
            raise DataError(f"{p}: layer {layer!r} lacks column(s) {format_values(lacking)}")
    bad = edges["travel_time"].isna() | ~(edges["travel_time"] >= 0)
    if bad.any():
        raise DataError(
            f"{p}: layer 'edges' has {int(bad.sum())} rows with a missing or negative travel_time"
        )
    meta = _gpkg_metadata(p, layers)
    G = nx.MultiDiGraph()
    for rec in pd.DataFrame(nodes.drop(columns="geometry")).to_dict("records"):
        n = rec.pop("node")
        G.add_node(_node_id(n), **{str(k): v for k, v in rec.items() if not is_missing(v)})
    geoms = edges.geometry.to_numpy()
    for rec, geom in zip(
        pd.DataFrame(edges.drop(columns="geometry")).to_dict("records"), geoms, strict=True
    ):
        u, v, k = _node_id(rec.pop("u")), _node_id(rec.pop("v")), int(rec.pop("key"))
        attrs = {str(a): b for a, b in rec.items() if not is_missing(b)}
        if geom is not None:
            attrs["geometry"] = geom
        G.add_edge(u, v, key=k, **attrs)
    schematic = meta.get("schematic", "False") == "True"
    G.graph.update(
        crs=meta.get("crs", GRAPH_CRS),
        source=meta.get("source", f"GeoPackage {p.name}"),
        source_date=meta.get("source_date", file_date(p)),
        kind=meta.get("kind", "schematic" if schematic else "file"),
        params=meta.get("params", "{}"),
        schematic=schematic,
        dropped_nodes=int(float(meta.get("dropped_nodes", 0))),
        dropped_km=float(meta.get("dropped_km", 0.0)),
    )
    if meta.get("notes"):
        G.graph["notes"] = meta["notes"]
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
