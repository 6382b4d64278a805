"""Benchmark of national runs: one process vs a dask LocalCluster of 1 and 2 workers.

Usage::

    python scripts/benchmark_france.py [--skip-france] [--skip-synthetic]
        [--synthetic-nodes N] [--synthetic-communes N] [--tiles N] [--json FILE]

Part 1 computes the France study (34,746 communes, national roads: territory, offer, network,
partitions, drive times to places) four ways in one run: globally in this process, by
partition in this process, and by partition on a LocalCluster of 1 and of 2 workers. It
prints wall time, partition figures and the peak memory of the driver and of each worker,
and checks that every mode gives the global values (to 1e-9).

Part 2 builds a synthetic national graph of about 10^7 directed edges
(``geoattract.routing.synthetic_road_arrays``, stretched to 950 km × 950 km like metropolitan
France), cuts it into ``tiles × tiles`` square "départements" with 35,000 communes and 9,500
GP sites, and runs the same partitioned engine (:func:`geoattract.app.national.run_job`) in
this process (global) and on a LocalCluster of 1 and of 2 workers: a worker's memory follows
the largest partition, the driver's the national graph.

Memory is measured by each process itself (``VmHWM``, see
:func:`geoattract.app.cluster.peak_rss_bytes`); the driver's peak is reset before each mode.
The machine's load and the other busy processes are printed before and after: on a shared
machine compare the modes of one run, not runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import time
from typing import Any

import numpy as np
import pandas as pd
import psutil

import geoattract as ga
from geoattract.app.cluster import (
    Engine,
    EngineOptions,
    current_rss_bytes,
    peak_rss_bytes,
    reset_peak_rss,
)
from geoattract.app.national import compute_national, run_job
from geoattract.app.partition import Arrays, CategorySpec, NationalJob, PointSet
from geoattract.routing import synthetic_road_arrays

MB = 2**20

#: Width of the synthetic country (m): about metropolitan France.
SYNTHETIC_WIDTH_M = 950_000.0

#: GP sites and count thresholds (min) of the synthetic job (APL decay: 20-min catchment).
SYNTHETIC_GPS = 9_500
SYNTHETIC_THRESHOLDS_MIN = (10, 20)


def machine_load() -> str:
    """Load average and the other processes using CPU now (this one and its children excluded)."""
    me = psutil.Process()
    ours = {me.pid, *(c.pid for c in me.children(recursive=True))}
    procs = list(psutil.process_iter(["pid", "name", "cmdline"]))
    for p in procs:
        try:
            p.cpu_percent(None)
        except psutil.Error:
            pass
    time.sleep(1.0)
    busy = []
    for p in procs:
        try:
            cpu = p.cpu_percent(None)
        except psutil.Error:
            continue
        if p.pid not in ours and cpu >= 10:
            cmd = " ".join(p.info["cmdline"] or [p.info["name"] or ""])[:90]
            busy.append(f"{cpu:.0f}% {cmd}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"load average {load}; other busy processes: " + ("; ".join(busy) or "none")


def same_values(a: pd.DataFrame, b: pd.DataFrame, atol: float = 1e-9) -> None:
    """Raise unless ``b`` has the columns and values of ``a`` (NaN where ``a`` is NaN)."""
    assert list(a.columns) == list(b.columns), (list(a.columns), list(b.columns))
    for col in a.columns:
        x, y = a[col].to_numpy(float), b[col].to_numpy(float)
        assert np.array_equal(np.isnan(x), np.isnan(y)), col
        ok = ~np.isnan(x)
        assert np.allclose(x[ok], y[ok], rtol=0, atol=atol), col


def _mb(value: float) -> str:
    return f"{value / MB:.0f}"


def _workers(stats: Any) -> str:
    """Each worker's memory when ready → its peak (MB)."""
    if stats is None or not stats.worker_peaks:
        return "–"
    return ", ".join(
        f"{_mb(stats.start_rss_bytes.get(k, 0))} → {_mb(v)}"
        for k, v in sorted(stats.worker_peaks.items())
    )


def _mode(label: str, run: Any, reference: list[pd.DataFrame]) -> dict[str, Any]:
    """Run one mode with the driver's peak reset first; its figures.

    The first mode's table goes into ``reference``; every later one must give its values.
    """
    gc.collect()
    start = current_rss_bytes()
    reset_peak_rss()
    t0 = time.perf_counter()
    result, stats = run()
    row = {
        "mode": label,
        "wall_s": time.perf_counter() - t0,
        "driver_start_mb": start / MB,
        "driver_peak_mb": peak_rss_bytes() / MB,
        **stats,
    }
    print(f"  {label}: {row['wall_s']:.1f} s", flush=True)
    if reference:
        same_values(reference[0], result)
    else:
        reference.append(result)
    return row


MODES = (
    ("single process, global", EngineOptions(engine="local"), False),
    ("single process, partitions", EngineOptions(engine="local"), True),
    ("LocalCluster, 1 worker", EngineOptions(engine="dask", workers=1), True),
    ("LocalCluster, 2 workers", EngineOptions(engine="dask", workers=2), True),
)


def france() -> list[dict[str, Any]]:
    """The France study in every mode; rows of the table (values checked against global)."""
    cfg = ga.load_study_config("france")
    rows: list[dict[str, Any]] = []
    reference: list[pd.DataFrame] = []
    for label, options, partitioned in MODES:

        def run(options: EngineOptions = options, partitioned: bool = partitioned) -> Any:
            state = compute_national(cfg, options, partitioned=partitioned)
            s = state.stats
            eng = s["engine_stats"]
            return state.table, {
                "accessibility_s": s["timings"]["accessibility"],
                "partition_compute_s": s["partition_seconds"],
                "partitions": s["partitions"],
                "overlap": s.get("overlap"),
                "largest_partition": s.get("largest_partition"),
                "widened": s["widened"],
                "cut_s": s.get("cut_s", 0.0),
                "start_close_s": eng.start_s + eng.close_s,
                "workers_mb": _workers(eng),
                "engine_stats": eng,
            }

        rows.append(_mode(label, run, reference))
    print("France: identical results in every mode (to 1e-9)")
    return rows


def france_reductions() -> None:
    """The work of the France partitions in this process: before and after each reduction."""
    from geoattract.app.national import build_job, national_network
    from geoattract.app.partition import MINUTE_S, initial_radius_min, run_partition
    from geoattract.facilities import build_offer
    from geoattract.territory import build_territory

    cfg = ga.load_study_config("france")
    territory = build_territory(cfg)
    offer = build_offer(cfg, territory.communes)
    job, _ = build_job(national_network(cfg, territory), territory, offer)
    radius = initial_radius_min(job.categories) * MINUTE_S
    run_partition(job.whole())  # kernels loaded

    def unfiltered(p: Any) -> Any:
        return dataclasses.replace(
            p, facility_core_s={k: np.zeros(len(f)) for k, f in p.facilities.items()}
        )

    variants = (
        ("one partition per département, every facility of the buffer searched", False, True),
        (
            "one per département, floating catchments search the core's facilities only",
            False,
            False,
        ),
        ("départements grouped by overlap (the default)", True, False),
    )
    print("\nFrance, partition work in one process (first round, no widening)\n")
    print("| partitions | count | overlap | driver cutting (s) | compute, summed (s) |")
    print("|---|---|---|---|---|")
    t0 = time.perf_counter()
    run_partition(job.whole())
    print(f"| global | 1 | 1.00 | – | {time.perf_counter() - t0:.1f} |")
    for label, group, all_facilities in variants:
        parts = job.partitions(radius, group=group)
        compute = 0.0
        for i in range(len(parts)):
            part = unfiltered(parts[i]) if all_facilities else parts[i]
            t1 = time.perf_counter()
            run_partition(part)
            compute += time.perf_counter() - t1
        edges = sum(v["edges"] for v in parts.sizes.values()) / job.graph.n_edges
        print(f"| {label} | {len(parts)} | {edges:.2f} | {parts.seconds:.1f} | {compute:.1f} |")


def synthetic_job(n_nodes: int, n_communes: int, tiles: int, seed: int = 0) -> NationalJob:
    """A synthetic national job: the graph stretched to France's size, square départements."""
    rg = synthetic_road_arrays(n_nodes)
    scale = SYNTHETIC_WIDTH_M / max(np.ptp(rg.x), np.ptp(rg.y))
    x, y = (rg.x - rg.x.min()) * scale, (rg.y - rg.y.min()) * scale
    u = np.repeat(np.arange(rg.n_nodes, dtype=np.int64), np.diff(rg.indptr))
    arrays = Arrays(u, rg.indices.astype(np.int64), rg.weights * scale, np.arange(rg.n_nodes), x, y)
    del rg
    rng = np.random.default_rng(seed)
    town = np.sort(rng.choice(arrays.nodes.size, n_communes, replace=False))
    gps = rng.choice(arrays.nodes.size, SYNTHETIC_GPS, replace=False)
    tile = np.minimum((x / SYNTHETIC_WIDTH_M * tiles).astype(int), tiles - 1) * tiles
    tile += np.minimum((y / SYNTHETIC_WIDTH_M * tiles).astype(int), tiles - 1)
    communes = PointSet(
        np.arange(n_communes),
        town,
        rng.uniform(0, 120, n_communes),  # access legs up to 2 min
        np.round(rng.lognormal(6.5, 1.2, n_communes)),  # population, median 665
    )
    sites = PointSet(
        np.arange(SYNTHETIC_GPS),
        gps,
        np.zeros(SYNTHETIC_GPS),
        rng.integers(1, 8, SYNTHETIC_GPS).astype(float),  # GPs per site
    )
    return NationalJob.create(
        arrays,
        communes,
        np.array([f"{t:03d}" for t in tile[town]]),
        {"gp": sites},
        [CategorySpec("gp", SYNTHETIC_THRESHOLDS_MIN, {"type": "apl"})],
    )


def synthetic(n_nodes: int, n_communes: int, tiles: int) -> list[dict[str, Any]]:
    """The synthetic job globally in this process and on LocalClusters of 1 and 2 workers."""
    gc.collect()
    reset_peak_rss()
    t0 = time.perf_counter()
    job = synthetic_job(n_nodes, n_communes, tiles)
    build = time.perf_counter() - t0
    print(
        f"synthetic graph: {job.graph.nodes.size:,} nodes, {job.graph.n_edges:,} directed edges "
        f"({job.graph.nbytes / MB:.0f} MB of edge arrays; with the symmetrised routing graph "
        f"the driver holds {current_rss_bytes() / MB:.0f} MB); {tiles}×{tiles} départements; "
        f"built in {build:.0f} s (driver peak {peak_rss_bytes() / MB:.0f} MB)",
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    reference: list[pd.DataFrame] = []
    for label, options, partitioned in (MODES[0], MODES[2], MODES[3]):

        def run(options: EngineOptions = options, partitioned: bool = partitioned) -> Any:
            with Engine(options) as engine:
                columns, s = run_job(job, engine, partitioned=partitioned)
            return pd.DataFrame(columns), {
                "accessibility_s": engine.stats.seconds,
                "partition_compute_s": s["partition_seconds"],
                "partitions": s["partitions"],
                "overlap": s.get("overlap"),
                "largest_partition": s.get("largest_partition"),
                "widened": s["widened"],
                "cut_s": s.get("cut_s", 0.0),
                "start_close_s": engine.stats.start_s + engine.stats.close_s,
                "workers_mb": _workers(engine.stats),
                "engine_stats": engine.stats,
            }

        rows.append(_mode(label, run, reference))
    print("synthetic: identical results in every mode (to 1e-9)")
    return rows


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    """The rows as a markdown table."""
    print(f"\n{title}\n")
    print(
        "| mode | wall (s) | partitions (overlap) | largest partition: nodes, edges, MB "
        "| partition compute (s) | driver cutting (s) | cluster start + close (s) | widened "
        "| driver peak (MB) | worker ready → peak (MB) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        big = r["largest_partition"]
        largest = (
            f"{big['name']}: {big['nodes']:,}, {big['edges']:,}, {big['bytes'] / MB:.1f}"
            if big
            else "whole graph"
        )
        overlap = f" ({r['overlap']:.2f})" if r["overlap"] else ""
        print(
            f"| {r['mode']} | {r['wall_s']:.1f} | {r['partitions']}{overlap} | {largest} "
            f"| {r['partition_compute_s']:.1f} | {r['cut_s']:.1f} | {r['start_close_s']:.1f} "
            f"| {r['widened'] or '–'} "
            f"| {r['driver_peak_mb']:.0f} | {r['workers_mb']} |"
        )


def main() -> None:
    """Run the benchmark (see the module docstring)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--skip-france", action="store_true")
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--synthetic-nodes", type=int, default=3_300_000)
    parser.add_argument("--synthetic-communes", type=int, default=35_000)
    parser.add_argument("--tiles", type=int, default=10, help="départements per side")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    t0 = time.perf_counter()
    print(f"cores: {os.cpu_count()}; before: {machine_load()}", flush=True)
    results: dict[str, Any] = {}
    if not args.skip_france:
        results["france"] = france()
        print_table("France study (34,746 communes, national roads)", results["france"])
        france_reductions()
    if not args.skip_synthetic:
        rows = synthetic(args.synthetic_nodes, args.synthetic_communes, args.tiles)
        results["synthetic"] = rows
        print_table("Synthetic national graph", rows)
    print(f"\nafter: {machine_load()}; benchmark took {time.perf_counter() - t0:.0f} s")
    if args.json:
        for rows in results.values():
            for r in rows:
                r.pop("engine_stats", None)
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=1, default=str)


if __name__ == "__main__":
    main()
