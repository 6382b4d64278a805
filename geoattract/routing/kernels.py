"""Compiled Dijkstra kernels (numba, ``nogil``) over the CSR arrays of a routing graph.

The priority queue is an indexed 4-ary min-heap over parallel arrays: keys ``hk`` (time),
values ``hv`` (node) and ``pos[node]`` = slot of the node in the heap, -1 when never queued,
:data:`DONE` once settled. Decrease-key keeps the heap at the size of the search frontier; a
4-ary heap is shallower and reads its children from one cache line.

- :func:`multi_source_kernel`: one search from several sources (nearest facility);
- :func:`bounded_kernel`: one bounded search per origin, emitting (origin, target, time)
  pairs (reach, counts, isochrones).

Times are sums of edge weights in the order Dijkstra relaxes them, exactly as networkx adds
them. The kernels release the GIL: :mod:`geoattract.routing.queries` runs them on threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Initial capacity of the growable output buffers of the bounded kernel (they double when
#: full).
INITIAL_HEAP_CAPACITY = 1024

#: Heap arity (children per heap node).
HEAP_ARITY = 4

#: Marker in the ``pos`` array of a settled node.
DONE = -2


def kernel_array(values: object, dtype: type) -> np.ndarray:
    """Return ``values`` as a writable C-contiguous array of ``dtype``.

    That is the one argument type a kernel is compiled for.
    numba compiles a kernel once per argument type, and a read-only array (a pandas column
    under copy-on-write, a loaded cache) is another type than a writable one: each would be a
    second compilation on a fresh install, and a second entry of the compile cache shipped in
    the wheel. Callers pass their arrays through this function.

    Examples
    --------
    >>> a = np.arange(3.0)
    >>> a.flags.writeable = False
    >>> kernel_array(a, np.float64).flags.writeable
    True
    >>> kernel_array([1, 2], np.int64).dtype
    dtype('int64')
    """
    out: np.ndarray = np.ascontiguousarray(values, dtype=dtype)
    return out if out.flags.writeable else out.copy()


@njit(cache=True, nogil=True, inline="always")
def sift_up(hk, hv, pos, i, key, val):  # pragma: no cover - compiled
    """Place (key, val) at heap slot ``i`` or above; ``pos[val]`` tracks its slot."""
    while i > 0:
        parent = (i - 1) // HEAP_ARITY
        pk = hk[parent]
        if pk <= key:
            break
        hk[i] = pk
        pv = hv[parent]
        hv[i] = pv
        pos[pv] = i
        i = parent
    hk[i] = key
    hv[i] = val
    pos[val] = i


@njit(cache=True, nogil=True, inline="always")
def pop_root(hk, hv, pos, size):  # pragma: no cover - compiled
    """Settle and remove the root of a heap of ``size`` items; returns the new size."""
    pos[hv[0]] = DONE
    size -= 1
    if size > 0:
        lk = hk[size]
        lv = hv[size]
        i = 0
        while True:
            c = HEAP_ARITY * i + 1
            if c >= size:
                break
            best = c
            bk = hk[c]
            end = min(c + HEAP_ARITY, size)
            for j in range(c + 1, end):
                if hk[j] < bk:
                    bk = hk[j]
                    best = j
            if bk >= lk:
                break
            hk[i] = bk
            bv = hv[best]
            hv[i] = bv
            pos[bv] = i
            i = best
        hk[i] = lk
        hv[i] = lv
        pos[lv] = i
    return size


@njit(cache=True, nogil=True)
def _seed(dist, label, pos, hk, hv, sources, offsets, cutoff):  # pragma: no cover - compiled
    """Queue every source within the cutoff at its offset; returns the heap size."""
    size = 0
    for i in range(sources.size):
        s = sources[i]
        d = offsets[i]
        if d <= cutoff and d < dist[s]:
            dist[s] = d
            label[s] = i
            if pos[s] >= 0:
                sift_up(hk, hv, pos, pos[s], d, s)
            else:
                sift_up(hk, hv, pos, size, d, s)
                size += 1
    return size


@njit(cache=True, nogil=True)
def multi_source_kernel(
    indptr, indices, weights, sources, offsets, cutoff, needed
):  # pragma: no cover - compiled
    """One Dijkstra from several sources; returns (dist, label = index in sources or -1).

    Stops early once every node flagged in ``needed`` is settled (when ``needed`` is not
    empty). Ties between sources go to the smaller source index.
    """
    n = indptr.size - 1
    dist = np.full(n, np.inf)
    label = np.full(n, -1, dtype=np.int64)
    pos = np.full(n, -1, dtype=np.int32)
    hk = np.empty(n, dtype=np.float64)
    hv = np.empty(n, dtype=np.int32)
    size = _seed(dist, label, pos, hk, hv, sources, offsets, cutoff)
    use_needed = needed.size > 0
    remaining = int(needed.sum()) if use_needed else 0
    while size > 0:
        if use_needed and remaining == 0:
            break
        u = hv[0]
        d = hk[0]
        size = pop_root(hk, hv, pos, size)
        if use_needed and needed[u]:
            remaining -= 1
        lu = label[u]
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            nd = d + weights[e]
            if nd > cutoff:
                continue
            dv = dist[v]
            if nd < dv or (nd == dv and lu < label[v] and pos[v] != DONE):
                dist[v] = nd
                label[v] = lu
                p = pos[v]
                if p >= 0:
                    sift_up(hk, hv, pos, p, nd, v)
                else:
                    sift_up(hk, hv, pos, size, nd, v)
                    size += 1
    if use_needed:
        # Nodes still queued at the early stop carry tentative distances: clear them.
        for i in range(n):
            if pos[i] != DONE:
                dist[i] = np.inf
                label[i] = -1
    return dist, label


@njit(cache=True, nogil=True)
def bounded_kernel(
    indptr, indices, weights, origins, origin_offsets, cutoff, tptr, tlist, toffsets, all_nodes
):  # pragma: no cover - compiled
    """Bounded Dijkstra from each origin in turn; emits (origin, target, time) pairs.

    With ``all_nodes`` every settled node is emitted as its own target. Otherwise targets are
    grouped by node in CSR form (``tptr``, ``tlist``) and emitted when
    ``dist(node) + toffsets[target] <= cutoff``. The per-node buffers are allocated once per
    call and reset through the list of touched nodes, so each origin costs only what it
    reaches. A settled node needs no test when relaxing: its time is <= any new candidate.
    """
    n = indptr.size - 1
    dist = np.full(n, np.inf)
    pos = np.full(n, -1, dtype=np.int32)
    hk = np.empty(n, dtype=np.float64)
    hv = np.empty(n, dtype=np.int32)
    touched = np.empty(n, dtype=np.int32)
    cap = INITIAL_HEAP_CAPACITY
    out_o = np.empty(cap, dtype=np.int64)
    out_t = np.empty(cap, dtype=np.int64)
    out_d = np.empty(cap, dtype=np.float64)
    n_out = 0
    min_toff = 0.0
    if not all_nodes and toffsets.size > 0:
        min_toff = toffsets.min()
    node_bound = cutoff - min_toff
    for oi in range(origins.size):
        s = origins[oi]
        d0 = origin_offsets[oi]
        if not d0 <= node_bound:
            continue
        n_touched = 1
        touched[0] = s
        dist[s] = d0
        sift_up(hk, hv, pos, 0, d0, s)
        size = 1
        while size > 0:
            u = hv[0]
            d = hk[0]
            size = pop_root(hk, hv, pos, size)
            if all_nodes:
                k0 = 0
                k1 = 1
            else:
                k0 = tptr[u]
                k1 = tptr[u + 1]
            for k in range(k0, k1):
                if all_nodes:
                    t = u
                    tt = d
                else:
                    t = tlist[k]
                    tt = d + toffsets[t]
                    if tt > cutoff:
                        continue
                if n_out == cap:
                    cap *= 2
                    no = np.empty(cap, dtype=np.int64)
                    nt = np.empty(cap, dtype=np.int64)
                    nd_ = np.empty(cap, dtype=np.float64)
                    no[:n_out] = out_o[:n_out]
                    nt[:n_out] = out_t[:n_out]
                    nd_[:n_out] = out_d[:n_out]
                    out_o = no
                    out_t = nt
                    out_d = nd_
                out_o[n_out] = oi
                out_t[n_out] = t
                out_d[n_out] = tt
                n_out += 1
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                nd = d + weights[e]
                if nd <= node_bound and nd < dist[v]:
                    p = pos[v]
                    if p >= 0:
                        sift_up(hk, hv, pos, p, nd, v)
                    else:
                        touched[n_touched] = v
                        n_touched += 1
                        sift_up(hk, hv, pos, size, nd, v)
                        size += 1
                    dist[v] = nd
        for i in range(n_touched):
            j = touched[i]
            dist[j] = np.inf
            pos[j] = -1
    return out_o[:n_out].copy(), out_t[:n_out].copy(), out_d[:n_out].copy()
