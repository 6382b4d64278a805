"""Comparison page of a few communes: radar chart of the pillars (inline SVG) and a table.

The page is one file with inline CSS and no script; every value from data is escaped.
"""

from __future__ import annotations

import logging
import math
import os
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from geoattract._util.io import write_text_atomic
from geoattract.errors import DataError, format_values
from geoattract.outputs.classes import CATEGORY_COLOURS
from geoattract.outputs.html import esc, fr_number, page, rank_text, table
from geoattract.outputs.labels import Labels, detect_pillars

logger = logging.getLogger(__name__)

#: Radar chart geometry (SVG user units): radius of the 100 ring, and horizontal / vertical
#: margins around it for the axis labels (long French labels sit left and right).
RADAR_RADIUS: float = 150.0
RADAR_MARGIN_X: float = 170.0
RADAR_MARGIN_Y: float = 40.0

#: Rings of the radar chart (score values).
RADAR_RINGS: tuple[int, ...] = (20, 40, 60, 80, 100)

#: Fill opacity of each commune's polygon on the radar chart.
RADAR_FILL_OPACITY: float = 0.12

#: Characters per line of an axis label of the radar chart (long labels wrap).
RADAR_LABEL_WIDTH: int = 22


def _polar(cx: float, cy: float, r: float, i: int, n: int) -> tuple[float, float]:
    angle = -math.pi / 2 + 2 * math.pi * i / n  # first axis points up, clockwise
    return cx + r * math.cos(angle), cy + r * math.sin(angle)


def _to_float(value: object) -> float:
    """Convert ``value`` to a float, NaN when missing or not a number."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _axis_label(x: float, y: float, anchor: str, label: str) -> str:
    lines = textwrap.wrap(label, RADAR_LABEL_WIDTH) or [label]
    spans = "".join(
        f'<tspan x="{x:.1f}" dy="{0 if i == 0 else 14}">{esc(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    y0 = y + 4 - 7 * (len(lines) - 1)
    return f'<text x="{x:.1f}" y="{y0:.1f}" text-anchor="{anchor}">{spans}</text>'


def radar_svg(
    rows: pd.DataFrame,
    pillars: Sequence[str],
    *,
    labels: Labels | None = None,
    name_column: str = "nom",
) -> str:
    """Inline SVG radar chart of pillar scores (0–100), one polygon per row.

    Parameters
    ----------
    rows : DataFrame
        One row per commune with ``name_column`` and ``pillar_<pillar>`` columns.
    pillars : sequence of str
        Pillar names (at least 3), one axis each, clockwise from the top.
    labels : Labels, optional
        Pillar labels (default: built from the names).
    name_column : str
        Column with the names shown in the legend.

    Returns
    -------
    str
        An ``<svg>`` element (no script). Missing values are drawn at 0 and flagged with
        an open circle.
    """
    labels = labels or Labels()
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
        ring_pts = " ".join(
            "{:.1f},{:.1f}".format(*_polar(cx, cy, r * ring / 100, i, n)) for i in range(n)
        )
        out.append(f'<polygon points="{ring_pts}" fill="none" stroke="#ccc" stroke-width="1"/>')
        x, y = _polar(cx, cy, r * ring / 100, 0, n)
        out.append(
            f'<text x="{x + 3:.1f}" y="{y - 2:.1f}" fill="#888" font-size="10">{ring}</text>'
        )
    for i, p in enumerate(pillars):
        x, y = _polar(cx, cy, r, i, n)
        out.append(f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{x:.1f}" y2="{y:.1f}" stroke="#bbb"/>')
        lx, ly = _polar(cx, cy, r + 14, i, n)
        anchor = "middle" if abs(lx - cx) < 1 else ("start" if lx > cx else "end")
        out.append(_axis_label(lx, ly, anchor, labels.pillar(p)))
    for j, (_, row) in enumerate(rows.iterrows()):
        colour = CATEGORY_COLOURS[j % len(CATEGORY_COLOURS)]
        pts: list[str] = []
        gaps: list[tuple[float, float]] = []
        for i, p in enumerate(pillars):
            value = _to_float(row.get(f"pillar_{p}"))
            missing = math.isnan(value)
            v = 0.0 if missing else min(max(value, 0.0), 100.0)
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


#: Heading of the second table of the comparison page.
EXTRA_TITLE = "Accès aux métropoles, fibre et télétravail"

#: Heading of the per-indicator table (the table ``geoattract compare`` prints).
INDICATORS_TITLE = "Indicateurs, commune par commune"

#: Note under the per-indicator table.
INDICATORS_NOTE = (
    "Chaque case : valeur de la commune et, entre parenthèses, médiane des communes de "
    "l'étude ; ↑ : plus la valeur est haute, mieux c'est ; ↓ : plus elle est basse, mieux "
    "c'est ; n.d. : non disponible."
)


def indicators_table_html(indicators: pd.DataFrame) -> str:
    """The per-indicator table of the command line, as an escaped HTML table.

    Parameters
    ----------
    indicators : DataFrame
        One row per line (score, rank, pillars, indicators: French row names in the index),
        one column per commune (``Nom (code)``), cells already written in French, as
        :func:`compare_table` returns it.

    Returns
    -------
    str
    """
    out = pd.DataFrame({"ligne": [str(i) for i in indicators.index]})
    headers = {"ligne": "Indicateur"}
    for i, col in enumerate(indicators.columns):
        out[f"c{i}"] = [str(v) for v in indicators[col]]
        headers[f"c{i}"] = str(col)
    return table(out, headers)


def _extra_table(df: pd.DataFrame, columns: Sequence[str], labels: Labels) -> str:
    """One row per column, one column per commune; numbers to one decimal."""
    out = pd.DataFrame(
        {
            "indicateur": [
                labels.column(c) + (f" ({labels.unit(c)})" if labels.unit(c) else "")
                for c in columns
            ]
        }
    )
    headers = {"indicateur": "Indicateur"}
    for i, (_, row) in enumerate(df.iterrows()):
        key = f"c{i}"
        out[key] = [
            fr_number(row[c], 1) if isinstance(row[c], int | float) else row[c] for c in columns
        ]
        headers[key] = str(row["nom"])
    return table(out, headers)


def compare_html(
    rows: pd.DataFrame,
    profile: str,
    path: str | os.PathLike,
    *,
    labels: Labels | None = None,
    title: str | None = None,
    extra_columns: Sequence[str] = (),
    indicators: pd.DataFrame | None = None,
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
    labels : Labels, optional
        Profile and pillar labels (``Labels.from_configs``; default: built from the names).
    title : str, optional
        Page title.
    extra_columns : sequence of str
        Further columns of ``rows`` shown in a second table, one row per column (label from
        ``labels``, unit appended): metropolitan reach, broadband…
    indicators : DataFrame, optional
        The per-indicator table the command prints
        (:func:`compare_table`), shown last
        (:func:`indicators_table_html`).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    DataError
        No row, or a missing ``nom``/``score_<profile>`` column, or fewer than 3 pillars.
    """
    labels = labels or Labels()
    score = f"score_{profile}"
    missing = [c for c in ("nom", score) if c not in rows.columns]
    if missing or rows.empty:
        problem = (
            "no row to compare" if rows.empty else f"missing column(s) {format_values(missing)}"
        )
        raise DataError(f"comparison rows: {problem}; available: {format_values(rows.columns)}")
    pillars = detect_pillars(rows)
    label = labels.profile(profile)
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
    cols.update({f"pillar_{p}": labels.pillar(p) for p in pillars})
    numeric = [score] + [f"pillar_{p}" for p in pillars]
    body = (
        f"<h1>{esc(title)}</h1>\n<figure>{radar_svg(df, pillars, labels=labels)}"
        "<figcaption>Scores des piliers (0–100)</figcaption></figure>\n"
        + table(df, cols, numeric=numeric, decimals=dict.fromkeys(numeric, 1))
    )
    extra = [c for c in extra_columns if c in df.columns]
    if extra:
        body += f"\n<h2>{esc(EXTRA_TITLE)}</h2>\n" + _extra_table(df, extra, labels)
    if indicators is not None and len(indicators):
        body += (
            f'\n<h2>{esc(INDICATORS_TITLE)}</h2>\n<p class="note">{esc(INDICATORS_NOTE)}</p>\n'
            + indicators_table_html(indicators)
        )
    logger.debug("comparison of %d communes written to %s", len(df), path)
    return write_text_atomic(path, page(title, body))


def compare_table(
    table: pd.DataFrame,
    codes: Sequence[str],
    scfg: Any,
    profile: str = "general",
    labels: Any = None,
) -> pd.DataFrame:
    """Side-by-side table in French: one column per commune; score, rank, pillars, indicators.

    Row names come from the study's labels (``label_fr`` of the TOML files), numbers are in
    French format, and indicator cells read ``valeur (médiane …)`` against the study median.
    """
    from geoattract.accessibility import unknown_offer, unknown_offer_text

    labels = labels if labels is not None else Labels.from_configs(scfg)
    score = f"score_{profile}"
    if score not in table.columns:
        raise DataError(f"unknown profile {profile!r}; profiles: {', '.join(scfg.profiles)}")
    sel = table.set_index("code").loc[list(codes)]
    rows: dict[str, list[str]] = {}
    rows["Population"] = [fr_number(p) for p in sel["population"]]
    rows[f"Score — {labels.profile(profile)} (0-100)"] = [fr_number(v, 1) for v in sel[score]]
    rank = sel[f"rank_{profile}"]
    lo, hi = sel.get(f"rank_{profile}_p05"), sel.get(f"rank_{profile}_p95")
    n = int(table[score].notna().sum())
    rows["Rang (intervalle 5-95 %)"] = [
        f"{int(r)}/{n}" + (f" ({int(a)}–{int(b)})" if lo is not None else "")
        for r, a, b in zip(
            rank, lo if lo is not None else rank, hi if hi is not None else rank, strict=True
        )
    ]
    for col in sorted(
        c for c in table.columns if c.startswith("pillar_") and c.endswith(f"_{profile}")
    ):
        pillar = col[len("pillar_") : -len(profile) - 1]
        med = table[col].median()
        rows[f"Pilier — {labels.pillar(pillar)}"] = [
            f"{fr_number(v, 1)} (médiane {fr_number(med, 1)})" for v in sel[col]
        ]
    for ind, spec in scfg.indicators.items():
        if ind not in table.columns:
            continue
        med = table[ind].median()
        unit = labels.unit(ind)
        arrow = "↓" if spec["direction"] == "lower_is_better" else "↑"
        name = f"{labels.column(ind)}{f' ({unit})' if unit else ''} {arrow}"
        unknown = unknown_offer(sel, ind)  # the offer across the border is not in the sources
        rows[name] = [
            "n.d." if pd.isna(v) else unknown_offer_text(f"{_fr(v)} (médiane {_fr(med)})", bool(u))
            for v, u in zip(sel[ind], unknown, strict=True)
        ]
    header = [f"{nom} ({code})" for code, nom in zip(sel.index, sel["nom"], strict=True)]
    return pd.DataFrame(rows, index=header).T


def _fr(value: Any) -> str:
    """A value in French format: whole numbers and values of 100 or more without decimals."""
    if pd.isna(value):
        return "n.d."
    v = float(value)
    return fr_number(v, 0 if v.is_integer() or abs(v) >= 100 else 1)
