"""The printed answer of ``geoattract optimise``, in French, within 100 columns.

Objective, levels, chosen sites and the communes that gain. The request (``req``) is the command's checked arguments: ``k``, ``label``, ``unit``,
``category``, ``objective`` (``kind``, ``minutes``), ``profile`` and ``band``; the result is
:func:`geoattract.accessibility.siting`'s (``summary``, ``sites``, ``communes``).
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pandas as pd

#: Communes listed among those that gain.
TOP_COMMUNES = 15

#: Widest line printed.
WIDTH = 100

#: Widest name printed (the tables stay within :data:`WIDTH` columns).
NAME_WIDTH = 22

#: Header of the gain column, by objective (its unit).
GAIN_HEADERS: dict[str, str] = {
    "coverage": "Gain (hab.)",
    "time": "Gain (min × hab.)",
    "apl": "Gain (APL × hab.)",
}


def _fr(value: float, decimals: int = 0) -> str:
    from geoattract.outputs.html import fr_number

    return "n.d." if value is None or not np.isfinite(value) else fr_number(value, decimals)


def _name(text: Any) -> str:
    s = str(text)
    return s if len(s) <= NAME_WIDTH else s[: NAME_WIDTH - 1] + "…"


def _objective_text(req: Any, target: float | None) -> str:
    kind = req.objective.kind
    who = "population" if req.band is None else f"population « {req.band} » du profil {req.profile}"
    if kind == "coverage":
        return f"{who} couverte à moins de {req.objective.minutes:g} min (nouvellement couverte)"
    if kind == "time":
        return f"temps d'accès moyen pondéré par la {who} (minutes-habitants gagnées)"
    return (
        f"gain d'accessibilité potentielle (e2sfca_{req.category}) pondéré par la {who}, "
        f"compté jusqu'à la cible {_fr(target or np.nan, 1)}"
    )


def _level_lines(req: Any, s: dict[str, Any]) -> list[str]:
    kind = req.objective.kind
    total = s["weight_total"]
    if kind == "coverage":
        pct = 100 * s["before"] / total if total else np.nan
        pct_a = 100 * s["after"] / total if total else np.nan
        return [
            f"Couverts aujourd'hui : {_fr(s['before'])} sur {_fr(total)} ({_fr(pct, 1)} %) ; "
            f"après : {_fr(s['after'])} ({_fr(pct_a, 1)} %) ; gain : {_fr(s['value'])}"
        ]
    if kind == "time":
        return [
            f"Temps moyen pondéré : {_fr(s['before'], 2)} min aujourd'hui, "
            f"{_fr(s['after'], 2)} min après ; gain : {_fr(s['value'])} minutes-habitants"
        ]
    return [
        f"Indicateur moyen pondéré : {_fr(s['before'], 1)} aujourd'hui, {_fr(s['after'], 1)} après"
        f" ; gain pondéré sous la cible : {_fr(s['value'])}"
    ]


def _solver_line(s: dict[str, Any]) -> str:
    if s["method"] == "exact" and s["gap"] <= 1e-9:
        how = "exacte (HiGHS, optimum prouvé)"
    elif s["method"] == "exact":
        how = f"exacte interrompue (HiGHS, écart à la borne {_fr(100 * s['gap'], 2)} %)"
    else:
        how = (
            f"gloutonne (≥ 63 % de l'optimum ; borne {_fr(s['upper_bound'])}, "
            f"écart ≤ {_fr(100 * s['gap'], 1)} %)"
        )
    return f"Résolution {how} ; {s['n_candidates']} sites candidats, {s['n_pairs']} paires utiles"


def optimise_text(req: Any, result: Any, top: int = TOP_COMMUNES) -> str:
    """The printed answer: objective, levels, chosen sites, communes that gain (≤ 100 columns)."""
    s = result.summary
    unit = (
        "1 ajout = 1 unité de décompte de la catégorie"
        if req.unit == "count"
        else f"1 ajout = {_fr(s['unit_capacity'])} {req.unit}, capacité médiane de l'offre"
    )
    head = [
        f"Où ajouter {req.k} × « {req.label} » ({unit})",
        f"Objectif : {_objective_text(req, s['target'])}",
        *_level_lines(req, s),
        _solver_line(s),
    ]
    if s["excluded"]:
        head.append(
            f"Communes hors calcul (mairie hors réseau ou sans temps) : {len(s['excluded'])}"
        )
    lines = [textwrap.fill(x, WIDTH, subsequent_indent="  ", break_on_hyphens=False) for x in head]
    sites = result.sites
    if sites.empty or not (sites["gain"] > 0).any():
        lines.append("Aucun site ne fait gagner quoi que ce soit pour cet objectif.")
        return "\n".join(lines)
    if int(sites["added"].sum()) < req.k:
        lines.append(
            f"{int(sites['added'].sum())} ajout(s) suffisent : un ajout de plus ne gagne rien."
        )
    decimals = 0
    gain = GAIN_HEADERS[req.objective.kind]
    table = pd.DataFrame(
        {
            "Code": sites["code"],
            "Site": sites["nom"].map(_name),
            "Ajout": sites["added"],
            gain: sites["gain"].map(lambda v: _fr(v, decimals)),
            "Communes": sites["communes_gaining"],
        }
    )
    lines += ["", "Sites retenus", table.to_string(index=False)]
    com = result.communes[result.communes["gain"] > 0].sort_values("gain", ascending=False)
    measure = "APL" if req.objective.kind == "apl" else "min"
    shown = com.head(top)
    ctab = pd.DataFrame(
        {
            "Code": shown["code"],
            "Commune": shown["nom"].map(_name),
            "Population": shown["population"].map(_fr),
            f"Avant ({measure})": shown["before"].map(lambda v: _fr(v, 1)),
            f"Après ({measure})": shown["after"].map(lambda v: _fr(v, 1)),
            gain: shown["gain"].map(lambda v: _fr(v, decimals)),
            "Site": shown["site"],
        }
    )
    lines += [
        "",
        f"Communes qui gagnent ({len(shown)} premières sur {len(com)})",
        ctab.to_string(index=False),
    ]
    return "\n".join(lines)
