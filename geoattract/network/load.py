"""The network stage's entry points: source dispatch, the study's source and :class:`Network`.

:func:`load_graph` picks the loader from the source (``"online"``, ``"schematic"`` or a
file); :func:`resolve_source` reads the source of a study (``[network] source``);
:func:`build_network` is what the pipeline calls: the graph of a study with its summary,
caption and snapping rule.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import shapely
from shapely.geometry import MultiPolygon, Polygon

from geoattract.config import StudyConfig
from geoattract.errors import DataError, format_values
from geoattract.network.caption import NetworkCaption, network_caption
from geoattract.network.files import graph_from_file
from geoattract.network.lines import LINE_LAYER_SUFFIXES, graph_from_lines, is_line_layer
from geoattract.network.model import graph_summary
from geoattract.network.osm import graph_from_osm_online, graph_from_osm_xml, graph_from_pbf
from geoattract.network.schematic import schematic_network
from geoattract.network.snapping import SnapRule

#: Sources that are not files.
NAMED_SOURCES: tuple[str, ...] = ("schematic", "online")

#: Largest share of the study's town halls that may lie beyond the snapping limit of a road
#: network (islands without a bridge, a commune at the edge of an extract); above it the
#: network does not cover the study: an error, not a study of unreachable communes.
MAX_UNCOVERED_SHARE: float = 0.05

#: Source of a study whose ``[network]`` section names none.
DEFAULT_SOURCE: str = "schematic"


def load_graph(
    source: str | os.PathLike,
    *,
    polygon: Polygon | MultiPolygon | gpd.GeoSeries | None = None,
    territory: gpd.GeoDataFrame | None = None,
    **kwargs: Any,
) -> nx.MultiDiGraph:
    """Load a road graph from any supported source.

    Parameters
    ----------
    source : str or path-like
        ``"online"`` (Overpass), ``"schematic"`` (from commune geometry), or a file ending in
        ``.osm.pbf``/``.pbf``, ``.osm``/``.xml``, ``.graphml``, ``.gpkg`` (a graph saved by
        :func:`~geoattract.network.model.save_graph_gpkg`, or a line layer), or another line
        layer (Shapefile, GeoJSON, FlatGeobuf, GeoParquet) read by
        :func:`~geoattract.network.lines.graph_from_lines` (its preset detected from the columns).
    polygon : Polygon, MultiPolygon or GeoSeries, optional
        Area for "online" (the union of the territory when not given), ``.pbf`` and line
        layers (the graph keeps the roads that touch it).
    territory : GeoDataFrame, optional
        Territory (study and buffer communes, from
        :func:`geoattract.territory.load.load_territory`): needed by "schematic", and by
        "online" without a ``polygon``.
    **kwargs
        Passed to the loader (``poles=`` for "schematic"…).

    Returns
    -------
    networkx.MultiDiGraph
        The graph model.

    Raises
    ------
    DataNotFoundError, DataError, NetworkError
        From the loaders; DataError for an unknown source, or a source that needs a
        territory without one.
    """
    text = str(source)
    low = text.lower()
    if low in NAMED_SOURCES:
        if low == "schematic" or polygon is None:
            if territory is None:
                raise DataError(
                    f"load_graph: source {low!r} needs the territory (territory=, from "
                    "geoattract.territory.load_territory)"
                )
            if low == "schematic":
                return schematic_network(territory, **kwargs)
            polygon = territory.geometry
        return graph_from_osm_online(polygon, **kwargs)
    if low.endswith((".osm.pbf", ".pbf")):
        return graph_from_pbf(text, polygon=polygon, **kwargs)
    if low.endswith((".osm", ".xml")):
        return graph_from_osm_xml(text, **kwargs)
    if low.endswith(LINE_LAYER_SUFFIXES) and is_line_layer(text):
        return graph_from_lines(text, polygon=polygon, **kwargs)
    if low.endswith((".graphml", ".gpkg")):
        return graph_from_file(text, **kwargs)
    if not Path(text).exists() and Path(text).suffix == "":
        raise DataError(
            f"unknown network source {text!r}: use 'online', 'schematic' or a file "
            "(.osm.pbf, .osm, .graphml, .gpkg, or a line layer)"
        )
    raise DataError(
        f"{text}: unknown road network file type; expected .osm.pbf, .osm, .graphml, .gpkg "
        f"(a saved graph or a line layer) or a line layer ({', '.join(LINE_LAYER_SUFFIXES)})"
    )


def resolve_source(config: StudyConfig, source: str | os.PathLike | None = None) -> str:
    """Return the road source of a study: ``"schematic"``, ``"online"`` or a file path.

    Parameters
    ----------
    config : StudyConfig
        The study; its ``[network] source`` (``"schematic"`` when absent).
    source : str or path-like, optional
        Overrides the configured source.

    Returns
    -------
    str
        A named source in lower case, or a file path; a relative path is taken relative
        to the study's data folder.
    """
    configured = config.section("network").get("source") or DEFAULT_SOURCE
    text = str(configured if source is None else source)
    if text.lower() in NAMED_SOURCES:
        return text.lower()
    path = Path(text)
    return str(path if path.is_absolute() else config.data_dir / path)


@dataclass(frozen=True)
class Network:
    """The network stage's result.

    Attributes
    ----------
    graph : networkx.MultiDiGraph
        The road graph (package graph model, strongly connected).
    summary : dict
        :func:`~geoattract.network.model.graph_summary` of the graph.
    caption : NetworkCaption
        What every output says about the network (from the graph's metadata).
    snap_rule : SnapRule
        How points join this network (the study's ``[network]`` keys for its kind).
    """

    graph: nx.MultiDiGraph
    summary: dict[str, Any]
    caption: NetworkCaption
    snap_rule: SnapRule

    @property
    def schematic(self) -> bool:
        """Whether the graph is the schematic fallback."""
        return self.caption.schematic


def build_network(
    config: StudyConfig,
    territory: gpd.GeoDataFrame,
    *,
    source: str | os.PathLike | None = None,
) -> Network:
    """Build the road network of a study: the pipeline's network stage.

    The source is :func:`resolve_source`'s. An online download and a ``.osm.pbf`` extract
    are clipped to the union of the territory's polygons; the schematic network takes its
    poles from ``[network] schematic_poles`` (derived from the population when absent).

    Parameters
    ----------
    config : StudyConfig
        The study (``[network]`` section: source, poles, snapping keys).
    territory : GeoDataFrame
        Study and buffer communes, from :func:`geoattract.territory.load.load_territory`.
    source : str or path-like, optional
        Overrides ``[network] source`` (as the ``network`` command's ``--source``).

    Returns
    -------
    Network

    Raises
    ------
    DataNotFoundError, DataError, NetworkError
        From the loaders.
    """
    section = config.section("network")
    resolved = resolve_source(config, source)
    if resolved == "schematic":
        G = load_graph(resolved, territory=territory, poles=section.get("schematic_poles"))
    else:
        polygon = shapely.union_all(territory.geometry.values)
        G = load_graph(
            resolved,
            territory=territory,
            polygon=polygon,
            **_line_options(config, resolved, territory),
        )
    caption = network_caption(G)
    rule = SnapRule.for_graph(G, section)
    check_coverage(G, territory, rule, caption.source)
    return Network(graph=G, summary=graph_summary(G), caption=caption, snap_rule=rule)


def _line_options(config: StudyConfig, source: str, territory: gpd.GeoDataFrame) -> dict[str, Any]:
    """Options of a line layer (none for another source).

    ``preset`` and ``calibration`` of ``[network]``, and the town halls of the territory
    (study and buffer communes) as ``split_points``: the lines are split where a town hall
    meets them (:func:`geoattract.network.split.split_at_points`). Facilities are not split
    points: they keep node snapping.
    """
    if not (source.lower().endswith(LINE_LAYER_SUFFIXES) and is_line_layer(source)):
        return {}
    section = config.section("network")
    options: dict[str, Any] = {}
    if "town_hall" in territory:
        options["split_points"] = gpd.GeoSeries(
            territory["town_hall"].to_numpy(), index=territory.index, crs=territory.crs
        )
    if section.get("preset"):
        options["preset"] = section["preset"]
    calibration = section.get("calibration")
    if calibration is not None:
        path = Path(calibration)
        options["calibration"] = (
            None
            if calibration.lower() == "none"
            else str(path if path.is_absolute() else config.data_dir / path)
        )
    return options


def check_coverage(
    G: nx.MultiDiGraph, territory: gpd.GeoDataFrame, rule: SnapRule, source: str
) -> None:
    """Check that a road network reaches the study's town halls.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        The road graph.
    territory : GeoDataFrame
        Study and buffer communes (``code``, ``nom``, ``in_study``, ``town_hall``).
    rule : SnapRule
        The snapping rule of the network.
    source : str
        Name of the network in messages.

    Raises
    ------
    DataError
        More than :data:`MAX_UNCOVERED_SHARE` of the study's town halls are farther than the
        snapping limit from the network (the network does not cover the study).
    """
    study = territory[territory["in_study"].astype(bool)]
    halls = gpd.GeoSeries(study["town_hall"].to_numpy(), index=study.index, crs=territory.crs)
    labels = [f"{n} ({c})" for n, c in zip(study["nom"], study["code"], strict=True)]
    snapped = rule.snap(G, halls, ids=labels, what="town hall(s) of the study", on_far="flag")
    far = snapped.index[snapped["too_far"].to_numpy(dtype=bool)]
    if len(far) > MAX_UNCOVERED_SHARE * len(study):
        raise DataError(
            f"road network {source} does not cover the study: {len(far)} of {len(study)} town "
            f"halls are farther than {rule.max_distance_m:.0f} m from it ({format_values(far)})"
        )
