"""HTML outputs: the self-contained study report, the index page and the comparison page.

Every page is a single file with inline CSS and no script: PNG maps are embedded as base64
data URIs and the radar chart of :func:`compare_html` is inline SVG, so the files can be sent
by e-mail or opened offline. Every value that comes from data is HTML-escaped.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from geoattract._util.io import write_text_atomic
from geoattract.errors import DataError, DataNotFoundError, format_values
from geoattract.outputs import html as _html
from geoattract.outputs.html import esc, page, rank_text, table
from geoattract.outputs.maps import (
    CATEGORY_COLOURS,
    PILLAR_LABELS,
    PROFILE_LABELS,
    SCHEMATIC_CAPTION,
    column_label,
    detect_pillars,
    detect_profiles,
)

__all__ = ["compare_html", "radar_svg", "write_index", "write_report"]

logger = logging.getLogger(__name__)

#: Number of communes listed at the top and at the bottom of each profile ranking.
DEFAULT_TOP_N: int = 10

#: Radar chart geometry (SVG user units): radius of the 100 ring, and horizontal / vertical
#: margins around it for the axis labels (long French labels sit left and right).
RADAR_RADIUS: float = 150.0
RADAR_MARGIN_X: float = 170.0
RADAR_MARGIN_Y: float = 40.0

#: Rings of the radar chart (score values).
RADAR_RINGS: tuple[int, ...] = (20, 40, 60, 80, 100)

#: Fill opacity of each commune's polygon on the radar chart.
RADAR_FILL_OPACITY: float = 0.12

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
}


def _header(col: str) -> str:
    if col in COLUMN_HEADERS:
        return COLUMN_HEADERS[col]
    if col.startswith(("score_", "pillar_")):
        return column_label(col)
    return col.replace("_", " ").capitalize()


def frame_table(df: pd.DataFrame, caption: str | None = None) -> str:
    """Render any DataFrame as an escaped HTML table with French number formats.

    Integer columns get no decimals; float columns two decimals when all values are below 10
    in absolute value (correlations, shares), one otherwise.
    """
    numeric, decimals = [], {}
    for col in df.columns:
        if pd.api.types.is_bool_dtype(df[col]) or not pd.api.types.is_numeric_dtype(df[col]):
            continue
        numeric.append(col)
        if pd.api.types.is_integer_dtype(df[col]):
            decimals[col] = 0
        else:
            biggest = df[col].abs().max()
            decimals[col] = 2 if pd.notna(biggest) and biggest < 10 else 1
    headers = {c: _header(str(c)) for c in df.columns}
    return table(df, headers, numeric=numeric, decimals=decimals, caption=caption)


def _sources_table(meta: Mapping[str, Any]) -> str:
    sources = meta.get("sources") or []
    if not sources:
        return '<p class="note">Sources non renseignées.</p>'
    df = pd.DataFrame(
        [
            {"name": s.get("name"), "vintage": s.get("vintage"), "licence": s.get("licence")}
            for s in sources
        ]
    )
    return table(df, {"name": "Source", "vintage": "Millésime", "licence": "Licence"})


def _method_html(meta: Mapping[str, Any]) -> str:
    text = meta.get("method") or ""
    if isinstance(text, (list, tuple)):
        paragraphs = [str(p) for p in text]
    else:
        paragraphs = [p.strip() for p in str(text).split("\n\n") if p.strip()]
    if not paragraphs:
        return '<p class="note">Méthode non renseignée.</p>'
    return "\n".join(f"<p>{esc(p)}</p>" for p in paragraphs)


def _ranking_tables(communes: pd.DataFrame, profile: str, top_n: int) -> str:
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
    low = (
        communes[f"{rank}_p05"]
        if f"{rank}_p05" in communes
        else pd.Series(float("nan"), index=df.index)
    )
    high = (
        communes[f"{rank}_p95"]
        if f"{rank}_p95" in communes
        else pd.Series(float("nan"), index=df.index)
    )
    df["rang"] = [rank_text(r, lo, hi) for r, lo, hi in zip(df["rank"], low, high, strict=True)]
    df = df.dropna(subset=["rank"]).sort_values(["rank", "nom"])
    cols = {
        "rang": "Rang (intervalle 5–95 %)",
        "nom": "Commune",
        "epci_nom": "EPCI",
        "population": "Population",
        "score": "Score (0–100)",
    }
    opts = {"numeric": ["population", "score"], "decimals": {"score": 1}}
    n = min(top_n, len(df))
    return (
        f"<h3>Les {n} mieux classées</h3>\n"
        + table(df.head(n), cols, **opts)
        + f"\n<h3>Les {n} moins bien classées</h3>\n"
        + table(df.tail(n).iloc[::-1], cols, **opts)
    )


def _afom_html(
    communes: pd.DataFrame, afom: Mapping[str, Sequence[str]] | pd.DataFrame | None
) -> str:
    if afom is None:
        return '<p class="note">Synthèse AFOM non fournie.</p>'
    names = dict(zip(communes["code"].astype(str), communes["nom"], strict=False))
    parts = []
    if isinstance(afom, pd.DataFrame) and "sentence" in afom.columns and "code" in afom.columns:
        # long table of geoattract.scoring.afom.afom_table: one row per finding, in display order
        grouped: dict[str, list[str]] = {}
        for code, sentence in zip(afom["code"].astype(str), afom["sentence"], strict=True):
            grouped.setdefault(code, []).append(sentence)
        afom = grouped
    if isinstance(afom, pd.DataFrame):
        if "code" not in afom.columns:
            raise DataError(
                f"AFOM table: missing column 'code'; available: {format_values(afom.columns)}"
            )
        other = [c for c in afom.columns if c != "code"]
        for record in afom.itertuples(index=False):
            code = str(record.code)
            rows = "".join(
                f"<li><b>{esc(_header(c))} :</b> {esc(getattr(record, c))}</li>" for c in other
            )
            parts.append(
                f"<details><summary>{esc(names.get(code, code))} ({esc(code)})"
                f"</summary><ul>{rows}</ul></details>"
            )
    else:
        order = [c for c in communes["code"].astype(str) if c in afom]
        order += sorted(c for c in map(str, afom) if c not in set(order))
        for code in order:
            parts.append(
                f"<details><summary>{esc(names.get(code, code))} ({esc(code)})"
                f"</summary>{_html.bullet_list(list(afom[code]))}</details>"
            )
    return "\n".join(parts) or '<p class="note">Aucune phrase AFOM.</p>'


def _schematic_html(meta: Mapping[str, Any]) -> str:
    if not meta.get("schematic"):
        return ""
    return f'<p class="caption">{esc(meta.get("schematic_caption", SCHEMATIC_CAPTION))}</p>'


def write_report(
    out_dir: str | os.PathLike,
    communes: pd.DataFrame,
    *,
    epci_table: pd.DataFrame | None = None,
    afom: Mapping[str, Sequence[str]] | pd.DataFrame | None = None,
    sensitivity: pd.DataFrame | None = None,
    static_maps: Mapping[str, str | os.PathLike] | None = None,
    meta: Mapping[str, Any] | None = None,
    top_n: int = DEFAULT_TOP_N,
    filename: str = "report.html",
) -> Path:
    """Write the self-contained study report ``report.html``.

    Parameters
    ----------
    out_dir : path-like
        Output folder (created).
    communes : DataFrame
        Scored study communes: ``code``, ``nom``, ``score_<profile>``, ``rank_<profile>``
        (and ``_p05``/``_p95``), ``epci_nom``, ``population``.
    epci_table : DataFrame, optional
        One row per EPCI, shown as is (French headers for known columns).
    afom : mapping or DataFrame, optional
        Code → list of AFOM sentences (:func:`geoattract.scoring.afom.afom_sentences`), the long table
        of :func:`geoattract.scoring.afom.afom_table` (``code`` and ``sentence`` columns), or a wide
        table with a ``code`` column (one block per row, one line per other column).
    sensitivity : DataFrame, optional
        Sensitivity analysis table, shown as is.
    static_maps : mapping, optional
        Map name (``score_<profile>``, ``pillar_<pillar>``) → PNG path; embedded as data URIs.
    meta : mapping, optional
        ``name``, ``method`` (text, paragraphs separated by blank lines), ``sources`` (list of
        dicts name/vintage/licence), ``schematic``.
    top_n : int
        Communes listed at each end of every profile ranking.
    filename : str
        Name of the page in ``out_dir``.

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
    meta = dict(meta or {})
    missing = [c for c in ("code", "nom") if c not in communes.columns]
    profiles = detect_profiles(communes)
    if missing or not profiles:
        raise DataError(
            f"communes: missing column(s) {format_values(missing or ['score_<profile>'])}; "
            f"available: {format_values(communes.columns, limit=40)}"
        )
    study = meta.get("name", "Étude d'attractivité")
    title = f"Attractivité des communes — {study}"
    body = [f"<h1>{esc(title)}</h1>", _schematic_html(meta)]
    toc = [("methode", "Méthode"), ("sources", "Sources et millésimes")]
    toc += [(f"profil-{p}", f"Classement — {PROFILE_LABELS.get(p, p)}") for p in profiles]
    toc += [
        ("epci", "Synthèse par EPCI"),
        ("afom", "Synthèse AFOM"),
        ("sensibilite", "Analyse de sensibilité"),
        ("cartes", "Cartes"),
    ]
    body.append(
        "<nav><ul>"
        + "".join(f'<li><a href="#{a}">{esc(t)}</a></li>' for a, t in toc)
        + "</ul></nav>"
    )
    body.append(f'<h2 id="methode">Méthode</h2>\n{_method_html(meta)}')
    body.append(f'<h2 id="sources">Sources et millésimes</h2>\n{_sources_table(meta)}')
    for p in profiles:
        label = PROFILE_LABELS.get(p, p.replace("_", " ").capitalize())
        body.append(f'<h2 id="profil-{esc(p)}">Classement — {esc(label)}</h2>')
        body.append(
            '<p class="note">Rang : 1 = la plus attractive ; entre parenthèses, '
            "l'intervalle 5–95 % des rangs obtenus en faisant varier les pondérations.</p>"
        )
        body.append(_ranking_tables(communes, p, top_n))
    body.append('<h2 id="epci">Synthèse par EPCI</h2>')
    body.append(
        frame_table(epci_table)
        if epci_table is not None
        else '<p class="note">Tableau EPCI non fourni.</p>'
    )
    body.append(f'<h2 id="afom">Synthèse AFOM</h2>\n{_afom_html(communes, afom)}')
    body.append('<h2 id="sensibilite">Analyse de sensibilité</h2>')
    body.append(
        frame_table(sensitivity)
        if sensitivity is not None
        else '<p class="note">Analyse de sensibilité non fournie.</p>'
    )
    body.append('<h2 id="cartes">Cartes</h2>')
    for name, path in (static_maps or {}).items():
        p = Path(path)
        if not p.is_file():
            raise DataNotFoundError(f"static map {name!r} not found: {p}")
        label = column_label(str(name))
        body.append(
            f'<figure><img alt="{esc(label)}" src="{_html.png_data_uri(p.read_bytes())}">'
            f"<figcaption>{esc(label)}</figcaption></figure>"
        )
    return write_text_atomic(Path(out_dir) / filename, page(title, "\n".join(body)))


def write_index(
    out_dir: str | os.PathLike,
    files: Mapping[str, str | os.PathLike],
    meta: Mapping[str, Any] | None = None,
    filename: str = "index.html",
) -> Path:
    """Write ``index.html``, linking (relative links) to every output.

    Parameters
    ----------
    out_dir : path-like
        Folder of the index; links are relative to it.
    files : mapping
        Label (French) → path of the output.
    meta : mapping, optional
        ``name`` and ``schematic`` of the study.
    filename : str
        Name of the page.

    Returns
    -------
    pathlib.Path
    """
    meta = dict(meta or {})
    out = Path(out_dir)
    title = f"Résultats — {meta.get('name', 'Étude d’attractivité')}"
    items = []
    for label, path in files.items():
        rel = os.path.relpath(Path(path).resolve(), out.resolve())
        href = quote(Path(rel).as_posix())
        items.append(f'<li><a href="{esc(href)}">{esc(label)}</a></li>')
    body = f"<h1>{esc(title)}</h1>\n{_schematic_html(meta)}\n<ul>\n" + "\n".join(items) + "\n</ul>"
    return write_text_atomic(out / filename, page(title, body))


def _polar(cx: float, cy: float, r: float, i: int, n: int) -> tuple[float, float]:
    angle = -math.pi / 2 + 2 * math.pi * i / n  # first axis points up, clockwise
    return cx + r * math.cos(angle), cy + r * math.sin(angle)


def radar_svg(rows: pd.DataFrame, pillars: Sequence[str], *, name_column: str = "nom") -> str:
    """Inline SVG radar chart of pillar scores (0–100), one polygon per row.

    Parameters
    ----------
    rows : DataFrame
        One row per commune with ``name_column`` and ``pillar_<pillar>`` columns.
    pillars : sequence of str
        Pillar names (at least 3), one axis each, clockwise from the top.
    name_column : str
        Column with the names shown in the legend.

    Returns
    -------
    str
        An ``<svg>`` element (no script). Missing values are drawn at 0 and flagged with
        an open circle.
    """
    n = len(pillars)
    if n < 3:
        raise DataError(f"radar chart needs at least 3 pillars, got {format_values(pillars)}")
    r = RADAR_RADIUS
    cx, cy = r + RADAR_MARGIN_X, r + RADAR_MARGIN_Y
    legend_h = 22 * len(rows) + 10
    width, height = 2 * cx, 2 * cy + legend_h
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        'font-family="system-ui, Arial, sans-serif" font-size="12">',
        "<title>Profil des piliers (0–100)</title>",
    ]
    for ring in RADAR_RINGS:
        pts = " ".join(
            "{:.1f},{:.1f}".format(*_polar(cx, cy, r * ring / 100, i, n)) for i in range(n)
        )
        out.append(f'<polygon points="{pts}" fill="none" stroke="#ccc" stroke-width="1"/>')
        x, y = _polar(cx, cy, r * ring / 100, 0, n)
        out.append(
            f'<text x="{x + 3:.1f}" y="{y - 2:.1f}" fill="#888" font-size="10">{ring}</text>'
        )
    for i, p in enumerate(pillars):
        x, y = _polar(cx, cy, r, i, n)
        out.append(f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{x:.1f}" y2="{y:.1f}" stroke="#bbb"/>')
        lx, ly = _polar(cx, cy, r + 14, i, n)
        anchor = "middle" if abs(lx - cx) < 1 else ("start" if lx > cx else "end")
        label = PILLAR_LABELS.get(p, p.replace("_", " ").capitalize())
        out.append(
            f'<text x="{lx:.1f}" y="{ly + 4:.1f}" text-anchor="{anchor}">{esc(label)}</text>'
        )
    for j, (_, row) in enumerate(rows.iterrows()):
        colour = CATEGORY_COLOURS[j % len(CATEGORY_COLOURS)]
        pts, gaps = [], []
        for i, p in enumerate(pillars):
            v = pd.to_numeric(row.get(f"pillar_{p}"), errors="coerce")
            missing = pd.isna(v)
            v = 0.0 if missing else min(max(float(v), 0.0), 100.0)
            x, y = _polar(cx, cy, r * v / 100, i, n)
            pts.append(f"{x:.1f},{y:.1f}")
            if missing:
                gaps.append((x, y))
        out.append(
            f'<polygon points="{" ".join(pts)}" fill="{colour}" '
            f'fill-opacity="{RADAR_FILL_OPACITY}" stroke="{colour}" stroke-width="2"/>'
        )
        out.extend(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="white" stroke="{colour}"/>'
            for x, y in gaps
        )
        ly = 2 * cy + 16 + 22 * j
        out.append(
            f'<rect x="20" y="{ly - 11}" width="14" height="14" fill="{colour}"/>'
            f'<text x="40" y="{ly}">{esc(row.get(name_column))}</text>'
        )
    out.append("</svg>")
    return "\n".join(out)


def compare_html(
    rows: pd.DataFrame, profile: str, path: str | os.PathLike, *, title: str | None = None
) -> Path:
    """Write a comparison page of a few communes: radar chart of pillars and a table.

    Parameters
    ----------
    rows : DataFrame
        One row per compared commune with ``nom``, ``pillar_<pillar>`` columns and
        ``score_<profile>`` (``rank_<profile>``, ``_p05``/``_p95`` optional).
    profile : str
        Profile whose score and rank are shown.
    path : path-like
        The HTML file to write.
    title : str, optional
        Page title.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    DataError
        No row, or a missing ``nom``/``score_<profile>`` column, or fewer than 3 pillars.
    """
    score = f"score_{profile}"
    missing = [c for c in ("nom", score) if c not in rows.columns]
    if missing or rows.empty:
        problem = (
            "no row to compare" if rows.empty else f"missing column(s) {format_values(missing)}"
        )
        raise DataError(f"comparison rows: {problem}; available: {format_values(rows.columns)}")
    pillars = detect_pillars(rows)
    label = PROFILE_LABELS.get(profile, profile.replace("_", " ").capitalize())
    title = title or f"Comparaison de communes — profil {label}"
    df = rows.copy()
    rank = f"rank_{profile}"
    if rank in df:
        df["rang"] = [
            rank_text(r, lo, hi)
            for r, lo, hi in zip(
                df[rank],
                df.get(f"{rank}_p05", pd.Series(float("nan"), index=df.index)),
                df.get(f"{rank}_p95", pd.Series(float("nan"), index=df.index)),
                strict=True,
            )
        ]
    cols = {"nom": "Commune", score: f"Score {label}", "rang": "Rang (intervalle 5–95 %)"}
    cols.update({f"pillar_{p}": PILLAR_LABELS.get(p, p) for p in pillars})
    numeric = [score] + [f"pillar_{p}" for p in pillars]
    body = (
        f"<h1>{esc(title)}</h1>\n<figure>{radar_svg(df, pillars)}"
        "<figcaption>Scores des piliers (0–100)</figcaption></figure>\n"
        + table(df, cols, numeric=numeric, decimals=dict.fromkeys(numeric, 1))
    )
    logger.debug("comparison of %d communes written to %s", len(df), path)
    return write_text_atomic(path, page(title, body))
