"""Back end of ``geoattract atelier merge``: reconcile the weights several groups saved.

Every weight file, the Monte Carlo draws and the output folder are checked first (one-line
error, exit code 2); then the indicator table is read from a finished run
(``--results DIR``: its ``communes.gpkg`` and ``territory.gpkg``) or the study is recomputed
without isochrones, and :func:`~geoattract.scoring.consensus.merge_weight_sets` and
:func:`~geoattract.outputs.atelier_merge.write_merge_outputs` do the work.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from geoattract.config.study import StudyConfig, load_study_config
from geoattract.errors import DataError
from geoattract.outputs.results import RunInputs, read_run_inputs

logger = logging.getLogger(__name__)

#: Sub-folder of the results written by ``atelier merge`` when ``--out`` is not given.
MERGE_FOLDER: str = "atelier"


def _computed(cfg: StudyConfig, progress: bool) -> RunInputs:
    from geoattract.app.pipeline import compute_study
    from geoattract.outputs import make_basemap, roads_from_graph
    from geoattract.outputs.write import report_context

    state = compute_study(cfg, isochrones=False, progress=progress)
    communes = state.communes_layer()
    basemap = make_basemap(state.territory.communes, roads_from_graph(state.network.graph))
    return RunInputs(state.scores.indicators, communes, basemap, report_context(state))


def atelier_merge_command(
    files: Sequence[str | os.PathLike],
    *,
    out: str | os.PathLike | None = None,
    results: str | os.PathLike | None = None,
    draws: int | None = None,
    config: StudyConfig | str | os.PathLike | None = None,
    data_dir: Any = None,
    verbose: bool = False,
) -> tuple[str, dict[str, Path]]:
    """Merge the weight files of several workshop groups.

    Parameters
    ----------
    files : sequence of path-like
        Weight files saved by ``atelier.html`` (two or more).
    out : path-like, optional
        Output folder (default ``<results>/atelier``, else ``<output_dir>/atelier``).
    results : path-like, optional
        Folder of a finished ``geoattract run`` (its ``communes.gpkg``); the study is
        recomputed (without isochrones) when not given and the default output folder has no
        scored ``communes.gpkg``.
    draws : int, optional
        Monte Carlo draws in all (default ``[montecarlo] n`` of the scoring file).
    config, data_dir
        The study.
    verbose : bool
        Progress bars.

    Returns
    -------
    (str, dict)
        The summary text and the written files.

    Raises
    ------
    ConfigError
        A weight file of another study, with an unknown profile, pillar or indicator, a
        negative weight…; two files of the same group; fewer than two files.
    DataError
        ``--results`` without a scored ``communes.gpkg``; an unwritable output folder.
    """
    from geoattract._util.output_folder import check_output_folder
    from geoattract.scoring import load_scoring_config
    from geoattract.scoring.consensus import group_keys, merge_summary, merge_weight_sets
    from geoattract.scoring.weights import read_weight_set

    cfg = load_study_config(config, data_dir)
    scfg = load_scoring_config(cfg.config_file("scoring"))
    sets = [read_weight_set(f, scfg, cfg.name) for f in files]
    group_keys(sets)
    n = int(scfg.montecarlo["n"] if draws is None else draws)
    if n < 2 * len(sets):
        raise DataError(
            f"atelier merge: --draws {n} is too few for {len(sets)} groups; give at least "
            f"{2 * len(sets)}"
        )
    base = Path(results) if results is not None else Path(cfg.study["output_dir"])
    gpkg = base / "communes.gpkg"
    if results is not None and not gpkg.is_file():
        raise DataError(f"{gpkg}: not found; run `geoattract run --out {base}` first")
    folder = Path(out) if out is not None else base / MERGE_FOLDER
    check_output_folder(folder)
    if gpkg.is_file():
        logger.info("atelier merge: indicators read from %s", gpkg)
        inputs = read_run_inputs(base, cfg, scfg)
    else:
        logger.info("atelier merge: no results in %s, computing the study", base)
        inputs = _computed(cfg, verbose)
    from geoattract.outputs.atelier_merge import write_merge_outputs

    result = merge_weight_sets(inputs.table, scfg, sets, n=n)
    written = write_merge_outputs(
        folder,
        result,
        inputs.communes,
        scfg,
        study=cfg.name,
        context=inputs.context,
        basemap=inputs.basemap,
    )
    text = merge_summary(result) + f"\nÉcrit dans {folder} : " + ", ".join(written)
    return text, written
