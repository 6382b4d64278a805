"""The main job: run every stage of a study and write its outputs.

:func:`compute_study` chains the stages; each takes the typed results of the stages it needs,
so the order follows from the data::

    territory → demography → network → offer → accessibility → isochrones → transition
              → scores → dynamics (offer against population dynamics)

:func:`run_study` wraps it: it checks the inputs and the output folder at the door, writes every
output into a staging folder and publishes them atomically (:mod:`geoattract._util.output_folder`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd

from geoattract._util.logs import run_log
from geoattract._util.output_folder import OutputFolder
from geoattract._util.progress import progress_bar
from geoattract.accessibility import Accessibility, build_accessibility
from geoattract.app.codes import resolve_codes
from geoattract.config import StudyConfig, load_study_config
from geoattract.demography import Demography, build_demography
from geoattract.demography.departements import departement_codes
from geoattract.facilities import build_offer, check_study_coverage
from geoattract.network import Network, build_network
from geoattract.outputs.national import check_departements
from geoattract.outputs.state import StudyState
from geoattract.routing import isochrones_for_communes
from geoattract.scoring import (
    DynamicsAnalysis,
    Scores,
    analyse_dynamics,
    build_scores,
    evaluate_plan,
)
from geoattract.scoring.plan_check import study_plan_at_door
from geoattract.territory import Territory, build_territory
from geoattract.transition import build_transition

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Stages of :func:`compute_study`, in order (for the progress bar and the timings).
STAGE_NAMES: tuple[str, ...] = (
    "territory",
    "demography",
    "network",
    "facilities",
    "accessibility",
    "isochrones",
    "transition",
    "scoring",
    "dynamics",
)


@dataclass
class StudyResult:
    """What a run produced, for scripts and tests.

    Attributes
    ----------
    state : StudyState
        The typed stage results.
    out_dir : Path
        Folder the outputs were written to.
    files : dict
        Output label → path (empty when nothing was published).
    timings : dict
        Stage name → seconds.
    warnings : list of str
        Warnings logged during the run.
    """

    state: StudyState
    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def config(self) -> StudyConfig:
        """The study configuration used."""
        return self.state.config

    @property
    def communes(self) -> gpd.GeoDataFrame:
        """The ``communes`` layer (as written to ``communes.gpkg``)."""
        return self.state.communes_layer()

    def timing_summary(self) -> str:
        """A small table of stage durations."""
        width = max((len(k) for k in self.timings), default=5)
        lines = [f"{name:<{width}}  {secs:8.2f} s" for name, secs in self.timings.items()]
        lines.append(f"{'total':<{width}}  {sum(self.timings.values()):8.2f} s")
        return "\n".join(lines)


class _Stages:
    """Run and time the stages, with one progress bar over them."""

    def __init__(self, names: Sequence[str], progress: bool) -> None:
        self.timings: dict[str, float] = {}
        self.bar = progress_bar(total=len(names), desc="geoattract", unit="stage", enabled=progress)

    def run(self, name: str, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        self.bar.set_postfix_str(name)
        t0 = time.perf_counter()
        result = func(*args, **kwargs)
        self.timings[name] = time.perf_counter() - t0
        logger.info("stage %s done in %.2f s", name, self.timings[name])
        self.bar.update()
        return result

    def close(self) -> None:
        self.bar.close()


def isochrone_codes(
    config: StudyConfig, territory: Territory, codes: Sequence[str] | None = None
) -> list[str]:
    """Communes whose isochrones the maps show, checked against the study (at the door).

    Raises
    ------
    DataError
        An unknown code or name (close names suggested).
    """
    wanted = codes or config.section("maps").get("isochrone_communes") or []
    return resolve_codes(list(wanted), territory.study) if wanted else []


def compute_study(
    config: StudyConfig,
    *,
    isochrones: bool = True,
    isochrone_communes: Sequence[str] | None = None,
    progress: bool = False,
    stages: _Stages | None = None,
    mapper: Callable[..., list[Any]] | None = None,
    departement_maps: Sequence[str] = (),
) -> StudyState:
    """Run every stage of a study in memory and return their typed results.

    Parameters
    ----------
    config : StudyConfig
        The study.
    isochrones : bool
        Compute the isochrones of every study commune.
    isochrone_communes : sequence of str, optional
        Codes or names checked right after the territory stage (see :func:`isochrone_codes`).
    progress : bool
        Progress bars.
    stages : _Stages, optional
        Timer shared with the caller.
    mapper : callable, optional
        Where the accessibility partitions of a study with ``[partitions] enabled`` run
        (``mapper(func, items, names)``: a dask cluster's; default this process).
    departement_maps : sequence of str
        Départements whose interactive map a national run draws, checked right after the
        territory stage.

    Returns
    -------
    StudyState
    """
    own = stages is None
    st = stages if stages is not None else _Stages(STAGE_NAMES, progress)
    try:
        territory = st.run("territory", build_territory, config)
        check_study_coverage(config, territory.communes)  # fail fast on uncovered categories
        isochrone_codes(config, territory, isochrone_communes)  # fail fast on a bad code
        check_departements(departement_maps, territory.communes["dep"].dropna().unique())
        # population dynamics: a CSV read, before the heavy stages so a bad file fails fast
        demography = st.run("demography", build_demography, config, territory.communes)
        network = st.run("network", build_network, config, territory.communes)
        offer = st.run("facilities", build_offer, config, territory.communes, verbose=progress)
        access = st.run(
            "accessibility",
            build_accessibility,
            config,
            territory.communes,
            network,
            offer,
            verbose=progress,
            mapper=mapper,
        )
        iso = (
            st.run(
                "isochrones",
                build_isochrones,
                config,
                territory,
                network,
                access,
                progress=progress,
            )
            if isochrones
            else None
        )
        transition = st.run(
            "transition", build_transition, config, territory.communes, access, verbose=progress
        )
        scores = st.run("scoring", build_scores, config, territory.communes, access, transition)
        dynamics = st.run("dynamics", offer_dynamics, config, demography, scores)
    finally:
        if own:
            st.close()
    return StudyState(
        config=config,
        territory=territory,
        network=network,
        offer=offer,
        accessibility=access,
        transition=transition,
        scores=scores,
        isochrones=iso,
        demography=demography,
        dynamics=dynamics,
    )


def offer_dynamics(
    config: StudyConfig, demography: Demography, scores: Scores
) -> DynamicsAnalysis | None:
    """Offer against population dynamics (None when the study has no population dynamics)."""
    if not demography.available:
        return None
    return analyse_dynamics(demography.table, scores, seed=config.section("scoring").get("seed"))


def build_isochrones(
    config: StudyConfig,
    territory: Territory,
    network: Network,
    accessibility: Accessibility,
    *,
    progress: bool,
) -> gpd.GeoDataFrame:
    """Isochrones of every study commune, from town halls joined as every other indicator's.

    The network's rule and the communes' dense-commune delays are the accessibility stage's
    (the same access legs); shape, method and grid resolution from the study's ``[maps]``.
    """
    maps = config.section("maps")
    options = {
        key: maps[name]
        for key, name in (
            ("shape", "isochrone_shape"),
            ("method", "isochrone_method"),
            ("resolution_m", "isochrone_resolution_m"),
        )
        if maps.get(name) is not None
    }
    return isochrones_for_communes(
        network,
        territory.communes,
        minutes=config.thresholds_min,
        progress=progress,
        **options,
    )


def run_study(
    config: StudyConfig | str | os.PathLike | None = None,
    *,
    data_dir: str | os.PathLike | None = None,
    out_dir: str | os.PathLike | None = None,
    progress: bool = False,
    publish: bool = True,
    isochrone_communes: Sequence[str] | None = None,
    isochrones: bool = True,
    maps: bool = True,
    network: str | os.PathLike | None = None,
    engine: str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    departement_maps: Sequence[str] = (),
) -> StudyResult:
    """Run the whole study and write its outputs.

    Parameters
    ----------
    config : StudyConfig, str or path-like, optional
        The study: a configuration, the name of a shipped study (``lot-et-garonne``,
        ``france``) or a TOML file; defaults to ``lot-et-garonne``.
    data_dir : path-like, optional
        Data folder override.
    out_dir : path-like, optional
        Output folder; defaults to the configuration's ``study.output_dir`` (``maps/``).
    progress : bool
        Progress bars over the stages and the long loops.
    publish : bool
        Write and publish the outputs (False: compute in memory only, nothing written).
    isochrone_communes : sequence of str, optional
        Communes whose isochrones the maps show (default ``[maps] isochrone_communes``).
    isochrones : bool
        Compute the isochrones of every study commune (``isochrones.gpkg``).
    maps : bool
        Draw the interactive and printable maps and the report (False: GeoPackages and tables
        only, for a quick run).
    network : str or path-like, optional
        Road network source replacing ``[network] source`` (``"schematic"``, ``"online"`` or
        a file).
    engine, scheduler, workers
        Where a study at national scale (``[partitions] enabled``) runs its partitions:
        ``"dask"`` (default: a LocalCluster of ``workers``, or the cluster at ``scheduler``)
        or ``"local"`` (this process); overrides of its ``[dask]`` section.
    departement_maps : sequence of str
        A national run also draws the interactive map of these départements.

    Returns
    -------
    StudyResult

    Raises
    ------
    ConfigError, DataError
        Bad configuration or input, unwritable or busy output folder: raised before any heavy
        work, leaving the previous outputs untouched.

    Examples
    --------
    >>> import tempfile
    >>> import geoattract as ga
    >>> out = tempfile.mkdtemp()
    >>> result = ga.run_study(ga.datasets.tiny_config(), out_dir=out, maps=False)
    >>> len(result.communes), sorted(result.files)[:2]
    (6, ['afom.csv', 'afom.json'])
    >>> int(result.communes["rank_general"].min())
    1
    """
    cfg = load_study_config(config, data_dir)
    departement_codes(departement_maps, "--departement-maps")  # before any file is read
    if network is not None:
        cfg = cfg.with_section("network", source=str(network))
    plan = study_plan_at_door(cfg)
    out = Path(out_dir) if out_dir is not None else Path(cfg.study["output_dir"])
    with OutputFolder(out, publish=publish) as folder:
        with run_log(folder.staging / "run.log") as warnings:
            for name in folder.leftovers:
                logger.info("removed %s, left by an interrupted run", name)
            more = ("plan", "outputs") if plan is not None else ("outputs",)
            stages = _Stages((*STAGE_NAMES, *more), progress)
            national = bool(cfg.section("partitions").get("enabled"))
            cluster: Any = contextlib.nullcontext()
            if national:
                from geoattract._util.cluster import Engine, engine_options
                from geoattract.routing.partition import warm_up_kernels

                options = engine_options(
                    cfg, engine=engine, scheduler=scheduler, workers=workers, progress=progress
                )
                cluster = Engine(options, warm_up=warm_up_kernels)
            figures = None
            try:
                with cluster as running:
                    state = compute_study(
                        cfg,
                        isochrones=isochrones and not national,
                        isochrone_communes=isochrone_communes,
                        progress=progress,
                        stages=stages,
                        mapper=running.map if running is not None else None,
                        departement_maps=departement_maps,
                    )
                if publish:
                    from geoattract.outputs.write import start_figures, write_outputs

                    # the printed figures are drawn by worker processes from here on, while
                    # the plan is evaluated and the other outputs written (counted in outputs)
                    t0 = time.perf_counter()
                    figures = start_figures(state, folder.staging, maps=maps)
                    started_s = time.perf_counter() - t0
                if plan is not None:
                    state = replace(state, plan=stages.run("plan", evaluate_plan, state, plan))
                result = StudyResult(state=state, out_dir=out, timings=stages.timings)
                if publish:
                    codes = isochrone_codes(cfg, state.territory, isochrone_communes)
                    staged = stages.run(
                        "outputs",
                        write_outputs,
                        state,
                        folder.staging,
                        codes,
                        stages.timings,
                        maps=maps,
                        departements=departement_maps,
                        figures=figures,
                    )
                    stages.timings["outputs"] += started_s
            finally:
                if figures is not None:
                    figures.close()  # a failed run does not wait for its figures
                stages.close()
        if publish:
            staged["run.log"] = folder.staging / "run.log"
            result.files = folder.publish(staged)
        result.warnings = list(warnings.messages)
    return result
