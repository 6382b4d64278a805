"""Reference tables of drive times: read the way French open data comes, checked at the door.

A reference table is what a calibration fits the network to and what its error is measured
against (OSRM or Google drive times between communes). :func:`read_reference` reads one, from
a CSV file or a DataFrame, in either layout:

* **pairs**: ``origin, destination, <…minutes…>``;
* **to one destination**: ``code, <…minutes…>``, the destination given or named by the
  minutes column's suffix (``osrm_minutes_to_paris``, :data:`NAMED_DESTINATIONS`).

The reader is tolerant of the file and strict about the content:

* the CSV dialects of French open data (``;`` or ``,``, decimal commas, UTF-8 with or without
  BOM or Latin-1), through :func:`geoattract._util.io.read_csv`;
* commune codes a spreadsheet turned into numbers (``1004``, ``1004.0``) restored to five
  characters, the number restored logged; a missing code is an error naming the rows;
* minutes missing, not a number or not positive: an error naming the rows;
* a pair given twice with the same minutes is kept once (counted in a warning); twice with
  different minutes, an error naming the pairs (no silent choice);
* a trip from a commune to itself is left out (counted in a warning).

Communes unknown to the commune file (an older geography) are the caller's to check: the
calibration lists them and leaves their trips out.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from geoattract import settings
from geoattract._util.io import normalise_commune_codes, read_csv
from geoattract.errors import DataError, format_values

logger = logging.getLogger(__name__)

#: Share of the distinct origin départements of one-destination tables held out by default,
#: and share of the communes of pair tables.
HOLDOUT_DEPARTEMENT_SHARE: float = 0.3
HOLDOUT_COMMUNE_SHARE: float = 0.2

#: One-destination reference tables name their destination in the minutes column
#: (``osrm_minutes_to_paris``): known names and their commune codes.
NAMED_DESTINATIONS: Mapping[str, str] = {"paris": "75056"}


@dataclass(frozen=True)
class Reference:
    """A table of reference drive times between communes.

    Attributes
    ----------
    name : str
        Label (the file stem).
    kind : str
        ``"to_one"`` (every origin to one destination: long trips, held out by origin
        département) or ``"pairs"`` (held out by commune).
    origin, destination : numpy.ndarray
        Commune codes (str).
    minutes : numpy.ndarray
        Reference times.
    source : str
        File path or ``"DataFrame"``.
    """

    name: str
    kind: str
    origin: np.ndarray
    destination: np.ndarray
    minutes: np.ndarray
    source: str = "DataFrame"


def read_reference(
    table: str | os.PathLike | pd.DataFrame, *, destination: str | None = None
) -> Reference:
    """Read a reference table of drive times.

    Parameters
    ----------
    table : path-like or DataFrame
        A CSV file or a frame, in one of the two layouts of the module's description.
    destination : str, optional
        The destination's commune code of a ``code, minutes`` table (else named by the column).

    Returns
    -------
    Reference

    Raises
    ------
    DataError
        Unknown layout, no minutes column, unknown destination name, a missing code, bad
        minutes, a pair given twice with different minutes.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"origin": [1004, "47001", "47001"], "destination": ["47157"] * 3,
    ...                   "minutes": ["51,5", "50.8", "50.8"]})
    >>> ref = read_reference(t)
    >>> ref.origin.tolist(), ref.minutes.tolist()
    (['01004', '47001'], [51.5, 50.8])
    """
    if isinstance(table, pd.DataFrame):
        df, source, name = table.copy(), "DataFrame", "reference"
    else:
        head = pd.read_csv(table, nrows=0, sep=None, engine="python")
        codes = [c for c in ("origin", "destination", "code") if c in head.columns]
        df = read_csv(table, commune_columns=codes)
        source, name = str(table), Path(table).stem
    minutes_cols = [c for c in df.columns if "minutes" in str(c).lower()]
    if len(minutes_cols) != 1:
        raise DataError(f"{source}: expected one column of minutes; columns {list(df.columns)}")
    col = minutes_cols[0]
    if {"origin", "destination"} <= set(df.columns):
        kind = "pairs"
        orig = _codes(df["origin"], source)
        dest = _codes(df["destination"], source)
    elif "code" in df.columns:
        if destination is None:
            suffix = str(col).lower().rsplit("_to_", 1)[-1] if "_to_" in str(col).lower() else ""
            destination = NAMED_DESTINATIONS.get(suffix)
        if destination is None:
            raise DataError(
                f"{source}: column {col!r} names no known destination; pass destination="
            )
        kind = "to_one"
        orig = _codes(df["code"], source)
        dest = pd.Series(str(destination), index=df.index)
    else:
        raise DataError(
            f"{source}: needs columns origin, destination or code; got {list(df.columns)}"
        )
    minutes = _minutes(df[col], source, col)
    frame = pd.DataFrame({"origin": orig, "destination": dest, "minutes": minutes})
    frame = _distinct_trips(frame, source)
    return Reference(
        name=name,
        kind=kind,
        origin=frame["origin"].to_numpy(dtype=object).astype(str),
        destination=frame["destination"].to_numpy(dtype=object).astype(str),
        minutes=frame["minutes"].to_numpy(dtype=float),
        source=source,
    )


def _codes(values: pd.Series, source: str) -> pd.Series:
    """Commune codes as text, those a spreadsheet made numbers restored to five characters.

    Codes are not checked against a pattern here: a study may name its places otherwise (a
    synthetic table, a foreign territory); the caller lists the codes its commune table does
    not know. A missing code is an error naming the rows.
    """
    codes = normalise_commune_codes(values, source)
    missing = codes.isna() | (codes.astype("string").str.len() == 0).fillna(True)
    if missing.any():
        rows = [f"row {i + 2}" for i in np.flatnonzero(missing.to_numpy())]
        raise DataError(
            f"{source}: column {values.name!r} has {int(missing.sum())} missing code(s): "
            f"{format_values(rows)}"
        )
    return codes.astype(str)


def _minutes(values: pd.Series, source: str, column: str) -> np.ndarray:
    """Positive minutes (decimal commas read); anything else is an error naming the rows."""
    text = values.astype("string").str.strip().str.replace(",", ".", regex=False)
    minutes = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(minutes) | (minutes <= 0)
    if bad.any():
        rows = [f"row {i + 2} ({_shown(values.iloc[i])})" for i in np.flatnonzero(bad)]
        more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
        raise DataError(
            f"{source}: column {column!r} has {int(bad.sum())} missing, non-numeric or "
            f"non-positive value(s): {', '.join(rows[:10])}{more}"
        )
    return minutes


def _shown(value: object) -> str:
    """A cell as a person reads it: ``empty`` for a missing one, the number or text else."""
    if pd.isna(value):  # type: ignore[call-overload]
        return "empty"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _distinct_trips(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Each trip once; a commune to itself left out; conflicting repeats refused."""
    same = frame["origin"] == frame["destination"]
    if same.any():
        logger.warning(
            "%s: %d trip(s) from a commune to itself left out: %s",
            source,
            int(same.sum()),
            format_values(frame.loc[same, "origin"].unique()),
        )
        frame = frame[~same]
    key = ["origin", "destination"]
    repeated = frame.duplicated(key, keep=False)
    if repeated.any():
        spread = frame[repeated].groupby(key)["minutes"].agg(["min", "max"])
        conflict = spread[spread["max"] > spread["min"]]
        if len(conflict):
            pairs = [
                f"{o}→{d}: {lo:g} and {hi:g} min"
                for (o, d), lo, hi in zip(
                    conflict.index, conflict["min"], conflict["max"], strict=True
                )
            ]
            raise DataError(
                f"{source}: {len(conflict)} trip(s) given twice with different minutes: "
                f"{format_values(pairs)}; keep one row per trip"
            )
        extra = int(frame.duplicated(key).sum())
        logger.warning("%s: %d repeated row(s) of the same trip kept once", source, extra)
        frame = frame.drop_duplicates(key)
    return frame.reset_index(drop=True)


@dataclass(frozen=True)
class Holdout:
    """Which trips are kept out of the fit: a part of every reference table.

    Attributes
    ----------
    departements : tuple of str, optional
        Origin départements held out of one-destination tables; default a random
        :data:`HOLDOUT_DEPARTEMENT_SHARE` of each table's (at least one).
    commune_share : float
        Share of the communes of each pair table held out (at least one when the share is
        positive): a pair touching one is held out.
    seed : int
        Random seed of the draws.
    """

    departements: tuple[str, ...] | None = None
    commune_share: float = HOLDOUT_COMMUNE_SHARE
    seed: int = field(default_factory=lambda: settings.random_seed)

    def mask(self, trips: pd.DataFrame) -> tuple[np.ndarray, tuple[str, ...], int]:
        """Bool per trip (held out), the départements held out, the communes held out.

        The draws are made table by table (in the order of their names), so that every
        reference has held-out trips.
        """
        rng = np.random.default_rng(self.seed)
        out = np.zeros(len(trips), dtype=bool)
        refs = trips["reference"] if "reference" in trips else pd.Series("", index=trips.index)
        held_deps: set[str] = set()
        n_held = 0
        for ref in sorted(set(refs)):
            rows = (refs == ref).to_numpy()
            part = trips[rows]
            if (part["kind"] == "to_one").all():
                deps = sorted(set(part["origin_dep"]))
                held = self.departements
                if held is None:
                    count = max(1, round(HOLDOUT_DEPARTEMENT_SHARE * len(deps))) if deps else 0
                    held = tuple(rng.choice(deps, size=count, replace=False)) if count else ()
                held_deps |= set(held) & set(deps)
                out[rows] = part["origin_dep"].isin(held).to_numpy()
                continue
            communes = sorted(set(part["origin"]) | set(part["destination"]))
            count = round(self.commune_share * len(communes))
            if self.commune_share > 0 and communes:
                count = max(1, count)
            chosen = set(rng.choice(communes, size=count, replace=False)) if count else set()
            n_held += len(chosen)
            out[rows] = (
                part["origin"].isin(chosen).to_numpy() | part["destination"].isin(chosen).to_numpy()
            )
        return out, tuple(sorted(held_deps)), n_held


# --------------------------------------------------------------------------------------
# Routing and decomposition
# --------------------------------------------------------------------------------------


def parse_weights(items: Sequence[str]) -> dict[str, float]:
    """Reference weights given as ``NAME=NUMBER`` (``--weight``).

    Raises
    ------
    DataError
        An item that is not ``NAME=NUMBER``.

    Examples
    --------
    >>> parse_weights(["prefectures=3"])
    {'prefectures': 3.0}
    """
    weights = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise DataError(f"--weight: expected NAME=NUMBER, got {item!r}")
    return weights


def parse_seeds(text: str | None) -> list[int]:
    """Hold-out seeds given as comma-separated integers (``--seeds``; none when empty).

    Examples
    --------
    >>> parse_seeds("47,1")
    [47, 1]
    """
    if not text:
        return []
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError as exc:
        raise DataError(f"--seeds: expected comma-separated integers, got {text!r}") from exc
