"""The « Plan d'action » chapter of the report, and a page of its own.

:func:`plan_section` renders a :class:`geoattract.scoring.plan.PlanResult` in French: the
actions (owner, date, cost, profiles targeted, the AFOM item each answers and whether it is
lifted), what each changes alone, the plan as a whole against the sum of its actions (they
interact), and the EPCIs. Every value from data or configuration is escaped; the actions table
and the dictionary of columns are embedded as CSV downloads, the detailed tables (per commune,
EPCI and indicator) are files beside the page (:func:`plan_tables`). :func:`write_plan_page` writes the chapter as a self-contained
page (``plan.html``) for ``geoattract plan``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geoattract._util.io import write_text_atomic
from geoattract.outputs.html import esc, fr_number, page, table
from geoattract.outputs.report import REPORT_CSS, csv_link

#: Anchor and title of the chapter in the report.
PLAN_SECTION = "plan-action"
PLAN_TITLE = "Plan d'action"

#: Files of a plan evaluation, by table of :class:`~geoattract.scoring.plan.PlanResult`.
PLAN_TABLES: dict[str, str] = {
    "plan_actions.csv": "actions_table",
    "plan_communes.csv": "communes_table",
    "plan_epci.csv": "epci_table",
    "plan_indicators.csv": "indicators_table",
}

#: French labels of the plan's files on the index page.
PLAN_INDEX_LABELS: dict[str, str] = {
    "plan_actions.csv": "Plan d'action : coût, porteur, habitants gagnant l'accès par action (CSV)",
    "plan_communes.csv": "Plan d'action : scores et rangs par commune et profil (CSV)",
    "plan_epci.csv": "Plan d'action : scores et rangs par EPCI et profil (CSV)",
    "plan_indicators.csv": "Plan d'action : indicateurs modifiés par commune (CSV)",
    "plan_columns.csv": "Plan d'action : description des colonnes (CSV)",
}


#: The detailed tables named (not embedded) in the chapter, with what they hold.
DETAIL_TABLES: dict[str, str] = {
    "plan_communes.csv": "scores et rangs par commune et profil",
    "plan_epci.csv": "scores et rangs par EPCI et profil",
    "plan_indicators.csv": "indicateurs modifiés par commune",
}

#: French names of the AFOM kinds.
AFOM_KIND_FR: dict[str, str] = {
    "atout": "atout",
    "faiblesse": "faiblesse",
    "opportunite": "opportunité",
    "menace": "menace",
}

#: French names of the action types.
TYPE_FR: dict[str, str] = {
    "add": "ajout d'équipement",
    "remove": "fermeture",
    "rail_link": "liaison ferroviaire",
    "rail_scenario": "scénario ferroviaire",
    "rail_stop": "arrêt ferroviaire",
    "fibre": "fibre",
}

#: Communes named per action as those whose score rises most.
TOP_COMMUNES = 3

#: French label, unit and definition of every column of the plan's tables (``plan_*.csv``)
#: and of the sites written by ``geoattract optimise --out``.
PLAN_COLUMNS: dict[str, tuple[str, str, str]] = {
    "scenario": (
        "Scénario",
        "",
        "Identifiant de l'action évaluée seule, ou « plan » : toutes les actions ensemble.",
    ),
    "label": ("Action", "", "Nom de l'action, ou titre du plan."),
    "type": ("Type d'action", "", "add, remove, rail_link, rail_scenario, rail_stop ou fibre."),
    "owner": ("Porteur", "", "Maître d'ouvrage de l'action."),
    "target_date": ("Échéance", "", "Date visée (AAAA, AAAA-MM ou AAAA-MM-JJ)."),
    "cost_eur": ("Coût", "€", "Coût total de l'action (somme des actions pour le plan)."),
    "profiles": ("Profils visés", "", "Profils de population que l'action vise."),
    "afom_kind": ("Type d'item AFOM", "", "atout, faiblesse, opportunite ou menace."),
    "afom_indicator": (
        "Indicateur de l'item AFOM",
        "",
        "Indicateur de l'item AFOM auquel l'action répond.",
    ),
    "afom_found": (
        "Item AFOM relevé aujourd'hui",
        "oui/non",
        "L'item figure dans l'AFOM d'aujourd'hui de la commune de l'action (ou d'une commune).",
    ),
    "afom_lifted": (
        "Item AFOM levé",
        "oui/non",
        "L'item ne figure plus dans l'AFOM recalculée après l'action.",
    ),
    "indicators_changed": ("Indicateurs modifiés", "", "Indicateurs notés dont une valeur change."),
    "communes_changed": (
        "Communes touchées",
        "communes",
        "Communes dont un indicateur noté change.",
    ),
    "population_affected": (
        "Population touchée",
        "habitants",
        "Population des communes dont un indicateur noté change.",
    ),
    "population_gaining_access": (
        "Habitants qui gagnent l'accès",
        "habitants",
        "Habitants des communes qui passent sous le seuil de temps de l'action ; pour la fibre, habitants des locaux nouvellement raccordables ; comptés une fois dans le plan.",
    ),
    "population_losing_access": (
        "Habitants qui perdent l'accès",
        "habitants",
        "Habitants des communes qui passent au-dessus du seuil de temps de l'action.",
    ),
    "cost_per_inhabitant_eur": (
        "Coût par habitant gagnant l'accès",
        "€/habitant",
        "Coût divisé par les habitants qui gagnent l'accès (vide si aucun).",
    ),
    "profile": ("Profil", "", "Profil de population du score."),
    "code": ("Code", "", "Code INSEE de la commune."),
    "nom": ("Commune", "", "Nom de la commune (ou du site)."),
    "epci": ("Code EPCI", "", "Numéro SIREN de l'intercommunalité."),
    "epci_nom": ("EPCI", "", "Nom de l'intercommunalité."),
    "population": ("Population", "habitants", "Population légale."),
    "n_communes": ("Communes", "communes", "Communes de l'EPCI dans l'étude."),
    "score_before": (
        "Score avant",
        "0-100",
        "Score du profil aujourd'hui (moyenne pondérée par la population pour un EPCI).",
    ),
    "score_after": (
        "Score après",
        "0-100",
        "Score après l'action, avec les bornes de normalisation d'aujourd'hui.",
    ),
    "score_change": ("Écart de score", "points", "Score après moins score avant."),
    "rank_before": ("Rang avant", "", "Rang aujourd'hui (1 = le plus attractif)."),
    "rank_after": ("Rang après", "", "Rang après l'action."),
    "rank_change": (
        "Rangs gagnés",
        "rangs",
        "Rang avant moins rang après (positif : la commune monte).",
    ),
    "indicator": ("Indicateur", "", "Indicateur noté modifié."),
    "before": ("Valeur avant", "", "Valeur de l'indicateur aujourd'hui."),
    "after": ("Valeur après", "", "Valeur de l'indicateur après l'action."),
    "change": ("Écart", "", "Valeur après moins valeur avant."),
    "added": (
        "Unités ajoutées",
        "unités de la catégorie",
        "Unités placées au site (geoattract optimise).",
    ),
    "gain": (
        "Gain du site",
        "selon l'objectif",
        "Part de l'objectif due au site : habitants nouvellement couverts, minutes-habitants gagnées ou gain d'APL pondéré (geoattract optimise).",
    ),
}


def _yes_no(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    return "oui" if value else "non"


def _afom_text(outcome: Any, labels: Any) -> str:
    items = [a.afom for a in outcome.actions if a.afom]
    if not items:
        return "—"
    item = items[0]
    text = f"{AFOM_KIND_FR[item['kind']]} : {labels.column(item['indicator'])}"
    if outcome.afom:
        text += (
            f" (relevée aujourd'hui : {_yes_no(outcome.afom.get('found'))} ; "
            f"levée : {_yes_no(outcome.afom.get('lifted'))})"
        )
    return text


def _actions_table(result: Any, labels: Any) -> str:
    rows = []
    for o in result.separate:
        s = o.summary()
        a = o.actions[0]
        rows.append(
            {
                "action": a.label,
                "type": TYPE_FR.get(a.type, a.type),
                "owner": a.owner,
                "date": a.target_date,
                "cost": s["cost_eur"],
                "profiles": ", ".join(labels.profile(p) for p in a.profiles),
                "afom": _afom_text(o, labels),
                "gain": s["population_gaining_access"],
                "per": s["cost_per_inhabitant_eur"],
                "communes": s["communes_changed"],
            }
        )
    s = result.joint.summary()
    rows.append(
        {
            "action": f"Plan complet ({len(result.separate)} actions)",
            "type": "",
            "owner": "",
            "date": s["target_date"],
            "cost": s["cost_eur"],
            "profiles": "",
            "afom": "",
            "gain": s["population_gaining_access"],
            "per": s["cost_per_inhabitant_eur"],
            "communes": s["communes_changed"],
        }
    )
    cols = {
        "action": "Action",
        "type": "Type",
        "owner": "Porteur",
        "date": "Échéance",
        "cost": "Coût (€)",
        "profiles": "Profils visés",
        "afom": "Item AFOM visé",
        "gain": "Habitants qui gagnent l'accès",
        "per": "Coût par habitant gagnant l'accès (€)",
        "communes": "Communes dont un indicateur change",
    }
    return table(pd.DataFrame(rows), cols, numeric=["cost", "gain", "per", "communes"])


def _effects_table(result: Any, labels: Any) -> str:
    rows = []
    for o in result.outcomes:
        targeted = list(dict.fromkeys(p for a in o.actions for p in a.profiles))
        for p in targeted:
            if p not in o.changes:
                continue
            ch = o.changes[p]
            pop = pd.to_numeric(o.effect.before["population"], errors="coerce").fillna(0.0)
            mean = float((ch["score_change"].fillna(0.0) * pop).sum() / pop.sum())
            up = ch[ch["score_change"] > 1e-9].sort_values("score_change", ascending=False)
            best = ", ".join(
                f"{n} (+{fr_number(v, 2)} ; {_rank_text(r)})"
                for n, v, r in zip(
                    up["nom"].head(TOP_COMMUNES),
                    up["score_change"].head(TOP_COMMUNES),
                    up["rank_change"].head(TOP_COMMUNES).fillna(0),
                    strict=True,
                )
            )
            rows.append(
                {
                    "action": o.label if o.id != "plan" else "Plan complet",
                    "profile": labels.profile(p),
                    "moved": int((ch["score_change"].abs() > 1e-9).sum()),
                    "mean": mean,
                    "best": best or "—",
                }
            )
    if not rows:
        return "<p>Aucun profil visé.</p>"
    cols = {
        "action": "Action",
        "profile": "Profil visé",
        "moved": "Communes dont le score change",
        "mean": "Écart de score moyen pondéré par la population",
        "best": "Plus fortes hausses (écart de score ; rangs gagnés)",
    }
    return table(pd.DataFrame(rows), cols, numeric=["moved", "mean"], decimals={"mean": 3})


def _rank_text(r: Any) -> str:
    n = int(r)
    return f"{n:+d} rang" + ("s" if abs(n) > 1 else "")


def _interaction_table(result: Any, labels: Any) -> str:
    inter = result.interaction()
    rows = []
    for _, r in inter.iterrows():
        access = r["measure"] == "population_gaining_access"
        decimals = 0 if access else 3

        def fmt(v: float, decimals: int = decimals) -> str:
            v = 0.0 if abs(v) < 0.5 * 10**-decimals else v  # no « -0,000 »
            return fr_number(v, decimals)

        rows.append(
            {
                "measure": "Habitants qui gagnent l'accès"
                if access
                else f"Écart de score moyen — {labels.profile(r['measure'])}",
                "sum_separate": fmt(r["sum_separate"]),
                "joint": fmt(r["joint"]),
                "difference": fmt(r["difference"]),
            }
        )
    cols = {
        "measure": "Mesure",
        "sum_separate": "Somme des actions prises seules",
        "joint": "Plan complet",
        "difference": "Différence (interaction)",
    }
    return table(pd.DataFrame(rows), cols)


def _epci_table(result: Any, labels: Any) -> str:
    epci = result.epci_table()
    targeted = list(dict.fromkeys(p for a in result.plan.actions for p in a.profiles))
    joint = epci[(epci["scenario"] == "plan") & epci["profile"].isin(targeted)]
    moved = joint[(joint["score_change"].abs() > 1e-9) | (joint["population_gaining_access"] > 0)]
    if moved.empty:
        return "<p>Aucun EPCI ne change pour les profils visés.</p>"
    rows = moved.assign(
        profile=moved["profile"].map(labels.profile),
        ranks=moved["rank_change"].map(_rank_text),
    )
    cols = {
        "epci_nom": "EPCI",
        "population": "Population",
        "population_gaining_access": "Habitants qui gagnent l'accès",
        "profile": "Profil visé",
        "score_change": "Écart de score (moyenne pondérée)",
        "ranks": "Rang parmi les EPCI",
    }
    num = ["population", "population_gaining_access", "score_change"]
    return table(rows, cols, numeric=num, decimals={"score_change": 3})


def plan_columns(profiles: Any = ()) -> pd.DataFrame:
    """The dictionary of the plan's tables in French: ``column``, ``label``, ``unit``, ``definition``."""
    rows = [(c, *v) for c, v in PLAN_COLUMNS.items()]
    rows += [
        (
            f"score_change_{p}",
            f"Écart de score moyen — {p}",
            "points",
            "Écart de score du profil, moyenne pondérée par la population de l'étude.",
        )
        for p in profiles
    ]
    return pd.DataFrame(rows, columns=["column", "label", "unit", "definition"])


def plan_section(result: Any, labels: Any) -> str:
    """HTML of the « Plan d'action » chapter (trusted: every value is escaped here)."""
    plan = result.plan
    notes = sorted({n for o in result.outcomes for n in o.effect.notes})
    parts = [
        f"<p><strong>{esc(plan.title)}</strong></p>",
        f"<p>{esc(plan.description)}</p>" if plan.description else "",
        '<p class="note">Chaque action est évaluée seule, puis toutes ensemble : elles '
        "interagissent (deux médecins proches se partagent leurs patients ; un arrêt et un "
        "train plus rapide s'ajoutent). Les indicateurs touchés sont recalculés sur le même "
        "réseau routier, puis notés avec les bornes de normalisation d'aujourd'hui : un "
        "changement dans une commune ne déplace pas la note des autres. Un habitant "
        "<em>gagne l'accès</em> quand sa commune passe sous le seuil de temps de l'action "
        "(le premier seuil de la catégorie, ou le temps de référence vers une métropole pour "
        "le train) ; pour la fibre, les habitants des locaux nouvellement raccordables. "
        "Le coût par habitant divise le coût de l'action par ces habitants.</p>",
        "<h3>Les actions</h3>",
        _actions_table(result, labels),
        "<h3>Effet sur les profils visés</h3>",
        _effects_table(result, labels),
        "<h3>Le plan complet et la somme de ses actions</h3>",
        _interaction_table(result, labels),
    ]
    epci = _epci_table(result, labels)
    if epci:
        parts += ["<h3>Par EPCI (plan complet)</h3>", epci]
    if notes:
        parts += [
            "<h3>Hypothèses</h3>",
            "<ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>",
        ]
    parts += [
        csv_link(result.actions_table(), "plan_actions.csv", "Actions et plan complet (CSV)"),
        csv_link(
            plan_columns(result.profiles), "plan_columns.csv", "Description des colonnes (CSV)"
        ),
        # the detailed tables (about 120 kB as embedded CSV) are files beside the page
        '<p class="note">Tables détaillées à côté de ce document : '
        + ", ".join(f"{esc(name)} ({esc(what)})" for name, what in DETAIL_TABLES.items())
        + ".</p>",
    ]
    return "\n".join(p for p in parts if p)


def write_plan_page(
    out_dir: str | os.PathLike, result: Any, labels: Any, study_name: str = ""
) -> Path:
    """Write the chapter as a self-contained page ``plan.html`` in ``out_dir``."""
    title = f"{PLAN_TITLE} — {study_name}" if study_name else PLAN_TITLE
    body = f'<h1>{esc(title)}</h1>\n<h2 id="{PLAN_SECTION}">{esc(PLAN_TITLE)}</h2>\n'
    body += plan_section(result, labels)
    return write_text_atomic(Path(out_dir) / "plan.html", page(title, body, extra_css=REPORT_CSS))


def plan_tables(result: Any) -> dict[str, pd.DataFrame]:
    """The plan's tables by file name (:data:`PLAN_TABLES`) and their French dictionary."""
    out = {name: getattr(result, attr)() for name, attr in PLAN_TABLES.items()}
    out["plan_columns.csv"] = plan_columns(result.profiles)
    return out
