"""The accessibility stage's entry point: snapped inputs and the indicator table of a study."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd

from geoattract.accessibility.housing import HOUSING_THRESHOLD_MIN, housing_accessibility
from geoattract.accessibility.inputs import AccessibilityInputs, prepare_inputs
from geoattract.accessibility.metrics import category_accessibility
from geoattract.accessibility.metropolitan import build_metropolitan
from geoattract.accessibility.partitioned import Mapper, local_map, partitioned_table
from geoattract.accessibility.places import place_times
from geoattract.accessibility.poles import MetropolitanAccess
from geoattract.accessibility.sensitivity import CatchmentSensitivity, catchment_sensitivity
from geoattract.config.study import StudyConfig
from geoattract.errors import DataError
from geoattract.facilities import Offer
from geoattract.network import Network

#: Columns of the snapped town halls in the accessibility table, by column of
#: ``AccessibilityInputs.communes``.
TOWN_HALL_COLUMNS: dict[str, str] = {
    "snap_m": "town_hall_snap_m",
    "snap_s": "town_hall_snap_s",
    "too_far": "town_hall_unsnapped",
}


@dataclass(frozen=True)
class Accessibility:
    """What the accessibility stage hands to the transition and scoring stages.

    Attributes
    ----------
    inputs : AccessibilityInputs
        Routing graph, snapped town halls and facilities, catalogue and snap rule (reused by
        the transition indicators and by scenarios).
    table : DataFrame
        Indicators aligned on the study communes (the study rows of the territory):
        ``town_hall_snap_m``, ``town_hall_snap_s``, ``town_hall_unsnapped``, the columns of
        :func:`~geoattract.accessibility.category_accessibility` and, when the offer has
        housing data, those of :func:`~geoattract.accessibility.housing_accessibility` and,
        when the study declares metropoles, those of the metropolitan reach.
    sensitivity : CatchmentSensitivity or None
        How the catchment indicators move when each method choice is switched (the
        categories whose ``catchment.sensitivity`` lists variants); None when none does.
    metropolitan : MetropolitanAccess, optional
        Drive and car + train times to the poles, population within reach, corridor map and
        rail scenarios (:func:`~geoattract.accessibility.build_metropolitan`); None when the
        study file declares no metropole.
    """

    inputs: AccessibilityInputs
    table: pd.DataFrame
    sensitivity: CatchmentSensitivity | None = None
    metropolitan: MetropolitanAccess | None = None
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PartitionOptions:
    """How a large study cuts its accessibility into partitions (``[partitions]``).

    Attributes
    ----------
    by : str
        Territory column whose values are the partitions (``dep``: one per département).
    mapper : callable
        Where the partitions run (``mapper(func, items, names)``: a dask cluster, this
        process).
    radius_min : float or None
        Initial radius of the balls at least this (minutes).
    max_widenings : int
        Widening rounds of the nearest times beyond the radius.
    group : bool
        Merge the départements whose balls overlap.
    """

    by: str = "dep"
    mapper: Mapper = local_map
    radius_min: float | None = None
    max_widenings: int = 6
    group: bool = True

    @classmethod
    def from_section(cls, section: Any, mapper: Mapper = local_map) -> PartitionOptions:
        """The options of a study's ``[partitions]`` section."""
        by = str(section.get("by", "departement"))
        return cls(
            by={"departement": "dep"}.get(by, by),
            mapper=mapper,
            radius_min=section.get("radius_min"),
            max_widenings=int(section.get("max_widenings", 6)),
            group=bool(section.get("group", True)),
        )


def accessibility_table(
    inputs: AccessibilityInputs,
    housing: pd.DataFrame | None = None,
    *,
    housing_threshold_min: float = HOUSING_THRESHOLD_MIN,
    verbose: bool = False,
    partitions: PartitionOptions | None = None,
    groups: pd.Series | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Every accessibility indicator of the study communes.

    Parameters
    ----------
    inputs : AccessibilityInputs
        From :func:`~geoattract.accessibility.prepare_inputs`.
    housing : DataFrame, optional
        From :func:`geoattract.facilities.housing_table`; no housing columns without it.
    housing_threshold_min : float
        Catchment of the reachable housing-stock indicators (minutes).
    verbose : bool
        Progress bars.
    partitions : PartitionOptions, optional
        Compute the category indicators by partitions of the graph
        (:func:`~geoattract.accessibility.partitioned.partitioned_table`): the same values,
        for a study too large for one process.
    groups : Series, optional
        The partition of every commune (needed with ``partitions``).

    Returns
    -------
    table : DataFrame
        Indexed like the study rows of the territory: the town hall's snap distance, time and
        flag (:data:`TOWN_HALL_COLUMNS`), then the category and housing indicators.
    stats : dict
        The partitions' figures (empty without partitions).
    """
    stats: dict[str, Any] = {}
    if partitions is None:
        acc = category_accessibility(inputs, verbose=verbose)
    else:
        if groups is None:
            raise DataError("accessibility_table: partitions need the groups of the communes")
        acc, stats = partitioned_table(
            inputs,
            groups,
            mapper=partitions.mapper,
            radius_min=partitions.radius_min,
            max_widenings=partitions.max_widenings,
            group=partitions.group,
        )
    snap = inputs.communes.loc[acc.index, list(TOWN_HALL_COLUMNS)].rename(columns=TOWN_HALL_COLUMNS)
    parts = [snap, acc]
    if housing is not None:
        parts.append(housing_accessibility(inputs, housing, threshold_min=housing_threshold_min))
    return pd.concat(parts, axis=1), stats


def build_accessibility(
    config: StudyConfig,
    territory: gpd.GeoDataFrame,
    network: Network,
    offer: Offer,
    *,
    verbose: bool = False,
    mapper: Mapper | None = None,
) -> Accessibility:
    """Snap a study's town halls and facilities with its rule and compute its indicators.

    Parameters
    ----------
    config : StudyConfig
        The study; ``[accessibility] housing_threshold_min`` sets the housing catchment.
    territory : GeoDataFrame
        Study and buffer communes (:func:`geoattract.territory.load_territory`).
    network : Network
        The network stage's result: its ``graph`` and its ``snap_rule`` (from ``[network]``
        of the study file for the graph's kind).
    offer : Offer
        From :func:`geoattract.facilities.build_offer` (its ``age_structure`` feeds the
        age-standardised catchments).
    verbose : bool
        Progress bars.
    mapper : callable, optional
        Where the partitions of a study with ``[partitions] enabled`` run (a dask cluster's
        map; default this process).

    Returns
    -------
    Accessibility
        With the catchment sensitivity of the categories that ask for one (not for a
        partitioned study), and the drive times to the study's places when it lists them.
    """
    inputs = prepare_inputs(
        network,
        territory,
        offer.facilities,
        offer.catalogue,
        snap_rule=network.snap_rule,
        age_structure=offer.age_structure,
    )
    threshold = config.section("accessibility").get("housing_threshold_min", HOUSING_THRESHOLD_MIN)
    section = config.section("partitions")
    partitions = None
    if section.get("enabled"):
        partitions = PartitionOptions.from_section(section, mapper or local_map)
    groups = None
    if partitions is not None:
        if partitions.by not in territory:
            raise DataError(f"[partitions] by: the territory has no column {partitions.by!r}")
        groups = territory[partitions.by]
    table, stats = accessibility_table(
        inputs,
        offer.housing,
        housing_threshold_min=threshold,
        verbose=verbose,
        partitions=partitions,
        groups=groups,
    )
    places = place_times(config, territory, inputs)
    if places is not None:
        table = pd.concat([table, places.reindex(table.index)], axis=1)
    sensitivity = None
    if partitions is None and any(c.catchment.sensitivity for c in offer.catalogue):
        names = territory["nom"] if "nom" in territory else None
        sensitivity = catchment_sensitivity(inputs, names)
    metro = build_metropolitan(config, territory, network)
    if metro is not None:
        table = pd.concat([table, metro.table], axis=1)
    return Accessibility(
        inputs=inputs, table=table, sensitivity=sensitivity, metropolitan=metro, stats=stats
    )
