"""The network stage's entry points: the one network type, the one loader, a study's network.

:class:`Network` is the package's road network (a graph, or the arrays of a line layer, with
its caption and snapping rule): every routing function and command takes it.
:func:`load_network` is the one loader every command and the Python API use: any source
(line layers, GraphML, ``.osm``, ``.osm.pbf``, ``"online"``, ``"schematic"``), with the same
checks and errors. :func:`build_network` is what the pipeline calls: a study's network from
its ``[network]`` section, checked against its territory. :func:`load_graph` dispatches the
graph loaders of the non-line sources.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon

from geoattract._util.io import require_file
from geoattract.config import StudyConfig
from geoattract.errors import DataError, format_values
from geoattract.network.caption import NetworkCaption, network_caption
from geoattract.network.files import graph_from_file
from geoattract.network.line_model import LineNetwork
from geoattract.network.lines import (
    LINE_LAYER_SUFFIXES,
    graph_from_lines,
    is_line_layer,
    line_network,
)
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


@dataclass(frozen=True, eq=False)
class Network:
    """A road network ready to route: the one network type of the package.

    It holds either the arrays of a line layer (:class:`~geoattract.network.LineNetwork`:
    the national roads route without ever building a networkx graph) or a networkx graph
    (OpenStreetMap, GraphML, schematic), its snapping rule, and what outputs say about it.
    Routing functions (``od_matrix``, ``isochrones``, ``accessibility``) take it; make one
    with :func:`load_network` (any source) or :func:`build_network` (a study's).

    Attributes
    ----------
    snap_rule : SnapRule
        How points join this network (its kind's defaults, the study's ``[network]`` keys).
    lines : LineNetwork or None
        The arrays of a line layer (None for a graph source).
    source_graph : networkx.MultiDiGraph or None
        The graph of a non-line source (None for a line layer: :attr:`graph` builds it).

    Examples
    --------
    >>> import geoattract as ga
    >>> net = ga.load_network(ga.datasets.tiny_roads())
    >>> net.kind, net.crs
    ('lines', 'EPSG:2154')
    >>> net.caption.text_fr.startswith("Réseau routier")
    True
    """

    snap_rule: SnapRule
    lines: LineNetwork | None = None
    source_graph: nx.MultiDiGraph | None = None

    def __post_init__(self) -> None:
        """Exactly one of ``lines`` and ``source_graph``."""
        if (self.lines is None) == (self.source_graph is None):
            raise DataError("Network: give either the line arrays or a graph, not both")

    @classmethod
    def from_graph(cls, G: nx.MultiDiGraph, snap_rule: SnapRule | None = None) -> Network:
        """Wrap a graph of the package's graph model (an osmnx graph projected, a saved one…).

        Parameters
        ----------
        G : networkx.MultiDiGraph
            Nodes with ``x``, ``y`` (metres, graph attribute ``crs``), edges with
            ``travel_time`` (s) and ``length`` (m).
        snap_rule : SnapRule, optional
            Default: :meth:`SnapRule.for_graph` for the graph's kind.
        """
        return cls(snap_rule or SnapRule.for_graph(G), source_graph=G)

    @classmethod
    def from_lines(cls, lines: LineNetwork, snap_rule: SnapRule | None = None) -> Network:
        """Wrap the arrays of a line layer (:func:`~geoattract.network.line_network`)."""
        return cls(snap_rule or SnapRule.for_graph(lines.attrs), lines=lines)

    @property
    def attrs(self) -> dict[str, Any]:
        """Graph attributes: ``crs``, ``source``, ``source_date``, ``kind``, calibration…."""
        if self.lines is not None:
            return self.lines.attrs
        assert self.source_graph is not None
        return self.source_graph.graph

    @cached_property
    def graph(self) -> nx.MultiDiGraph:
        """The networkx graph (built from the line arrays on first use: seconds nationally)."""
        if self.source_graph is not None:
            return self.source_graph
        assert self.lines is not None
        return self.lines.to_graph()

    @property
    def crs(self) -> str:
        """The network's CRS (EPSG:2154 for every loader of the package)."""
        return str(self.attrs.get("crs") or "EPSG:2154")

    @property
    def kind(self) -> str:
        """``lines``, ``osm``, ``file`` or ``schematic``."""
        return str(self.attrs.get("kind") or ("schematic" if self.schematic else "file"))

    @cached_property
    def caption(self) -> NetworkCaption:
        """What every output says about the network (from its attributes only)."""
        return network_caption(self.attrs)

    @property
    def schematic(self) -> bool:
        """Whether the graph is the schematic fallback."""
        return str(self.attrs.get("schematic", False)) == "True"

    def __repr__(self) -> str:
        """One line, as networkx prints a graph: kind, size, CRS and source."""
        if self.lines is not None:
            n, m = self.lines.n_nodes, self.lines.n_edges
        else:
            n, m = self.graph.number_of_nodes(), self.graph.number_of_edges()
        source = self.attrs.get("source")
        calibrated = " calibrated" if str(self.attrs.get("calibrated", "")) == "True" else ""
        return f"<Network {self.kind}{calibrated}: {n:,} nodes, {m:,} edges, {self.crs}" + (
            f", {source}>" if source else ">"
        )

    @cached_property
    def summary(self) -> dict[str, Any]:
        """Figures for logs and the ``network`` command (see :func:`graph_summary`)."""
        if self.lines is None:
            return graph_summary(self.graph)
        net, attrs = self.lines, self.attrs
        return {
            "nodes": net.n_nodes,
            "edges": net.n_edges,
            "road_km": round(net.road_km(), 3),
            "km_by_class": {c: round(km, 3) for c, km in sorted(net.km_by_class().items())},
            "maxspeed_edge_share": 0.0,
            "maxspeed_km_share": 0.0,
            "travel_time_missing": int((~np.isfinite(net.travel_time)).sum()),
            "strongly_connected": int(attrs.get("islands", 0)) == 0,
            "islands": int(attrs.get("islands", 0)),
            "dropped_nodes": int(attrs.get("dropped_nodes", 0)),
            "dropped_km": float(attrs.get("dropped_km", 0.0)),
            "schematic": False,
            "source": attrs.get("source"),
            "source_date": attrs.get("source_date"),
            "crs": self.crs,
        }

    @cached_property
    def nodes(self) -> pd.DataFrame:
        """Nodes as a table: index node id; ``x``, ``y`` and ``snappable`` (CRS in ``.attrs``)."""
        if self.lines is not None:
            table = self.lines.nodes_frame()
        else:
            G = self.graph
            data = [d for _, d in G.nodes(data=True)]
            table = pd.DataFrame(
                {
                    "x": np.array([d.get("x", np.nan) for d in data], dtype=float),
                    "y": np.array([d.get("y", np.nan) for d in data], dtype=float),
                },
                index=pd.Index(list(G.nodes)),
            )
            flags = [d.get("snappable") for d in data]
            if any(f is not None for f in flags):
                table["snappable"] = [True if f is None else bool(f) for f in flags]
        table.attrs["crs"] = self.crs
        return table

    def snap(
        self,
        points: gpd.GeoSeries | gpd.GeoDataFrame | Any,
        *,
        ids: Any = None,
        on_far: Literal["flag", "quiet", "raise"] = "flag",
        what: str = "points",
    ) -> pd.DataFrame:
        """Join points to the network with its rule (the one snapping rule).

        Points in another CRS than the network's are refused; a point never joins a node it
        may not (a motorway between two exits).

        Parameters
        ----------
        points : GeoSeries, GeoDataFrame or sequence of shapely Points
            In the network's CRS.
        ids : sequence, optional
            Index of the result and names in messages.
        on_far : {"flag", "quiet", "raise"}
            Points beyond the rule's limit: flagged (logged), flagged silently, or an error.
        what : str
            What the points are, in messages.

        Returns
        -------
        DataFrame
            ``node``, ``snap_distance_m``, ``snap_time_s``, ``too_far`` (see
            :func:`~geoattract.network.snap_points`).
        """
        return self.snap_rule.snap(self.nodes, points, ids=ids, on_far=on_far, what=what)


def load_network(
    source: str | os.PathLike | nx.MultiDiGraph | LineNetwork | gpd.GeoDataFrame,
    *,
    area: Polygon | MultiPolygon | gpd.GeoSeries | None = None,
    town_halls: gpd.GeoSeries | None = None,
    territory: gpd.GeoDataFrame | None = None,
    section: dict[str, Any] | None = None,
    preset: str | None = None,
    calibration: Any = "default",
    layer: str | None = None,
    strict: bool = False,
) -> Network:
    """Load a road network from any source: the one loader of every command and of the API.

    Parameters
    ----------
    source : str, path-like, MultiDiGraph, LineNetwork or GeoDataFrame
        A line layer (``.gpkg``, ``.shp``, ``.geojson``, ``.fgb``, ``.parquet``: Travel
        Mapping, IGN BD TOPO, IGN ROUTE 500 or custom columns), an OSM file (``.osm.pbf``,
        ``.osm``), a GraphML (osmnx) or a graph GeoPackage saved by ``save_graph_gpkg``,
        ``"online"`` (Overpass, needs ``area`` or ``territory``), ``"schematic"`` (needs
        ``territory``), or an object already loaded (graph, line arrays, a GeoDataFrame of
        lines).
    area : Polygon, MultiPolygon or GeoSeries, optional
        Study area in EPSG:2154: the network keeps the roads that touch it (line layers,
        ``.osm.pbf``) or downloads it (``"online"``).
    town_halls : GeoSeries of points, optional
        Points a line layer is split at (each joins its nearest line at its perpendicular
        distance); a network island holding one of them stays routable.
    territory : GeoDataFrame, optional
        Study and buffer communes (``"schematic"``, and ``"online"`` without ``area``).
    section : dict, optional
        A study's ``[network]`` section: snapping keys (``snap_*``, ``schematic_*``),
        ``preset``, ``calibration``, ``layer``, ``strict``, ``schematic_poles``.
    preset, calibration, layer, strict
        Line layers: preset name (detected from the columns when absent), calibration
        (``"default"``: the preset's shipped one; a TOML path; None), layer of a multi-layer
        file, and whether class values outside the preset are an error (a warning otherwise).

    Returns
    -------
    Network

    Raises
    ------
    DataNotFoundError
        A file that does not exist.
    DataError
        An unknown source or file type, an unreadable or invalid layer (CRS, layer, classes),
        a source that needs a territory without one.
    NetworkError
        A download that fails, an area with no road.

    Examples
    --------
    >>> import geoattract as ga
    >>> net = ga.load_network(ga.datasets.tiny_roads())
    >>> net.summary["nodes"] > 0
    True
    >>> ga.load_network("roads.txt")
    Traceback (most recent call last):
    ...
    geoattract.errors.DataError: roads.txt: unknown road network file type; ...
    """
    section = dict(section or {})
    if isinstance(source, Network):
        return source
    if isinstance(source, nx.MultiDiGraph):
        return Network.from_graph(source, SnapRule.for_graph(source, section))
    if isinstance(source, LineNetwork):
        return Network.from_lines(source, SnapRule.for_graph(source.attrs, section))
    polygon = _union(area)
    if isinstance(source, gpd.GeoDataFrame) or _is_line_source(source):
        lines = line_network(
            source,
            preset=preset if preset is not None else section.get("preset"),
            calibration=_calibration(section.get("calibration"), calibration),
            layer=layer if layer is not None else section.get("layer"),
            strict=bool(strict or section.get("strict", False)),
            polygon=polygon,
            split_points=town_halls,
        )
        return Network.from_lines(lines, SnapRule.for_graph(lines.attrs, section))
    text = str(source)
    if text.lower() == "schematic":
        G = load_graph(text, territory=territory, poles=section.get("schematic_poles"))
    else:
        G = load_graph(text, territory=territory, polygon=polygon)
    return Network.from_graph(G, SnapRule.for_graph(G, section))


def _union(area: Any) -> Any:
    """One geometry of an area given as a geometry or a GeoSeries / GeoDataFrame."""
    if area is None:
        return None
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        return shapely.union_all(area.geometry.to_numpy())
    return area


def _calibration(configured: Any, given: Any) -> Any:
    """The calibration of a line layer: the argument, else ``[network] calibration``."""
    if configured is None or given != "default":
        return given
    return None if str(configured).lower() == "none" else configured


def _is_line_source(source: Any) -> bool:
    text = str(source)
    if text.lower() in NAMED_SOURCES:
        return False
    if not Path(text).exists():
        if text.lower().endswith(LINE_LAYER_SUFFIXES):
            require_file(text, "road network")
        return False
    return text.lower().endswith(LINE_LAYER_SUFFIXES) and is_line_layer(text)


def network_section(config: StudyConfig) -> dict[str, Any]:
    """A study's ``[network]`` section with its calibration file resolved in the data folder."""
    section = dict(config.section("network"))
    if section.get("calibration") is not None and str(section["calibration"]).lower() != "none":
        path = Path(section["calibration"])
        section["calibration"] = str(path if path.is_absolute() else config.data_dir / path)
    return section


def whole_network(
    config: StudyConfig, network: Network, town_halls: gpd.GeoSeries | None = None
) -> Network:
    """The network that reaches places beyond the study's territory (metropoles, Paris).

    A study's line layer is clipped to its territory; its whole layer (cached arrays, the same
    preset and calibration) is split where ``town_halls`` meet it, as the study's network is.
    Any other network is the study's own.
    """
    source = resolve_source(config)
    if network.lines is None or not _is_line_source(source):
        return network
    return load_network(source, town_halls=town_halls, section=network_section(config))


def build_network(
    config: StudyConfig,
    territory: gpd.GeoDataFrame,
    *,
    source: str | os.PathLike | None = None,
) -> Network:
    """Build the road network of a study: the pipeline's network stage.

    The source is :func:`resolve_source`'s, loaded by :func:`load_network` with the study's
    ``[network]`` section: a line layer keeps the roads touching the territory and is split at
    its town halls (study and buffer); an online download and a ``.osm.pbf`` extract are
    clipped to the territory; the schematic network takes its poles from
    ``[network] schematic_poles``. The network must then reach the study's town halls.

    Parameters
    ----------
    config : StudyConfig
        The study (``[network]`` section: source, preset, calibration, snapping keys).
    territory : GeoDataFrame
        Study and buffer communes, from :func:`geoattract.territory.load.load_territory`.
    source : str or path-like, optional
        Overrides ``[network] source`` (the ``--network`` option).

    Returns
    -------
    Network

    Raises
    ------
    DataNotFoundError, DataError, NetworkError
        From the loaders; DataError when the network does not reach the study.
    """
    section = network_section(config)
    resolved = resolve_source(config, source)
    halls = None
    if "town_hall" in territory:
        halls = gpd.GeoSeries(
            territory["town_hall"].to_numpy(), index=territory.index, crs=territory.crs
        )
    network = load_network(
        resolved,
        area=None if resolved == "schematic" else territory.geometry,
        town_halls=halls,
        territory=territory,
        section=section,
    )
    check_coverage(network, territory)
    return network


def check_coverage(network: Network, territory: gpd.GeoDataFrame) -> None:
    """Check that a road network reaches the study's town halls.

    Parameters
    ----------
    network : Network
        The road network and its snapping rule.
    territory : GeoDataFrame
        Study and buffer communes (``code``, ``nom``, ``in_study``, ``town_hall``).

    Raises
    ------
    DataError
        More than :data:`MAX_UNCOVERED_SHARE` of the study's town halls are farther than the
        snapping limit from the network (the network does not cover the study).
    """
    study = territory[territory["in_study"].astype(bool)]
    halls = gpd.GeoSeries(study["town_hall"].to_numpy(), index=study.index, crs=territory.crs)
    labels = [f"{n} ({c})" for n, c in zip(study["nom"], study["code"], strict=True)]
    snapped = network.snap(halls, ids=labels, what="town hall(s) of the study", on_far="flag")
    far = snapped.index[snapped["too_far"].to_numpy(dtype=bool)]
    if len(far) > MAX_UNCOVERED_SHARE * len(study):
        raise DataError(
            f"road network {network.caption.source} does not cover the study: {len(far)} of "
            f"{len(study)} town halls are farther than {network.snap_rule.max_distance_m:.0f} m "
            f"from it ({format_values(far)})"
        )
