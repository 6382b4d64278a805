"""Housing-pillar data per commune: property prices and social housing.

The method is the library's; the files, their columns and their vintage are the study's, in
the ``[housing]`` table of the catalogue TOML (``facilities.toml``)::

    [housing.prices]      # one row per commune: median €/m² and number of sales
    file = "indicators/housing_prices.csv"
    code_column = "..."
    price_house_column = "..."   price_flat_column = "..."
    sales_house_column = "..."   sales_flat_column = "..."
    vintage = "sales from ... to ..."

    [housing.social]      # one row per commune of an exhaustive social-housing register
    file = "indicators/social_housing.csv"
    code_column = "..."
    stock_column = "..."         let_column = "..."
    vintage = "..."

:func:`housing_sources` reads that table into a :class:`HousingSources`; :func:`housing_table`
reads the files and returns one row per territory commune.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract._util.io import read_csv
from geoattract.config.schema import Field, validate
from geoattract.errors import format_values
from geoattract.facilities.tables import (
    index_by_code,
    numeric_values,
    study_departement,
)
from geoattract.territory import check_territory

logger = logging.getLogger(__name__)

#: A commune with fewer sales than this has an unreliable median price (flagged).
MIN_SALES: int = 5

#: Schema of ``[housing.prices]``.
PRICES_SCHEMA: dict[str, Field] = {
    "file": Field(str, doc="CSV of median prices per commune, relative to the data folder"),
    "code_column": Field(str, doc="INSEE commune code"),
    "price_house_column": Field(str, doc="median €/m² of houses"),
    "price_flat_column": Field(str, doc="median €/m² of flats"),
    "sales_house_column": Field(str, doc="number of house sales"),
    "sales_flat_column": Field(str, doc="number of flat sales"),
    "vintage": Field(str, required=False, default="", doc="period of the sales"),
}

#: Schema of ``[housing.social]``.
SOCIAL_SCHEMA: dict[str, Field] = {
    "file": Field(str, doc="CSV of social dwellings per commune, relative to the data folder"),
    "code_column": Field(str, doc="INSEE commune code"),
    "stock_column": Field(str, doc="every dwelling of the social landlords' stock"),
    "let_column": Field(str, doc="dwellings let"),
    "vintage": Field(str, required=False, default="", doc="date of the register"),
}

#: Schema of the ``[housing]`` table of the catalogue.
HOUSING_SCHEMA: dict[str, Field] = {
    "prices": Field(dict, schema=PRICES_SCHEMA),
    "social": Field(dict, schema=SOCIAL_SCHEMA),
    "min_sales": Field(int, required=False, default=MIN_SALES, doc="fewer sales are flagged"),
}


@dataclass(frozen=True)
class PriceSource:
    """Table of median property prices per commune (``[housing.prices]``)."""

    file: str
    code_column: str
    price_house_column: str
    price_flat_column: str
    sales_house_column: str
    sales_flat_column: str
    vintage: str = ""

    def columns(self, kind: str) -> tuple[str, str]:
        """Price and sales columns of ``kind`` (``"house"`` or ``"flat"``)."""
        if kind == "house":
            return self.price_house_column, self.sales_house_column
        return self.price_flat_column, self.sales_flat_column


@dataclass(frozen=True)
class SocialHousingSource:
    """Exhaustive register of social dwellings per commune (``[housing.social]``)."""

    file: str
    code_column: str
    stock_column: str
    let_column: str
    vintage: str = ""


@dataclass(frozen=True)
class HousingSources:
    """The study's housing files (the ``[housing]`` table of the catalogue).

    Attributes
    ----------
    prices : PriceSource
    social : SocialHousingSource
    min_sales : int
        Fewer sales than this flag a median price as unreliable.
    """

    prices: PriceSource
    social: SocialHousingSource
    min_sales: int = MIN_SALES

    def files(self) -> dict[str, tuple[str, list[str]]]:
        """Label → (file relative to the data folder, columns it must have)."""
        p, s = self.prices, self.social
        return {
            "housing.prices": (
                p.file,
                [
                    p.code_column,
                    p.price_house_column,
                    p.price_flat_column,
                    p.sales_house_column,
                    p.sales_flat_column,
                ],
            ),
            "housing.social": (s.file, [s.code_column, s.stock_column, s.let_column]),
        }


def housing_sources(section: Mapping[str, Any], source: str | os.PathLike) -> HousingSources:
    """Validate a ``[housing]`` table and build its :class:`HousingSources`.

    Parameters
    ----------
    section : mapping
        The ``[housing]`` table as read from the TOML file.
    source : path-like
        The TOML file, named in error messages.

    Returns
    -------
    HousingSources

    Raises
    ------
    ConfigError
        Unknown or missing key, value of the wrong type.
    """
    doc = validate(section, HOUSING_SCHEMA, source, prefix="housing.")
    return HousingSources(
        prices=PriceSource(**doc["prices"]),
        social=SocialHousingSource(**doc["social"]),
        min_sales=doc["min_sales"],
    )


def housing_table(
    territory: gpd.GeoDataFrame,
    sources: HousingSources,
    data_dir: str | os.PathLike,
    *,
    min_sales: int | None = None,
) -> pd.DataFrame:
    """Housing-pillar data per commune: median prices and social housing.

    Parameters
    ----------
    territory : GeoDataFrame
        From :func:`geoattract.territory.load_territory` (study and buffer communes).
    sources : HousingSources
        The study's files and columns (``Catalogue.housing``).
    data_dir : path-like
        The study's data folder (``StudyConfig.data_dir``).
    min_sales : int, optional
        Fewer sales than this flag the median price as unreliable; default
        ``sources.min_sales``.

    Returns
    -------
    DataFrame
        Aligned on ``territory.index``: ``code``, ``price_m2_house`` and ``price_m2_flat``
        (median €/m², NaN without sale), ``n_sales_house`` and ``n_sales_flat`` (0 for a
        commune of a covered département absent from the price table; NaN when the
        département is not covered), ``few_sales_house`` and ``few_sales_flat`` (fewer than
        ``min_sales`` sales or unknown), ``social_housing`` (the stock column: every dwelling
        of the social landlords' stock), ``social_housing_let`` (the let column),
        ``social_housing_per_1000`` (per 1,000 inhabitants) and ``social_housing_missing``
        (département absent from the register). The register is exhaustive: a commune of a
        covered département absent from it has no social dwelling (0). ``attrs["report"]``
        lists codes of the study département absent from the territory; ``attrs["vintage"]``
        gives the vintages of the two sources.

    Raises
    ------
    DataError
        Missing column, duplicate code or non-numeric value.
    DataNotFoundError
        A file is missing.
    """
    check_territory(territory, town_halls=True, what="offer")
    ddir = Path(data_dir)
    threshold = sources.min_sales if min_sales is None else min_sales
    codes = territory["code"].astype(str)
    study_dep = study_departement(territory)
    out = pd.DataFrame({"code": codes.to_numpy()}, index=territory.index)
    absent = {
        "prices_codes_not_in_territory": _add_prices(out, codes, sources.prices, ddir, threshold),
        "social_codes_not_in_territory": _add_social(out, codes, territory, sources.social, ddir),
    }
    report = {k: sorted(c for c in v if c.startswith(study_dep)) for k, v in absent.items()}
    for key, values in report.items():
        if values:
            logger.warning("housing: %s: %s", key.replace("_", " "), format_values(values))
    out.attrs["report"] = report
    out.attrs["min_sales"] = threshold
    out.attrs["vintage"] = {"prices": sources.prices.vintage, "social": sources.social.vintage}
    return out


def _add_prices(
    out: pd.DataFrame, codes: pd.Series, src: PriceSource, ddir: Path, min_sales: int
) -> set[str]:
    """Price and sales columns; returns the table's codes absent from the territory."""
    path = ddir / src.file
    kinds = ("house", "flat")
    table = read_csv(
        path, columns=[c for k in kinds for c in src.columns(k)], code_columns=[src.code_column]
    )
    table = index_by_code(table, src.code_column, path)
    covered = codes.str[:2].isin(set(table.index.str[:2])).to_numpy()
    for kind in kinds:
        col_price, col_n = src.columns(kind)
        price = numeric_values(table[col_price], path, col_price)
        n = numeric_values(table[col_n], path, col_n)
        out[f"price_m2_{kind}"] = codes.map(price).to_numpy(dtype=float)
        n_sales = codes.map(n).to_numpy(dtype=float)
        n_sales = np.where(covered & np.isnan(n_sales), 0.0, n_sales)
        out[f"n_sales_{kind}"] = n_sales
        out[f"few_sales_{kind}"] = ~(n_sales >= min_sales)
    return set(table.index) - set(codes)


def _add_social(
    out: pd.DataFrame,
    codes: pd.Series,
    territory: gpd.GeoDataFrame,
    src: SocialHousingSource,
    ddir: Path,
) -> set[str]:
    """Social-housing columns; returns the register's codes absent from the territory."""
    path = ddir / src.file
    table = read_csv(
        path, columns=[src.stock_column, src.let_column], code_columns=[src.code_column]
    )
    table = index_by_code(table, src.code_column, path)
    covered = codes.str[:2].isin(set(table.index.str[:2])).to_numpy()
    stock = codes.map(numeric_values(table[src.stock_column], path, src.stock_column))
    let = codes.map(numeric_values(table[src.let_column], path, src.let_column))
    stock_v, let_v = stock.to_numpy(dtype=float), let.to_numpy(dtype=float)
    absent = np.isnan(stock_v)
    out["social_housing"] = np.where(covered & absent, 0.0, stock_v)
    out["social_housing_let"] = np.where(covered & absent, 0.0, let_v)
    pop = (
        territory["population"].to_numpy(dtype=float)
        if "population" in territory
        else np.full(len(out), np.nan)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        out["social_housing_per_1000"] = np.where(
            pop > 0, out["social_housing"].to_numpy() / pop * 1000.0, np.nan
        )
    out["social_housing_missing"] = ~covered
    return set(table.index) - set(codes)
