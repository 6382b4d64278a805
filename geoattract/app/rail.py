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
from geoattract.app.rail_check import check_rail_scenario
from geoattract.config.study import StudyConfig

logger = logging.getLogger(__name__)

#: Communes listed among those whose door-to-metropole time falls most.
TOP_GAINS = 10


def _population_lines(base: pd.DataFrame, after: pd.DataFrame, ref: int) -> list[str]:
    def pick(pop: pd.DataFrame) -> pd.Series:
        sel = pop[(pop["level"] == "departement") & (pop["threshold_min"] == ref)]
        sel = sel[sel["mode"] == "meilleur"]
        return sel.groupby("pole_nom", sort=False)["population_within"].sum()

    b, a = pick(base), pick(after)
    return [
        f"  {name} : {b[name]:,.0f} → {a[name]:,.0f} ({a[name] - b[name]:+,.0f})".replace(",", " ")
        for name in b.index
    ]


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
    from geoattract.accessibility import top_gains
    from geoattract.app.pipeline import compute_study
    from geoattract.app.scenario_text import explained_table, fr_decimals, scenario_table
    from geoattract.app.tables import fit_table
    from geoattract.outputs import Labels
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
    ref = spec.reference_min
    gains = top_gains(msc.changes, TOP_GAINS)
    epci = msc.epci[msc.epci["population_newly_within_metropole"] > 0]
    times = pd.DataFrame(
        {
            "Code": gains["code"],
            "Commune": gains["nom"],
            "Avant (min)": gains["time_metropole_best_min_before"].map(lambda v: fr_decimals(v, 1)),
            "Après (min)": gains["time_metropole_best_min_after"].map(lambda v: fr_decimals(v, 1)),
        }
    )
    by_epci = pd.DataFrame(
        {
            "EPCI": epci["epci_nom"],
            "Habitants": epci["population_newly_within_metropole"].map(lambda v: fr_decimals(v, 0)),
        }
    )
    lines = [
        f"Scénario ferroviaire : {res.label}",
        f"Population du département à moins de {ref} min d'une métropole (tous modes) :",
        *_population_lines(metro.population, msc.population, ref),
        "",
        f"Les {len(gains)} communes dont le temps porte-à-porte baisse le plus :",
        fit_table(times, keys=["Code", "Commune"]),
        "",
        f"Population qui passe à moins de {ref} min d'une métropole, par EPCI :",
        fit_table(by_epci, keys=["EPCI"]) if len(epci) else "  aucune",
        "",
        *explained_table(
            res.changes,
            profile,
            res.changed_columns,
            state.scores.config,
            labels,
            lambda rows: scenario_table(rows, labels),
            top,
        ),
    ]
    if out is not None:
        lines.append(f"\nChangements par commune écrits dans {Path(out)}")
    return "\n".join(lines)
