"""The offer stage's entry point: catalogue, facilities and housing data of a study."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from geoattract.config.study import StudyConfig
from geoattract.facilities.catalogue import Catalogue, load_catalogue
from geoattract.facilities.demand import age_structure_table
from geoattract.facilities.housing import housing_table
from geoattract.facilities.sources import load_facilities

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Offer:
    """What the offer stage hands to the accessibility stage.

    Attributes
    ----------
    catalogue : Catalogue
        The study's validated catalogue (``[configs] catalogue``).
    facilities : GeoDataFrame
        From :func:`~geoattract.facilities.load_facilities`: one row per facility (or commune x
        category for count tables), in the territory's CRS; ``attrs`` carry the report, the
        buffer coverage and the capacity unit of each category.
    housing : DataFrame or None
        From :func:`~geoattract.facilities.housing_table`, aligned on the territory; None when
        the catalogue has no ``[housing]`` table.
    age_structure : DataFrame or None
        From :func:`~geoattract.facilities.demand.age_structure_table`, aligned on the
        territory (age shares, ``age_imputed``); None when the catalogue has no
        ``[age_structure]`` table.
    """

    catalogue: Catalogue
    facilities: gpd.GeoDataFrame
    housing: pd.DataFrame | None
    age_structure: pd.DataFrame | None = None


def build_offer(
    config: StudyConfig, territory: gpd.GeoDataFrame, *, verbose: bool = False
) -> Offer:
    """Load a study's catalogue, facilities and housing data.

    Parameters
    ----------
    config : StudyConfig
        The study; its ``[configs] catalogue`` names the catalogue and its ``data_dir`` holds
        the files.
    territory : GeoDataFrame
        Study and buffer communes (:func:`geoattract.territory.load_territory`).
    verbose : bool
        Show a progress bar.

    Returns
    -------
    Offer
    """
    catalogue = load_catalogue(config.config_file("catalogue"), data_dir=config.data_dir)
    facilities = load_facilities(territory, catalogue, config.data_dir, verbose=verbose)
    housing = None
    if catalogue.housing is not None:
        housing = housing_table(territory, catalogue.housing, config.data_dir)
    else:
        logger.info("%s: no [housing] table, no housing data", catalogue.path)
    ages = None
    if catalogue.age_structure is not None:
        ages = age_structure_table(territory, catalogue.age_structure, config.data_dir)
    return Offer(catalogue=catalogue, facilities=facilities, housing=housing, age_structure=ages)
