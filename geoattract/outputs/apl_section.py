"""The report's catchment texts: the APL method paragraph and the robustness table.

:func:`catchment_paragraphs` writes, from the catalogue's ``catchment`` tables (carried by the
labels), what the method section says about the categories computed with the DREES APL
conventions. :func:`catchment_sensitivity_html` renders the accessibility stage's
:class:`~geoattract.accessibility.CatchmentSensitivity`: how the ranking of the communes moves
when each method choice is switched, so planners see which conclusions are robust.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from geoattract.outputs.html import esc, fr_number, table
from geoattract.outputs.labels import Labels

#: Rank moves listed per variant in the report.
REPORT_MOVERS: int = 3

#: French names of the time-error models.
ERROR_MODELS_FR: dict[str, str] = {"lognormal": "log-normale", "uniform": "uniforme"}


def age_band_fr(band: str) -> str:
    """French name of an age band key (``under_25``, ``25_64``, ``65_plus``; else the key)."""
    if m := re.fullmatch(r"under_(\d+)", band):
        return f"moins de {m[1]} ans"
    if m := re.fullmatch(r"(\d+)_plus", band):
        return f"{m[1]} ans et plus"
    if m := re.fullmatch(r"(\d+)_(\d+)", band):
        return f"{m[1]}–{m[2]} ans"
    return band.replace("_", " ")


def _weight(value: float) -> str:
    return fr_number(value, 2).rstrip("0").rstrip(",")


def _spec_sentences(spec: Mapping[str, Any], labels: Labels, label: str) -> list[str]:
    """French sentences of one APL spec (time 0, age weights, extra supply, smoothing)."""
    out = []
    if spec.get("same_commune"):
        t = float(spec.get("same_commune_min", 0.0))
        out.append(f"les professionnels de la commune sont à {fr_number(t)} min de ses habitants")
    else:
        out.append("les professionnels de la commune sont au temps de trajet calculé")
    weights = spec.get("age_weights") or {}
    if weights:
        parts = ", ".join(f"{_weight(w)} pour les {age_band_fr(b)}" for b, w in weights.items())
        out.append(
            f"la demande est la population standardisée par l'âge, consommation relative {parts} "
            "(les communes sans structure par âge connue, celles de la zone tampon, prennent la "
            "moyenne départementale)"
        )
    else:
        out.append("la demande est la population, sans standardisation par l'âge")
    for extra in spec.get("extra_supply") or ():
        name = labels.category(str(extra["category"]))
        out.append(
            f"chaque {name.lower()} compte pour {_weight(float(extra['per_unit']))} "
            f"{label.lower()} dans l'offre"
        )
    if spec.get("smoothing") and float(spec.get("time_error", 0)) > 0:
        model = ERROR_MODELS_FR.get(str(spec.get("time_error_model")), "")
        out.append(
            "les poids des paliers sont moyennés sur une erreur relative des temps de "
            f"{fr_number(100 * float(spec['time_error']))} % (loi {model})"
        )
    else:
        out.append("les paliers sont nets, comme dans l'APL de la DREES")
    return out


def catchment_paragraphs(labels: Labels) -> list[str]:
    """Method paragraph(s) of the categories computed with the APL conventions.

    Categories sharing the same settings share one sentence. Empty when no category uses
    the APL method.
    """
    groups: dict[str, list[str]] = {}
    for cat in labels.categories.values():
        spec = dict(cat.catchment or {})
        if spec.get("method") != "apl":
            continue
        text = " ; ".join(_spec_sentences(spec, labels, cat.label))
        groups.setdefault(text, []).append(cat.label)
    if not groups:
        return []
    parts = []
    for text, names in groups.items():
        who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " et " + names[-1]
        parts.append(f"{who} : {text}.")
    return [
        "Accessibilité potentielle localisée (APL) : méthode de la DREES (paliers de 10, 15 "
        "et 20 min pondérés 1, 2/3 et 1/3). " + " ".join(parts)
    ]


def _variant_fr(variant: str, spec: Mapping[str, Any], labels: Labels) -> str:
    """What switching a variant does, in French, given the baseline spec."""
    if variant == "same_commune":
        on = bool(spec.get("same_commune"))
        return "professionnels de la commune au temps calculé" if on else "commune à 0 min"
    if variant == "age":
        return "sans standardisation par l'âge"
    if variant == "smoothing":
        pct = fr_number(100 * float(spec.get("time_error", 0)))
        return "paliers nets" if spec.get("smoothing") else f"paliers lissés (erreur {pct} %)"
    if variant == "extra_supply":
        names = [labels.category(str(e["category"])) for e in spec.get("extra_supply") or ()]
        what = ", ".join(n.lower() for n in names) or "autre catégorie"
        return f"sans l'offre ajoutée ({what})"
    if variant == "buffer_supply":
        on = spec.get("buffer_supply", True)
        return "sans l'offre hors département" if on else "avec l'offre hors département"
    return variant


#: Why a variant is not applicable, in French.
NOT_APPLICABLE_FR: dict[str, str] = {
    "same_commune": "sans objet",
    "age": "sans objet (pas de poids par âge)",
    "smoothing": "sans objet (pas d'erreur de temps configurée)",
    "extra_supply": "sans objet (pas d'offre ajoutée)",
    "buffer_supply": "sans objet (pas d'offre hors département dans les données)",
}


def _movers_text(movers: pd.DataFrame) -> str:
    rows = movers.head(REPORT_MOVERS)
    return " ; ".join(
        f"{n} ({fr_number(a)} → {fr_number(b)})"
        for n, a, b in zip(rows["nom"], rows["rank_baseline"], rows["rank_variant"], strict=True)
    )


def catchment_sensitivity_html(sensitivity: Any, labels: Labels) -> str:
    """HTML of the catchment sensitivity: one table per category.

    Parameters
    ----------
    sensitivity : geoattract.accessibility.CatchmentSensitivity or None
        ``table`` (category, variant, applicable, spearman, median_change_pct,
        max_rank_move) and ``movers`` (category, variant, nom, rank_baseline, rank_variant).
    labels : Labels
        Category labels and their catchment specs.

    Returns
    -------
    str
    """
    if sensitivity is None or sensitivity.table.empty:
        return '<p class="note">Analyse de robustesse de l\'APL non fournie.</p>'
    out = [
        '<p class="note">Chaque ligne change un seul choix de la méthode et compare le '
        "classement des communes du département à celui de la méthode retenue : corrélation "
        "de rangs de Spearman (1 = classement inchangé), variation relative médiane de "
        "l'indicateur, plus grand déplacement dans le classement (rang 1 = meilleur accès) et "
        f"les {REPORT_MOVERS} communes qui bougent le plus (rang avant → après).</p>"
    ]
    tolerance = float(getattr(sensitivity, "change_tolerance_pct", 1.0))
    for cid in dict.fromkeys(sensitivity.table["category"]):
        spec = dict(labels.categories[cid].catchment) if cid in labels.categories else {}
        rows = sensitivity.table[sensitivity.table["category"] == cid]
        records = []
        for r in rows.itertuples(index=False):
            movers = sensitivity.movers[
                (sensitivity.movers["category"] == cid)
                & (sensitivity.movers["variant"] == r.variant)
            ]
            applicable = bool(r.applicable)
            records.append(
                {
                    "choix": _variant_fr(str(r.variant), spec, labels),
                    "spearman": fr_number(r.spearman, 4) if applicable else "—",
                    "median": f"{fr_number(r.median_change_pct, 1)} %" if applicable else "—",
                    "changed": (
                        f"{fr_number(r.n_changed)} / {fr_number(r.n_communes)}"
                        if applicable
                        else "—"
                    ),
                    "max_move": fr_number(r.max_rank_move) if applicable else "—",
                    "same_class": f"{fr_number(r.same_class_pct)} %" if applicable else "—",
                    "movers": _movers_text(movers)
                    if applicable
                    else NOT_APPLICABLE_FR.get(str(r.variant), "sans objet"),
                }
            )
        headers = {
            "choix": "Choix modifié",
            "spearman": "Spearman des rangs",
            "median": "Variation médiane",
            "changed": f"Communes modifiées (> {fr_number(tolerance)} %)",
            "max_move": "Plus grand déplacement (rangs)",
            "same_class": "Communes restant dans leur quintile",
            "movers": "Communes qui bougent le plus",
        }
        out.append(f"<h3>{esc(labels.category(cid))}</h3>")
        out.append(
            table(pd.DataFrame(records), headers).replace("<table>", '<table class="compact">', 1)
        )
    return "\n".join(out)
