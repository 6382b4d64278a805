"""The metropolitan reach of a study, and of a rail scenario.

:func:`build_metropolitan` is what the accessibility stage calls when the study file declares
metropoles (``[poles]``): it finds the poles, routes from every commune of the territory and of
the corridor map to them and to the stations of the rail links (to a metropole or to a
regional town such as Agen)
(:mod:`~geoattract.accessibility.poles`, :mod:`~geoattract.accessibility.rail`) and evaluates
every named scenario of ``[scenarios]``. :func:`metro_scenario` evaluates link edits on a
finished result: only the drive times to new stations are routed, the rest is reused.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract.accessibility.poles import (
    MetropolitanAccess,
    MetroRouting,
    MetroScenario,
    check_poles,
    commune_table,
    drive_minutes,
    metro_network,
    national_points,
    pole_points,
    population_table,
    territory_points,
    time_column,
    with_delay,
)
from geoattract.accessibility.rail import (
    add_stations,
    catalogue_stations,
    rail_times,
    station_names,
)
from geoattract.config.metro import (
    MetroSpec,
    NewStation,
    RailLink,
    apply_rail_edits,
    check_rail_edits,
)
from geoattract.config.study import StudyConfig
from geoattract.errors import DataError
from geoattract.network import Network

logger = logging.getLogger(__name__)

#: Time columns of the corridor map, per metropole.
CORRIDOR_KINDS: tuple[str, ...] = ("", "rail", "best")


def corridor_points(
    spec: MetroSpec, places: gpd.GeoDataFrame, poles: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """The communes of the corridor map, as routing points.

    The territory and, with a national commune file, every commune whose polygon meets the
    box of the territory and the metropoles (plus ``[metropolitan] map_margin_km``).
    """
    if spec.communes_file is None:
        return places
    metro = poles.loc[[p.key for p in spec.metropoles]]
    minx, miny, maxx, maxy = places.geometry.total_bounds
    px0, py0, px1, py1 = metro.geometry.total_bounds
    m = spec.map_margin_m
    box = (min(minx, px0) - m, min(miny, py0) - m, max(maxx, px1) + m, max(maxy, py1) + m)
    extra = national_points(spec.communes_file, bbox=box)
    extra = extra.loc[~extra.index.isin(places.index)].copy()
    extra["in_study"] = False
    return gpd.GeoDataFrame(pd.concat([places, extra]), geometry="geometry", crs=places.crs)


def _station_points(stations: gpd.GeoDataFrame, origins: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Stations as routing points, with the density of their commune (dense-commune delay)."""
    return gpd.GeoDataFrame(
        {"nom": stations["name"], "density": stations["code"].map(origins["density"])},
        geometry=stations.geometry.to_crs(origins.crs),
        crs=origins.crs,
    )


def _evaluate(spec: MetroSpec, routing: MetroRouting, links: Sequence[RailLink]) -> pd.DataFrame:
    keys = [p.key for p in spec.rail_poles(links)]
    rail, station = rail_times(routing.station_minutes, links, keys, spec.transfer_min)
    return commune_table(spec, routing.road, rail, station, station_names(routing.stations))


def _study_view(table: pd.DataFrame, territory: gpd.GeoDataFrame) -> pd.DataFrame:
    """Rows of the study communes, indexed like the study rows of the territory."""
    study = territory[territory["in_study"].astype(bool)]
    return table.loc[study["code"].astype(str)].set_axis(study.index)


def _study_frame(territory: gpd.GeoDataFrame) -> pd.DataFrame:
    study = territory[territory["in_study"].astype(bool)]
    dep = study["dep"] if "dep" in study else study["code"].astype(str).str[:2]
    return pd.DataFrame(
        {
            "code": study["code"].astype(str),
            "nom": study["nom"],
            "population": pd.to_numeric(study["population"], errors="coerce"),
            "dep": dep.astype(str),
            "epci": study["epci"].astype(str),
            "epci_nom": study["epci_nom"].astype(str),
        },
        index=study.index,
    )


def _corridor(spec: MetroSpec, table: pd.DataFrame) -> pd.DataFrame:
    cols = [time_column(p.key, k) for p in spec.metropoles for k in CORRIDOR_KINDS]
    return table[cols]


def build_metropolitan(
    config: StudyConfig,
    territory: gpd.GeoDataFrame,
    network: Network,
) -> MetropolitanAccess | None:
    """Metropolitan reach of a study (None when its file declares no metropole).

    Parameters
    ----------
    config : StudyConfig
        The study (``[poles]``, ``[[rail_links]]``, ``[scenarios]``, ``[metropolitan]``).
    territory : GeoDataFrame
        Study and buffer communes (``code``, ``nom``, ``population``, ``epci``, ``epci_nom``,
        ``in_study``, ``town_hall``, polygons).
    network : Network
        The network stage's result (its graph when the study is not on a line layer, and its
        snapping rule).

    Returns
    -------
    MetropolitanAccess or None

    Raises
    ------
    DataError, NetworkError
        A pole found nowhere or not reached by the network; a rail link to a station that is
        not in the station file.
    """
    spec = MetroSpec.from_config(config)
    if spec is None:
        return None
    places = territory_points(territory)
    poles = pole_points(spec, places, spec.communes_file)
    origins = corridor_points(spec, places, poles)
    halls = pd.concat([places.geometry, poles.geometry]) if len(poles) else places.geometry
    onet, source = metro_network(config, network, split_points=halls)
    rule = network.snap_rule
    origins = with_delay(origins, onet)
    poles = with_delay(poles, onet)
    road = drive_minutes(onet, origins, poles, rule)
    check_poles(onet, poles, rule, road, places.index[places["in_study"]])
    all_stations = catalogue_stations(config, spec.station_category)
    check_rail_edits(spec.links, spec, all_stations.index)
    wanted = {link.station for link in spec.links}
    for sc in spec.scenarios.values():
        news = {s.id for s in sc.stations}
        check_rail_edits(sc.links, spec, set(all_stations.index) | news)
        wanted |= {link.station for link in sc.links} - news
    stations = all_stations.loc[sorted(wanted)]
    pts = with_delay(_station_points(stations, origins), onet)
    station_minutes = drive_minutes(onet, origins, pts, rule) if len(pts) else None
    routing = MetroRouting(
        onet=onet,
        rule=rule,
        origins=origins,
        road=road,
        station_minutes=(
            station_minutes
            if station_minutes is not None
            else pd.DataFrame(index=origins.index, dtype=float)
        ),
        stations=stations,
    )
    table = _evaluate(spec, routing, spec.links)
    study = _study_frame(territory)
    view = _study_view(table, territory)
    polygons = gpd.GeoDataFrame(
        {"nom": origins["nom"], "in_study": origins["in_study"].astype(bool)},
        geometry=gpd.GeoSeries(origins["polygon"], crs=origins.crs),
        crs=origins.crs,
    )
    corridor = gpd.GeoDataFrame(
        pd.concat([polygons, _corridor(spec, table)], axis=1), geometry="geometry", crs=origins.crs
    )
    result = MetropolitanAccess(
        spec=spec,
        table=view,
        population=population_table(spec, view, study),
        corridor=corridor,
        links=spec.links,
        routing=routing,
        pole_points=poles,
        network_source=source,
    )
    for name, sc in spec.scenarios.items():
        result.scenarios[name] = metro_scenario(
            result, territory, stations=sc.stations, edits=sc.links, label=sc.label
        )
    logger.info(
        "metropolitan reach: %d poles, %d rail links, %d corridor communes, %d scenario(s)",
        len(spec.poles),
        len(spec.links),
        len(corridor),
        len(spec.scenarios),
    )
    return result


def metro_scenario(
    metro: MetropolitanAccess,
    territory: gpd.GeoDataFrame,
    *,
    stations: Sequence[NewStation] = (),
    edits: Sequence[RailLink] = (),
    label: str = "scénario",
) -> MetroScenario:
    """The metropolitan reach after rail link edits, and what changes per commune and EPCI.

    Parameters
    ----------
    metro : MetropolitanAccess
        The baseline.
    territory : GeoDataFrame
        Study and buffer communes (as given to :func:`build_metropolitan`).
    stations : sequence of NewStation
        New stations (routed from every origin).
    edits : sequence of RailLink
        Links replacing the baseline link of the same station and pole, or added.
    label : str
        French name of the scenario.

    Returns
    -------
    MetroScenario

    Raises
    ------
    DataError
        An edit names an unknown station or pole.
    """
    spec = metro.spec
    routing = metro.routing
    new = _on_network(
        add_stations(routing.stations, stations, routing.origins.geometry), stations, routing
    )
    check_rail_edits(edits, spec, set(new.index) | set(routing.station_minutes.columns))
    minutes = routing.station_minutes
    fresh = [s.id for s in stations]
    if fresh:
        pts = with_delay(_station_points(new.loc[fresh], routing.origins), routing.onet)
        extra = drive_minutes(routing.onet, routing.origins, pts, routing.rule)
        minutes = pd.concat([minutes, extra], axis=1)
    absent = sorted({e.station for e in edits} - set(minutes.columns))
    if absent:  # a station of the file that no baseline link uses
        pts = with_delay(_station_points(new.loc[absent], routing.origins), routing.onet)
        minutes = pd.concat(
            [minutes, drive_minutes(routing.onet, routing.origins, pts, routing.rule)], axis=1
        )
    links = apply_rail_edits(metro.links, edits)
    after_routing = replace(routing, station_minutes=minutes, stations=new)
    table = _evaluate(spec, after_routing, links)
    study = _study_frame(territory)
    view = _study_view(table, territory)
    changes, epci = scenario_changes(spec, metro.table, view, study)
    return MetroScenario(
        label=label,
        links=links,
        table=view,
        population=population_table(spec, view, study),
        corridor=_corridor(spec, table),
        changes=changes,
        epci=epci,
        stations=new.loc[sorted({link.station for link in links} & set(new.index))],
    )


def _on_network(
    stations: gpd.GeoDataFrame, new: Sequence[NewStation], routing: MetroRouting
) -> gpd.GeoDataFrame:
    """Move the new stations placed at a town hall onto the nearest node of the network.

    A new station is built by a road with its own access: placed at the town hall of its
    commune it would pay an access leg the real station does not have (several minutes where
    the town hall is far from a classified road). Stations given with ``x``/``y`` stay put.
    """
    placed = [s.id for s in new if s.x is None or s.y is None]
    if not placed:
        return stations
    snapped = routing.rule.snap(routing.onet.nodes, stations.loc[placed].geometry, on_far="raise")
    xy = routing.onet.nodes.loc[snapped["node"].to_numpy(), ["x", "y"]].to_numpy(dtype=float)
    out = stations.copy()
    out.loc[placed, "geometry"] = gpd.points_from_xy(xy[:, 0], xy[:, 1], crs=stations.crs)
    return out


def scenario_changes(
    spec: MetroSpec, before: pd.DataFrame, after: pd.DataFrame, study: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per commune and per EPCI: faster trips and population newly within the reference time.

    Parameters
    ----------
    spec : MetroSpec
        Metropoles and ``reference_min``.
    before, after : DataFrame
        :func:`~geoattract.accessibility.poles.commune_table` of the study communes.
    study : DataFrame
        ``code``, ``nom``, ``population``, ``epci``, ``epci_nom`` aligned on them.

    Returns
    -------
    (DataFrame, DataFrame)
        See :attr:`~geoattract.accessibility.poles.MetroScenario.changes` and ``epci``.
    """
    ref = spec.reference_min
    out = study[["code", "nom", "population", "epci", "epci_nom"]].copy()
    b, a = before["time_metropole_best_min"], after["time_metropole_best_min"]
    out["time_metropole_best_min_before"] = b
    out["time_metropole_best_min_after"] = a
    out["time_metropole_best_min_change"] = a - b
    within_b = pd.Series(False, index=out.index)
    within_a = pd.Series(False, index=out.index)
    for p in spec.metropoles:
        col = time_column(p.key, "best")
        out[f"{col}_before"] = before[col]
        out[f"{col}_after"] = after[col]
        wb, wa = before[col] <= ref, after[col] <= ref
        out[f"newly_within_{p.key}"] = wa & ~wb
        within_b |= wb
        within_a |= wa
    out["newly_within_metropole"] = within_a & ~within_b
    pop = out["population"].fillna(0.0)
    flags = [f"newly_within_{p.key}" for p in spec.metropoles] + ["newly_within_metropole"]
    epci = (
        pd.DataFrame({f: pop * out[f] for f in flags})
        .assign(population=pop, epci=out["epci"], epci_nom=out["epci_nom"])
        .groupby(["epci", "epci_nom"], as_index=False)
        .sum()
    )
    epci = epci.rename(columns={f: f"population_{f}" for f in flags})
    return out, epci.sort_values("population_newly_within_metropole", ascending=False)


def study_population_within(
    population: pd.DataFrame, pole: str, mode: str, threshold: int
) -> tuple[float, float]:
    """Inhabitants of the study's départements within ``threshold`` minutes of a pole.

    ``mode`` is ``voiture`` or ``meilleur``; ``population`` the table of
    :class:`MetropolitanAccess` (or of a rail scenario). Returns the inhabitants within and
    their total.
    """
    sel = population[
        (population["level"] == "departement")
        & (population["pole"] == pole)
        & (population["mode"] == mode)
        & (population["threshold_min"] == threshold)
    ]
    return float(sel["population_within"].sum()), float(sel["population"].sum())


def population_summary(metro: MetropolitanAccess, scenario: str | None = None) -> pd.DataFrame:
    """Population of the study within the reference time of each metropole, today and after.

    Returns
    -------
    DataFrame
        One row per metropole and mode (``voiture``, ``meilleur``): ``pole_nom``, ``mode``,
        ``today`` and, with a scenario, ``scenario`` and ``gain``; département level.
    """
    ref = metro.spec.reference_min

    def pick(pop: pd.DataFrame) -> pd.Series:
        sel = pop[(pop["level"] == "departement") & (pop["threshold_min"] == ref)]
        return sel.groupby(["pole_nom", "mode"], sort=False)["population_within"].sum()

    out = pick(metro.population).rename("today").to_frame()
    if scenario is not None:
        if scenario not in metro.scenarios:
            raise DataError(f"unknown rail scenario {scenario!r}")
        out["scenario"] = pick(metro.scenarios[scenario].population)
        out["gain"] = out["scenario"] - out["today"]
    return out.reset_index()


def top_gains(changes: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` communes whose best time to a metropole falls most."""
    gain = -changes["time_metropole_best_min_change"]
    order = gain.where(np.isfinite(gain)).sort_values(ascending=False).index
    return changes.loc[order].head(n)
