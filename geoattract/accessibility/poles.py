"""Metropolitan reach: drive and car + train times to the poles, population within reach.

For every commune of the study (and of the corridor map), from its town hall:

* ``time_<pole>_min``: drive time to the town hall of each metropole, and of every other pole
  that a rail link reaches (Agen), on the road network;
* ``time_<pole>_rail_min``: door-to-pole time by car + train
  (:mod:`~geoattract.accessibility.rail`: drive to the station, ``[metropolitan]
  transfer_min``, the fastest direct train) and ``rail_station_<pole>``, the station used;
* ``time_<pole>_best_min`` and ``mode_<pole>``: the faster of the two;
* ``time_nearest_metropole_min`` / ``nearest_metropole`` (by road),
  ``time_metropole_best_min`` / ``metropole_best`` / ``metropole_best_mode`` (any mode);
* ``regional_pole_code``, ``regional_pole_nom``, ``time_regional_pole_min``,
  ``regional_pole_mode``: the nearest regional town, by road or, where a rail link reaches it
  faster, by car + train.

Per département and EPCI of the study: the population within each threshold of
``[metropolitan] thresholds_min`` of each metropole, by road and by the faster mode.

**Network.** The metropoles usually lie outside the study's network (territory and buffer):
when the study runs on a line layer (the national classified roads), the poles are routed on
the whole layer as arrays (:func:`geoattract.network.line_network`, cached on disk), with the
same calibration and the study's snapping rule; any other network (OSM extract, schematic)
must reach the poles itself. A pole the network does not reach is an error naming it. Times
follow the calibrated model of :func:`geoattract.routing.od_matrix`: access legs at both ends
and the calibration's delay at a point in a dense commune (``dense_delay_min`` above
``dense_density_per_km2``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoattract import settings
from geoattract._util.io import require_file
from geoattract.accessibility.rail import (
    MODE_ROAD,
    best_of,
    station_names,
)
from geoattract.config.metro import (
    MetroSpec,
    RailLink,
    link_record,
)
from geoattract.config.study import StudyConfig
from geoattract.errors import DataError, NetworkError, format_values
from geoattract.network import Network
from geoattract.network.load import whole_network
from geoattract.network.snapping import SnapRule
from geoattract.routing import ODNetwork, dense_delays, od_matrix, od_network

logger = logging.getLogger(__name__)

#: Layers of the national commune file.
NATIONAL_LAYERS: tuple[str, str] = ("communes", "mairies")

#: Columns of ``rail_links.csv`` (:meth:`MetropolitanAccess.link_table`).
RAIL_LINK_COLUMNS: tuple[str, ...] = (
    "station",
    "uic",
    "pole_key",
    "pole",
    "minutes",
    "trains_per_weekday",
    "transfer_min",
    "source",
    "url",
    "vintage",
    "note",
)

#: Value of the ``mode`` columns of the population table.
POPULATION_MODES: dict[str, str] = {"voiture": "time_{key}_min", "meilleur": "time_{key}_best_min"}


def time_column(key: str, kind: str = "") -> str:
    """Column of the time to a pole: ``time_<key>_min``, ``time_<key>_<kind>_min``."""
    return f"time_{key}_{kind}_min" if kind else f"time_{key}_min"


@dataclass(frozen=True, eq=False)
class MetroRouting:
    """What a rail scenario reuses: the network, the origins and their drive times.

    Attributes
    ----------
    onet : ODNetwork
        The routing structure of the poles' network.
    rule : SnapRule
        The snapping rule.
    origins : GeoDataFrame
        Town halls (index = commune code) with ``delay_s``, ``population``, ``in_study``.
    road : DataFrame
        Drive minutes, origins × pole keys.
    station_minutes : DataFrame
        Drive minutes, origins × station ids.
    stations : GeoDataFrame
        Stations of the links (``name``, ``code``), index = station id.
    """

    onet: ODNetwork
    rule: SnapRule
    origins: gpd.GeoDataFrame
    road: pd.DataFrame
    station_minutes: pd.DataFrame
    stations: gpd.GeoDataFrame


@dataclass(frozen=True)
class MetroScenario:
    """The metropolitan reach under a rail scenario, and what changes.

    Attributes
    ----------
    label : str
        French name of the scenario.
    links : tuple of RailLink
        Rail links after the edits.
    table : DataFrame
        As :attr:`MetropolitanAccess.table`.
    population : DataFrame
        As :attr:`MetropolitanAccess.population`.
    corridor : DataFrame
        Time columns of the corridor communes (index = code).
    changes : DataFrame
        Per study commune: ``code``, ``nom``, ``population``, ``epci``, ``epci_nom``, the best
        time to any metropole before and after, its change (negative = faster), and
        ``newly_within_<key>`` / ``newly_within_metropole`` (now within the reference time).
    epci : DataFrame
        Per EPCI: population newly within the reference time of each metropole and of any.
    stations : GeoDataFrame
        Stations of the scenario's links (new stations included), index = station id.
    """

    label: str
    links: tuple[RailLink, ...]
    table: pd.DataFrame
    population: pd.DataFrame
    corridor: pd.DataFrame
    changes: pd.DataFrame
    epci: pd.DataFrame
    stations: gpd.GeoDataFrame


@dataclass(frozen=True)
class MetropolitanAccess:
    """Result of the metropolitan reach (part of the accessibility stage).

    Attributes
    ----------
    spec : MetroSpec
        Poles, links, scenarios and settings.
    table : DataFrame
        Commune columns (see the module docstring), aligned on the study rows.
    population : DataFrame
        Long table: ``level`` (``departement``, ``epci``), ``code``, ``nom``, ``pole``,
        ``pole_nom``, ``mode`` (``voiture``, ``meilleur``), ``threshold_min``,
        ``population_within``, ``population``, ``share_pct``.
    corridor : GeoDataFrame
        Commune polygons of the corridor map (territory and, with a national commune file,
        every commune between the territory and the metropoles) with ``in_study`` and the
        road, car + train and best times to each metropole.
    links : tuple of RailLink
        Baseline rail links.
    routing : MetroRouting
        Reused by scenarios.
    pole_points : GeoDataFrame
        Town halls of the poles, index = pole key (``code``, ``nom``).
    scenarios : dict
        Named scenario → :class:`MetroScenario` (every ``[scenarios]`` entry).
    network_source : str
        Which network the poles were routed on.
    """

    spec: MetroSpec
    table: pd.DataFrame
    population: pd.DataFrame
    corridor: gpd.GeoDataFrame
    links: tuple[RailLink, ...]
    routing: MetroRouting
    pole_points: gpd.GeoDataFrame
    scenarios: dict[str, MetroScenario] = field(default_factory=dict)
    network_source: str = ""

    def link_table(self, links: Sequence[RailLink] | None = None) -> pd.DataFrame:
        """The rail links as a table (``rail_links.csv``).

        Station, UIC code, pole key and label, train minutes, trains per weekday, the
        transfer margin added to every car + train trip (``transfer_min``), source, url,
        vintage and note: one row per link.
        """
        names = station_names(self.routing.stations)
        poles = {p.key: p.label for p in self.spec.poles}
        transfer = self.spec.transfer_min
        rows = [link_record(link, names, poles, transfer) for link in (links or self.links)]
        return pd.DataFrame(rows, columns=RAIL_LINK_COLUMNS)


# --------------------------------------------------------------------------------------------
# Points
# --------------------------------------------------------------------------------------------


def _sql_in(codes: Sequence[str]) -> str:
    return "code IN (" + ",".join("'" + c.replace("'", "''") + "'" for c in codes) + ")"


def national_points(
    path: Any,
    *,
    codes: Sequence[str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    tolerance_m: float | None = None,
) -> gpd.GeoDataFrame:
    """Communes of the national file as town-hall points, with their polygon and density.

    Only the requested communes are read (``codes``, or those whose polygon meets ``bbox`` in
    Lambert-93). A town hall missing, or farther than the tolerance from its polygon, is
    replaced by a point inside the polygon (the territory's rule).

    Parameters
    ----------
    path : path-like
        GeoPackage with layers ``communes`` (code, nom, dep, population) and ``mairies``.
    codes : sequence of str, optional
        Communes to read.
    bbox : tuple, optional
        ``(minx, miny, maxx, maxy)`` in EPSG:2154.
    tolerance_m : float, optional
        Default ``settings.town_hall_tolerance_m``.

    Returns
    -------
    GeoDataFrame
        Index ``code``; ``nom``, ``dep``, ``population``, ``density`` (inhabitants per km²),
        ``polygon`` (GeoSeries) and the point geometry, EPSG:2154.
    """
    p = require_file(path, "national commune file")
    tol = settings.town_hall_tolerance_m if tolerance_m is None else tolerance_m
    where = None if codes is None else _sql_in(list(codes))
    kw: dict[str, Any] = {"where": where, "bbox": bbox}
    try:
        com = gpd.read_file(
            p, layer=NATIONAL_LAYERS[0], columns=["code", "nom", "dep", "population"], **kw
        )
        halls = gpd.read_file(p, layer=NATIONAL_LAYERS[1], columns=["code"], **kw)
    except Exception as exc:  # pyogrio raises several unrelated types
        raise DataError(f"{p}: cannot read layers {NATIONAL_LAYERS} ({exc})") from exc
    com = com.to_crs(settings.default_crs)
    com = com[com.geometry.notna()].drop_duplicates("code").set_index("code")
    halls = halls.to_crs(settings.default_crs).drop_duplicates("code").set_index("code")
    hall = halls.geometry.reindex(com.index)
    polygons = com.geometry
    far = hall.isna().to_numpy() | (
        shapely.distance(hall.to_numpy(), polygons.to_numpy()) > tol
    ).astype(bool)
    points = np.where(far, shapely.point_on_surface(polygons.to_numpy()), hall.to_numpy())
    population = pd.to_numeric(com["population"], errors="coerce").astype(float)
    out = gpd.GeoDataFrame(
        {
            "nom": com["nom"].astype(str),
            "dep": com["dep"].astype(str),
            "population": population,
            "density": population / (polygons.area / 1e6),
            "polygon": polygons,
        },
        geometry=gpd.GeoSeries(points, index=com.index, crs=settings.default_crs),
        crs=settings.default_crs,
    )
    out.index.name = "code"
    return out


def territory_points(territory: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Town halls of the territory (study and buffer), indexed by code, as :func:`national_points`."""
    t = territory.set_index(territory["code"].astype(str))
    polygons = t.geometry.to_crs(settings.default_crs)
    population = pd.to_numeric(t["population"], errors="coerce").astype(float)
    out = gpd.GeoDataFrame(
        {
            "nom": t["nom"].astype(str),
            "dep": t["dep"].astype(str) if "dep" in t else t["code"].str[:2],
            "population": population,
            "density": population / (polygons.area / 1e6),
            "polygon": polygons,
            "in_study": t["in_study"].astype(bool),
        },
        geometry=gpd.GeoSeries(t["town_hall"], index=t.index, crs=territory.crs).to_crs(
            settings.default_crs
        ),
        crs=settings.default_crs,
    )
    out.index.name = "code"
    return out


def pole_points(
    spec: MetroSpec, places: gpd.GeoDataFrame, national: Any = None
) -> gpd.GeoDataFrame:
    """Town halls of the poles, indexed by pole key (``code``, ``nom``, ``density``).

    Parameters
    ----------
    spec : MetroSpec
        The poles.
    places : GeoDataFrame
        Known communes (:func:`territory_points`, corridor communes).
    national : path-like, optional
        National commune file for the poles not in ``places``.

    Raises
    ------
    DataError
        A pole found nowhere (the message names it).
    """
    missing = [p.code for p in spec.poles if p.code not in places.index]
    found = places
    if missing and national is not None:
        found = pd.concat([places, national_points(national, codes=missing)])
    rows = []
    for p in spec.poles:
        if p.code not in found.index:
            where = "the territory" + ("" if national is None else f" nor in {national}")
            raise DataError(
                f"pole {p.label} ({p.key}, {p.code}) is neither in {where}; set "
                "[metropolitan] communes to the national commune file"
            )
        row = found.loc[p.code]
        rows.append(
            {"key": p.key, "code": p.code, "nom": p.label, "density": row["density"]}
            | {"geometry": row.geometry}
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=settings.default_crs).set_index("key")


# --------------------------------------------------------------------------------------------
# Routing
# --------------------------------------------------------------------------------------------


def metro_network(
    config: StudyConfig, network: Network, split_points: gpd.GeoSeries | None = None
) -> tuple[ODNetwork, str]:
    """The network the poles are routed on, and its description.

    A line layer is read whole (cached arrays, same calibration as the study graph), split
    where the ``split_points`` (the town halls routed) meet it, as the study graph: the
    metropoles lie beyond the study's extent. Any other network is the study graph itself.
    """
    whole = whole_network(config, network, split_points)
    if whole is network:
        return od_network(network), str(network.attrs.get("source", "réseau de l'étude"))
    logger.info("metropolitan reach: routed on the whole line layer")
    return od_network(whole), f"{whole.attrs.get('source', '')} (couche entière)"


def drive_minutes(
    onet: ODNetwork,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame,
    rule: SnapRule,
) -> pd.DataFrame:
    """Drive minutes from every origin (rows) to every destination (columns); NaN unreached.

    Both sides carry ``delay_s`` (dense-commune delay of the calibration, 0 elsewhere).
    """
    table = od_matrix(onet, origins, destinations, snap_rule=rule)
    wide = table.pivot(index="origin", columns="destination", values="minutes")
    return wide.reindex(index=origins.index, columns=destinations.index).astype(float)


def with_delay(points: gpd.GeoDataFrame, onet: ODNetwork) -> gpd.GeoDataFrame:
    """A copy of points with ``delay_s``: the network's dense-commune delay (``density``)."""
    out = points.copy()
    out["delay_s"] = dense_delays(out, onet.attrs)
    return out


def check_poles(
    onet: ODNetwork, poles: gpd.GeoDataFrame, rule: SnapRule, road: pd.DataFrame, study: Any
) -> None:
    """Check that the network reaches every pole from the study.

    Raises
    ------
    NetworkError
        A pole farther than the snapping limit from the network, or reached from no commune
        of the study (``study``: codes of the study communes); the message names it.
    """
    snapped = rule.snap(onet.nodes, poles.geometry, what="poles")
    far = [f"{poles.at[k, 'nom']} ({poles.at[k, 'code']})" for k in poles.index[snapped["too_far"]]]
    if far:
        raise NetworkError(
            f"the road network does not reach pole(s) {format_values(far)}: farther than "
            f"{rule.max_distance_m:.0f} m from it"
        )
    unreached = [k for k in poles.index if road.loc[study, k].isna().all()]
    if unreached:
        names = [f"{poles.at[k, 'nom']} ({poles.at[k, 'code']})" for k in unreached]
        raise NetworkError(
            f"pole(s) {format_values(names)} reached from no commune of the study on the road "
            "network (another component)"
        )


# --------------------------------------------------------------------------------------------
# Indicators
# --------------------------------------------------------------------------------------------


def metro_times(
    spec: MetroSpec, road: pd.DataFrame, rail: pd.DataFrame, rail_station: pd.DataFrame
) -> pd.DataFrame:
    """Road, car + train and best minutes to each pole with car + train columns.

    Parameters
    ----------
    spec : MetroSpec
        The poles.
    road : DataFrame
        Drive minutes, origins × pole keys.
    rail, rail_station : DataFrame
        From :func:`~geoattract.accessibility.rail.rail_times`; their columns are the poles
        written (every metropole, and the other poles a rail link reaches).

    Returns
    -------
    DataFrame
        Per pole ``time_<key>_min``, ``time_<key>_rail_min``, ``rail_station_<key>``,
        ``time_<key>_best_min``, ``mode_<key>``.
    """
    keys = [p.key for p in spec.poles if p.key in rail.columns]
    best, mode = best_of(road[keys], rail[keys])
    out = {}
    for k in keys:
        out[time_column(k)] = road[k]
        out[time_column(k, "rail")] = rail[k]
        out[f"rail_station_{k}"] = rail_station[k]
        out[time_column(k, "best")] = best[k]
        out[f"mode_{k}"] = mode[k]
    return pd.DataFrame(out, index=road.index)


def _nearest(minutes: pd.DataFrame, labels: Mapping[str, str]) -> tuple[pd.Series, pd.Series]:
    """Smallest time over the columns and the label of its column (None where all NaN)."""
    any_time = minutes.notna().any(axis=1)
    best = minutes.min(axis=1)
    which = minutes.fillna(np.inf).idxmin(axis=1).map(labels).where(any_time, None)
    return best, which


def commune_table(
    spec: MetroSpec,
    road: pd.DataFrame,
    rail: pd.DataFrame,
    rail_station: pd.DataFrame,
    names: Mapping[str, str],
) -> pd.DataFrame:
    """Every commune column of the metropolitan reach (see the module docstring).

    Parameters
    ----------
    spec : MetroSpec
        Poles.
    road : DataFrame
        Drive minutes, origins × every pole key.
    rail, rail_station : DataFrame
        Car + train minutes and station id per origin and pole (every metropole and the other
        poles a rail link reaches, :meth:`~geoattract.config.metro.MetroSpec.rail_poles`).
    names : mapping
        Station id → name (``rail_station_<key>`` holds names).

    Returns
    -------
    DataFrame
        Indexed like ``road``.
    """
    out = metro_times(spec, road, rail, rail_station)
    for k in rail.columns:
        col = f"rail_station_{k}"
        out[col] = out[col].map(lambda s: names.get(s, s) if isinstance(s, str) else None)
    metro = {p.key: p.label for p in spec.metropoles}
    out["time_nearest_metropole_min"], out["nearest_metropole"] = _nearest(road[list(metro)], metro)
    best = out[[time_column(k, "best") for k in metro]].set_axis(list(metro), axis=1)
    out["time_metropole_best_min"], out["metropole_best"] = _nearest(best, metro)
    modes = out[[f"mode_{k}" for k in metro]].set_axis(list(metro), axis=1)
    values, finite = modes.to_numpy(dtype=object), np.isfinite(best.to_numpy(dtype=float))
    pick = np.argmin(np.where(finite, best.to_numpy(dtype=float), np.inf), axis=1)
    rows = np.arange(len(best))
    chosen = values[rows, pick]
    chosen[~finite[rows, pick]] = None
    out["metropole_best_mode"] = chosen
    regional = {p.key: p for p in spec.regional}
    if regional:
        # the faster of road and car + train where a rail link reaches the town (Agen)
        times = pd.DataFrame(
            {k: out[time_column(k, "best")] if k in rail.columns else road[k] for k in regional},
            index=road.index,
        )
        t, key = _nearest(times, {k: k for k in regional})
        out["regional_pole_code"] = key.map(lambda k: regional[k].code if k else None)
        out["regional_pole_nom"] = key.map(lambda k: regional[k].label if k else None)
        out["time_regional_pole_min"] = t
        regional_modes: list[object] = [
            (out.at[i, f"mode_{k}"] if k in rail.columns else MODE_ROAD) if k else None
            for i, k in zip(out.index, key, strict=True)
        ]
        out["regional_pole_mode"] = pd.Series(regional_modes, index=out.index, dtype=object)
    return out


def population_within(
    minutes: pd.DataFrame,
    population: pd.Series,
    groups: pd.Series,
    thresholds: Sequence[float],
) -> pd.DataFrame:
    """Population of each group within each threshold of each column's destination.

    Parameters
    ----------
    minutes : DataFrame
        Minutes per commune (rows) and destination (columns); NaN counts as beyond reach.
    population : Series
        Population per commune (same index).
    groups : Series
        Group code per commune (same index).
    thresholds : sequence of float
        Minutes; a commune at exactly the threshold is within it.

    Returns
    -------
    DataFrame
        ``group``, ``pole``, ``threshold_min``, ``population_within``, ``population``,
        ``share_pct``; one row per group, column and threshold.
    """
    pop = pd.to_numeric(population, errors="coerce").fillna(0.0)
    total = pop.groupby(groups).sum().to_dict()
    rows = []
    for pole in minutes.columns:
        for t in thresholds:
            within = (pop * (minutes[pole] <= t)).groupby(groups).sum()
            for g, n in within.items():
                rows.append(
                    {
                        "group": g,
                        "pole": pole,
                        "threshold_min": t,
                        "population_within": float(n),
                        "population": float(total[g]),
                    }
                )
    out = pd.DataFrame(rows)
    out["share_pct"] = (
        100.0 * out["population_within"] / out["population"].where(out["population"] > 0)
    )
    return out


def population_table(spec: MetroSpec, table: pd.DataFrame, study: pd.DataFrame) -> pd.DataFrame:
    """Population within reach of each metropole per département and EPCI, by road and best mode.

    Parameters
    ----------
    spec : MetroSpec
        Metropoles and thresholds.
    table : DataFrame
        :func:`commune_table` of the study communes.
    study : DataFrame
        Study communes aligned on ``table`` (``population``, ``dep``, ``epci``, ``epci_nom``).

    Returns
    -------
    DataFrame
        See :attr:`MetropolitanAccess.population`.
    """
    levels = {
        "departement": (study["dep"], study["dep"]),
        "epci": (study["epci"], study["epci_nom"]),
    }
    labels = {p.key: p.label for p in spec.metropoles}
    parts = []
    for mode, pattern in POPULATION_MODES.items():
        minutes = pd.DataFrame({k: table[pattern.format(key=k)] for k in labels}, index=table.index)
        for level, (code, name) in levels.items():
            part = population_within(
                minutes, study["population"], code.astype(str), spec.thresholds_min
            )
            names = dict(zip(code.astype(str), name.astype(str), strict=True))
            part.insert(0, "level", level)
            part.insert(2, "nom", part["group"].map(names))
            part.insert(4, "pole_nom", part["pole"].map(labels))
            part.insert(5, "mode", mode)
            parts.append(part.rename(columns={"group": "code"}))
    return pd.concat(parts, ignore_index=True)


def metro_columns_info(spec: MetroSpec, network: str = "") -> dict[str, tuple[str, str, str, str]]:
    """Column → (French label, unit, definition, source) of the metropolitan columns.

    Parameters
    ----------
    spec : MetroSpec
        Poles (their French labels), the poles a rail link reaches and the transfer time.
    network : str
        Description of the road network, for the source field.

    Returns
    -------
    dict
        Every column :func:`commune_table` writes.
    """
    road = f"calcul geoattract sur le réseau {network}".strip() if network else "calcul geoattract"
    rail = f"{road} ; horaires publiés des liaisons ferroviaires (rail_links.csv, rapport)"
    transfer = f"{spec.transfer_min:g}".replace(".", ",")
    out: dict[str, tuple[str, str, str, str]] = {}
    for p in spec.rail_poles():
        name, k = p.label, p.key
        out[time_column(k)] = (
            f"Temps d'accès à {name} en voiture",
            "min",
            f"Temps de trajet en voiture de la mairie à la mairie de {name}.",
            road,
        )
        out[time_column(k, "rail")] = (
            f"Temps porte-à-porte à {name} en voiture + train",
            "min",
            f"Voiture de la mairie à la gare, {transfer} min de marge de correspondance "
            "(stationnement, accès au quai, montée ; sans attente d'horaire), puis le train "
            f"direct le plus rapide publié jusqu'à la gare de {name} ; meilleure des liaisons. "
            "Vide sans liaison.",
            rail,
        )
        out[f"rail_station_{k}"] = (
            f"Gare utilisée vers {name}",
            "",
            f"Gare du trajet voiture + train le plus rapide vers {name}.",
            rail,
        )
        out[time_column(k, "best")] = (
            f"Temps porte-à-porte à {name} (mode le plus rapide)",
            "min",
            f"Le plus court des temps vers {name} en voiture et en voiture + train.",
            rail,
        )
        out[f"mode_{k}"] = (
            f"Mode le plus rapide vers {name}",
            "",
            "« voiture » ou « voiture + train ».",
            rail,
        )
    names = " ou ".join(p.label for p in spec.metropoles)
    out["time_nearest_metropole_min"] = (
        "Temps d'accès à la métropole la plus proche en voiture",
        "min",
        f"Le plus court des temps en voiture vers {names}.",
        road,
    )
    out["nearest_metropole"] = (
        "Métropole la plus proche en voiture",
        "",
        f"{names} : la plus proche en voiture.",
        road,
    )
    out["time_metropole_best_min"] = (
        "Temps porte-à-porte à la métropole la plus proche",
        "min",
        f"Le plus court des temps vers {names}, en voiture ou en voiture + train.",
        rail,
    )
    out["metropole_best"] = (
        "Métropole la plus proche (tous modes)",
        "",
        f"{names} : la plus proche porte à porte, en voiture ou en voiture + train.",
        rail,
    )
    out["metropole_best_mode"] = (
        "Mode le plus rapide vers la métropole la plus proche",
        "",
        "« voiture » ou « voiture + train ».",
        rail,
    )
    regional = ", ".join(p.label for p in spec.regional)
    by_rail = [p.label for p in spec.rail_poles() if p.role == "regional"]
    how = (
        "en voiture, ou en voiture + train quand une liaison ferroviaire y mène plus vite "
        f"({', '.join(by_rail)})"
        if by_rail
        else "en voiture"
    )
    source = rail if by_rail else road
    out["regional_pole_code"] = (
        "Code du pôle régional le plus proche",
        "",
        f"Code INSEE du pôle régional le plus proche {how} ({regional}).",
        source,
    )
    out["regional_pole_nom"] = (
        "Pôle régional le plus proche",
        "",
        f"Pôle régional le plus proche {how} ({regional}).",
        source,
    )
    out["time_regional_pole_min"] = (
        "Temps d'accès au pôle régional le plus proche",
        "min",
        f"Temps porte-à-porte de la mairie au pôle régional le plus proche, {how}.",
        source,
    )
    out["regional_pole_mode"] = (
        "Mode vers le pôle régional le plus proche",
        "",
        "« voiture » ou « voiture + train ».",
        source,
    )
    return out
