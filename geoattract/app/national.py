"""National runs: a study over many départements, partitioned by département, on dask.

:func:`compute_national` is the in-memory job (territory, offer, network arrays, snapped
points, partitions run by an :class:`~geoattract.app.cluster.Engine`, widening of the
partitions whose answer touches their edge, drive times to fixed places, scores);
:func:`run_national` writes its outputs (``geoattract run --config france``):

- ``communes.gpkg``: layer ``communes`` (every commune, flags ``polygon_missing``,
  ``unreachable_<id>``, ``town_hall_unsnapped``), layer ``columns`` (each column's definition,
  unit and source vintage), layer ``metadata``;
- ``departements.csv``: one row per département (population-weighted means, unreachable
  communes);
- ``static/<column>.png``: one national map per indicator;
- ``departements/<dep>.html``: an interactive map per département, on request only.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract.accessibility import TOWN_HALL_SOURCES, intra_commune_legs
from geoattract.accessibility.inputs import end_delays
from geoattract.app.cluster import Engine, EngineOptions
from geoattract.app.partition import (
    MINUTE_S,
    Arrays,
    CategorySpec,
    NationalJob,
    PartitionCuts,
    PartitionResult,
    PointSet,
    initial_radius_min,
    merge_results,
    run_partition,
)
from geoattract.config import StudyConfig, load_toml
from geoattract.errors import ConfigError, DataError, format_values
from geoattract.facilities import Offer, build_offer
from geoattract.network import LineNetwork, SnapRule, line_network, resolve_source
from geoattract.routing import nearest_facility_times
from geoattract.territory import Territory, build_territory

logger = logging.getLogger(__name__)

#: Snapped town halls farther than this from the largest component's nodes start a search
#: for their own component (an island: Corsica); metres of extra margin around them.
ISLAND_MARGIN_M: float = 10_000.0


@dataclass(frozen=True, eq=False)
class NationalNetwork:
    """The road graph of a national run, in arrays.

    Attributes
    ----------
    arrays : Arrays
        Every edge (global node numbers ``0..n-1``).
    nodes : DataFrame
        ``x``, ``y``, ``snappable`` per node number (for snapping).
    attrs : dict
        Attributes of the line network (source, calibration…).
    rule : SnapRule
        How points join it.
    parts : tuple of str
        What it is made of (``mainland``, then one entry per island).
    """

    arrays: Arrays
    nodes: pd.DataFrame
    attrs: dict[str, Any]
    rule: SnapRule
    parts: tuple[str, ...]


def _concat(nets: list[LineNetwork]) -> tuple[Arrays, pd.DataFrame]:
    us, vs, ws, xs, ys, snap = [], [], [], [], [], []
    base = 0
    for net in nets:
        us.append(net.u + base)
        vs.append(net.v + base)
        ws.append(np.asarray(net.travel_time, dtype=float))
        xs.append(net.x)
        ys.append(net.y)
        snap.append(np.asarray(net.snappable, dtype=bool))
        base += net.n_nodes
    x, y = np.concatenate(xs), np.concatenate(ys)
    arrays = Arrays(
        np.concatenate(us).astype(np.int64),
        np.concatenate(vs).astype(np.int64),
        np.concatenate(ws),
        np.arange(base, dtype=np.int64),
        x,
        y,
    )
    nodes = pd.DataFrame({"x": x, "y": y, "snappable": np.concatenate(snap)})
    return arrays, nodes


def national_network(config: StudyConfig, territory: Territory) -> NationalNetwork:
    """The study's line network as arrays: its largest component, plus one per island.

    The largest component of a national line layer is the mainland; town halls beyond the
    snapping limit of it (Corsica) get the largest component of the roads around their
    départements, added as a separate component (no road joins them).

    Raises
    ------
    DataError
        The source is not a line layer.
    """
    source = resolve_source(config)
    from geoattract.network import is_line_layer

    if not is_line_layer(source):
        raise DataError(
            f"{source}: a national run needs a line layer ([network] source), got another source"
        )
    # the lines are split where the town halls meet them (as the study and the OD matrix)
    halls = gpd.GeoSeries(territory.communes["town_hall"].to_numpy(), crs=territory.communes.crs)
    nets = [line_network(source, split_points=halls)]
    parts = ["mainland"]
    section = config.section("network")
    rule = SnapRule.for_graph(nets[0].attrs, section)
    _, nodes = _concat(nets)
    # a probe for islands: the real snapping (after the islands are added) reports far points
    far = rule.snap(nodes, halls, on_far="quiet")["too_far"].to_numpy(dtype=bool)
    deps = sorted(set(territory.communes["dep"].to_numpy()[far]))
    islands = [
        d for d in deps if (territory.communes["dep"] == d).sum() and _mostly(far, territory, d)
    ]
    if islands:
        rows = territory.communes[territory.communes["dep"].isin(islands)]
        area = rows.geometry.dropna().union_all().buffer(ISLAND_MARGIN_M)
        nets.append(line_network(source, polygon=area, split_points=halls))
        parts.append("island " + "+".join(islands))
        logger.info("national network: départements %s form their own component", islands)
    arrays, nodes = _concat(nets)
    return NationalNetwork(arrays, nodes, dict(nets[0].attrs), rule, tuple(parts))


def _mostly(far: np.ndarray, territory: Territory, dep: str) -> bool:
    """Whether most town halls of ``dep`` are beyond the snapping limit (an island)."""
    mask = (territory.communes["dep"] == dep).to_numpy()
    return bool(far[mask].mean() > 0.5)


@dataclass(frozen=True, eq=False)
class SnappedInputs:
    """The national points on the network.

    Attributes
    ----------
    communes : PointSet
        Snapped communes (``index``: row of the territory; ``offset``: access leg and
        dense-commune delay).
    unsnapped : numpy.ndarray
        Rows of the territory too far from the network.
    facilities : dict
        Category id → snapped facilities (``offset``: access leg, intra-commune leg of those
        at a town hall, dense-commune delay).
    snap_m : numpy.ndarray
        Snap distance of every territory row (m).
    same_commune : dict
        Category id → the direct trips from a town hall to the facilities of its own commune
        placed there (:func:`same_commune_pairs`).
    """

    communes: PointSet
    unsnapped: np.ndarray
    facilities: dict[str, PointSet]
    snap_m: np.ndarray
    same_commune: dict[str, pd.DataFrame] = field(default_factory=dict)


def snap_inputs(network: NationalNetwork, territory: Territory, offer: Offer) -> SnappedInputs:
    """Snap town halls and facilities with the study pipeline's rule of trip ends.

    The same legs as :func:`~geoattract.accessibility.prepare_inputs`: the access leg of the
    snap rule and the dense-commune delay at both ends, the intra-commune leg of a facility
    placed at a town hall.
    """
    com = territory.communes
    rule = network.rule
    halls = gpd.GeoSeries(com["town_hall"].to_numpy(), crs=com.crs)
    snapped = rule.snap(network.nodes, halls, ids=com["code"].astype(str), what="town halls")
    ok = ~snapped["too_far"].to_numpy(dtype=bool)
    rows = np.flatnonzero(ok)
    delay = rule.end_delay_s(com["population"], com.geometry.area)
    communes = PointSet(
        rows,
        snapped["node"].to_numpy()[ok].astype(np.int64),
        (snapped["snap_time_s"].to_numpy(dtype=float) + delay)[ok],
        com["population"].to_numpy(dtype=float)[ok],
    )
    fac = offer.facilities
    fsnap = rule.snap(
        network.nodes, fac.geometry, ids=fac["facility_id"].astype(str), what="facilities"
    )
    legs = intra_commune_legs(fac, com, rule)
    offsets = fsnap["snap_time_s"].to_numpy(dtype=float) + rule.access_time_s(legs)
    offsets += end_delays(fac, com, rule)
    fok = ~fsnap["too_far"].to_numpy(dtype=bool)
    if (~fok).any():
        logger.warning(
            "%d facility(ies) beyond the snapping limit left out: %s",
            int((~fok).sum()),
            fac.loc[~fok, "category"].value_counts().to_dict(),
        )
    facilities, same = {}, {}
    offset_of = pd.Series(communes.offset, index=com["code"].astype(str).to_numpy()[rows])
    for cid in offer.catalogue.ids:
        m = (fac["category"] == cid).to_numpy() & fok
        facilities[cid] = PointSet(
            np.flatnonzero(m),
            fsnap["node"].to_numpy()[m].astype(np.int64),
            offsets[m],
            fac["capacity"].fillna(1.0).to_numpy(dtype=float)[m],
        )
        same[cid] = same_commune_pairs(
            fac[m], facilities[cid], rule.access_time_s(legs[m]), offset_of
        )
    return SnappedInputs(
        communes, np.flatnonzero(~ok), facilities, snapped["snap_distance_m"].to_numpy(float), same
    )


def same_commune_pairs(
    fac: pd.DataFrame, points: PointSet, direct_s: np.ndarray, offset_of: pd.Series
) -> pd.DataFrame:
    """Trips from a town hall to the facilities of its own commune placed at that town hall.

    Such a trip does not go to the road network and back (two access legs, two delays) but
    crosses the commune: the intra-commune leg only, the study pipeline's rule
    (:func:`~geoattract.accessibility.same_commune_times`).

    Parameters
    ----------
    fac : DataFrame
        The snapped facilities of one category (``code``, ``source``), aligned on ``points``.
    points : PointSet
        Their network points (``offset``: their end of the routed trip).
    direct_s : numpy.ndarray
        Their intra-commune leg (s), aligned on ``points``.
    offset_of : Series
        Commune code → the access leg (s) of its snapped town hall.

    Returns
    -------
    DataFrame
        ``origin`` (territory row of the commune, through ``code``), ``direct_s``,
        ``network_s`` (the routed time of the pair: both legs), ``weight``.
    """
    codes = fac["code"].astype(str).to_numpy()
    at_hall = fac["source"].isin(TOWN_HALL_SOURCES).to_numpy() if "source" in fac else False
    known = at_hall & pd.Series(codes).isin(offset_of.index).to_numpy()
    return pd.DataFrame(
        {
            "code": codes[known],
            "direct_s": direct_s[known],
            "network_s": offset_of.reindex(codes[known]).to_numpy() + points.offset[known],
            "weight": points.weight[known],
        }
    )


def apply_same_commune(
    columns: dict[str, np.ndarray],
    snapped: SnappedInputs,
    territory: Territory,
    specs: tuple[CategorySpec, ...],
) -> int:
    """Nearest times and counts with the direct same-commune trips (in place).

    The nearest time becomes the direct time where shorter; a facility whose direct time is
    within a threshold and whose routed time was not is added to that count.

    Returns
    -------
    int
        Number of (commune, facility) pairs applied.
    """
    row_of = pd.Series(
        np.arange(len(territory.communes)), index=territory.communes["code"].astype(str)
    )
    applied = 0
    for c in specs:
        pairs = snapped.same_commune.get(c.id)
        name = f"time_{c.id}_min"
        if pairs is None or pairs.empty or name not in columns:
            continue
        origin = row_of.loc[pairs["code"]].to_numpy()
        direct = pairs["direct_s"].to_numpy()
        np.fmin.at(columns[name], origin, direct / MINUTE_S)
        for t in c.thresholds_min:
            gained = (direct <= t * MINUTE_S) & (pairs["network_s"].to_numpy() > t * MINUTE_S)
            np.add.at(
                columns[f"count_{c.id}_{t}min"], origin[gained], pairs["weight"].to_numpy()[gained]
            )
        applied += len(pairs)
    return applied


def category_specs(offer: Offer) -> tuple[CategorySpec, ...]:
    """What the partitions compute for each category of the (resolved) catalogue."""
    return tuple(
        CategorySpec(c.id, tuple(c.thresholds_min), dict(c.decay_spec)) for c in offer.catalogue
    )


@dataclass
class NationalState:
    """The in-memory result of a national run.

    Attributes
    ----------
    config : StudyConfig
    territory : Territory
    offer : Offer
    network : NationalNetwork
    table : DataFrame
        Indicators and flags aligned on the territory rows.
    stats : dict
        Timings, partition sizes, widenings, engine figures.
    """

    config: StudyConfig
    territory: Territory
    offer: Offer
    network: NationalNetwork
    table: pd.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)


def build_job(
    network: NationalNetwork, territory: Territory, offer: Offer
) -> tuple[NationalJob, SnappedInputs]:
    """The partitionable job of a study: snapped points grouped by département."""
    snapped = snap_inputs(network, territory, offer)
    groups = territory.communes["dep"].to_numpy(dtype=object)[snapped.communes.index]
    job = NationalJob.create(
        network.arrays, snapped.communes, groups, snapped.facilities, category_specs(offer)
    )
    return job, snapped


def run_job(
    job: NationalJob,
    engine: Engine,
    *,
    partitioned: bool = True,
    radius_min: float | None = None,
    max_widenings: int = 6,
    group: bool = True,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Run a job globally or by partition (with widenings) and merge the answers.

    ``group`` merges départements whose balls overlap (``NationalJob.partitions``).

    Returns
    -------
    columns : dict
        Column → values by position in ``job.communes`` order of the national table rows
        (``job.communes.index``); times ``inf`` when unreachable.
    stats : dict
        ``partitions``, ``radius_min``, ``largest_partition`` (name, nodes, edges, bytes),
        ``overlap`` (edges of all first-round partitions / edges of the graph), ``widened``
        (communes per widening round), ``global_fallback``, ``partition_seconds`` (compute
        time summed over the partitions, every round).
    """
    n = int(job.communes.index.max()) + 1 if len(job.communes) else 0
    if not partitioned:
        results = engine.map(run_partition, [job.whole()], ["global"])
        return merge_results(results, n, []), {
            "partitions": 1,
            "widened": [],
            "partition_seconds": _seconds(results),
        }
    radius = initial_radius_min(job.categories, radius_min) * MINUTE_S
    parts = job.partitions(radius, group=group)
    results = engine.map(run_partition, parts, parts.names)
    stats: dict[str, Any] = {
        "partitions": len(parts),
        "radius_min": radius / MINUTE_S,
        **partition_sizes(parts.sizes, job.graph.n_edges),
        "widened": [],
        "cut_s": parts.seconds,
    }
    pending = _touching(results)
    for round_ in range(1, max_widenings + 1):
        if not pending:
            break
        radius *= 2
        wider = PartitionCuts(
            job,
            [(f"{name}+{round_}", idx, cats) for name, (idx, cats) in sorted(pending.items())],
            radius,
        )
        stats["widened"].append(int(sum(len(o) for o, _ in pending.values())))
        more = engine.map(run_partition, wider, wider.names)
        results.extend(more)
        pending = _touching(more)
        stats["cut_s"] += wider.seconds
    columns = merge_results(results, n, [])
    if pending:
        stats["global_fallback"] = _global_nearest(job, pending, columns)
    stats["partition_seconds"] = _seconds(results)
    return columns, stats


def partition_sizes(sizes: dict[str, dict[str, int]], graph_edges: int) -> dict[str, Any]:
    """The largest partition and the overlap factor of partitions' sizes (``PartitionCuts.sizes``)."""
    name = max(sizes, key=lambda k: sizes[k]["edges"])
    total = sum(v["edges"] for v in sizes.values())
    return {
        "largest_partition": {"name": name, **sizes[name]},
        "overlap": total / max(graph_edges, 1),
    }


def _seconds(results: list[PartitionResult]) -> float:
    return float(sum(r.stats.get("seconds", 0.0) for r in results))


def _touching(results: list[PartitionResult]) -> dict[str, tuple[np.ndarray, tuple[str, ...]]]:
    """Partition name (without its round) → communes to widen and the categories concerned."""
    out: dict[str, tuple[np.ndarray, tuple[str, ...]]] = {}
    for res in results:
        cats = tuple(sorted(c for c, idx in res.touching.items() if len(idx)))
        if cats:
            idx = np.unique(np.concatenate([res.touching[c] for c in cats]))
            out[res.name.split("+")[0]] = (idx, cats)
    return out


def _global_nearest(
    job: NationalJob,
    pending: dict[str, tuple[np.ndarray, tuple[str, ...]]],
    columns: dict[str, np.ndarray],
) -> int:
    """Exact nearest times on the whole graph for communes still touching after the widenings."""
    rg = job.graph.routing_graph()
    count = 0
    for origins, cats in pending.values():
        pos = np.searchsorted(job.communes.index, origins)
        for cid in cats:
            fac = job.facilities[cid]
            times = nearest_facility_times(
                rg, fac.node, facility_offsets=fac.offset, origins=job.communes.node[pos]
            )
            assert isinstance(times, np.ndarray)
            columns[f"time_{cid}_min"][origins] = (times + job.communes.offset[pos]) / MINUTE_S
        count += len(origins)
    logger.warning(
        "%d commune(s) still touching their partition's edge after the widenings: nearest times "
        "computed on the whole graph",
        count,
    )
    return count


def _place_points(config: StudyConfig, territory: Territory, codes: list[str]) -> gpd.GeoSeries:
    """Town halls of the places: from the territory, else from the national commune file."""
    com = territory.communes
    halls = pd.Series(com["town_hall"].to_numpy(), index=com["code"].astype(str).to_numpy())
    missing = sorted(set(codes) - set(halls.index))
    if missing:
        from geoattract.territory.national import read_national_communes

        path = Path(config.territory.communes_file)
        path = path if path.is_absolute() else config.data_dir / path
        table = read_national_communes(path).table.to_crs(com.crs)
        unknown = sorted(set(missing) - set(table.index))
        if unknown:
            raise DataError(f"{path}: places not in the national commune file: {unknown}")
        halls = pd.concat([halls, table.geometry.reindex(missing)])
    return gpd.GeoSeries(halls.reindex(codes).to_numpy(), index=codes, crs=com.crs)


def place_times(
    config: StudyConfig,
    network: NationalNetwork,
    territory: Territory,
    snapped: SnappedInputs,
    places: dict[str, Any],
) -> pd.DataFrame:
    """Drive times to Paris, to the regional capital and to the nearest préfecture (minutes).

    One search per place on the whole graph, reversed from the place (its access leg
    included); a commune times to itself as 0. NaN where unreachable or unsnapped.
    """
    com = territory.communes
    rg = network.arrays.routing_graph()
    codes = com["code"].astype(str).to_numpy()
    wanted = sorted(
        {
            places["places"]["paris"],
            *places["prefectures"].values(),
            *places["regional_capitals"].values(),
        }
    )
    snap = network.rule.snap(network.nodes, _place_points(config, territory, wanted), what="places")
    ok = ~snap["too_far"].to_numpy(dtype=bool)
    node = dict(zip(snap.index[ok], snap["node"].to_numpy()[ok].tolist(), strict=True))
    offset = dict(
        zip(snap.index[ok], snap["snap_time_s"].to_numpy(float)[ok].tolist(), strict=True)
    )
    pos = snapped.communes.index

    def times_to(targets: list[str]) -> np.ndarray:
        targets = [c for c in targets if c in node]
        out = np.full(len(com), np.nan)
        if not targets:
            return out
        t = nearest_facility_times(
            rg,
            [node[c] for c in targets],
            facility_offsets=[offset[c] for c in targets],
            origins=snapped.communes.node,
        )
        assert isinstance(t, np.ndarray)
        t = (t + snapped.communes.offset) / MINUTE_S
        out[pos] = np.where(np.isfinite(t), t, np.nan)
        out[np.isin(codes, targets)] = 0.0
        return out

    table = pd.DataFrame(index=com.index)
    table["time_paris_min"] = times_to([places["places"]["paris"]])
    table["time_prefecture_min"] = times_to(list(places["prefectures"].values()))
    regional = np.full(len(com), np.nan)
    region = com["region"].astype(str).to_numpy() if "region" in com else np.array([])
    for reg, code in places["regional_capitals"].items():
        mask = region == reg
        if mask.any():
            regional[mask] = times_to([code])[mask]
    table["time_regional_capital_min"] = regional
    snapped_rows = np.zeros(len(com), dtype=bool)
    snapped_rows[pos] = True
    for name in ("paris", "prefecture", "regional_capital"):  # an island has no road to Paris
        table[f"unreachable_{name}"] = snapped_rows & table[f"time_{name}_min"].isna().to_numpy()
    return table


def load_places(config: StudyConfig) -> dict[str, Any]:
    """The ``[configs] places`` table: Paris, the préfectures and the regional capitals.

    Raises
    ------
    ConfigError
        No places file, or one without the three tables.
    """
    doc = load_toml(config.config_file("places"))
    missing = [k for k in ("places", "prefectures", "regional_capitals") if k not in doc]
    if missing or "paris" not in doc.get("places", {}):
        raise ConfigError(
            f"{config.config_file('places')}: needs [places] paris, [prefectures] and "
            f"[regional_capitals]; missing {format_values(missing or ['places.paris'])}"
        )
    return doc


def accessibility_frame(
    territory: Territory,
    snapped: SnappedInputs,
    columns: dict[str, np.ndarray],
    specs: tuple[CategorySpec, ...],
) -> pd.DataFrame:
    """The partition answers as columns on the territory rows, with the unreachable flags.

    A time of ``inf`` (no facility reachable) becomes NaN with ``unreachable_<id>`` set; an
    unsnapped town hall has NaN everywhere and ``town_hall_unsnapped`` set.
    """
    com = territory.communes
    n = len(com)
    out = pd.DataFrame(index=com.index)
    out["town_hall_snap_m"] = snapped.snap_m
    unsnapped = np.zeros(n, dtype=bool)
    unsnapped[snapped.unsnapped] = True
    out["town_hall_unsnapped"] = unsnapped
    for c in specs:
        names = [f"time_{c.id}_min"] + [f"count_{c.id}_{t}min" for t in c.thresholds_min]
        names += [f"e2sfca_{c.id}"] if c.e2sfca else []
        for name in names:
            values = np.full(n, np.nan)
            got = columns.get(name)
            if got is not None:
                values[: got.size] = got
            if name.startswith("time_"):
                unreachable = ~np.isfinite(values)
                values = np.where(unreachable, np.nan, values)
                out[name] = values
                out[f"unreachable_{c.id}"] = unreachable
            else:
                out[name] = values
    return out


def compute_national(
    config: StudyConfig,
    options: EngineOptions,
    *,
    partitioned: bool = True,
) -> NationalState:
    """Run a national study in memory.

    Parameters
    ----------
    config : StudyConfig
        The study (``[territory]``, ``[partitions]``, ``[dask]``, ``[configs] places``).
    options : EngineOptions
        Where the partitions run.
    partitioned : bool
        Partition by département (False: one global computation, for checks).

    Returns
    -------
    NationalState
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    territory = build_territory(config)
    offer = build_offer(config, territory.communes)
    timings["territory+offer"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    network = national_network(config, territory)
    job, snapped = build_job(network, territory, offer)
    timings["network+snap"] = time.perf_counter() - t1
    section = config.section("partitions")
    t2 = time.perf_counter()
    with Engine(options) as engine:
        columns, stats = run_job(
            job,
            engine,
            partitioned=partitioned,
            radius_min=section.get("radius_min"),
            max_widenings=int(section.get("max_widenings", 6)),
            group=bool(section.get("group", True)),
        )
    stats["same_commune_pairs"] = apply_same_commune(columns, snapped, territory, job.categories)
    timings["accessibility"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    table = accessibility_frame(territory, snapped, columns, job.categories)
    if config.raw.get("configs", {}).get("places"):
        table = table.join(place_times(config, network, territory, snapped, load_places(config)))
    timings["places"] = time.perf_counter() - t3
    stats.update(engine=options.engine, engine_stats=engine.stats, timings=timings)
    stats["network_parts"] = network.parts
    stats["network_edges"] = network.arrays.n_edges
    return NationalState(config, territory, offer, network, table, stats)
