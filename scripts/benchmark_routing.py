"""Benchmark the routing engine against networkx, scipy and pandana.

Workload (the accessibility stage of a study): 319 origins x 20 facility categories, for each
(origin, category) the time to the nearest facility and the number of facilities within 10,
20 and 30 minutes. Facilities are random nodes (seeded), 30 to 3,000 per category.

Each contender runs in its own subprocess so that its peak memory (``ru_maxrss``) is its own.
Preprocessing (building the contender's graph structure) is timed apart from the queries.

- engine: :func:`geoattract.routing.facility_access` on a ``RoutingGraph`` (numba, threads);
  numba compilation is cached on disk and excluded (one warm-up call on 2 origins).
- networkx: what osmnx users do: per origin ``nx.single_source_dijkstra_path_length`` with
  ``cutoff``, then counts per category; nearest per category with
  ``nx.multi_source_dijkstra_path_length`` on the reversed graph. On big graphs only a sample
  of origins / categories is timed and the total is extrapolated (stated in the table).
- scipy: ``scipy.sparse.csgraph.dijkstra(limit=..., indices=...)`` by chunks of origins (its
  output is dense, n_origins x n_nodes) and ``min_only=True`` on the transposed graph for the
  nearest facility.
- pandana (if importable): ``Network`` + ``precompute(max threshold)`` + ``nearest_pois`` +
  ``aggregate`` (it answers for every node, the origins are read from that).

Usage::

    python scripts/benchmark_routing.py            # 10^4, 10^5, 10^6 nodes + schematic 47
    python scripts/benchmark_routing.py --quick    # 5,000 nodes only, < 1 minute
    python scripts/benchmark_routing.py --json     # ratios as JSON on stdout
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: Workload size.
N_ORIGINS = 319
N_CATEGORIES = 20
THRESHOLDS_S = (600.0, 1200.0, 1800.0)
MIN_FACILITIES, MAX_FACILITIES = 30, 3000
SEED = 47

#: networkx on graphs above this many nodes is timed on a sample and extrapolated.
NX_FULL_LIMIT = 20_000
NX_SAMPLE_ORIGINS = 8
NX_SAMPLE_CATEGORIES = 2

#: scipy output is dense: origins per chunk.
SCIPY_CHUNK = 16

#: Contender subprocess timeout, seconds.
TIMEOUT_S = 900

SIZES = (10_000, 100_000, 1_000_000)

#: Graph size of ``--quick`` (pandana's preprocessing dominates its run time).
QUICK_SIZE = 5_000


# ------------------------------------------------------------------------------------ cases


def load_case(case: str):
    """Edge arrays, coordinates, origins and a networkx builder for a case name."""
    if case == "schematic47":
        from geoattract.config import load_study_config
        from geoattract.network import build_network, town_hall_nodes
        from geoattract.routing import routing_graph
        from geoattract.territory.load import load_territory

        config = load_study_config()
        territory = load_territory(config)
        G = build_network(config, territory, source="schematic").graph
        rg = routing_graph(G)
        study = set(territory.loc[territory["in_study"], "code"])
        halls = town_hall_nodes(G)
        origins = rg.positions([halls[c] for c in sorted(study) if c in halls])
        src = rg.edge_sources
        return {
            "u": src,
            "v": rg.indices.astype(np.int64),
            "w": rg.weights,
            "x": rg.x,
            "y": rg.y,
            "origins": origins,
            "nx": lambda: _nx_from_arrays(src, rg.indices, rg.weights, rg.n_nodes),
        }
    from geoattract.routing.synthetic import _generate

    n = int(case)
    data = _generate(n, SEED)
    rng = np.random.default_rng(SEED)
    n_nodes = data["x"].size
    return {
        "u": data["u"],
        "v": data["v"],
        "w": data["travel_time"],
        "x": data["x"],
        "y": data["y"],
        "origins": rng.choice(n_nodes, N_ORIGINS, replace=False),
        "nx": lambda: _nx_synthetic(n),
    }


def _nx_synthetic(n: int):
    from geoattract.routing.synthetic import synthetic_road_graph

    return synthetic_road_graph(n, SEED)


def _nx_from_arrays(u, v, w, n):
    import networkx as nx

    G = nx.MultiDiGraph()
    G.add_nodes_from(range(n))
    G.add_weighted_edges_from(
        zip(u.tolist(), v.tolist(), w.tolist(), strict=True), weight="travel_time"
    )
    return G


def facilities(n_nodes: int) -> list[np.ndarray]:
    rng = np.random.default_rng(SEED + 1)
    sizes = np.exp(rng.uniform(np.log(MIN_FACILITIES), np.log(MAX_FACILITIES), N_CATEGORIES))
    return [rng.choice(n_nodes, int(s), replace=True) for s in sizes]


# ------------------------------------------------------------------------------ contenders


def run_engine(data, cats, out):
    from geoattract.routing import facility_access, routing_graph_from_arrays

    t0 = time.perf_counter()
    rg = routing_graph_from_arrays(data["u"], data["v"], data["w"], x=data["x"], y=data["y"])
    prep = time.perf_counter() - t0
    spec = {f"c{i}": c for i, c in enumerate(cats)}
    facility_access(rg, data["origins"][:2], spec, THRESHOLDS_S)  # JIT warm-up (disk cache)
    t0 = time.perf_counter()
    res = facility_access(rg, data["origins"], spec, THRESHOLDS_S)
    query = time.perf_counter() - t0
    nearest = np.stack([res.nearest_s[k] for k in spec], axis=1)
    counts = np.stack([res.counts[k] for k in spec], axis=1)
    np.savez(out, nearest=nearest, counts=counts, rows=np.arange(len(data["origins"])))
    return {"prep_s": prep, "query_s": query, "extrapolated": False}


def run_networkx(data, cats, out):
    import networkx as nx

    t0 = time.perf_counter()
    G = data["nx"]()
    prep = time.perf_counter() - t0
    n_nodes = G.number_of_nodes()
    origins = data["origins"]
    full = n_nodes <= int(os.environ.get("BENCH_NX_FULL_LIMIT", NX_FULL_LIMIT))
    rows = np.arange(len(origins)) if full else np.arange(NX_SAMPLE_ORIGINS)
    cat_rows = np.arange(len(cats)) if full else np.arange(NX_SAMPLE_CATEGORIES)
    thr = np.asarray(THRESHOLDS_S)
    counts = np.zeros((rows.size, len(cats), thr.size), dtype=np.int64)
    t0 = time.perf_counter()
    for r in rows:
        dist = nx.single_source_dijkstra_path_length(
            G, int(origins[r]), cutoff=thr.max(), weight="travel_time"
        )
        for c, fac in enumerate(cats):
            d = np.array([dist.get(int(f), np.inf) for f in fac])
            counts[r, c] = (d[:, None] <= thr[None, :]).sum(axis=0)
    t_counts = time.perf_counter() - t0
    nearest = np.full((rows.size, len(cats)), np.nan)
    t0 = time.perf_counter()
    R = G.reverse(copy=False)
    for c in cat_rows:
        dist = nx.multi_source_dijkstra_path_length(
            R, {int(f) for f in cats[c]}, weight="travel_time"
        )
        nearest[:, c] = [dist.get(int(origins[r]), np.inf) for r in rows]
    t_near = time.perf_counter() - t0
    query = t_counts * len(origins) / rows.size + t_near * len(cats) / cat_rows.size
    np.savez(out, nearest=nearest, counts=counts, rows=rows)
    return {"prep_s": prep, "query_s": query, "extrapolated": not full}


def run_scipy(data, cats, out):
    import scipy.sparse as sp
    from scipy.sparse.csgraph import dijkstra

    t0 = time.perf_counter()
    n = data["x"].size
    A = sp.csr_matrix((data["w"], (data["u"], data["v"])), shape=(n, n))  # sums duplicates!
    # keep the minimum of parallel edges like the other contenders
    order = np.lexsort((data["w"], data["v"], data["u"]))
    u, v, w = data["u"][order], data["v"][order], data["w"][order]
    first = np.r_[True, (u[1:] != u[:-1]) | (v[1:] != v[:-1])]
    A = sp.csr_matrix((w[first], (u[first], v[first])), shape=(n, n))
    AT = A.T.tocsr()
    prep = time.perf_counter() - t0
    origins = data["origins"]
    thr = np.asarray(THRESHOLDS_S)
    counts = np.zeros((len(origins), len(cats), thr.size), dtype=np.int64)
    nearest = np.full((len(origins), len(cats)), np.inf)
    t0 = time.perf_counter()
    for a in range(0, len(origins), SCIPY_CHUNK):
        D = dijkstra(A, indices=origins[a : a + SCIPY_CHUNK], limit=thr.max())
        for c, fac in enumerate(cats):
            d = D[:, fac]
            counts[a : a + SCIPY_CHUNK, c] = (d[:, :, None] <= thr).sum(axis=1)
    for c, fac in enumerate(cats):
        d = dijkstra(AT, indices=np.unique(fac), min_only=True)
        nearest[:, c] = d[origins]
    query = time.perf_counter() - t0
    np.savez(out, nearest=nearest, counts=counts, rows=np.arange(len(origins)))
    return {"prep_s": prep, "query_s": query, "extrapolated": False}


def run_pandana(data, cats, out):
    import pandas as pd
    from pandana import Network

    thr = np.asarray(THRESHOLDS_S)
    n = data["x"].size
    t0 = time.perf_counter()
    nodes = pd.DataFrame({"x": data["x"], "y": data["y"]}, index=np.arange(n))
    net = Network(
        nodes["x"],
        nodes["y"],
        pd.Series(data["u"]),
        pd.Series(data["v"]),
        pd.DataFrame({"travel_time": data["w"]}),
        twoway=False,
    )
    net.precompute(float(thr.max()))
    prep = time.perf_counter() - t0
    origins = data["origins"]
    counts = np.zeros((len(origins), len(cats), thr.size), dtype=np.int64)
    nearest = np.full((len(origins), len(cats)), np.inf)
    t0 = time.perf_counter()
    for c, fac in enumerate(cats):
        name = f"c{c}"
        net.set_pois(name, float(thr.max()), 1, nodes["x"].iloc[fac], nodes["y"].iloc[fac])
        near = net.nearest_pois(float(thr.max()), name, num_pois=1, max_distance=np.inf)
        nearest[:, c] = near.iloc[:, 0].to_numpy()[origins]
        net.set(pd.Series(fac, dtype=np.int64), variable=pd.Series(np.ones(fac.size)), name=name)
        for k, limit in enumerate(thr):
            agg = net.aggregate(float(limit), type="sum", decay="flat", name=name)
            counts[:, c, k] = np.rint(agg.to_numpy()[origins]).astype(np.int64)
    query = time.perf_counter() - t0
    np.savez(out, nearest=nearest, counts=counts, rows=np.arange(len(origins)))
    return {"prep_s": prep, "query_s": query, "extrapolated": False}


CONTENDERS = {
    "engine": run_engine,
    "networkx": run_networkx,
    "scipy": run_scipy,
    "pandana": run_pandana,
}


def worker(contender: str, case: str, out: str) -> None:
    data = load_case(case)
    cats = facilities(data["x"].size)
    result = CONTENDERS[contender](data, cats, out)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["n_nodes"] = int(data["x"].size)
    result["n_edges"] = int(data["u"].size)
    print("RESULT " + json.dumps(result))


# ------------------------------------------------------------------------------ driver


def run_contender(contender: str, case: str, tmp: Path) -> dict:
    out = tmp / f"{contender}-{case}.npz"
    cmd = [sys.executable, __file__, "--worker", contender, "--case", case, "--out", str(out)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout > {TIMEOUT_S} s"}
    # pandana prints progress without a final newline: find the marker anywhere in a line
    lines = [ln.split("RESULT ", 1)[1] for ln in proc.stdout.splitlines() if "RESULT " in ln]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": tail[:120]}
    result = json.loads(lines[-1])
    result["file"] = str(out)
    return result


def compare(ref_file: str, other_file: str) -> tuple[float, float]:
    ref, oth = np.load(ref_file), np.load(other_file)
    rows = oth["rows"]
    rn, on = ref["nearest"][rows], oth["nearest"]
    both = np.isfinite(rn) & np.isfinite(on)
    # pandana only knows nearest within its max distance: compare where both are finite
    mismatch_inf = int((np.isfinite(rn) != np.isfinite(on))[~np.isnan(on)].sum())
    near_diff = float(np.abs(rn[both] - on[both]).max()) if both.any() else 0.0
    rc, oc = ref["counts"][rows], oth["counts"]
    count_diff = float(np.abs(rc - oc).max())
    return near_diff + (np.inf if mismatch_inf and "pandana" not in other_file else 0), count_diff


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 nodes only (< 1 minute)")
    parser.add_argument("--json", action="store_true", help="print ratios as JSON")
    parser.add_argument("--sizes", type=int, nargs="*", help="synthetic graph sizes")
    parser.add_argument("--contenders", nargs="*", default=list(CONTENDERS))
    parser.add_argument("--no-schematic", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.case, args.out)
        return 0
    sizes = args.sizes or ((QUICK_SIZE,) if args.quick else SIZES)
    if args.quick:  # networkx on a sample of origins, even on the small graph
        os.environ["BENCH_NX_FULL_LIMIT"] = "0"
    cases = [str(s) for s in sizes]
    if not args.quick and not args.no_schematic:
        cases.append("schematic47")
    contenders = [c for c in args.contenders if c in CONTENDERS]
    try:
        import pandana  # noqa: F401
    except ImportError:
        contenders = [c for c in contenders if c != "pandana"]
    rows, ratios = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            results = {}
            for c in contenders:
                if c == "pandana" and case not in ("schematic47", str(QUICK_SIZE), "10000"):
                    # precompute() stores, for EVERY node, all nodes within 30 min: about
                    # n x 10^5 pairs on these graphs, beyond memory from 10^5 nodes on.
                    results[c] = {"error": "skipped: precompute(1800 s) needs n x reach memory"}
                    continue
                results[c] = run_contender(c, case, Path(tmp))
                if c == "engine" and "error" in results[c]:
                    break
            eng = results.get("engine", {})
            for c, r in results.items():
                row = {"case": case, "contender": c, **{k: v for k, v in r.items() if k != "file"}}
                if "error" not in r and "error" not in eng and c != "engine":
                    row["nearest_max_diff_s"], row["count_max_diff"] = compare(
                        eng["file"], r["file"]
                    )
                if "error" not in r and "error" not in eng:
                    total = r["prep_s"] + r["query_s"]
                    row["total_s"] = total
                    row["ratio_vs_engine"] = total / (eng["prep_s"] + eng["query_s"])
                    ratios.setdefault(case, {})[c] = round(row["ratio_vs_engine"], 2)
                rows.append(row)
    if args.json:
        print(json.dumps({"ratios_total_time_vs_engine": ratios, "rows": rows}, indent=1))
        return 0
    header = (
        f"{'case':>12} {'contender':>9} {'nodes':>9} {'edges':>9} {'prep s':>8} {'query s':>8} "
        f"{'total s':>8} {'x engine':>8} {'peak MB':>8} {'near diff':>9} {'cnt diff':>8}  note"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        if "error" in r:
            print(f"{r['case']:>12} {r['contender']:>9}  {r['error']}")
            continue
        note = "extrapolated from a sample" if r.get("extrapolated") else ""
        print(
            f"{r['case']:>12} {r['contender']:>9} {r['n_nodes']:>9} {r['n_edges']:>9} "
            f"{r['prep_s']:>8.2f} {r['query_s']:>8.2f} {r['total_s']:>8.2f} "
            f"{r['ratio_vs_engine']:>8.1f} {r['peak_mb']:>8.0f} "
            f"{r.get('nearest_max_diff_s', 0.0):>9.1e} {r.get('count_max_diff', 0.0):>8.0f}  {note}"
        )
    print(f"\nmachine: {os.cpu_count()} cores; {N_ORIGINS} origins x {N_CATEGORIES} categories")
    return 0


if __name__ == "__main__":
    sys.exit(main())
