"""AFOM synthesis (Atouts, Faiblesses, Opportunités, Menaces: the French SWOT) per commune and EPCI.

* **Atouts / faiblesses** (internal): an indicator of the ``[afom].internal_pillars`` is an
  *atout* when the commune is in the most favourable ``quantile`` (default 25 %) of the
  département, a *faiblesse* when it is in the least favourable one. "Favourable" follows the
  indicator's direction.
* **Opportunités / menaces** (external, transition and climate): the rules of
  ``[[afom.opportunites]]`` and ``[[afom.menaces]]`` in the study's ``scoring.toml``.

Position in the département is the direction-aware *mid-rank percentile*
(:func:`geoattract._util.ranks.percentile_rank`)
``p = 100 (worse + equal / 2) / n`` where ``worse`` counts communes with a strictly less
favourable value and ``equal`` those with the same value (the commune included); ``n`` counts
communes with a value. Top quantile: ``p >= 100 (1 - q)``; bottom: ``p <= 100 q``. Ties share
their mid-rank, so a value shared by most communes (for example 0 cycle lanes) is neither an
atout nor a faiblesse.

The output is a long table (one row per finding) and short French sentences. A finding whose
value rests on an offer across the border that the sources do not hold
(:func:`geoattract.accessibility.unknown_offer`: Tourliac's 69 min to an emergency unit, with
Dordogne's units unknown) says so in its sentence and is flagged in ``unknown_offer``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from geoattract._util.ranks import percentile_rank
from geoattract.accessibility import (
    UNKNOWN_OFFER_FR,
    unknown_offer,
    unknown_offer_text,
)
from geoattract.errors import ConfigError, DataError, format_values
from geoattract.scoring.config import ScoringConfig
from geoattract.scoring.epci import epci_scores
from geoattract.scoring.model import usable_indicators

logger = logging.getLogger(__name__)

#: Kinds of findings, in the order sentences are listed.
AFOM_KINDS: tuple[str, ...] = ("atout", "faiblesse", "opportunite", "menace")

#: French heading of each kind.
KIND_LABELS_FR: dict[str, str] = {
    "atout": "Atout",
    "faiblesse": "Faiblesse",
    "opportunite": "Opportunité",
    "menace": "Menace",
}

#: Columns of :func:`afom_table`.
AFOM_COLUMNS: tuple[str, ...] = (
    "code",
    "nom",
    "kind",
    "indicator",
    "value",
    "percentile",
    "label",
    "rule",
    "unknown_offer",
    "sentence",
)

#: How the reference set is named in sentences, per level.
SCOPE_FR: dict[str, str] = {"commune": "du département", "epci": "des EPCI du département"}

#: Placeholder of a rule's ``text_fr`` replaced by the value (``« {value} des locaux… »``).
VALUE_PLACEHOLDER: str = "{value}"

#: Tolerance when comparing percentiles with the quantile thresholds.
_TOL: float = 1e-9

#: Space used as French thousands separator and before units and "%".
_SPACE: str = " "


def format_value_fr(value: float, unit: str = "") -> str:
    """Format a number the French way for a sentence: ``4 min``, ``12,3 %``, ``1 234``.

    Minutes are rounded to the unit; other values keep three significant digits; decimal
    comma; thin no-break space as thousands separator and before the unit.

    Parameters
    ----------
    value : float
        The number.
    unit : str
        Unit appended after a space ("" for none).

    Returns
    -------
    str
    """
    if value is None or not np.isfinite(value):
        return "n.d."
    if unit == "min" or abs(value) >= 100:
        txt = f"{value:,.0f}".replace(",", _SPACE)
    else:
        txt = f"{value:.3g}".replace(".", ",")
    return f"{txt}{_SPACE}{unit}" if unit else txt


def _sentence(
    kind: str,
    spec: Mapping[str, Any],
    rule: str,
    value: float,
    q: float,
    scope: str,
    text: str | None,
    unknown: bool = False,
) -> str:
    head = KIND_LABELS_FR[kind]
    raw = format_value_fr(value, spec["unit"])
    val = unknown_offer_text(raw, unknown)
    if rule in ("best_quantile", "worst_quantile"):
        end = spec["better_fr"] if rule == "best_quantile" else spec["worse_fr"]
        body = text or spec["label_fr"]
        return f"{head} : {body} parmi les {100 * q:g}{_SPACE}% {end} {scope} ({val})."
    caveat = f" ({UNKNOWN_OFFER_FR})" if unknown else ""
    if text and VALUE_PLACEHOLDER in text:
        return f"{head} : {text.replace(VALUE_PLACEHOLDER, raw)}{caveat}."
    if text:
        return f"{head} : {text}{caveat}." if rule == "positive" else f"{head} : {text} ({val})."
    return f"{head} : {spec['label_fr']} ({val})."


def _match(rule: Mapping[str, Any], values: pd.Series, pct: pd.Series, q: float) -> pd.Series:
    kind = rule["rule"]
    if kind == "best_quantile":
        return pct >= 100 * (1 - q) - _TOL
    if kind == "worst_quantile":
        return pct <= 100 * q + _TOL
    if kind == "positive":
        return values > 0
    if kind == "at_least":
        return values >= rule["value"]
    return values <= rule["value"]


def afom_table(
    df: pd.DataFrame,
    config: ScoringConfig,
    level: str = "commune",
    code_col: str = "code",
    name_col: str = "nom",
) -> pd.DataFrame:
    """AFOM findings as a long table, one row per (unit, finding).

    Parameters
    ----------
    df : DataFrame
        One row per unit of the reference set (the study communes of the département, or the
        EPCIs from :func:`afom_epci`), with ``code_col``, ``name_col`` and the indicator columns.
    config : ScoringConfig
        Scoring configuration (``[indicators]`` and ``[afom]``).
    level : str
        ``"commune"`` or ``"epci"`` (only changes the wording of the sentences).
    code_col, name_col : str
        Identifier and name columns.

    Returns
    -------
    DataFrame
        Columns :data:`AFOM_COLUMNS`: ``code``, ``nom``, ``kind`` (atout, faiblesse,
        opportunite, menace), ``indicator``, ``value`` (raw), ``percentile`` (mid-rank,
        100 = most favourable), ``label`` (``label_fr``), ``rule``, ``unknown_offer`` (the
        value rests on an offer across the border the sources do not hold, see
        :func:`geoattract.accessibility.unknown_offer`; the sentence says so), ``sentence``
        (French). Sorted by code, kind, then strength (most striking first).

    Raises
    ------
    ConfigError
        Unknown level.
    DataError
        Missing identifier or indicator columns (the message lists the available ones).
    """
    if level not in SCOPE_FR:
        raise ConfigError(f"unknown AFOM level {level!r}; choose one of {list(SCOPE_FR)}")
    missing = [c for c in (code_col, name_col) if c not in df.columns]
    if missing:
        raise DataError(
            f"afom_table: missing column(s) {format_values(missing)}; available: "
            f"{format_values(df.columns, limit=80)}"
        )
    afom = config.afom
    q = afom["quantile"]
    scope = SCOPE_FR[level]
    rule_cols = {r["indicator"] for kind in ("opportunites", "menaces") for r in afom[kind]}
    absent = [c for c in rule_cols if c not in df.columns]
    if absent:
        raise DataError(
            f"afom_table: missing indicator column(s) {format_values(sorted(absent))} used by "
            f"[afom] rules in {config.source}; available columns: {format_values(df.columns, limit=80)}"
        )
    used = set(usable_indicators(df, config))
    internal = [
        c
        for c, spec in config.indicators.items()
        if spec["pillar"] in afom["internal_pillars"] and c in used
    ]
    rules: list[tuple[str, dict[str, Any]]] = []
    for c in internal:
        rules.append(("atout", {"indicator": c, "rule": "best_quantile", "text_fr": None}))
        rules.append(("faiblesse", {"indicator": c, "rule": "worst_quantile", "text_fr": None}))
    rules += [("opportunite", r) for r in afom["opportunites"]]
    rules += [("menace", r) for r in afom["menaces"]]
    parts = []
    pct_cache: dict[str, pd.Series] = {}
    unknown_cache: dict[str, pd.Series] = {}
    for kind, rule in rules:
        col = rule["indicator"]
        spec = config.indicators[col]
        values = pd.to_numeric(df[col], errors="coerce").astype(float)
        if col not in pct_cache:
            pct_cache[col] = percentile_rank(values, spec["direction"])
        pct = pct_cache[col]
        if col not in unknown_cache:
            unknown_cache[col] = unknown_offer(df, col)
        hit = _match(rule, values, pct, q).fillna(False).astype(bool) & values.notna()
        if not hit.any():
            continue
        sub = pd.DataFrame(
            {
                "code": df.loc[hit, code_col].astype(str),
                "nom": df.loc[hit, name_col],
                "kind": kind,
                "indicator": col,
                "value": values[hit],
                "percentile": pct[hit],
                "label": spec["label_fr"],
                "rule": rule["rule"],
                "unknown_offer": unknown_cache[col][hit],
            }
        )
        sub["sentence"] = [
            _sentence(kind, spec, rule["rule"], v, q, scope, rule["text_fr"], bool(u))
            for v, u in zip(sub["value"], sub["unknown_offer"], strict=True)
        ]
        parts.append(sub)
    if not parts:
        return pd.DataFrame(columns=list(AFOM_COLUMNS))
    out = pd.concat(parts, ignore_index=True)
    out["_k"] = out["kind"].map({k: i for i, k in enumerate(AFOM_KINDS)})
    out["_s"] = np.where(
        out["kind"].isin(["atout", "opportunite"]), -out["percentile"], out["percentile"]
    )
    out = out.sort_values(["code", "_k", "_s", "indicator"], kind="stable").drop(
        columns=["_k", "_s"]
    )
    return out.reset_index(drop=True)[list(AFOM_COLUMNS)]


def afom_epci(df: pd.DataFrame, config: ScoringConfig) -> pd.DataFrame:
    """AFOM findings per EPCI, EPCIs compared with each other.

    Each EPCI's indicator is the population-weighted mean of its communes' values (missing
    commune values left out), see :func:`geoattract.scoring.epci.epci_scores`; then
    :func:`afom_table` runs on the EPCI table (for a 0/1 indicator such as ``tr_pvd`` the
    value becomes the share of the population living in member communes).

    Parameters
    ----------
    df : DataFrame
        Study communes with ``epci``, ``epci_nom``, ``population`` and the indicators.
    config : ScoringConfig
        Scoring configuration.

    Returns
    -------
    DataFrame
        As :func:`afom_table`, with ``code`` = EPCI code and ``nom`` = EPCI name.
    """
    cols = [c for c in config.indicators if c in df.columns]
    epci = epci_scores(df, columns=cols)
    # an indicator too sparse at commune level (min_coverage) must not come back through the
    # EPCI means of a few communes: it stays missing for every EPCI
    used = set(usable_indicators(df, config))
    for c in cols:
        if c not in used:
            epci[c] = np.nan
    return afom_table(epci, config, level="epci", code_col="epci", name_col="epci_nom")


def afom_sentences(
    table: pd.DataFrame, codes: Iterable[str] | None = None, max_per_kind: int | None = None
) -> dict[str, list[str]]:
    """French AFOM sentences per unit, in the order of the table.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`afom_table` or :func:`afom_epci`.
    codes : iterable of str, optional
        Units to include even when they have no finding (empty list).
    max_per_kind : int, optional
        Keep at most this many sentences per kind and unit (the most striking ones, as the
        table is sorted by strength); default all.

    Returns
    -------
    dict
        Code → list of sentences such as
        ``"Atout : temps d'accès à une pharmacie parmi les 25 % les plus courts du département (4 min)."``
    """
    out: dict[str, list[str]] = {str(c): [] for c in codes} if codes is not None else {}
    if max_per_kind is not None:
        if max_per_kind < 0:
            raise ConfigError(f"max_per_kind must be >= 0, got {max_per_kind!r}")
        table = table.groupby(["code", "kind"], sort=False).head(max_per_kind)
    for code, sentence in zip(table["code"].astype(str), table["sentence"], strict=True):
        out.setdefault(code, []).append(sentence)
    return out


#: Strengths and weaknesses listed per commune in the map tooltips.
AFOM_TOOLTIP_ITEMS = 3


def afom_summary(afom: pd.DataFrame, codes: pd.Series) -> pd.DataFrame:
    """``afom_atouts`` / ``afom_faiblesses``: the strongest findings per commune, as short text.

    The AFOM table is sorted by strength within each commune and kind, so the first rows are
    the most striking. A finding resting on an unknown offer across the border (column
    ``unknown_offer``) says so after its label (the map tooltips show these texts).
    """
    out = pd.DataFrame(index=codes.index)
    afom = afom.assign(label=afom_labels(afom))
    for kind, col in (("atout", "afom_atouts"), ("faiblesse", "afom_faiblesses")):
        rows = afom[afom["kind"] == kind]
        top = rows.groupby("code", sort=False)["label"].apply(
            lambda s: " ; ".join(s.head(AFOM_TOOLTIP_ITEMS))
        )
        out[col] = codes.map(top).fillna("")
    return out


def afom_labels(afom: pd.DataFrame) -> pd.Series:
    """Each finding's label, followed by the caveat when it rests on an unknown offer."""
    flags = (
        afom["unknown_offer"].fillna(False).astype(bool)
        if "unknown_offer" in afom.columns
        else pd.Series(False, index=afom.index)
    )
    return pd.Series(
        [
            f"{label} ({UNKNOWN_OFFER_FR})" if f else str(label)
            for label, f in zip(afom["label"], flags, strict=True)
        ],
        index=afom.index,
        dtype=object,
    )
