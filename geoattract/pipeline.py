"""The main job: run every stage of a study and write its outputs.

:func:`run_study` chains the stages (territory → network → facilities → accessibility →
transition → scoring → maps and report). Each stage is a plain function of the previous
results; the runner only times them, shows one progress bar per stage when ``verbose`` and
writes the outputs.

Outputs are staged in a temporary folder inside the output folder and moved into place
only once every stage has succeeded, each file with an atomic :func:`os.replace`: a failed or
interrupted run leaves the previous outputs intact and readable.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
from tqdm.auto import tqdm

from ._io import write_gpkg_atomic, write_text_atomic
from .config import StudyConfig, load_study_config
from .territory import load_territory

__all__ = ["StudyResult", "run_study"]

logger = logging.getLogger(__name__)

#: Prefix of the staging folder created inside the output folder during a run.
STAGING_PREFIX = ".staging-"


@dataclass
class StudyResult:
    """Everything a run produced, for scripts and tests.

    Attributes
    ----------
    config : StudyConfig
    out_dir : Path
        Folder the outputs were written to.
    files : dict
        Output label → path.
    timings : dict
        Stage name → seconds.
    data : dict
        Stage outputs kept in memory (``territory``, ``graph``, ``communes``…).
    """

    config: StudyConfig
    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    def timing_summary(self) -> str:
        """A small table of stage durations."""
        width = max((len(k) for k in self.timings), default=5)
        lines = [f"{name:<{width}}  {secs:8.2f} s" for name, secs in self.timings.items()]
        lines.append(f"{'total':<{width}}  {sum(self.timings.values()):8.2f} s")
        return "\n".join(lines)


Stage = Callable[["_Context"], None]


@dataclass
class _Context:
    config: StudyConfig
    staging: Path
    verbose: bool
    data: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)


def _stage_territory(ctx: _Context) -> None:
    terr = load_territory(ctx.config)
    ctx.data["territory"] = terr
    study = terr[terr["in_study"]].copy()
    ctx.data["communes"] = study
    ctx.metadata.update(
        {
            "study": ctx.config.name,
            "departement": ctx.config.departement,
            "buffer_km": str(ctx.config.buffer_m / 1000),
            "territory_report": terr.attrs["report"].summary(),
        }
    )


def _stage_write(ctx: _Context) -> None:
    communes = ctx.data["communes"]
    layer = _gpkg_ready(communes)
    path = ctx.staging / "communes.gpkg"
    write_gpkg_atomic(path, {"communes": layer}, metadata=ctx.metadata)
    ctx.files["communes.gpkg"] = path
    terr = _gpkg_ready(ctx.data["territory"])
    path = ctx.staging / "territory.gpkg"
    write_gpkg_atomic(path, {"territory": terr}, metadata=ctx.metadata)
    ctx.files["territory.gpkg"] = path
    summary = {"study": ctx.config.name, "files": sorted(ctx.files), "metadata": ctx.metadata}
    path = ctx.staging / "run.json"
    write_text_atomic(path, json.dumps(summary, indent=2, ensure_ascii=False))
    ctx.files["run.json"] = path


def _gpkg_ready(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drop or convert columns a GeoPackage cannot hold (extra geometry columns → WKT)."""
    out = gdf.copy()
    for col in out.columns:
        if col != out.geometry.name and isinstance(out[col], gpd.GeoSeries):
            out[col] = out[col].to_wkt()
    return out


#: The stages of :func:`run_study`, in order.
STAGES: list[tuple[str, Stage]] = [
    ("territory", _stage_territory),
    ("write", _stage_write),
]


def run_study(
    config: StudyConfig | str | os.PathLike | None = None,
    *,
    data_dir: str | os.PathLike | None = None,
    out_dir: str | os.PathLike | None = None,
    verbose: bool = False,
) -> StudyResult:
    """Run the whole study pipeline and write its outputs.

    Parameters
    ----------
    config : StudyConfig or path-like, optional
        Study configuration or its TOML file; defaults to Lot-et-Garonne.
    data_dir : path-like, optional
        Data folder override.
    out_dir : path-like, optional
        Output folder; defaults to the configuration's ``study.output_dir`` (``maps/``).
    verbose : bool
        Show one progress bar per stage.

    Returns
    -------
    StudyResult
    """
    cfg = (
        config if isinstance(config, StudyConfig) else load_study_config(config, data_dir=data_dir)
    )
    out = Path(out_dir) if out_dir is not None else Path(cfg.study["output_dir"])
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out))
    ctx = _Context(config=cfg, staging=staging, verbose=verbose)
    result = StudyResult(config=cfg, out_dir=out)
    try:
        bar = tqdm(STAGES, desc="geoattract run", unit="stage", disable=not verbose)
        for name, stage in bar:
            bar.set_postfix_str(name)
            t0 = time.perf_counter()
            stage(ctx)
            result.timings[name] = time.perf_counter() - t0
            logger.info("stage %s done in %.2f s", name, result.timings[name])
        result.files = _publish(ctx.files, staging, out)
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
    result.data = ctx.data
    return result


def _publish(files: dict[str, Path], staging: Path, out: Path) -> dict[str, Path]:
    """Move staged files into the output folder, each with an atomic rename."""
    published: dict[str, Path] = {}
    for label, path in files.items():
        rel = path.relative_to(staging)
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        published[label] = target
    return published
