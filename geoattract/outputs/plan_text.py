"""The printed answers of ``geoattract plan`` and ``geoattract levers``, in French."""

from __future__ import annotations

from typing import Any

import pandas as pd


def _fr(value: Any, decimals: int = 0) -> str:
    from geoattract.outputs.html import fr_number

    return "n.d." if pd.isna(value) else fr_number(value, decimals)


def plan_text(result: Any, labels: Any) -> str:
    """Printed summary of a plan: one line per action and for the plan, then the interaction."""
    table = result.actions_table()
    rows = pd.DataFrame(
        {
            "Action": table["scenario"],
            "Coût (€)": table["cost_eur"].map(_fr),
            "Gagnent l'accès": table["population_gaining_access"].map(_fr),
            "€/habitant": table["cost_per_inhabitant_eur"].map(_fr),
            "Communes": table["communes_changed"],
            "AFOM levée": table["afom_lifted"].map(
                lambda v: "—" if v is None or pd.isna(v) else ("oui" if v else "non")
            ),
        }
    )
    inter = result.interaction()
    lines = [
        f"Plan : {result.plan.title} ({len(result.separate)} action(s))",
        rows.to_string(index=False),
        "",
        "Plan complet et somme des actions seules (écart de score moyen pondéré) :",
    ]
    for _, r in inter.iterrows():
        name = r["measure"]
        label = labels.profile(name) if name in result.profiles else "habitants gagnant l'accès"
        lines.append(
            f"  {label} : somme {_fr(r['sum_separate'], 3)}, ensemble {_fr(r['joint'], 3)}"
        )
    return "\n".join(lines)


def levers_text(result: Any, state: Any) -> str:
    """Printed answer of ``levers``: the commune's quintile, each lever, the smallest."""
    from geoattract.outputs import Labels
    from geoattract.scoring.levers import NONE_SUFFICES

    labels = Labels.from_configs(state.scores.config, state.offer.catalogue)
    prof = labels.profile(result.profile)
    lines = [
        f"{result.nom} ({result.code}), profil « {prof} » : score {_fr(result.score, 2)}, "
        f"quintile {result.quintile} sur 5"
    ]
    if result.quintile >= 5:
        lines.append("Déjà dans le quintile supérieur : aucun quintile à gagner.")
    else:
        lines.append(f"Score à atteindre pour le quintile suivant : {_fr(result.needed, 2)}")
    table = result.table()
    rows = pd.DataFrame(
        {
            "Levier": table["label"].str.slice(0, 40),
            "Score après": table["score_after"].map(lambda v: _fr(v, 2)),
            "Écart": table["score_change"].map(lambda v: _fr(v, 3)),
            "Quintile": table["quintile_after"],
            "Indicateurs pondérés": table["indicators_weighted"].replace("", "aucun"),
        }
    )
    lines += ["", rows.to_string(index=False), ""]
    best = result.smallest
    if result.quintile < 5:
        lines.append(
            f"Plus petite action suffisante : {best.lever.label}" if best else NONE_SUFFICES
        )
    notes = sorted({n for o in result.outcomes for n in o.notes})
    lines += [f"Hypothèse : {n}" for n in notes]
    return "\n".join(lines)
