"""Shortest-path trees from distance arrays: sums of edge values along the tree paths.

A one-to-all Dijkstra gives a distance per node but, in the package's kernels, no path. The
tree is recovered afterwards: an edge ``p → q`` of weight ``w`` is on a shortest-path tree
when ``dist[p] + w == dist[q]``. The comparison is exact because the search computed
``dist[q]`` as that very float sum for the edge it kept (any other edge passing the test is
an equally short alternative). Sums of any other edge value (length, length per class…)
along the tree paths are then accumulated by pointer jumping: ``⌈log2(depth)⌉`` vectorised
passes, no Python loop over nodes. Only the reached nodes and the edges entering them are
touched, so a bounded search costs what it reached.

Used by the calibration (per-class path lengths) and by the origin–destination matrix
(road distance of the fastest path).
"""

from __future__ import annotations

import numpy as np


def incoming_csr(n: int, tail: np.ndarray, head: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges grouped by head node: ``(ptr, order)``.

    The edges entering node ``q`` are ``order[ptr[q]:ptr[q + 1]]`` (indices into ``tail`` /
    ``head``), so ``tail[order]``, ``weight[order]``… give the arrays :func:`path_sums` takes.
    """
    order = np.argsort(head, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(head, minlength=n), out=ptr[1:])
    return ptr, order


def tree_sums(parent: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over every node of the tree path from its root down to each node.

    Parameters
    ----------
    parent : numpy.ndarray
        Parent of each node (indices into the same arrays), -1 for roots.
    values : numpy.ndarray
        Value carried by each node: the value of the edge from its parent (0 at roots); shape
        ``(n,)`` or ``(n, k)`` for ``k`` quantities at once.

    Returns
    -------
    numpy.ndarray
        Same shape as ``values``: at each node, the sum along its path from the root.

    Notes
    -----
    Pointer jumping: ``acc[i] += acc[p[i]]; p[i] = p[p[i]]`` for every node whose pointer is
    not a root yet, both right-hand sides read before the assignment (numpy fancy indexing
    evaluates them first). A tree has no cycle, so it ends after ``⌈log2(depth)⌉`` passes.
    """
    acc = np.array(values, dtype=np.float64, copy=True)
    ptr = np.array(parent, dtype=np.int64, copy=True)
    active = np.flatnonzero(ptr >= 0)
    while active.size:
        up = ptr[active]
        acc[active] = acc[active] + acc[up]
        ptr[active] = ptr[up]
        active = active[ptr[active] >= 0]
    return acc


def path_sums(
    dist: np.ndarray,
    in_ptr: np.ndarray,
    in_tail: np.ndarray,
    in_weight: np.ndarray,
    in_values: np.ndarray,
    reached: np.ndarray | None = None,
) -> np.ndarray:
    """Sum edge values along the shortest-path tree that ``dist`` describes.

    Parameters
    ----------
    dist : numpy.ndarray
        Distance of every node from the search's sources, in the search direction (``inf``
        when unreached).
    in_ptr, in_tail, in_weight, in_values : numpy.ndarray
        The edges entering each node in the search direction, grouped by head node:
        the edges entering ``q`` are positions ``in_ptr[q]:in_ptr[q + 1]`` of ``in_tail``
        (their tail node), ``in_weight`` (the weight the search added) and ``in_values``
        (the values to sum, shape ``(m,)`` or ``(m, k)``). For a forward search these are
        the reverse adjacency; for a search on the reversed graph, the forward adjacency.
    reached : numpy.ndarray, optional
        The nodes with a finite distance, if the caller knows them.

    Returns
    -------
    numpy.ndarray
        Per-node sums, shape ``(n,)`` or ``(n, k)``; 0 at the sources; NaN for unreached
        nodes and for nodes reached only through zero-weight edges.
    """
    if reached is None:
        reached = np.flatnonzero(np.isfinite(dist))
    values = np.asarray(in_values, dtype=np.float64)
    out = np.full((dist.size, *values.shape[1:]), np.nan)
    if reached.size == 0:
        return out
    starts = in_ptr[reached]
    counts = in_ptr[reached + 1] - starts
    total = int(counts.sum())
    heads = np.repeat(reached, counts)
    edges = (
        np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(starts, counts)
    )
    tails = in_tail[edges]
    weight = in_weight[edges]
    dt = dist[tails]
    tight = np.isfinite(dt) & (weight > 0) & (dt + weight == dist[heads])
    local = np.full(dist.size, -1, dtype=np.int64)
    local[reached] = np.arange(reached.size)
    parent = np.full(reached.size, -1, dtype=np.int64)
    node_values = np.zeros((reached.size, *values.shape[1:]))
    has = np.zeros(reached.size, dtype=bool)
    hit = np.flatnonzero(tight)
    parent[local[heads[hit]]] = local[tails[hit]]
    node_values[local[heads[hit]]] = values[edges[hit]]
    has[local[heads[hit]]] = True
    sums = tree_sums(parent, node_values)
    # Sources carry distance 0 and no parent; a node with a positive distance and no tight
    # incoming edge was reached through zero-weight edges only.
    orphan = ~has & (dist[reached] > 0)
    sums[orphan] = np.nan
    out[reached] = sums
    return out
