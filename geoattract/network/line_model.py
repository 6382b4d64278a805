"""Array form of a line network (:class:`LineNetwork`) and its conversion to the graph model.

Built by :func:`geoattract.network.lines.line_network`; the arrays route directly
(:func:`geoattract.routing.routing_graph_from_arrays`), serialise without pickle for the
on-disk cache, and become the package's :class:`networkx.MultiDiGraph` with
:meth:`LineNetwork.to_graph`.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import shapely

from geoattract.errors import DataError, format_values


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
    winding_length : numpy.ndarray
        Winding metres of each edge: its geometry length × ``1 − chord / length`` of the
        line it lies on, taken before the line is split at town halls (a split does not
        change it: the pieces share the line's fraction), see :func:`winding_fraction`.
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
        Graph attributes (``crs``, ``source``, ``kind``…), see :meth:`to_graph`;
        ``winding_pace_s_per_m`` and ``junction_delay_s`` (calibrated, 0 when absent) enter
        ``travel_time`` (:meth:`delay_seconds`).
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
    winding_length: np.ndarray
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

    def junction_head(self) -> np.ndarray:
        """Bool per edge: its head node is a junction (:func:`junction_nodes`)."""
        return junction_nodes(self.n_nodes, self.u, self.v)[self.v]

    def delay_seconds(self) -> np.ndarray:
        """Seconds per edge besides length / speed: winding metres and junction delay."""
        return edge_delays(
            self.winding_length,
            self.junction_head(),
            float(self.attrs.get(WINDING_PACE_KEY, 0.0)),
            float(self.attrs.get(JUNCTION_DELAY_KEY, 0.0)),
        )

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
        km = np.bincount(self.klass[first], weights=self.length[first], minlength=len(self.classes))
        return {c: round(float(k) / 1000.0, 3) for c, k in zip(self.classes, km, strict=True)}

    def with_speeds(
        self,
        speeds: Mapping[str, float] | None = None,
        detours: Mapping[str, float] | None = None,
    ) -> LineNetwork:
        """Return a copy with new class speeds and/or detours (speed-column edges keep theirs).

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
        by_class = class_values(self.classes, speeds or {}, "speed")
        det = class_values(self.classes, detours or {}, "detour", minimum=1.0)
        for k in range(len(self.classes)):
            on = self.klass == k
            if not np.isnan(det[k]):
                length[on] = self.geometry_length[on] * det[k]
            if not np.isnan(by_class[k]):
                speed[on & ~self.speed_from_column] = by_class[k]
        travel_time = length / (speed / 3.6) + self.delay_seconds()
        return replace(self, speed_kph=speed, length=length, travel_time=travel_time)

    def to_graph(self) -> nx.MultiDiGraph:
        """Convert to the graph model: a MultiDiGraph with integer node ids ``0..n-1``.

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
                "winding_length",
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


#: Graph attributes (and calibration keys) of the winding pace (s per winding metre) and
#: of the delay (s) of entering a junction.
WINDING_PACE_KEY: str = "winding_pace_s_per_m"
JUNCTION_DELAY_KEY: str = "junction_delay_s"

#: A node is a junction when it has at least this many distinct neighbours (either
#: direction). A node where a line was split at a town hall has 2: it is not a junction.
JUNCTION_MIN_NEIGHBOURS: int = 3


def junction_nodes(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bool per node: at least :data:`JUNCTION_MIN_NEIGHBOURS` distinct neighbour nodes.

    Neighbours are counted over the edges in either direction, once each (two parallel
    edges, or the two directions of a two-way road, make one neighbour); self-loops do not
    count.
    """
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    ok = u != v
    pairs = np.unique(np.r_[u[ok], v[ok]] * np.int64(n) + np.r_[v[ok], u[ok]])
    return np.bincount(pairs // n, minlength=n) >= JUNCTION_MIN_NEIGHBOURS


def winding_fraction(geoms: np.ndarray) -> np.ndarray:
    """``1 − chord / length`` of every line (0 for a straight or empty line)."""
    length = shapely.length(geoms)
    chord = shapely.distance(shapely.get_point(geoms, 0), shapely.get_point(geoms, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(length > 0, 1.0 - chord / length, 0.0)
    return np.clip(np.nan_to_num(frac, nan=0.0), 0.0, 1.0)


def edge_delays(
    winding_length: np.ndarray,
    junction_head: np.ndarray,
    winding_pace: float,
    junction_delay_s: float,
) -> np.ndarray:
    """Seconds per edge: winding metres × winding pace + junction delay at a junction head."""
    return winding_length * winding_pace + np.where(junction_head, junction_delay_s, 0.0)


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


def class_values(
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
