"""Points join a line network where they meet it: lines split at the points' projections.

A town hall snaps to the nearest snappable *node* of a line network. On a classified-road
layer the nodes are junctions kilometres apart, so a town hall beside a road used to join it
at the next junction, often behind it. :func:`split_at_points` splits the nearest snappable
line of every point at the point's orthogonal projection, so that the projection becomes a
node and the point then snaps to it at its perpendicular distance (the ordinary node snapping
of :mod:`geoattract.network.snapping`, unchanged). Rules:

* only points within ``max_distance_m`` of a splittable line are used (the snapping limit);
* a projection within :data:`SPLIT_TOLERANCE_M` of a line end does not split the line (the
  end is already a node); one within it of an interior vertex splits the line *at* that
  vertex (no new coordinate); projections on one line within the tolerance of each other
  make one cut;
* the pieces keep their line's attributes (class, direction, speed, name: the caller repeats
  them through the returned ``owner``); their geometry lengths add up to the line's.

Facilities keep node snapping: only the points given here (the town halls of the communes
routed) move the nodes. Everything is vectorised (one nearest-line query, numpy on the
coordinates of the lines cut).
"""

from __future__ import annotations

import hashlib

import numpy as np
import shapely

#: A projection closer than this (m, along the line) to a line end does not split it; one
#: closer to an interior vertex splits at the vertex; closer cuts on one line are merged.
SPLIT_TOLERANCE_M: float = 1.0


def points_digest(points_xy: np.ndarray | None) -> str | None:
    """SHA-256 of a set of points (order-independent, coordinates to the millimetre).

    Used in the network cache key: a graph split at some points is never reused for others.
    """
    if points_xy is None:
        return None
    xy = np.round(np.asarray(points_xy, dtype=np.float64).reshape(-1, 2), 3)
    xy = np.unique(xy, axis=0)
    return hashlib.sha256(np.ascontiguousarray(xy).tobytes()).hexdigest()


def _cuts(
    geoms: np.ndarray,
    splittable: np.ndarray,
    points_xy: np.ndarray,
    max_distance_m: float,
    tolerance_m: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Line index and position along it (m) of each cut, sorted, before merging."""
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0))
    cand = np.flatnonzero(splittable)
    if cand.size == 0 or len(points_xy) == 0:
        return empty
    pts = np.asarray(shapely.points(points_xy), dtype=object)
    tree = shapely.STRtree(geoms[cand])
    (pi, gi), _ = tree.query_nearest(
        pts, max_distance=max_distance_m, return_distance=True, all_matches=False
    )
    line = cand[gi]
    at = np.asarray(shapely.line_locate_point(geoms[line], pts[pi]), dtype=np.float64)
    inner = (at > tolerance_m) & (at < shapely.length(geoms[line]) - tolerance_m)
    line, at = line[inner], at[inner]
    order = np.lexsort((at, line))
    return line[order], at[order]


def split_at_points(
    geoms: np.ndarray,
    splittable: np.ndarray,
    points_xy: np.ndarray,
    *,
    max_distance_m: float,
    tolerance_m: float = SPLIT_TOLERANCE_M,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Split lines at the orthogonal projections of points (see the module docstring).

    Parameters
    ----------
    geoms : numpy.ndarray
        LineStrings (EPSG:2154).
    splittable : numpy.ndarray
        bool per line: a point may join it (snappable class).
    points_xy : numpy.ndarray
        (n, 2) point coordinates.
    max_distance_m : float
        Points farther than this from every splittable line are ignored.
    tolerance_m : float
        See :data:`SPLIT_TOLERANCE_M`.

    Returns
    -------
    pieces : numpy.ndarray
        The lines, each cut line replaced in place by its pieces in drawing order.
    owner : numpy.ndarray
        Index of the input line of every piece.
    cuts : int
        Number of cuts made.
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    points_xy = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
    line, at = _cuts(
        geoms, np.asarray(splittable, dtype=bool), points_xy, max_distance_m, tolerance_m
    )
    if line.size:  # cuts on one line closer than the tolerance: the first one
        keep = np.r_[True, (line[1:] != line[:-1]) | (np.diff(at) > tolerance_m)]
        line, at = line[keep], at[keep]
    if line.size == 0:
        return geoms, np.arange(n), 0
    cut_lines, rank = np.unique(line, return_inverse=True)
    coords, vidx = shapely.get_coordinates(geoms[cut_lines], return_index=True)
    step = np.r_[0.0, np.hypot(*np.diff(coords, axis=0).T)]
    first = np.searchsorted(vidx, np.arange(cut_lines.size))
    step[first] = 0.0
    cum = np.cumsum(step)
    m = cum - cum[first][vidx]  # position of every vertex along its line
    cut_xy = shapely.get_coordinates(shapely.line_interpolate_point(geoms[line], at))

    # nearest vertex of each cut on its line: the cut moves onto it within the tolerance
    items_r = np.r_[vidx, rank]
    items_m = np.r_[m, at]
    is_cut = np.r_[np.zeros(m.size, bool), np.ones(at.size, bool)]
    order = np.lexsort((is_cut, items_m, items_r))
    pos = np.arange(order.size)
    vert_pos = np.where(~is_cut[order], pos, -1)
    prev_v = order[np.maximum.accumulate(vert_pos)]
    next_v = order[np.minimum.accumulate(np.where(vert_pos >= 0, pos, order.size)[::-1])[::-1]]
    where_cut = np.empty(at.size, dtype=np.int64)
    where_cut[order[is_cut[order]] - m.size] = np.flatnonzero(is_cut[order])
    pv, nv = prev_v[where_cut], next_v[where_cut]
    gap_p, gap_n = at - m[pv], m[nv] - at
    onto = np.where(gap_p <= gap_n, pv, nv)
    snap = np.minimum(gap_p, gap_n) <= tolerance_m
    at = np.where(snap, m[onto], at)
    cut_xy[snap] = coords[onto[snap]]
    dropped_vertex = np.zeros(m.size, dtype=bool)
    dropped_vertex[onto[snap]] = True
    if snap.any():  # two cuts snapped onto one vertex: one cut
        keep = np.r_[True, (rank[1:] != rank[:-1]) | (at[1:] != at[:-1])]
        rank, at, cut_xy = rank[keep], at[keep], cut_xy[keep]

    # pieces: each cut ends one piece and starts the next (it is written twice)
    n_cuts = np.bincount(rank, minlength=cut_lines.size)
    pieces_per_line = np.ones(n, dtype=np.int64)
    pieces_per_line[cut_lines] += n_cuts
    offset = np.r_[0, np.cumsum(pieces_per_line)[:-1]]
    cut_first = np.r_[0, np.cumsum(n_cuts)[:-1]]
    k = np.arange(at.size) - cut_first[rank]  # rank of the cut on its line (0-based)
    keep_v = ~dropped_vertex
    vr, vm = vidx[keep_v], m[keep_v]
    # pieces of a vertex: number of cuts of its line strictly before it
    sorted_key = np.lexsort((at, rank))
    before = _count_before(rank[sorted_key], at[sorted_key], vr, vm)
    v_piece = offset[cut_lines[vr]] + before
    c_end = offset[cut_lines[rank]] + k
    all_piece = np.r_[v_piece, c_end, c_end + 1]
    all_m = np.r_[vm, at, at]
    all_xy = np.r_[coords[keep_v], cut_xy, cut_xy]
    seq = np.r_[np.arange(vm.size), np.full(at.size, -1), np.full(at.size, -1)]
    o = np.lexsort((seq, all_m, all_piece))
    ids, compact = np.unique(all_piece[o], return_inverse=True)
    out_pieces = shapely.linestrings(all_xy[o], indices=compact)
    total = int(pieces_per_line.sum())
    pieces = np.empty(total, dtype=object)
    uncut = np.ones(n, dtype=bool)
    uncut[cut_lines] = False
    pieces[offset[uncut]] = geoms[uncut]
    pieces[ids] = np.asarray(out_pieces, dtype=object)
    owner = np.repeat(np.arange(n), pieces_per_line)
    return pieces, owner, int(at.size)


def _count_before(
    cut_rank: np.ndarray, cut_at: np.ndarray, v_rank: np.ndarray, v_m: np.ndarray
) -> np.ndarray:
    """Per vertex, the number of cuts of its line at a smaller position (cuts sorted)."""
    start = np.searchsorted(cut_rank, v_rank, side="left")
    items_r = np.r_[cut_rank, v_rank]
    items_m = np.r_[cut_at, v_m]
    is_v = np.r_[np.zeros(cut_rank.size, bool), np.ones(v_rank.size, bool)]
    order = np.lexsort((is_v, items_m, items_r))  # a cut at a vertex's position comes first
    cuts_seen = np.cumsum(~is_v[order])
    out = np.empty(v_rank.size, dtype=np.int64)
    vpos = is_v[order]
    out[order[vpos] - cut_rank.size] = cuts_seen[vpos]
    return out - start
