"""Fixed broadband for teleworkers, and the combined « télétravail » indicator.

Two optional tables of the indicator registry (``indicators.toml``):

* ``[connectivity]``: a table of premises per commune and their eligibility to each
  technology (the ARCEP "Ma connexion internet" table covers France; paths are relative to
  the study's data folder, e.g. ``../france/…``). Per study commune:
  ``fibre_share_pct`` (share of premises eligible to FttH, NaN + ``_missing`` when the
  commune is absent), ``premises``, ``premises_without_fibre`` (an empty count is 0),
  ``<technology>_share_pct`` for every other technology, and ``fibre_alternatives``, the
  technologies open to the premises without fibre (share of the commune's premises eligible,
  fastest first). Per EPCI: premises, premises without fibre, and the share eligible.
* ``[telework]``: a combined indicator of components read from the indicator table, each
  normalised linearly between fixed goal-posts,

  ``s = clip((value - worst) / (best - worst), 0, 1)``

  (``best < worst`` for a time), then ``telework_index = 100 × Σ wᵢ sᵢ / Σ wᵢ``; NaN, with
  ``telework_index_missing``, when a component is missing. Fixed goal-posts keep the index of
  a commune independent of the others, so a scenario moves only the communes it touches.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract._util.io import read_csv
from geoattract.config.schema import Field, load_toml, positive, validate
from geoattract.errors import ConfigError, DataError, format_values
from geoattract.territory import study_rows
from geoattract.transition.report import data_folder

logger = logging.getLogger(__name__)

#: Separator of the technologies in ``fibre_alternatives``.
ALTERNATIVES_SEPARATOR = ", "

#: Share (%) above which a technology is listed in ``fibre_alternatives``.
MIN_ALTERNATIVE_SHARE_PCT = 0.0


def _technologies(v: Mapping[str, Any]) -> str | None:
    bad = [
        k
        for k, t in v.items()
        if not isinstance(t, Mapping) or not {"column", "label_fr"} <= set(t)
    ]
    return f"entries {format_values(bad)} need column and label_fr" if bad else None


#: Schema of ``[connectivity]``.
CONNECTIVITY_SCHEMA: dict[str, Field] = {
    "file": Field(str, doc="CSV relative to the data folder, one row per commune"),
    "vintage": Field(str),
    "source": Field(str, doc="name of the source in outputs"),
    "code_column": Field(str, doc="INSEE code"),
    "premises_column": Field(str, doc="number of premises"),
    "fibre_share_column": Field(str, doc="share of premises eligible to FttH, %"),
    "fibre_premises_column": Field(str, doc="premises eligible to FttH (empty = 0)"),
    "label_fr": Field(str, doc="French label of the fibre share"),
    "technologies": Field(
        dict, required=False, default={}, check=_technologies, doc="key -> {column, label_fr}"
    ),
}

#: Schema of one ``[telework.components.<key>]``.
COMPONENT_SCHEMA: dict[str, Field] = {
    "column": Field(str, doc="column of the indicator table"),
    "best": Field(float, doc="value scoring 1"),
    "worst": Field(float, doc="value scoring 0"),
    "weight": Field(float, check=positive),
    "label_fr": Field(str),
}

#: Schema of ``[telework]``.
TELEWORK_SCHEMA: dict[str, Field] = {
    "label_fr": Field(str),
    "components": Field(dict, doc="key -> component table"),
}


@dataclass(frozen=True)
class Technology:
    """A broadband technology of the connectivity table: key, share column, French label."""

    key: str
    column: str
    label: str

    @property
    def output_column(self) -> str:
        """``<key>_share_pct``."""
        return f"{self.key}_share_pct"


@dataclass(frozen=True)
class ConnectivitySource:
    """The connectivity table and its columns (``[connectivity]`` of the registry)."""

    file: str
    vintage: str
    source: str
    code_column: str
    premises_column: str
    fibre_share_column: str
    fibre_premises_column: str
    label_fr: str
    technologies: tuple[Technology, ...] = ()
    origin: str = "<registry>"

    def columns_info(self) -> dict[str, tuple[str, str, str, str]]:
        """Column → (label, unit, definition, source) of the outputs, for the columns table."""
        src = f"{self.source} ({self.vintage})"
        out = {
            "fibre_share_pct": (
                self.label_fr,
                "%",
                "Part des locaux (logements et locaux professionnels) éligibles à la fibre "
                "optique jusqu'à l'abonné (FttH).",
                src,
            ),
            "premises": ("Locaux", "locaux", "Nombre de locaux recensés.", src),
            "premises_without_fibre": (
                "Locaux sans fibre",
                "locaux",
                "Locaux non éligibles à la fibre (FttH) : locaux moins locaux éligibles.",
                src,
            ),
            "fibre_alternatives": (
                "Technologies hors fibre",
                "",
                "Technologies ouvertes aux locaux de la commune hors fibre, de la plus rapide à "
                "la moins rapide, avec la part des locaux éligibles.",
                src,
            ),
        }
        for t in self.technologies:
            out[t.output_column] = (
                f"Part des locaux éligibles : {t.label}",
                "%",
                f"Part des locaux de la commune éligibles à cette technologie ({t.label}).",
                src,
            )
        return out


@dataclass(frozen=True)
class TeleworkComponent:
    """A component of the telework index: column, goal-posts, weight, French label."""

    key: str
    column: str
    best: float
    worst: float
    weight: float
    label: str


@dataclass(frozen=True)
class TeleworkSpec:
    """The telework index (``[telework]`` of the registry)."""

    label: str
    components: tuple[TeleworkComponent, ...]

    def definition(self) -> str:
        """French formula of the index, for the columns table and the report."""
        total = sum(c.weight for c in self.components)
        parts = [
            f"{c.label} (poids {100 * c.weight / total:.0f} % ; 0 à {c.worst:g}, 1 à {c.best:g})"
            for c in self.components
        ]
        return (
            "Moyenne pondérée, sur 100, de composantes ramenées entre 0 et 1 par des bornes "
            "fixes (linéaire entre les bornes, écrêtée) : " + " ; ".join(parts) + "."
        )

    def columns_info(self) -> dict[str, tuple[str, str, str, str]]:
        """Column → (label, unit, definition, source) of ``telework_index``."""
        return {"telework_index": (self.label, "0–100", self.definition(), "calcul geoattract")}


@dataclass(frozen=True)
class Connectivity:
    """Result of :func:`connectivity_indicators`.

    Attributes
    ----------
    table : DataFrame
        Columns of the module docstring, aligned on the study rows.
    epci : DataFrame
        Per EPCI: ``epci``, ``epci_nom``, ``premises``, ``premises_without_fibre``,
        ``fibre_share_pct``.
    source : ConnectivitySource
    """

    table: pd.DataFrame
    epci: pd.DataFrame
    source: ConnectivitySource


def load_connectivity(
    path: str | os.PathLike,
) -> tuple[ConnectivitySource | None, TeleworkSpec | None]:
    """Read ``[connectivity]`` and ``[telework]`` of a registry file (None when absent).

    Raises
    ------
    ConfigError
        A table is malformed (the message names the file and the key).
    """
    p = Path(path)
    doc = load_toml(p)
    conn = None
    if doc.get("connectivity") is not None:
        v = validate(doc["connectivity"], CONNECTIVITY_SCHEMA, p, prefix="connectivity.")
        techs = tuple(
            Technology(k, str(t["column"]), str(t["label_fr"]))
            for k, t in v.pop("technologies").items()
        )
        conn = ConnectivitySource(technologies=techs, origin=str(p), **v)
    telework = None
    if doc.get("telework") is not None:
        v = validate(doc["telework"], TELEWORK_SCHEMA, p, prefix="telework.")
        comps = []
        for key, c in v["components"].items():
            if not isinstance(c, Mapping):
                raise ConfigError(f"{p}: key 'telework.components.{key}' must be a table")
            cv = validate(c, COMPONENT_SCHEMA, p, prefix=f"telework.components.{key}.")
            if cv["best"] == cv["worst"]:
                raise ConfigError(f"{p}: key 'telework.components.{key}': best equals worst")
            comps.append(TeleworkComponent(key=key, label=cv.pop("label_fr"), **cv))
        if not comps:
            raise ConfigError(f"{p}: [telework] declares no component")
        telework = TeleworkSpec(label=str(v["label_fr"]), components=tuple(comps))
    return conn, telework


def _alternatives(
    shares: pd.DataFrame, techs: tuple[Technology, ...], fibre: pd.Series
) -> list[str | None]:
    """Technologies open to the premises without fibre, per commune (``""`` at 100 % fibre)."""
    values = shares[[t.output_column for t in techs]].to_numpy(dtype=float)
    out: list[str | None] = []
    for row, f in zip(values, fibre.to_numpy(dtype=float), strict=True):
        if np.isnan(f):
            out.append(None)
        elif f >= 100:
            out.append("")
        else:
            items = [
                f"{t.label} {v:.0f} %"
                for t, v in zip(techs, row, strict=True)
                if v > MIN_ALTERNATIVE_SHARE_PCT
            ]
            out.append(ALTERNATIVES_SEPARATOR.join(items))
    return out


def connectivity_indicators(
    source: ConnectivitySource, data_dir: str | os.PathLike, territory: gpd.GeoDataFrame
) -> Connectivity:
    """Fibre share, premises without fibre and the other technologies of the study communes.

    Parameters
    ----------
    source : ConnectivitySource
        The table and its columns.
    data_dir : path-like
        Data folder ``source.file`` is relative to.
    territory : GeoDataFrame
        Study and buffer communes (``code``, ``in_study``, ``epci``, ``epci_nom``).

    Returns
    -------
    Connectivity

    Raises
    ------
    DataNotFoundError, DataError
        Missing file or columns, duplicate codes.
    """
    path = data_folder(data_dir) / source.file
    shares = [source.fibre_share_column] + [t.column for t in source.technologies]
    counts = [source.premises_column, source.fibre_premises_column]
    table = read_csv(path, columns=shares + counts, commune_columns=[source.code_column])
    codes = table[source.code_column]
    if codes.duplicated().any():
        raise DataError(
            f"{path}: duplicate codes {format_values(sorted(set(codes[codes.duplicated()])))}"
        )
    table = table.set_index(source.code_column)
    study = study_rows(territory)
    row = table.reindex(study["code"].astype(str).to_numpy())
    out = pd.DataFrame(index=study.index)
    fibre = pd.to_numeric(row[source.fibre_share_column], errors="coerce").to_numpy()
    out["fibre_share_pct"] = fibre
    out["fibre_share_pct_missing"] = np.isnan(fibre)
    known = ~np.isnan(fibre)
    premises = pd.to_numeric(row[source.premises_column], errors="coerce").to_numpy()
    eligible = pd.to_numeric(row[source.fibre_premises_column], errors="coerce").to_numpy()
    out["premises"] = premises
    # an empty count means none (the table leaves zeros blank), for a commune in the table
    out["premises_without_fibre"] = np.where(known, premises - np.nan_to_num(eligible), np.nan)
    for t in source.technologies:
        out[t.output_column] = pd.to_numeric(row[t.column], errors="coerce").to_numpy()
    out["fibre_alternatives"] = _alternatives(out, source.technologies, out["fibre_share_pct"])
    missing = study.loc[out["fibre_share_pct_missing"], "code"].tolist()
    if missing:
        logger.warning(
            "%s: %d study commune(s) absent (NaN + flag): %s",
            path,
            len(missing),
            format_values(missing),
        )
    epci = (
        pd.DataFrame(
            {
                "epci": study["epci"].astype(str),
                "epci_nom": study["epci_nom"].astype(str),
                "premises": out["premises"],
                "premises_without_fibre": out["premises_without_fibre"],
            }
        )
        .groupby(["epci", "epci_nom"], as_index=False)
        .sum(min_count=1)
    )
    epci["fibre_share_pct"] = 100.0 * (1 - epci["premises_without_fibre"] / epci["premises"])
    return Connectivity(
        table=out, epci=epci.sort_values("premises_without_fibre", ascending=False), source=source
    )


def component_score(values: pd.Series, best: float, worst: float) -> pd.Series:
    """Linear score between fixed goal-posts: 0 at ``worst``, 1 at ``best``, clipped."""
    v = pd.to_numeric(values, errors="coerce").astype(float)
    return ((v - worst) / (best - worst)).clip(0.0, 1.0)


def telework_index(frame: pd.DataFrame, spec: TeleworkSpec) -> pd.DataFrame:
    """The telework index of every row of ``frame`` (formula in the module docstring).

    Parameters
    ----------
    frame : DataFrame
        Indicator table holding every component column.
    spec : TeleworkSpec
        Components, goal-posts and weights.

    Returns
    -------
    DataFrame
        ``telework_index`` (0–100) and ``telework_index_missing``, aligned on ``frame``.

    Raises
    ------
    ConfigError
        A component column is not in ``frame``.
    """
    absent = [c.column for c in spec.components if c.column not in frame.columns]
    if absent:
        raise ConfigError(
            f"[telework]: component column(s) {format_values(absent)} not in the indicator "
            f"table; available: {format_values(frame.columns, limit=60)}"
        )
    total = sum(c.weight for c in spec.components)
    index = sum(
        c.weight * component_score(frame[c.column], c.best, c.worst) for c in spec.components
    )
    value = 100.0 * pd.Series(index, index=frame.index) / total
    return pd.DataFrame(
        {"telework_index": value, "telework_index_missing": value.isna()}, index=frame.index
    )
