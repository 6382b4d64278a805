"""Car + train to a pole: the stations of the rail links and the door-to-pole time.

A car + train trip from a commune to a pole (a metropole, or a regional town such as Agen) is

``drive to the station (road network, town hall → station) + transfer + train``

where the transfer (``[metropolitan] transfer_min``, 10 min by default) stands for parking,
walking to the platform and boarding a train whose time is known (no timetable wait), and the
train is the link's fastest scheduled direct train to the pole's main station. Over the links
of a pole the fastest trip is kept, with the station it uses. The trip ends at the main
station, the car trip at the town hall of the pole: both are central, no leg inside the pole
is added.

Stations come from the point files of the catalogue category of ``[metropolitan]
station_category``, inside the territory or not; the id column holds the UIC code, turned
into the station id by :func:`geoattract.config.metro.uic_code` (the one rule, shared with the
command line). A scenario may add stations (:class:`~geoattract.config.metro.NewStation`).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract import settings
from geoattract._util.io import read_vector
from geoattract.config.metro import NewStation, RailLink, uic_code
from geoattract.config.study import StudyConfig
from geoattract.errors import DataError, format_values
from geoattract.facilities import Catalogue

logger = logging.getLogger(__name__)


def uic8(values: pd.Series) -> pd.Series:
    """Station ids of a column of UIC codes (:func:`~geoattract.config.metro.uic_code`)."""
    return values.map(uic_code)


def catalogue_stations(
    config: StudyConfig | Catalogue,
    category: str,
    data_dir: str | os.PathLike | None = None,
    columns: Sequence[str] = (),
) -> gpd.GeoDataFrame:
    """The stations of a catalogue category, read from its point files, indexed by UIC code.

    The one reader of the stations: the category's points source is their one declaration
    (file, UIC code, name, commune) and :func:`~geoattract.config.metro.uic_code` their one
    identity rule; the rail links, the rail indicators and the command line's checks all read
    them here. Every station of the files counts, inside the territory or not (a link may
    start from a station beyond the buffer zone).

    Parameters
    ----------
    config : StudyConfig or Catalogue
        The study (its catalogue and data folder), or a catalogue (then ``data_dir``).
    category : str
        Category of the stations (``[metropolitan] station_category``, ``[rail] category``).
    data_dir : path-like, optional
        Data folder of the files (default the study's).
    columns : sequence of str
        More columns of the station files to keep (those a file lacks are NaN).

    Returns
    -------
    GeoDataFrame
        Index ``station`` (8-digit UIC code); ``name``, ``code`` (commune), ``columns`` and
        the point geometry in EPSG:2154; the first row of a duplicated code is kept.

    Raises
    ------
    DataError
        The category is unknown or has no point file with an id column.
    """
    from geoattract.facilities import load_catalogue

    if isinstance(config, StudyConfig):
        catalogue = load_catalogue(config.config_file("catalogue"), check_files=False)
        folder = Path(data_dir) if data_dir is not None else config.data_dir
    else:
        catalogue, folder = config, Path(data_dir or ".")
    if category not in catalogue.ids:
        raise DataError(
            f"station category {category!r} is not a catalogue category; "
            f"categories: {format_values(catalogue.ids, 40)}"
        )
    parts = []
    for src in catalogue[category].sources:
        if src.type != "points" or not src.file or not src.id_column:
            continue
        path = Path(src.file) if Path(src.file).is_absolute() else folder / src.file
        layer = _read_stations(path, (src.id_column, src.name_column, src.code_column, *columns))
        frame = {
            "station": uic8(layer[src.id_column]).to_numpy(),
            "name": layer[src.name_column or src.id_column].astype(str).to_numpy(),
            "code": layer[src.code_column].astype(str).to_numpy() if src.code_column else None,
        }
        frame |= {c: layer[c].to_numpy() if c in layer else np.nan for c in columns}
        parts.append(gpd.GeoDataFrame(frame, geometry=layer.geometry.to_numpy(), crs=layer.crs))
    if not parts:
        raise DataError(f"catalogue category {category!r}: no point file with an id column")
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=settings.default_crs)
    out = out.drop_duplicates("station").set_index("station")
    return out


def _read_stations(path: Path, columns: Sequence[str | None]) -> gpd.GeoDataFrame:
    """A station file in EPSG:2154 with the columns it has of ``columns``.

    Read once per run: a copy of a cached read, keyed by the file's identity.
    """
    stat = path.stat() if path.exists() else None
    key = (str(path), stat.st_mtime_ns if stat else 0, tuple(c for c in columns if c))
    return _cached_stations(*key).copy()


@functools.lru_cache(maxsize=8)
def _cached_stations(path: str, mtime_ns: int, columns: tuple[str, ...]) -> gpd.GeoDataFrame:
    import pyogrio

    have = set(pyogrio.read_info(path)["fields"]) if Path(path).exists() else set(columns)
    wanted = list(dict.fromkeys(c for c in columns if c in have))
    return read_vector(path, columns=wanted).to_crs(settings.default_crs)


def add_stations(
    stations: gpd.GeoDataFrame, new: Sequence[NewStation], town_halls: pd.Series
) -> gpd.GeoDataFrame:
    """Stations plus the new stations of a scenario (at the town hall of their commune).

    Parameters
    ----------
    stations : GeoDataFrame
        From :func:`station_table`.
    new : sequence of NewStation
        Stations to add; ``x``/``y`` (Lambert-93) when given, else the commune's town hall.
    town_halls : Series
        Commune code → town-hall point, in the CRS of ``stations``.

    Raises
    ------
    DataError
        A station id already used, or a commune without town hall.
    """
    if not new:
        return stations
    rows = []
    for s in new:
        if s.id in stations.index:
            raise DataError(f"scenario station {s.id!r}: the id is already a station")
        if s.x is not None and s.y is not None:
            point = gpd.points_from_xy([s.x], [s.y], crs="EPSG:2154").to_crs(stations.crs)[0]
        elif s.commune in town_halls.index:
            point = town_halls[s.commune]
        else:
            raise DataError(
                f"scenario station {s.id!r}: commune {s.commune} has no town hall in the "
                "territory or the corridor; give x and y"
            )
        rows.append({"station": s.id, "name": s.name, "code": s.commune, "geometry": point})
    add = gpd.GeoDataFrame(rows, geometry="geometry", crs=stations.crs).set_index("station")
    return gpd.GeoDataFrame(pd.concat([stations, add]), geometry="geometry", crs=stations.crs)


def rail_times(
    station_minutes: pd.DataFrame,
    links: Sequence[RailLink],
    poles: Sequence[str],
    transfer_min: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Door-to-pole minutes by car + train, and the station used, per origin and pole.

    Parameters
    ----------
    station_minutes : DataFrame
        Drive minutes from each origin (rows) to each station (columns, station ids); NaN
        where a station is not reached.
    links : sequence of RailLink
        Rail links; a link whose station is not a column is an error.
    poles : sequence of str
        Pole keys of the output columns (a pole without link gets NaN).
    transfer_min : float
        Minutes added to every car + train trip.

    Returns
    -------
    (DataFrame, DataFrame)
        ``minutes`` and ``station`` (station id, None without trip), both indexed like
        ``station_minutes`` with one column per pole.

    Raises
    ------
    DataError
        A link names a station that is not a column of ``station_minutes``.
    """
    missing = sorted({link.station for link in links} - set(station_minutes.columns))
    if missing:
        raise DataError(f"rail links: no drive time to station(s) {format_values(missing)}")
    minutes = pd.DataFrame(np.nan, index=station_minutes.index, columns=list(poles))
    station = pd.DataFrame(
        np.full((len(station_minutes), len(poles)), None, dtype=object),
        index=station_minutes.index,
        columns=list(poles),
    )
    for link in links:
        if link.pole not in minutes.columns:
            continue
        trip = station_minutes[link.station] + transfer_min + link.minutes
        better = trip.notna() & ~(trip >= minutes[link.pole])
        minutes.loc[better, link.pole] = trip[better]
        station.loc[better, link.pole] = link.station
    return minutes, station


def best_of(road: pd.DataFrame, rail: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Faster of car and car + train per origin and pole, and the mode (``voiture``…).

    Parameters
    ----------
    road, rail : DataFrame
        Minutes with the same index and columns (NaN: no trip).

    Returns
    -------
    (DataFrame, DataFrame)
        Minutes, and the mode: ``voiture``, ``voiture + train`` (strictly faster) or None
        without any trip.
    """
    rail = rail.reindex_like(road)
    use_rail = rail.notna() & ~(rail >= road)
    best = road.where(~use_rail, rail)
    road_mode = np.full(road.shape, None, dtype=object)
    road_mode[road.notna().to_numpy()] = MODE_ROAD
    mode = pd.DataFrame(
        np.where(use_rail.to_numpy(), MODE_RAIL, road_mode),
        index=road.index,
        columns=road.columns,
    )
    return best, mode


#: Names of the modes in the outputs.
MODE_ROAD = "voiture"
MODE_RAIL = "voiture + train"


def station_names(stations: gpd.GeoDataFrame) -> Mapping[str, str]:
    """Station id → name."""
    return dict(zip(stations.index, stations["name"], strict=True))
