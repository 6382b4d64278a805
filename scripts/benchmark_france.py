"""Benchmark of the France study: one process vs a dask LocalCluster of 1 and 2 workers.

Usage::

    python scripts/benchmark_france.py [--synthetic-nodes N] [--skip-france]

Part 1 runs the accessibility of the France study (34,746 communes, national roads) three
ways in one run: the global computation in this process, then partitioned by département on
a LocalCluster of 1 and of 2 workers; it prints wall time and peak memory per process and
checks that the three give the same values (to 1e-9). Part 2 partitions a synthetic national
graph of about 10^7 edges (``geoattract.routing.synthetic_road_arrays``) into 96 square
"départements" and runs it on 2 workers, to show that a worker's memory follows the largest
partition, not the graph.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import geoattract as ga
from geoattract.app.cluster import Engine, EngineOptions, peak_rss_bytes
from geoattract.app.national import compute_national
from geoattract.app.partition import Arrays, CategorySpec, NationalJob, PointSet, run_partition
from geoattract.routing import synthetic_road_arrays

MB = 2**20


def france() -> None:
    cfg = ga.load_study_config("france")
    modes = [
        ("single process (global)", EngineOptions(engine="local"), False),
        ("LocalCluster, 1 worker", EngineOptions(engine="dask", workers=1), True),
        ("LocalCluster, 2 workers", EngineOptions(engine="dask", workers=2), True),
    ]
    tables = []
    print("| mode | wall time (s) | accessibility (s) | peak memory per process (MB) |")
    print("|---|---|---|---|")
    for label, options, partitioned in modes:
        t0 = time.perf_counter()
        state = compute_national(cfg, options, partitioned=partitioned)
        wall = time.perf_counter() - t0
        peaks = state.stats["engine_stats"].peak_rss_bytes
        shown = ", ".join(f"{k.split('//')[-1]}: {v / MB:.0f}" for k, v in sorted(peaks.items()))
        print(f"| {label} | {wall:.1f} | {state.stats['timings']['accessibility']:.1f} | {shown} |")
        tables.append(state.table)
    for other in tables[1:]:
        for col in tables[0].columns:
            x, y = tables[0][col].to_numpy(float), other[col].to_numpy(float)
            ok = ~np.isnan(x)
            assert np.array_equal(np.isnan(x), np.isnan(y)), col
            assert np.allclose(x[ok], y[ok], rtol=0, atol=1e-9), col
    print("identical results in every mode (to 1e-9)")


def synthetic(n_nodes: int, tiles: int = 10) -> None:
    t0 = time.perf_counter()
    rg = synthetic_road_arrays(n_nodes)
    u = np.repeat(np.arange(rg.n_nodes), np.diff(rg.indptr))
    arrays = Arrays(u, rg.indices.astype(np.int64), rg.weights, np.arange(rg.n_nodes), rg.x, rg.y)
    rng = np.random.default_rng(0)
    communes = np.sort(rng.choice(rg.n_nodes, 35_000, replace=False))
    gps = rng.choice(rg.n_nodes, 9_500, replace=False)
    tx = np.minimum((rg.x - rg.x.min()) / np.ptp(rg.x) * tiles, tiles - 1).astype(int)
    ty = np.minimum((rg.y - rg.y.min()) / np.ptp(rg.y) * tiles, tiles - 1).astype(int)
    groups = (tx * tiles + ty)[communes]
    job = NationalJob.create(
        arrays,
        PointSet(
            np.arange(communes.size),
            communes,
            np.zeros(communes.size),
            np.full(communes.size, 1000.0),
        ),
        groups,
        {"gp": PointSet(np.arange(gps.size), gps, np.zeros(gps.size), np.ones(gps.size))},
        [CategorySpec("gp", (10, 20, 30), {"type": "apl"})],
    )
    parts = job.partitions(40 * 60.0)
    build = time.perf_counter() - t0
    big = max(parts, key=lambda p: p.nbytes)
    print(
        f"synthetic graph: {rg.n_nodes:,} nodes, {arrays.n_edges:,} edges ({arrays.nbytes / MB:.0f} MB "
        f"of arrays); {len(parts)} partitions cut in {build:.0f} s; largest {big.name}: "
        f"{big.graph.n_edges:,} edges, {big.nbytes / MB:.0f} MB; driver peak {peak_rss_bytes() / MB:.0f} MB"
    )
    with Engine(EngineOptions(engine="dask", workers=2)) as engine:
        t1 = time.perf_counter()
        engine.map(run_partition, parts, [p.name for p in parts])
        wall = time.perf_counter() - t1
    peaks = {k: v for k, v in engine.stats.peak_rss_bytes.items() if k != "driver"}
    print(
        f"2 workers: {wall:.0f} s; peak memory per worker (MB): "
        + ", ".join(f"{v / MB:.0f}" for v in peaks.values())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic-nodes", type=int, default=3_300_000)
    parser.add_argument("--skip-france", action="store_true")
    parser.add_argument("--skip-synthetic", action="store_true")
    args = parser.parse_args()
    if not args.skip_france:
        france()
    if not args.skip_synthetic:
        synthetic(args.synthetic_nodes)


if __name__ == "__main__":
    main()
