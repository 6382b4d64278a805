"""The transition stage: every indicator of the registry for the study communes.

:func:`transition_indicators` joins the table and raster indicators
(:mod:`~geoattract.transition.tables`, :mod:`~geoattract.transition.rasters`);
:func:`build_transition`, the pipeline's entry point, adds the network indicators
(:mod:`~geoattract.transition.network`) and returns a :class:`TransitionIndicators`.

Output columns are ``tr_<id>`` (pillar "transition") and ``env_<id>`` (pillar
"environment"), each followed by a boolean ``<column>_missing``; nothing is imputed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import geopandas as gpd
import pandas as pd

from geoattract.config.study import StudyConfig
from geoattract.transition.connectivity import (
    Connectivity,
    TeleworkSpec,
    connectivity_indicators,
    load_connectivity,
    telework_index,
)
from geoattract.transition.network import (
    SnappedInputs,
    TransitionParams,
    ev_charging_points,
    network_indicators,
    train_stations,
)
from geoattract.transition.rasters import raster_indicators
from geoattract.transition.registry import Indicator, load_point_sources
from geoattract.transition.report import TransitionReport, indicator_inputs
from geoattract.transition.tables import table_indicators

logger = logging.getLogger(__name__)


class AccessibilityResult(Protocol):
    """What the transition and scoring stages need of the accessibility stage's result.

    :class:`geoattract.accessibility.Accessibility` provides it: ``inputs`` (the snapped
    town halls and facilities, the routing structure, the catalogue and the snapping rule)
    and ``table`` (the accessibility indicators, aligned on the study communes).
    """

    @property
    def inputs(self) -> SnappedInputs:
        """The snapped inputs (:class:`geoattract.accessibility.AccessibilityInputs`)."""
        ...

    @property
    def table(self) -> pd.DataFrame:
        """Accessibility indicators, indexed like the study communes."""
        ...


@dataclass(frozen=True)
class TransitionIndicators:
    """Result of the transition stage.

    Attributes
    ----------
    table : DataFrame
        Indexed like the study communes: the table and raster indicators of the registry
        (registry order, each with its ``_missing`` flag), then the network indicators.
    ev_points : GeoDataFrame
        EV charging stations (:func:`~geoattract.transition.network.ev_charging_points`).
    stations : GeoDataFrame
        Passenger stations (:func:`~geoattract.transition.network.train_stations`).
    params : TransitionParams
        Thresholds of the network indicators and the catalogue categories that move them.
    report : TransitionReport
        What joining the table and raster sources found.
    connectivity : Connectivity, optional
        Fixed broadband per commune and EPCI (``[connectivity]`` of the registry).
    telework : TeleworkSpec, optional
        The telework index (``[telework]``), recomputed by rail scenarios.
    """

    table: pd.DataFrame
    ev_points: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    params: TransitionParams
    report: TransitionReport
    connectivity: Connectivity | None = None
    telework: TeleworkSpec | None = None


def transition_indicators(
    territory: gpd.GeoDataFrame,
    registry: Sequence[Indicator] | str | os.PathLike,
    data_dir: str | os.PathLike,
    *,
    verbose: bool = False,
) -> pd.DataFrame:
    """Every table and raster indicator of the registry for the study communes.

    Parameters
    ----------
    territory : GeoDataFrame
        Study and buffer communes (``code``, ``in_study``).
    registry : list of Indicator or path-like
        The indicators, or the registry file.
    data_dir : path-like
        Data folder the source paths are relative to.
    verbose : bool
        Progress bars.

    Returns
    -------
    DataFrame
        Indexed like the study rows of ``territory``; ``code`` then the ``tr_*`` / ``env_*``
        columns in registry order, each followed by its ``_missing`` flag (membership
        indicators have none). ``attrs["report"]`` holds the merged :class:`TransitionReport`.
    """
    indicators, ddir, study = indicator_inputs(territory, registry, data_dir)
    tables = table_indicators(territory, indicators, ddir)
    rasters = raster_indicators(territory, indicators, ddir, verbose=verbose)
    both = pd.concat([tables, rasters], axis=1)
    order: list[str] = []
    for ind in indicators:
        col = ind.output_column
        order.append(col)
        if f"{col}_missing" in both.columns:
            order.append(f"{col}_missing")
    out = pd.concat([study[["code"]].astype({"code": str}), both[order]], axis=1)
    report = tables.attrs["report"].merge(rasters.attrs["report"])
    out.attrs["report"] = report
    logger.info(
        "transition indicators: %d columns for %d communes; %s",
        len(indicators),
        len(out),
        report.summary().replace("\n", "; "),
    )
    return out


def build_transition(
    config: StudyConfig,
    territory: gpd.GeoDataFrame,
    accessibility: AccessibilityResult,
    *,
    verbose: bool = False,
) -> TransitionIndicators:
    """Run the transition stage of a study.

    Parameters
    ----------
    config : StudyConfig
        The study: its ``indicators`` registry file (``[configs]``), its data folder and its
        ``[transition]`` section (``ev_threshold_min``, ``rail_catchment_min``).
    territory : GeoDataFrame
        Study and buffer communes (``code``, ``in_study``, polygons).
    accessibility : AccessibilityResult
        The accessibility stage's result; its ``inputs`` route to the EV charging points and
        the stations with the stage's own snapping rule.
    verbose : bool
        Progress bars.

    Returns
    -------
    TransitionIndicators
    """
    if not config.has_config("indicators"):
        logger.info("no [configs] indicators: the study has no transition indicator")
        study = territory.index[territory["in_study"].astype(bool).to_numpy()]
        empty = gpd.GeoDataFrame(geometry=[], crs=territory.crs)
        return TransitionIndicators(
            table=pd.DataFrame(index=study),
            ev_points=empty,
            stations=empty.copy(),
            params=TransitionParams(),
            report=TransitionReport(),
        )
    registry_file = config.config_file("indicators")
    table = transition_indicators(territory, registry_file, config.data_dir, verbose=verbose)
    sources = load_point_sources(registry_file)
    section = config.section("transition")
    params = TransitionParams(
        ev_threshold_min=section["ev_threshold_min"],
        rail_catchment_min=section["rail_catchment_min"],
        ev_category=sources.ev_charging.category,
        rail_category=sources.rail.category,
    )
    ev = ev_charging_points(sources.ev_charging, config.data_dir, territory)
    stations = train_stations(sources.rail, config.data_dir, accessibility.inputs.catalogue)
    net = network_indicators(
        accessibility.inputs,
        ev,
        stations,
        ev_threshold_min=params.ev_threshold_min,
        rail_catchment_min=params.rail_catchment_min,
    )
    report = table.attrs["report"]
    full = pd.concat([table.drop(columns=["code"]), net], axis=1)
    conn_source, telework = load_connectivity(registry_file)
    connectivity = None
    if conn_source is not None:
        connectivity = connectivity_indicators(conn_source, config.data_dir, territory)
        full = pd.concat([full, connectivity.table], axis=1)
    if telework is not None:
        frame = pd.concat([accessibility.table, full], axis=1)
        full = pd.concat([full, telework_index(frame, telework)], axis=1)
    return TransitionIndicators(
        table=full,
        ev_points=ev,
        stations=stations,
        params=params,
        report=report,
        connectivity=connectivity,
        telework=telework,
    )
