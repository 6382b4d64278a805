"""Benchmark the package's compiled engines against their library alternatives, in one run.

Each engine runs against its library alternative on the workloads the package ships, in ONE
process, the contenders taking turns for several rounds (the machine is shared and noisy: every
run is reported, with the minimum of each contender and the median over the rounds of the
ratio library / custom within a round). Outputs are checked equal.

Engines and their alternatives (drop-in replacements with the same arguments and results,
swapped into the package's modules for the run):

- **Dijkstra kernels** (:mod:`geoattract.routing.kernels`, used by
  :mod:`geoattract.routing.queries`) against ``scipy.sparse.csgraph.dijkstra``: the bounded
  searches by ``dijkstra(indices=origins, limit=...)`` (dense rows, by blocks of origins; origin
  offsets added after, target offsets by a CSR index of the targets at each node), the
  multi-source search by one ``dijkstra`` from a super-source node whose edges carry the
  facility offsets (``return_predecessors`` gives the nearest facility). Workloads:

  * ``47``: the Lot-et-Garonne study's category indicators
    (:func:`~geoattract.accessibility.category_accessibility`: nearest time of each category,
    counts within 10/20/30 min from the 319 town halls, E2SFCA pairs within each catchment);
  * ``france``: the France study's first-round partitions (balls of the national graph, each
    cut around its départements' town halls and computed by
    :func:`~geoattract.accessibility.partitioned.run_partition`);
  * ``matrix``: ``geoattract matrix --from all --to 75056`` (:func:`~geoattract.routing.
    od_matrix`: one reversed search from Paris over the national graph, then the road distance
    read along the tree).

- **Marching squares and ring assembly** (:func:`geoattract.routing.contour.contour_band`,
  used by the area and band isochrones) against ``contourpy`` (``filled(-inf, level)``, polygons
  with their holes, built by ``shapely.from_ragged_array`` and simplified by GEOS at the same
  tolerance) and against the compiled trace with GEOS assembly (``shapely.build_area`` of the
  traced rings). Workloads: the 47 study's isochrone stage, 319 town halls x 10/20/30 min,
  shape ``area`` (the default) and ``band``.

Figures per workload: the workload itself (the stage function, the engine's own calls timed
inside it), and a *replay* of the engine's calls recorded during the workload, one thread, with
nothing else around them (the engine alone). The first-call cost (numba compiling or loading
its cache, the library's import and first call) is measured in fresh processes
(``--first-call``): with an empty numba cache (``NUMBA_CACHE_DIR`` a new folder, as after an
install) and with that cache filled.

Usage (from the checkout, so that this ``geoattract`` is imported)::

    PYTHONPATH=. python scripts/benchmark_engines.py            # every workload, 3 rounds
    PYTHONPATH=. python scripts/benchmark_engines.py --quick    # 4 France partitions, 2 rounds
    PYTHONPATH=. python scripts/benchmark_engines.py --json out.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import shapely

#: Interleaved rounds of each workload (``--quick``: 2).
ROUNDS = 3

#: France partitions of the ``--quick`` run.
QUICK_PARTITIONS = 4

#: Decision rule of issue 24: the library replaces the engine when it is within this factor.
WITHIN = 1.5

#: Largest dense block of the scipy bounded search: origins x nodes float64 entries.
SCIPY_BLOCK_ENTRIES = 1 << 23

#: Tolerances of the checks: times (s), isochrone intersection over union and area error.
TIME_TOL_S = 1e-9
MIN_IOU = 0.999
MAX_AREA_ERROR = 1e-3


# --------------------------------------------------------------------------------------------
# Library alternatives (drop-in for the compiled functions)
# --------------------------------------------------------------------------------------------


def scipy_bounded(
    indptr, indices, weights, origins, origin_offsets, cutoff, tptr, tlist, toffsets, all_nodes
):
    """``kernels.bounded_kernel`` by ``scipy.sparse.csgraph.dijkstra(indices, limit)``."""
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import dijkstra

    n = indptr.size - 1
    graph = csr_array((weights, indices, indptr), shape=(n, n))
    min_toff = toffsets.min() if not all_nodes and toffsets.size else 0.0
    node_bound = cutoff - min_toff
    kept = np.flatnonzero(origin_offsets <= node_bound)
    out_o, out_t, out_d = [], [], []
    block = max(1, SCIPY_BLOCK_ENTRIES // max(n, 1))
    for a in range(0, kept.size, block):
        oi = kept[a : a + block]
        off = origin_offsets[oi]
        limit = node_bound - off.min()
        dense = dijkstra(graph, indices=origins[oi], limit=limit)
        rows, node = np.nonzero(dense <= limit)
        t = off[rows] + dense[rows, node]
        ok = t <= node_bound
        rows, node, t = rows[ok], node[ok].astype(np.int64), t[ok]
        if all_nodes:
            out_o.append(oi[rows])
            out_t.append(node)
            out_d.append(t)
            continue
        count = tptr[node + 1] - tptr[node]
        pair = np.repeat(np.arange(node.size), count)
        first = np.repeat(tptr[node] - (np.cumsum(count) - count), count)
        target = tlist[first + np.arange(pair.size)]
        tt = t[pair] + toffsets[target]
        ok = tt <= cutoff
        out_o.append(oi[rows[pair[ok]]])
        out_t.append(target[ok])
        out_d.append(tt[ok])
    if not out_o:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0)
    o, t, d = np.concatenate(out_o), np.concatenate(out_t), np.concatenate(out_d)
    order = np.lexsort((d, o))  # by origin, then by time, as the kernel emits them
    return o[order], t[order], d[order]


def scipy_multi_source(indptr, indices, weights, sources, offsets, cutoff, needed):
    """``kernels.multi_source_kernel`` by one ``dijkstra`` from a super-source node.

    The super-source (node ``n``) has one edge to each source node, weighted by its smallest
    offset; the nearest facility is read at the root of each node's predecessor path. No early
    stop (scipy has none): ``needed`` is not used, every node is settled.
    """
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import dijkstra

    n = indptr.size - 1
    idx = np.flatnonzero(offsets <= cutoff)
    src, off = sources[idx], offsets[idx]
    order = np.lexsort((idx, off, src))  # per node: the smallest offset, then the first listed
    first = np.ones(order.size, dtype=bool)
    first[1:] = src[order][1:] != src[order][:-1]
    order = order[first]
    ptr = np.concatenate([indptr, [indptr[-1] + order.size]])
    ind = np.concatenate([indices, src[order].astype(indices.dtype)])
    graph = csr_array((np.concatenate([weights, off[order]]), ind, ptr), shape=(n + 1, n + 1))
    dist, pred = dijkstra(graph, indices=n, limit=cutoff, return_predecessors=True)
    dist = dist[:n]
    parent = pred[:n].astype(np.int64)
    parent[(parent < 0) | (parent == n)] = -1
    root = np.arange(n)
    hop = parent.copy()
    active = np.flatnonzero(hop >= 0)
    while active.size:  # pointer jumping to the source node at the root of each path
        root[active] = hop[active]
        hop[active] = parent[hop[active]]
        active = active[hop[active] >= 0]
    of_node = np.full(n, -1, dtype=np.int64)
    of_node[src[order]] = idx[order]
    return dist, np.where(np.isfinite(dist), of_node[root], -1)


def _polygon(parts: np.ndarray) -> shapely.Geometry:
    parts = parts[shapely.area(parts) > 0]
    if parts.size == 0:
        return shapely.Polygon()
    return parts[0] if parts.size == 1 else shapely.multipolygons(parts)


def contourpy_band(field, x0, y0, step, level, links=None):
    """``contour.contour_band`` by ``contourpy`` (filled polygons with holes) and GEOS."""
    import contourpy
    from contourpy import FillType

    from geoattract.routing.contour import SIMPLIFY_TOLERANCE_M

    gen = contourpy.contour_generator(
        z=field, name="serial", fill_type=FillType.ChunkCombinedOffsetOffset
    )
    points, rings, outers = gen.filled(-np.inf, float(level))
    if points[0] is None or len(points[0]) == 0:
        return shapely.Polygon(), links
    coords = np.empty_like(points[0])
    coords[:, 0] = points[0][:, 0] * step + x0
    coords[:, 1] = points[0][:, 1] * step + y0
    parts = shapely.from_ragged_array(
        shapely.GeometryType.POLYGON,
        coords,
        (rings[0].astype(np.int64), outers[0].astype(np.int64)),
    )
    parts = shapely.simplify(parts, SIMPLIFY_TOLERANCE_M, preserve_topology=False)
    return _polygon(parts), links


def geos_assembly_band(field, x0, y0, step, level, links=None):
    """``contour.contour_band`` with its compiled trace, the rings assembled by GEOS."""
    from geoattract.routing.contour import SIMPLIFY_TOLERANCE_M, trace_rings

    ny, nx = field.shape
    if links is None or links.size < 2 * ny * nx:
        links = np.empty(2 * ny * nx, dtype=np.int32)
    points, rings = trace_rings(field, level, links)
    if rings.size < 2:
        return shapely.Polygon(), links
    coords = points * step + np.array([x0, y0])
    lines = shapely.from_ragged_array(shapely.GeometryType.LINESTRING, coords, (rings,))
    lines = shapely.simplify(lines, SIMPLIFY_TOLERANCE_M, preserve_topology=False)
    return shapely.build_area(shapely.multilinestrings(lines)), links


# --------------------------------------------------------------------------------------------
# Swapping engines, timing and recording their calls
# --------------------------------------------------------------------------------------------


@dataclass
class Probe:
    """Seconds spent in each engine function during a workload, and its recorded calls."""

    seconds: dict[str, float] = field(default_factory=dict)
    calls: list[tuple[str, tuple]] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wrap(self, name: str, func: Callable) -> Callable:
        """``func`` timed under ``name`` (and its arguments recorded when recording)."""

        def timed(*args: Any) -> Any:
            if self.calls is not None:
                # a contour's field lives in a scratch buffer reused by the next origin: copied
                # (its own scratch, the last argument, left out); the kernels' inputs are not
                # written to: kept as they are
                if name == "contour":
                    args_kept = (args[0].copy(), *args[1:5])
                else:
                    args_kept = args
                with self.lock:
                    self.calls.append((name, args_kept))
            t0 = time.perf_counter()
            out = func(*args)
            with self.lock:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0
            return out

        return timed


def _targets() -> dict[str, list[tuple[Any, str]]]:
    """Where each engine function is looked up by the package: (module, attribute)."""
    import geoattract.routing.isogrid as isogrid
    import geoattract.routing.isoreach as isoreach
    import geoattract.routing.queries as queries

    return {
        "bounded": [(queries, "bounded_kernel")],
        "multi_source": [(queries, "multi_source_kernel")],
        "contour": [(isogrid, "contour_band"), (isoreach, "contour_band")],
    }


def implementations() -> dict[str, dict[str, Callable]]:
    """Per contender, its function for each engine slot."""
    import geoattract.routing.contour as contour
    import geoattract.routing.kernels as kernels

    return {
        "numba": {
            "bounded": kernels.bounded_kernel,
            "multi_source": kernels.multi_source_kernel,
        },
        "scipy": {"bounded": scipy_bounded, "multi_source": scipy_multi_source},
        "numba contour": {"contour": contour.contour_band},
        "contourpy": {"contour": contourpy_band},
        "numba trace + GEOS": {"contour": geos_assembly_band},
    }


@contextlib.contextmanager
def engine(contender: str, probe: Probe | None = None) -> Iterator[None]:
    """Put ``contender``'s functions in the package's modules for the duration."""
    targets = _targets()
    saved = []
    for slot, func in implementations()[contender].items():
        for module, attr in targets[slot]:
            saved.append((module, attr, getattr(module, attr)))
            setattr(module, attr, probe.wrap(slot, func) if probe else func)
    try:
        yield
    finally:
        for module, attr, func in saved:
            setattr(module, attr, func)


# --------------------------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------------------------


@dataclass
class Workload:
    """A shipped workload: how to run it, how to compare two of its results."""

    engine: str
    name: str
    contenders: tuple[str, ...]
    run: Callable[[], Any]
    compare: Callable[[Any, Any], dict[str, Any]]
    size: str = ""


def _study_47() -> dict[str, Any]:
    from geoattract.accessibility import prepare_inputs
    from geoattract.config.study import load_study_config
    from geoattract.facilities import build_offer
    from geoattract.network import build_network
    from geoattract.territory import build_territory

    cfg = load_study_config()
    territory = build_territory(cfg)
    network = build_network(cfg, territory.communes)
    offer = build_offer(cfg, territory.communes)
    inputs = prepare_inputs(
        network,
        territory.communes,
        offer.facilities,
        offer.catalogue,
        snap_rule=network.snap_rule,
        age_structure=offer.age_structure,
    )
    return {"config": cfg, "territory": territory, "network": network, "inputs": inputs}


def compare_tables(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, Any]:
    """Largest difference of the time columns (s), of other numbers, unequal flags."""
    b = b.reindex(index=a.index, columns=a.columns)
    time_diff = other_diff = 0.0
    unequal = []
    for col in a.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if x.dtype.kind not in "f":  # flags, integer counts: equal
            if not np.array_equal(x, y):
                unequal.append(col)
            continue
        if not np.array_equal(np.isnan(x), np.isnan(y)):
            unequal.append(col)
            continue
        ok = np.isfinite(x) & np.isfinite(y)
        diff = float(np.abs(x[ok] - y[ok]).max()) if ok.any() else 0.0
        if col.startswith("time_"):
            time_diff = max(time_diff, diff * 60.0)
        elif ok.any():  # weighted counts (sums in another order), E2SFCA, shares
            other_diff = max(other_diff, diff / max(1.0, float(np.abs(x[ok]).max())))
    return {
        "max_time_diff_s": time_diff,
        "max_rel_diff_other": other_diff,
        "unequal_columns": unequal,
        "equal": not unequal and time_diff <= TIME_TOL_S and other_diff <= 1e-9,
    }


def accessibility_47(study: dict[str, Any]) -> Workload:
    from geoattract.accessibility import category_accessibility

    inputs = study["inputs"]
    size = f"{inputs.rg.n_nodes:,} nodes, {inputs.rg.n_edges:,} edges"
    return Workload(
        "dijkstra",
        "47 accessibility",
        ("numba", "scipy"),
        lambda: category_accessibility(inputs),
        compare_tables,
        size,
    )


def france_partitions(quick: bool) -> Workload:
    from geoattract.accessibility import prepare_inputs
    from geoattract.accessibility.apl import study_age_means
    from geoattract.accessibility.partitioned import (
        GROUP_JOIN,
        Partitions,
        initial_radius_s,
        run_partition,
    )
    from geoattract.config.study import load_study_config
    from geoattract.facilities import build_offer
    from geoattract.network import build_network
    from geoattract.routing.partition import cut_ball, group_balls, symmetrised
    from geoattract.territory import build_territory

    cfg = load_study_config("france")
    territory = build_territory(cfg)
    network = build_network(cfg, territory.communes)
    offer = build_offer(cfg, territory.communes)
    inputs = prepare_inputs(
        network,
        territory.communes,
        offer.facilities,
        offer.catalogue,
        snap_rule=network.snap_rule,
        age_structure=offer.age_structure,
    )
    inputs = replace(inputs, age_means=study_age_means(inputs), network=None)
    com = inputs.communes
    study = com.index[com["in_study"].to_numpy(dtype=bool)]
    keys = territory.communes["dep"].reindex(study)
    # the first round of partitioned_table: one ball per département, grouped by overlap
    sym = symmetrised(inputs.rg)
    radius = initial_radius_s(inputs)
    names = sorted(set(keys))
    cores = [keys.index[keys == k] for k in names]
    balls = []
    for core in cores:
        nodes = com.loc[core]
        nodes = nodes[~nodes["too_far"]]["node"].to_numpy(dtype=np.int64)
        balls.append(inputs.rg.positions(cut_ball(inputs.rg, sym, nodes, radius).nodes))
    members = group_balls(balls, inputs.rg.n_nodes)
    named = [
        (
            GROUP_JOIN.join(str(names[i]) for i in m),
            cores[m[0]].append([cores[i] for i in m[1:]]),
            None,
        )
        for m in members
    ]
    if quick:
        named = named[:QUICK_PARTITIONS]
    parts = Partitions(inputs, sym, named, radius)

    def run() -> pd.DataFrame:  # cutting each ball and computing it, as a worker gets them
        return pd.concat([run_partition(parts[i]).table for i in range(len(parts))])

    run()
    largest = max(parts.sizes.values(), key=lambda s: s["nodes"])
    size = (
        f"{len(parts)} partitions of the national graph ({inputs.rg.n_nodes:,} nodes), "
        f"largest {largest['nodes']:,} nodes"
    )
    return Workload("dijkstra", "France partitions", ("numba", "scipy"), run, compare_tables, size)


def matrix_paris() -> Workload:
    from geoattract._util.io import resolve_data_dir
    from geoattract.network import load_network
    from geoattract.routing import matrix
    from geoattract.territory.national import (
        default_national_communes_path,
        read_national_communes,
    )

    national = read_national_communes(default_national_communes_path())
    origins = matrix.communes_selection("all", national).copy()
    destinations = matrix.communes_selection("75056", national).copy()
    net = load_network(
        resolve_data_dir() / matrix.DEFAULT_ROADS_FILE, town_halls=national.table.geometry
    )
    onet = matrix.od_network(net)
    origins["delay_s"] = matrix.dense_delays(origins, onet.attrs)
    destinations["delay_s"] = matrix.dense_delays(destinations, onet.attrs)

    def compare(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, Any]:
        same = a[["origin", "destination"]].equals(b[["origin", "destination"]])
        dt = float((a["minutes"] - b["minutes"]).abs().max()) * 60.0 if same else np.inf
        dkm = float((a["km"] - b["km"]).abs().max()) if same else np.inf
        return {
            "pairs": len(a),
            "max_time_diff_s": dt,
            "max_km_diff": dkm,
            "equal": same and dt <= TIME_TOL_S and dkm <= 1e-9,
        }

    size = f"{onet.rg.n_nodes:,} nodes, {onet.rg.n_edges:,} edges, {len(origins):,} origins"
    return Workload(
        "dijkstra",
        "matrix --from all --to 75056",
        ("numba", "scipy"),
        lambda: matrix.od_matrix(onet, origins, destinations),
        compare,
        size,
    )


def compare_polygons(a: Any, b: Any) -> dict[str, Any]:
    """IoU and area error of paired isochrones; validity and nesting of the second set."""
    ga, gb = a.geometry.to_numpy(), b.geometry.to_numpy()
    same_empty = bool(np.array_equal(shapely.is_empty(ga), shapely.is_empty(gb)))
    both = ~shapely.is_empty(ga) & ~shapely.is_empty(gb)
    inter = shapely.area(shapely.intersection(ga[both], gb[both]))
    union = shapely.area(shapely.union(ga[both], gb[both]))
    iou = inter / union
    err = np.abs(shapely.area(gb[both]) - shapely.area(ga[both])) / shapely.area(ga[both])
    k = b["minutes"].nunique()
    g = gb.reshape(-1, k)
    nested = all(bool(shapely.covers(g[:, i + 1], g[:, i]).all()) for i in range(k - 1))
    out = {
        "polygons": int(len(gb)),
        "min_iou": float(iou.min()),
        "max_area_error": float(err.max()),
        "identical": int(shapely.equals_exact(ga, gb, 0.0).sum()),
        "valid": bool(shapely.is_valid(gb).all()),
        "nested": nested,
        "same_empty": same_empty,
        "mean_vertices": [
            float(shapely.get_num_coordinates(ga).mean()),
            float(shapely.get_num_coordinates(gb).mean()),
        ],
    }
    out["equal"] = (
        out["min_iou"] >= MIN_IOU
        and out["max_area_error"] < MAX_AREA_ERROR
        and out["valid"]
        and nested
        and same_empty
    )
    return out


def isochrone_stage(study: dict[str, Any], shape: str) -> Workload:
    from geoattract.routing import isochrones_for_communes

    cfg, territory, network = study["config"], study["territory"], study["network"]

    def run() -> Any:  # the pipeline's build_isochrones, with the shape asked
        return isochrones_for_communes(
            network, territory.communes, minutes=cfg.thresholds_min, shape=shape
        )

    return Workload(
        "contour",
        f"47 isochrones, {shape}",
        ("numba contour", "contourpy", "numba trace + GEOS"),
        run,
        compare_polygons,
        "319 town halls x 10/20/30 min",
    )


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------


def _median_ratio(runs: dict[str, list[float]], reference: str, other: str) -> float:
    return float(np.median([b / a for a, b in zip(runs[reference], runs[other], strict=True)]))


def measure(work: Workload, rounds: int) -> dict[str, Any]:
    """Warm up, record the engine's calls, then run the contenders in turns."""
    reference = work.contenders[0]
    recorder = Probe(calls=[])
    with engine(reference, recorder):
        ref_out = work.run()
    checks = {}
    for contender in work.contenders[1:]:
        with engine(contender):
            checks[contender] = work.compare(ref_out, work.run())
    runs: dict[str, list[float]] = {c: [] for c in work.contenders}
    inside: dict[str, list[float]] = {c: [] for c in work.contenders}
    for r in range(rounds):
        order = work.contenders if r % 2 == 0 else work.contenders[::-1]
        for contender in order:
            probe = Probe()
            with engine(contender, probe):
                t0 = time.perf_counter()
                work.run()
                runs[contender].append(time.perf_counter() - t0)
            inside[contender].append(sum(probe.seconds.values()))
        print(
            f"  round {r + 1}: "
            + ", ".join(f"{c} {runs[c][-1]:.3f} s ({inside[c][-1]:.3f} in engine)" for c in order),
            flush=True,
        )
    replay = replay_calls(recorder.calls or [], work.contenders, rounds)
    return {
        "engine": work.engine,
        "workload": work.name,
        "size": work.size,
        "runs": runs,
        "engine_seconds": inside,
        "ratio": {c: _median_ratio(runs, reference, c) for c in work.contenders[1:]},
        "engine_ratio": {c: _median_ratio(inside, reference, c) for c in work.contenders[1:]},
        "checks": checks,
        "replay": replay,
    }


def replay_calls(
    calls: list[tuple[str, tuple]], contenders: tuple[str, ...], rounds: int
) -> dict[str, Any]:
    """The recorded engine calls again, one thread, each contender in turn (engine alone)."""
    impl = implementations()
    slots = sorted({name for name, _ in calls})
    runs: dict[str, dict[str, list[float]]] = {s: {c: [] for c in contenders} for s in slots}
    for r in range(rounds):
        order = contenders if r % 2 == 0 else contenders[::-1]
        for contender in order:
            for slot in slots:
                func = impl[contender][slot]
                t0 = time.perf_counter()
                for name, args in calls:
                    if name == slot:
                        func(*args)
                runs[slot][contender].append(time.perf_counter() - t0)
    reference = contenders[0]
    return {
        slot: {
            "calls": sum(1 for name, _ in calls if name == slot),
            "runs": runs[slot],
            "ratio": {c: _median_ratio(runs[slot], reference, c) for c in contenders[1:]},
        }
        for slot in slots
    }


FIRST_CALL_SNIPPET = {
    "numba": "from geoattract.routing.partition import warm_up_kernels as f",
    "scipy": "from geoattract.routing.partition import warm_up_kernels as f",
    "numba contour": "from geoattract.routing.contour import contour_band as f",
    "contourpy": "f = contourpy_band",
    "numba trace + GEOS": "f = geos_assembly_band",
}


def first_call(contender: str) -> dict[str, float]:
    """In this (fresh) process: seconds of the engine's imports and of its first two calls."""
    t0 = time.perf_counter()
    # the package's imports (numba among them, imported by the engines that stay either way)
    import geoattract.routing.contour
    import geoattract.routing.partition  # noqa: F401

    namespace: dict[str, Any] = dict(globals())
    exec(FIRST_CALL_SNIPPET[contender], namespace)
    func = namespace["f"]
    if contender in ("numba", "scipy"):
        call = func
    else:
        yy, xx = np.mgrid[0:40, 0:40]
        cone = np.hypot(xx - 20.0, yy - 20.0) * (1.0 + 0.3 * np.sin(xx / 3.0))

        def call() -> Any:
            return func(cone, 0.0, 0.0, 125.0, 12.0)

    t1 = time.perf_counter()
    with engine(contender) if contender in ("numba", "scipy") else contextlib.nullcontext():
        call()
        t2 = time.perf_counter()
        call()
        t3 = time.perf_counter()
    return {"import_s": t1 - t0, "first_s": t2 - t1, "second_s": t3 - t2}


def first_calls() -> dict[str, Any]:
    """Each contender's first call in fresh processes: empty numba cache, then filled."""
    out: dict[str, Any] = {}
    for contender in FIRST_CALL_SNIPPET:
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "NUMBA_CACHE_DIR": cache}
            out[contender] = {}
            for state in ("empty cache", "filled cache"):
                done = subprocess.run(
                    [sys.executable, __file__, "--first-call", contender],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                out[contender][state] = json.loads(done.stdout.strip().splitlines()[-1])
        cold = out[contender]["empty cache"]
        warm = out[contender]["filled cache"]
        print(
            f"  {contender}: first call {cold['first_s']:.3f} s with an empty numba cache, "
            f"{warm['first_s']:.3f} s with it filled (second call {warm['second_s']:.4f} s)",
            flush=True,
        )
    return out


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def table(results: list[dict[str, Any]], first: dict[str, Any]) -> str:
    """Markdown table: engine, workload, contender, runs, min, median ratio, check, verdict."""
    lines = [
        "| engine | workload | contender | runs (s) | min (s) | engine alone: replay min (s), "
        "ratio | ratio (median of rounds) | engine ratio | check |",
        "|---|---|---|---|---:|---|---:|---:|---|",
    ]
    for res in results:
        for c, runs in res["runs"].items():
            replay = "; ".join(
                f"{slot} {min(v['runs'][c]):.3f} ({v['ratio'].get(c, 1.0):.2f}x)"
                for slot, v in res["replay"].items()
            )
            ratio = res["ratio"].get(c, 1.0)
            eng = res["engine_ratio"].get(c, 1.0)
            check = res["checks"].get(c, {})
            lines.append(
                f"| {res['engine']} | {res['workload']} | {c} | "
                + ", ".join(f"{x:.3f}" for x in runs)
                + f" | {min(runs):.3f} | {replay} | {ratio:.2f} | {eng:.2f} | "
                + (_check_text(check) if check else "reference")
                + " |"
            )
    lines += ["", "| contender | first call, empty numba cache (s) | filled cache (s) |"]
    lines += ["|---|---:|---:|"]
    for c, v in first.items():
        lines.append(
            f"| {c} | {v['empty cache']['first_s']:.3f} | {v['filled cache']['first_s']:.3f} |"
        )
    return "\n".join(lines)


def _check_text(check: dict[str, Any]) -> str:
    if "min_iou" in check:
        return (
            f"IoU >= {check['min_iou']:.9f}, area error <= {check['max_area_error']:.1e}, "
            f"{check['identical']}/{check['polygons']} identical, valid {check['valid']}, "
            f"nested {check['nested']}"
        )
    return f"{'equal' if check['equal'] else 'DIFFERENT'}, max time diff {check['max_time_diff_s']:.1e} s"


def decisions(results: list[dict[str, Any]]) -> dict[str, str]:
    """Per engine and contender: the largest ratio over its workloads, against :data:`WITHIN`.

    The ratios of the workload, of the engine's time inside it and of the replay all count:
    the library must be within :data:`WITHIN` on each (warm; the first calls are printed apart).
    """
    worst: dict[tuple[str, str], float] = {}
    for res in results:
        for c, ratio in res["ratio"].items():
            key = (res["engine"], c)
            replayed = [v["ratio"][c] for v in res["replay"].values()]
            worst[key] = max(worst.get(key, 0.0), ratio, res["engine_ratio"][c], *replayed)
    return {
        f"{e} vs {c}": (
            f"library within {WITHIN}x (worst {r:.2f}x): switch"
            if r <= WITHIN
            else f"library {r:.2f}x slower on a workload: keep the engine"
        )
        for (e, c), r in worst.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 France partitions, 2 rounds")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--json", default=None, help="also write the figures as JSON")
    parser.add_argument("--first-call", default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--only", default=None, help="comma-separated: 47, france, matrix, isochrones, first"
    )
    args = parser.parse_args()
    if args.first_call:
        print(json.dumps(first_call(args.first_call)))
        return
    import geoattract

    rounds = args.rounds or (2 if args.quick else ROUNDS)
    only = set(args.only.split(",")) if args.only else {"47", "france", "matrix", "isochrones"}
    only |= {"first"} if not args.only else set()
    print(f"geoattract from {geoattract.__file__}; load average {os.getloadavg()}", flush=True)
    results = []
    first: dict[str, Any] = {}
    if "first" in only:
        print("first calls (fresh processes)", flush=True)
        first = first_calls()
    study = _study_47() if only & {"47", "isochrones"} else {}
    builders: list[tuple[str, Callable[[], Workload]]] = [
        ("47", lambda: accessibility_47(study)),
        ("france", lambda: france_partitions(args.quick)),
        ("matrix", matrix_paris),
        ("isochrones", lambda: isochrone_stage(study, "area")),
        ("isochrones", lambda: isochrone_stage(study, "band")),
    ]
    for key, build in builders:
        if key not in only:
            continue
        work = build()
        print(f"{work.engine}: {work.name} ({work.size})", flush=True)
        results.append(measure(work, rounds))
    print(f"load average {os.getloadavg()}\n")
    print(table(results, first))
    for name, verdict in decisions(results).items():
        print(f"- {name}: {verdict}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"results": results, "first_call": first}, fh, indent=1, default=str)


if __name__ == "__main__":
    main()
