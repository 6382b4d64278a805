"""What joining the indicator sources found, and the study rows the indicators are made for.

Codes of a table that match no commune of the territory are never dropped silently: codes of
the study département (typically communes merged since the table was made, or an older
geography) are logged with :func:`logging.warning` and listed in
:attr:`TransitionReport.unmatched_codes`; codes of other départements outside the territory
are counted in :attr:`TransitionReport.outside_codes`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geoattract.errors import DataError, DataNotFoundError, format_values
from geoattract.territory import check_territory, study_rows
from geoattract.transition.registry import Indicator, resolve_registry

logger = logging.getLogger(__name__)


@dataclass
class TransitionReport:
    """What joining the indicator sources found; stored in ``result.attrs["report"]``.

    Attributes
    ----------
    unmatched_codes : dict
        Source file → codes of the study département that match no commune of the territory
        (merged communes, older geography). Logged as warnings.
    outside_codes : dict
        Source file → number of codes of other départements outside the territory.
    missing : dict
        Output column → number of study communes with NaN.
    empty_columns : list of str
        Output columns with no value at all for the study communes.
    raster_coverage_min : dict
        Raster file → smallest share of a commune area covered by valid cells.
    """

    unmatched_codes: dict[str, list[str]] = field(default_factory=dict)
    outside_codes: dict[str, int] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    empty_columns: list[str] = field(default_factory=list)
    raster_coverage_min: dict[str, float] = field(default_factory=dict)

    def merge(self, other: TransitionReport) -> TransitionReport:
        """Return a new report holding the findings of both."""
        return TransitionReport(
            unmatched_codes={**self.unmatched_codes, **other.unmatched_codes},
            outside_codes={**self.outside_codes, **other.outside_codes},
            missing={**self.missing, **other.missing},
            empty_columns=self.empty_columns + other.empty_columns,
            raster_coverage_min={**self.raster_coverage_min, **other.raster_coverage_min},
        )

    def summary(self) -> str:
        """One line per finding, for logs and reports."""
        lines = [
            f"unmatched codes in {src}: {format_values(codes)}"
            for src, codes in self.unmatched_codes.items()
            if codes
        ]
        lines += [
            f"{n} code(s) outside the territory in {src}"
            for src, n in self.outside_codes.items()
            if n
        ]
        lines += [f"{col}: {n} commune(s) without value" for col, n in self.missing.items() if n]
        if self.empty_columns:
            lines.append(f"empty indicator(s): {format_values(self.empty_columns)}")
        return "\n".join(lines) or "no issue found"

    def record_codes(
        self,
        table_codes: pd.Series,
        territory: gpd.GeoDataFrame,
        study_deps: set[str],
        source: str,
    ) -> None:
        """Record the codes of a source table that match no commune of the territory.

        Parameters
        ----------
        table_codes : Series
            Codes of the table (strings).
        territory : GeoDataFrame
            Study and buffer communes (``code``).
        study_deps : set of str
            Codes of the study départements (a code of one of them is *unmatched*, any other
            absent code is *outside*).
        source : str
            Name of the table in the report.
        """
        all_codes = set(territory["code"].astype(str))
        absent = sorted(set(table_codes) - all_codes)
        unmatched = [c for c in absent if c[:2] in study_deps or c[:3] in study_deps]
        outside = len(absent) - len(unmatched)
        self.unmatched_codes[source] = unmatched
        self.outside_codes[source] = outside
        if unmatched:
            logger.warning(
                "%s: %d code(s) of the study département match no commune of the territory "
                "(merged communes or older geography?): %s",
                source,
                len(unmatched),
                format_values(unmatched),
            )
        if outside:
            logger.info("%s: %d code(s) outside the territory ignored", source, outside)

    def attach(self, out: pd.DataFrame) -> pd.DataFrame:
        """Count the missing values of each flagged column of ``out``, then store the report.

        Every ``<column>_missing`` flag gives :attr:`missing` its count; a column missing for
        every study commune is listed in :attr:`empty_columns` and logged as a warning.

        Returns
        -------
        DataFrame
            ``out``, with ``attrs["report"]`` set to this report.
        """
        for col in out.columns:
            if col.endswith("_missing"):
                value_col = col[: -len("_missing")]
                n = int(out[col].sum())
                self.missing[value_col] = n
                if n == len(out):
                    self.empty_columns.append(value_col)
                    logger.info(
                        "indicator %s has no value for any of the %d study communes", value_col, n
                    )
        out.attrs["report"] = self
        return out


def data_folder(data_dir: str | os.PathLike) -> Path:
    """Check the data folder, which must be given and exist (no study is assumed).

    Raises
    ------
    DataError
        No folder given.
    DataNotFoundError
        The folder does not exist.
    """
    if data_dir is None:
        raise DataError("data_dir is required: the folder of the study's input data")
    folder = Path(data_dir).expanduser().resolve()
    if not folder.is_dir():
        raise DataNotFoundError(f"data folder not found: {folder}")
    return folder


def indicator_inputs(
    territory: gpd.GeoDataFrame,
    registry: Sequence[Indicator] | str | os.PathLike,
    data_dir: str | os.PathLike,
) -> tuple[list[Indicator], Path, gpd.GeoDataFrame]:
    """The checked inputs of a registry computation: indicators, data folder and study rows.

    Parameters
    ----------
    territory : GeoDataFrame
        Study and buffer communes.
    registry : list of Indicator or path-like
        The indicators, or the registry file.
    data_dir : path-like
        Data folder the source paths are relative to.

    Returns
    -------
    (list of Indicator, Path, GeoDataFrame)
        The indicators, the resolved data folder and the study rows of ``territory``.

    Raises
    ------
    ConfigError, DataNotFoundError
        An invalid or missing registry file, a missing data folder.
    DataError
        No data folder given, or a territory that fails :func:`~geoattract.territory.check_territory`.
    """
    indicators = resolve_registry(registry)
    ddir = data_folder(data_dir)
    study = study_rows(check_territory(territory, what="transition indicators"))
    return indicators, ddir, study
