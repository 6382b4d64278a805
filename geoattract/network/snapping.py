"""Snap points (town halls, facilities) to the nearest node of a road graph.

The access leg between a point and its node is not on the graph: its time is
``snap_time_s = snap_distance_m / (speed_kph / 3.6)`` with ``speed_kph =
settings.snap_speed_kph`` (15 km/h by default, a slow drive on a local road: deliberately
conservative). The routing stage adds it to the graph travel time at both ends of a trip.

Points farther than ``max_distance_m`` from every node are not snapped: they are reported
by id (a warning listing them, or :class:`~geoattract.errors.SnapError`).

When the nodes carry a boolean ``snappable`` attribute (graphs built from line layers, see
:mod:`geoattract.network.lines`), points join only snappable nodes: a motorway node has no
access between interchanges. :func:`snap_report` summarises the snap distances for logs.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.spatial import cKDTree

from geoattract import settings
from geoattract.errors import DataError, SnapError, format_values

logger = logging.getLogger(__name__)

#: Columns of the DataFrame :func:`snap_points` returns.
SNAP_COLUMNS: tuple[str, ...] = ("node", "snap_distance_m", "snap_time_s", "too_far")


#: Share of the radius of a disc of the commune's area used as the intra-commune leg of a
#: facility known only by its commune: 0.5·√(area/π) is close to the mean distance from a
#: point of a disc to its centre (2/3 of the radius), rounded down for town centres.
INTRA_COMMUNE_FACTOR: float = 0.5

#: Snapping limit (m) on graphs built from classified-road line layers: they have no local
#: street, so a town hall may lie a few km from the nearest junction of a numbered road (all
#: 319 town halls of Lot-et-Garonne lie within 3.5 km of a non-motorway node of the Travel
#: Mapping layer).
LINES_SNAP_MAX_DISTANCE_M: float = 10_000.0

#: Access-leg speed (km/h) on line networks without a calibration: the leg is a real drive on
#: unlisted local roads, slower than the classified roads.
LINES_SNAP_SPEED_KPH: float = 30.0

#: Access-leg detour on line networks without a calibration: road distance over straight-line
#: distance of local roads (circuity 1.2–1.4, Ballou et al. 2002; Boscoe et al. 2012).
LINES_SNAP_DETOUR: float = 1.3

#: Graph attribute ``kind`` of line networks (see :data:`geoattract.network.lines.LINES_KIND`).
LINES_GRAPH_KIND: str = "lines"

#: How many of the farthest points :func:`snap_report` names.
SNAP_REPORT_FARTHEST: int = 5


@dataclass(frozen=True)
class SnapRule:
    """How a point joins the road network: the one rule every caller uses.

    A point (town hall, facility, origin of an isochrone) joins its nearest network node by an
    access leg off the graph, of length ``distance × detour`` driven at ``speed_kph``. Points
    farther than ``max_distance_m`` are not snapped (flagged). A facility known only by its
    commune (BPE counts, tables) sits at the town hall with an extra intra-commune leg of
    ``intra_commune_factor · √(area / π)``.

    Attributes
    ----------
    max_distance_m : float
        Snapping limit in metres.
    speed_kph : float
        Speed of the access leg.
    detour : float
        Ratio of the access leg's road distance to its straight-line distance (≥ 1).
    intra_commune_factor : float
        Share of the equivalent-disc radius used as the intra-commune leg.
    dense_delay_s : float
        Seconds added at a trip end in a dense commune (parking, town-centre streets the
        network lacks), from a network's calibration (0: none).
    dense_density_per_km2 : float
        Density (inhabitants per km²) above which a commune is dense.
    """

    max_distance_m: float = field(default_factory=lambda: settings.snap_max_distance_m)
    speed_kph: float = field(default_factory=lambda: settings.snap_speed_kph)
    detour: float = 1.0
    intra_commune_factor: float = INTRA_COMMUNE_FACTOR
    dense_delay_s: float = 0.0
    dense_density_per_km2: float = math.inf

    def __post_init__(self) -> None:
        """Check the parameters."""
        if not (self.max_distance_m > 0 and self.speed_kph > 0):
            raise DataError(
                f"SnapRule: max_distance_m and speed_kph must be > 0; got "
                f"{self.max_distance_m}, {self.speed_kph}"
            )
        if not self.detour >= 1.0 or not self.intra_commune_factor >= 0:
            raise DataError(
                f"SnapRule: detour must be >= 1 and intra_commune_factor >= 0; got "
                f"{self.detour}, {self.intra_commune_factor}"
            )

    @classmethod
    def from_section(cls, section: Mapping[str, Any] | None, *, schematic: bool) -> SnapRule:
        """Make the rule a study's ``[network]`` section sets for a graph of the given kind.

        Parameters
        ----------
        section : mapping, optional
            The validated ``[network]`` section; keys ``snap_max_distance_m``,
            ``snap_speed_kph``, ``snap_detour`` (``schematic_snap_*`` on the schematic
            network). Absent keys take the defaults of :mod:`geoattract.settings`.
        schematic : bool
            Whether the graph is the schematic network.

        Returns
        -------
        SnapRule
        """
        section = section or {}
        prefix = "schematic_snap_" if schematic else "snap_"
        values = {
            "max_distance_m": section.get(prefix + "max_distance_m"),
            "speed_kph": section.get(prefix + "speed_kph"),
            "detour": section.get(prefix + "detour"),
        }
        return cls(**{k: float(v) for k, v in values.items() if v is not None})

    @classmethod
    def for_graph(
        cls, G: nx.MultiDiGraph | Mapping[str, Any], section: Mapping[str, Any] | None = None
    ) -> SnapRule:
        """Return the rule for a graph: its kind decides the defaults, the section overrides.

        Schematic graphs use the ``schematic_snap_*`` keys. Line networks (graph attribute
        ``kind="lines"``) use :data:`LINES_SNAP_MAX_DISTANCE_M` and the access leg the graph
        carries from its calibration (``snap_speed_kph``, ``snap_detour``), or
        :data:`LINES_SNAP_SPEED_KPH` and :data:`LINES_SNAP_DETOUR`; ``snap_*`` keys of the
        section win. Other graphs take :meth:`from_section`.

        Parameters
        ----------
        G : networkx.MultiDiGraph or mapping
            The road graph (its ``graph`` attributes are read) or those attributes (e.g.
            :attr:`geoattract.network.lines.LineNetwork.attrs`).
        section : mapping, optional
            The validated ``[network]`` section of the study.

        Returns
        -------
        SnapRule
        """
        attrs = G.graph if isinstance(G, nx.Graph) else G
        if attrs.get("kind") != LINES_GRAPH_KIND:
            rule = cls.from_section(section, schematic=bool(attrs.get("schematic", False)))
        else:
            section = section or {}
            values = {
                "max_distance_m": LINES_SNAP_MAX_DISTANCE_M,
                "speed_kph": attrs.get("snap_speed_kph", LINES_SNAP_SPEED_KPH),
                "detour": attrs.get("snap_detour", LINES_SNAP_DETOUR),
            }
            for key in values:
                if section.get("snap_" + key) is not None:
                    values[key] = section["snap_" + key]
            rule = cls(**{k: float(v) for k, v in values.items()})
        delay = float(attrs.get("dense_delay_min", 0.0) or 0.0) * 60.0
        density = attrs.get("dense_density_per_km2")
        if delay > 0 and density is not None:
            rule = replace(rule, dense_delay_s=delay, dense_density_per_km2=float(density))
        return rule

    def end_delay_s(self, population: Any, area_m2: Any) -> np.ndarray:
        """Seconds added at a trip end in each commune of the given population and area.

        :attr:`dense_delay_s` where the density exceeds :attr:`dense_density_per_km2`, else 0
        (also for an unknown population or area).
        """
        pop = np.asarray(population, dtype=float)
        area_km2 = np.asarray(area_m2, dtype=float) / 1e6
        with np.errstate(divide="ignore", invalid="ignore"):
            density = np.where(area_km2 > 0, pop / area_km2, np.nan)
        return self.delay_for_density(density)

    def delay_for_density(self, density_per_km2: Any) -> np.ndarray:
        """Seconds added at a trip end for the given commune densities (NaN: not dense)."""
        density = np.nan_to_num(np.asarray(density_per_km2, dtype=float), nan=0.0)
        return np.where(density > self.dense_density_per_km2, self.dense_delay_s, 0.0)

    def access_time_s(self, distance_m: Any) -> np.ndarray:
        """Seconds of an access leg of the given straight-line distance(s)."""
        return np.asarray(distance_m, dtype=float) * self.detour / (self.speed_kph / 3.6)

    def intra_commune_m(self, area_m2: Any) -> np.ndarray:
        """Intra-commune leg (metres) of a facility placed at the town hall of a commune."""
        return self.intra_commune_factor * np.sqrt(np.asarray(area_m2, dtype=float) / np.pi)

    def snap(
        self,
        G_or_nodes: nx.MultiDiGraph | pd.DataFrame,
        points: gpd.GeoSeries | gpd.GeoDataFrame | Sequence[Any],
        *,
        ids: Sequence[Any] | pd.Index | None = None,
        on_far: Literal["flag", "quiet", "raise"] = "flag",
        what: str = "point(s)",
    ) -> pd.DataFrame:
        """Snap points with this rule (see :func:`snap_points`)."""
        return snap_points(
            G_or_nodes,
            points,
            ids=ids,
            max_distance_m=self.max_distance_m,
            speed_kph=self.speed_kph,
            detour=self.detour,
            on_far=on_far,
            what=what,
        )


def node_coordinates(
    G_or_nodes: nx.MultiDiGraph | pd.DataFrame,
) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Node ids, an (n, 2) array of coordinates and the CRS of a graph or a nodes table.

    Parameters
    ----------
    G_or_nodes : networkx graph or DataFrame
        A graph with node attributes ``x``, ``y`` (and graph attribute ``crs``), or a table
        indexed by node id with columns ``x``, ``y`` or a point geometry.

    Returns
    -------
    (ndarray, ndarray, str or None)
        Ids, coordinates, CRS.

    Raises
    ------
    DataError
        If there is no node or coordinates are missing.
    """
    if isinstance(G_or_nodes, nx.Graph):
        ids = np.array(list(G_or_nodes.nodes), dtype=object)
        try:
            xy = np.array([(d["x"], d["y"]) for _, d in G_or_nodes.nodes(data=True)], dtype=float)
        except KeyError as exc:
            raise DataError(f"graph nodes lack the attribute {exc.args[0]!r}") from exc
        crs = G_or_nodes.graph.get("crs")
    elif isinstance(G_or_nodes, pd.DataFrame):
        index = G_or_nodes.index
        ids = index.to_numpy(dtype=np.int64 if index.dtype.kind in "iu" else object)
        if {"x", "y"} <= set(G_or_nodes.columns):
            xy = G_or_nodes[["x", "y"]].to_numpy(dtype=float)
        elif isinstance(G_or_nodes, gpd.GeoDataFrame):
            geoms = G_or_nodes.geometry.to_numpy()
            xy = np.c_[shapely.get_x(geoms), shapely.get_y(geoms)]
        else:
            raise DataError("nodes table: needs columns 'x', 'y' or a point geometry")
        crs = (
            str(G_or_nodes.crs)
            if isinstance(G_or_nodes, gpd.GeoDataFrame) and G_or_nodes.crs
            else G_or_nodes.attrs.get("crs")
        )
    else:
        raise DataError(
            f"snap_points: expected a graph or a nodes table, got {type(G_or_nodes).__name__}"
        )
    if len(ids) == 0:
        raise DataError("snap_points: the graph has no node")
    if not np.isfinite(xy).all():
        bad = ids[~np.isfinite(xy).all(axis=1)]
        raise DataError(f"snap_points: nodes with missing coordinates: {format_values(bad)}")
    if ids.dtype == object and all(isinstance(i, int | np.integer) for i in ids):
        ids = ids.astype(np.int64)
    return ids, xy, crs


def check_same_crs(crs: Any, network_crs: Any, what: str = "points") -> None:
    """Raise when points declare a CRS other than the network's (never a silent empty result).

    Parameters
    ----------
    crs : CRS-like or None
        The points' CRS (None: not declared, nothing to check).
    network_crs : CRS-like or None
        The network's CRS (None: unknown, nothing to check).
    what : str
        What the points are, for the message.

    Raises
    ------
    DataError
        The two CRSs differ; the message names both and the fix.
    """
    if crs is None or network_crs is None:
        return
    mine, theirs = pyproj.CRS(crs), pyproj.CRS(network_crs)
    if mine != theirs:
        raise DataError(
            f"{what} are in {mine.to_string()}, the road network in {theirs.to_string()}: "
            f"reproject them first (.to_crs({theirs.to_string()!r}))"
        )


def check_units(points_xy: np.ndarray, nodes_xy: np.ndarray, what: str = "points") -> None:
    """Raise when points look like degrees on a network in metres, or the reverse.

    Coordinates all within ±180 / ±90 while the network's are not (or the reverse), none of
    them near the network's extent, mean the points are in another CRS than the network,
    declared or not.

    Raises
    ------
    DataError
        Naming both ranges.
    """
    if len(points_xy) == 0 or len(nodes_xy) == 0:
        return

    def degrees(xy: np.ndarray) -> bool:
        finite = xy[np.isfinite(xy).all(axis=1)]
        return bool(len(finite)) and bool(
            (np.abs(finite[:, 0]) <= 180).all() and (np.abs(finite[:, 1]) <= 90).all()
        )

    pts, net = degrees(points_xy), degrees(nodes_xy)
    lo, hi = np.nanmin(nodes_xy, axis=0), np.nanmax(nodes_xy, axis=0)
    margin = max(float((hi - lo).max()) * 0.5, 1.0)
    inside = (
        (points_xy[:, 0] >= lo[0] - margin)
        & (points_xy[:, 0] <= hi[0] + margin)
        & (points_xy[:, 1] >= lo[1] - margin)
        & (points_xy[:, 1] <= hi[1] + margin)
    )
    if pts != net and not inside.any():
        unit = ("degrees", "metres") if pts else ("metres", "degrees")
        raise DataError(
            f"{what} have coordinates in {unit[0]} (x {points_xy[:, 0].min():.6g} to "
            f"{points_xy[:, 0].max():.6g}), the road network in {unit[1]} (x "
            f"{nodes_xy[:, 0].min():.6g} to {nodes_xy[:, 0].max():.6g}): give them in the "
            "network's CRS"
        )


def snappable_nodes(G_or_nodes: nx.MultiDiGraph | pd.DataFrame) -> np.ndarray | None:
    """Bool per node (in :func:`node_coordinates` order): may a point join it? None if unknown.

    Parameters
    ----------
    G_or_nodes : networkx graph or DataFrame
        A graph whose nodes may carry ``snappable``, or a nodes table with a ``snappable``
        column. On a graph, nodes without the attribute count as snappable.

    Returns
    -------
    numpy.ndarray or None
        None when no node carries the flag (every node is snappable).
    """
    if isinstance(G_or_nodes, nx.Graph):
        flags = [d.get("snappable") for _, d in G_or_nodes.nodes(data=True)]
        if all(f is None for f in flags):
            return None
        return np.array([True if f is None else bool(f) for f in flags], dtype=bool)
    if isinstance(G_or_nodes, pd.DataFrame) and "snappable" in G_or_nodes.columns:
        return G_or_nodes["snappable"].fillna(True).to_numpy(dtype=bool)
    return None


def snap_points(
    G_or_nodes: nx.MultiDiGraph | pd.DataFrame,
    points: gpd.GeoSeries | gpd.GeoDataFrame | Sequence[Any],
    *,
    ids: Sequence[Any] | pd.Index | None = None,
    max_distance_m: float | None = None,
    speed_kph: float | None = None,
    detour: float = 1.0,
    on_far: Literal["flag", "quiet", "raise"] = "flag",
    what: str = "point(s)",
) -> pd.DataFrame:
    """Snap each point to its nearest graph node (k-d tree on node coordinates).

    When the nodes carry ``snappable`` (:func:`snappable_nodes`), only those nodes are
    candidates (the k-d tree holds them alone).

    Parameters
    ----------
    G_or_nodes : networkx graph or DataFrame
        The road graph (node ``x``, ``y`` in its ``crs``) or a nodes table.
    points : GeoSeries, GeoDataFrame or sequence of shapely Points
        Points to snap; reprojected to the graph CRS when both CRSs are known (a bare
        sequence is taken to be in the graph CRS).
    ids : sequence, optional
        Identifiers used as the result's index and in messages; the points' index otherwise.
    max_distance_m : float, optional
        Snapping limit; ``settings.snap_max_distance_m`` (2000 m) by default.
    speed_kph : float, optional
        Speed of the access leg; ``settings.snap_speed_kph`` (15 km/h) by default.
    detour : float
        Road distance of the access leg over its straight-line distance.
    on_far : {"flag", "quiet", "raise"}
        Points beyond the limit: flagged (``too_far=True``, ``node`` and ``snap_time_s``
        missing, a warning lists them), flagged without the warning (a probe whose caller
        decides what the far points mean), or a :class:`SnapError`.
    what : str
        Name of the points in messages (``"town halls"``, ``"facilities (gp)"``…).

    Returns
    -------
    pandas.DataFrame
        Indexed like the points (or by ``ids``), columns ``node`` (nullable Int64 for
        integer node ids, object otherwise), ``snap_distance_m`` (distance to the nearest
        node, also for far points), ``snap_time_s`` (s, NaN when too far), ``too_far``.

    Raises
    ------
    DataError
        Empty or non-point geometries, bad parameters, mismatched ``ids``.
    SnapError
        With ``on_far="raise"``, naming the points beyond the limit.
    """
    max_d = settings.snap_max_distance_m if max_distance_m is None else float(max_distance_m)
    speed = settings.snap_speed_kph if speed_kph is None else float(speed_kph)
    if not max_d > 0 or not speed > 0:
        raise DataError(
            f"snap_points: max_distance_m and speed_kph must be > 0; got {max_d}, {speed}"
        )
    if on_far not in ("flag", "quiet", "raise"):
        raise DataError(f"snap_points: on_far must be 'flag', 'quiet' or 'raise'; got {on_far!r}")
    node_ids, xy, graph_crs = node_coordinates(G_or_nodes)
    allowed = snappable_nodes(G_or_nodes)
    if allowed is not None:
        if not allowed.any():
            raise DataError("snap_points: no node of the graph is snappable")
        node_ids, xy = node_ids[allowed], xy[allowed]

    if isinstance(points, gpd.GeoDataFrame):
        points = points.geometry
    if isinstance(points, gpd.GeoSeries):
        check_same_crs(points.crs, graph_crs, what)
        index = points.index
        geoms = points.to_numpy()
    else:
        geoms = np.asarray(list(points), dtype=object)
        index = pd.RangeIndex(len(geoms))
    if ids is not None:
        if len(ids) != len(geoms):
            raise DataError(f"snap_points: {len(ids)} ids for {len(geoms)} points")
        index = pd.Index(ids)
    labels = np.asarray(index, dtype=object)
    missing = pd.isna(geoms) | shapely.is_empty(np.where(pd.isna(geoms), None, geoms))
    if missing.any():
        raise DataError(
            f"snap_points: empty or missing point(s) for id(s) {format_values(labels[missing])}"
        )
    kinds = shapely.get_type_id(geoms)
    if (kinds != 0).any():
        raise DataError(
            f"snap_points: non-point geometries for id(s) {format_values(labels[kinds != 0])}"
        )

    pxy = np.c_[shapely.get_x(geoms), shapely.get_y(geoms)]
    check_units(pxy, xy, what)
    dist, idx = cKDTree(xy).query(pxy, k=1)
    too_far = dist > max_d
    if too_far.any() and on_far != "quiet":
        far = [
            f"{label} ({d:.0f} m)" for label, d in zip(labels[too_far], dist[too_far], strict=True)
        ]
        msg = (
            f"{int(too_far.sum())} {what} farther than {max_d:.0f} m from the road network: "
            f"{format_values(far)}"
        )
        if on_far == "raise":
            raise SnapError(msg)
        logger.warning("%s; they are flagged too_far and not snapped", msg)
    nodes = node_ids[idx]
    if nodes.dtype.kind == "i":
        node_col = pd.array(nodes, dtype="Int64")
        node_col[too_far] = pd.NA
    else:
        node_col = pd.array(np.where(too_far, None, nodes), dtype=object)
    snap_time = np.where(too_far, np.nan, dist * detour / (speed / 3.6))
    return pd.DataFrame(
        {"node": node_col, "snap_distance_m": dist, "snap_time_s": snap_time, "too_far": too_far},
        index=index,
    )


@dataclass(frozen=True)
class SnapReport:
    """Snap distances of a set of points, for logs and reports.

    Attributes
    ----------
    n : int
        Points snapped (too-far points included).
    median_m, p90_m, max_m : float
        Median, 90th percentile and largest snap distance (m).
    too_far : int
        Points beyond the snapping limit.
    farthest : tuple of (id, name, metres)
        The farthest points, farthest first.
    """

    n: int
    median_m: float
    p90_m: float
    max_m: float
    too_far: int
    farthest: tuple[tuple[Any, str, float], ...]

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-friendly)."""
        return {
            "n": self.n,
            "median_m": self.median_m,
            "p90_m": self.p90_m,
            "max_m": self.max_m,
            "too_far": self.too_far,
            "farthest": [list(f) for f in self.farthest],
        }

    def __str__(self) -> str:
        """One line: ``n points: median … m, 90 % … m, max … m; farthest: …``."""
        far = ", ".join(
            f"{name} ({pid}) {d / 1000:.1f} km" if name else f"{pid} {d / 1000:.1f} km"
            for pid, name, d in self.farthest
        )
        return (
            f"{self.n} points: snap distance median {self.median_m:.0f} m, 90 % "
            f"{self.p90_m:.0f} m, max {self.max_m:.0f} m, {self.too_far} beyond the limit; "
            f"farthest: {far}"
        )


def snap_report(
    snapped: pd.DataFrame,
    names: Mapping[Any, str] | pd.Series | None = None,
    *,
    farthest: int = SNAP_REPORT_FARTHEST,
) -> SnapReport:
    """Summarise the snap distances of :func:`snap_points`' result.

    Parameters
    ----------
    snapped : DataFrame
        The result of :func:`snap_points` (column ``snap_distance_m``, ``too_far``).
    names : mapping or Series, optional
        Point id → name, to name the farthest points.
    farthest : int
        How many of the farthest points to list.

    Returns
    -------
    SnapReport
        ``str(report)`` is a one-line summary for logs.
    """
    dist = snapped["snap_distance_m"].to_numpy(dtype=float)
    if dist.size == 0:
        return SnapReport(0, np.nan, np.nan, np.nan, 0, ())
    order = np.argsort(-dist, kind="stable")[:farthest]
    lookup = dict(names.items()) if names is not None else {}
    labels = snapped.index.to_numpy(dtype=object)
    far = tuple(
        (labels[i], str(lookup.get(labels[i], "")), round(float(dist[i]), 1)) for i in order
    )
    return SnapReport(
        n=int(dist.size),
        median_m=round(float(np.median(dist)), 1),
        p90_m=round(float(np.percentile(dist, 90)), 1),
        max_m=round(float(dist.max()), 1),
        too_far=int(snapped["too_far"].sum()) if "too_far" in snapped else 0,
        farthest=far,
    )
