"""A finished run read back from its outputs: the commune layer, basemap and caption.

``geoattract atelier merge --results DIR`` reconciles weights on a run already written, without
computing the study again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geoattract.config.study import StudyConfig
from geoattract.errors import DataError
from geoattract.outputs.basemap import make_basemap
from geoattract.outputs.context import ReportContext
from geoattract.outputs.labels import Labels

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunInputs:
    """The commune table, polygons, basemap and report context of a study."""

    table: pd.DataFrame
    communes: gpd.GeoDataFrame
    basemap: Any
    context: Any


@dataclass(frozen=True)
class RunCaption:
    """The network caption a finished run recorded in its ``run.json``."""

    text_fr: str
    schematic: bool = False


def run_caption(folder: Path) -> RunCaption | None:
    """The network caption a run recorded in its ``run.json`` (None when unreadable)."""
    try:
        meta = json.loads((folder / "run.json").read_text(encoding="utf-8"))["metadata"]
        return RunCaption(str(meta["network"]["caption"]), bool(meta["network"]["schematic"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_run_inputs(folder: Path, cfg: StudyConfig, scfg: Any) -> RunInputs:
    """A finished run's commune table, polygons, basemap and report context (its outputs)."""
    communes = gpd.read_file(folder / "communes.gpkg", layer="communes")
    basemap = None
    territory = folder / "territory.gpkg"
    if territory.is_file():
        basemap = make_basemap(gpd.read_file(territory, layer="territory"))
    context = ReportContext.build(
        cfg.name,
        labels=Labels.from_configs(scfg),
        caption=run_caption(folder),
        sources=cfg.raw.get("sources", []),
    )
    return RunInputs(pd.DataFrame(communes.drop(columns="geometry")), communes, basemap, context)


def read_scored_communes(folder: Path, *, required: bool = False) -> gpd.GeoDataFrame | None:
    """The scored ``communes`` layer of a finished run in ``folder`` (None when absent).

    Raises
    ------
    DataError
        ``required`` and the folder holds no scored commune layer.
    """
    gpkg = Path(folder) / "communes.gpkg"
    if gpkg.is_file():
        table = gpd.read_file(gpkg, layer="communes").copy()
        if any(c.startswith("score_") for c in table.columns):
            logger.info("scores read from %s", gpkg)
            return table
    if required:
        raise DataError(
            f"{gpkg}: no scored commune layer; run `geoattract run --out {folder}` first"
        )
    return None
