r"""Tables printed on the console, within 100 columns.

``compare``, ``scenario`` and ``isochrones`` print tables whose width grows with the number of
communes or pillars. :func:`fit_table` keeps every line within :data:`MAX_WIDTH` (or a narrower
terminal): long text in the key columns wraps onto several lines, and when the other columns do
not fit beside the keys they are cut into blocks printed one under the other, each repeating
the keys (as ``pandas`` wraps a wide frame, without its ``\\`` continuation marks).
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

#: Widest line printed (columns), the classic terminal width with room to spare.
MAX_WIDTH = 100

#: Gap between two columns.
GAP = "  "


def console_width(limit: int = MAX_WIDTH) -> int:
    """The terminal's width, at most ``limit`` (``limit`` when not on a terminal)."""
    return min(limit, shutil.get_terminal_size((limit, 24)).columns)


def fit_table(
    table: pd.DataFrame,
    *,
    keys: Sequence[str] = (),
    width: int | None = None,
    key_width: int = 44,
    cell_width: int = 30,
) -> str:
    """Text of ``table`` with no line wider than ``width``.

    Parameters
    ----------
    table : DataFrame
        Cells already formatted as text (numbers in French, ``n.d.``); the index is not printed.
    keys : sequence of str
        Columns repeated in every block (the commune, the indicator); their text wraps at
        ``key_width`` characters.
    width : int, optional
        Widest line; default :func:`console_width`.
    key_width, cell_width : int
        Widest key column, widest other column (longer text is cut with « … »).

    Returns
    -------
    str

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"Indicateur": ["Temps d'accès à une maternité (min)"],
    ...                   "Agen": ["2,4"], "Nérac": ["31,0"]})
    >>> print(fit_table(t, keys=["Indicateur"], width=40, key_width=20))
    Indicateur           Agen  Nérac
    Temps d'accès à une   2,4   31,0
    maternité (min)
    """
    width = console_width() if width is None else width
    text = table.astype(object).where(table.notna(), "n.d.").astype(str)
    keys = [k for k in keys if k in text.columns]
    others = [c for c in text.columns if c not in keys]
    limits = {c: key_width if c in keys else cell_width for c in text.columns}
    cells = {c: [_cut(v, limits[c], wrap=c in keys) for v in text[c]] for c in text.columns}
    widths = {
        c: min(limits[c], max([len(str(c))] + [len(line) for v in cells[c] for line in v]))
        for c in text.columns
    }
    numeric = {c: c not in keys and _looks_numeric(text[c]) for c in text.columns}
    key_span = sum(widths[k] for k in keys) + len(GAP) * len(keys)
    blocks: list[list[str]] = []
    current: list[str] = []
    used = key_span
    for c in others:
        need = widths[c] + (len(GAP) if current else 0)
        if current and used + need > width:
            blocks.append(current)
            current, used = [], key_span
            need = widths[c]
        current.append(c)
        used += need
    if current or not blocks:
        blocks.append(current)
    parts = [_render(keys + block, cells, widths, numeric) for block in blocks]
    return "\n\n".join(parts)


def _cut(value: str, limit: int, wrap: bool) -> list[str]:
    if len(value) <= limit:
        return [value]
    if wrap:
        return textwrap.wrap(value, limit) or [""]
    return [value[: limit - 1] + "…"]


def _looks_numeric(col: pd.Series) -> bool:
    vals = [v for v in col if v not in ("", "n.d.")]
    return bool(vals) and all(v.lstrip("+-−")[:1].isdigit() for v in vals)


def _render(
    columns: list[str],
    cells: dict[str, list[list[str]]],
    widths: dict[str, int],
    numeric: dict[str, bool],
) -> str:
    def fmt(col: str, value: str) -> str:
        return value.rjust(widths[col]) if numeric[col] else value.ljust(widths[col])

    lines = [GAP.join(fmt(c, _cut(str(c), widths[c], False)[0]) for c in columns).rstrip()]
    n = len(cells[columns[0]]) if columns else 0
    for i in range(n):
        height = max(len(cells[c][i]) for c in columns)
        for j in range(height):
            row = [fmt(c, cells[c][i][j] if j < len(cells[c][i]) else "") for c in columns]
            lines.append(GAP.join(row).rstrip())
    return "\n".join(lines)


def run_summary(result: Any) -> str:
    """Short summary of a run: stages with times, what was written, warnings."""
    total = sum(result.timings.values())
    lines = [f"geoattract run: {result.config.name} → {result.out_dir} ({total:.0f} s)"]
    lines += [f"  {name:<14} {secs:7.1f} s" for name, secs in result.timings.items()]
    files = sorted(str(Path(p).relative_to(result.out_dir)) for p in result.files.values())
    maps = [f for f in files if f.endswith(".html") and f not in ("index.html", "report.html")]
    static = [f for f in files if f.startswith("static/")]
    others = [f for f in files if f not in maps and f not in static]
    lines.append(
        f"  written: {', '.join(others)}; {len(maps)} interactive maps, {len(static)} printable maps"
    )
    n = len(result.warnings)
    log = Path(result.out_dir) / "run.log"
    lines.append(
        f"  {n} warning(s) shown above; details in {log}" if n else f"  no warning; log in {log}"
    )
    lines.append(f"  open {Path(result.out_dir) / 'index.html'}")
    return "\n".join(lines)


def summary_text(summary: dict[str, Any]) -> str:
    """A summary dictionary as aligned ``key  value`` lines (nested dictionaries indented)."""
    width = max((len(k) for k in summary), default=0)
    lines = []
    for key, value in summary.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines += [
                f"  {k:<{width}} {v:,.1f}" if isinstance(v, float) else f"  {k:<{width}} {v}"
                for k, v in value.items()
            ]
        else:
            lines.append(f"{key:<{width}}  {value}")
    return "\n".join(lines)
