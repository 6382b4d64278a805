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
from geoattract.config.metro import (
    MetroSpec,
    RailLink,
    check_rail_edits,
    parse_rail_link,
    scenario_edits,
)
from geoattract.config.study import StudyConfig
from geoattract.errors import DataError

logger = logging.getLogger(__name__)

#: Communes listed among those whose door-to-metropole time falls most.
TOP_GAINS = 10


def station_ids(cfg: StudyConfig, category: str) -> set[str]:
    """UIC codes of the stations of a catalogue category (:func:`catalogue_stations`)."""
    from geoattract.accessibility import catalogue_stations

    return set(catalogue_stations(cfg, category).index)


def check_rail_scenario(
    cfg: StudyConfig, links: Sequence[str], scenarios: Sequence[str]
) -> tuple[MetroSpec, list[RailLink]]:
    """Parse and check rail edits at the door (no routing).

    Raises
    ------
    DataError
        A malformed link, a study without metropole, an unknown scenario, station or pole.
    """
    edits = [parse_rail_link(t) for t in links]
    spec = MetroSpec.from_config(cfg)
    if spec is None:
        raise DataError(f"{cfg.path}: rail scenario, but the study declares no metropole ([poles])")
    stations, all_edits, _ = scenario_edits(spec, list(scenarios), edits)
    known = station_ids(cfg, spec.station_category) | {s.id for s in stations}
    check_rail_edits(all_edits, spec, known)
    return spec, edits


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
    ch = res.summary(profile, top)
    from geoattract.app.tables import fit_table, fr_decimals, scenario_table
    from geoattract.outputs import Labels
    from geoattract.scoring import load_scoring_config
    from geoattract.scoring.scenario import unmoved_note

    labels = Labels.from_configs(load_scoring_config(cfg.config_file("scoring")))
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
        f"Indicateurs notés modifiés : {', '.join(labels.column(c) for c in res.changed_columns) or '-'}",
        f"Population du département à moins de {ref} min d'une métropole (tous modes) :",
        *_population_lines(metro.population, msc.population, ref),
        "",
        f"Les {len(gains)} communes dont le temps porte-à-porte baisse le plus :",
        fit_table(times, keys=["Code", "Commune"]),
        "",
        f"Population qui passe à moins de {ref} min d'une métropole, par EPCI :",
        fit_table(by_epci, keys=["EPCI"]) if len(epci) else "  aucune",
        "",
        f"Scores ({labels.profile(profile)}) :",
        fit_table(scenario_table(ch, labels), keys=["Code", "Commune"])
        if len(ch)
        else unmoved_note(res.changes, profile, labels),
    ]
    if out is not None:
        lines.append(f"\nChangements par commune écrits dans {Path(out)}")
    return "\n".join(lines)
