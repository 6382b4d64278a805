"""Benchmark the isochrone methods: exact GEOS buffers against the grid method, in one run.

Workload: the study's isochrones, 10, 20 and 30 minutes from the 319 town halls of the
first study (957 polygons) on the network the run uses (the study's ``[network] source``,
by default the calibrated national roads; ``--network schematic`` for the schematic network
of 47), with its snapping rule, town halls snapped once as the accessibility stage does), then a
synthetic graph of 10^6 nodes (:func:`geoattract.routing.synthetic_road_arrays`, straight
edges).

Measured, in one process so that both methods see the same machine load:

- seconds and polygons per second for ``method="exact"`` and ``method="grid"``, shapes
  ``band`` and ``area`` (the area within reach: the reached roads and the land reached off
  them at the access-leg pace, :mod:`geoattract.routing.isoreach`), and their ratio; the
  methods take turns ``--repeat`` times (rounds), the table
  gives the minimum of each and the speed-up is the median over the rounds of the ratio within
  a round (the two methods back to back see about the same load);
- agreement of the grid method with the exact one on the same shape: intersection over union
  (IoU) and relative area error of every polygon (min IoU, max error), validity and nesting;
- linearity: grid seconds for 50, 100, 200 and 319 origins;
- the isochrone stage of ``geoattract run`` itself (the pipeline's ``build_isochrones`` with
  the study's ``[maps]``, first call cold) against the same stage with
  ``isochrone_method = "exact"``, taking turns (:func:`stage_benchmark`);
- the synthetic graph: the first call (it also builds the edge geometry, cached with the
  routing graph), grid seconds for 5 to 40 origins and the exact method on
  the smallest set, for the ratio.

Usage::

    python scripts/benchmark_isochrones.py                 # study + 10^6-node graph
    python scripts/benchmark_isochrones.py --quick         # study only, 64 communes
    python scripts/benchmark_isochrones.py --no-synthetic  # study only, all communes
    python scripts/benchmark_isochrones.py --json out.json # also write the figures as JSON
    python scripts/benchmark_isochrones.py --stage-only    # the run's isochrone stage only
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Thresholds of the study's isochrones, minutes.
MINUTES = (10.0, 20.0, 30.0)

#: Origins of the linearity series on the study.
STUDY_SERIES = (50, 100, 200, 319)

#: Synthetic graph size and origin series (the exact method runs on the first set only: on
#: 10^6 nodes a 30-min isochrone has ~10^5 road pieces, tens of seconds each in GEOS).
SYNTHETIC_NODES = 1_000_000
SYNTHETIC_SERIES = (5, 10, 20, 40)
SEED = 47

#: Acceptance thresholds of the comparison (counts of polygons beyond them are reported).
MIN_IOU = 0.97
MAX_AREA_ERROR = 0.02

#: Interleaved runs of each method on the study (the minimum of each is reported).
STUDY_REPEAT = 3

#: Communes of the ``--quick`` run.
QUICK_COMMUNES = 64


def _timed(func: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = func(*args, **kwargs)
    return out, time.perf_counter() - start


def agreement(fast: np.ndarray, exact: np.ndarray) -> dict[str, float]:
    """IoU and relative area error of paired polygons (both non-empty)."""
    ok = ~shapely.is_empty(fast) & ~shapely.is_empty(exact)
    a, b = fast[ok], exact[ok]
    inter = shapely.area(shapely.intersection(a, b))
    union = shapely.area(shapely.union(a, b))
    iou = inter / union
    err = np.abs(shapely.area(a) / shapely.area(b) - 1.0)
    return {
        "pairs": int(ok.sum()),
        "below_0.97": int((iou < MIN_IOU).sum()),
        "above_2pct": int((err > MAX_AREA_ERROR).sum()),
        "min_iou": float(iou.min()),
        "median_iou": float(np.median(iou)),
        "max_area_error": float(err.max()),
        "median_area_error": float(np.median(err)),
    }


def nested_and_valid(frame: gpd.GeoDataFrame, n_minutes: int) -> dict[str, bool]:
    """Whether every polygon is valid and each threshold's polygon covers the previous one."""
    geoms = frame.geometry.to_numpy().reshape(-1, n_minutes)
    nested = all(
        bool(shapely.covers(geoms[:, k + 1], geoms[:, k]).all()) for k in range(n_minutes - 1)
    )
    return {"valid": bool(shapely.is_valid(geoms).all()), "nested": nested}


def study_benchmark(
    quick: bool, resolution_m: float | None = None, network: str | None = None, repeat: int = 3
) -> dict[str, Any]:
    """Exact vs grid on the study's town halls; linearity in the number of origins."""
    from geoattract.config.study import load_study_config
    from geoattract.network import build_network
    from geoattract.routing import isochrones_for_communes, routing_graph
    from geoattract.routing.isogrid import GRID_RESOLUTION_M
    from geoattract.routing.isoreach import AREA_RESOLUTION_M
    from geoattract.territory.load import load_territory

    cfg = load_study_config()
    territory = load_territory(cfg)
    net = build_network(cfg, territory, source=network)
    G, rule = net.graph, net.snap_rule
    rg = routing_graph(G)
    study = territory[territory["in_study"]]
    if quick:
        keep = study.index[:QUICK_COMMUNES]
        territory = territory.assign(in_study=territory.index.isin(keep))
        study = territory[territory["in_study"]]
    halls = gpd.GeoSeries(study["town_hall"].values, index=study.index, crs=territory.crs)
    snapped = rule.snap(G, halls, what="town halls")
    # each shape at its default step unless one is given
    steps = {"band": resolution_m or GRID_RESOLUTION_M, "area": resolution_m or AREA_RESOLUTION_M}
    common = {"rg": rg, "snapped": snapped, "minutes": MINUTES, "snap_rule": rule}

    # warm-up: numba compilation (cached on disk) and imports, on two communes
    warm = territory.assign(in_study=territory.index.isin(study.index[:2]))
    isochrones_for_communes(G, warm, method="grid", **common)

    # the methods take turns, `repeat` times: a load change on the shared machine then hits
    # them alike, and the minimum of each (as timeit reports) is its cost on a quiet machine
    runs: dict[str, list[float]] = {
        "exact_band": [],
        "exact_area": [],
        "grid_band": [],
        "grid_area": [],
    }
    for _ in range(repeat):
        exact, t_exact = _timed(
            isochrones_for_communes,
            G,
            territory,
            shape="band",
            method="exact",
            resolution_m=steps["band"],
            **common,
        )
        exact_area, t_exact_area = _timed(
            isochrones_for_communes,
            G,
            territory,
            shape="area",
            method="exact",
            resolution_m=steps["area"],
            **common,
        )
        band, t_band = _timed(
            isochrones_for_communes,
            G,
            territory,
            shape="band",
            method="grid",
            resolution_m=steps["band"],
            **common,
        )
        area, t_area = _timed(
            isochrones_for_communes,
            G,
            territory,
            shape="area",
            method="grid",
            resolution_m=steps["area"],
            **common,
        )
        runs["exact_band"].append(t_exact)
        runs["exact_area"].append(t_exact_area)
        runs["grid_band"].append(t_band)
        runs["grid_area"].append(t_area)
    best = {key: min(values) for key, values in runs.items()}
    n_poly = len(exact)
    series = []
    for n in STUDY_SERIES:
        if n > len(study):
            continue
        sub = territory.assign(in_study=territory.index.isin(study.index[:n]))
        _, secs = _timed(isochrones_for_communes, G, sub, shape="area", method="grid", **common)
        series.append({"origins": n, "seconds": secs, "ms_per_origin": 1000 * secs / n})
    return {
        "graph": {"nodes": G.number_of_nodes(), "edges": G.number_of_edges()},
        "network": net.caption.source,
        "snap_rule": {"max_distance_m": rule.max_distance_m, "speed_kph": rule.speed_kph},
        "resolution_m": steps,
        "polygons": n_poly,
        "repeat": repeat,
        "runs": runs,
        "seconds": best,
        "polygons_per_second": {key: n_poly / value for key, value in best.items()},
        # per round (the two methods ran back to back), then the median over the rounds: the
        # ratio of the minima would favour the short runs, likelier to fall in a quiet moment
        "speed_up_rounds": {
            shape: [
                e / g for e, g in zip(runs[f"exact_{shape}"], runs[f"grid_{shape}"], strict=True)
            ]
            for shape in ("band", "area")
        },
        "speed_up": {
            shape: float(
                np.median(
                    [
                        e / g
                        for e, g in zip(runs[f"exact_{shape}"], runs[f"grid_{shape}"], strict=True)
                    ]
                )
            )
            for shape in ("band", "area")
        },
        "band_vs_exact": agreement(band.geometry.to_numpy(), exact.geometry.to_numpy()),
        "area_vs_exact": agreement(area.geometry.to_numpy(), exact_area.geometry.to_numpy()),
        "grid_band_checks": nested_and_valid(band, len(MINUTES)),
        "grid_area_checks": nested_and_valid(area, len(MINUTES)),
        "exact_checks": nested_and_valid(exact, len(MINUTES)),
        "exact_area_checks": nested_and_valid(exact_area, len(MINUTES)),
        "mean_vertices": {
            "exact_band": float(shapely.get_num_coordinates(exact.geometry.to_numpy()).mean()),
            "grid_band": float(shapely.get_num_coordinates(band.geometry.to_numpy()).mean()),
            "grid_area": float(shapely.get_num_coordinates(area.geometry.to_numpy()).mean()),
        },
        "mean_area_km2": {
            "band": float(exact["area_km2"].mean()),
            "area": float(area["area_km2"].mean()),
            "exact_area": float(exact_area["area_km2"].mean()),
        },
        "linearity": series,
    }


def stage_benchmark(repeat: int = STUDY_REPEAT) -> dict[str, Any]:
    """The isochrone stage of ``geoattract run``, as the study configures it, against exact.

    The study's stages up to accessibility run once; then the pipeline's own
    :func:`geoattract.app.pipeline.build_isochrones` runs with the study's ``[maps]`` (grid
    method) and with ``isochrone_method = "exact"``, taking turns. The first grid call is cold,
    as in a run: its compiled kernels are loaded from numba's cache then (the routing kernel
    already is, by the accessibility stage); before every grid call the edge geometry and road
    edge geometry cached with the routing graph is cleared, so each grid call builds it as a run
    does (the exact calls reuse them). Reported: every time, the cold call alone, and the
    median over the rounds of exact / grid within a round, the cold grid call included in the
    first round.
    """
    from geoattract.accessibility import build_accessibility
    from geoattract.app.pipeline import build_isochrones
    from geoattract.config.study import load_study_config
    from geoattract.facilities import build_offer
    from geoattract.network import build_network
    from geoattract.routing.isochrones import clear_drawing_cache
    from geoattract.territory import build_territory

    cfg = load_study_config()
    territory = build_territory(cfg)
    network = build_network(cfg, territory.communes)
    offer = build_offer(cfg, territory.communes)
    access = build_accessibility(cfg, territory.communes, network, offer)
    exact_cfg = cfg.with_section("maps", isochrone_method="exact")
    runs: dict[str, list[float]] = {"grid": [], "exact": []}
    for _ in range(repeat):
        clear_drawing_cache()  # each grid call draws the edges, as a run
        grid, t_grid = _timed(build_isochrones, cfg, territory, network, access, progress=False)
        exact, t_exact = _timed(
            build_isochrones, exact_cfg, territory, network, access, progress=False
        )
        runs["grid"].append(t_grid)
        runs["exact"].append(t_exact)
    rounds = [e / g for e, g in zip(runs["exact"], runs["grid"], strict=True)]
    shape = str(grid["shape"].iloc[0])
    return {
        "shape": shape,
        "polygons": len(grid),
        "runs": runs,
        "cold_grid_seconds": runs["grid"][0],
        "speed_up_rounds": rounds,
        "speed_up": float(np.median(rounds)),
        "agreement": agreement(grid.geometry.to_numpy(), exact.geometry.to_numpy()),
        "grid_checks": nested_and_valid(grid, len(MINUTES)),
        "exact_checks": nested_and_valid(exact, len(MINUTES)),
    }


def synthetic_benchmark(n_nodes: int) -> dict[str, Any]:
    """Grid isochrones on a synthetic graph; the exact method on the smallest origin set."""
    from geoattract.routing import clear_drawing_cache, isochrones, synthetic_road_arrays

    rg, t_build = _timed(synthetic_road_arrays, n_nodes, SEED)
    rng = np.random.default_rng(SEED)
    pool = rng.choice(rg.n_nodes, size=max(SYNTHETIC_SERIES), replace=False)
    # the first call also draws the edge geometry, cached with the routing graph for the calls
    # that follow
    clear_drawing_cache()
    _, t_first = _timed(
        isochrones, None, pool[:2].tolist(), MINUTES, rg=rg, shape="area", method="grid"
    )
    series = []
    for n in SYNTHETIC_SERIES:
        _, secs = _timed(
            isochrones, None, pool[:n].tolist(), MINUTES, rg=rg, shape="area", method="grid"
        )
        series.append({"origins": n, "seconds": secs, "ms_per_origin": 1000 * secs / n})
    n0 = SYNTHETIC_SERIES[0]
    kwargs = {"rg": rg, "shape": "band"}
    exact, t_exact = _timed(isochrones, None, pool[:n0].tolist(), MINUTES, method="exact", **kwargs)
    grid, t_grid = _timed(isochrones, None, pool[:n0].tolist(), MINUTES, method="grid", **kwargs)
    return {
        "nodes": rg.n_nodes,
        "edges": rg.n_edges,
        "build_seconds": t_build,
        "first_call_seconds": t_first,
        "linearity": series,
        "exact_vs_grid_band": {
            "origins": n0,
            "exact_seconds": t_exact,
            "grid_seconds": t_grid,
            "speed_up": t_exact / t_grid,
            **agreement(grid.geometry.to_numpy(), exact.geometry.to_numpy()),
        },
    }


def report(results: dict[str, Any]) -> str:
    """Markdown summary of the figures."""
    lines: list[str] = []
    if "study" in results:
        lines += _study_lines(results["study"])
    lines += _other_lines(results)
    return "\n".join(lines)


def _study_lines(s: dict[str, Any]) -> list[str]:
    """Summary lines of :func:`study_benchmark`."""
    sec, pps = s["seconds"], s["polygons_per_second"]
    lines = [
        f"Study: {s['polygons']} polygons, network {s['network']} ({s['graph']['nodes']} nodes), "
        f"grid step {s['resolution_m']['band']:.0f} m (band), {s['resolution_m']['area']:.0f} m "
        "(area)",
        "",
        f"Best of {s['repeat']} interleaved rounds (all runs, seconds: "
        + "; ".join(f"{k} {', '.join(f'{v:.2f}' for v in vals)}" for k, vals in s["runs"].items())
        + ")",
        "",
        "| method | shape | seconds | polygons/s |",
        "|---|---|---:|---:|",
        f"| exact | band | {sec['exact_band']:.1f} | {pps['exact_band']:.1f} |",
        f"| exact | area | {sec['exact_area']:.1f} | {pps['exact_area']:.1f} |",
        f"| grid | band | {sec['grid_band']:.2f} | {pps['grid_band']:.0f} |",
        f"| grid | area | {sec['grid_area']:.2f} | {pps['grid_area']:.0f} |",
        "",
        f"Speed-up, median of the rounds' ratios: band {s['speed_up']['band']:.1f}x, area "
        f"{s['speed_up']['area']:.1f}x (rounds: band "
        + ", ".join(f"{r:.1f}" for r in s["speed_up_rounds"]["band"])
        + "; area "
        + ", ".join(f"{r:.1f}" for r in s["speed_up_rounds"]["area"])
        + ")",
    ]
    for key in ("band_vs_exact", "area_vs_exact"):
        a = s[key]
        lines.append(
            f"{key}: min IoU {a['min_iou']:.4f} (median {a['median_iou']:.4f}), max area error "
            f"{100 * a['max_area_error']:.2f} % (median {100 * a['median_area_error']:.2f} %); "
            f"{a['below_0.97']} below IoU 0.97, {a['above_2pct']} above 2 %"
        )
    lines.append(
        f"checks: band {s['grid_band_checks']}, area {s['grid_area_checks']}, exact band "
        f"{s['exact_checks']}, exact area {s['exact_area_checks']}"
    )
    lines.append(f"mean vertices: {s['mean_vertices']}")
    lines.append(
        "study linearity (grid, area): "
        + ", ".join(f"{r['origins']}: {r['seconds']:.2f} s" for r in s["linearity"])
    )
    return lines


def _other_lines(results: dict[str, Any]) -> list[str]:
    """Summary lines of the stage and synthetic benchmarks."""
    lines: list[str] = []
    if "stage" in results:
        g = results["stage"]
        a = g["agreement"]
        lines.append(
            f"stage (build_isochrones, shape {g['shape']}, {g['polygons']} polygons): grid "
            + ", ".join(f"{v:.2f}" for v in g["runs"]["grid"])
            + " s (first cold), exact "
            + ", ".join(f"{v:.1f}" for v in g["runs"]["exact"])
            + f" s; speed-up median {g['speed_up']:.1f}x (rounds "
            + ", ".join(f"{r:.1f}" for r in g["speed_up_rounds"])
            + f"); min IoU {a['min_iou']:.4f}, max area error {100 * a['max_area_error']:.2f} %, "
            f"{a['below_0.97']} below 0.97; grid {g['grid_checks']}, exact {g['exact_checks']}"
        )
    if "synthetic" in results:
        y = results["synthetic"]
        e = y["exact_vs_grid_band"]
        lines.append(
            f"synthetic {y['nodes']} nodes: first call (2 origins, edges built) "
            f"{y['first_call_seconds']:.2f} s; "
            + ", ".join(
                f"{r['origins']}: {r['seconds']:.2f} s ({r['ms_per_origin']:.0f} ms/origin)"
                for r in y["linearity"]
            )
        )
        lines.append(
            f"synthetic exact vs grid (band, {e['origins']} origins): {e['exact_seconds']:.1f} s "
            f"vs {e['grid_seconds']:.2f} s ({e['speed_up']:.1f}x), min IoU {e['min_iou']:.4f}, "
            f"max area error {100 * e['max_area_error']:.2f} %"
        )
    return lines


def main() -> None:
    """Run the benchmark and print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="study only, a few communes")
    parser.add_argument("--json", help="write the figures to this JSON file")
    parser.add_argument("--nodes", type=int, default=SYNTHETIC_NODES, help="synthetic graph size")
    parser.add_argument("--no-synthetic", action="store_true", help="study only")
    parser.add_argument(
        "--network", help="network source of the study run (default: the study's [network] source)"
    )
    parser.add_argument("--resolution", type=float, help="grid step of the study run, metres")
    parser.add_argument(
        "--repeat",
        type=int,
        default=STUDY_REPEAT,
        help="interleaved runs of each method (min kept)",
    )
    parser.add_argument(
        "--stage-only",
        action="store_true",
        help="only the isochrone stage of the study's run, grid against exact",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    pd.set_option("display.width", 120)
    results: dict[str, Any] = {}
    if not args.stage_only:
        results["study"] = study_benchmark(args.quick, args.resolution, args.network, args.repeat)
        _write(results, args.json)
    if not args.quick:
        results["stage"] = stage_benchmark(args.repeat)
        _write(results, args.json)
    if args.stage_only:
        return
    if not (args.quick or args.no_synthetic):
        results["synthetic"] = synthetic_benchmark(args.nodes)
        _write(results, args.json)


def _write(results: dict[str, Any], path: str | None) -> None:
    """Print the summary so far and write the JSON file."""
    print(report(results), flush=True)
    if path:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
