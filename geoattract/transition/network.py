"""EV charging and rail access through the road network.

Two point layers are read through the source adapters of the registry
(:class:`~geoattract.transition.registry.EvChargingSource`,
:class:`~geoattract.transition.registry.RailSource`):

* :func:`ev_charging_points`: charging stations with their number of charging points and the
  code of the commune containing them (spatial join: the usual files carry no commune code);
* :func:`train_stations`: passenger stations with a ridership-based ``service_weight``.

:func:`network_indicators` then routes from every study town hall to these points, snapped
with the accessibility stage's own rule, and gives per commune the time to the nearest
charging station and passenger station, the charging points within a threshold and a rail
service level.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract import settings
from geoattract._util.io import read_csv, read_vector
from geoattract.config.metro import uic_code
from geoattract.errors import DataError, format_values
from geoattract.facilities import Catalogue
from geoattract.transition.registry import EvChargingSource, RailSource
from geoattract.transition.report import data_folder
from geoattract.transition.tables import numeric_values

logger = logging.getLogger(__name__)

#: Two records of the same charging-station id closer than this (metres) are one station
#: listed twice (charging-station files often have one row per charging point or per operator
#: declaration); farther apart they are kept as distinct places and reported.
EV_DUPLICATE_TOLERANCE_M = 50.0

#: Default threshold of the EV charging-point count, minutes.
EV_THRESHOLD_MIN = 15

#: Default catchment of the rail service indicator, minutes (a station farther away adds
#: nothing).
RAIL_CATCHMENT_MIN = 45

#: Columns of :func:`train_stations`, in order.
STATION_COLUMNS = (
    "uic",
    "name",
    "code",
    "dep",
    "drg_segment",
    "segment_weight",
    "active",
    "ridership",
    "ridership_missing",
    "service_weight",
    "geometry",
)


class SnappedInputs(Protocol):
    """What :func:`network_indicators` needs of the accessibility inputs.

    :class:`geoattract.accessibility.AccessibilityInputs` provides it: the routing structure
    ``rg``, the territory rows ``communes`` with ``in_study``, ``node``, ``snap_s`` and
    ``too_far``, and ``snap``, which snaps more points with the stage's own snapping rule.
    """

    @property
    def rg(self) -> Any:
        """Routing structure (:class:`geoattract.routing.RoutingGraph`)."""
        ...

    @property
    def communes(self) -> pd.DataFrame:
        """Territory rows with ``in_study``, ``node``, ``snap_s``, ``too_far``."""
        ...

    @property
    def catalogue(self) -> Any:
        """The study's catalogue (its station category declares the stations)."""
        ...

    def snap(self, points: Any, *, ids: Any = None, what: str = "point(s)") -> pd.DataFrame:
        """Snap points (``node``, ``snap_distance_m``, ``snap_time_s``, ``too_far``)."""
        ...


@dataclass(frozen=True)
class TransitionParams:
    """Settings of the network indicators (the study's ``[transition]`` section).

    Attributes
    ----------
    ev_threshold_min : float
        Threshold of ``tr_ev_points_<threshold>min``.
    rail_catchment_min : float
        Catchment of ``tr_rail_service``.
    ev_category, rail_category : str, optional
        Catalogue categories whose scenario edits also move the EV and rail indicators
        (``category`` of the registry's ``[ev_charging]`` and ``[rail]``).
    """

    ev_threshold_min: float = EV_THRESHOLD_MIN
    rail_catchment_min: float = RAIL_CATCHMENT_MIN
    ev_category: str | None = None
    rail_category: str | None = None


# --------------------------------------------------------------------------------------------
# EV charging stations
# --------------------------------------------------------------------------------------------


def _commune_polygons(communes: gpd.GeoDataFrame, crs: Any) -> gpd.GeoDataFrame:
    if "code" not in communes.columns:
        raise DataError(
            f"communes: missing column 'code'; available: {format_values(communes.columns, limit=40)}"
        )
    if communes.crs is None:
        raise DataError("communes have no CRS")
    polys = communes[["code", communes.geometry.name]].to_crs(crs)
    polys["code"] = polys["code"].astype(str)
    return polys.rename_geometry("geometry") if polys.geometry.name != "geometry" else polys


def _attach_code(points: gpd.GeoDataFrame, polys: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    joined = gpd.sjoin(points, polys[["code", "geometry"]], how="left", predicate="intersects")
    return joined[~joined.index.duplicated(keep="first")].drop(columns="index_right")


def _dedupe_stations(pts: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[str], list[str]]:
    drop: list[int] = []
    dropped: list[str] = []
    apart: list[str] = []
    power = pts["power_kw"].to_numpy().copy()
    dup_ids = pts["station_id"][pts["station_id"].duplicated(keep=False)].unique()
    for sid in dup_ids:
        rows = np.flatnonzero(pts["station_id"].to_numpy() == sid)
        kept: list[int] = []
        for r in rows:
            g = pts.geometry.iloc[r]
            near = [k for k in kept if g.distance(pts.geometry.iloc[k]) <= EV_DUPLICATE_TOLERANCE_M]
            if near:
                drop.append(int(r))
                dropped.append(sid)
                power[near[0]] = np.fmax(power[near[0]], power[r])
            else:
                kept.append(int(r))
        if len(kept) > 1:
            apart.append(sid)
    out = pts.copy()
    out["power_kw"] = power
    out = out.drop(index=out.index[drop])
    return out, sorted(dropped), sorted(apart)


def _read_charging_records(source: EvChargingSource, path: Path, crs: Any) -> gpd.GeoDataFrame:
    cols = [source.id_column, source.points_column, source.power_column]
    raw = read_vector(path, columns=cols)
    n_pdc = pd.to_numeric(raw[source.points_column], errors="coerce")
    bad = raw.loc[n_pdc.isna() | (n_pdc < 1) | (n_pdc != n_pdc.round()), source.points_column]
    if len(bad):
        raise DataError(
            f"{path}: column {source.points_column!r} must hold positive integers; bad value(s): "
            f"{format_values(sorted(set(map(str, bad))))}"
        )
    power = pd.to_numeric(raw[source.power_column], errors="coerce") / source.power_per_kw
    return gpd.GeoDataFrame(
        {
            "station_id": raw[source.id_column].astype(str).to_numpy(),
            "nbre_pdc": n_pdc.astype("int64").to_numpy(),
            "power_kw": power.to_numpy(),
        },
        geometry=raw.geometry.to_crs(crs).to_numpy(),
        crs=crs,
    )


def ev_charging_points(
    source: EvChargingSource,
    data_dir: str | os.PathLike,
    communes: gpd.GeoDataFrame,
    *,
    crs: Any = settings.default_crs,
) -> gpd.GeoDataFrame:
    """EV charging stations with their capacity and commune code, for the routing stage.

    Each station is joined spatially to the commune polygon that contains it. Records sharing
    a station id within :data:`EV_DUPLICATE_TOLERANCE_M` of each other are one station listed
    twice: the first is kept (with the highest power of the duplicates), the others are
    dropped and reported. Records sharing an id farther apart are kept and reported (a
    coordinate error in one of them is likely).

    Parameters
    ----------
    source : EvChargingSource
        The file and its columns (``[ev_charging]`` of the registry).
    data_dir : path-like
        Data folder ``source.file`` is relative to.
    communes : GeoDataFrame
        Commune polygons with a ``code`` column (the study territory, buffer included).
    crs : CRS-like
        Output CRS (default EPSG:2154).

    Returns
    -------
    GeoDataFrame
        Columns ``station_id``, ``nbre_pdc`` (int, number of charging points),
        ``power_kw`` (float, nominal power), ``code`` (INSEE code of the commune containing
        the station; NaN outside every polygon), ``code_missing`` and point ``geometry``.
        ``attrs["report"]`` holds ``duplicates_dropped``, ``same_id_apart`` and
        ``outside_communes`` (station ids).

    Raises
    ------
    DataNotFoundError
        The file does not exist.
    DataError
        Missing columns, or a number of charging points that is not a positive integer.
    """
    src = data_folder(data_dir) / source.file
    pts = _read_charging_records(source, src, crs)
    pts, dropped, apart = _dedupe_stations(pts)
    if dropped:
        logger.info(
            "%s: %d duplicate record(s) of the same station dropped: %s",
            src,
            len(dropped),
            format_values(dropped),
        )
    if apart:
        logger.info(
            "%s: station id(s) listed at several places more than %.0f m apart (kept): %s",
            src,
            EV_DUPLICATE_TOLERANCE_M,
            format_values(apart),
        )
    pts = _attach_code(pts, _commune_polygons(communes, crs))
    pts["code_missing"] = pts["code"].isna()
    outside = sorted(pts.loc[pts["code_missing"], "station_id"])
    if outside:
        logger.info("%s: %d station(s) outside every commune polygon (code NaN)", src, len(outside))
    pts = pts[
        ["station_id", "nbre_pdc", "power_kw", "code", "code_missing", "geometry"]
    ].reset_index(drop=True)
    pts.attrs["report"] = {
        "duplicates_dropped": dropped,
        "same_id_apart": apart,
        "outside_communes": outside,
    }
    return pts


# --------------------------------------------------------------------------------------------
# Passenger stations
# --------------------------------------------------------------------------------------------


def _uic8(codes: pd.Series, src: Path, column: str) -> pd.Series:
    """Station ids of UIC codes (``0087586008`` and ``87586008`` → ``87586008``).

    The conversion is :func:`geoattract.config.metro.uic_code`, the rule of the rail links;
    a value that is not a French UIC code (1 to 10 digits, ``00`` once padded to 10) is an
    error naming it.
    """
    text = codes.astype(str).str.strip()
    padded = text.str.zfill(10)
    bad = text[~text.str.fullmatch(r"\d{1,10}") | (padded.str[:2] != "00")]
    if len(bad):
        raise DataError(
            f"{src}: column {column!r} holds value(s) that are not UIC codes: {format_values(sorted(set(bad)))}"
        )
    return text.map(uic_code)


def _ridership(source: RailSource, path: Path, year: int | None) -> tuple[pd.Series, pd.Series]:
    """Passengers by 8-digit UIC code, and every UIC code of the ridership table."""
    riders_col = source.passengers_column(year)
    table = read_csv(path, columns=[riders_col], code_columns=[source.ridership_uic_column])
    uic = _uic8(table[source.ridership_uic_column], path, source.ridership_uic_column)
    dup = uic[uic.duplicated(keep=False)]
    if len(dup):
        raise DataError(f"{path}: duplicate UIC codes {format_values(sorted(set(dup)))}")
    values = numeric_values(table[riders_col], path, riders_col)
    return pd.Series(values.to_numpy(), index=uic.to_numpy()), uic


def _report_stations(
    out: gpd.GeoDataFrame, rd_uic: pd.Series, st_path: Path, rd_path: Path
) -> dict[str, list[str]]:
    no_riders = sorted(out.loc[out["ridership_missing"], "uic"])
    only_riders = sorted(set(rd_uic) - set(out["uic"]))
    if no_riders:
        logger.info(
            "%s: %d station(s) without ridership in %s (service_weight NaN): %s",
            st_path,
            len(no_riders),
            rd_path.name,
            format_values(no_riders),
        )
    if only_riders:
        logger.info(
            "%s: %d ridership row(s) match no station of %s: %s",
            rd_path,
            len(only_riders),
            st_path.name,
            format_values(only_riders),
        )
    if out["segment_weight"].isna().any():
        unknown = sorted(set(out.loc[out["segment_weight"].isna(), "drg_segment"]))
        logger.warning(
            "%s: unknown station segment(s) %s (segment_weight NaN)",
            st_path,
            format_values(unknown),
        )
    return {"no_ridership": no_riders, "ridership_only": only_riders}


def train_stations(
    source: RailSource,
    data_dir: str | os.PathLike,
    catalogue: Catalogue,
    *,
    crs: Any = settings.default_crs,
    year: int | None = None,
) -> gpd.GeoDataFrame:
    """Passenger train stations with a ridership-based service weight, for the routing stage.

    The stations are those of the catalogue's station category (``source.category``, their one
    declaration, read by :func:`~geoattract.accessibility.catalogue_stations` with the one UIC
    rule); the ridership table's UIC codes go through the same rule before the join. The
    weight is

    ``service_weight = log10(1 + passengers in `year`)``

    (1.21 million passengers: 6.08; a halt with 5,000: 3.70; no passenger: 0). The logarithm
    keeps a regional hub from drowning every halt while still ranking them.
    ``segment_weight`` is an alternative from the station segment (``source.segment_weights``).

    Parameters
    ----------
    source : RailSource
        The ridership file and the station file's other columns (``[rail]`` of the registry).
    data_dir : path-like
        Data folder the files are relative to.
    catalogue : Catalogue
        The study's catalogue (its ``source.category`` declares the stations).
    crs : CRS-like
        Output CRS (default EPSG:2154).
    year : int, optional
        Ridership year (default ``source.ridership_year``).

    Returns
    -------
    GeoDataFrame
        Columns :data:`STATION_COLUMNS`: ``uic`` (8 digits), ``name``, ``code`` (INSEE
        commune), ``dep``, ``drg_segment``, ``segment_weight``, ``active`` (False when the
        station has an end-of-validity date), ``ridership`` (passengers in ``year``; NaN when
        the station has no ridership row), ``ridership_missing``, ``service_weight`` (NaN when
        ridership is missing) and point ``geometry``. ``attrs["report"]`` lists
        ``no_ridership`` (station UICs) and ``ridership_only`` (ridership UICs with no
        station).

    Raises
    ------
    DataNotFoundError
        A file does not exist.
    DataError
        Missing columns (the message lists the available ones, e.g. another ridership year),
        malformed UIC codes or duplicate UIC codes in the ridership file.
    """
    from geoattract.accessibility import catalogue_stations

    ddir = data_folder(data_dir)
    rd_path = ddir / source.ridership_file
    extra = [source.dep_column, source.segment_column, source.closed_column]
    stations = catalogue_stations(catalogue, source.category, ddir, columns=extra)
    st_path = Path(f"{source.category} stations")
    riders, rd_uic = _ridership(source, rd_path, year)
    out = gpd.GeoDataFrame(
        {
            "uic": stations.index.to_numpy(),
            "name": stations["name"].astype(str).to_numpy(),
            "code": stations["code"].astype(str).to_numpy(),
            "dep": stations[source.dep_column].astype(str).to_numpy(),
            "drg_segment": stations[source.segment_column].astype(str).str.upper().to_numpy(),
        },
        geometry=stations.geometry.to_crs(crs).to_numpy(),
        crs=crs,
    )
    out["segment_weight"] = out["drg_segment"].map(source.segment_weights).astype("float64")
    out["active"] = pd.isna(stations[source.closed_column]).to_numpy()
    out["ridership"] = out["uic"].map(riders).astype("float64")
    out["ridership_missing"] = out["ridership"].isna()
    out["service_weight"] = np.log10(1.0 + out["ridership"])
    out = out[list(STATION_COLUMNS)]
    out.attrs["report"] = _report_stations(out, rd_uic, st_path, rd_path)
    return out


# --------------------------------------------------------------------------------------------
# Indicators through the road network
# --------------------------------------------------------------------------------------------


def _charging_points(ev: gpd.GeoDataFrame) -> np.ndarray:
    """Charging points per station; a station of unknown size counts as one point (it exists)."""
    pts = ev["nbre_pdc"].to_numpy(float)
    missing = np.isnan(pts)
    if missing.any():
        logger.warning(
            "%d EV station(s) without a number of charging points: counted as 1", int(missing.sum())
        )
    return np.where(missing, 1.0, pts)


def _snapped(
    inputs: SnappedInputs, points: gpd.GeoDataFrame, what: str, id_column: str
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Points of the territory the accessibility stage's rule joins to the network, and their snap.

    Points whose commune is not one of the territory's (outside the study and its buffer) are
    left out before snapping: the road network covers the territory only.
    """
    if "code" in points:
        inside = points["code"].isin(set(inputs.communes["code"])).to_numpy(dtype=bool)
        points = points.loc[inside]
    ids = points[id_column].astype(str).to_numpy() if id_column in points else None
    sn = inputs.snap(points.geometry.to_crs(settings.default_crs), ids=ids, what=what)
    sn.index = points.index
    keep = ~sn["too_far"].to_numpy(bool)
    return points.loc[keep], sn.loc[keep]


def _rail_service(
    inputs: SnappedInputs,
    ok: pd.DataFrame,
    st: gpd.GeoDataFrame,
    st_sn: pd.DataFrame,
    catchment_min: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Best decayed service weight per origin, and whether a station of unknown weight was in reach.

    A station of unknown ridership (closed, or missing from the ridership table) adds no
    service level: it still counts for the nearest-station time, and the commune's rail
    service is flagged partial.
    """
    from geoattract.routing import reach

    table = reach(
        inputs.rg,
        ok["node"].to_numpy(),
        st_sn["node"].to_numpy(),
        catchment_min * 60.0,
        origin_offsets=ok["snap_s"].to_numpy(float),
        target_offsets=st_sn["snap_time_s"].to_numpy(float),
    )
    weight = st["service_weight"].to_numpy(float)
    unknown = np.isnan(weight)
    weight = np.where(unknown, 0.0, weight)
    value = weight[table.target] * np.clip(1.0 - table.time / (catchment_min * 60.0), 0.0, 1.0)
    best = np.zeros(len(ok))
    np.maximum.at(best, table.origin, value)
    partial = np.zeros(len(ok), bool)
    partial[table.origin[unknown[table.target]]] = True
    return best, partial


def network_indicators(
    inputs: SnappedInputs,
    ev_points: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    *,
    ev_threshold_min: float = EV_THRESHOLD_MIN,
    rail_catchment_min: float = RAIL_CATCHMENT_MIN,
) -> pd.DataFrame:
    """EV charging and rail indicators per study commune, through the road network.

    Parameters
    ----------
    inputs : SnappedInputs
        The accessibility inputs (``Accessibility.inputs``): snapped town halls, the routing
        structure and the snapping rule.
    ev_points : GeoDataFrame
        From :func:`ev_charging_points` (``nbre_pdc`` charging points per station).
    stations : GeoDataFrame
        From :func:`train_stations` (``service_weight``, ``active``).
    ev_threshold_min : float
        Threshold of ``tr_ev_points_<threshold>min``.
    rail_catchment_min : float
        Catchment of ``tr_rail_service`` (linear decay to 0 at this time).

    Returns
    -------
    DataFrame
        Indexed like the study rows: ``tr_ev_time_min`` (nearest charging station),
        ``tr_ev_points_<threshold>min`` (charging points within the threshold),
        ``tr_rail_time_min`` (nearest active passenger station), ``tr_rail_service`` (best
        ``service_weight × (1 - t / catchment)`` over the stations within the catchment: a
        busy station a little farther beats a halt next door; 0 when none), their
        ``_missing`` flags (town hall not snapped, or nothing reachable) and
        ``tr_rail_service_partial`` (a station of unknown ridership was within reach).
    """
    from geoattract.routing import facility_access

    com = inputs.communes
    study = com[com["in_study"]]
    ok = study[~study["too_far"]]
    out = pd.DataFrame(index=study.index)
    ev, ev_sn = _snapped(inputs, ev_points, "EV charging stations", "station_id")
    st = (
        stations[stations["active"].fillna(True).astype(bool)] if "active" in stations else stations
    )
    st, st_sn = _snapped(inputs, st, "railway stations", "name")
    specs = {
        "ev": (
            ev_sn["node"].to_numpy(),
            _charging_points(ev),
            ev_sn["snap_time_s"].to_numpy(float),
        ),
        "rail": (st_sn["node"].to_numpy(), None, st_sn["snap_time_s"].to_numpy(float)),
    }
    acc = facility_access(
        inputs.rg,
        ok["node"].to_numpy(),
        specs,
        [ev_threshold_min * 60.0],
        origin_offsets=ok["snap_s"].to_numpy(float),
    )
    for name, col in (("ev", "tr_ev_time_min"), ("rail", "tr_rail_time_min")):
        t = pd.Series(acc.nearest_s[name] / 60.0, index=ok.index).reindex(study.index)
        t[~np.isfinite(t)] = np.nan
        out[col] = t
        out[f"{col}_missing"] = t.isna()
    points_col = f"tr_ev_points_{int(ev_threshold_min)}min"
    out[points_col] = pd.Series(acc.counts["ev"][:, 0], index=ok.index).reindex(study.index)
    out[f"{points_col}_missing"] = out[points_col].isna()
    best, partial = _rail_service(inputs, ok, st, st_sn, rail_catchment_min)
    out["tr_rail_service"] = pd.Series(best, index=ok.index).reindex(study.index)
    out["tr_rail_service_missing"] = out["tr_rail_service"].isna()
    out["tr_rail_service_partial"] = (
        pd.Series(partial, index=ok.index).reindex(study.index).fillna(False)
    )
    return out
