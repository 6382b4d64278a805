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
    route_length : numpy.ndarray
        Metres of geometry of the edge's road (every line of the layer bearing its road
        number, each once), NaN for a line without number: the road's importance, which
        selects the calibrated route speeds (:func:`edge_speeds`).
    urban_length : numpy.ndarray
        Metres of the edge's geometry inside a built-up area (:func:`built_up_length`; 0
        when the network was built without settlements).
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
        ``winding_pace_s_per_m``, ``junction_delay_s`` and ``urban_pace_s_per_m``
        (calibrated, 0 when absent) enter ``travel_time`` (:meth:`delay_seconds`),
        ``route_speeds_kph`` its speeds (:func:`edge_speeds`).
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
    route_length: np.ndarray
    urban_length: np.ndarray
    length: np.ndarray
    speed_kph: np.ndarray
    travel_time: np.ndarray
    speed_from_column: np.ndarray
    geometries: np.ndarray
    refs: np.ndarray | None
    attrs: dict[str, Any]

    def __repr__(self) -> str:
        """One line (the arrays are long): size, CRS and source."""
        return (
            f"<LineNetwork: {self.n_nodes:,} nodes, {self.n_edges:,} edges, "
            f"{self.attrs.get('crs')}, {self.attrs.get('source', 'no source')}>"
        )

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
        """Seconds per edge besides length / speed: winding, junction and urban delays.

        The calibrated values are the network's attributes (:data:`WINDING_PACE_KEY`,
        :data:`JUNCTION_DELAY_KEY`, :data:`URBAN_PACE_KEY`), 0 when absent.
        """
        return edge_delays(
            self.winding_length,
            self.junction_head(),
            class_delays(
                self.classes,
                self.klass,
                self.attrs.get(JUNCTION_DELAY_KEY, 0.0),
                self.route_length,
            ),
            self.urban_length,
            winding_pace=float(self.attrs.get(WINDING_PACE_KEY, 0.0)),
            urban_pace=float(self.attrs.get(URBAN_PACE_KEY, 0.0)),
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

        Edges on a road long enough for one of the network's route speeds
        (:data:`ROUTE_SPEEDS_KEY`) keep that speed: ``speeds`` sets the class speed of the
        others.

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
        on_route = route_tiers(
            self.classes, self.klass, self.route_length, self.attrs.get(ROUTE_SPEEDS_KEY)
        )[1]
        for k in range(len(self.classes)):
            on = self.klass == k
            if not np.isnan(det[k]):
                length[on] = self.geometry_length[on] * det[k]
            if not np.isnan(by_class[k]):
                speed[on & ~self.speed_from_column & ~on_route] = by_class[k]
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
                "route_length",
                "urban_length",
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


#: Graph attributes (and calibration keys) of the calibrated edge rule: the winding pace (s
#: per winding metre), the delay (s) of entering a junction (one value, or a table by class
#: of the edge entering it), the urban pace (s per metre inside a built-up area), the
#: population density of a built-up area (inhabitants per km², sets the areas' radii) and
#: the route speeds (km/h by class and minimum road length in km).
WINDING_PACE_KEY: str = "winding_pace_s_per_m"
JUNCTION_DELAY_KEY: str = "junction_delay_s"
URBAN_PACE_KEY: str = "urban_pace_s_per_m"
BUILT_UP_DENSITY_KEY: str = "built_up_density_per_km2"
ROUTE_SPEEDS_KEY: str = "route_speeds_kph"

#: A node is a junction when it has at least this many distinct neighbours (either
#: direction). A node where a line was split at a town hall has 2: it is not a junction.
JUNCTION_MIN_NEIGHBOURS: int = 3

#: Spacing (m) of the points at which a line is tested against the built-up areas.
BUILT_UP_STEP_M: float = 100.0

#: Built-up areas wider than this radius (m) are tested from their centre (few: towns of
#: about 25,000 inhabitants and more); the others from each point's nearest centres.
BUILT_UP_LARGE_RADIUS_M: float = 2000.0
BUILT_UP_NEAREST: int = 4


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


def route_lengths(names: np.ndarray | None, lengths: np.ndarray) -> np.ndarray:
    """Per line: total ``lengths`` of the lines bearing its name (NaN without a name)."""
    out = np.full(len(lengths), np.nan)
    if names is None or len(lengths) == 0:
        return out
    text = pd.Series(names, dtype=object)
    named = (text.notna() & (text.astype(str).str.strip() != "")).to_numpy()
    if named.any():
        codes, _ = pd.factorize(text[named], sort=False)
        total = np.bincount(codes, weights=np.asarray(lengths, dtype=float)[named])
        out[named] = total[codes]
    return out


def built_up_radii(population: np.ndarray, density_per_km2: float) -> np.ndarray:
    """Radius (m) of the disc of ``population`` at ``density_per_km2``: ``√(P / (π ρ))``."""
    pop = np.nan_to_num(np.asarray(population, dtype=float), nan=0.0).clip(min=0.0)
    return np.sqrt(pop / (np.pi * float(density_per_km2))) * 1000.0


def built_up_length(
    geoms: np.ndarray, centres_xy: np.ndarray, radii: np.ndarray, step_m: float = BUILT_UP_STEP_M
) -> np.ndarray:
    """Metres of each line inside the union of discs (built-up areas around town halls).

    Each segment of a line is cut into pieces of at most ``step_m``; a piece counts when its
    middle lies in a disc. Small discs are found among the :data:`BUILT_UP_NEAREST` centres
    nearest each piece (within :data:`BUILT_UP_LARGE_RADIUS_M`), the large ones by a search
    of the pieces around their centre. The error is at most one piece at each crossing of a
    disc's edge.
    """
    from scipy.spatial import cKDTree  # here: scipy.spatial takes 0.3 s to import

    geoms = np.asarray(geoms, dtype=object)
    out = np.zeros(len(geoms))
    radii = np.asarray(radii, dtype=float)
    keep = radii > 0
    centres, radii = np.asarray(centres_xy, dtype=float)[keep], radii[keep]
    if len(geoms) == 0 or radii.size == 0:
        return out
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    same = index[1:] == index[:-1]
    a, b, line = coords[:-1][same], coords[1:][same], index[:-1][same]
    seg = np.hypot(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1])
    n = np.maximum(1, np.ceil(seg / step_m)).astype(np.int64)
    rep = np.repeat(np.arange(seg.size), n)
    k = np.arange(rep.size) - np.repeat(np.cumsum(n) - n, n)
    t = (k + 0.5) / n[rep]
    mid = a[rep] + (b - a)[rep] * t[:, None]
    inside = np.zeros(rep.size, dtype=bool)
    small = radii <= BUILT_UP_LARGE_RADIUS_M
    if small.any():
        r_small = np.r_[radii[small], 0.0]  # index == count: no centre found
        dist, near = cKDTree(centres[small]).query(
            mid,
            k=min(BUILT_UP_NEAREST, int(small.sum())),
            distance_upper_bound=BUILT_UP_LARGE_RADIUS_M,
        )
        dist, near = dist.reshape(rep.size, -1), near.reshape(rep.size, -1)
        inside |= (dist < r_small[near]).any(axis=1)
    if (~small).any():
        hits = cKDTree(mid).query_ball_point(centres[~small], radii[~small])
        found = [np.asarray(h, dtype=np.int64) for h in hits if len(h)]
        if found:
            inside[np.concatenate(found)] = True
    piece = (seg / n)[rep]
    out += np.bincount(line[rep], weights=piece * inside, minlength=len(geoms))
    return out


#: Separator of a class and a minimum road length in the keys of a junction-delay table:
#: ``"secondary>=30"`` is a secondary edge on a road of at least 30 km of geometry.
ROUTE_KEY_SEPARATOR: str = ">="


def route_key(name: str, min_km: float) -> str:
    """Key of a class on roads of at least ``min_km`` km: ``secondary>=30``."""
    return f"{name}{ROUTE_KEY_SEPARATOR}{min_km:g}"


def parse_route_key(key: str) -> tuple[str, float | None]:
    """``"secondary>=30"`` → ``("secondary", 30.0)``; a plain class → ``(class, None)``."""
    name, sep, km = str(key).partition(ROUTE_KEY_SEPARATOR)
    if not sep:
        return name, None
    try:
        return name, float(km)
    except ValueError as exc:
        raise DataError(f"line network: bad road-length key {key!r}") from exc


def class_delays(
    classes: tuple[str, ...],
    klass: np.ndarray,
    table: Any,
    route_length: np.ndarray | None = None,
) -> np.ndarray:
    """Per-edge value of a number or a table by class (absent classes 0).

    A key ``class>=km`` (:func:`route_key`) gives the value of the edges of that class on
    roads of at least ``km`` km of geometry (``route_length``; the highest reached wins).
    """
    klass = np.asarray(klass, dtype=np.int64)
    if not isinstance(table, Mapping):
        value = float(table or 0.0)
        if not (np.isfinite(value) and value >= 0):
            raise DataError(f"line network: junction delay must be >= 0; got {table!r}")
        return np.full(klass.shape, value)
    plain = {k: v for k, v in table.items() if parse_route_key(k)[1] is None}
    per_class = np.nan_to_num(class_values(classes, plain, "junction delay", -1.0), nan=0.0)
    out = per_class[klass]
    tiers = []
    for key, raw in table.items():
        name, min_km = parse_route_key(key)
        if min_km is not None:
            tiers.append((min_km, name, float(raw)))
    for min_km, name, value in sorted(tiers):
        if name not in classes or route_length is None:
            continue
        if not (np.isfinite(value) and value >= 0):
            raise DataError(f"line network: junction delay must be >= 0; got {value!r}")
        with np.errstate(invalid="ignore"):
            on = (klass == classes.index(name)) & (route_length >= min_km * 1000.0)
        out[on] = value
    return out


def route_tiers(
    classes: tuple[str, ...],
    klass: np.ndarray,
    route_length: np.ndarray,
    table: Mapping[str, Mapping[str, float]] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Route speed of each edge (NaN: none) and whether one applies.

    ``table`` maps a class to ``{minimum road km: km/h}``: an edge of that class on a road of
    at least that many km of geometry runs at that speed (the highest minimum reached wins).
    """
    speed = np.full(np.asarray(klass).shape, np.nan)
    for name, tiers in (table or {}).items():
        if name not in classes:
            continue
        on_class = np.asarray(klass) == classes.index(name)
        for min_km, kph in sorted(((float(k), float(v)) for k, v in tiers.items())):
            if not (np.isfinite(kph) and kph > 0 and np.isfinite(min_km) and min_km >= 0):
                raise DataError(f"line network: bad route speed {name} {min_km:g} km: {kph!r}")
            with np.errstate(invalid="ignore"):
                speed[on_class & (route_length >= min_km * 1000.0)] = kph
    return speed, ~np.isnan(speed)


def edge_speeds(
    classes: tuple[str, ...],
    klass: np.ndarray,
    class_speed: np.ndarray,
    route_length: np.ndarray,
    route_speeds: Mapping[str, Mapping[str, float]] | None,
    column_speed: np.ndarray,
    from_column: np.ndarray,
) -> np.ndarray:
    """Speed (km/h) of every edge.

    The layer's speed column, else the route speed of its class and road length
    (:func:`route_tiers`), else its class speed.
    """
    route_speed, on_route = route_tiers(classes, klass, route_length, route_speeds)
    speed = np.where(on_route, route_speed, np.asarray(class_speed)[klass])
    return np.where(from_column, column_speed, speed)


def edge_delays(
    winding_length: np.ndarray,
    junction_head: np.ndarray,
    junction_delay_s: np.ndarray | float,
    urban_length: np.ndarray | float = 0.0,
    *,
    winding_pace: float = 0.0,
    urban_pace: float = 0.0,
) -> np.ndarray:
    """Seconds per edge besides length / speed: the calibrated edge rule.

    ``winding metres × winding pace + junction delay (of the edge's class) where its head is a
    junction + urban metres × urban pace``.
    """
    return (
        winding_length * winding_pace
        + np.where(junction_head, junction_delay_s, 0.0)
        + urban_length * urban_pace
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


def class_values(
    classes: tuple[str, ...], table: Mapping[str, float], what: str, minimum: float = 0.0
) -> np.ndarray:
    """Per-class values of a table, NaN where absent.

    Speeds (``minimum=0``) must be > 0; detour factors (``minimum=1``) must be ≥ 1; delays
    (``minimum=-1``) must be ≥ 0.
    """
    values = {k: float(v) for k, v in table.items()}
    low = max(minimum, 0.0)
    bad = {
        k: v
        for k, v in values.items()
        if not (v > low if minimum == 0 else v >= low) or not np.isfinite(v)
    }
    if bad:
        rule = "> 0" if minimum == 0 else f">= {low:g}"
        raise DataError(
            f"line network: {what} values must be {rule}; got {format_values(bad.items())}"
        )
    return np.array([values.get(c, np.nan) for c in classes], dtype=np.float64)
