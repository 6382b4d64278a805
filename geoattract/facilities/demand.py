"""Age structure of the communes, for the demand side of the APL (age-standardised population).

The method is the library's; the file, its columns and its vintage are the study's, in the
``[age_structure]`` table of the catalogue TOML (``facilities.toml``)::

    [age_structure]
    file = "indicators/....csv"      # one row per commune
    code_column = "code_insee"
    percent = true                   # shares in % (false: fractions)
    vintage = "..."
    [age_structure.bands]            # age band → column of its share
    under_25 = "..."
    25_64 = "..."
    65_plus = "..."

:func:`age_structure_source` validates that table; :func:`age_structure_table` reads the file
and returns the shares of every territory commune. A commune absent from the file (the buffer
communes when it covers the study département only) takes the population-weighted mean of the
study communes it has, and is flagged ``age_imputed``: never a silent zero.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract._util.io import read_csv
from geoattract.config.schema import Field, validate
from geoattract.errors import ConfigError, DataError
from geoattract.facilities.tables import index_by_code, numeric_values

logger = logging.getLogger(__name__)

#: Tolerance on the sum of a commune's shares (rounded published shares sum to 99.9–100.1 %).
SHARE_SUM_TOLERANCE: float = 0.02

#: Schema of the ``[age_structure]`` table of the catalogue.
AGE_STRUCTURE_SCHEMA: dict[str, Field] = {
    "file": Field(str, doc="CSV of age shares per commune, relative to the data folder"),
    "code_column": Field(str, doc="INSEE commune code"),
    "bands": Field(dict, doc="age band → column of its share"),
    "percent": Field(bool, required=False, default=True, doc="shares in % (else fractions)"),
    "vintage": Field(str, required=False, default="", doc="date of the age structure"),
}


@dataclass(frozen=True)
class AgeStructureSource:
    """The study's table of age shares per commune (``[age_structure]``)."""

    file: str
    code_column: str
    bands: Mapping[str, str] = field(default_factory=dict)
    percent: bool = True
    vintage: str = ""

    @property
    def columns(self) -> list[str]:
        """Columns the file must have."""
        return [self.code_column, *self.bands.values()]


def age_structure_source(
    section: Mapping[str, Any], source: str | os.PathLike
) -> AgeStructureSource:
    """Validate an ``[age_structure]`` table.

    Raises
    ------
    ConfigError
        Unknown or missing key, a band that does not name a column (a string).
    """
    doc = validate(section, AGE_STRUCTURE_SCHEMA, source, prefix="age_structure.")
    bands = doc["bands"]
    bad = [k for k, v in bands.items() if not isinstance(v, str) or not v]
    if not bands or bad:
        raise ConfigError(
            f"{source}: key 'age_structure.bands' must map each age band to a column name, "
            f"got {bands!r}"
        )
    return AgeStructureSource(
        file=doc["file"],
        code_column=doc["code_column"],
        bands={str(k): str(v) for k, v in bands.items()},
        percent=doc["percent"],
        vintage=doc["vintage"],
    )


def share_column(band: str) -> str:
    """Column of an age band's share in :func:`age_structure_table`."""
    return f"age_share_{band}"


def age_structure_table(
    territory: gpd.GeoDataFrame, source: AgeStructureSource, data_dir: str | os.PathLike
) -> pd.DataFrame:
    """Age shares of every territory commune.

    Parameters
    ----------
    territory : GeoDataFrame
        Study and buffer communes (``code``, ``in_study``, ``population``).
    source : AgeStructureSource
        The study's file and columns (``Catalogue.age_structure``).
    data_dir : path-like
        The study's data folder.

    Returns
    -------
    DataFrame
        Aligned on ``territory.index``: ``code``, one ``age_share_<band>`` column per band
        (fractions summing to 1) and ``age_imputed`` (true where the commune is absent from
        the file or has no share: it takes the population-weighted mean shares of the study
        communes of the file). ``attrs["bands"]`` lists the bands, ``attrs["vintage"]`` the
        vintage, ``attrs["imputed_study"]`` the study communes imputed.

    Raises
    ------
    DataError
        Missing column, duplicate code, a share that is not a number, shares whose sum is
        far from 100 %, or no study commune in the file.
    """
    path = Path(data_dir) / source.file
    bands = list(source.bands)
    cols = list(source.bands.values())
    table = read_csv(path, columns=cols, code_columns=[source.code_column])
    table = index_by_code(table, source.code_column, path)
    shares = pd.DataFrame({b: numeric_values(table[c], path, c) for b, c in source.bands.items()})
    if source.percent:
        shares = shares / 100.0
    total = shares.sum(axis=1, min_count=len(bands))
    off = total[(total - 1.0).abs() > SHARE_SUM_TOLERANCE]
    if len(off):
        raise DataError(
            f"{path}: age shares of columns {cols} do not sum to 100 % for "
            f"{len(off)} commune(s), e.g. {off.index[0]} ({100 * off.iloc[0]:.1f} %)"
        )
    shares = shares.div(total, axis=0)
    codes = territory["code"].astype(str)
    joined = shares.reindex(codes.to_numpy())
    known = joined.notna().all(axis=1).to_numpy()
    in_study = territory["in_study"].to_numpy(dtype=bool)
    pop = territory["population"].to_numpy(dtype=float)
    ref = known & in_study & np.isfinite(pop)
    if not ref.any():
        raise DataError(f"{path}: no study commune has age shares in columns {cols}")
    mean = np.average(joined.to_numpy()[ref], axis=0, weights=pop[ref])
    values = np.where(known[:, None], joined.to_numpy(), mean[None, :])
    out = pd.DataFrame({"code": codes.to_numpy()}, index=territory.index)
    for k, band in enumerate(bands):
        out[share_column(band)] = values[:, k]
    out["age_imputed"] = ~known
    imputed_study = sorted(codes[~known & in_study])
    if imputed_study:
        logger.warning(
            "%s: %d study commune(s) without age shares take the département mean: %s",
            path,
            len(imputed_study),
            imputed_study[:10],
        )
    logger.info(
        "%s: age shares for %d communes, %d imputed with the study mean",
        path,
        known.sum(),
        (~known).sum(),
    )
    out.attrs["bands"] = bands
    out.attrs["vintage"] = source.vintage
    out.attrs["imputed_study"] = imputed_study
    return out
