"""Table helpers shared by the offer's source adapters: commune codes, numbers, the territory.

French open data writes INSEE commune codes as numbers (``1001`` for ``01001``, ``47001.0``)
and numbers with a decimal comma; these helpers normalise both and raise
:class:`~geoattract.errors.DataError` naming the file and the column on anything else. :func:`check_territory` checks the territory layer every
adapter places its rows in.
"""

from __future__ import annotations

import os

import geopandas as gpd
import pandas as pd

from geoattract.errors import DataError, format_values

#: Length of an INSEE commune code.
CODE_LENGTH: int = 5


def normalise_codes(values: pd.Series) -> pd.Series:
    """INSEE codes as 5-character strings ('1001' → '01001', '47001.0' → '47001').

    Parameters
    ----------
    values : pandas.Series
        Codes as read (strings or numbers); missing values stay missing (None).

    Returns
    -------
    pandas.Series
        Object series of strings or None, aligned on ``values``.
    """
    s = values.astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    digits = s.str.fullmatch(r"\d+").fillna(False).astype(bool)
    s = s.where(~digits, s.str.zfill(CODE_LENGTH))
    return s.astype(object).where(s.notna(), None)


def numeric_values(values: pd.Series, path: str | os.PathLike, column: str) -> pd.Series:
    """Non-negative numbers from a column; NaN stays NaN, text that is not a number is an error.

    Parameters
    ----------
    values : pandas.Series
        The column as read; a decimal comma is accepted.
    path : path-like
        The file, named in error messages.
    column : str
        The column name, named in error messages.

    Returns
    -------
    pandas.Series
        Floats aligned on ``values``.

    Raises
    ------
    DataError
        Non-numeric or negative values (the message lists them).
    """
    raw = values.astype("string").str.strip().str.replace(",", ".", regex=False)
    num = pd.to_numeric(raw, errors="coerce")
    bad = raw[num.isna() & raw.notna() & (raw != "")]
    if len(bad):
        raise DataError(
            f"{path}: non-numeric values in column {column!r}: {format_values(sorted(set(bad)))}"
        )
    negative = raw[(num < 0).fillna(False).astype(bool)]
    if len(negative):
        raise DataError(
            f"{path}: negative values in column {column!r}: {format_values(sorted(set(negative)))}"
        )
    return num.astype(float)


def index_by_code(df: pd.DataFrame, code_column: str, path: str | os.PathLike) -> pd.DataFrame:
    """Index a per-commune table by its normalised commune code.

    Parameters
    ----------
    df : DataFrame
        One row per commune.
    code_column : str
        Column of INSEE codes.
    path : path-like
        The file, named in error messages.

    Returns
    -------
    DataFrame
        A copy indexed by the 5-character codes (the index takes the column's name).

    Raises
    ------
    DataError
        A code appears twice.
    """
    df = df.copy()
    df[code_column] = normalise_codes(df[code_column])
    dup = df[code_column][df[code_column].duplicated()]
    if len(dup):
        raise DataError(
            f"{path}: duplicate codes in column {code_column!r}: {format_values(sorted(set(dup)))}"
        )
    return df.set_index(code_column)


def study_departement(territory: gpd.GeoDataFrame) -> str:
    """Return the study département: ``attrs["departement"]``, else the first study code's."""
    first = territory.loc[territory["in_study"], "code"].astype(str).str[:2].iloc[0]
    return str(territory.attrs.get("departement", first))
