"""Indicators computed from rasters: ``kind = "raster"`` and ``"raster_delta"``.

Each raster band is averaged over each study commune with exact area weights
(:func:`geoattract.transition.zonal.zonal_stats`); a ``raster_delta`` is the commune mean of
``source`` minus the commune mean of ``reference_source`` (for example a climate-projection
scenario minus its reference period).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geoattract.errors import DataError, format_values
from geoattract.transition.registry import Indicator
from geoattract.transition.report import TransitionReport, indicator_inputs
from geoattract.transition.zonal import raster_band_names, zonal_stats


class _BandStats:
    """Zonal statistics of each raster, computed once per file."""

    def __init__(
        self, study: gpd.GeoDataFrame, ddir: Path, report: TransitionReport, verbose: bool
    ) -> None:
        self.study = study
        self.ddir = ddir
        self.report = report
        self.verbose = verbose
        self.cache: dict[Path, pd.DataFrame] = {}

    def __call__(self, ind: Indicator, key: str) -> pd.DataFrame:
        path = ind.source_path(self.ddir, key)
        names = raster_band_names(path, ind.bands)
        if ind.band not in names:
            raise DataError(
                f"indicator {ind.id!r} ({ind.origin}): band {ind.band!r} not in {path}; "
                f"available bands: {format_values(names)}"
            )
        if path not in self.cache:
            z = zonal_stats(self.study, path, band_names=ind.bands, verbose=self.verbose)
            self.cache[path] = z
            self.report.raster_coverage_min[str(path.relative_to(self.ddir))] = float(
                z["coverage"].min()
            )
        return self.cache[path]


def raster_indicators(
    territory: gpd.GeoDataFrame,
    registry: Sequence[Indicator] | str | os.PathLike,
    data_dir: str | os.PathLike,
    *,
    verbose: bool = False,
) -> pd.DataFrame:
    """Compute the raster indicators (``kind`` raster and raster_delta) per study commune.

    Parameters
    ----------
    territory : GeoDataFrame
        Study and buffer communes (any CRS); only the study rows are returned.
    registry : list of Indicator or path-like
        The indicators, or the registry file.
    data_dir : path-like
        Data folder the raster paths are relative to.
    verbose : bool
        Progress bars.

    Returns
    -------
    DataFrame
        Indexed like the study rows; per indicator the value (float) and
        ``<column>_missing`` (commune outside the raster or over nodata only; for a delta,
        missing in either raster). ``attrs["report"]`` holds a :class:`TransitionReport`.

    Raises
    ------
    DataNotFoundError
        A raster does not exist.
    DataError
        A band name is not in the raster (the message lists the available ones).
    """
    indicators, ddir, study = indicator_inputs(territory, registry, data_dir)
    report = TransitionReport()
    out = pd.DataFrame(index=study.index)
    stats = _BandStats(study, ddir, report, verbose)
    for ind in indicators:
        if ind.kind not in ("raster", "raster_delta"):
            continue
        col = ind.output_column
        z = stats(ind, "source")
        value = z[ind.band]
        missing = z[f"{ind.band}_missing"]
        if ind.kind == "raster_delta":
            zr = stats(ind, "reference_source")
            value = value - zr[ind.band]
            missing = missing | zr[f"{ind.band}_missing"]
        out[col] = value.to_numpy()
        out[f"{col}_missing"] = missing.to_numpy()
    return report.attach(out)
