"""Drive times to the study's administrative places: Paris, the préfectures, the regional capitals.

A study lists its places in ``[configs] places`` (the France study: ``places.toml``, by commune
code: ``[places] paris``, ``[prefectures]`` per département, ``[regional_capitals]`` per
region). Every commune gets its drive time to Paris, to the nearest préfecture and to the
capital of its own region: one search per set of places on the whole network, reversed from
the places (their access leg included), with the commune's own legs (access and
dense-commune delay) at the other end. A commune times to itself as 0; a commune on an island
has no road to the mainland (``unreachable_<place>``, NaN time).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract.accessibility.inputs import AccessibilityInputs, snap_town_halls
from geoattract.config import StudyConfig, load_toml
from geoattract.errors import ConfigError, DataError, format_values
from geoattract.network.load import whole_network

logger = logging.getLogger(__name__)

#: The tables a places file needs.
PLACE_TABLES: tuple[str, ...] = ("places", "prefectures", "regional_capitals")


def load_places(config: StudyConfig) -> dict[str, Any] | None:
    """The ``[configs] places`` table of a study (None when it lists none).

    Raises
    ------
    ConfigError
        A places file without the three tables or without ``[places] paris``.
    """
    if not config.raw.get("configs", {}).get("places"):
        return None
    doc = load_toml(config.config_file("places"))
    missing = [k for k in PLACE_TABLES if k not in doc]
    if missing or "paris" not in doc.get("places", {}):
        raise ConfigError(
            f"{config.config_file('places')}: needs [places] paris, [prefectures] and "
            f"[regional_capitals]; missing {format_values(missing or ['places.paris'])}"
        )
    return doc


def _place_points(
    config: StudyConfig, territory: gpd.GeoDataFrame, codes: list[str]
) -> gpd.GeoSeries:
    """Town halls of the places: from the territory, else from the national commune file."""
    halls = pd.Series(territory["town_hall"].to_numpy(), index=territory["code"].astype(str))
    missing = sorted(set(codes) - set(halls.index))
    if missing:
        from geoattract.territory.national import read_national_communes

        path = Path(config.territory.communes_file)
        path = path if path.is_absolute() else config.data_dir / path
        table = read_national_communes(path).table.to_crs(territory.crs)
        unknown = sorted(set(missing) - set(table.index))
        if unknown:
            raise DataError(f"{path}: places not in the national commune file: {unknown}")
        halls = pd.concat([halls, table.geometry.reindex(missing)])
    return gpd.GeoSeries(halls.reindex(codes).to_numpy(), index=codes, crs=territory.crs)


def place_times(
    config: StudyConfig, territory: gpd.GeoDataFrame, inputs: AccessibilityInputs
) -> pd.DataFrame | None:
    """Drive minutes to Paris, to the nearest préfecture and to the regional capital.

    Parameters
    ----------
    config : StudyConfig
        The study (``[configs] places``).
    territory : GeoDataFrame
        Study and buffer communes (``code``, ``town_hall``, ``region`` for the capitals).
    inputs : AccessibilityInputs
        The snapped town halls and the network.

    Returns
    -------
    DataFrame or None
        On the study rows: ``time_paris_min``, ``time_prefecture_min``,
        ``time_regional_capital_min`` and their ``unreachable_<place>`` flags; None when the
        study lists no places.
    """
    from geoattract.routing import nearest_facility_times, network_routing_graph

    places = load_places(config)
    if places is None:
        return None
    if inputs.network is None:
        raise DataError("place_times: the inputs carry no network to snap the places to")
    wanted = sorted(
        {
            places["places"]["paris"],
            *places["prefectures"].values(),
            *places["regional_capitals"].values(),
        }
    )
    points = _place_points(config, territory, wanted)
    # places beyond the territory (Paris) are routed on the whole layer, split at the
    # territory's town halls and the places' as the study's network is at the territory's
    halls = gpd.GeoSeries(territory["town_hall"].to_numpy(), crs=territory.crs)
    network = whole_network(config, inputs.network, pd.concat([halls, points], ignore_index=True))
    if network is inputs.network:
        com, rg = inputs.communes, inputs.rg
    else:
        com = snap_town_halls(network, territory, network.snap_rule)
        rg = network_routing_graph(network)
    study = com[com["in_study"].astype(bool)]
    ok_rows = study[~study["too_far"].astype(bool)]
    codes = study["code"].astype(str).to_numpy()
    snap = network.snap(points, what="places")
    ok = ~snap["too_far"].to_numpy(dtype=bool)
    node = dict(zip(snap.index[ok], snap["node"].to_numpy()[ok].tolist(), strict=True))
    offset = dict(
        zip(snap.index[ok], snap["snap_time_s"].to_numpy(float)[ok].tolist(), strict=True)
    )
    position = study.index.get_indexer(ok_rows.index)

    def times_to(targets: list[str]) -> np.ndarray:
        targets = [c for c in targets if c in node]
        out = np.full(len(study), np.nan)
        if not targets:
            return out
        t = nearest_facility_times(
            rg,
            [node[c] for c in targets],
            facility_offsets=[offset[c] for c in targets],
            origins=ok_rows["node"].to_numpy(),
        )
        assert isinstance(t, np.ndarray)
        t = (t + ok_rows["snap_s"].to_numpy(dtype=float)) / 60.0
        out[position] = np.where(np.isfinite(t), t, np.nan)
        out[np.isin(codes, targets)] = 0.0
        return out

    table = pd.DataFrame(index=study.index)
    table["time_paris_min"] = times_to([places["places"]["paris"]])
    table["time_prefecture_min"] = times_to(list(places["prefectures"].values()))
    regional = np.full(len(study), np.nan)
    region = (
        territory.loc[study.index, "region"].astype(str).to_numpy()
        if "region" in territory
        else np.array([], dtype=str)
    )
    for reg, code in places["regional_capitals"].items():
        mask = region == reg
        if mask.any():
            regional[mask] = times_to([code])[mask]
    table["time_regional_capital_min"] = regional
    snapped = ~study["too_far"].to_numpy(dtype=bool)
    for name in ("paris", "prefecture", "regional_capital"):  # an island has no road to Paris
        table[f"unreachable_{name}"] = snapped & table[f"time_{name}_min"].isna().to_numpy()
    return table
