"""How the GP APL of a study moves between uncalibrated and calibrated travel times.

The study network (the Travel Mapping line layer) is built twice: with the shipped
calibration (class speeds, detours, access leg and dense-area delay fitted on OSRM, the
default of :func:`geoattract.network.graph_from_lines`) and without it
(``calibration=False``: preset speeds, package access leg). The accessibility inputs are
snapped on each and the category's catchment indicator (``e2sfca_gp``: the APL method of the
catalogue) is computed on both. Printed: Spearman of the two rankings, medians, the share of
communes whose nearest GP lies at a band edge, and the communes that move most.

Usage::

    python scripts/apl_calibration_compare.py                # Lot-et-Garonne, gp
    python scripts/apl_calibration_compare.py --category dentist --top 10
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import shapely

import geoattract as ga
from geoattract.accessibility import (
    catchment_problem,
    category_e2sfca,
    compare_rankings,
    prepare_inputs,
    solve_catchment,
)
from geoattract.facilities import build_offer
from geoattract.network import build_network, graph_from_lines
from geoattract.network.load import resolve_source
from geoattract.network.snapping import SnapRule
from geoattract.routing import facility_access
from geoattract.territory import build_territory

#: Band edges of the DREES APL (minutes) and the window counted as "at an edge".
EDGE_WINDOW_MIN = (7.0, 15.0)


def _nearest_min(inputs, cid: str) -> pd.Series:
    """Minutes from each study town hall to the nearest facility of ``cid``."""
    com = inputs.communes
    study = com[com["in_study"] & ~com["too_far"]]
    f = inputs.facilities[inputs.facilities["category"] == cid]
    acc = facility_access(
        inputs.rg,
        study["node"].to_numpy(),
        {cid: (f["node"].to_numpy(), np.ones(len(f)), f["snap_s"].to_numpy(dtype=float))},
        [20 * 60.0],
        origin_offsets=study["snap_s"].to_numpy(dtype=float),
    )
    return pd.Series(acc.nearest_s[cid] / 60.0, index=study.index)


def main() -> None:
    """Build both networks, compute the indicator on each and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default=None, help="study name or TOML (default: shipped)")
    parser.add_argument("--category", default="gp")
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    cfg = ga.load_study_config(args.study)
    terr = build_territory(cfg)
    offer = build_offer(cfg, terr.communes)
    section = cfg.section("network")
    calibrated = build_network(cfg, terr.communes)
    polygon = shapely.union_all(terr.communes.geometry.values)
    G_raw = graph_from_lines(resolve_source(cfg), polygon=polygon, calibration=False)
    results, nearest, smoothed = {}, {}, {}
    for name, G, rule in [
        ("calibrated", calibrated.graph, calibrated.snap_rule),
        ("uncalibrated", G_raw, SnapRule.for_graph(G_raw, section)),
    ]:
        inputs = prepare_inputs(
            G,
            terr.communes,
            offer.facilities,
            offer.catalogue,
            snap_rule=rule,
            age_structure=offer.age_structure,
        )
        study = inputs.communes.index[inputs.communes["in_study"]]
        results[name] = category_e2sfca(inputs, args.category).reindex(study)
        cat = offer.catalogue[args.category]
        if cat.catchment.time_error > 0 and cat.decay is not None:
            spec = cat.catchment
            spec = spec if spec.smoothing else spec.switched("smoothing")
            problem = catchment_problem(inputs, args.category)
            smoothed[name] = solve_catchment(problem, spec, cat.decay).reindex(study)
        nearest[name] = _nearest_min(inputs, args.category).reindex(study)
        print(f"{name}: access leg {rule.speed_kph:g} km/h × {rule.detour:g}")
    names = terr.communes["nom"]
    codes = terr.communes["code"].astype(str)
    stats, movers = compare_rankings(
        results["uncalibrated"], results["calibrated"], codes, names, top=args.top
    )
    lo, hi = EDGE_WINDOW_MIN
    print(
        f"\ne2sfca_{args.category}: uncalibrated → calibrated over {stats['n_communes']:.0f} communes"
    )
    print(f"Spearman of the rankings: {stats['spearman']:.4f}")
    print(f"median relative change: {stats['median_change_pct']:.1f} %")
    print(f"largest rank move: {stats['max_rank_move']:.0f}")
    print(f"communes staying in their quintile: {stats['same_class_pct']:.0f} %")
    for name in ("uncalibrated", "calibrated"):
        near = nearest[name]
        edge = ((near >= lo) & (near <= hi)).mean()
        agen = results[name][codes == "47001"]
        agen_text = f", Agen {agen.iloc[0]:.1f}" if len(agen) else ""
        print(
            f"{name}: median {results[name].median():.1f}{agen_text}; nearest {args.category} "
            f"median {near.median():.1f} min, {100 * edge:.0f} % of communes at {lo:g}–{hi:g} min"
        )
    if smoothed:
        s_stats, _ = compare_rankings(
            smoothed["uncalibrated"], smoothed["calibrated"], codes, names
        )
        print(
            f"with the band weights smoothed over the time error on both: Spearman "
            f"{s_stats['spearman']:.4f}, median relative change {s_stats['median_change_pct']:.1f} %, "
            f"largest rank move {s_stats['max_rank_move']:.0f}, same quintile "
            f"{s_stats['same_class_pct']:.0f} %"
        )
    print("\ncommunes that move most (rank 1 = best access; uncalibrated → calibrated):")
    print(movers.to_string(index=False, float_format=lambda v: f"{v:.1f}"))


if __name__ == "__main__":
    main()
