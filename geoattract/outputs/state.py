"""The typed state of a study: every stage result, and the communes layer made from them."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from geoattract.accessibility import Accessibility
from geoattract.config import StudyConfig
from geoattract.demography import Demography
from geoattract.facilities import Offer
from geoattract.network import Network
from geoattract.scoring import DynamicsAnalysis, PlanResult, Scores, afom_summary
from geoattract.territory import Territory
from geoattract.transition import TransitionIndicators


@dataclass(frozen=True)
class StudyState:
    """Every stage result of a study, typed.

    Attributes
    ----------
    config : StudyConfig
    territory : Territory
    network : Network
    offer : Offer
    accessibility : Accessibility
    transition : TransitionIndicators
    scores : Scores
    isochrones : GeoDataFrame, optional
        Isochrones of the study communes (None when not computed).
    demography : Demography, optional
        Population dynamics (None when not computed; ``available`` False without a source).
    dynamics : DynamicsAnalysis, optional
        Offer against the population dynamics (None without population dynamics).
    plan : PlanResult, optional
        The study's action plan evaluated (``[configs] plan``; None without one).
    """

    config: StudyConfig
    territory: Territory
    network: Network
    offer: Offer
    accessibility: Accessibility
    transition: TransitionIndicators
    scores: Scores
    isochrones: gpd.GeoDataFrame | None = None
    demography: Demography | None = None
    dynamics: DynamicsAnalysis | None = None
    plan: PlanResult | None = None

    def communes_layer(self) -> gpd.GeoDataFrame:
        """The ``communes`` layer: study communes, every indicator, score, rank and AFOM summary."""
        study = self.territory.study
        parts = [
            study.drop(columns=["town_hall"]),
            self.accessibility.table,
            self.transition.table.drop(columns=["code"], errors="ignore"),
            self.scores.scores.drop(columns=["code"], errors="ignore"),
            afom_summary(self.scores.afom, study["code"]),
        ]
        if self.demography is not None:
            parts.append(self.demography.table)
        if self.dynamics is not None:
            parts.append(self.dynamics.quadrants)
        parts.append(pd.DataFrame({"location_missing": False}, index=study.index))
        table = pd.concat(parts, axis=1)
        absent = self.territory.communes.attrs.get("locations_missing")
        if absent is not None and len(absent):
            # communes with neither polygon nor town hall: rows too, flagged, never dropped
            extra = absent.assign(
                in_study=True,
                location_missing=True,
                polygon_missing=True,
                town_hall_unsnapped=True,
                population_missing=absent["population"].isna(),
            )
            table = pd.concat([table, extra], ignore_index=True)
            table = table.sort_values("code", kind="stable").reset_index(drop=True)
            for col in [c for c in table.columns if c.startswith("unreachable_")]:
                table[col] = table[col].fillna(True).astype(bool)  # nothing reachable
            for col in ("town_hall_replaced", "population_missing", "polygon_missing"):
                if col in table:
                    table[col] = table[col].fillna(False).astype(bool)
            if "demo_missing" in table:  # not in the population dynamics: no rates, flagged
                table["demo_missing"] = table["demo_missing"].fillna(True).astype(bool)
        return gpd.GeoDataFrame(table, geometry="geometry", crs=study.crs)
