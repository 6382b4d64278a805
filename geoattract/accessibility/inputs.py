"""Snapped inputs of the accessibility stage: town halls and facilities on the road graph.

Every point joins the network with one :class:`~geoattract.network.snapping.SnapRule` (limit,
access speed, detour): the study's (``Network.snap_rule``, from ``[network]`` of the study
file) or, from the Python API without a rule, the package defaults for the graph's kind. A
facility known only by its commune (BPE counts, tables: placed at the town hall) gets the
rule's intra-commune leg on top of its access leg, so a facility of the origin commune is not
at a false 0 minutes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from geoattract._util.io import require_columns
from geoattract.facilities import Catalogue
from geoattract.network import Network
from geoattract.network.snapping import SnapRule
from geoattract.routing import RoutingGraph

logger = logging.getLogger(__name__)

#: Sources whose facilities are placed at the commune's town hall for want of coordinates
#: ("scenario": a new facility of a scenario or a plan placed at the town hall, see
#: :mod:`geoattract.accessibility.sites`).
TOWN_HALL_SOURCES: tuple[str, ...] = ("bpe", "counts", "table", "scenario")

#: Columns of the territory :func:`prepare_inputs` reads.
TERRITORY_COLUMNS: tuple[str, ...] = ("code", "population", "in_study", "town_hall", "geometry")

#: Columns of the facility table :func:`prepare_inputs` reads.
FACILITY_INPUT_COLUMNS: tuple[str, ...] = (
    "category",
    "facility_id",
    "name",
    "capacity",
    "code",
    "in_study",
    "geometry",
)


@dataclass
class AccessibilityInputs:
    """Snapped inputs of the accessibility stage, reusable by what-if scenarios.

    Attributes
    ----------
    rg : RoutingGraph
        Routing structure of the road network.
    communes : DataFrame
        Territory rows (study and buffer) with ``code``, ``population``, ``in_study``,
        ``node``, ``snap_m``, ``snap_s``, ``too_far``.
    facilities : GeoDataFrame
        Facilities with ``node``, ``snap_m``, ``snap_s`` (access leg plus intra-commune leg)
        and ``intra_commune_m``; facilities too far from the network are dropped (listed in
        ``dropped_facilities``).
    catalogue : Catalogue
        The facility catalogue.
    snap_rule : SnapRule
        The rule the points were snapped with; :meth:`snap` uses it for new points.
    dropped_facilities : DataFrame
        ``category``, ``facility_id``, ``name``, ``snap_m`` of the facilities left out.
    age_structure : DataFrame or None
        Age shares of the communes (:func:`geoattract.facilities.age_structure_table`),
        aligned on ``communes``; the demand of an age-standardised catchment needs it.
    network : Network or None
        The road network the points were snapped to (:meth:`snap` joins new points to it).
    age_means : dict
        Category → the study's mean age-consumption ``Σ_b s̄_b w_b`` when it is fixed by the
        whole study (a partition's inputs, :func:`~geoattract.accessibility.apl.study_age_means`);
        empty: computed from the communes of these inputs.
    """

    rg: RoutingGraph
    communes: pd.DataFrame
    facilities: gpd.GeoDataFrame
    catalogue: Catalogue
    snap_rule: SnapRule = field(default_factory=SnapRule)
    dropped_facilities: pd.DataFrame = field(default_factory=pd.DataFrame)
    age_structure: pd.DataFrame | None = None
    network: Network | None = None
    age_means: dict[str, float] = field(default_factory=dict)

    def of_category(self, category: str) -> gpd.GeoDataFrame:
        """The facilities of one category, without the table's ``attrs``.

        pandas deep-copies a frame's ``attrs`` (the facility report, units, coverage) into
        every frame derived from it: selecting the categories of a study one by one copied
        them some 1,300 times (about 1 s of CPU in the 47 study). The split is made once.
        """
        split = self.__dict__.get("_by_category")
        if split is None:
            plain = self.facilities.copy(deep=False)
            plain.attrs = {}
            split = {str(k): g for k, g in plain.groupby("category", sort=False)}
            empty = plain.iloc[:0]
            split = {"": empty, **split}
            self.__dict__["_by_category"] = split
        return split.get(category, split[""])

    def snap(
        self,
        points: Any,
        *,
        ids: Any = None,
        on_far: Literal["flag", "raise"] = "flag",
        what: str = "point(s)",
    ) -> pd.DataFrame:
        """Snap more points (new facilities, EV stations…) with the inputs' rule.

        Parameters
        ----------
        points : GeoSeries, GeoDataFrame or sequence of shapely Points
            Points in the network's CRS (another CRS is refused).
        ids : sequence, optional
            Identifiers used as the result's index and in messages.
        on_far : {"flag", "raise"}
            Points beyond the limit: flagged or a :class:`~geoattract.errors.SnapError`.
        what : str
            Name of the points in messages.

        Returns
        -------
        DataFrame
            See :func:`geoattract.network.snap_points`.
        """
        if self.network is not None:
            nodes = self.network.nodes  # with the snappable flags: never onto a motorway
        else:
            nodes = pd.DataFrame({"x": self.rg.x, "y": self.rg.y}, index=self.rg.node_ids)
        return self.snap_rule.snap(nodes, points, ids=ids, on_far=on_far, what=what)


def _snap_rule_for(network: Network, snap_rule: SnapRule | None) -> SnapRule:
    if snap_rule is not None:
        return snap_rule
    rule = network.snap_rule
    if network.schematic:
        logger.warning(
            "prepare_inputs: no snap_rule on the schematic network: package defaults "
            "(%g m at %g km/h); a study run uses its [network] schematic_snap_* keys "
            "(pass snap_rule=network.snap_rule or SnapRule.from_section(config.section("
            "'network'), schematic=True))",
            rule.max_distance_m,
            rule.speed_kph,
        )
    else:
        logger.info(
            "prepare_inputs: package snapping rule (%g m at %g km/h)",
            rule.max_distance_m,
            rule.speed_kph,
        )
    return rule


def snap_town_halls(network: Network, territory: gpd.GeoDataFrame, rule: SnapRule) -> pd.DataFrame:
    """The territory's town halls on the network: node, access leg and dense-commune delay.

    Returns
    -------
    DataFrame
        Indexed like the territory: ``code``, ``population``, ``in_study``, ``node``,
        ``snap_m``, ``snap_s`` (access leg plus the dense-commune delay), ``too_far``.
    """
    halls = gpd.GeoSeries(territory["town_hall"].values, index=territory.index, crs=territory.crs)
    codes = territory["code"].astype(str)
    labels = (
        territory["nom"].astype(str) + " (" + codes + ")" if "nom" in territory else codes
    ).to_numpy()
    snapped = rule.snap(network.nodes, halls, ids=labels, what="town halls")
    delay = rule.end_delay_s(territory["population"], territory.geometry.area)
    return pd.DataFrame(
        {
            "code": territory["code"].to_numpy(),
            "population": territory["population"].to_numpy(dtype=float),
            "in_study": territory["in_study"].to_numpy(dtype=bool),
            "node": snapped["node"].to_numpy(),
            "snap_m": snapped["snap_distance_m"].to_numpy(dtype=float),
            "snap_s": snapped["snap_time_s"].to_numpy(dtype=float) + delay,
            "too_far": snapped["too_far"].to_numpy(dtype=bool),
        },
        index=territory.index,
    )


def end_delays(facilities: pd.DataFrame, territory: gpd.GeoDataFrame, rule: SnapRule) -> np.ndarray:
    """Seconds added at each facility for the density of its commune (:meth:`SnapRule.end_delay_s`)."""
    by_code = territory.set_index("code")
    delay = pd.Series(
        rule.end_delay_s(by_code["population"], by_code.geometry.area), index=by_code.index
    )
    return facilities["code"].map(delay).fillna(0.0).to_numpy(dtype=float)


def intra_commune_legs(
    facilities: pd.DataFrame, territory: gpd.GeoDataFrame, rule: SnapRule
) -> np.ndarray:
    """Intra-commune leg (metres) of each facility: the rule's for those at a town hall, else 0.

    Parameters
    ----------
    facilities : DataFrame
        With ``code`` and ``source`` (a facility of a source in :data:`TOWN_HALL_SOURCES` sits
        at its commune's town hall); without ``source`` every leg is 0.
    territory : GeoDataFrame
        Commune polygons (``code``, geometry in a metric CRS).
    rule : SnapRule
        Gives the leg for a commune's area (:meth:`SnapRule.intra_commune_m`).

    Returns
    -------
    ndarray of float
        Aligned on ``facilities``; 0 for a facility with coordinates or an unknown commune.
    """
    if "source" not in facilities:
        return np.zeros(len(facilities))
    area = territory.set_index("code").geometry.area
    at_hall = facilities["source"].isin(TOWN_HALL_SOURCES).to_numpy()
    legs = rule.intra_commune_m(facilities["code"].map(area).to_numpy(dtype=float))
    return np.where(at_hall & np.isfinite(legs), legs, 0.0)


def same_commune_times(inputs: AccessibilityInputs, facilities: pd.DataFrame) -> pd.DataFrame:
    """Direct trips from a town hall to the facilities of its own commune placed there.

    A facility known only by its commune (BPE counts, tables) sits at the town hall: from that
    commune's town hall the trip does not go to the road network and back (two access legs and
    two dense-commune delays) but crosses the commune: the intra-commune leg only, at the
    access speed. Every metric uses this time for these pairs (the one rule of the
    intra-commune leg).

    Parameters
    ----------
    inputs : AccessibilityInputs
        Snapped town halls (``communes``) and the snapping rule.
    facilities : DataFrame
        Facilities of one category (``code``, ``source``, ``intra_commune_m``, ``snap_s``).

    Returns
    -------
    DataFrame
        One row per such facility: ``origin`` (index of the commune in ``inputs.communes``),
        ``facility`` (position in ``facilities``), ``direct_s`` (the direct time) and
        ``network_s`` (the time through the network the routing gives the pair: both access
        legs and delays).
    """
    com = inputs.communes
    row_of = pd.Series(com.index, index=com["code"].astype(str))
    at_hall = (
        facilities["source"].isin(TOWN_HALL_SOURCES).to_numpy()
        if "source" in facilities
        else np.zeros(len(facilities), bool)
    )
    codes = facilities["code"].astype(str).to_numpy()
    known = at_hall & pd.Series(codes).isin(row_of.index).to_numpy()
    pos = np.flatnonzero(known)
    origin = row_of.loc[list(codes[known])].to_numpy()
    direct = inputs.snap_rule.access_time_s(
        facilities["intra_commune_m"].to_numpy(dtype=float)[known]
    )
    network = (
        com.loc[origin, "snap_s"].to_numpy(dtype=float)
        + facilities["snap_s"].to_numpy(dtype=float)[known]
    )
    return pd.DataFrame(
        {"origin": origin, "facility": pos, "direct_s": direct, "network_s": network}
    )


def prepare_inputs(
    network: Network | nx.MultiDiGraph,
    territory: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    catalogue: Catalogue,
    *,
    snap_rule: SnapRule | None = None,
    rg: RoutingGraph | None = None,
    age_structure: pd.DataFrame | None = None,
) -> AccessibilityInputs:
    """Snap town halls and facilities to the graph and build the routing structure.

    Parameters
    ----------
    network : Network or networkx.MultiDiGraph
        The road network (:func:`geoattract.network.load_network`), or a graph of the package's
        graph model.
    territory : GeoDataFrame
        From :func:`geoattract.territory.load_territory` (study and buffer communes).
    facilities : GeoDataFrame
        From :func:`geoattract.facilities.load_facilities`.
    catalogue : Catalogue
        The facility catalogue.
    snap_rule : SnapRule, optional
        Snapping limit, access speed and detour; default the network's own
        (``Network.snap_rule``: a study's network carries its ``[network]`` keys).
    rg : RoutingGraph, optional
        Reuse an existing routing structure.
    age_structure : DataFrame, optional
        Age shares aligned on the territory (``Offer.age_structure``), for the catchments
        standardised by age.

    Returns
    -------
    AccessibilityInputs

    Raises
    ------
    DataError
        A column of the territory or of the facility table is missing.
    """
    from geoattract.routing import network_routing_graph

    require_columns(territory, TERRITORY_COLUMNS, "territory")
    require_columns(facilities, FACILITY_INPUT_COLUMNS, "facilities")
    if not isinstance(network, Network):
        network = Network.from_graph(network)
    rule = _snap_rule_for(network, snap_rule)
    rg = network_routing_graph(network) if rg is None else rg
    communes = snap_town_halls(network, territory, rule)
    labels = facilities["category"].astype(str) + " " + facilities["facility_id"].astype(str)
    fsnap = rule.snap(network.nodes, facilities.geometry, ids=labels.to_numpy(), what="facilities")
    fac = facilities.copy()
    fac["node"] = fsnap["node"].to_numpy()
    fac["snap_m"] = fsnap["snap_distance_m"].to_numpy(dtype=float)
    intra_m = intra_commune_legs(fac, territory, rule)
    fac["snap_s"] = fsnap["snap_time_s"].to_numpy(dtype=float)
    fac["intra_commune_m"] = intra_m
    fac["snap_s"] = fac["snap_s"] + rule.access_time_s(intra_m) + end_delays(fac, territory, rule)
    far = fsnap["too_far"].to_numpy(dtype=bool)
    dropped = pd.DataFrame(fac.loc[far, ["category", "facility_id", "name", "snap_m"]])
    if far.any():
        logger.warning(
            "%d facility(ies) farther than the snapping limit (%g m) from the network are left "
            "out: %s",
            int(far.sum()),
            rule.max_distance_m,
            dropped.groupby("category").size().to_dict(),
        )
    return AccessibilityInputs(
        rg=rg,
        communes=communes,
        facilities=fac.loc[~far].copy(),
        catalogue=catalogue,
        snap_rule=rule,
        dropped_facilities=dropped,
        age_structure=None if age_structure is None else age_structure.reindex(territory.index),
        network=network,
    )
