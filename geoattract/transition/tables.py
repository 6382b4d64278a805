"""Indicators read from tables keyed by INSEE code: ``kind = "table"`` and ``"membership"``.

* **table**: a numeric column of a CSV file (forest cover, impervious surface, cyclability,
  organic farmland…), joined on the commune code. A commune absent from the table, or with an
  empty cell, gets NaN and the ``<column>_missing`` flag: nothing is imputed.
* **membership**: a list of member communes (a national programme) turned into 0/1. The list
  names its members, so a commune absent from it is a non-member (0), not an unknown: no flag.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geoattract._util.io import read_csv
from geoattract.errors import DataError, format_values
from geoattract.territory import study_departements
from geoattract.transition.registry import Indicator
from geoattract.transition.report import TransitionReport, indicator_inputs


def numeric_values(values: pd.Series, path: Path, column: str) -> pd.Series:
    """Read a column as floats: empty cells become NaN, any other text is refused.

    Parameters
    ----------
    values : Series
        The column as read.
    path : Path
        File, for the message.
    column : str
        Column name, for the message.

    Returns
    -------
    Series
        ``float64``, same index.

    Raises
    ------
    DataError
        Non-numeric text (the message lists the values).
    """
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    text = values.astype("string").str.strip()
    num = pd.to_numeric(text, errors="coerce")
    bad = text[num.isna() & text.notna() & (text != "")]
    if len(bad):
        raise DataError(
            f"{path}: non-numeric value(s) in column {column!r}: {format_values(sorted(set(bad)))}"
        )
    return num.astype("float64")


def _require_indicator_columns(
    ind: Indicator, df: pd.DataFrame, columns: list[str], path: Path
) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(
            f"indicator {ind.id!r} ({ind.origin}): column(s) {format_values(missing)} not in {path}; "
            f"available columns: {format_values(df.columns, limit=60)}"
        )


def _read_table(ind: Indicator, path: Path) -> pd.DataFrame:
    assert ind.code_column is not None  # the registry requires it for tables and memberships
    try:
        df = read_csv(path, code_columns=[ind.code_column], sep=ind.sep)
    except DataError as exc:
        raise DataError(f"indicator {ind.id!r} ({ind.origin}), key 'code_column': {exc}") from exc
    df[ind.code_column] = df[ind.code_column].astype(str).str.strip()
    return df


def _table_values(ind: Indicator, df: pd.DataFrame, path: Path, codes: pd.Series) -> pd.Series:
    """Values of a table indicator for the study codes (NaN where absent or empty)."""
    assert ind.column is not None and ind.code_column is not None
    _require_indicator_columns(ind, df, [ind.column], path)
    keys = df[ind.code_column]
    dup = keys[keys.duplicated(keep=False)]
    if len(dup):
        raise DataError(
            f"{path}: duplicate codes in column {ind.code_column!r}: {format_values(sorted(set(dup)))}"
        )
    values = numeric_values(df[ind.column], path, ind.column)
    series = pd.Series(values.to_numpy(), index=keys.to_numpy())
    return codes.map(series).astype("float64")


def table_indicators(
    territory: gpd.GeoDataFrame,
    registry: Sequence[Indicator] | str | os.PathLike,
    data_dir: str | os.PathLike,
) -> pd.DataFrame:
    """Read the table indicators keyed by INSEE code (``kind`` table and membership).

    Parameters
    ----------
    territory : GeoDataFrame
        Study and buffer communes (``code``, ``in_study``); only the study rows are returned
        (every row when ``in_study`` is absent).
    registry : list of Indicator or path-like
        The indicators, or the registry file.
    data_dir : path-like
        Data folder the ``source`` paths are relative to.

    Returns
    -------
    DataFrame
        Indexed like the study rows of ``territory``. For a table indicator: the value column
        (float) and ``<column>_missing`` (commune absent from the table or empty cell; no
        imputation). For a membership indicator: 0/1 (int), no flag: absence from the list of
        members means "not a member". ``attrs["report"]`` holds a :class:`TransitionReport`.

    Raises
    ------
    DataNotFoundError
        A source file does not exist (the message names the indicator and the file).
    DataError
        A column is missing (the message lists the available ones), a table has duplicate
        codes, or a value column holds non-numeric text.
    """
    indicators, ddir, study = indicator_inputs(territory, registry, data_dir)
    deps = set(study_departements(territory))
    codes = study["code"].astype(str)
    report = TransitionReport()
    out = pd.DataFrame(index=study.index)
    tables: dict[tuple[str, str | None], pd.DataFrame] = {}
    for ind in indicators:
        if ind.kind not in ("table", "membership"):
            continue
        path = ind.source_path(ddir)
        key = (ind.source, ind.code_column)
        if key not in tables:
            tables[key] = _read_table(ind, path)
            report.record_codes(tables[key][ind.code_column], territory, deps, ind.source)
        df = tables[key]
        col = ind.output_column
        if ind.kind == "membership":
            members = set(df[ind.code_column])
            out[col] = codes.isin(members).astype("int64").to_numpy()
            continue
        out[col] = _table_values(ind, df, path, codes).to_numpy()
        out[f"{col}_missing"] = out[col].isna()
    return report.attach(out)
