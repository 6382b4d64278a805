"""HTML outputs: the self-contained study report and the index page.

Every page is a single file with inline CSS and no script: PNG maps are embedded as base64
data URIs and the full tables are offered as CSV downloads embedded the same way, so the files
can be sent by e-mail or opened offline. Every value that comes from data is HTML-escaped.
"""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from geoattract._util.io import write_text_atomic
from geoattract.accessibility import (
    UNKNOWN_OFFER_FR,
    unknown_offer,
    unknown_offer_category,
)
from geoattract.errors import DataError, DataNotFoundError, format_values
from geoattract.outputs import html as _html
from geoattract.outputs.apl_section import catchment_sensitivity_html
from geoattract.outputs.context import ReportContext
from geoattract.outputs.html import esc, page, rank_text, table
from geoattract.outputs.labels import Labels, capitalise, detect_profiles

logger = logging.getLogger(__name__)

#: Number of communes listed at the top and at the bottom of each profile ranking.
DEFAULT_TOP_N: int = 10

#: Study name used when the context has none.
DEFAULT_STUDY_NAME: str = "Étude d'attractivité"

#: French headers of well-known columns of the EPCI and sensitivity tables.
COLUMN_HEADERS: dict[str, str] = {
    "code": "Code",
    "nom": "Commune",
    "epci": "Code EPCI",
    "epci_nom": "EPCI",
    "population": "Population",
    "n_communes": "Communes",
    "profile": "Profil",
    "input": "Facteur d'incertitude",
    "first_order": "Indice de Sobol (1er ordre)",
    "total_order": "Indice de Sobol total",
    "scenario": "Scénario",
    "spearman": "Corrélation de Spearman",
    "max_rank_shift": "Écart de rang maximal",
    "mean_rank_shift": "Écart de rang moyen",
    "partial": "EPCI en partie hors du département",
}

#: French names of the uncertainty factors of the sensitivity analysis.
SENSITIVITY_FACTORS: dict[str, str] = {
    "weights": "poids",
    "normalisation": "normalisation",
    "thresholds": "seuils de temps",
    "aggregation": "agrégation",
}

#: Extra CSS of the report: the tables stay within the page width (about 1,000 px).
REPORT_CSS = """
table.compact{font-size:.85em;max-width:min(100%,960px)}
table.compact th{white-space:normal;vertical-align:bottom}
table.compact th:first-child{width:15em}
table.decomposition td{text-align:right;font-variant-numeric:tabular-nums}
table.decomposition td:first-child{text-align:left}
a.csv{font-size:.9em}
.caption.network{background:#eef3f8;border-color:#9db4cc}
.synthese{border-top:3px solid #225ea8}
.synthese h3{margin:.9em 0 .3em;font-size:1.05em}
.synthese p{margin:.3em 0}
.two-cols{display:flex;gap:2em;flex-wrap:wrap}
.two-cols .col{flex:1 1 20em}
.two-cols h4{margin:.3em 0}
.two-cols ul{margin:.2em 0;padding-left:1.2em}
details.epci{margin:.3em 0;border-left:3px solid #9db4cc;padding-left:.6em}
details.epci>summary{font-weight:600;cursor:pointer}
details.epci details{margin-left:1em}
.annexe{color:#333}
@media print{
  @page{size:A4;margin:14mm 12mm}
  body{max-width:none;padding:0;font-size:9.5pt;line-height:1.3}
  nav{display:none}
  h1{font-size:16pt;margin:0 0 .2em}
  .caption{font-size:8pt;padding:.2em .4em}
  .synthese{break-after:page}
  .synthese h2{margin-top:.4em}
  .synthese table{font-size:8pt;margin:.3em 0 .5em}
  .synthese figure{display:none}
  h2{break-before:page}
  .synthese h2,h2#synthese{break-before:auto}
  figure,table{break-inside:avoid}
}
"""


def _header(col: str, labels: Labels) -> str:
    if col in COLUMN_HEADERS:
        return COLUMN_HEADERS[col]
    if " " in col:  # already a French header, not a column name
        return col
    return labels.column(col)


def frame_table(df: pd.DataFrame, labels: Labels | None = None, caption: str | None = None) -> str:
    """Render any DataFrame as an escaped HTML table with French headers and number formats.

    Integer columns get no decimals; float columns two decimals when all values are below 10
    in absolute value (correlations, shares), one otherwise; booleans read ``oui``/``non``.

    Parameters
    ----------
    df : DataFrame
        The table.
    labels : Labels, optional
        Labels of score, rank and pillar columns.
    caption : str, optional
        Table caption.

    Returns
    -------
    str
    """
    labels = labels or Labels()
    df = df.copy()
    numeric, decimals = [], {}
    for col in df.columns:
        if pd.api.types.is_bool_dtype(df[col]):
            df[col] = df[col].map({True: "oui", False: "non"})
            continue
        if not pd.api.types.is_numeric_dtype(df[col]):
            continue
        numeric.append(col)
        if pd.api.types.is_integer_dtype(df[col]):
            decimals[col] = 0
        else:
            biggest = df[col].abs().max()
            decimals[col] = 2 if pd.notna(biggest) and biggest < 10 else 1
    headers = {c: _header(str(c), labels) for c in df.columns}
    return table(df, headers, numeric=numeric, decimals=decimals, caption=caption)


def csv_link(df: pd.DataFrame, filename: str, text: str) -> str:
    """Make a download link carrying the whole table as CSV in a data URI (no external file).

    Parameters
    ----------
    df : DataFrame
        The table (written with its column names, UTF-8 with a byte-order mark so that
        spreadsheet programs read the accents).
    filename : str
        Name proposed for the download.
    text : str
        Link text.

    Returns
    -------
    str
    """
    data = base64.b64encode(df.to_csv(index=False).encode("utf-8-sig")).decode("ascii")
    return (
        f'<p><a class="csv" download="{esc(filename)}" '
        f'href="data:text/csv;base64,{data}">{esc(text)}</a></p>'
    )


def epci_summary(epci: pd.DataFrame, labels: Labels) -> pd.DataFrame:
    """Condense the EPCI table to what a planner reads: name, size, one score per profile.

    Parameters
    ----------
    epci : DataFrame
        One row per EPCI (``epci_nom``, ``n_communes``, ``population``, ``score_<profile>``,
        ``partial`` optional), as written by the scoring stage.
    labels : Labels
        Profile labels.

    Returns
    -------
    DataFrame
        Columns ``epci_nom`` (``*`` marks an EPCI partly outside the study), ``n_communes``,
        ``population`` and the ``score_<profile>`` columns, best general score first.
    """
    profiles = detect_profiles(epci)
    keep = [c for c in ("epci_nom", "n_communes", "population") if c in epci.columns]
    out = epci[keep + [f"score_{p}" for p in profiles]].copy()
    if "partial" in epci.columns and "epci_nom" in out.columns:
        partial = epci["partial"].fillna(False).astype(bool)
        out.loc[partial, "epci_nom"] = out.loc[partial, "epci_nom"].astype(str) + " *"
    if profiles:
        out = out.sort_values(f"score_{profiles[0]}", ascending=False)
    return out


def sensitivity_summary(sensitivity: pd.DataFrame, labels: Labels) -> pd.DataFrame:
    """Reshape the sensitivity table in French: one row per profile, columns per factor.

    Parameters
    ----------
    sensitivity : DataFrame
        ``profile``, ``input`` (``weights``, ``normalisation``, ``thresholds``…),
        ``first_order``, ``total_order`` (long table of the scoring stage).
    labels : Labels
        Profile labels.

    Returns
    -------
    DataFrame
        ``Profil`` then ``<facteur> — 1er ordre`` / ``<facteur> — total`` columns; any other
        table is returned unchanged.
    """
    needed = {"profile", "input", "first_order", "total_order"}
    if not needed <= set(sensitivity.columns):
        return sensitivity
    rows = []
    for profile, part in sensitivity.groupby("profile", sort=False):
        row: dict[str, object] = {"Profil": labels.profile(str(profile))}
        for rec in part.itertuples(index=False):
            factor = capitalise(SENSITIVITY_FACTORS.get(str(rec.input), str(rec.input)))
            row[f"{factor} — 1er ordre"] = rec.first_order
            row[f"{factor} — total"] = rec.total_order
        rows.append(row)
    return pd.DataFrame(rows)


def _sources_table(context: ReportContext) -> str:
    if not context.sources:
        return '<p class="note">Sources non renseignées.</p>'
    df = pd.DataFrame(
        [{"name": s.name, "vintage": s.vintage, "licence": s.licence} for s in context.sources]
    )
    return table(df, {"name": "Source", "vintage": "Millésime", "licence": "Licence"})


def _method_html(context: ReportContext) -> str:
    if not context.method:
        return '<p class="note">Méthode non renseignée.</p>'
    return "\n".join(f"<p>{esc(p)}</p>" for p in context.method)


def _caption_html(context: ReportContext | None) -> str:
    if context is None or not context.caption_text:
        return ""
    css = "caption" if context.schematic else "caption network"
    return f'<p class="{css}">{esc(context.caption_text)}</p>'


def unknown_offer_categories(
    communes: pd.DataFrame, columns: Sequence[str], labels: Labels
) -> pd.Series:
    """Per commune, the categories of ``columns`` whose figures rest on an unknown offer.

    Parameters
    ----------
    communes : DataFrame
        The ``communes`` layer (indicators, ``outside_unknown_<id>``, ``time_outside_min``).
    columns : sequence of str
        Indicator columns (those a profile's score weighs).
    labels : Labels
        Category labels.

    Returns
    -------
    Series of str
        ``"Pharmacie ; Urgences"`` (each category once, in the order of ``columns``; labels
        may hold commas), ``""`` where none, aligned on ``communes``.
    """
    names: list[list[str]] = [[] for _ in range(len(communes))]
    for col in columns:
        if col not in communes.columns:
            continue
        cid = unknown_offer_category(col, communes)
        if cid is None:
            continue
        label = labels.category(cid)
        for i, flagged in enumerate(unknown_offer(communes, col).to_numpy(dtype=bool)):
            if flagged and label not in names[i]:
                names[i].append(label)
    return pd.Series([" ; ".join(n) for n in names], index=communes.index, dtype=object)


def _ranking_tables(
    communes: pd.DataFrame,
    profile: str,
    top_n: int,
    indicators: Sequence[str] | None = None,
    labels: Labels | None = None,
) -> str:
    score = f"score_{profile}"
    rank = f"rank_{profile}"
    df = pd.DataFrame(
        {"nom": communes["nom"], "score": pd.to_numeric(communes[score], errors="coerce")}
    )
    df["epci_nom"] = communes["epci_nom"] if "epci_nom" in communes else None
    df["population"] = communes["population"] if "population" in communes else float("nan")
    if rank in communes:
        df["rank"] = pd.to_numeric(communes[rank], errors="coerce")
    else:
        df["rank"] = df["score"].rank(ascending=False, method="min")
    nan = pd.Series(float("nan"), index=df.index)
    low = communes[f"{rank}_p05"] if f"{rank}_p05" in communes else nan
    high = communes[f"{rank}_p95"] if f"{rank}_p95" in communes else nan
    df["rang"] = [rank_text(r, lo, hi) for r, lo, hi in zip(df["rank"], low, high, strict=True)]
    cols = {
        "rang": "Rang (intervalle 5–95 %)",
        "nom": "Commune",
        "epci_nom": "EPCI",
        "population": "Population",
        "score": "Score (0–100)",
    }
    note = ""
    if indicators is not None:
        df["unknown"] = unknown_offer_categories(communes, indicators, labels or Labels())
        if (df["unknown"] != "").any():
            cols["unknown"] = f"{capitalise(UNKNOWN_OFFER_FR)} (catégories)"
            note = (
                '<p class="note">Dernière colonne : catégories dont l\'offre hors du département '
                "n'est pas dans les sources et dont un équipement hors département pourrait être "
                "plus proche (ou dans le seuil compté) que ceux pris en compte ; le score les "
                "compte sans cette offre.</p>"
            )
    df = df.dropna(subset=["rank"]).sort_values(["rank", "nom"])
    numeric, decimals = ["population", "score"], {"score": 1}
    n = min(top_n, len(df))
    return (
        f"<h3>Les {n} mieux classées</h3>\n"
        + table(df.head(n), cols, numeric=numeric, decimals=decimals)
        + f"\n<h3>Les {n} moins bien classées</h3>\n"
        + table(df.tail(n).iloc[::-1], cols, numeric=numeric, decimals=decimals)
        + note
    )


def _afom_groups(afom: Mapping[str, Sequence[str]] | pd.DataFrame) -> Mapping | pd.DataFrame:
    if isinstance(afom, pd.DataFrame) and "sentence" in afom.columns and "code" in afom.columns:
        # long table of geoattract.scoring.afom.afom_table: one row per finding, in display order
        grouped: dict[str, list[str]] = {}
        for code, sentence in zip(afom["code"].astype(str), afom["sentence"], strict=True):
            grouped.setdefault(code, []).append(sentence)
        return grouped
    return afom


def _commune_details(code: str, name: str, body: str) -> str:
    return f"<details><summary>{esc(name)} ({esc(code)})</summary>{body}</details>"


def _afom_html(
    communes: pd.DataFrame,
    afom: Mapping[str, Sequence[str]] | pd.DataFrame | None,
    labels: Labels,
) -> str:
    """AFOM blocks, one folded ``<details>`` per commune, grouped by EPCI when known.

    Each EPCI is itself a folded ``<details class="epci">`` (its name and number of
    communes); communes without an EPCI come last.
    """
    if afom is None:
        return '<p class="note">Synthèse AFOM non fournie.</p>'
    names = dict(zip(communes["code"].astype(str), communes["nom"], strict=False))
    blocks: dict[str, str] = {}
    afom = _afom_groups(afom)
    if isinstance(afom, pd.DataFrame):
        if "code" not in afom.columns:
            raise DataError(
                f"AFOM table: missing column 'code'; available: {format_values(afom.columns)}"
            )
        other = [c for c in afom.columns if c != "code"]
        for record in afom.itertuples(index=False):
            code = str(record.code)
            rows = "".join(
                f"<li><b>{esc(_header(c, labels))} :</b> {esc(getattr(record, c))}</li>"
                for c in other
            )
            blocks[code] = blocks.get(code, "") + _commune_details(
                code, names.get(code, code), f"<ul>{rows}</ul>"
            )
    else:
        order = [c for c in communes["code"].astype(str) if c in afom]
        order += sorted(c for c in map(str, afom) if c not in set(order))
        for code in order:
            blocks[code] = _commune_details(
                code, names.get(code, code), _html.bullet_list(list(afom[code]))
            )
    if not blocks:
        return '<p class="note">Aucune phrase AFOM.</p>'
    if "epci_nom" not in communes.columns:
        return "\n".join(blocks.values())
    epci_of = dict(zip(communes["code"].astype(str), communes["epci_nom"], strict=False))
    groups: dict[str, list[str]] = {}
    for code in blocks:
        epci = epci_of.get(code)
        key = str(epci) if isinstance(epci, str) and epci else ""
        groups.setdefault(key, []).append(code)
    parts = []
    for key in sorted(groups, key=lambda k: (k == "", k)):
        codes = sorted(groups[key], key=lambda c: str(names.get(c, c)))
        title = key or "Sans EPCI"
        n = len(codes)
        parts.append(
            f'<details class="epci"><summary>{esc(title)} ({n} commune{"s" if n > 1 else ""})'
            f"</summary>{''.join(blocks[c] for c in codes)}</details>"
        )
    return "\n".join(parts)


def _epci_html(epci_table: pd.DataFrame | None, labels: Labels) -> str:
    if epci_table is None:
        return '<p class="note">Tableau EPCI non fourni.</p>'
    summary = epci_summary(epci_table, labels)
    headers = {c: _header(c, labels) for c in summary.columns}
    headers.update({f"score_{p}": labels.profile(p) for p in detect_profiles(summary)})
    decimals = {c: 1 for c in summary.columns if c.startswith("score_")}
    numeric = ["n_communes", "population", *decimals]
    out = [
        '<p class="note">Score de chaque profil (0–100) : moyenne des scores des communes de '
        "l'EPCI, pondérée par leur population ; EPCI classés selon le premier profil.</p>",
        table(summary, headers, numeric=numeric, decimals=decimals).replace(
            "<table>", '<table class="compact">', 1
        ),
    ]
    if summary["epci_nom"].astype(str).str.endswith(" *").any():
        out.append('<p class="note">* EPCI en partie hors du département d\'étude.</p>')
    out.append(
        csv_link(
            epci_table,
            "epci.csv",
            "Tableau complet par EPCI : scores, piliers par profil et rangs (CSV)",
        )
    )
    return "\n".join(out)


def _sensitivity_html(sensitivity: pd.DataFrame | None, labels: Labels) -> str:
    if sensitivity is None:
        return '<p class="note">Analyse de sensibilité non fournie.</p>'
    return "\n".join(
        [
            '<p class="note">Indices de Sobol : part de la variance des scores due à chaque '
            "facteur seul (1er ordre) ou avec ses interactions (total).</p>",
            frame_table(sensitivity_summary(sensitivity, labels), labels).replace(
                "<table>", '<table class="compact">', 1
            ),
            csv_link(sensitivity, "sensitivity.csv", "Tableau de sensibilité (CSV)"),
        ]
    )


def _maps_html(static_maps: Mapping[str, str | os.PathLike] | None, labels: Labels) -> str:
    parts = []
    for name, path in (static_maps or {}).items():
        p = Path(path)
        if not p.is_file():
            raise DataNotFoundError(f"static map {name!r} not found: {p}")
        label = labels.column(str(name))
        parts.append(
            f'<figure><img alt="{esc(label)}" src="{_html.png_data_uri(p.read_bytes())}">'
            f"<figcaption>{esc(label)}</figcaption></figure>"
        )
    return "\n".join(parts)


def write_report(
    out_dir: str | os.PathLike,
    communes: pd.DataFrame,
    context: ReportContext | None = None,
    *,
    epci_table: pd.DataFrame | None = None,
    afom: Mapping[str, Sequence[str]] | pd.DataFrame | None = None,
    sensitivity: pd.DataFrame | None = None,
    static_maps: Mapping[str, str | os.PathLike] | None = None,
    top_n: int = DEFAULT_TOP_N,
    filename: str = "report.html",
    catchment_sensitivity: Any = None,
    sections: Sequence[tuple[str, str, str]] = (),
    synthesis: str | None = None,
    front_sections: Sequence[tuple[str, str, str]] = (),
    profile_indicators: Mapping[str, Sequence[str]] | None = None,
) -> Path:
    """Write the self-contained study report ``report.html``.

    Parameters
    ----------
    out_dir : path-like
        Output folder (created).
    communes : DataFrame
        Scored study communes: ``code``, ``nom``, ``score_<profile>``, ``rank_<profile>``
        (and ``_p05``/``_p95``), ``epci_nom``, ``population``.
    context : ReportContext, optional
        Study name, labels, network caption (banner at the top), sources and method.
    epci_table : DataFrame, optional
        One row per EPCI (scoring stage): the report shows the score per profile and links
        the whole table as CSV.
    afom : mapping or DataFrame, optional
        Code → list of AFOM sentences (:func:`geoattract.scoring.afom.afom_sentences`), the
        long table of :func:`geoattract.scoring.afom.afom_table` (``code`` and ``sentence``
        columns), or a wide table with a ``code`` column (one block per row).
    sensitivity : DataFrame, optional
        Sensitivity analysis (``profile``, ``input``, ``first_order``, ``total_order``):
        shown in French, one row per profile, and linked as CSV.
    static_maps : mapping, optional
        Map name (``score_<profile>``, ``pillar_<pillar>``) → PNG path; embedded as data URIs.
    top_n : int
        Communes listed at each end of every profile ranking.
    filename : str
        Name of the page in ``out_dir``.
    catchment_sensitivity : geoattract.accessibility.CatchmentSensitivity, optional
        How the APL ranking moves when each method choice is switched; its section comes
        after the sensitivity analysis (none without it).
    sections : sequence of (str, str, str)
        Further sections ``(anchor, title, html)`` placed before the maps (the HTML is
        trusted: build it with the escaping helpers of :mod:`geoattract.outputs.html`).
    synthesis : str, optional
        HTML of the synthesis for elected members (trusted; see
        :func:`geoattract.outputs.synthesis.synthesis_html`): the report opens with it.
    front_sections : sequence of (str, str, str)
        Sections placed right after the synthesis, before the rankings (trusted HTML).
    profile_indicators : mapping, optional
        Profile → the indicator columns its score weighs: each ranking then names, per
        commune, the categories whose figures rest on an offer across the border the sources
        do not hold (:func:`unknown_offer_categories`).

    The method and the sources close the report, as annexes.

    Returns
    -------
    pathlib.Path
        The written page.

    Raises
    ------
    DataError
        ``communes`` has no ``nom``/``code`` or no ``score_<profile>`` column.
    DataNotFoundError
        A static map file is missing.
    """
    context = context or ReportContext(DEFAULT_STUDY_NAME)
    labels = context.labels
    missing = [c for c in ("code", "nom") if c not in communes.columns]
    profiles = detect_profiles(communes)
    if missing or not profiles:
        raise DataError(
            f"communes: missing column(s) {format_values(missing or ['score_<profile>'])}; "
            f"available: {format_values(communes.columns, limit=40)}"
        )
    title = f"Attractivité des communes — {context.name}"
    body = [f"<h1>{esc(title)}</h1>", _caption_html(context)]
    toc = [("synthese", "Synthèse")] if synthesis is not None else []
    toc += [(anchor, heading) for anchor, heading, _ in front_sections]
    toc += [(f"profil-{p}", f"Classement — {labels.profile(p)}") for p in profiles]
    toc += [
        ("epci", "Synthèse par EPCI"),
        ("afom", "Synthèse AFOM"),
        ("sensibilite", "Analyse de sensibilité"),
    ]
    if catchment_sensitivity is not None:
        toc.append(("robustesse-apl", "Accès aux soins : robustesse de l'APL"))
    toc += [*((anchor, heading) for anchor, heading, _ in sections), ("cartes", "Cartes")]
    toc += [("methode", "Annexe A — Méthode"), ("sources", "Annexe B — Sources et millésimes")]
    if synthesis is not None:  # the report opens with the synthesis, then the contents
        body.append(
            f'<section class="synthese"><h2 id="synthese">Synthèse</h2>\n{synthesis}</section>'
        )
    body.append(
        "<nav><h2>Sommaire</h2><ul>"
        + "".join(f'<li><a href="#{a}">{esc(t)}</a></li>' for a, t in toc)
        + "</ul></nav>"
    )
    for anchor, heading, html_text in front_sections:
        body.append(f'<h2 id="{esc(anchor)}">{esc(heading)}</h2>\n{html_text}')
    for p in profiles:
        body.append(f'<h2 id="profil-{esc(p)}">Classement — {esc(labels.profile(p))}</h2>')
        body.append(
            '<p class="note">Rang : 1 = la plus attractive ; entre parenthèses, '
            "l'intervalle 5–95 % des rangs obtenus en faisant varier les pondérations.</p>"
        )
        weighed = profile_indicators.get(p) if profile_indicators is not None else None
        body.append(_ranking_tables(communes, p, top_n, weighed, labels))
    body.append(f'<h2 id="epci">Synthèse par EPCI</h2>\n{_epci_html(epci_table, labels)}')
    body.append(
        '<h2 id="afom">Synthèse AFOM</h2>\n<p class="note">Atouts, faiblesses, opportunités et '
        "menaces de chaque commune, regroupées par EPCI : ouvrir un EPCI, puis une commune.</p>\n"
        + _afom_html(communes, afom, labels)
    )
    body.append('<h2 id="sensibilite">Analyse de sensibilité</h2>')
    body.append(_sensitivity_html(sensitivity, labels))
    if catchment_sensitivity is not None:
        body.append('<h2 id="robustesse-apl">Accès aux soins : robustesse de l\'APL</h2>')
        body.append(catchment_sensitivity_html(catchment_sensitivity, labels))
    for anchor, heading, html_text in sections:
        body.append(f'<h2 id="{esc(anchor)}">{esc(heading)}</h2>\n{html_text}')
    body.append(f'<h2 id="cartes">Cartes</h2>\n{_maps_html(static_maps, labels)}')
    body.append(
        f'<section class="annexe"><h2 id="methode">Annexe A — Méthode</h2>\n'
        f"{_method_html(context)}</section>"
    )
    body.append(
        f'<section class="annexe"><h2 id="sources">Annexe B — Sources et millésimes</h2>\n'
        f"{_sources_table(context)}</section>"
    )
    html = page(title, "\n".join(body), extra_css=REPORT_CSS)
    return write_text_atomic(Path(out_dir) / filename, html)


def write_index(
    out_dir: str | os.PathLike,
    files: Mapping[str, str | os.PathLike],
    context: ReportContext | None = None,
    filename: str = "index.html",
) -> Path:
    """Write ``index.html``, linking (relative links) to every output.

    Parameters
    ----------
    out_dir : path-like
        Folder of the index; links are relative to it.
    files : mapping
        Label (French) → path of the output.
    context : ReportContext, optional
        Study name and network caption.
    filename : str
        Name of the page.

    Returns
    -------
    pathlib.Path
    """
    out = Path(out_dir)
    name = context.name if context is not None else DEFAULT_STUDY_NAME
    title = f"Résultats — {name}"
    items = []
    for label, path in files.items():
        rel = os.path.relpath(Path(path).resolve(), out.resolve())
        href = quote(Path(rel).as_posix())
        items.append(f'<li><a href="{esc(href)}">{esc(label)}</a></li>')
    body = f"<h1>{esc(title)}</h1>\n{_caption_html(context)}\n<ul>\n" + "\n".join(items) + "\n</ul>"
    return write_text_atomic(out / filename, page(title, body, extra_css=REPORT_CSS))
