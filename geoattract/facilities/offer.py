"""The offer stage's entry point: catalogue, facilities and housing data of a study."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import geopandas as gpd
import pandas as pd

from geoattract.config.study import StudyConfig
from geoattract.facilities.catalogue import Catalogue, load_catalogue
from geoattract.facilities.coverage import CoverageReport, check_coverage
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
    catalogue = resolved_catalogue(catalogue, facilities)
    housing = None
    if catalogue.housing is not None:
        housing = housing_table(territory, catalogue.housing, config.data_dir)
    else:
        logger.info("%s: no [housing] table, no housing data", catalogue.path)
    ages = None
    if catalogue.age_structure is not None:
        ages = age_structure_table(territory, catalogue.age_structure, config.data_dir)
    return Offer(catalogue=catalogue, facilities=facilities, housing=housing, age_structure=ages)


def check_study_coverage(config: StudyConfig, territory: gpd.GeoDataFrame) -> CoverageReport:
    """Check, at the door, that a study's catalogue covers its territory's départements.

    Parameters
    ----------
    config : StudyConfig
        The study (its ``[configs] catalogue``).
    territory : GeoDataFrame
        Study and buffer communes (``dep``, ``in_study``).

    Returns
    -------
    CoverageReport

    Raises
    ------
    DataError
        Categories whose sources miss départements (see
        :func:`~geoattract.facilities.coverage.check_coverage`).
    """
    catalogue = load_catalogue(config.config_file("catalogue"), check_files=False)
    deps = territory["dep"].astype(str)
    study = sorted(set(deps[territory["in_study"].to_numpy(dtype=bool)]))
    return check_coverage(catalogue, study, sorted(set(deps) - set(study)))


def resolved_catalogue(catalogue: Catalogue, facilities: gpd.GeoDataFrame) -> Catalogue:
    """The catalogue as loaded for a territory: left-out categories removed, ``covers_buffer`` known.

    Parameters
    ----------
    catalogue : Catalogue
        As read from the TOML.
    facilities : GeoDataFrame
        From :func:`~geoattract.facilities.load_facilities` (its report and ``covers_buffer``).

    Returns
    -------
    Catalogue
        Without the optional categories the coverage check left out; each category's
        ``covers_buffer`` is whether its offer is known in the whole buffer.
    """
    report = facilities.attrs.get("report")
    covers = facilities.attrs.get("covers_buffer", {})
    out = catalogue.without(report.left_out if report is not None else ())
    out.categories = {
        cid: replace(cat, covers_buffer=bool(covers.get(cid, cat.covers_buffer is not False)))
        for cid, cat in out.categories.items()
    }
    return out
