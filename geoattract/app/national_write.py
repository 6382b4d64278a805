"""Outputs of a national run: the communes GeoPackage, the département summary, the maps.

See :mod:`geoattract.app.national` for the list of files. No 35,000-polygon HTML is written:
the national maps are static PNGs; an interactive map is drawn per département on request.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract._util.io import write_bytes_atomic, write_gpkg_atomic, write_text_atomic
from geoattract.app.cluster import EngineOptions
from geoattract.app.logs import run_log
from geoattract.app.national import NationalState, compute_national
from geoattract.app.publish import OutputFolder
from geoattract.config import StudyConfig
from geoattract.errors import DataError, format_values

logger = logging.getLogger(__name__)

#: Indicators drawn on the national static maps (when present).
MAP_COLUMNS: tuple[str, ...] = (
    "time_gp_min",
    "count_gp_20min",
    "e2sfca_gp",
    "time_maternity_min",
    "time_prefecture_min",
    "time_regional_capital_min",
    "time_paris_min",
    "score_general",
)

#: Polygon simplification of the national static maps (metres): invisible at that scale.
STATIC_SIMPLIFY_M: float = 300.0

#: Definition and unit of each national column (the sources come from the run).
DEFINITIONS: dict[str, tuple[str, str]] = {
    "time_{c}_min": ("drive time to the nearest facility (NaN: unreachable, flag set)", "min"),
    "count_{c}_{t}min": ("facilities within {t} min by road (BPE counts)", "count"),
    "e2sfca_{c}": ("E2SFCA potential accessibility per 100,000 inhabitants", "per 100,000"),
    "unreachable_{c}": ("no facility reachable on the road network", "bool"),
}


def _score(state: NationalState, study: np.ndarray) -> pd.DataFrame:
    """The scoring profiles over the study communes (empty when no scoring file)."""
    from geoattract.scoring import composite_scores, load_scoring_config

    if not state.config.raw.get("configs", {}).get("scoring"):
        return pd.DataFrame(index=state.table.index[study])
    scfg = load_scoring_config(state.config.config_file("scoring"))
    com = state.territory.communes
    ind = pd.concat([com[["code"]], state.table], axis=1)[study]
    frames = [composite_scores(ind, scfg, profile) for profile in scfg.profiles]
    return pd.concat(frames, axis=1)


def communes_layer(state: NationalState) -> gpd.GeoDataFrame:
    """Every study commune with its indicators, flags and scores.

    Buffer communes (a study with ``buffer_km``) serve as demand and supply, and are left out
    as the study pipeline leaves them out. Communes without any location (no polygon, no
    town hall) are rows too, with no indicator and ``location_missing`` set.
    """
    study = state.territory.communes["in_study"].to_numpy(dtype=bool)
    com = state.territory.communes.drop(columns=["town_hall"])[study]
    table = pd.concat([com, state.table[study], _score(state, study)], axis=1)
    table["location_missing"] = False
    absent = state.territory.communes.attrs.get("locations_missing")
    if absent is not None and len(absent):
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
        table[col] = table[col].fillna(True).astype(bool)  # no location: nothing reachable
    for col in ("in_study", "town_hall_replaced", "population_missing", "polygon_missing"):
        if col in table:
            table[col] = table[col].fillna(False).astype(bool)
    return gpd.GeoDataFrame(table, geometry="geometry", crs=com.crs)


def columns_table(state: NationalState, layer: pd.DataFrame) -> pd.DataFrame:
    """One row per column: definition, unit, source and vintage."""
    network = state.network.attrs
    roads = f"{network.get('source', '')}, {network.get('source_date', '')}"
    vintages = state.offer.facilities.attrs["report"].vintages
    rows = []
    for col in layer.columns:
        if col == "geometry":
            continue
        definition, unit, source = "", "", "INSEE COG 2025; populations légales 2023"
        for cid, vintage in vintages.items():
            for pattern, (text, u) in DEFINITIONS.items():
                for t in (10, 15, 20, 30, 45):
                    if col == pattern.format(c=cid, t=t):
                        definition, unit = text.format(t=t), u
                        source = f"{vintage}; roads: {roads}"
        if col.startswith("time_") and not definition:
            definition, unit = f"drive time ({col[5:-4].replace('_', ' ')})", "min"
            source = f"roads: {roads}; places: INSEE COG 2025 chefs-lieux"
        if col.startswith(("score_", "rank_", "pillar_")):
            source = "geoattract scoring (scoring.toml)"
        rows.append({"column": col, "definition": definition, "unit": unit, "source": source})
    return pd.DataFrame(rows)


def departement_summary(layer: pd.DataFrame) -> pd.DataFrame:
    """One row per département: communes, population, population-weighted means, flags."""
    pop = layer["population"].fillna(0.0)
    out = pd.DataFrame({"communes": layer.groupby("dep").size()})
    out["population"] = pop.groupby(layer["dep"]).sum()
    for col in ("time_gp_min", "e2sfca_gp", "time_maternity_min", "time_prefecture_min"):
        if col in layer:
            ok = layer[col].notna()
            num = (layer[col].where(ok, 0.0) * pop).groupby(layer["dep"]).sum()
            den = pop.where(ok, 0.0).groupby(layer["dep"]).sum()
            out[f"{col}_popmean"] = num / den.replace(0.0, np.nan)
    if "time_maternity_min" in layer:
        far = (layer["time_maternity_min"] > 45).astype(float) * pop
        out["population_maternity_over_45min"] = far.groupby(layer["dep"]).sum()
    for col in [c for c in layer.columns if c.startswith("unreachable_")] + [
        "town_hall_unsnapped",
        "polygon_missing",
    ]:
        if col in layer:
            out[col] = layer[col].astype(bool).groupby(layer["dep"]).sum()
    if "score_general" in layer:
        out["score_general_median"] = layer.groupby("dep")["score_general"].median()
    return out.reset_index()


def static_maps(layer: gpd.GeoDataFrame, folder: Path, config: StudyConfig) -> dict[str, Path]:
    """One national PNG per indicator (polygons simplified; communes without polygon left out)."""
    from geoattract.outputs import figure_png, static_map

    shapes = layer[layer.geometry.notna()].copy()
    shapes["geometry"] = shapes.geometry.simplify(STATIC_SIMPLIFY_M)
    files = {}
    for col in [c for c in MAP_COLUMNS if c in layer]:
        fig = static_map(shapes, col, title=f"{config.name} — {col}")
        files[f"static/{col}.png"] = write_bytes_atomic(
            folder / "static" / f"{col}.png", figure_png(fig)
        )
    return files


def departement_maps(
    layer: gpd.GeoDataFrame, departements: Sequence[str], folder: Path
) -> dict[str, Path]:
    """An interactive map of the main score (or GP time) per requested département."""
    from geoattract.outputs import choropleth_map, render_map_html

    unknown = sorted(set(departements) - set(layer["dep"]))
    if unknown:
        raise DataError(f"--departement-maps: unknown département(s) {format_values(unknown)}")
    column = "score_general" if "score_general" in layer else "time_gp_min"
    files = {}
    for dep in departements:
        rows = layer[(layer["dep"] == dep) & layer.geometry.notna()]
        m = choropleth_map(rows, column, title=f"{dep} — {column}")
        files[f"departements/{dep}.html"] = write_text_atomic(
            folder / "departements" / f"{dep}.html", render_map_html(m)
        )
    return files


def _metadata(state: NationalState) -> dict[str, str]:
    stats = state.stats
    engine = stats.get("engine_stats")
    meta = {
        "study": state.config.name,
        "territory": state.config.territory.describe(),
        "communes": str(len(state.territory.communes)),
        "network": str(state.network.attrs.get("source", "")),
        "network_parts": ", ".join(stats.get("network_parts", ())),
        "engine": str(stats.get("engine")),
        "partitions": str(stats.get("partitions")),
        "widened_communes": json.dumps(stats.get("widened", [])),
        "polygons_missing": ", ".join(state.territory.report.polygons_missing),
        "vintage_adjustments": json.dumps(state.offer.facilities.attrs["report"].adjustments),
        "timings_s": json.dumps({k: round(v, 2) for k, v in stats.get("timings", {}).items()}),
    }
    if engine is not None:
        meta["peak_rss_mb"] = json.dumps(
            {k: round(v / 2**20) for k, v in engine.peak_rss_bytes.items()}
        )
    return meta


def write_national(
    state: NationalState, folder: Path, departements: Sequence[str] = (), maps: bool = True
) -> dict[str, Path]:
    """Write a national run's outputs into ``folder``."""
    layer = communes_layer(state)
    files: dict[str, Path] = {}
    files["communes.gpkg"] = write_gpkg_atomic(
        folder / "communes.gpkg",
        {"communes": layer, "columns": columns_table(state, layer)},
        metadata=_metadata(state),
    )
    summary = departement_summary(layer)
    files["departements.csv"] = write_text_atomic(
        folder / "departements.csv", summary.to_csv(index=False, float_format="%.3f")
    )
    if maps:
        files.update(static_maps(layer, folder, state.config))
    if departements:
        files.update(departement_maps(layer, departements, folder))
    return files


def engine_options(
    config: StudyConfig,
    *,
    engine: str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> EngineOptions:
    """Engine options from the ``[dask]`` section, overridden by the command line."""
    section = config.section("dask")
    return EngineOptions(
        engine=engine or "dask",
        scheduler=scheduler,
        workers=int(workers or section.get("workers", 2)),
        threads_per_worker=int(section.get("threads_per_worker", 1)),
        memory_limit=str(section.get("memory_limit", "auto")),
        retries=int(section.get("retries", 1)),
        progress=progress,
    )


def run_national(
    config: StudyConfig,
    out_dir: str | os.PathLike,
    options: EngineOptions,
    *,
    departements: Sequence[str] = (),
    maps: bool = True,
) -> dict[str, Any]:
    """Compute a national study and publish its outputs atomically in ``out_dir``.

    Returns
    -------
    dict
        ``state`` (NationalState), ``files`` (label → path), ``warnings`` (messages).
    """
    out = Path(out_dir)
    with OutputFolder(out) as folder:
        with run_log(folder.staging / "run.log") as warnings:
            state = compute_national(config, options)
            t0 = time.perf_counter()
            staged = write_national(state, folder.staging, departements, maps=maps)
            state.stats["timings"]["outputs"] = time.perf_counter() - t0
        staged["run.log"] = folder.staging / "run.log"
        files = folder.publish(staged)
    logger.info("national run %s: %d communes written to %s", config.name, len(state.table), out)
    return {"state": state, "files": files, "warnings": list(warnings.messages)}
