"""The printed score tables of a scenario, that explain themselves.

Each table says which indicators the scenario changed and which profiles weight them (from
the study's ``scoring.toml``), lists only the communes whose score moves, sorted by the size
of the change, and, when nothing moves for the profile asked, says so in one line and stops.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from geoattract.outputs.console import fit_table
from geoattract.scoring import weighting_profiles

#: A score change smaller than this is no change (rounding of the aggregation).
SCORE_EPS = 1e-9


def fr_decimals(value: Any, decimals: int) -> str:
    """A number in French format with ``decimals`` decimals; ``n.d.`` when missing."""
    from geoattract.outputs.html import fr_number

    return "n.d." if pd.isna(value) else fr_number(value, decimals)


def fr_signed(value: Any, decimals: int) -> str:
    """As :func:`fr_decimals`, with a ``+`` before a positive number."""
    text = fr_decimals(value, decimals)
    return f"+{text}" if text != "n.d." and float(value) > 0 else text


def scenario_table(changes: pd.DataFrame, labels: Any) -> pd.DataFrame:
    """The communes given, with French headers and numbers (``n.d.`` when missing).

    One ``dont <pilier>`` column per pillar whose contribution moves in these rows.
    """
    out = pd.DataFrame(
        {
            "Code": changes["code"],
            "Commune": changes["nom"],
            "Score avant": changes["score_before"].map(lambda v: fr_decimals(v, 2)),
            "Score après": changes["score_after"].map(lambda v: fr_decimals(v, 2)),
            "Écart": changes["score_change"].map(lambda v: fr_signed(v, 3)),
            "Rang avant": changes["rank_before"].map(lambda v: fr_decimals(v, 0)),
            "Rang après": changes["rank_after"].map(lambda v: fr_decimals(v, 0)),
            "Écart de rang": changes["rank_change"].map(lambda v: fr_signed(v, 0)),
        }
    )
    for col in [c for c in changes.columns if c.startswith("contribution_")]:
        if not (changes[col].abs() > SCORE_EPS).any():
            continue  # a pillar the scenario does not move
        pillar = col[len("contribution_") :]
        out[f"dont {labels.pillar(pillar).lower()}"] = changes[col].map(lambda v: fr_signed(v, 3))
    return out


def moved(changes: pd.DataFrame) -> pd.DataFrame:
    """The rows whose score changes, sorted by the size of the change (largest first)."""
    ch = changes[changes["score_change"].abs() > SCORE_EPS]
    order = ch["score_change"].abs().sort_values(ascending=False, kind="stable").index
    return ch.loc[order]


def profile_counts(changes: Mapping[str, pd.DataFrame]) -> dict[str, int]:
    """Profile → number of communes whose score changes."""
    return {p: len(moved(ch)) for p, ch in changes.items()}


def _labels_of(columns: Sequence[str], labels: Any) -> str:
    return ", ".join(f"{labels.column(c)} ({c})" for c in columns) or "aucun"


def _grouped(weights: Mapping[str, list[str]], labels: Any) -> str:
    """Profiles grouped by the indicators they weight: ``P1, P2 (a, b) ; P3 (c)``."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for p, cols in weights.items():
        if cols:
            groups.setdefault(tuple(cols), []).append(p)
    if not groups:
        return "aucun"
    if len(groups) == 1 and len(next(iter(groups.values()))) == len(weights):
        return f"tous les profils ({', '.join(next(iter(groups)))})"
    return " ; ".join(
        f"{', '.join(labels.profile(p) for p in ps)} ({', '.join(cols)})"
        for cols, ps in groups.items()
    )


def explained_table(
    changes: Mapping[str, pd.DataFrame],
    profile: str,
    changed: Sequence[str],
    scfg: Any,
    labels: Any,
    table: Any,
    top: int = 15,
) -> list[str]:
    """Lines of a scenario's score section for one profile.

    Parameters
    ----------
    changes : mapping
        Profile → :func:`~geoattract.scoring.aggregate.score_changes` table (with ``nom``).
    profile : str
        The profile shown.
    changed : sequence of str
        Scored indicators the scenario changed.
    scfg : ScoringConfig
    labels : Labels
    table : callable
        Turns the rows shown into the printed DataFrame (French headers).
    top : int
        Communes listed at most.

    Returns
    -------
    list of str
    """
    weights = weighting_profiles(scfg, changed)
    counts = profile_counts(changes)
    lines = [f"Indicateurs notés modifiés : {_labels_of(changed, labels)}"]
    weighing = [p for p, cols in weights.items() if cols]
    lines.append(f"Profils qui pondèrent ces indicateurs : {_grouped(weights, labels)}")
    lines.append(
        "Communes dont le score change, par profil : "
        + " ; ".join(f"{labels.profile(p)} {n}" for p, n in counts.items())
    )
    name = labels.profile(profile)
    rows = moved(changes[profile])
    if rows.empty:
        why = (
            "aucun des indicateurs modifiés n'y est pondéré"
            if not weights.get(profile)
            else "les changements n'y déplacent aucun score"
        )
        others = [labels.profile(p) for p in weighing if p != profile]
        hint = f" ; voir {', '.join(others)} (--profile)" if others else ""
        lines.append(f"Profil « {name} » : aucune commune ne change ({why}){hint}.")
        return lines
    shown = rows.head(top)
    first = f", les {len(shown)} premières" if len(shown) < len(rows) else ""
    lines += [
        "",
        f"Profil « {name} » : {len(rows)} commune(s) dont le score change, par écart "
        f"décroissant{first} :",
        fit_table(table(shown), keys=["Code", "Commune"]),
    ]
    return lines


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


def rail_scenario_lines(
    res: Any,
    population_before: pd.DataFrame,
    ref: int,
    scores_config: Any,
    labels: Any,
    profile: str,
    top: int,
) -> list[str]:
    """The printed answer of a rail scenario, in French.

    Population within ``ref`` minutes of a metropole before and after, the communes whose
    door-to-metropole time falls most, the population newly within by EPCI, and the score
    table of ``profile``.

    ``res`` is :func:`geoattract.scoring.run_rail_scenario`'s result; ``population_before``
    the metropolitan stage's ``population`` table.
    """
    from geoattract.accessibility import top_gains
    from geoattract.outputs.console import fit_table

    msc = res.metro
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
        *_population_lines(population_before, msc.population, ref),
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
            scores_config,
            labels,
            lambda rows: scenario_table(rows, labels),
            top,
        ),
    ]
    return lines
