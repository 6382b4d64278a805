"""The synthesis that opens the report: two printed pages for elected members, in French.

Figures, not adjectives: every sentence is written from the numbers of the run.

1. the population trend and its decomposition (natural and apparent migration balances), the
   study beside its reference départements;
2. the study's strongest and weakest points against those départements;
3. the communes that gain and the communes that lose;
4. what each target population finds, and where;
5. the headline figures of the reach of the metropoles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from geoattract._util.weighted import weighted_median
from geoattract.accessibility import UNKNOWN_OFFER_FR, unknown_offer
from geoattract.accessibility.metropolitan import population_summary, study_population_within
from geoattract.demography import Demography
from geoattract.outputs.html import esc, fr_number, table
from geoattract.outputs.labels import Labels, detect_profiles
from geoattract.scoring import DynamicsAnalysis

#: Communes listed among the largest gains and losses.
TOP_COMMUNES = 5

#: Communes named per profile (best scores).
TOP_PER_PROFILE = 3

#: Text of a figure the study cannot give.
NOT_AVAILABLE = "non disponible"


def signed(value: Any, decimals: int = 2) -> str:
    """``+0,36`` / ``−0,11`` (true minus sign); a dash when missing."""
    if value is None or pd.isna(value):
        return "—"
    v = float(value)
    text = fr_number(abs(v), decimals)
    if text.strip("0,") == "":
        return text
    return ("+" if v > 0 else "−") + text


def rank_phrase(rank: int, n: int, high_is_top: bool = True) -> str:
    """``le plus élevé des 7`` / ``le plus faible des 7`` / ``4e sur 7`` (rank 1 = highest)."""
    if rank == 1:
        return f"le plus élevé des {n}" if high_is_top else f"le plus faible des {n}"
    if rank == n:
        return f"le plus faible des {n}" if high_is_top else f"le plus élevé des {n}"
    return f"{rank}e sur {n}"


def _value_rank(column: pd.Series, key: str) -> tuple[int, int]:
    """Rank of ``key`` in ``column`` (1 = highest) and the number of values."""
    col = column.dropna()
    return int((col > col[key]).sum()) + 1, int(len(col))


# ------------------------------------------------------------------------------------ trend


def trend_paragraphs(demo: Demography) -> list[str]:
    """Sentences on the study's population change, its two balances and their rank."""
    src = demo.source
    assert src is not None
    terr = demo.territories
    key = demo.study_key
    row = terr.loc[key]
    t0, t1 = src.census_years
    est = " (estimation)" if src.natural_estimated else ""
    name = str(row["nom"])
    out = [
        f"{name} : {fr_number(row['pop_start'])} habitants en {t0}, {fr_number(row['pop_end'])} "
        f"en {t1}, soit {signed(row['change'], 0)} habitants ({signed(row['growth_rate_pct'])} % "
        "par an).",
        f"Solde naturel (naissances moins décès) : {signed(row['natural_rate_pct'])} % par an"
        f"{est}. Solde migratoire apparent (arrivées moins départs) : "
        f"{signed(row['migration_rate_pct'])} % par an{est}.",
    ]
    g, nat, mig = row["growth_rate_pct"], row["natural_rate_pct"], row["migration_rate_pct"]
    if g < 0 and nat < 0 <= mig:
        out.append(
            "La population baisse parce que les décès dépassent les naissances, non parce "
            "que les habitants partent : les arrivées dépassent les départs, sans compenser "
            "le déficit naturel."
        )
    elif g < 0 and mig < 0 <= nat:
        out.append("La population baisse parce que les départs dépassent les arrivées.")
    elif g < 0:
        out.append(
            "La population baisse sous l'effet des deux soldes, "
            + ("naturel" if nat < mig else "migratoire")
            + " surtout."
        )
    elif nat < 0 <= mig:
        out.append("La population augmente grâce aux arrivées, qui compensent le déficit naturel.")
    else:
        out.append("La population augmente.")
    if len(terr) > 2:
        n = len(terr)
        parts = []
        for col, what in (
            ("growth_rate_pct", "Variation"),
            ("natural_rate_pct", "Solde naturel"),
            ("migration_rate_pct", "Solde migratoire"),
        ):
            rank, n = _value_rank(terr[col], key)
            median = terr[col].drop(index=key).median()
            parts.append(
                f"{what} : {rank_phrase(rank, n)} (médiane des voisins {signed(median)} %)"
            )
        out.append(f"Rang parmi les {n} départements comparés — " + " ; ".join(parts) + ".")
    return out


def decomposition_table(demo: Demography) -> str:
    """The study and its reference départements side by side (escaped HTML table).

    Rates are signed (``+0,36``, ``−0,11``); the ageing index shows where the age source
    covers the territory.
    """
    src = demo.source
    assert src is not None
    t0, t1 = src.census_years
    terr = demo.territories
    shown = pd.DataFrame(
        {
            "nom": terr["nom"],
            "pop_start": [fr_number(v) for v in terr["pop_start"]],
            "pop_end": [fr_number(v) for v in terr["pop_end"]],
            "growth": [signed(v) for v in terr["growth_rate_pct"]],
            "natural": [signed(v) for v in terr["natural_rate_pct"]],
            "migration": [signed(v) for v in terr["migration_rate_pct"]],
        }
    )
    cols = {
        "nom": "Territoire",
        "pop_start": f"Population {t0}",
        "pop_end": f"Population {t1}",
        "growth": "Variation (% par an)",
        "natural": "dont solde naturel",
        "migration": "dont solde migratoire apparent",
    }
    if src.ages is not None and terr["ageing_index"].notna().any():
        shown["ageing"] = [fr_number(v) for v in terr["ageing_index"]]
        cols["ageing"] = (
            f"Indice de vieillissement ({src.ages.old_min_age} ans et plus pour 100 moins de "
            f"{src.ages.young_max_age + 1} ans)"
        )
    html = table(shown, cols)
    return html.replace("<table>", '<table class="compact decomposition">', 1)


# ----------------------------------------------------------------------------------- points


def points_html(demo: Demography) -> str:
    """The strongest and weakest points against the reference départements (two lists)."""
    pts = demo.points
    if pts.empty:
        n_refs = int((demo.territories["kind"] == "reference").sum())
        why = " (au moins deux départements de référence sont nécessaires)" if n_refs < 2 else ""
        return (
            f'<p class="note">Comparaison avec les départements voisins : {NOT_AVAILABLE}'
            f"{esc(why)}.</p>"
        )
    blocks = []
    for side, title in (("fort", "Points forts"), ("faible", "Points faibles")):
        rows = pts[pts["side"] == side]
        if rows.empty:
            items = ["<li>aucun</li>"]
        else:
            items = []
            for r in rows.to_dict("records"):
                dec = int(r["decimals"])
                unit_text = str(r["unit"])
                rate = unit_text.startswith("% par an")
                fmt = signed if rate else fr_number
                val, med = fmt(r["value"], dec), fmt(r["reference_median"], dec)
                unit = f" {unit_text}" if unit_text else ""
                label = str(r["label_fr"])
                nth = _nth(int(r["rank"]), int(r["n_territories"]))
                items.append(
                    f"<li>{esc(label[0].upper() + label[1:])} : <b>{esc(val)}{esc(unit)}</b> — "
                    f"{esc(nth)} (médiane des voisins {esc(med)})</li>"
                )
        blocks.append(f'<div class="col"><h4>{esc(title)}</h4><ul>{"".join(items)}</ul></div>')
    note = (
        '<p class="note">Rang 1 = position la plus favorable parmi le département et ses '
        "voisins ; chaque valeur est un rapport de sommes sur les communes du territoire "
        "(sources en annexe).</p>"
    )
    return f'<div class="two-cols">{"".join(blocks)}</div>{note}'


def _nth(rank: int, n: int) -> str:
    return f"{'1er' if rank == 1 else f'{rank}e'} sur {n}"


# ---------------------------------------------------------------------------------- communes


def communes_paragraphs(demo: Demography, communes: pd.DataFrame) -> list[str]:
    """Communes that gain and lose people, the largest changes, the EPCI extremes."""
    src = demo.source
    assert src is not None
    t1 = src.census_years[1]
    df = communes.assign(
        **{
            c: pd.to_numeric(communes[c], errors="coerce")
            for c in (
                "demo_change",
                "demo_growth_rate_pct",
                "demo_migration_rate_pct",
                "demo_pop_end",
            )
        }
    )
    ok = df["demo_change"].notna()
    total = df.loc[ok, "demo_pop_end"].sum()
    out = []

    def count(mask: pd.Series, what: str) -> str:
        share = 100.0 * df.loc[mask, "demo_pop_end"].sum() / total if total else float("nan")
        return f"{int(mask.sum())} {what} ({fr_number(share, 0)} % de la population {t1})"

    gain, loss = ok & (df["demo_change"] > 0), ok & (df["demo_change"] < 0)
    stable = ok & (df["demo_change"] == 0)
    text = f"Sur {int(ok.sum())} communes, {count(gain, 'gagnent des habitants')}, {count(loss, 'en perdent')}"
    text += f", {int(stable.sum())} sont stables." if stable.any() else "."
    out.append(text)
    mig = df["demo_migration_rate_pct"]
    okm = mig.notna()
    out.append(
        f"Par le seul solde migratoire, {count(okm & (mig > 0), 'communes gagnent des habitants')}"
        f", {count(okm & (mig <= 0), 'non')}."
    )

    def names(rows: pd.DataFrame) -> str:
        return ", ".join(
            f"{r.nom} ({signed(r.demo_change, 0)} ; {signed(r.demo_growth_rate_pct)} %/an)"
            for r in rows.itertuples(index=False)
        )

    # largest changes first; ties by the rate, then the name (stable, reproducible)
    ranked = df[ok].sort_values(["demo_change", "demo_growth_rate_pct", "nom"], kind="stable")
    ups = ranked[ranked["demo_change"] > 0].sort_values(
        ["demo_change", "demo_growth_rate_pct"], ascending=False, kind="stable"
    )
    ups = ups.head(TOP_COMMUNES)
    downs = ranked[ranked["demo_change"] < 0].head(TOP_COMMUNES)
    if len(ups):
        out.append(f"Plus fortes hausses, en habitants : {names(ups)}.")
    if len(downs):
        out.append(f"Plus fortes baisses : {names(downs)}.")
    epci = demo.epci
    if len(epci):
        whole = epci[~epci["partial"]] if "partial" in epci else epci
        whole = whole.dropna(subset=["growth_rate_pct"]).sort_values("growth_rate_pct")
        if len(whole) > 1:
            lo, hi = whole.iloc[0], whole.iloc[-1]
            out.append(
                f"Par EPCI (entièrement dans l'étude) : de {signed(lo['growth_rate_pct'])} % par an "
                f"({lo['epci_nom']}) à {signed(hi['growth_rate_pct'])} % ({hi['epci_nom']})."
            )
    return out


# ---------------------------------------------------------------------------------- profiles


def key_indicators(
    scoring_config: Any, profile: str, n: int = 3, unit: str | None = "min"
) -> list[str]:
    """The ``n`` indicators weighing most in a profile's score (pillar share × share within).

    Only indicators with a positive weight count, and of ``unit`` when given (access times
    by default: figures a reader can check, where a ratio to the département's median is 1
    at the median by construction); ties keep the configuration order.
    """
    ind_w, pil_w = scoring_config.profile_weights(profile)
    total_p = sum(w for w in pil_w.values() if w > 0) or 1.0
    within: dict[str, float] = {}
    for col, spec in scoring_config.indicators.items():
        if ind_w.get(col, 0.0) > 0:
            within[spec["pillar"]] = within.get(spec["pillar"], 0.0) + ind_w[col]
    eff = {
        col: pil_w.get(spec["pillar"], 0.0) / total_p * ind_w[col] / within[spec["pillar"]]
        for col, spec in scoring_config.indicators.items()
        if ind_w.get(col, 0.0) > 0
        and within.get(spec["pillar"])
        and (unit is None or (spec.get("unit") or "") == unit)
    }
    return sorted(eff, key=lambda c: -eff[c])[:n]


def typical_values(communes: pd.DataFrame, scoring_config: Any, columns: Sequence[str]) -> str:
    """``temps d'accès à un lycée 14 min ; …``: population-weighted medians of indicators."""
    weights = pd.to_numeric(communes["population"], errors="coerce")
    parts = []
    for col in columns:
        if col not in communes.columns:
            continue
        spec = scoring_config.indicators[col]
        value = weighted_median(pd.to_numeric(communes[col], errors="coerce"), weights)
        unit = str(spec.get("unit") or "")
        dec = 0 if unit == "min" or abs(value) >= 10 else 1
        text = fr_number(value, dec) + (f" {unit}" if unit else "")
        label = str(spec["label_fr"]).removeprefix("temps d'accès à ")
        parts.append(f"{label} : {text}")
    return " ; ".join(parts)


def profiles_table(
    communes: pd.DataFrame,
    epci: pd.DataFrame | None,
    labels: Labels,
    dynamics: DynamicsAnalysis | None,
    scoring_config: Any = None,
) -> str:
    """One row per profile: what it finds, where, and high offer with migration gains.

    What it finds: the population-weighted medians of its three heaviest indicators; where:
    the best-placed communes and the leading EPCI.
    """
    rows = []
    weights = None
    if {"demo_pop_start", "demo_pop_end"} <= set(communes.columns):
        weights = (communes["demo_pop_start"] + communes["demo_pop_end"]) / 2.0
    for p in detect_profiles(communes):
        score = pd.to_numeric(communes[f"score_{p}"], errors="coerce")
        best = score.sort_values(ascending=False).head(TOP_PER_PROFILE)
        names = communes.loc[best.index, "nom"].astype(str)
        where = ", ".join(
            f"{name} ({fr_number(value, 0)})" for name, value in zip(names, best, strict=True)
        )
        row = {"profil": labels.profile(p), "communes": where}
        if scoring_config is not None and p in scoring_config.profiles:
            row["finds"] = typical_values(
                communes, scoring_config, key_indicators(scoring_config, p)
            )
        if epci is not None and f"score_{p}" in epci.columns and len(epci):
            top = epci.sort_values(f"score_{p}", ascending=False).iloc[0]
            row["epci"] = f"{top['epci_nom']} ({fr_number(top[f'score_{p}'], 0)})"
        col = f"quadrant_{p}"
        if dynamics is not None and col in communes.columns and weights is not None:
            hg = communes[col] == "haut_gain"
            share = 100.0 * weights[hg].sum() / weights[communes[col].notna()].sum()
            row["haut_gain"] = (
                f"{int(hg.sum())} communes, {fr_number(weights[hg].sum(), 0)} hab. "
                f"({fr_number(share, 0)} %)"
            )
        rows.append(row)
    cols = {
        "profil": "Population cible",
        "finds": "Ce qu'elle trouve : temps d'accès de ses trois équipements les plus pondérés "
        "(médiane par habitant)",
        "communes": "Communes les mieux placées (score 0–100)",
        "epci": "EPCI en tête",
        "haut_gain": "Offre haute et gain migratoire",
    }
    html = table(pd.DataFrame(rows), cols)
    html = html.replace("<table>", '<table class="compact">', 1)
    if scoring_config is not None:
        shown = [
            c
            for p in detect_profiles(communes)
            if p in scoring_config.profiles
            for c in key_indicators(scoring_config, p)
        ]
        html += unknown_offer_note(communes, scoring_config, shown)
    return html


def unknown_offer_note(communes: pd.DataFrame, scoring_config: Any, columns: Sequence[str]) -> str:
    """A note naming the medians that take communes whose time rests on an unknown offer.

    ``""`` when no commune's value of ``columns`` rests on an offer across the border the
    sources do not hold (:func:`geoattract.accessibility.unknown_offer`).
    """
    parts = []
    for col in dict.fromkeys(columns):
        if col not in communes.columns:
            continue
        n = int(unknown_offer(communes, col).sum())
        if n:
            label = str(scoring_config.indicators[col]["label_fr"])
            parts.append(f"{label} ({n} commune{'s' if n > 1 else ''})")
    if not parts:
        return ""
    return (
        f'<p class="note">{esc(UNKNOWN_OFFER_FR[:1].upper() + UNKNOWN_OFFER_FR[1:])} : ces '
        "médianes comptent des communes dont un équipement hors département pourrait être plus "
        "proche que celui pris en compte — " + esc(" ; ".join(parts)) + ".</p>"
    )


# ------------------------------------------------------------------------------------- reach


def reach_paragraphs(metro: Any, total: float) -> list[str]:
    """Headline reach figures: population within the reference and the longest time."""
    if metro is None:
        return [f"Accès aux métropoles : {NOT_AVAILABLE}."]
    spec = metro.spec
    ref, longest = spec.reference_min, max(spec.thresholds_min)

    def people(n: float) -> str:
        if n <= 0:
            return "aucun habitant"
        return f"{fr_number(n)} habitants ({fr_number(100.0 * n / total, 1)} %)"

    out = []
    for p in spec.metropoles:
        parts = []
        for t in (ref, longest):
            car, _ = study_population_within(metro.population, p.key, "voiture", t)
            best, _ = study_population_within(metro.population, p.key, "meilleur", t)
            parts.append(
                f"à moins de {t} min, {people(car)} en voiture, {people(best)} en voiture ou "
                "voiture + train"
            )
        out.append(f"{p.label} : " + " ; ".join(parts) + ".")
    if spec.scenario is not None and spec.scenario in metro.scenarios:
        summary = population_summary(metro, spec.scenario)
        rows = summary[summary["mode"] == "meilleur"]
        gains = ", ".join(
            f"{pole} {signed(gain, 0)} habitants"
            for pole, gain in zip(rows["pole_nom"], rows["gain"], strict=True)
        )
        out.append(
            f"Scénario « {metro.scenarios[spec.scenario].label} », à moins de {ref} min en "
            f"voiture ou voiture + train : {gains}."
        )
    return out


# ---------------------------------------------------------------------------------- section


def synthesis_html(
    demography: Demography | None,
    communes: pd.DataFrame,
    labels: Labels,
    *,
    dynamics: DynamicsAnalysis | None = None,
    epci: pd.DataFrame | None = None,
    metro: Any = None,
    scoring_config: Any = None,
    figures: Sequence[str] = (),
) -> str:
    """HTML of the synthesis (title excluded): five numbered parts, each a few lines.

    Parameters
    ----------
    demography : Demography or None
        Population dynamics (the parts on them say "non disponible" without).
    communes : DataFrame
        The ``communes`` layer (``nom``, ``score_<profile>``, ``demo_*``, ``quadrant_*``).
    labels : Labels
        Profile labels.
    dynamics : DynamicsAnalysis, optional
        Quadrants (the column "offre haute et gain migratoire").
    epci : DataFrame, optional
        EPCI scores (the leading EPCI of each profile).
    metro : geoattract.accessibility.MetropolitanAccess, optional
        Reach of the metropoles.
    scoring_config : ScoringConfig, optional
        Profile weights and indicator labels (what each profile finds).
    figures : sequence of str
        HTML of figures placed after the decomposition table (trusted).
    """
    avail = demography is not None and demography.available
    src = demography.source if avail and demography is not None else None
    parts = []
    period = src.period_fr if src is not None else ""
    parts.append(f"<h3>1. Évolution de la population {esc(period)}</h3>")
    if avail and demography is not None and src is not None:
        parts += [f"<p>{esc(t)}</p>" for t in trend_paragraphs(demography)]
        parts.append(decomposition_table(demography))
        if src.natural_estimated:
            parts.append(f'<p class="note">{esc(src.natural_note_fr())}</p>')
        parts += list(figures)
    else:
        why = demography.note if demography is not None else ""
        parts.append(
            f"<p>Dynamique démographique : {NOT_AVAILABLE}"
            + (f" ({esc(why)})" if why else "")
            + ".</p>"
        )
    parts.append("<h3>2. Points forts et points faibles face aux départements voisins</h3>")
    if avail and demography is not None:
        parts.append(points_html(demography))
    else:
        parts.append(f"<p>{NOT_AVAILABLE}.</p>")
    parts.append("<h3>3. Communes qui gagnent, communes qui perdent</h3>")
    if avail and demography is not None:
        parts += [f"<p>{esc(t)}</p>" for t in communes_paragraphs(demography, communes)]
    else:
        parts.append(f"<p>{NOT_AVAILABLE}.</p>")
    parts.append("<h3>4. Ce que trouve chaque population cible, et où</h3>")
    parts.append(profiles_table(communes, epci, labels, dynamics, scoring_config))
    if dynamics is not None:
        parts.append(
            '<p class="note">Offre haute : score au moins égal au score médian pondéré par la '
            "population (la moitié des habitants vit dans une commune d'offre haute) ; gain "
            "migratoire : solde migratoire apparent positif.</p>"
        )
    parts.append("<h3>5. Accès aux métropoles</h3>")
    total = float(pd.to_numeric(communes["population"], errors="coerce").sum())
    parts += [f"<p>{esc(t)}</p>" for t in reach_paragraphs(metro, total)]
    return '<div class="synthese-body">' + "\n".join(parts) + "</div>"
