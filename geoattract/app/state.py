"""The typed state of a study: every stage result, and the communes layer made from them."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from geoattract.accessibility import Accessibility
from geoattract.config import StudyConfig
from geoattract.facilities import Offer
from geoattract.network import Network
from geoattract.scoring import PlanResult, Scores
from geoattract.territory import Territory
from geoattract.transition import TransitionIndicators

#: Strengths and weaknesses listed per commune in the map tooltips.
AFOM_TOOLTIP_ITEMS = 3


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
        table = pd.concat(parts, axis=1)
        return gpd.GeoDataFrame(table, geometry="geometry", crs=study.crs)


def afom_summary(afom: pd.DataFrame, codes: pd.Series) -> pd.DataFrame:
    """``afom_atouts`` / ``afom_faiblesses``: the strongest findings per commune, as short text.

    The AFOM table is sorted by strength within each commune and kind, so the first rows are
    the most striking.
    """
    out = pd.DataFrame(index=codes.index)
    for kind, col in (("atout", "afom_atouts"), ("faiblesse", "afom_faiblesses")):
        rows = afom[afom["kind"] == kind]
        top = rows.groupby("code", sort=False)["label"].apply(
            lambda s: " ; ".join(s.head(AFOM_TOOLTIP_ITEMS))
        )
        out[col] = codes.map(top).fillna("")
    return out
