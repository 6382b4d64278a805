"""Back end of ``geoattract scenario --rail-link … / --rail-scenario …``: a rail what-if.

Every edit is checked before the study is computed (a few seconds at most: the study file,
the catalogue and the station file): a malformed link, an unknown scenario, station or pole
is a one-line error.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from geoattract._util.io import write_text_atomic
from geoattract.config.study import StudyConfig
from geoattract.scoring.rail_check import check_rail_scenario

logger = logging.getLogger(__name__)


def rail_scenario_command(
    cfg: StudyConfig,
    links: Sequence[str],
    scenarios: Sequence[str],
    *,
    profile: str = "general",
    top: int = 15,
    out: str | os.PathLike | None = None,
    verbose: bool = False,
) -> str:
    """Run a rail scenario on the study and return the text summary.

    Parameters
    ----------
    cfg : StudyConfig
        The study (checked at the door: profile, output path by the caller).
    links : sequence of str
        ``STATION:POLE:MINUTES[:TRAINS]`` edits.
    scenarios : sequence of str
        Named scenarios of ``[scenarios]``.
    profile : str
        Profile of the score table shown.
    top : int
        Communes listed in the score table.
    out : path-like, optional
        CSV of every commune's changes: scores of every profile and the door-to-metropole
        times before and after.
    verbose : bool
        Progress bars.

    Returns
    -------
    str
    """
    from geoattract.app.pipeline import compute_study
    from geoattract.outputs import Labels
    from geoattract.outputs.scenario_text import rail_scenario_lines
    from geoattract.scoring import run_rail_scenario

    spec, edits = check_rail_scenario(cfg, links, scenarios)
    state = compute_study(cfg, isochrones=False, progress=verbose)
    res = run_rail_scenario(
        state.territory.communes,
        state.accessibility,
        state.transition,
        state.scores,
        scenarios=list(scenarios),
        links=edits,
    )
    metro = state.accessibility.metropolitan
    assert metro is not None  # checked at the door
    labels = Labels.from_configs(state.scores.config, state.offer.catalogue)
    msc = res.metro
    if out is not None:
        times = msc.changes.drop(columns=["nom"])
        frames = [
            ch.assign(profile=p).merge(times, on="code", how="left")
            for p, ch in res.changes.items()
        ]
        write_text_atomic(out, pd.concat(frames, ignore_index=True).to_csv(index=False))
    lines = rail_scenario_lines(
        res, metro.population, spec.reference_min, state.scores.config, labels, profile, top
    )
    if out is not None:
        lines.append(f"\nChangements par commune écrits dans {Path(out)}")
    return "\n".join(lines)
