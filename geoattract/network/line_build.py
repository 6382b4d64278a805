"""Building the arrays of a line network: classes, directions, nodes, edges, components.

Every step is vectorised (numpy, shapely, pandas): classification by ordered rules on
columns, direction codes, end points grouped into nodes (exact coordinates, optionally merged
within a tolerance), two directed edges per line unless one-way, class speeds and detours,
snappable nodes, and the strongly connected components kept
(:func:`scipy.sparse.csgraph.connected_components`): the largest, and every **island** that
holds a town hall (:func:`kept_components`). See :mod:`geoattract.network.lines` for the public
entry points.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from geoattract.errors import DataError, NetworkError, format_values
from geoattract.network.line_model import (
    JUNCTION_DELAY_KEY,
    ROUTE_SPEEDS_KEY,
    URBAN_PACE_KEY,
    WINDING_PACE_KEY,
    LineNetwork,
    built_up_length,
    class_values,
    edge_speeds,
    route_lengths,
    winding_fraction,
)
from geoattract.network.presets import BOTH, FORWARD, REVERSE, LinePreset
from geoattract.network.speeds import DEFAULT_FALLBACK_SPEED_KPH
from geoattract.network.split import split_at_points
from geoattract.network.validate import check_classes

logger = logging.getLogger(__name__)

_DIRECTION_CODE = {BOTH: 0, FORWARD: 1, REVERSE: 2}


def column_map(columns: Any) -> dict[str, str]:
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


def _classify(
    gdf: gpd.GeoDataFrame, spec: LinePreset, cols: Mapping[str, str], where: str
) -> np.ndarray:
    """Class of every line (object array, None when no rule matches or a piece is excluded).

    The values of the class rules' first column on the pieces no rule matched (not the pieces
    the preset excludes) are reported by :func:`~geoattract.network.validate.check_classes`.
    """
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
        out = text(spec.class_column).to_numpy(dtype=object, copy=True)
        out[pd.isna(out) | (out == "")] = None
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
    unmatched = pd.isna(out)
    for col, values in spec.exclude.items():
        actual = cols.get(col.lower())
        if actual is not None:
            excluded = np.isin(_as_text(gdf[actual]).to_numpy(dtype=object), list(values))
            out[excluded] = None
            unmatched &= ~excluded
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
    out[:] = np.asarray(shapely.linestrings(coords, indices=index), dtype=object)
    return out


#: A strongly connected part of a line network at least this far (metres) from the largest
#: part is an island (a sea or lake between them): kept when it holds a town hall. Closer
#: parts are breaks in the layer's topology (a junction missing between two roads), dropped
#: so that their town halls join the main network. On the Travel Mapping layer of France the
#: islands with roads lie 2.3 km (Bréhat) to 167 km (Corsica) from the mainland, the breaks
#: that hold a town hall at most 0.72 km from it.
ISLAND_MIN_GAP_M: float = 1500.0


def kept_components(
    n: int,
    u: np.ndarray,
    v: np.ndarray,
    xy: np.ndarray,
    features: tuple[np.ndarray, np.ndarray],
    town_halls: np.ndarray | None,
) -> tuple[np.ndarray, int]:
    """Bool per node: in a strongly connected component the network keeps; islands kept.

    The largest component (ties: the one holding the smallest node) is kept, and every other
    component that holds the nearest node of a town hall (``town_halls``, ``(k, 2)``
    coordinates; None: none) and lies at least :data:`ISLAND_MIN_GAP_M` from the largest one
    (distance between their lines).

    Parameters
    ----------
    n : int
        Number of nodes.
    u, v : numpy.ndarray
        Directed edges.
    xy : numpy.ndarray
        ``(n, 2)`` node coordinates.
    features : tuple of numpy.ndarray
        The line geometry of each edge and the edges' first nodes (for the gap).
    town_halls : numpy.ndarray or None
        Coordinates of the points the network was split at.

    Returns
    -------
    keep : numpy.ndarray
        Bool per node.
    islands : int
        Number of components kept besides the largest.
    """
    graph = coo_matrix((np.ones(u.size), (u, v)), shape=(n, n)).tocsr()
    _, label = connected_components(graph, directed=True, connection="strong")
    sizes = np.bincount(label)
    first = np.full(sizes.size, n, dtype=np.int64)
    np.minimum.at(first, label, np.arange(n))
    best = min(range(sizes.size), key=lambda c: (-sizes[c], first[c]))
    keep = label == best
    if town_halls is None or len(town_halls) == 0 or sizes.size == 1:
        return keep, 0
    held = np.unique(label[cKDTree(xy).query(town_halls)[1]])
    candidates = held[held != best]
    if candidates.size == 0:
        return keep, 0
    geoms, tails = features
    edge_label = label[tails]
    main = shapely.STRtree(geoms[edge_label == best])
    islands = 0
    for c in candidates:
        own = geoms[edge_label == c]
        if own.size == 0:
            continue
        _, gap = main.query_nearest(own, return_distance=True, all_matches=False)
        if gap.size and gap.min() >= ISLAND_MIN_GAP_M:
            keep |= label == c
            islands += 1
    return keep, islands


@dataclass(frozen=True)
class _Lines:
    """Cleaned lines: geometry, class, direction, speed, name."""

    geoms: np.ndarray
    highway: np.ndarray
    direction: np.ndarray
    speed: np.ndarray
    refs: np.ndarray | None
    dropped: dict[str, Any]


def _split_at_vertices(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Split lines at interior vertices that are exactly another line's end point.

    Returns the pieces, the index of the line each piece comes from, and the number of
    vertices split. A split vertex ends one piece and starts the next (it is duplicated);
    coordinates are compared exactly (a complex view makes each pair one sortable value).
    """
    n = len(geoms)
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    first = np.searchsorted(index, np.arange(n))
    last = np.r_[first[1:], len(index)] - 1
    is_end = np.zeros(len(coords), dtype=bool)
    is_end[first] = True
    is_end[last] = True
    keys = np.ascontiguousarray(coords).view(np.complex128).ravel()
    end_keys = np.unique(keys[is_end])
    at = np.minimum(np.searchsorted(end_keys, keys), end_keys.size - 1)
    split = ~is_end & (end_keys[at] == keys)
    if not split.any():
        return geoms, np.arange(n), 0
    before = np.cumsum(split) - split  # split vertices strictly before each vertex
    per_line = before[last] - before[first] + split[last]
    offset = np.r_[0, np.cumsum(per_line + 1)[:-1]]
    piece = offset[index] + before - before[first][index]
    cut = np.flatnonzero(split)
    all_piece = np.r_[piece, piece[cut] + 1]
    sequence = np.r_[np.arange(len(coords), dtype=float), cut - 0.5]
    order = np.lexsort((sequence, all_piece))
    pieces = shapely.linestrings(np.r_[coords, coords[cut]][order], indices=all_piece[order])
    return np.asarray(pieces, dtype=object), np.repeat(np.arange(n), per_line + 1), int(cut.size)


def _clean_lines(
    gdf: gpd.GeoDataFrame,
    spec: LinePreset,
    where: str,
    split_at_vertices: bool,
    strict: bool = False,
) -> _Lines:
    """Classify, drop what is not a road, split multi-part lines and at shared vertices."""
    cols = column_map(c for c in gdf.columns if c != gdf.geometry.name)
    highway = _classify(gdf, spec, cols, where)
    unmatched: dict[str, int] = {}
    if spec.class_rules:  # pieces no rule classifies are left out: said, or refused
        first = next(iter(spec.class_rules[0].when), "")
        actual = cols.get(first.lower()) if first else None
        if actual is not None:
            column = _as_text(gdf[actual]).to_numpy(dtype=object)
            known = {v: 1.0 for r in spec.class_rules for v in r.when.get(first, ())}
            excluded = {v for v in spec.exclude.get(first, ())}
            rest = column[pd.isna(highway) & ~np.isin(column, list(excluded))]
            unmatched = check_classes(rest, known, None, f"{where} ({actual})", strict=strict)
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
    dropped: dict[str, Any] = {
        "empty": int(empty.sum()),
        "not_a_road": int((~empty & no_class).sum()),
    }
    geoms = geoms[keep]
    if geoms.size == 0:
        raise DataError(
            f"{where}: no road line left: {dropped['empty']} empty and {dropped['not_a_road']} "
            "without a class of the preset"
        )
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
    splits = 0
    if split_at_vertices:
        geoms, owner, splits = _split_at_vertices(np.asarray(geoms, dtype=object))
        idx = idx[owner]
        if splits:
            logger.info(
                "%d interior vertices are another line's end point: their lines are split there",
                splits,
            )
    dropped["split_vertices"] = splits
    dropped["unmatched"] = unmatched
    return _Lines(
        geoms=np.asarray(geoms, dtype=object),
        highway=highway[idx],
        direction=direction[idx],
        speed=speed[idx],
        refs=None if refs is None else refs[idx],
        dropped=dropped,
    )


@dataclass(frozen=True)
class PointSplit:
    """Points the lines are split at (:func:`geoattract.network.split.split_at_points`).

    Attributes
    ----------
    xy : numpy.ndarray
        (n, 2) coordinates, EPSG:2154.
    max_distance_m : float
        Points farther from every snappable line are ignored (the snapping limit).
    """

    xy: np.ndarray
    max_distance_m: float


@dataclass(frozen=True)
class EdgeDelays:
    """The calibrated edge rule besides the class speeds (see :mod:`.line_model`).

    Seconds per winding metre, per junction entered (one value, or a table by class of the
    entering edge), per metre inside a built-up area; speeds of classes on long roads
    (``{class: {minimum road km: km/h}}``).
    """

    winding_pace_s_per_m: float = 0.0
    junction_delay_s: float | Mapping[str, float] = 0.0
    urban_pace_s_per_m: float = 0.0
    route_speeds_kph: Mapping[str, Mapping[str, float]] | None = None

    def attrs(self) -> dict[str, Any]:
        """The graph attributes of the rule."""
        junction = self.junction_delay_s
        return {
            WINDING_PACE_KEY: self.winding_pace_s_per_m,
            JUNCTION_DELAY_KEY: dict(junction) if isinstance(junction, Mapping) else junction,
            URBAN_PACE_KEY: self.urban_pace_s_per_m,
            ROUTE_SPEEDS_KEY: {c: dict(t) for c, t in (self.route_speeds_kph or {}).items()},
        }


@dataclass(frozen=True)
class Settlements:
    """Built-up areas: a disc around each town hall (see :func:`.line_model.built_up_length`).

    Attributes
    ----------
    xy : numpy.ndarray
        (n, 2) centres, EPSG:2154.
    radius_m : numpy.ndarray
        Radii (m).
    """

    xy: np.ndarray
    radius_m: np.ndarray


def _split_lines(
    lines: _Lines, spec: LinePreset, split: PointSplit | None
) -> tuple[_Lines, np.ndarray, int]:
    """Lines split at the points' projections, and the winding fraction of every piece.

    The winding fraction is the line's before the split: splitting leaves travel times along
    a line unchanged.
    """
    frac = winding_fraction(lines.geoms)
    if split is None or len(split.xy) == 0:
        return lines, frac, 0
    splittable = ~np.isin(lines.highway.astype(str), list(spec.unsnappable))
    geoms, owner, cuts = split_at_points(
        lines.geoms, splittable, split.xy, max_distance_m=split.max_distance_m
    )
    if cuts:
        logger.info("%d cut(s): lines split where a town hall meets them", cuts)
    out = _Lines(
        geoms=geoms,
        highway=lines.highway[owner],
        direction=lines.direction[owner],
        speed=lines.speed[owner],
        refs=None if lines.refs is None else lines.refs[owner],
        dropped={**lines.dropped, "split_points": cuts},
    )
    return out, frac[owner], cuts


def _route_length(
    lines: _Lines, geom_len: np.ndarray, route_m: Mapping[str, float] | None
) -> np.ndarray:
    """Per line: geometry metres of its road number (``route_m``, else summed here)."""
    if lines.refs is None:
        return np.full(len(geom_len), np.nan)
    if route_m is None:
        return route_lengths(lines.refs, geom_len)
    names = pd.Series(lines.refs, dtype=object)
    return names.map(route_m).to_numpy(dtype=float, na_value=np.nan)


def build_arrays(
    gdf: gpd.GeoDataFrame,
    spec: LinePreset,
    *,
    where: str,
    snap_tolerance_m: float,
    speeds: Mapping[str, float],
    detours: Mapping[str, float],
    split_at_vertices: bool = True,
    split: PointSplit | None = None,
    delays: EdgeDelays | None = None,
    strict: bool = False,
    route_m: Mapping[str, float] | None = None,
    settlements: Settlements | None = None,
) -> tuple[LineNetwork, dict[str, Any]]:
    """Build the network arrays and the figures for the graph attributes.

    ``route_m`` gives the geometry length of each road number (default: summed over the
    lines built); ``settlements`` the built-up areas (default: none, no urban metres).
    """
    lines = _clean_lines(gdf, spec, where, split_at_vertices, strict)
    unknown: dict[str, int] = dict(lines.dropped.get("unmatched", {}))
    if spec.class_column is not None:  # classes as they are: those without a speed
        unknown = check_classes(
            lines.highway, speeds, DEFAULT_FALLBACK_SPEED_KPH, where, strict=strict
        )
    if len(lines.geoms) == 0:
        raise NetworkError(f"{where}: no road line left after classification")
    lines, wind_frac, cuts = _split_lines(lines, spec, split)
    delays = delays or EdgeDelays()
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

    keep_node, islands = kept_components(
        len(nodes), u, v, nodes, (geoms[feature], u), None if split is None else split.xy
    )
    keep_edge = keep_node[u]  # an edge of a kept component has both ends in it
    used = np.zeros(m, dtype=bool)
    used[feature] = True
    kept = np.zeros(m, dtype=bool)
    kept[feature[keep_edge]] = True
    kept_features = np.flatnonzero(kept)
    dropped_features = np.flatnonzero(used & ~kept)
    new_node = np.cumsum(keep_node) - 1
    new_feature = np.full(m, -1, dtype=np.int64)
    new_feature[kept_features] = np.arange(kept_features.size)
    codes, names = pd.factorize(lines.highway[kept_features], sort=True)
    feat_class = np.full(m, -1, dtype=np.int64)
    feat_class[kept_features] = codes
    classes = tuple(str(c) for c in names)
    feature = feature[keep_edge]
    klass = feat_class[feature].astype(np.int16)
    speed_col = lines.speed[feature]
    from_column = np.isfinite(speed_col) & (speed_col > 0)
    class_speed = class_values(classes, speeds, "speed")
    missing = [c for c, s in zip(classes, class_speed, strict=True) if np.isnan(s)]
    if missing:  # listed with their counts by check_classes
        class_speed = np.where(np.isnan(class_speed), DEFAULT_FALLBACK_SPEED_KPH, class_speed)
    class_detour = np.nan_to_num(class_values(classes, detours, "detour", 1.0), nan=1.0)
    route_len = _route_length(lines, geom_len, route_m)[feature]
    route_speeds = delays.route_speeds_kph
    speed = edge_speeds(
        classes, klass, class_speed, route_len, route_speeds, speed_col, from_column
    )
    length = geom_len[feature] * class_detour[klass]
    winding = geom_len[feature] * wind_frac[feature]
    urban = np.zeros(kept_features.size)
    if settlements is not None:
        urban = built_up_length(geoms[kept_features], settlements.xy, settlements.radius_m)
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
        winding_length=winding,
        route_length=route_len,
        urban_length=urban[new_feature[feature]],
        length=length,
        speed_kph=speed,
        travel_time=length / (speed / 3.6),
        speed_from_column=from_column,
        geometries=geoms[kept_features],
        refs=None if lines.refs is None else lines.refs[kept_features],
        attrs=delays.attrs(),
    )
    # the network's own rule for the calibrated delays (the one speed changes reapply)
    net = replace(net, travel_time=net.travel_time + net.delay_seconds())
    dropped_nodes = int((~keep_node).sum())
    dropped_detour = pd.Series(lines.highway[dropped_features]).map(detours).fillna(1.0)
    dropped_km = float((geom_len[dropped_features] * dropped_detour.to_numpy(float)).sum())
    log = logger.warning if dropped_nodes > 0.05 * len(nodes) else logger.info
    log(
        "strongly connected components: kept %d of %d nodes (the largest and %d island(s) "
        "holding a town hall); dropped %d nodes, %.2f km of road",
        net.n_nodes,
        len(nodes),
        islands,
        dropped_nodes,
        dropped_km / 1000.0,
    )
    figures = {
        "snap_merged": merged,
        "self_loops": int(loops.sum()),
        "islands": islands,
        "dropped_nodes": dropped_nodes,
        "dropped_km": round(dropped_km / 1000.0, 3),
        "dropped_empty": lines.dropped["empty"],
        "dropped_not_a_road": lines.dropped["not_a_road"],
        "split_vertices": lines.dropped["split_vertices"],
        "split_points": cuts,
        "unknown_classes": json.dumps(unknown, sort_keys=True),
    }
    return net, figures
