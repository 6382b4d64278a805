"""The report section on population dynamics and offer, and its method paragraphs.

:func:`dynamics_section` writes the section (decomposition, EPCI table, migration map,
quadrants per profile with counts per EPCI, the rank correlation of each profile's score with
the migration rate whatever its value, what goes with migration gains);
:func:`demography_method_paragraphs` the formulas, for the method annex.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from geoattract.demography import Demography, DemographySource
from geoattract.outputs.html import esc, fr_number, png_data_uri, table
from geoattract.outputs.labels import Labels
from geoattract.outputs.synthesis import NOT_AVAILABLE, signed
from geoattract.scoring import QUADRANT_LABELS_FR, QUADRANTS, DynamicsAnalysis

#: Indicators listed in the table of what goes with migration gains.
TOP_ASSOCIATIONS = 10

#: Title of the section.
DYNAMICS_TITLE = "Dynamique démographique et offre"


def figure_html(path: str | os.PathLike, caption: str) -> str:
    """An embedded PNG figure with its caption."""
    data = Path(path).read_bytes()
    return (
        f'<figure><img alt="{esc(caption)}" src="{png_data_uri(data)}">'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def epci_dynamics_table(demo: Demography) -> str:
    """Populations and rates per EPCI (``*``: EPCI partly outside the study)."""
    src = demo.source
    assert src is not None
    t0, t1 = src.census_years
    epci = demo.epci.sort_values("growth_rate_pct", ascending=False)
    name = epci["epci_nom"].astype(str)
    if "partial" in epci:
        name = name.where(~epci["partial"].astype(bool), name + " *")
    shown = pd.DataFrame(
        {
            "epci_nom": name,
            "n": epci["n_communes"],
            "p0": [fr_number(v) for v in epci["pop_start"]],
            "p1": [fr_number(v) for v in epci["pop_end"]],
            "g": [signed(v) for v in epci["growth_rate_pct"]],
            "nat": [signed(v) for v in epci["natural_rate_pct"]],
            "mig": [signed(v) for v in epci["migration_rate_pct"]],
            "age": [fr_number(v) for v in epci["ageing_index"]],
        }
    )
    cols = {
        "epci_nom": "EPCI",
        "n": "Communes",
        "p0": f"Population {t0}",
        "p1": f"Population {t1}",
        "g": "Variation (% par an)",
        "nat": "dont solde naturel",
        "mig": "dont solde migratoire apparent",
    }
    if src.ages is not None:
        cols["age"] = "Indice de vieillissement"
    html = table(shown, cols).replace("<table>", '<table class="compact decomposition">', 1)
    if "partial" in epci and epci["partial"].any():
        html += (
            '<p class="note">* EPCI en partie hors de l\'étude : taux de ses seules communes '
            "de l'étude.</p>"
        )
    return html


def quadrant_tables(dyn: DynamicsAnalysis, labels: Labels) -> str:
    """Totals per profile, then communes (population) per EPCI and quadrant, every profile."""
    counts = dyn.counts
    grouped = counts.groupby(["profile", "quadrant"])
    n_of = grouped["n_communes"].sum().to_dict()
    pop_of = grouped["population"].sum().to_dict()
    total_pop = counts.groupby("profile")["population"].sum().to_dict()
    rows = []
    for p in dyn.quadrants.columns.str.removeprefix("quadrant_"):
        row = {"profil": labels.profile(p), "seuil": fr_number(dyn.thresholds.get(p), 1)}
        for q in QUADRANTS:
            whole = float(total_pop.get(p, 0.0))
            share = 100.0 * float(pop_of.get((p, q), 0.0)) / whole if whole else float("nan")
            row[q] = f"{int(n_of.get((p, q), 0))} ({fr_number(share, 0)} %)"
        rows.append(row)
    cols = {"profil": "Population cible", "seuil": "Seuil d'offre haute (score)"}
    cols |= {q: QUADRANT_LABELS_FR[q] for q in QUADRANTS}
    out = [
        "<p>Communes de chaque quadrant et, entre parenthèses, leur part de la population.</p>",
        table(pd.DataFrame(rows), cols).replace("<table>", '<table class="compact">', 1),
    ]
    parts: list[str] = []
    for p in dyn.quadrants.columns.str.removeprefix("quadrant_"):
        sub = counts[counts["profile"] == p]
        n_tab = sub.pivot(index="group", columns="quadrant", values="n_communes")
        pop_tab = sub.pivot(index="group", columns="quadrant", values="population")
        shown = pd.DataFrame({"group": n_tab.index})
        for q in QUADRANTS:
            shown[q] = [
                f"{int(a)} ({fr_number(b)} hab.)" for a, b in zip(n_tab[q], pop_tab[q], strict=True)
            ]
        cols = {"group": "EPCI"} | {q: QUADRANT_LABELS_FR[q] for q in QUADRANTS}
        html = table(shown, cols).replace("<table>", '<table class="compact">', 1)
        open_attr = " open" if not parts else ""
        parts.append(
            f'<details class="epci"{open_attr}><summary>Par EPCI — {esc(labels.profile(p))}'
            f"</summary>{html}</details>"
        )
    return "\n".join(out + parts)


def correlation_table(dyn: DynamicsAnalysis, labels: Labels) -> str:
    """Rank correlation of each profile's score with the migration and growth rates."""
    corr = dyn.correlations
    shown = pd.DataFrame(
        {
            "profil": [labels.profile(p) for p in corr["profile"]],
            "n": corr["n"],
            "rho": [signed(v) for v in corr["spearman_migration"]],
            "p": [fr_number(v, 3) for v in corr["p_value_migration"]],
            "wrho": [signed(v) for v in corr["weighted_spearman_migration"]],
            "wg": [signed(v) for v in corr["weighted_spearman_growth"]],
        }
    )
    cols = {
        "profil": "Population cible",
        "n": "Communes",
        "rho": "ρ de Spearman, score et solde migratoire (communes)",
        "p": "p (bilatéral)",
        "wrho": "ρ pondéré par la population",
        "wg": "ρ pondéré, score et variation totale",
    }
    return table(shown, cols).replace("<table>", '<table class="compact decomposition">', 1)


def correlation_reading(dyn: DynamicsAnalysis) -> str:
    """One sentence on the correlations, written from their range."""
    corr = dyn.correlations
    lo, hi = corr["spearman_migration"].min(), corr["spearman_migration"].max()
    wlo, whi = (
        corr["weighted_spearman_migration"].min(),
        corr["weighted_spearman_migration"].max(),
    )
    text = (
        f"Entre le score de chaque profil et le solde migratoire apparent, la corrélation de rang "
        f"va de {signed(lo)} à {signed(hi)} commune par commune, de {signed(wlo)} à "
        f"{signed(whi)} pondérée par la population."
    )
    if max(abs(lo), abs(hi)) < 0.3:
        text += (
            " Commune par commune, le score classe à peine les communes selon leur gain "
            "migratoire : une offre élevée ne dit pas où les habitants s'installent."
        )
    if whi < 0:
        text += (
            " Pondérée par la population, elle est négative : les communes les plus peuplées, "
            "qui ont l'offre la plus haute, gagnent moins d'habitants par migration que les "
            "autres."
        )
    return text


def association_reading(rho: float, favourable_rho: float) -> str:
    """French reading of one association (sign of the raw and of the favourable correlation)."""
    more = "plus" if rho > 0 else "moins"
    side = "va avec" if favourable_rho > 0 else "va avec de moindres"
    return (
        f"Plus la valeur est élevée, {more} la commune gagne d'habitants par migration : "
        f"le côté favorable de l'indicateur {side} gains."
    )


def association_rows(dyn: DynamicsAnalysis, n: int = TOP_ASSOCIATIONS) -> pd.DataFrame:
    """The ``n`` strongest associations, with a French reading of each."""
    assoc = dyn.associations.head(n)
    return pd.DataFrame(
        {
            "label": [str(v)[0].upper() + str(v)[1:] for v in assoc["label_fr"]],
            "rho": [signed(v) for v in assoc["rho"]],
            "reading": [
                association_reading(r, f)
                for r, f in zip(assoc["rho"], assoc["favourable_rho"], strict=True)
            ],
        }
    )


def model_paragraph(dyn: DynamicsAnalysis) -> str:
    """The cross-validated measure of the model of migration gains, in French."""
    m = dyn.model
    if not m.repeats:
        return f"<p>Modèle des gains migratoires : {NOT_AVAILABLE} (trop peu de communes).</p>"
    text = (
        f"Ensemble, les {len(m.indicators)} indicateurs (régression ridge pondérée par la "
        f"population, {m.n_communes} communes) prédisent mal le solde migratoire d'une commune "
        f"qu'ils n'ont pas vue : validation croisée en {m.folds} blocs répétée {m.repeats} fois, "
        f"R² hors échantillon {fr_number(m.cv_r2, 2)} (écart-type {fr_number(m.cv_r2_sd, 2)}), "
        f"corrélation de rang pondérée entre prédiction et observation "
        f"{fr_number(m.cv_spearman, 2)}."
    )
    if m.cv_r2 >= 0.3:
        text = text.replace("prédisent mal", "prédisent en partie")
    return (
        f'<p>{esc(text)}</p><p class="note">R² = 0 : pas mieux que le taux moyen pondéré ; '
        "R² = 1 : prédiction parfaite. Cette analyse décrit ; elle ne modifie aucun poids ni "
        "aucun score.</p>"
    )


def dynamics_section(
    demography: Demography | None,
    dynamics: DynamicsAnalysis | None,
    labels: Labels,
    figures: Mapping[str, str | os.PathLike] | None = None,
) -> str:
    """HTML of the section "Dynamique démographique et offre" (title excluded).

    Parameters
    ----------
    demography : Demography or None
        "non disponible" without population dynamics.
    dynamics : DynamicsAnalysis or None
        Quadrants, correlations, associations and model.
    labels : Labels
    figures : mapping, optional
        ``demography_decomposition``, ``demo_migration_rate_pct``, ``quadrants`` → PNG path.
    """
    if demography is None or not demography.available:
        why = f" ({demography.note})" if demography is not None and demography.note else ""
        return f"<p>Dynamique démographique : {NOT_AVAILABLE}{esc(why)}.</p>"
    figs = dict(figures or {})
    src = demography.source
    assert src is not None
    parts = [
        f"<p>Source : {esc(src.source_text)}. Formules et définitions INSEE en annexe.</p>",
    ]
    if "demography_decomposition" in figs:
        parts.append(figure_html(figs["demography_decomposition"], "Le département et ses voisins"))
    parts.append("<h3>Par EPCI</h3>")
    parts.append(epci_dynamics_table(demography))
    if "demo_migration_rate_pct" in figs:
        parts.append("<h3>Par commune</h3>")
        parts.append(
            figure_html(figs["demo_migration_rate_pct"], "Solde migratoire apparent par commune")
        )
    if dynamics is None:
        return "\n".join(parts)
    parts.append("<h3>Offre et solde migratoire : quatre situations</h3>")
    parts.append(
        "<p>Pour chaque population cible, une commune est d'<b>offre haute</b> quand son score "
        "atteint le score médian pondéré par la population (la moitié des habitants vit dans "
        "une commune d'offre haute), et elle <b>gagne des habitants par migration</b> quand son "
        "solde migratoire apparent est positif. Les taux des petites communes varient beaucoup : "
        "les parts de population pèsent plus que les nombres de communes.</p>"
    )
    if "quadrants" in figs:
        parts.append(figure_html(figs["quadrants"], "Quadrants offre / solde migratoire"))
    parts.append(quadrant_tables(dynamics, labels))
    parts.append("<h3>Score et solde migratoire : corrélations de rang</h3>")
    parts.append(f"<p>{esc(correlation_reading(dynamics))}</p>")
    parts.append(correlation_table(dynamics, labels))
    parts.append(
        '<p class="note">ρ pondéré : corrélation de Spearman calculée sur les rangs pondérés par '
        "la population moyenne des deux recensements.</p>"
    )
    parts.append("<h3>Ce qui va avec les gains migratoires</h3>")
    rows = association_rows(dynamics)
    if rows.empty:
        parts.append(
            f"<p>Indicateurs et gains migratoires : {NOT_AVAILABLE} (trop peu de communes).</p>"
        )
    else:
        cols = {
            "label": "Indicateur",
            "rho": "ρ pondéré avec le solde migratoire",
            "reading": "Lecture",
        }
        parts.append(table(rows, cols).replace("<table>", '<table class="compact">', 1))
    parts.append(model_paragraph(dynamics))
    return "\n".join(parts)


def demography_method_paragraphs(
    source: DemographySource | None, dynamics: DynamicsAnalysis | None = None
) -> list[str]:
    """Method paragraphs of the population dynamics (annex), with INSEE's formulas."""
    if source is None:
        return []
    t0, t1 = source.census_years
    n = source.interval_years
    out = [
        f"Dynamique démographique ({source.source_text}) : taux de variation annuel moyen "
        f"= 100 × ((P{t1} / P{t0})^(1/{n}) − 1) ; solde naturel SN = naissances − décès ; "
        f"solde apparent des entrées-sorties SM = (P{t1} − P{t0}) − SN ; taux annuels dus à "
        f"chacun = 100 × solde / ({n} × population moyenne), population moyenne = "
        f"(P{t0} + P{t1}) / 2 (définitions INSEE). Les deux taux s'additionnent en "
        f"100 × (P{t1} − P{t0}) / ({n} × population moyenne), qui diffère du taux géométrique "
        "de moins de 0,01 point pour des variations de quelques dixièmes de point par an. Les "
        "taux des EPCI et des départements viennent des populations et effectifs sommés, jamais "
        "d'une moyenne de taux communaux.",
        source.natural_note_fr(),
    ]
    if source.ages is not None:
        out.append(
            f"{source.ages.label_fr[0].upper()}{source.ages.label_fr[1:]} : 100 × population de "
            f"{source.ages.old_min_age} ans et plus / population de moins de "
            f"{source.ages.young_max_age + 1} ans (l'indice de l'INSEE prend les moins de 20 "
            "ans) ; non disponible là où la source des âges ne couvre pas le territoire."
        )
    out.append(
        "Points forts et faibles face aux départements voisins : pour chaque indicateur, valeur "
        "du territoire (rapport de sommes sur ses communes), rang parmi le département et ses "
        "voisins, écart à la médiane des voisins rapporté à leur écart-type ; les écarts les "
        "plus favorables et les plus défavorables sont retenus."
    )
    if dynamics is not None:
        m = dynamics.model
        out.append(
            "Offre et dynamique : quadrants par profil (score au-dessus ou au-dessous du score "
            "médian pondéré par la population ; solde migratoire apparent positif ou non) ; "
            "corrélation de Spearman entre score et solde migratoire, simple et pondérée "
            "(rangs pondérés par la population moyenne des deux recensements). Ce qui va avec "
            "les gains : corrélation de Spearman pondérée de chaque indicateur avec le solde "
            f"migratoire ; régression ridge pondérée sur les indicateurs standardisés, pénalité "
            f"choisie par validation croisée interne, jugée par validation croisée en "
            f"{m.folds} blocs répétée {m.repeats} fois (R² pondéré hors échantillon). Ces "
            "analyses décrivent et ne modifient ni les poids ni les scores."
        )
    return out


def quadrant_columns_info(
    dynamics: DynamicsAnalysis | None, labels: Labels, source: str = ""
) -> dict[str, tuple[str, str, str, str]]:
    """Column → (label, unit, definition, source) of the ``quadrant_<profile>`` columns."""
    if dynamics is None:
        return {}
    codes = " ; ".join(f"{q} = {QUADRANT_LABELS_FR[q]}" for q in QUADRANTS)
    out = {}
    for col in dynamics.quadrants.columns:
        p = col.removeprefix("quadrant_")
        thr = fr_number(dynamics.thresholds.get(p), 1)
        out[col] = (
            f"Offre et solde migratoire — {labels.profile(p)}",
            "",
            f"{codes}. Offre haute : score au moins égal à {thr}, score médian pondéré par la "
            "population ; gain : solde migratoire apparent positif. Vide si l'un manque.",
            f"calcul geoattract ; {source}" if source else "calcul geoattract",
        )
    return out
