"""Internal HTML helpers: escaping, French number formats, tables and the page template.

Every string that comes from data (commune names, facility names, EPCI names, AFOM text…)
goes through :func:`esc` before it is put into HTML, whatever the output: report pages,
Leaflet tooltips and popups (which Leaflet inserts with ``innerHTML``), layer names.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

#: Text shown for a missing value (NaN, None) in tables, tooltips and popups.
MISSING_TEXT = "—"

#: Narrow no-break space, the French thousands separator.
THOUSANDS_SEP = "\u202f"

#: Inline stylesheet shared by the HTML pages (no external CSS).
PAGE_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
  margin:0 auto;max-width:1100px;padding:1em 2em;color:#222;line-height:1.45}
h1{border-bottom:3px solid #225ea8;padding-bottom:.2em}
h2{color:#225ea8;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.92em;display:block;max-width:100%;
  overflow-x:auto}
@media print{table{display:table}}
th,td{border:1px solid #ccc;padding:.25em .55em;text-align:left;vertical-align:top}
th{background:#eef3f8}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.wrap{overflow-wrap:anywhere;min-width:14em}
.caption{background:#fff3cd;border:1px solid #e0c36b;padding:.4em .7em;margin:.6em 0}
.note{color:#555;font-size:.9em}
figure{margin:1em 0}
figure img{max-width:100%;border:1px solid #ddd}
nav ul{columns:2}
"""


def esc(value: Any) -> str:
    """Return ``value`` as HTML-escaped text (quotes too); missing values become a dash.

    Parameters
    ----------
    value : object
        Anything; ``None`` and NaN give :data:`MISSING_TEXT`.

    Returns
    -------
    str
        Text safe to put inside an element or an attribute value.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING_TEXT
    if value is pd.NA or value is pd.NaT:
        return MISSING_TEXT
    return html.escape(str(value), quote=True)


def is_missing(value: Any) -> bool:
    """Whether ``value`` is None, NaN or a pandas missing marker."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-like values
        return False


def fr_number(value: Any, decimals: int = 0) -> str:
    """Format a number the French way: ``12 345,6`` (narrow no-break space, decimal comma).

    Missing values give :data:`MISSING_TEXT`.
    """
    if is_missing(value):
        return MISSING_TEXT
    text = f"{float(value):,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", THOUSANDS_SEP)


def fr_ordinal(rank: Any) -> str:
    """French ordinal of a rank: ``1er``, ``2e``, ``12e``; missing gives a dash."""
    if is_missing(rank):
        return MISSING_TEXT
    n = int(round(float(rank)))
    return f"{n}er" if n == 1 else f"{n}e"


def rank_text(rank: Any, low: Any = None, high: Any = None) -> str:
    """Rank with its interval, for example ``12e (8e–19e)``.

    Parameters
    ----------
    rank : number
        The rank (1 = best).
    low, high : number, optional
        Bounds of the rank interval (5th and 95th percentiles of the simulated ranks). The
        interval is left out when either is missing.
    """
    text = fr_ordinal(rank)
    if is_missing(low) or is_missing(high) or text == MISSING_TEXT:
        return text
    return f"{text} ({fr_ordinal(low)}–{fr_ordinal(high)})"


def table(
    rows: pd.DataFrame,
    columns: Mapping[str, str],
    *,
    numeric: Iterable[str] = (),
    decimals: Mapping[str, int] | None = None,
    caption: str | None = None,
    wrap: Iterable[str] = (),
) -> str:
    """Render a DataFrame as an HTML table, escaping every cell and header.

    Parameters
    ----------
    rows : DataFrame
        The data.
    columns : mapping
        Column name → French header, in display order; absent columns are skipped.
    numeric : iterable of str
        Columns formatted with :func:`fr_number` and right-aligned.
    decimals : mapping, optional
        Column → number of decimals for the numeric columns (default 0).
    caption : str, optional
        Table caption (escaped).
    wrap : iterable of str
        Columns whose long words (addresses of sources) break anywhere, so that the table
        keeps to the page's width.
    """
    decimals = dict(decimals or {})
    numeric = set(numeric)
    wrapped = set(wrap)
    cols = [c for c in columns if c in rows.columns]
    out = ["<table>"]
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    out.append(
        "<thead><tr>" + "".join(f"<th>{esc(columns[c])}</th>" for c in cols) + "</tr></thead>"
    )
    out.append("<tbody>")
    for record in rows[cols].itertuples(index=False, name=None):
        cells = []
        for col, value in zip(cols, record, strict=True):
            if col in numeric:
                cells.append(f'<td class="num">{esc(fr_number(value, decimals.get(col, 0)))}</td>')
            elif col in wrapped:
                cells.append(f'<td class="wrap">{esc(value)}</td>')
            else:
                cells.append(f"<td>{esc(value)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def bullet_list(items: Sequence[Any]) -> str:
    """Render an escaped ``<ul>`` list; an empty sequence gives an empty string."""
    if not items:
        return ""
    return "<ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>"


def png_data_uri(data: bytes) -> str:
    """Encode a PNG as a ``data:image/png;base64,…`` URI for a self-contained page."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def page(title: str, body: str, *, lang: str = "fr", extra_css: str = "") -> str:
    """Build a complete, self-contained HTML5 page (inline CSS, no external resource).

    Parameters
    ----------
    title : str
        Page title (escaped here).
    body : str
        Already-escaped HTML of the body.
    lang : str
        Language of the page.
    extra_css : str
        More inline CSS.
    """
    return (
        f'<!DOCTYPE html>\n<html lang="{esc(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{PAGE_CSS}{extra_css}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )
